# SPDX-License-Identifier: Apache-2.0
"""Users, groups and personal API keys: CRUD and its errors, the /current-user rules, and
the client calls of the issue driven through the dss.py look-alike."""

import json
import unittest

from dss import DSSClient, DataikuException
from server import ServerTestCase, random_key

LIST_FIELDS = {"login", "displayName", "email", "groups", "sourceType", "userProfile",
               "enabled", "creationDate"}
SETTINGS_FIELDS = LIST_FIELDS | {"credentials", "secrets", "adminProperties",
                                 "userProperties", "preferences"}
# every key DSSUserPreferences reads, with DSS's default for a new user (docs/API.md §5.3)
DEFAULT_PREFERENCES = {"uiLanguage": "en", **{k: True for k in (
    "mentionEmails", "discussionEmails", "accessRequestEmails", "grantedAccessEmails",
    "grantedPluginRequestEmails", "pluginRequestEmails", "instanceAccessRequestsEmails",
    "profileUpgradeRequestsEmails", "codeEnvCreationRequestEmails",
    "grantedCodeEnvCreationRequestEmails", "dailyDigestsEmails", "offlineActivityEmails",
    "rememberPositionFlow", "loginLogoutNotifications", "watchedObjectsEditionsNotifications",
    "objectOnCurrentProjectCreatedDeletedNotifications",
    "anyObjectOnCurrentProjectEditedNotifications", "watchStarOnCurrentProjectNotifications",
    "otherUsersJobsTasksNotifications", "requestAccessNotifications",
    "scenarioRunNotifications")}}
PERSONAL_KEY_FIELDS = {"id", "user", "label", "description", "createdOn", "createdBy"}


class GroupsTest(ServerTestCase):

    def test_create_get_list(self):
        r = self.server.api("POST", "/admin/groups/", {"name": "grp_a", "description": "A",
                                                       "sourceType": "LOCAL", "admin": True})
        self.assertStatus(r, 200)
        expected = {"name": "grp_a", "description": "A", "sourceType": "LOCAL", "admin": True}
        self.assertSameJson(r.json, expected, "create answer")
        got = self.server.api("GET", "/admin/groups/grp_a")
        self.assertStatus(got, 200)
        self.assertSameJson(got.json, expected, "GET")
        listed = self.server.api("GET", "/admin/groups/").json
        self.assertIn(expected, listed)
        self.assertStatus(self.server.api("GET", "/admin/groups"), 200)

    def test_admin_defaults_to_false(self):
        r = self.server.api("POST", "/admin/groups/", {"name": "grp_default",
                                                       "description": "d",
                                                       "sourceType": "LOCAL"})
        self.assertStatus(r, 200)
        self.assertIs(self.server.api("GET", "/admin/groups/grp_default").json["admin"], False)

    def test_duplicate_is_conflict(self):
        self.server.create_group("grp_dup", description="first")
        r = self.server.api("POST", "/admin/groups/", {"name": "grp_dup", "description": "x",
                                                       "sourceType": "LOCAL", "admin": True})
        self.assertError(r, 409, "Conflict", mentions="grp_dup")
        got = self.server.api("GET", "/admin/groups/grp_dup").json
        self.assertEqual(got["description"], "first")
        self.assertIs(got["admin"], False)

    def test_invalid_bodies_are_bad_request(self):
        for label, body, field in (
                ("missing name", {"description": "x"}, "name"),
                ("empty name", {"name": ""}, "name"),
                ("name with a space", {"name": "bad name"}, "name"),
                ("name not a string", {"name": 5}, "name"),
                ("admin not a bool", {"name": "grp_badadmin", "admin": "yes"}, "admin")):
            with self.subTest(case=label):
                r = self.server.api("POST", "/admin/groups/", body)
                self.assertError(r, 400, "BadRequest", mentions=field)
        self.assertError(self.server.api("GET", "/admin/groups/grp_badadmin"),
                         404, "NotFound")
        self.assertError(self.server.api("POST", "/admin/groups/", raw_body=b'{"name":'),
                         400, "BadRequest")

    def test_put_updates(self):
        self.server.create_group("grp_put", description="before")
        g = self.server.api("GET", "/admin/groups/grp_put").json
        g["description"] = "after"
        g["admin"] = True
        self.assertStatus(self.server.api("PUT", "/admin/groups/grp_put", g), 200)
        got = self.server.api("GET", "/admin/groups/grp_put").json
        self.assertEqual(got["description"], "after")
        self.assertIs(got["admin"], True)

    def test_unknown_group_is_not_found(self):
        for method, body in (("GET", None), ("PUT", {"name": "grp_ghost", "description": ""}),
                             ("DELETE", None)):
            with self.subTest(method=method):
                self.assertError(self.server.api(method, "/admin/groups/grp_ghost", body),
                                 404, "NotFound", mentions="grp_ghost")

    def test_delete(self):
        self.server.create_group("grp_del")
        r = self.server.api("DELETE", "/admin/groups/grp_del")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})
        self.assertError(self.server.api("GET", "/admin/groups/grp_del"), 404, "NotFound")
        self.assertNotIn("grp_del", [g["name"] for g in
                                     self.server.api("GET", "/admin/groups/").json])
        self.assertError(self.server.api("DELETE", "/admin/groups/grp_del"), 404, "NotFound")

    def test_client_create_group(self):
        client = DSSClient(self.server.base_url, self.server.admin_key)
        try:
            group = client.create_group("grp_client", "made by the client", "LOCAL")
            self.assertEqual(group.name, "grp_client")
            got = group.get_definition()
            self.assertEqual(got["name"], "grp_client")
            self.assertEqual(got["description"], "made by the client")
            self.assertEqual(got["sourceType"], "LOCAL")
            self.assertIs(got["admin"], False)
            client.create_group("grp_client_defaults")  # description None, LOCAL
            self.assertIn("grp_client_defaults", [g["name"] for g in client.list_groups()])
            with self.assertRaises(DataikuException) as cm:
                client.create_group("grp_client")
            self.assertTrue(str(cm.exception).startswith("Conflict: "), str(cm.exception))
        finally:
            client.close()


class UsersTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_group("data_team")
        cls.server.create_group("other_team")
        cls.server.create_group("usr_admins", admin=True)

    def user_body(self, login, **over):
        body = {"login": login, "password": "pw-" + random_key(20), "displayName": "Name",
                "sourceType": "LOCAL", "groups": ["data_team"], "userProfile": "READER",
                "email": "%s@example.com" % (login,)}
        self.server.remember_secret(body["password"])
        body.update(over)
        return body

    def get_user(self, login):
        r = self.server.api("GET", "/admin/users/" + login)
        self.assertStatus(r, 200)
        return r.json

    def test_create_answer_get_and_list(self):
        body = self.user_body("usr_full", displayName="Full Name", groups=["data_team",
                                                                          "other_team"])
        r = self.server.api("POST", "/admin/users/", body)
        self.assertStatus(r, 200)
        self.assertNotIn("password", r.json)
        self.assertNoSecret(r.raw, body["password"], "the create answer")
        got = self.get_user("usr_full")
        self.assertEqual(set(got), SETTINGS_FIELDS)
        for field in ("login", "displayName", "sourceType", "groups", "userProfile", "email"):
            self.assertEqual(got[field], body[field], field)
        self.assertIs(got["enabled"], True)
        self.assertEqual((got["credentials"], got["secrets"], got["adminProperties"],
                          got["userProperties"]), ({}, [], {}, {}))
        self.assertEqual(got["preferences"], DEFAULT_PREFERENCES)
        self.assertIsInstance(got["creationDate"], int)
        listed = [u for u in self.server.api("GET", "/admin/users/").json
                  if u["login"] == "usr_full"]
        self.assertEqual(len(listed), 1)
        self.assertEqual(set(listed[0]), LIST_FIELDS)
        self.assertSameJson(listed[0], {k: got[k] for k in LIST_FIELDS}, "list item")

    def test_duplicate_login_is_conflict(self):
        self.assertStatus(self.server.api("POST", "/admin/users/",
                                          self.user_body("usr_dup", displayName="First")), 200)
        r = self.server.api("POST", "/admin/users/", self.user_body("usr_dup",
                                                                    displayName="Second"))
        self.assertError(r, 409, "Conflict", mentions="usr_dup")
        self.assertEqual(self.get_user("usr_dup")["displayName"], "First")

    def test_bad_login_is_bad_request(self):
        for label, login in (("empty", ""), ("space", "has space"), ("slash", "a/b"),
                             ("semicolon", "semi;colon"), ("leading dot", ".hidden"),
                             ("too long", "x" * 129), ("number", 5), ("null", None)):
            with self.subTest(login=label):
                r = self.server.api("POST", "/admin/users/", self.user_body(login))
                self.assertError(r, 400, "BadRequest", mentions="login")
        body = self.user_body("usr_missing")
        del body["login"]
        self.assertError(self.server.api("POST", "/admin/users/", body), 400, "BadRequest",
                         mentions="login")

    def test_wrong_field_types_are_bad_request(self):
        for field, value in (("groups", "data_team"), ("groups", [1]), ("password", 5),
                             ("displayName", 3)):
            with self.subTest(field=field, value=value):
                r = self.server.api("POST", "/admin/users/",
                                    self.user_body("usr_badtype", **{field: value}))
                self.assertError(r, 400, "BadRequest", mentions=field)
        self.assertError(self.server.api("GET", "/admin/users/usr_badtype"), 404, "NotFound")

    def test_unknown_user_is_not_found(self):
        for method, body in (("GET", None), ("PUT", {"login": "usr_ghost"}),
                             ("DELETE", None)):
            with self.subTest(method=method):
                r = self.server.api(method, "/admin/users/usr_ghost", body)
                self.assertError(r, 404, "NotFound", mentions="usr_ghost")

    def test_put_whole_settings(self):
        self.server.create_user("usr_put", groups=["data_team"])
        key = self.server.create_personal_key("usr_put")["key"]
        s = self.get_user("usr_put")
        s.update(displayName="Changed", email="changed@example.com", groups=["other_team"],
                 userProfile="DESIGNER", adminProperties={"cost_center": "42"},
                 userProperties={"team": "x"}, preferences={"uiLanguage": "fr"})
        r = self.server.api("PUT", "/admin/users/usr_put", s)
        self.assertStatus(r, 200)
        got = self.get_user("usr_put")
        for field in ("displayName", "email", "groups", "userProfile", "adminProperties",
                      "userProperties"):
            self.assertEqual(got[field], s[field], field)
        self.assertEqual(got["preferences"], dict(DEFAULT_PREFERENCES, uiLanguage="fr"))
        self.assertEqual(got["creationDate"], s["creationDate"])
        self.assertEqual(self.server.auth_info(key=key)["groups"], ["other_team"])

    def test_delete(self):
        self.server.create_user("usr_del")
        r = self.server.api("DELETE", "/admin/users/usr_del")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})
        self.assertError(self.server.api("GET", "/admin/users/usr_del"), 404, "NotFound")
        self.assertNotIn("usr_del", [u["login"] for u in
                                     self.server.api("GET", "/admin/users/").json])
        self.assertError(self.server.api("DELETE", "/admin/users/usr_del"), 404, "NotFound")

    def test_self_deletion_needs_allow_self_deletion_true(self):
        key = self.server.user_with_key("usr_selfdel", groups=["usr_admins"])
        for query in ("", "?allowSelfDeletion=false"):
            with self.subTest(query=query):
                r = self.server.api("DELETE", "/admin/users/usr_selfdel" + query, key=key)
                self.assertError(r, 400, "BadRequest")
                self.assertStatus(self.server.api("GET", "/auth/info", key=key), 200)
        r = self.server.api("DELETE", "/admin/users/usr_selfdel?allowSelfDeletion=true",
                            key=key)
        self.assertStatus(r, 200)
        self.assertError(self.server.api("GET", "/auth/info", key=key), 401, "Unauthorized")
        self.assertError(self.server.api("GET", "/admin/users/usr_selfdel"), 404, "NotFound")

    def test_client_self_deletion_with_its_boolean_parameter(self):
        """The client sends allowSelfDeletion=False / =True (Python's str of a bool)."""
        key = self.server.user_with_key("usr_selfdel2", groups=["usr_admins"])
        client = DSSClient(self.server.base_url, key)
        try:
            with self.assertRaises(DataikuException) as cm:
                client.get_user("usr_selfdel2").delete()
            self.assertTrue(str(cm.exception).startswith("BadRequest: "), str(cm.exception))
            client.get_user("usr_selfdel2").delete(allow_self_deletion=True)
        finally:
            client.close()
        self.assertError(self.server.api("GET", "/admin/users/usr_selfdel2"), 404, "NotFound")

    def test_admin_deletes_another_user_without_the_flag(self):
        self.server.create_user("usr_victim")
        admin_user_key = self.server.user_with_key("usr_deleter", groups=["usr_admins"])
        r = self.server.api("DELETE", "/admin/users/usr_victim", key=admin_user_key)
        self.assertStatus(r, 200)

    def test_client_create_user_and_get_settings(self):
        client = DSSClient(self.server.base_url, self.server.admin_key)
        password = "pw-" + random_key(20)
        self.server.remember_secret(password)
        try:
            user = client.create_user("usr_client", password, "Client Made", "LOCAL",
                                      ["data_team"], "DATA_SCIENTIST")
            self.assertEqual(user.login, "usr_client")
            raw = user.get_settings().get_raw()
            self.assertEqual(raw["displayName"], "Client Made")
            self.assertEqual(raw["groups"], ["data_team"])
            self.assertEqual(raw["userProfile"], "DATA_SCIENTIST")
            self.assertEqual(raw["sourceType"], "LOCAL")
            self.assertNotIn("password", raw)
            client.create_user("usr_client_defaults", password)
            got = self.get_user("usr_client_defaults")
            self.assertEqual(got["groups"], [])
            self.assertEqual(got["sourceType"], "LOCAL")
            with self.assertRaises(DataikuException) as cm:
                client.create_user("usr_client", password)
            self.assertTrue(str(cm.exception).startswith("Conflict: "), str(cm.exception))
            self.assertNoSecret(str(cm.exception), password, "the conflict message")
        finally:
            client.close()


class PersonalKeysAdminTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.create_group("data_team")
        cls.server.create_user("pk_ana", groups=["data_team"])

    def test_client_create_personal_api_key_for_user(self):
        client = DSSClient(self.server.base_url, self.server.admin_key)
        try:
            created = client.create_personal_api_key_for_user("pk_ana", "laptop", "for tests",
                                                             as_type="dict")
        finally:
            client.close()
        self.server.remember_secret(created["key"])
        self.assertEqual(set(created), PERSONAL_KEY_FIELDS | {"key", "expiresOn"})
        self.assertEqual(created["user"], "pk_ana")
        self.assertEqual(created["label"], "laptop")
        self.assertEqual(created["description"], "for tests")
        self.assertGreaterEqual(len(created["key"]), 32)
        self.assertNotIn(created["key"], created["id"])
        self.assertIsInstance(created["createdOn"], int)
        self.assertTrue(created["createdBy"])
        user = DSSClient(self.server.base_url, created["key"])
        try:
            info = user.get_auth_info()
        finally:
            user.close()
        self.assertEqual(info, {"authIdentifier": "pk_ana", "principalType": "USER",
                                "groups": ["data_team"], "admin": False})
        r = self.server.api("GET", "/admin/personal-api-keys/")
        self.assertStatus(r, 200)
        listed = [k for k in r.json if k["id"] == created["id"]]
        self.assertEqual(len(listed), 1)
        self.assertSameJson({k: v for k, v in listed[0].items() if k != "key"},
                            {k: v for k, v in created.items() if k != "key"}, "list item")
        self.assertKeyHint(listed[0], created["key"])
        for item in r.json:
            self.assertKeyHint(item)
        self.assertNoSecret(r.raw, created["key"], "the admin key list")

    def test_each_personal_key_is_different(self):
        a = self.server.create_personal_key("pk_ana", label="a")
        b = self.server.create_personal_key("pk_ana", label="b")
        self.assertNotEqual(a["id"], b["id"])
        self.assertFalse(a["key"] == b["key"], "two personal keys are equal")

    def test_key_for_unknown_or_missing_user_is_refused(self):
        r = self.server.api("POST", "/admin/personal-api-keys/",
                            {"user": "pk_ghost", "label": "x", "description": ""})
        self.assertError(r, 400, "BadRequest")
        self.assertIn("pk_ghost", r.json["detailedMessage"])
        r = self.server.api("POST", "/admin/personal-api-keys/", {"label": "x"})
        self.assertError(r, 400, "BadRequest", mentions="user")
        r = self.server.api("POST", "/admin/personal-api-keys/", {"user": 5, "label": "x"})
        self.assertError(r, 400, "BadRequest", mentions="user")

    def test_unknown_personal_key_id_is_not_found(self):
        for method, body in (("GET", None), ("PUT", {"label": "x", "description": ""}),
                             ("DELETE", None)):
            with self.subTest(method=method):
                self.assertError(self.server.api(method, "/personal-api-keys/no-such-id", body),
                                 404, "NotFound")

    def test_user_created_key_appears_in_admin_list(self):
        key = self.server.create_personal_key("pk_ana")["key"]
        client = DSSClient(self.server.base_url, key)
        try:
            created = client.create_personal_api_key("self-made", "")
            self.server.remember_secret(created["key"])
            own = client.list_personal_api_keys()
        finally:
            client.close()
        self.assertIn(created["id"], [k["id"] for k in own])
        admin_ids = [k["id"] for k in self.server.api("GET", "/admin/personal-api-keys/").json]
        self.assertIn(created["id"], admin_ids)


class CurrentUserTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_group("data_team")
        s.create_group("cu_admins", admin=True)
        cls.key = s.user_with_key("cu_ana", groups=["data_team"])
        cls.global_key = s.create_key(admin=False, groups=["data_team"])["key"]

    def own(self):
        r = self.server.api("GET", "/current-user", key=self.key)
        self.assertStatus(r, 200)
        return r.json

    def test_get_returns_own_settings(self):
        own = self.own()
        self.assertEqual(own["login"], "cu_ana")
        self.assertSameJson(own, self.server.api("GET", "/admin/users/cu_ana").json,
                            "GET /current-user vs the admin view")
        self.assertNotIn("password", own)

    def test_global_keys_get_forbidden(self):
        for key in (self.global_key, self.server.admin_key):
            for method, body in (("GET", None), ("PUT", {"displayName": "x"})):
                with self.subTest(method=method, admin=key == self.server.admin_key):
                    self.assertError(self.server.api(method, "/current-user", body, key=key),
                                     403, "Forbidden")

    def test_put_unchanged_is_accepted(self):
        before = self.own()
        r = self.server.api("PUT", "/current-user", before, key=self.key)
        self.assertStatus(r, 200)
        self.assertSameJson(self.own(), before, "after an unchanged PUT")

    def test_user_may_change_own_editable_fields(self):
        s = self.own()
        s["displayName"] = "Ana Changed"
        s["email"] = "ana.changed@example.com"
        s["preferences"] = {"uiLanguage": "de", "n": 3}
        s["userProperties"] = {"favourite": "pg"}
        r = self.server.api("PUT", "/current-user", s, key=self.key)
        self.assertStatus(r, 200)
        got = self.server.api("GET", "/admin/users/cu_ana").json
        for field in ("displayName", "email", "userProperties"):
            self.assertEqual(got[field], s[field], field)
        self.assertEqual(got["preferences"], dict(DEFAULT_PREFERENCES, uiLanguage="de", n=3))

    def test_client_own_user_flow(self):
        client = DSSClient(self.server.base_url, self.key)
        try:
            settings = client.get_own_user().get_settings()
            settings.user_properties["from_client"] = "yes"
            settings.save()
            self.assertEqual(client.get_own_user().get_settings().user_properties["from_client"],
                             "yes")
        finally:
            client.close()

    def test_forbidden_changes_are_refused_and_change_nothing(self):
        for field, value in (("groups", ["data_team", "cu_admins"]), ("groups", []),
                             ("enabled", False), ("adminProperties", {"quota": "unlimited"})):
            with self.subTest(field=field, value=value):
                before = self.server.api("GET", "/admin/users/cu_ana").json
                s = json.loads(json.dumps(before))
                s[field] = value
                s["displayName"] = "should not stick"
                s["userProperties"] = {"should": "not stick"}
                r = self.server.api("PUT", "/current-user", s, key=self.key)
                self.assertError(r, 403, "Forbidden", mentions=field)
                self.assertSameJson(self.server.api("GET", "/admin/users/cu_ana").json, before,
                                    "settings after a refused PUT")
                info = self.server.auth_info(key=self.key)
                self.assertEqual(info["groups"], ["data_team"])
                self.assertIs(info["admin"], False)


