# SPDX-License-Identifier: Apache-2.0
"""The master key and TLS: refusing to start on a missing or wrong secret.key (data left
intact), --secret-key-file, `admin rotate-key` (and its refusal while a server runs), and
HTTPS with --tls-cert/--tls-key."""

import http.client
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

from dss import DSSClient
from server import (sqlite_only, DEFAULT_BIN, OwnServerTestCase, Server, ServerTestCase, free_port,
                    random_key)

QUICK = 5.0  # seconds within which a refusing server must have exited


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_key(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, 0o600)


class SecretsFixture:
    """Mixin: fill a server with every kind of secret and check they all still resolve."""

    def populate(self):
        s = self.server
        self.pw = "mk-pw-" + random_key(24)
        self.prop = "mk-prop-" + random_key(24)
        self.cred = "mk-cred-" + random_key(24)
        self.usecret = "mk-usec-" + random_key(24)
        self.login_pw = "mk-login-" + random_key(24)
        self.plaintexts = [self.pw, self.prop, self.cred, self.usecret, self.login_pw]
        for v in self.plaintexts:
            s.remember_secret(v)
        s.create_group("data_team")
        s.create_connection("mk_pg", type="PostgreSQL", params={
            "host": "db.example", "db": "sales", "user": "etl", "password": self.pw,
            "properties": [{"name": "sslpassword", "value": self.prop, "secret": True}]},
            detailsReadability={"readableBy": "ALL", "allowedGroups": []})
        s.create_connection("mk_pu", type="PostgreSQL", credentialsMode="PER_USER",
                            params={"host": "db.example"},
                            detailsReadability={"readableBy": "ALL", "allowedGroups": []})
        s.create_user("mk_ana", password=self.login_pw, groups=["data_team"])
        settings = s.api("GET", "/admin/users/mk_ana").json
        settings["credentials"]["mk_pu"] = {"type": "BASIC", "user": "ana_db",
                                            "password": self.cred}
        settings["secrets"] = [{"name": "tok", "value": self.usecret, "secret": True}]
        r = s.api("PUT", "/admin/users/mk_ana", settings)
        self.assertStatus(r, 200)
        self.ana_key = s.create_personal_key("mk_ana")["key"]
        self.global_key = s.create_key(admin=False, groups=["data_team"])["key"]
        self.secret_count = 4  # password, secret property, user credential, user secret

    def encrypted_values(self):
        conn = self.server.api("GET", "/admin/connections/mk_pg").json["params"]
        user = self.server.api("GET", "/admin/users/mk_ana").json
        return {"password": conn["password"],
                "property": conn["properties"][0]["value"],
                "credential": user["credentials"]["mk_pu"]["password"],
                "user secret": user["secrets"][0]["value"]}

    def snapshot_state(self):
        return (self.server.api("GET", "/admin/connections/").json,
                self.server.api("GET", "/admin/users/mk_ana").json)

    def assertSecretsResolve(self):
        s = self.server
        info = s.api("GET", "/connections/mk_pg/info")
        self.assertStatus(info, 200)
        res = info.json["resolvedParams"]
        self.assertTrue(res["password"] == self.pw, "connection password does not resolve")
        self.assertTrue(res["properties"][0]["value"] == self.prop,
                        "secret property does not resolve")
        info = s.api("GET", "/connections/mk_pu/info", key=self.ana_key)
        self.assertStatus(info, 200)
        self.assertTrue(info.json["resolvedBasicCredential"] == {"user": "ana_db",
                                                                 "password": self.cred},
                        "the user credential does not resolve")
        own = s.api("GET", "/current-user", key=self.ana_key)
        self.assertStatus(own, 200)

    def assertKeysWork(self):
        for label, key in (("bootstrap admin", self.server.admin_key),
                           ("global", self.global_key), ("personal", self.ana_key)):
            with self.subTest(key=label):
                self.assertStatus(self.server.api("GET", "/auth/info", key=key), 200,
                                  "%s key" % label)

    def assertRefusesToStart(self, args=None):
        started = time.monotonic()
        rc, err = self.server.start_expecting_exit(timeout=QUICK + 5, args=args)
        elapsed = time.monotonic() - started
        self.assertIsNotNone(rc, "the server kept running")
        self.assertNotEqual(rc, 0, "exit code 0 while refusing to start")
        self.assertLess(elapsed, QUICK, "took %.1f s to refuse" % elapsed)
        self.assertIn("master key", err.lower(), "stderr: %s" % self.server.redact(err))
        for v in self.plaintexts:
            self.assertNoSecret(err, v, "stderr of the refused start")
        return rc, err


