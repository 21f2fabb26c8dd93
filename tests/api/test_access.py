# SPDX-License-Identifier: Apache-2.0
"""Access control: the matrix of principals x endpoints x connections, principals as seen by
/auth/info, disabled and deleted users, ownership of personal API keys, and /metrics that
names neither connections nor principals."""

import unittest

from server import ServerTestCase, random_key

# Connections of the matrix: (usableBy, allowedGroups, readableBy, readable allowedGroups).
CONNECTIONS = {
    "acm_use_all_read_none": ("ALL", [], "NONE", []),
    "acm_use_all_read_all": ("ALL", [], "ALL", []),
    "acm_use_all_read_data": ("ALL", [], "ALLOWED", ["data_team"]),
    "acm_use_data_read_all": ("ALLOWED", ["data_team"], "ALL", []),
}
ALL_NAMES = set(CONNECTIONS)
NOT_DATA_ONLY = ALL_NAMES - {"acm_use_data_read_all"}

ADMIN_P = ("admin", "root", "gk_admin_group")
DATA_P = ("ana", "gk_data")
OTHER_P = ("bob", "gk_plain")

# principal -> expected status of GET /connections/{name}/info for each connection
INFO = {}
for _p in ADMIN_P:
    INFO[_p] = {n: 200 for n in CONNECTIONS}
for _p in DATA_P:
    INFO[_p] = {"acm_use_all_read_none": 403, "acm_use_all_read_all": 200,
                "acm_use_all_read_data": 200, "acm_use_data_read_all": 200}
for _p in OTHER_P:
    INFO[_p] = {"acm_use_all_read_none": 403, "acm_use_all_read_all": 200,
                "acm_use_all_read_data": 403, "acm_use_data_read_all": 403}

GET_NAMES = {p: ALL_NAMES for p in ADMIN_P + DATA_P}
GET_NAMES.update({p: NOT_DATA_ONLY for p in OTHER_P})

# principal -> expected status of GET /connections/{name}/test: whoever may use it
TEST = {p: {n: 200 for n in CONNECTIONS} for p in ADMIN_P + DATA_P}
for _p in OTHER_P:
    TEST[_p] = {n: (403 if n == "acm_use_data_read_all" else 200) for n in CONNECTIONS}

ADMIN_LIST = {p: 200 for p in ADMIN_P}
ADMIN_LIST.update({p: 403 for p in DATA_P + OTHER_P})


class AccessMatrixTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_group("data_team")
        s.create_group("other_team")
        s.create_group("acm_admins", admin=True)
        cls.passwords = {}
        cls.keys = {"admin": s.admin_key}
        for login, groups in (("ana", ["data_team"]), ("bob", ["other_team"]),
                              ("root", ["acm_admins"])):
            cls.keys[login] = s.user_with_key(login, groups=groups)
        cls.keys["gk_plain"] = s.create_key(admin=False, groups=[], label="plain")["key"]
        cls.keys["gk_data"] = s.create_key(admin=False, groups=["data_team"],
                                           label="data")["key"]
        cls.keys["gk_admin_group"] = s.create_key(admin=False, groups=["acm_admins"],
                                                  label="via admin group")["key"]
        cls.db_password = "acm-pw-" + random_key(20)
        s.remember_secret(cls.db_password)
        for name, (usable, allowed, readable, readers) in CONNECTIONS.items():
            s.create_connection(name, type="PostgreSQL", usableBy=usable, allowedGroups=allowed,
                                detailsReadability={"readableBy": readable,
                                                    "allowedGroups": readers},
                                params={"host": "127.0.0.1", "port": "1", "db": "sales",
                                        "user": "etl", "password": cls.db_password})

    def test_admin_connection_list(self):
        for principal, status in ADMIN_LIST.items():
            with self.subTest(principal=principal):
                r = self.server.api("GET", "/admin/connections/", key=self.keys[principal])
                if status == 200:
                    self.assertStatus(r, 200)
                    self.assertEqual(set(r.json), ALL_NAMES)
                else:
                    self.assertError(r, status, "Forbidden")

    def test_admin_connection_get(self):
        for principal, status in ADMIN_LIST.items():
            for name in CONNECTIONS:
                with self.subTest(principal=principal, connection=name):
                    r = self.server.api("GET", "/admin/connections/" + name,
                                        key=self.keys[principal])
                    if status == 200:
                        self.assertStatus(r, 200)
                        self.assertEqual(r.json["name"], name)
                    else:
                        self.assertError(r, status, "Forbidden")

    def test_get_names(self):
        for principal, names in GET_NAMES.items():
            for query in ("", "?type=all", "?type=PostgreSQL"):
                with self.subTest(principal=principal, query=query):
                    r = self.server.api("GET", "/connections/get-names" + query,
                                        key=self.keys[principal])
                    self.assertStatus(r, 200)
                    self.assertIsInstance(r.json, list)
                    self.assertEqual(len(r.json), len(set(r.json)), "duplicate names")
                    self.assertEqual(set(r.json), names)
            with self.subTest(principal=principal, query="?type=Filesystem"):
                r = self.server.api("GET", "/connections/get-names?type=Filesystem",
                                    key=self.keys[principal])
                self.assertStatus(r, 200)
                self.assertEqual(r.json, [])

    def test_info(self):
        for principal, expected in INFO.items():
            for name, status in expected.items():
                with self.subTest(principal=principal, connection=name):
                    r = self.server.api("GET", "/connections/%s/info" % name,
                                        key=self.keys[principal])
                    if status == 200:
                        self.assertStatus(r, 200)
                        self.assertEqual(r.json["name"], name)
                        self.assertEqual(r.json["resolvedBasicCredential"],
                                         {"user": "etl", "password": self.db_password})
                    else:
                        self.assertError(r, status, "Forbidden")
                        self.assertNoSecret(r.raw, self.db_password, "a 403 answer")

    def test_live_test(self):
        # the target is a closed loopback port: the test runs and fails, never leaves the host
        for principal, expected in TEST.items():
            for name, status in expected.items():
                with self.subTest(principal=principal, connection=name):
                    r = self.server.api("GET", "/connections/%s/test" % name,
                                        key=self.keys[principal])
                    if status == 200:
                        self.assertStatus(r, 200)
                        self.assertIs(r.json["connectionOK"], False)
                        self.assertIn("refused", r.json["message"])
                    else:
                        self.assertError(r, status, "Forbidden")
                    self.assertNoSecret(r.raw, self.db_password, "a /test answer")

    def test_info_with_a_contextual_project_key_grants_nothing_more(self):
        """A denied read stays denied whatever contextualProjectKey says; an allowed one then
        finds that the project does not exist (404)."""
        for principal, expected in INFO.items():
            for name, status in expected.items():
                with self.subTest(principal=principal, connection=name):
                    r = self.server.api(
                        "GET", "/connections/%s/info?contextualProjectKey=NO_SUCH_PROJECT"
                        % name, key=self.keys[principal])
                    if status == 403:
                        self.assertError(r, 403, "Forbidden")
                    else:
                        self.assertError(r, 404, "NotFound", "NO_SUCH_PROJECT")

    def test_info_of_unknown_connection_is_not_found(self):
        for principal in INFO:
            with self.subTest(principal=principal):
                r = self.server.api("GET", "/connections/acm_no_such_conn/info",
                                    key=self.keys[principal])
                self.assertError(r, 404, "NotFound")

    def test_non_admins_are_forbidden_on_admin_routes(self):
        for principal in DATA_P + OTHER_P:
            for method, path in (("GET", "/admin/users/"), ("GET", "/admin/groups/"),
                                 ("GET", "/admin/users/ana"),
                                 ("GET", "/admin/personal-api-keys/"),
                                 ("GET", "/admin/variables/"), ("GET", "/admin/audit"),
                                 ("GET", "/admin/global-api-keys/")):
                with self.subTest(principal=principal, path=path):
                    self.assertError(self.server.api(method, path, key=self.keys[principal]),
                                     403, "Forbidden")

    def test_admin_principals_may_use_admin_routes(self):
        for principal in ADMIN_P:
            for path in ("/admin/users/", "/admin/groups/", "/admin/variables/",
                         "/admin/personal-api-keys/"):
                with self.subTest(principal=principal, path=path):
                    self.assertStatus(self.server.api("GET", path, key=self.keys[principal]),
                                      200)

    def test_auth_info_of_each_principal(self):
        expected = {
            "ana": ("ana", "USER", ["data_team"], False),
            "bob": ("bob", "USER", ["other_team"], False),
            "root": ("root", "USER", ["acm_admins"], True),
            "gk_plain": (None, "GLOBAL_API_KEY", [], False),
            "gk_data": (None, "GLOBAL_API_KEY", ["data_team"], False),
            "gk_admin_group": (None, "GLOBAL_API_KEY", ["acm_admins"], True),
            "admin": (None, "GLOBAL_API_KEY", None, True),
        }
        identifiers = set()
        for principal, (ident, ptype, groups, admin) in expected.items():
            with self.subTest(principal=principal):
                info = self.server.auth_info(key=self.keys[principal])
                self.assertEqual(set(info), {"authIdentifier", "principalType", "groups",
                                             "admin"})
                self.assertEqual(info["principalType"], ptype)
                self.assertIs(info["admin"], admin)
                if groups is not None:
                    self.assertEqual(info["groups"], groups)
                self.assertIsInstance(info["authIdentifier"], str)
                self.assertTrue(info["authIdentifier"])
                if ident is not None:
                    self.assertEqual(info["authIdentifier"], ident)
                self.assertNoSecret(info["authIdentifier"], self.keys[principal],
                                    "authIdentifier")
                identifiers.add(info["authIdentifier"])
        self.assertEqual(len(identifiers), len(expected), "two principals share an identifier")

    def test_group_admin_flag_change_takes_effect(self):
        s = self.server
        s.create_group("acm_flip")
        key = s.user_with_key("acm_flipper", groups=["acm_flip"])
        self.assertError(s.api("GET", "/admin/connections/", key=key), 403, "Forbidden")
        g = s.api("GET", "/admin/groups/acm_flip").json
        g["admin"] = True
        self.assertStatus(s.api("PUT", "/admin/groups/acm_flip", g), 200)
        self.assertIs(s.auth_info(key=key)["admin"], True)
        self.assertStatus(s.api("GET", "/admin/connections/", key=key), 200)
        g["admin"] = False
        self.assertStatus(s.api("PUT", "/admin/groups/acm_flip", g), 200)
        self.assertIs(s.auth_info(key=key)["admin"], False)
        self.assertError(s.api("GET", "/admin/connections/", key=key), 403, "Forbidden")

    def test_metrics_name_no_connection_principal_or_secret(self):
        # make sure every kind of route was hit by now
        for principal in INFO:
            self.server.api("GET", "/connections/acm_use_all_read_all/info",
                            key=self.keys[principal])
        r = self.server.request("GET", "/metrics", key=None)
        self.assertStatus(r, 200)
        text = r.raw.decode("utf-8", "replace")
        for word in list(CONNECTIONS) + ["ana", "bob", "root", "data_team", "other_team",
                                         "acm_admins", "db.example"]:
            with self.subTest(word=word):
                self.assertNotIn(word, text)
        self.assertNoSecret(text, self.db_password, "/metrics")
        for key in self.keys.values():
            self.assertNoSecret(text, key, "/metrics")


class UserLifecycleAccessTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_group("data_team")
        cls.server.create_connection("ula_conn", detailsReadability={
            "readableBy": "ALL", "allowedGroups": []})

    def assertUnauthorized(self, resp):
        self.assertError(resp, 401, "Unauthorized")
        self.assertEqual(resp.headers.get("WWW-Authenticate"), 'Basic realm="switchboard"')

    def set_enabled(self, login, enabled):
        s = self.server.api("GET", "/admin/users/" + login).json
        s["enabled"] = enabled
        self.assertStatus(self.server.api("PUT", "/admin/users/" + login, s), 200)

    def test_disabled_user_keys_are_unauthorized(self):
        key = self.server.user_with_key("carl", groups=["data_team"])
        self.assertStatus(self.server.api("GET", "/auth/info", key=key), 200)
        self.set_enabled("carl", False)
        self.assertIs(self.server.api("GET", "/admin/users/carl").json["enabled"], False)
        for method, path in (("GET", "/auth/info"), ("GET", "/connections/get-names"),
                             ("GET", "/connections/ula_conn/info"), ("GET", "/current-user"),
                             ("GET", "/personal-api-keys/")):
            with self.subTest(path=path):
                self.assertUnauthorized(self.server.api(method, path, key=key))
        listed = [u for u in self.server.api("GET", "/admin/users/").json
                  if u["login"] == "carl"]
        self.assertEqual(len(listed), 1)
        self.assertIs(listed[0]["enabled"], False)

    def test_re_enabled_user_keys_work_again(self):
        key = self.server.user_with_key("cleo", groups=["data_team"])
        self.set_enabled("cleo", False)
        self.assertUnauthorized(self.server.api("GET", "/auth/info", key=key))
        self.set_enabled("cleo", True)
        self.assertEqual(self.server.auth_info(key=key)["authIdentifier"], "cleo")

    def test_deleted_user_keys_are_unauthorized(self):
        key = self.server.user_with_key("dave", groups=["data_team"])
        self.assertStatus(self.server.api("GET", "/connections/ula_conn/info", key=key), 200)
        self.assertStatus(self.server.api("DELETE", "/admin/users/dave"), 200)
        for method, path in (("GET", "/auth/info"), ("GET", "/connections/get-names"),
                             ("GET", "/connections/ula_conn/info"), ("GET", "/current-user")):
            with self.subTest(path=path):
                self.assertUnauthorized(self.server.api(method, path, key=key))

    def test_user_recreated_with_same_login_does_not_revive_old_keys(self):
        key = self.server.user_with_key("dora")
        self.assertStatus(self.server.api("DELETE", "/admin/users/dora"), 200)
        self.server.create_user("dora")
        self.assertUnauthorized(self.server.api("GET", "/auth/info", key=key))

    def test_group_change_of_a_user_applies_to_its_keys(self):
        self.server.create_connection("ula_data_only", usableBy="ALLOWED",
                                      allowedGroups=["data_team"])
        key = self.server.user_with_key("gina")
        names = self.server.api("GET", "/connections/get-names", key=key).json
        self.assertNotIn("ula_data_only", names)
        s = self.server.api("GET", "/admin/users/gina").json
        s["groups"] = ["data_team"]
        self.assertStatus(self.server.api("PUT", "/admin/users/gina", s), 200)
        self.assertEqual(self.server.auth_info(key=key)["groups"], ["data_team"])
        names = self.server.api("GET", "/connections/get-names", key=key).json
        self.assertIn("ula_data_only", names)


class PersonalKeyOwnershipTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_user("ana")
        s.create_user("bob")
        cls.ana = s.create_personal_key("ana", label="ana's")
        cls.bob = s.create_personal_key("bob", label="bob's")
        cls.global_user = s.create_key(admin=False, groups=["data_team"])["key"]

    def path(self, key):
        return "/personal-api-keys/" + key["id"]

    def test_owner_reads_own_key_without_secret(self):
        r = self.server.api("GET", self.path(self.ana), key=self.ana["key"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["id"], self.ana["id"])
        self.assertEqual(r.json["user"], "ana")
        self.assertKeyHint(r.json, self.ana["key"])
        self.assertNoSecret(r.raw, self.ana["key"], "GET of a personal key")

    def test_other_user_cannot_read_update_or_delete_the_key(self):
        before = self.server.api("GET", self.path(self.bob)).json
        r = self.server.api("GET", self.path(self.bob), key=self.ana["key"])
        self.assertError(r, 403, "Forbidden")
        self.assertNoSecret(r.raw, self.bob["key"], "a 403 answer")
        r = self.server.api("PUT", self.path(self.bob),
                            {"label": "hijacked", "description": "x"}, key=self.ana["key"])
        self.assertError(r, 403, "Forbidden")
        self.assertError(self.server.api("DELETE", self.path(self.bob), key=self.ana["key"]),
                         403, "Forbidden")
        self.assertSameJson(self.server.api("GET", self.path(self.bob)).json, before,
                            "bob's key after ana's attempts")
        self.assertEqual(self.server.auth_info(key=self.bob["key"])["authIdentifier"], "bob")

    def test_admin_can_read_any_personal_key(self):
        r = self.server.api("GET", self.path(self.bob))
        self.assertStatus(r, 200)
        self.assertEqual(r.json["user"], "bob")
        self.assertKeyHint(r.json, self.bob["key"])

    def test_global_non_admin_key_cannot_touch_personal_keys(self):
        for method, path, body in (("GET", "/personal-api-keys/", None),
                                   ("POST", "/personal-api-keys/",
                                    {"label": "x", "description": ""}),
                                   ("GET", self.path(self.ana), None),
                                   ("DELETE", self.path(self.ana), None)):
            with self.subTest(method=method, path=path):
                self.assertError(self.server.api(method, path, body, key=self.global_user),
                                 403, "Forbidden")
        self.assertStatus(self.server.api("GET", "/auth/info", key=self.ana["key"]), 200)

    def test_own_list_has_only_own_keys_without_secrets(self):
        r = self.server.api("GET", "/personal-api-keys/", key=self.ana["key"])
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json, list)
        self.assertIn(self.ana["id"], [k["id"] for k in r.json])
        for item in r.json:
            self.assertEqual(item["user"], "ana")
            self.assertKeyHint(item)
        self.assertNoSecret(r.raw, self.ana["key"], "the own key list")
        self.assertNoSecret(r.raw, self.bob["key"], "the own key list")

    def test_user_creates_a_key_for_themselves_only(self):
        r = self.server.api("POST", "/personal-api-keys/",
                            {"label": "self made", "description": "d"}, key=self.ana["key"])
        self.assertStatus(r, 200)
        self.server.remember_secret(r.json["key"])
        self.assertEqual(r.json["user"], "ana")
        self.assertEqual(self.server.auth_info(key=r.json["key"])["authIdentifier"], "ana")
        r = self.server.api("POST", "/personal-api-keys/",
                            {"user": "bob", "label": "for bob", "description": ""},
                            key=self.ana["key"])
        # the user field of a user's own create is ignored, as DSS does: the key is theirs
        self.assertStatus(r, 200)
        self.server.remember_secret(r.json["key"])
        self.assertEqual(r.json["user"], "ana", "a user created a key for someone else")
        self.assertEqual(self.server.auth_info(key=r.json["key"])["authIdentifier"], "ana")

    def test_owner_can_update_and_delete_own_key(self):
        created = self.server.create_personal_key("ana", label="temp")
        r = self.server.api("PUT", self.path(created),
                            {"label": "renamed", "description": "new"}, key=self.ana["key"])
        self.assertStatus(r, 200)
        got = self.server.api("GET", self.path(created), key=self.ana["key"]).json
        self.assertEqual(got["label"], "renamed")
        self.assertEqual(got["description"], "new")
        self.assertEqual(got["user"], "ana")
        self.assertStatus(self.server.api("DELETE", self.path(created), key=self.ana["key"]),
                          200)
        self.assertError(self.server.api("GET", "/auth/info", key=created["key"]),
                         401, "Unauthorized")
        self.assertError(self.server.api("GET", self.path(created)), 404, "NotFound")

    def test_admin_can_delete_anyones_key(self):
        created = self.server.create_personal_key("bob", label="revoked by admin")
        self.assertStatus(self.server.api("DELETE", self.path(created)), 200)
        self.assertError(self.server.api("GET", "/auth/info", key=created["key"]),
                         401, "Unauthorized")

    def test_user_cannot_move_own_key_to_another_user(self):
        created = self.server.create_personal_key("ana", label="mine")
        r = self.server.api("PUT", self.path(created),
                            {"user": "bob", "label": "mine", "description": ""},
                            key=self.ana["key"])
        self.assertStatus(r, 200)  # the user field is not one an update changes
        self.assertEqual(self.server.auth_info(key=created["key"])["authIdentifier"], "ana")


if __name__ == "__main__":
    unittest.main()
