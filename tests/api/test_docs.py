"""The README's settings table is the one the binary prints; the man pages and --help come from
the same tables and render without warnings."""
import os
import re
import shutil
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


def run(*args):
    return subprocess.run([BIN] + list(args), check=True, capture_output=True, text=True).stdout


def settings_rows():
    """(flag, metavar, env, default) of every row of `switchboard settings --markdown`."""
    rows = []
    for line in run("settings", "--markdown").splitlines()[2:]:
        m = re.match(r"^\| `--([^ [`]+)(?: |\[=)([^`\]]+)\]?` \| `(\S+)` \| `?([^|`]*)`? \| ",
                     line)
        assert m, line
        rows.append(m.groups() + (" " if "[=" not in line.split("|")[1] else "[=",))
    return rows


def roff_plain(text):
    """The words of a roff source: font escapes dropped, \\- and \\e as - and \\."""
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


class ManPageTest(unittest.TestCase):

    def test_every_setting_is_in_help_and_both_man_pages(self):
        help_text = run("--help")
        man1 = roff_plain(run("manpage", "switchboard.1"))
        man5 = roff_plain(run("manpage", "switchboard.conf.5"))
        rows = settings_rows()
        self.assertGreater(len(rows), 15)
        for flag, metavar, env, default, sep in rows:
            spelled = "--%s%s%s%s" % (flag, sep, metavar, "]" if sep == "[=" else "")
            with self.subTest(flag=flag):
                self.assertIn(spelled, help_text)
                self.assertIn("[env %s, default %s]" % (env, default), help_text)
                self.assertIn(spelled + "\n", man1)
                self.assertIn("Environment: %s; default: %s." % (env, default), man1)
                if flag != "config":
                    self.assertIn("\n%s = %s\n" % (flag, metavar), man5)
                    self.assertIn("Environment: %s; default: %s." % (env, default), man5)

    def test_every_command_of_help_is_in_the_man_page(self):
        help_text = run("--help")
        man1 = roff_plain(run("manpage", "switchboard.1"))
        commands = re.findall(r"(?m)^  switchboard ([a-z][a-z-]*(?: [a-z][a-z-]*)?)", help_text)
        self.assertIn("connections list", commands)
        self.assertIn("serve", [c.split()[0] for c in commands])
        for cmd in commands:
            self.assertIn("switchboard " + cmd, man1)
        for section in ("SYNOPSIS", "SERVER COMMANDS", "SETTINGS", "CLIENT COMMANDS", "FILES",
                        "SIGNALS", "EXIT STATUS", "EXAMPLES"):
            self.assertIn(".SH " + section + "\n", man1)

    def test_man_pages_render_without_warnings(self):
        for name in ("switchboard.1", "switchboard.conf.5"):
            with self.subTest(page=name):
                page = run("manpage", name)
                if shutil.which("mandoc"):
                    r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning"], input=page,
                                       capture_output=True, text=True)
                    self.assertEqual(r.stdout + r.stderr, "", name)
                    self.assertEqual(r.returncode, 0)
                if shutil.which("groff"):
                    r = subprocess.run(["groff", "-ww", "-man", "-Tutf8", "-z"], input=page,
                                       capture_output=True, text=True)
                    self.assertEqual(r.stderr, "", name)
                if not shutil.which("mandoc") and not shutil.which("groff"):
                    self.skipTest("mandoc or groff is needed")

    def test_unknown_man_page_is_a_usage_error(self):
        r = subprocess.run([BIN, "manpage", "switchboard.8"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("hint:", r.stderr)


if __name__ == "__main__":
    unittest.main()