@sqlite_only  # these restart servers with their own arguments on the data directory
class MasterKeyTest(SecretsFixture, OwnServerTestCase):

    def key_path(self):
        return os.path.join(self.server.data_dir, "secret.key")

    def test_secret_key_is_32_private_bytes(self):
        self.populate()
        path = self.key_path()
        self.assertTrue(os.path.isfile(path), "no secret.key in the data directory")
        self.assertEqual(len(read_bytes(path)), 32)
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.server.restart()
        self.assertSecretsResolve()

    def check_refusal_keeps_data(self, replace):
        self.populate()
        before = self.snapshot_state()
        self.server.stop()
        key = read_bytes(self.key_path())
        files = self.server.data_snapshot()
        replace()
        self.assertRefusesToStart()
        after = self.server.data_snapshot()
        after.pop("secret.key", None)
        files.pop("secret.key")
        self.assertEqual(sorted(after), sorted(files), "files created or removed")
        for name in files:
            self.assertTrue(after[name] == files[name], "%s changed" % name)
        write_key(self.key_path(), key)
        self.server.start()
        self.assertSameJson(self.snapshot_state(), before, "state once the key is back")
        self.assertSecretsResolve()
        self.assertKeysWork()

    def test_missing_key_refuses_to_start_and_keeps_data(self):
        self.check_refusal_keeps_data(lambda: os.remove(self.key_path()))

    def test_wrong_key_refuses_to_start_and_keeps_data(self):
        self.check_refusal_keeps_data(lambda: write_key(self.key_path(), os.urandom(32)))

    def test_truncated_key_refuses_to_start(self):
        self.check_refusal_keeps_data(
            lambda: write_key(self.key_path(), read_bytes(self.key_path())[:16]))

    def test_missing_key_file_given_by_flag_refuses_to_start(self):
        self.populate()
        self.server.stop()
        missing = os.path.join(self.server.tmp, "no-such.key")
        self.assertRefusesToStart(args=["--secret-key-file", missing])
        self.assertFalse(os.path.exists(missing), "the server created the named key file")
        self.server.start()
        self.assertSecretsResolve()


@sqlite_only  # these restart servers with their own arguments on the data directory
class SecretKeyFileOptionTest(SecretsFixture, OwnServerTestCase):

    def setUp(self):
        self.keydir = tempfile.mkdtemp(prefix="switchboard-key-")
        self.addCleanup(shutil.rmtree, self.keydir, True)
        self.keyfile = os.path.join(self.keydir, "master.key")
        self.key = os.urandom(32)
        write_key(self.keyfile, self.key)
        self.server = Server(extra_args=["--secret-key-file", self.keyfile])
        self.addCleanup(self.server.cleanup)
        self.server.start()

    def test_key_file_outside_the_data_dir_is_used(self):
        self.populate()
        self.server.restart()
        self.assertSecretsResolve()
        self.assertKeysWork()
        self.assertFalse(os.path.exists(os.path.join(self.server.data_dir, "secret.key")),
                         "a secret.key was created in the data directory as well")
        self.assertTrue(read_bytes(self.keyfile) == self.key, "the key file was changed")

    def test_without_the_flag_the_server_refuses_to_start(self):
        self.populate()
        self.server.stop()
        self.assertRefusesToStart(args=[])
        self.server.start()
        self.assertSecretsResolve()

    def test_with_another_key_file_the_server_refuses_to_start(self):
        self.populate()
        self.server.stop()
        other = os.path.join(self.keydir, "other.key")
        write_key(other, os.urandom(32))
        self.assertRefusesToStart(args=["--secret-key-file", other])
        self.server.start()
        self.assertSecretsResolve()


