"""Non-root operation (issue 19 point 5): before it creates anything, the server (and the admin
commands) checks that it can write the data directory and its store, and read the master key
and the TLS files, naming the file, its owner and its mode when it cannot; run as root on a
data directory that belongs to another user, it refuses and says how to run it instead. Run
as the unprivileged user `nobody` with runuser (root only; skipped otherwise)."""
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest

from server import DEFAULT_BIN, ApiTestCase, free_port

BIN = os.path.abspath(os.environ.get("SWITCHBOARD_BIN", DEFAULT_BIN))


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("runuser"), "needs root and runuser")
class NonRootTest(ApiTestCase):

    def setUp(self):
        self.nobody = pwd.getpwnam("nobody")
        self.tmp = tempfile.mkdtemp(prefix="switchboard-nonroot-")
        os.chmod(self.tmp, 0o755)
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.data = os.path.join(self.tmp, "data")
        os.mkdir(self.data, 0o700)
        os.chown(self.data, self.nobody.pw_uid, self.nobody.pw_gid)

    def run_bin(self, *args, as_nobody=False):
        cmd = [BIN] + list(args)
        if as_nobody:
            cmd = ["runuser", "-u", "nobody", "--"] + cmd
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env["SWITCHBOARD_CONFIG"] = ""
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env,
                              stdin=subprocess.DEVNULL)

    def serve_args(self):
        return ["serve", "--listen", "127.0.0.1:%d" % free_port(), "--data-dir", self.data]

    def test_root_refuses_a_data_directory_of_another_user(self):
        for args in (self.serve_args(), ["admin", "create-key", "--data-dir", self.data],
                     ["admin", "rotate-key", "--data-dir", self.data]):
            with self.subTest(command=args[:2]):
                r = self.run_bin(*args)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn("belongs to another user", r.stderr)
                self.assertIn("runuser -u nobody -- switchboard", r.stderr)
                self.assertIn("chown -R nobody: %s" % self.data, r.stderr)
                self.assertEqual(os.listdir(self.data), [], "created files before refusing")
                self.assertEqual(r.stdout, "")

    def test_unreadable_tls_key_fails_before_anything_is_created(self):
        cert, key = os.path.join(self.tmp, "cert.pem"), os.path.join(self.tmp, "key.pem")
        for path in (cert, key):
            with open(path, "w") as f:
                f.write("-----BEGIN PRIVATE KEY-----\n")
        os.chmod(cert, 0o644)
        os.chmod(key, 0o600)  # root's: nobody cannot read it
        r = self.run_bin(*(self.serve_args() + ["--tls-cert", cert, "--tls-key", key]),
                         as_nobody=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot read the TLS key '%s' (owner root, mode 0600)" % key, r.stderr)
        self.assertEqual(os.listdir(self.data), [])
        self.assertEqual(r.stdout, "", "an admin key was shown before the failure")

    def test_store_file_of_root_is_named_with_owner_and_mode(self):
        db = os.path.join(self.data, "switchboard.db")
        with open(db, "wb"):
            pass
        os.chmod(db, 0o600)  # restored as root, still root's
        r = self.run_bin(*self.serve_args(), as_nobody=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot write the store file '%s' (owner root, mode 0600)" % db, r.stderr)
        self.assertEqual(sorted(os.listdir(self.data)), ["switchboard.db"])

    def test_unreadable_master_key_file_is_named(self):
        keyfile = os.path.join(self.tmp, "secret.key")
        with open(keyfile, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(keyfile, 0o600)
        r = self.run_bin(*(self.serve_args() + ["--secret-key-file", keyfile]), as_nobody=True)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot read the master key file '%s' (owner root, mode 0600)" % keyfile,
                      r.stderr)
        self.assertEqual(os.listdir(self.data), [])

    def test_rotate_key_without_a_store_says_so_and_creates_nothing(self):
        # the data directory of a node on PostgreSQL: a key and a log, no switchboard.db
        os.chown(self.data, 0, 0)
        with open(os.path.join(self.data, "audit.log"), "w"):
            pass
        r = self.run_bin("admin", "rotate-key", "--data-dir", self.data)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no store in '%s'" % self.data, r.stderr)
        self.assertIn("--store URL", r.stderr)
        self.assertEqual(os.listdir(self.data), ["audit.log"])

    def test_the_service_user_starts_on_its_own_directory(self):
        # the same data directory, run as its owner: it starts (and is stopped at once)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
        env.update(SWITCHBOARD_CONFIG="", SWITCHBOARD_ADMIN_KEY="k" * 40)
        p = subprocess.Popen(["runuser", "-u", "nobody", "--", BIN, "serve", "--listen",
                              "127.0.0.1:%d" % port, "--data-dir", self.data],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        import time
        import urllib.request
        deadline = time.monotonic() + 30
        ready = False
        while time.monotonic() < deadline and not ready:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/readyz" % port, timeout=2) as r:
                    ready = r.status == 200
            except OSError:
                time.sleep(0.2)
        p.terminate()
        _, err = p.communicate(timeout=30)
        self.assertTrue(ready, err.decode()[-2000:])
        st = os.stat(os.path.join(self.data, "switchboard.db"))
        self.assertEqual(st.st_uid, self.nobody.pw_uid)


if __name__ == "__main__":
    unittest.main()
