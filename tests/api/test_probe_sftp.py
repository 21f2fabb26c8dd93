# SPDX-License-Identifier: Apache-2.0
"""SFTP live tests check the server's host key against --probe-known-hosts and fail closed
(issue 12 point 4): an unknown key is refused before any password is sent, and the message
gives the key's fingerprint (as `ssh-keygen -l` prints it) so an operator can check and add
it; a different key for the host is refused the same way; a known key lets the test go on to
authentication. A real OpenSSH server on 127.0.0.1 (Debian's openssh-server, which
scripts/deps.sh installs) with a host key made for the test."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from server import Server, ApiTestCase, free_port, random_key

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
    with open(path + ".pub") as f:
        pub = f.read().split()
    fp = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", path + ".pub"], check=True,
                        capture_output=True, text=True).stdout.split()[1]
    return pub[0], pub[1], fp


@unittest.skipUnless(os.path.exists(SSHD) and os.geteuid() == 0,
                     "needs Debian's openssh-server (scripts/deps.sh) and root for sshd")
class SftpHostKeyTests(ApiTestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="switchboard-sshd-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.key_type, cls.key, cls.fingerprint = keygen(os.path.join(cls.tmp, "host"))
        _, cls.other_key, _ = keygen(os.path.join(cls.tmp, "other"))
        cls.port = free_port()
        conf = os.path.join(cls.tmp, "sshd_config")
        with open(conf, "w") as f:
            f.write("Port %d\nListenAddress 127.0.0.1\nHostKey %s\nPidFile %s\nUsePAM no\n"
                    "PasswordAuthentication yes\nKbdInteractiveAuthentication no\n"
                    "StrictModes no\nLogLevel VERBOSE\n"
                    % (cls.port, os.path.join(cls.tmp, "host"), os.path.join(cls.tmp, "pid")))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        cls.sshd_log = os.path.join(cls.tmp, "sshd.log")
        with open(cls.sshd_log, "wb") as log:
            cls.sshd = subprocess.Popen([SSHD, "-D", "-e", "-f", conf], stdout=log,
                                        stderr=subprocess.STDOUT)
        cls.addClassCleanup(cls.sshd.wait)
        cls.addClassCleanup(cls.sshd.terminate)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", cls.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or cls.sshd.poll() is not None:
                    raise RuntimeError("sshd did not start: " + open(cls.sshd_log).read())
                time.sleep(0.05)

    def server_with(self, known_hosts_lines):
        args = ["--probe-timeout", "5"]
        if known_hosts_lines is not None:
            path = os.path.join(self.tmp, "known_hosts_" + random_key(6))
            with open(path, "w") as f:
                f.write("".join(line + "\n" for line in known_hosts_lines))
            args += ["--probe-known-hosts", path]
        self.server = Server(extra_args=args)
        self.addCleanup(self.server.cleanup)
        self.server.start()
        self.addCleanup(self.server.assert_log_clean)
        self.addCleanup(self.server.stop)
        return self.server

    def probe(self, server):
        pw = "pw-" + random_key(20)
        server.remember_secret(pw)
        name = "sftp_" + random_key(6).lower()
        server.create_connection(name, type="SFTP", params={
            "host": "127.0.0.1", "port": str(self.port), "user": "sbtest_nobody",
            "password": pw})
        r = server.api("GET", "/connections/%s/test" % name)
        self.assertStatus(r, 200)
        return r.json

    def password_attempts(self):
        with open(self.sshd_log) as f:
            return f.read().count("Failed password for")

    def test_unknown_key_is_refused_with_its_fingerprint(self):
        server = self.server_with(None)
        before = self.password_attempts()
        body = self.probe(server)
        self.assertIs(body["connectionOK"], False, self.describe_body(body))
        self.assertIn(self.fingerprint, body["message"])
        self.assertIn("not in the known hosts file", body["message"])
        time.sleep(0.3)
        self.assertEqual(self.password_attempts(), before, "a password was sent")

    def test_other_key_for_the_host_is_refused(self):
        server = self.server_with(["[127.0.0.1]:%d %s %s" % (self.port, self.key_type,
                                                             self.other_key)])
        before = self.password_attempts()
        body = self.probe(server)
        self.assertIs(body["connectionOK"], False)
        self.assertIn(self.fingerprint, body["message"])
        self.assertIn("does not match", body["message"])
        time.sleep(0.3)
        self.assertEqual(self.password_attempts(), before, "a password was sent")

    def test_known_key_goes_on_to_authentication(self):
        server = self.server_with(["[127.0.0.1]:%d %s %s" % (self.port, self.key_type,
                                                             self.key)])
        body = self.probe(server)
        self.assertIs(body["connectionOK"], False)
        self.assertIn("authentication", body["message"].lower(), self.describe_body(body))
        self.assertNotIn("host key", body["message"])

    def describe_body(self, body):
        return self.server.redact(body)


if __name__ == "__main__":
    unittest.main()
