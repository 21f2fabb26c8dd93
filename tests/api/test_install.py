"""Installing like a Debian daemon (issue 17): `make install` into a DESTDIR, a program built
against the installed client library with pkg-config only, `make uninstall`, and `make deb`
unpacked with dpkg -x into a scratch root. The man pages are checked by test_docs.py.

These tests build the optimised binary with make (shared with `make`), and run once: on the
SQLite pass of the suite only, as nothing in them depends on the store."""
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from server import STORE, ApiTestCase, Server

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

INSTALLED = {  # path under DESTDIR for PREFIX=/usr SYSCONFDIR=/etc: mode
    "usr/bin/switchboard": 0o755,
    "usr/lib/libswitchboard-client.a": 0o644,
    "usr/include/switchboard/client.h": 0o644,
    "usr/lib/pkgconfig/switchboard-client.pc": 0o644,
    "usr/share/man/man1/switchboard.1": 0o644,
    "usr/share/man/man5/switchboard.conf.5": 0o644,
    "usr/share/bash-completion/completions/switchboard": 0o644,
    "usr/share/zsh/site-functions/_switchboard": 0o644,
    "usr/lib/systemd/system/switchboard.service": 0o644,
    "etc/logrotate.d/switchboard": 0o644,
    "usr/share/doc/switchboard/switchboard.conf.example": 0o644,
    "usr/share/doc/switchboard/DEPLOYMENT.md": 0o644,
    "usr/share/doc/switchboard/UPGRADING.md": 0o644,
}

PACKAGED = {  # path in the .deb: mode
    "usr/bin/switchboard": 0o755,
    "usr/share/man/man1/switchboard.1.gz": 0o644,
    "usr/share/man/man5/switchboard.conf.5.gz": 0o644,
    "lib/systemd/system/switchboard.service": 0o644,
    "etc/logrotate.d/switchboard": 0o644,
    "etc/switchboard/switchboard.conf": 0o640,  # it may hold the store's password
    "usr/share/doc/switchboard/copyright": 0o644,
    "usr/share/doc/switchboard/changelog.gz": 0o644,
    "usr/share/doc/switchboard/DEPLOYMENT.md": 0o644,
    "usr/share/doc/switchboard/UPGRADING.md": 0o644,
    "usr/share/bash-completion/completions/switchboard": 0o644,
    "usr/share/zsh/vendor-completions/_switchboard": 0o644,
    "var/lib/switchboard": 0o700,
}


def make(*args):
    return subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT] + list(args),
                          capture_output=True, text=True, timeout=900)


def assert_unit_documentation_installed(test, root, unit, man_suffix=""):
    """Each Documentation= of the unit at UNIT under ROOT names a file installed under ROOT: a
    man:NAME(S) page as share/man/manS/NAME.S (MAN_SUFFIX: ".gz" in the package), a file:PATH
    as PATH."""
    with open(os.path.join(root, unit)) as f:
        docs = [w for line in f if line.startswith("Documentation=")
                for w in line.split("=", 1)[1].split()]
    test.assertIn("man:switchboard(1)", docs)
    test.assertTrue(any(d.startswith("file:") for d in docs), docs)
    for d in docs:
        if d.startswith("man:"):
            name, section = d[4:].rstrip(")").split("(")
            path = "usr/share/man/man%s/%s.%s%s" % (section, name, section, man_suffix)
        else:
            test.assertTrue(d.startswith("file:/"), d)
            path = d[len("file:/"):]
        test.assertTrue(os.path.isfile(os.path.join(root, path)), "%s: no %s" % (d, path))


def files_under(top):
    found = set()
    for d, _, names in os.walk(top):
        for n in names:
            found.add(os.path.relpath(os.path.join(d, n), top))
    return found


