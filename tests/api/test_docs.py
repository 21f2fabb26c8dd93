"""The README's settings table is the one the binary prints."""
import os
import subprocess
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("SWITCHBOARD_BIN", os.path.join(ROOT, "build", "test", "switchboard"))


class ReadmeTest(unittest.TestCase):
    def test_readme_settings_table_matches_the_binary(self):
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        begin = readme.index("<!-- settings:begin -->\n") + len("<!-- settings:begin -->\n")
        end = readme.index("<!-- settings:end -->")
        printed = subprocess.run([BIN, "settings", "--markdown"], check=True,
                                 capture_output=True, text=True).stdout
        self.assertEqual(readme[begin:end], printed,
                         "README settings table is stale: paste `switchboard settings --markdown`")

    def test_readme_gives_the_two_commands(self):
        with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
            readme = f.read()
        self.assertIn("make run", readme)
        self.assertIn("make test", readme)

    def test_help_and_version_exit_zero(self):
        out = subprocess.run([BIN, "--help"], check=True, capture_output=True, text=True).stdout
        self.assertIn("serve", out)
        self.assertIn("--data-dir", out)
        out = subprocess.run([BIN, "--version"], check=True, capture_output=True, text=True).stdout
        self.assertTrue(out.startswith("switchboard "))

    def test_unknown_flag_is_a_usage_error_with_a_hint(self):
        res = subprocess.run([BIN, "serve", "--no-such-flag"], capture_output=True, text=True)
        self.assertEqual(res.returncode, 2)
        self.assertIn("hint:", res.stderr)


if __name__ == "__main__":
    unittest.main()