class ClientCallsTest(ServerTestCase):
    """The calls of the issue as a script would make them through the client."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.admin = DSSClient(s.base_url, s.admin_key)
        cls.admin.create_group("data_team", "the data team", "LOCAL")
        cls.admin.create_group("other_team", "others", "LOCAL")
        cls.ana_password = "pw-" + random_key(20)
        s.remember_secret(cls.ana_password)
        cls.admin.create_user("cc_ana", cls.ana_password, "Ana", "LOCAL", ["data_team"],
                              "DATA_SCIENTIST")
        cls.admin.create_user("cc_bob", cls.ana_password + "b", "Bob", "LOCAL", ["other_team"],
                              "DATA_SCIENTIST")
        cls.ana_key = cls.admin.create_personal_api_key_for_user(
            "cc_ana", "k", "", as_type="dict")["key"]
        cls.bob_key = cls.admin.create_personal_api_key_for_user(
            "cc_bob", "k", "", as_type="dict")["key"]
        s.remember_secret(cls.ana_key)
        s.remember_secret(cls.bob_key)
        cls.ana = DSSClient(s.base_url, cls.ana_key)
        cls.bob = DSSClient(s.base_url, cls.bob_key)

    @classmethod
    def tearDownClass(cls):
        for c in (cls.admin, cls.ana, cls.bob):
            c.close()
        super().tearDownClass()

    def test_get_auth_info(self):
        self.assertEqual(self.ana.get_auth_info(),
                         {"authIdentifier": "cc_ana", "principalType": "USER",
                          "groups": ["data_team"], "admin": False})
        info = self.admin.get_auth_info()
        self.assertEqual(info["principalType"], "GLOBAL_API_KEY")
        self.assertIs(info["admin"], True)

    def test_get_basic_credential(self):
        pw = "pw-" + random_key(20)
        self.server.remember_secret(pw)
        self.admin.create_connection("cc_pg", "PostgreSQL",
                                     params={"host": "h", "db": "d", "user": "etl",
                                             "password": pw})
        settings = self.admin.get_connection("cc_pg").get_settings()
        settings.details_readability.set_readability(True)
        settings.save()
        cred = self.ana.get_connection("cc_pg").get_info().get_basic_credential()
        self.assertTrue(cred == {"user": "etl", "password": pw})
        self.admin.create_connection("cc_fs", "Filesystem", params={"root": "/tmp/cc_fs"})
        info = self.admin.get_connection("cc_fs").get_info()
        self.assertEqual(info.get_type(), "Filesystem")
        with self.assertRaises(ValueError):
            info.get_basic_credential()
        with self.assertRaises(ValueError):
            info.get_aws_credential()

    def test_set_readability(self):
        pw = "pw-" + random_key(20)
        self.server.remember_secret(pw)
        self.admin.create_connection("cc_read", "PostgreSQL",
                                     params={"host": "h", "user": "u", "password": pw})
        conn = self.admin.get_connection("cc_read")

        def set_to(all, *groups):
            settings = conn.get_settings()
            settings.details_readability.set_readability(all, *groups)
            settings.save()
            return conn.get_definition()["detailsReadability"]

        def status(client):
            try:
                client.get_connection("cc_read").get_info()
                return 200
            except DataikuException as e:
                return str(e).split(":")[0]

        self.assertEqual(conn.get_definition()["detailsReadability"]["readableBy"], "NONE")
        self.assertEqual((status(self.ana), status(self.bob)), ("Forbidden", "Forbidden"))

        self.assertEqual(set_to(True)["readableBy"], "ALL")
        self.assertEqual((status(self.ana), status(self.bob)), (200, 200))

        d = set_to(False, "data_team")
        self.assertEqual(d["readableBy"], "ALLOWED")
        self.assertEqual(d["allowedGroups"], ["data_team"])
        self.assertEqual((status(self.ana), status(self.bob)), (200, "Forbidden"))

        d = set_to(False, "other_team", "nobody_team")
        self.assertEqual(d, {"readableBy": "ALLOWED",
                             "allowedGroups": ["other_team", "nobody_team"]})
        self.assertEqual((status(self.ana), status(self.bob)), ("Forbidden", 200))

        self.assertEqual(set_to(False)["readableBy"], "NONE")
        self.assertEqual((status(self.ana), status(self.bob)), ("Forbidden", "Forbidden"))
        self.assertEqual(status(self.admin), 200)

    def test_user_settings_connection_credential(self):
        pw = "pw-" + random_key(20)
        self.server.remember_secret(pw)
        self.admin.create_connection("cc_pu", "PostgreSQL", params={"host": "h"})
        d = self.admin.get_connection("cc_pu").get_definition()
        d["credentialsMode"] = "PER_USER"
        d["detailsReadability"] = {"readableBy": "ALL", "allowedGroups": []}
        self.admin.get_connection("cc_pu").set_definition(d)
        with self.assertRaises(DataikuException) as cm:
            self.ana.get_connection("cc_pu").get_info()
        self.assertTrue(str(cm.exception).startswith("Forbidden: "), str(cm.exception))
        settings = self.admin.get_user("cc_ana").get_settings()
        settings.set_basic_connection_credential("cc_pu", "ana_db", pw)
        settings.save()
        cred = self.ana.get_connection("cc_pu").get_info().get_basic_credential()
        self.assertTrue(cred == {"user": "ana_db", "password": pw})
        settings = self.admin.get_user("cc_ana").get_settings()
        settings.remove_connection_credential("cc_pu")
        settings.save()
        with self.assertRaises(DataikuException):
            self.ana.get_connection("cc_pu").get_info()

    def test_global_variables(self):
        variables = self.admin.get_global_variables()
        self.assertIsInstance(variables, dict)
        variables["cc_env"] = "prod"
        variables["cc_count"] = 3
        variables.save()
        again = self.admin.get_global_variables()
        self.assertEqual(again["cc_env"], "prod")
        self.assertEqual(again["cc_count"], 3)
        del again["cc_count"]
        again["cc_env"] = "dev"
        again.save()
        self.assertEqual(self.server.api("GET", "/admin/variables/").json.get("cc_env"), "dev")
        self.assertNotIn("cc_count", self.server.api("GET", "/admin/variables").json)

    def test_variables_put_of_a_non_object_is_bad_request(self):
        before = self.server.api("GET", "/admin/variables/").json
        for label, body in (("array", []), ("string", "x"), ("number", 5), ("null", None)):
            with self.subTest(body=label):
                r = self.server.api("PUT", "/admin/variables/",
                                    raw_body=json.dumps(body).encode())
                self.assertError(r, 400, "BadRequest")
        self.assertError(self.server.api("PUT", "/admin/variables/", raw_body=b"{"),
                         400, "BadRequest")
        self.assertSameJson(self.server.api("GET", "/admin/variables/").json, before,
                            "variables after refused PUTs")

    def test_variables_are_admin_only(self):
        with self.assertRaises(DataikuException) as cm:
            self.ana.get_global_variables()
        self.assertTrue(str(cm.exception).startswith("Forbidden: "))
        r = self.server.api("PUT", "/admin/variables/", {"x": "y"}, key=self.ana_key)
        self.assertError(r, 403, "Forbidden")


if __name__ == "__main__":
    unittest.main()
