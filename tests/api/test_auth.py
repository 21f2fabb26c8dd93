# SPDX-License-Identifier: Apache-2.0
"""Authentication and authorization: 401 variants, Bearer, 403 for non-admins,
/auth/info, and the bootstrap admin key."""

import base64
import os
import stat
import unittest

from server import OwnServerTestCase, ServerTestCase, random_key

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

    def test_generated_admin_key_is_printed_on_stdout(self):
        _, key = self.key_from_file()
        self.assertTrue(key in self.server.stdout_text(), "stdout does not show the admin key")

    def test_generated_admin_key_survives_restart_and_is_printed_only_once(self):
        _, key = self.key_from_file()
        self.server.restart()
        _, key_after = self.key_from_file()
        self.assertTrue(key_after == key, "admin.key changed across a restart")
        self.assertStatus(self.server.api("GET", "/admin/connections/", key=key), 200)
        self.assertEqual(self.server.stdout_text().count(key), 1,
                         "the admin key was printed more than once")


if __name__ == "__main__":
    unittest.main()