@unittest.skipIf(STORE != "sqlite", "store-independent: runs on the SQLite pass only")
class InstallTest(ApiTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="switchboard-install-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.dest = os.path.join(self.tmp, "dest")

    def install(self):
        r = make("install", "DESTDIR=" + self.dest, "PREFIX=/usr", "SYSCONFDIR=/etc")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_make_install_puts_every_file_in_destdir_with_its_mode(self):
        self.install()
        self.assertEqual(files_under(self.dest), set(INSTALLED))
        for path, mode in INSTALLED.items():
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.dest, path)).st_mode), mode,
                             path)
        with open(os.path.join(self.dest, "usr/lib/systemd/system/switchboard.service")) as f:
            self.assertIn("ExecStart=/usr/bin/switchboard serve", f.read())
        assert_unit_documentation_installed(self, self.dest,
                                            "usr/lib/systemd/system/switchboard.service")
        with open(os.path.join(self.dest, "usr/lib/pkgconfig/switchboard-client.pc")) as f:
            self.assertIn("prefix=/usr\n", f.read())
        out = subprocess.run([os.path.join(self.dest, "usr/bin/switchboard"), "--version"],
                             capture_output=True, text=True, check=True).stdout
        self.assertTrue(out.startswith("switchboard "))
        # the example configuration is one the server accepts
        r = subprocess.run([os.path.join(self.dest, "usr/bin/switchboard"), "settings",
                            "--effective", "--config",
                            os.path.join(self.dest, "usr/share/doc/switchboard/"
                                         "switchboard.conf.example")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_make_uninstall_removes_what_install_put(self):
        self.install()
        r = make("uninstall", "DESTDIR=" + self.dest, "PREFIX=/usr", "SYSCONFDIR=/etc")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(files_under(self.dest), set())

    def test_example_builds_against_the_installed_library_with_pkg_config_only(self):
        if shutil.which("pkg-config") is None or shutil.which("cc") is None:
            self.skipTest("pkg-config and cc are needed")
        self.install()
        env = dict(os.environ,
                   PKG_CONFIG_PATH=os.path.join(self.dest, "usr/lib/pkgconfig"),
                   PKG_CONFIG_SYSROOT_DIR=self.dest)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "switchboard-client"],
                               env=env, capture_output=True, text=True, check=True).stdout.split()
        self.assertIn("-lswitchboard-client", flags)
        self.assertNotIn("-I" + os.path.join(ROOT, "include"), flags)
        exe = os.path.join(self.tmp, "print_user_host")
        # a copy outside the repository, so that nothing of it can be found by relative path
        src = os.path.join(self.tmp, "print_user_host.c")
        shutil.copy(os.path.join(ROOT, "examples", "print_user_host.c"), src)
        r = subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", "-o", exe, src] + flags,
                           capture_output=True, text=True, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)

        server = Server()
        self.addCleanup(server.cleanup)
        server.start()
        r = server.api("POST", "/admin/connections/", {
            "name": "installed_pg", "type": "PostgreSQL",
            "params": {"host": "db.internal", "port": "5432", "db": "d", "user": "etl",
                       "password": "pw-installed"}})
        self.assertStatus(r, 200)
        out = subprocess.run([exe, server.base_url, server.admin_key, "installed_pg"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, server.redact(out.stderr))
        self.assertEqual(out.stdout, "etl@db.internal\n")
        server.stop()


@unittest.skipIf(STORE != "sqlite", "store-independent: runs on the SQLite pass only")
class DebTest(ApiTestCase):

    def setUp(self):
        if shutil.which("dpkg-deb") is None:
            self.skipTest("dpkg-deb is needed (scripts/deps.sh installs it)")
        self.tmp = tempfile.mkdtemp(prefix="switchboard-deb-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def build(self):
        r = make("deb")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        deb = r.stdout.strip().splitlines()[-1]
        return deb if os.path.isabs(deb) else os.path.join(ROOT, deb)

    def test_deb_unpacks_to_the_tree_with_its_modes_and_metadata(self):
        deb = self.build()
        arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
        with open(os.path.join(ROOT, "src", "usage.h")) as f:
            version = [l.split('"')[1] for l in f if l.startswith("#define SB_VERSION")][0]
        self.assertEqual(os.path.basename(deb), "switchboard_%s_%s.deb" % (version, arch))
        root = os.path.join(self.tmp, "root")
        subprocess.run(["dpkg", "-x", deb, root], check=True)
        self.assertEqual(files_under(root), {p for p in PACKAGED if p != "var/lib/switchboard"})
        for path, mode in PACKAGED.items():
            st = os.stat(os.path.join(root, path))
            self.assertEqual(stat.S_IMODE(st.st_mode), mode, path)
        self.assertTrue(stat.S_ISDIR(os.stat(os.path.join(root, "var/lib/switchboard")).st_mode))
        assert_unit_documentation_installed(self, root, "lib/systemd/system/switchboard.service",
                                            man_suffix=".gz")
        # the binary in the package runs, and the conffile is a configuration it accepts
        r = subprocess.run([os.path.join(root, "usr/bin/switchboard"), "settings", "--effective",
                            "--config", os.path.join(root, "etc/switchboard/switchboard.conf")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("data-dir", r.stdout)

        ctrl = os.path.join(self.tmp, "DEBIAN")
        subprocess.run(["dpkg-deb", "-e", deb, ctrl], check=True)
        with open(os.path.join(ctrl, "conffiles")) as f:
            self.assertEqual(set(f.read().split()), {"/etc/switchboard/switchboard.conf",
                                                     "/etc/logrotate.d/switchboard"})
        with open(os.path.join(ctrl, "postinst")) as f:
            postinst = f.read()
        self.assertIn("adduser --system", postinst)
        self.assertIn("chmod 0700 /var/lib/switchboard", postinst)
        self.assertIn("chgrp switchboard /etc/switchboard/switchboard.conf", postinst)
        fields = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture",
                                 "Depends"], capture_output=True, text=True, check=True).stdout
        self.assertIn("Version: %s\n" % version, fields)
        self.assertIn("adduser", fields)

    def test_lintian_finds_no_errors(self):
        if shutil.which("lintian") is None:
            self.skipTest("lintian is needed (scripts/deps.sh installs it)")
        deb = self.build()
        r = subprocess.run(["lintian", "--fail-on", "error", deb], capture_output=True,
                           text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertNotRegex(r.stdout, r"(?m)^E: ")


if __name__ == "__main__":
    unittest.main()
