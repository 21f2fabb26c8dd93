# SPDX-License-Identifier: Apache-2.0
"""Authentication and authorization: 401 variants, Bearer, 403 for non-admins,
/auth/info, and the bootstrap admin key."""

import base64
import json
import os
import select
import signal
import stat
import subprocess
import time
import unittest

from server import OwnServerTestCase, Server, ServerTestCase, free_port, random_key

PROTECTED = (
    ("GET", "/admin/connections/"),
    ("GET", "/admin/connections/any_name"),
    ("GET", "/admin/global-api-keys/"),
    ("GET", "/connections/get-names"),
    ("GET", "/auth/info"),
)


class UnauthenticatedTest(ServerTestCase):

    def assertUnauthorized(self, resp):
        self.assertError(resp, 401, "Unauthorized")
        self.assertEqual(resp.headers.get("WWW-Authenticate"), 'Basic realm="switchboard"')

    def test_missing_authorization_header_is_unauthorized(self):
        for method, path in PROTECTED:
            with self.subTest(path=path):
                self.assertUnauthorized(self.server.api(method, path, key=None))

    def test_unknown_key_is_unauthorized(self):
        unknown = random_key()
        self.server.remember_secret(unknown)
        for method, path in PROTECTED:
            with self.subTest(path=path):
                self.assertUnauthorized(self.server.api(method, path, key=unknown))

    def test_malformed_authorization_headers_are_unauthorized(self):
        empty_user = "Basic " + base64.b64encode(b":").decode()
        for value in ("Basic !!!notbase64", "Digest x", "Bearer", "Bearer ", "Basic",
                      "Basic ", empty_user, "NotAScheme", "Bearer  "):
            with self.subTest(header=value):
                r = self.server.api("GET", "/auth/info", headers={"Authorization": value})
                self.assertUnauthorized(r)

    def test_admin_key_with_wrong_case_or_prefix_is_unauthorized(self):
        key = self.server.admin_key
        for variant in (key.swapcase(), key[:-1], key + "x", "x" + key):
            r = self.server.api("GET", "/auth/info", key=variant)
            self.assertUnauthorized(r)

    def test_unauthenticated_create_changes_nothing(self):
        r = self.server.api("POST", "/admin/connections/",
                            {"name": "anon_create", "type": "Filesystem",
                             "params": {"root": "/tmp"}}, key=None)
        self.assertUnauthorized(r)
        self.assertError(self.server.api("GET", "/admin/connections/anon_create"),
                         404, "NotFound")

    def test_bearer_with_admin_key_is_accepted(self):
        r = self.server.api("GET", "/admin/connections/",
                            headers={"Authorization": "Bearer " + self.server.admin_key})
        self.assertStatus(r, 200)

    def test_bearer_with_unknown_key_is_unauthorized(self):
        unknown = random_key()
        self.server.remember_secret(unknown)
        r = self.server.api("GET", "/auth/info", headers={"Authorization": "Bearer " + unknown})
        self.assertUnauthorized(r)

    def test_basic_with_admin_key_as_user_and_empty_password_is_accepted(self):
        self.assertStatus(self.server.api("GET", "/admin/connections/"), 200)


class AuthorizationTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user = cls.server.create_key(admin=False, groups=["data_team"], label="non-admin")
        cls.server.create_connection("existing_conn")

    def test_non_admin_key_is_forbidden_on_admin_routes(self):
        key = self.user["key"]
        for method, path, body in (
                ("GET", "/admin/connections/", None),
                ("GET", "/admin/connections", None),
                ("GET", "/admin/connections/existing_conn", None),
                ("POST", "/admin/connections/", {"name": "by_non_admin", "type": "Filesystem",
                                                 "params": {"root": "/tmp"}}),
                ("PUT", "/admin/connections/existing_conn",
                 {"name": "existing_conn", "type": "Filesystem", "params": {"root": "/tmp"},
                  "description": "hijacked"}),
                ("DELETE", "/admin/connections/existing_conn", None),
                ("GET", "/admin/global-api-keys/", None),
                ("POST", "/admin/global-api-keys/",
                 {"label": "x", "globalPermissions": {"admin": True}, "groups": []}),
                ("GET", "/admin/global-api-keys/" + self.user["id"], None),
                ("GET", "/admin/globalAPIKeys/" + key, None)):
            with self.subTest(method=method, path=path.replace(key, "<key>")):
                self.assertError(self.server.api(method, path, body, key=key), 403, "Forbidden")

    def test_forbidden_writes_change_nothing(self):
        before = self.server.api("GET", "/admin/connections/existing_conn").json
        key = self.user["key"]
        self.server.api("PUT", "/admin/connections/existing_conn",
                        dict(before, description="hijacked"), key=key)
        self.server.api("DELETE", "/admin/connections/existing_conn", key=key)
        self.server.api("POST", "/admin/connections/",
                        {"name": "by_non_admin", "type": "Filesystem",
                         "params": {"root": "/tmp"}}, key=key)
        after = self.server.api("GET", "/admin/connections/existing_conn")
        self.assertStatus(after, 200)
        self.assertSameJson(after.json, before, "definition after forbidden writes")
        self.assertError(self.server.api("GET", "/admin/connections/by_non_admin"),
                         404, "NotFound")

    def test_non_admin_key_may_call_get_names_and_auth_info(self):
        key = self.user["key"]
        self.assertStatus(self.server.api("GET", "/connections/get-names", key=key), 200)
        self.assertStatus(self.server.api("GET", "/auth/info", key=key), 200)

    def test_non_admin_key_works_with_bearer(self):
        r = self.server.api("GET", "/auth/info",
                            headers={"Authorization": "Bearer " + self.user["key"]})
        self.assertStatus(r, 200)
        self.assertIs(r.json["admin"], False)

    def test_auth_info_for_admin_key(self):
        info = self.server.auth_info()
        self.assertEqual(info["principalType"], "GLOBAL_API_KEY")
        self.assertIs(info["admin"], True)
        self.assertIsInstance(info["groups"], list)
        self.assertIsInstance(info["authIdentifier"], str)
        self.assertTrue(info["authIdentifier"])
        self.assertNoSecret(info["authIdentifier"], self.server.admin_key, "authIdentifier")

    def test_auth_info_for_non_admin_key_reports_its_groups(self):
        info = self.server.auth_info(key=self.user["key"])
        self.assertEqual(info["principalType"], "GLOBAL_API_KEY")
        self.assertIs(info["admin"], False)
        self.assertEqual(info["groups"], ["data_team"])
        self.assertTrue(info["authIdentifier"])
        self.assertNoSecret(info["authIdentifier"], self.user["key"], "authIdentifier")
        self.assertNotEqual(info["authIdentifier"], self.server.auth_info()["authIdentifier"])

    def test_admin_key_given_by_environment_is_a_global_admin_key(self):
        r = self.server.api("GET", "/admin/globalAPIKeys/" + self.server.admin_key)
        self.assertStatus(r, 200)
        self.assertIs(r.json["globalPermissions"]["admin"], True)
        self.assertKeyHint(r.json, self.server.admin_key)