@sqlite_only  # these restart servers with their own arguments on the data directory
class RotateKeyTest(SecretsFixture, OwnServerTestCase):

    def rotate(self):
        return self.server.run_cli("admin", "rotate-key", "--data-dir", self.server.data_dir)

    def backups(self):
        return sorted(f for f in os.listdir(self.server.data_dir)
                      if f.startswith("secret.key.") and f.endswith(".bak"))

    def test_rotate_key_re_encrypts_everything(self):
        self.populate()
        enc_before = self.encrypted_values()
        conns_before = self.server.api("GET", "/admin/connections/").json
        self.server.stop()
        key_path = os.path.join(self.server.data_dir, "secret.key")
        old_key = read_bytes(key_path)

        proc = self.rotate()
        self.assertEqual(proc.returncode, 0, "rotate-key failed: %s"
                         % self.server.redact(proc.stdout + proc.stderr))
        counts = [int(n) for n in re.findall(r"\b\d+\b", proc.stdout)]
        self.assertIn(self.secret_count, counts,
                      "rotate-key did not print the count of %d secrets: %r"
                      % (self.secret_count, self.server.redact(proc.stdout)))
        for v in self.plaintexts:
            self.assertNoSecret(proc.stdout + proc.stderr, v, "rotate-key output")

        new_key = read_bytes(key_path)
        self.assertEqual(len(new_key), 32)
        self.assertFalse(new_key == old_key, "secret.key did not change")
        self.assertEqual(stat.S_IMODE(os.stat(key_path).st_mode), 0o600)
        backups = self.backups()
        self.assertEqual(len(backups), 1, "backups: %r" % backups)
        self.assertRegex(backups[0], r"^secret\.key\.\d{8}T?\d{6}Z?\.bak$")
        bak = os.path.join(self.server.data_dir, backups[0])
        self.assertTrue(read_bytes(bak) == old_key, "the backup is not the old key")
        self.assertEqual(stat.S_IMODE(os.stat(bak).st_mode), 0o600)
        self.assertEqual(self.server.find_plaintexts(self.plaintexts), [],
                         "a plaintext secret appears in the data directory after rotation")

        self.server.start()
        self.assertSecretsResolve()
        self.assertKeysWork()
        enc_after = self.encrypted_values()
        for field in enc_before:
            with self.subTest(field=field):
                self.assertTrue(enc_after[field].startswith("e:xc1:"))
                self.assertNotEqual(enc_after[field], enc_before[field],
                                    "%s was not re-encrypted" % field)
        conns_after = self.server.api("GET", "/admin/connections/").json
        for name in conns_before:
            del conns_before[name]["params"]
            del conns_after[name]["params"]
        self.assertSameJson(conns_after, conns_before, "connections apart from params")

        # the old key no longer opens the store
        self.server.stop()
        write_key(key_path, old_key)
        self.assertRefusesToStart()
        write_key(key_path, new_key)
        self.server.start()
        self.assertSecretsResolve()

    def test_rotate_twice(self):
        self.populate()
        self.server.stop()
        for i in range(2):
            proc = self.rotate()
            self.assertEqual(proc.returncode, 0, self.server.redact(proc.stderr))
            time.sleep(1.1)  # distinct backup names
        self.assertEqual(len(self.backups()), 2)
        self.server.start()
        self.assertSecretsResolve()
        self.assertKeysWork()

    def test_rotate_with_credentials_of_several_users(self):
        self.populate()
        creds = {}
        for login in ("mk_u1", "mk_u2", "mk_u3"):
            pw = "mk-%s-" % login + random_key(20)
            self.server.remember_secret(pw)
            self.plaintexts.append(pw)
            self.server.create_user(login, groups=["data_team"])
            s = self.server.api("GET", "/admin/users/" + login).json
            s["credentials"]["mk_pu"] = {"type": "BASIC", "user": login, "password": pw}
            self.assertStatus(self.server.api("PUT", "/admin/users/" + login, s), 200)
            creds[login] = (pw, self.server.create_personal_key(login)["key"])
        self.server.stop()
        proc = self.rotate()
        self.assertEqual(proc.returncode, 0, "rotate-key failed: %s"
                         % self.server.redact(proc.stdout + proc.stderr))
        counts = [int(n) for n in re.findall(r"\b\d+\b", proc.stdout)]
        self.assertIn(self.secret_count + 3, counts, self.server.redact(proc.stdout))
        self.server.start()
        self.assertSecretsResolve()
        for login, (pw, key) in creds.items():
            r = self.server.api("GET", "/connections/mk_pu/info", key=key)
            self.assertStatus(r, 200)
            self.assertTrue(r.json["resolvedBasicCredential"]["password"] == pw)

    def test_rotate_key_is_refused_while_a_server_runs(self):
        self.populate()
        key_path = os.path.join(self.server.data_dir, "secret.key")
        key = read_bytes(key_path)
        enc = self.encrypted_values()
        proc = self.rotate()
        self.assertNotEqual(proc.returncode, 0, "rotate-key ran while a server was running")
        self.assertTrue(proc.stderr.strip(), "no message on stderr")
        self.assertTrue(any(w in proc.stderr.lower() for w in
                            ("lock", "running", "in use", "another", "using", "stop")),
                        "stderr does not say why: %r" % self.server.redact(proc.stderr))
        self.assertTrue(read_bytes(key_path) == key, "secret.key changed")
        self.assertEqual(self.backups(), [])
        self.assertSecretsResolve()
        self.assertEqual(self.encrypted_values(), enc)
        self.server.restart()
        self.assertSecretsResolve()


def make_cert(directory):
    cert = os.path.join(directory, "c.pem")
    key = os.path.join(directory, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True,
                   timeout=60)
    return cert, key


class TlsTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None or shutil.which("curl") is None:
            raise unittest.SkipTest("openssl and curl are needed")
        cls.certdir = tempfile.mkdtemp(prefix="switchboard-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certdir, True)
        cls.cert, cls.key = make_cert(cls.certdir)
        cls.server_options = {"tls_cert": cls.cert, "tls_key": cls.key}
        super().setUpClass()

    def curl(self, path, *extra, stdin=None):
        url = "https://127.0.0.1:%d%s" % (self.server.port, path)
        return subprocess.run(["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"]
                              + list(extra) + [url], input=stdin, capture_output=True,
                              text=True, timeout=30)

    def test_harness_talks_https(self):
        self.assertEqual(self.server.scheme, "https")
        self.assertIs(self.server.auth_info()["admin"], True)
        self.server.create_connection("tls_conn")
        self.assertIn("tls_conn", self.server.api("GET", "/connections/get-names").json)

    def test_curl_healthz_with_the_cert_as_ca(self):
        proc = self.curl("/healthz", "--cacert", self.cert)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        body, _, code = proc.stdout.rpartition("\n")
        self.assertEqual(code, "200")
        self.assertEqual(json.loads(body), {"status": "ok"})

    def test_curl_authenticated_api_call(self):
        # the key goes through a config file on stdin, not the command line
        config = 'user = "%s:"\n' % self.server.admin_key
        proc = self.curl("/dip/publicapi/auth/info", "--cacert", self.cert, "-K", "-",
                         stdin=config)
        self.assertEqual(proc.returncode, 0, self.server.redact(proc.stderr))
        body, _, code = proc.stdout.rpartition("\n")
        self.assertEqual(code, "200", self.server.redact(body))
        self.assertIs(json.loads(body)["admin"], True)
        proc = self.curl("/dip/publicapi/auth/info", "--cacert", self.cert)
        self.assertEqual(proc.stdout.rpartition("\n")[2], "401")

    def test_curl_without_the_ca_fails_verification(self):
        proc = self.curl("/healthz")
        self.assertNotEqual(proc.returncode, 0, "curl accepted a self-signed certificate")

    def test_plain_http_to_the_tls_port_fails(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        try:
            conn.request("GET", "/healthz")
            resp = conn.getresponse()
            body = resp.read()
            self.assertFalse(resp.status == 200 and b"ok" in body,
                             "plain HTTP got a healthz answer from the TLS port")
        except (OSError, http.client.HTTPException):
            pass  # refused, reset, closed or garbage: the expected outcomes
        finally:
            conn.close()
        # and the server still serves HTTPS afterwards
        self.assertStatus(self.server.api("GET", "/auth/info"), 200)

    def test_dss_client_over_https(self):
        client = DSSClient(self.server.base_url, self.server.admin_key, ca_file=self.cert)
        try:
            self.assertIs(client.get_auth_info()["admin"], True)
        finally:
            client.close()


class TlsUsageTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl is needed")
        cls.binary = os.environ.get("SWITCHBOARD_BIN", DEFAULT_BIN)
        cls.tmp = tempfile.mkdtemp(prefix="switchboard-tlsusage-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.cert, cls.key = make_cert(cls.tmp)

    def serve(self, *args):
        data = tempfile.mkdtemp(dir=self.tmp)
        env = dict(os.environ, SWITCHBOARD_ADMIN_KEY=random_key())
        for k in ("SWITCHBOARD_TLS_CERT", "SWITCHBOARD_TLS_KEY"):
            env.pop(k, None)
        try:
            proc = subprocess.run([self.binary, "serve", "--listen",
                                   "127.0.0.1:%d" % free_port(), "--data-dir", data]
                                  + list(args), capture_output=True, text=True,
                                  timeout=QUICK, env=env)
        except subprocess.TimeoutExpired:
            self.fail("the server started with %r" % (args,))
        return proc

    def test_cert_without_key_is_a_usage_error(self):
        proc = self.serve("--tls-cert", self.cert)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("tls", proc.stderr.lower())

    def test_key_without_cert_is_a_usage_error(self):
        proc = self.serve("--tls-key", self.key)
        self.assertEqual(proc.returncode, 2, proc.stderr)

    def test_unreadable_cert_fails_to_start(self):
        proc = self.serve("--tls-cert", os.path.join(self.tmp, "missing.pem"),
                          "--tls-key", self.key)
        self.assertNotEqual(proc.returncode, 0)
        self.assertTrue(proc.stderr.strip())


if __name__ == "__main__":
    unittest.main()