class GeneratedAdminKeyTest(OwnServerTestCase):
    """Without SWITCHBOARD_ADMIN_KEY the server mints the bootstrap key itself."""

    server_options = {"admin_key": None}

    def key_from_file(self):
        path = os.path.join(self.server.data_dir, "admin.key")
        self.assertTrue(os.path.isfile(path), "admin.key missing from the data directory")
        with open(path) as f:
            key = f.read().strip()
        self.server.remember_secret(key)
        return path, key

    def test_admin_key_file_is_private_and_holds_a_working_admin_key(self):
        path, key = self.key_from_file()
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, "admin.key mode is %o" % mode)
        self.assertGreaterEqual(len(key), 32, "generated key is shorter than 32 chars")
        r = self.server.api("GET", "/auth/info", key=key)
        self.assertEqual(r.status, 200, "the key in admin.key does not authenticate")
        self.assertIs(r.json["admin"], True)
        self.assertStatus(self.server.api("GET", "/admin/connections/", key=key), 200)

    def test_generated_admin_key_is_not_printed_when_stdout_is_not_a_terminal(self):
        # under systemd stdout is the journal: the key stays in admin.key, the log says where
        path, key = self.key_from_file()
        log = self.server.wait_for_log(lambda t: "not a terminal" in t)  # info lines are buffered
        self.assertNotIn(key, self.server.stdout_text())
        self.assertNotIn(key, log)
        self.assertIn(path, log)
        self.assertIn("not a terminal", log)

    def test_generated_admin_key_survives_restart(self):
        _, key = self.key_from_file()
        self.server.restart()
        _, key_after = self.key_from_file()
        self.assertTrue(key_after == key, "admin.key changed across a restart")
        self.assertStatus(self.server.api("GET", "/admin/connections/", key=key), 200)


class BootstrapKeyOnTerminalTest(unittest.TestCase):
    """On a terminal the generated key is shown once, with where it is saved."""

    def test_generated_admin_key_is_printed_once_on_a_terminal(self):
        import pty
        srv = Server(admin_key=None)
        self.addCleanup(srv.cleanup)
        master, slave = pty.openpty()
        port = free_port()
        env = dict(os.environ, SWITCHBOARD_CONFIG="")
        env.pop("SWITCHBOARD_ADMIN_KEY", None)
        proc = subprocess.Popen([srv.binary, "serve", "--listen", "127.0.0.1:%d" % port,
                                 "--data-dir", srv.data_dir] + srv.args,
                                stdout=slave, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL, env=env)
        os.close(slave)
        shown = b""
        deadline = time.monotonic() + 20
        path = os.path.join(srv.data_dir, "admin.key")
        key = None
        while time.monotonic() < deadline:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                shown += os.read(master, 4096)
            if key is None and os.path.exists(path):
                with open(path) as f:
                    key = f.read().strip() or None
            if key and key.encode() in shown:
                break
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        os.close(master)
        text = shown.decode()
        self.assertIn("Admin API key (shown once; also saved in %s)" % path, text)
        self.assertEqual(text.count(key), 1)


class AdminCreateKeyTest(OwnServerTestCase):
    """switchboard admin create-key: refused while a server uses the data directory, audited."""

    def create_key(self):
        env = dict(os.environ, SWITCHBOARD_CONFIG="")
        return subprocess.run([self.server.binary, "admin", "create-key", "--data-dir",
                               self.server.data_dir] + self.server.args,
                              capture_output=True, text=True, timeout=60, env=env)

    def test_refused_while_a_server_runs_on_the_data_directory(self):
        r = self.create_key()
        self.assertEqual(r.returncode, 1)
        self.assertIn("another switchboard process is using the data directory", r.stderr)
        self.assertIn("switchboard keys create --admin", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_minted_key_works_and_is_audited(self):
        self.server.stop()
        r = self.create_key()
        self.assertEqual(r.returncode, 0, r.stderr)
        key = r.stdout.strip()
        self.server.remember_secret(key)
        self.server.start()
        self.assertStatus(self.server.api("GET", "/admin/connections/", key=key), 200)
        audit = self.server.api("GET", "/admin/audit").json
        rec = [a for a in audit if a["action"] == "global-api-key.create"
               and a["principal"] == "switchboard-admin"]
        self.assertEqual(len(rec), 1, audit[:5])
        self.assertEqual(rec[0]["remoteAddr"], "local")
        with open(os.path.join(self.server.data_dir, "audit.log")) as f:
            self.assertIn('"principal":"switchboard-admin"', f.read())
        self.assertNotIn(key, json.dumps(audit))

if __name__ == "__main__":
    unittest.main()
