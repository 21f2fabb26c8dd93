# SPDX-License-Identifier: Apache-2.0
"""Wire-level conformance of the users area of the DSS client (issue 13, points 4-6).

Every test drives dss.py, which sends what dataikuapi sends (each call's client method is
named in a comment), checks the request on the wire against the client's source with
assertWire, and reads every field the client's classes read from the answer: DSSUser,
DSSUserSettings (and DSSUserPreferences, every key), DSSOwnUserSettings, DSSUserActivity,
DSSUserInfo, the bulk calls and get_auth_info(with_secrets=True). Calls the README lists as
out of scope (directory resync and provisioning) must answer a DSS-shaped 404 naming the
feature."""

import datetime
import json
import os
import sqlite3
import time
import unittest

from client_wire import WireMixin
from dss import PREFERENCE_KEYS, DataikuException, DSSClient, DSSUser
from server import STORE, OwnServerTestCase, ServerTestCase, random_key

INFO_FIELDS = {"login", "displayName", "email", "groups", "enabled"}
ACTIVITY_FIELDS = {"login", "enabled", "lastSuccessfulLogin", "lastFailedLogin",
                   "lastSessionActivity"}


def now_ms():
    return int(time.time() * 1000)


class UsersClientTest(ServerTestCase, WireMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_group("uc_team")
        s.create_group("uc_admins", admin=True)
        cls.admin = DSSClient(s.base_url, s.admin_key)
        cls.addClassCleanup(cls.admin.close)

    def client(self, key):
        c = DSSClient(self.server.base_url, key)
        self.addCleanup(c.close)
        return c

    def password(self):
        pw = "pw-" + random_key(20)
        self.server.remember_secret(pw)
        return pw

    # ---- create, settings, preferences --------------------------------------------------

    def test_create_user_then_settings_read_every_field(self):
        pw = self.password()
        # DSSClient.create_user: POST /admin/users/ with every argument, email None included
        user = self.admin.create_user("uc_ana", pw, "Ana", "LOCAL", ["uc_team"],
                                      "DATA_SCIENTIST")
        self.assertWire(self.admin, "POST", "/admin/users/", {
            "login": "uc_ana", "password": pw, "displayName": "Ana", "sourceType": "LOCAL",
            "groups": ["uc_team"], "userProfile": "DATA_SCIENTIST", "email": None})
        self.assertIsInstance(user, DSSUser)
        before = now_ms()
        # DSSUser.get_settings: GET /admin/users/{login}
        settings = user.get_settings()
        self.assertWire(self.admin, "GET", "/admin/users/uc_ana")
        raw = settings.get_raw()
        self.assertEqual(raw["login"], "uc_ana")
        self.assertEqual(raw["groups"], ["uc_team"])
        self.assertNotIn("password", raw)
        self.assertNotIn("passwordHash", raw)
        self.assertIs(settings.enabled, True)
        self.assertIsInstance(settings.creation_date, datetime.datetime)
        self.assertLessEqual(settings.creation_date.timestamp() * 1000, before)
        self.assertEqual(settings.admin_properties, {})
        self.assertEqual(settings.user_properties, {})
        self.assertEqual(raw["secrets"], [])
        self.assertEqual(raw["credentials"], {})
        prefs = settings.preferences
        for attr in PREFERENCE_KEYS:  # DSSUserPreferences reads each key without a guard
            with self.subTest(preference=attr):
                self.assertEqual(getattr(prefs, attr), "en" if attr == "ui_language" else True)

    def test_create_user_defaults_of_the_client(self):
        pw = self.password()
        self.admin.create_user("uc_defaults", pw)
        # DSSClient.create_user defaults: display_name '', LOCAL, groups [], DATA_SCIENTIST
        self.assertWire(self.admin, "POST", "/admin/users/", {
            "login": "uc_defaults", "password": pw, "displayName": "", "sourceType": "LOCAL",
            "groups": [], "userProfile": "DATA_SCIENTIST", "email": None})
        with self.assertRaises(DataikuException) as cm:
            self.admin.create_user("uc_defaults", pw)
        self.assertTrue(str(cm.exception).startswith("Conflict: "), str(cm.exception))

    def test_settings_save_keeps_changes_and_seals_secrets(self):
        self.admin.create_user("uc_save", self.password(), "Save", groups=["uc_team"])
        user = self.admin.get_user("uc_save")
        settings = user.get_settings()
        settings.enabled = False
        settings.admin_properties["cost"] = "42"
        settings.user_properties["team"] = "x"
        prefs = settings.preferences
        prefs.ui_language = "fr"
        for attr in PREFERENCE_KEYS:
            if attr != "ui_language":
                setattr(prefs, attr, False)
        secret, cred = "s-" + random_key(16), "c-" + random_key(16)
        self.server.remember_secret(secret)
        self.server.remember_secret(cred)
        settings.add_secret("token", secret)
        settings.set_basic_connection_credential("pg_x", "etl", cred)
        settings.set_basic_plugin_credential("plug", "ps", "pre", "p", "u", cred)
        # OAuth2 flows are out of scope, but the refresh token is stored, sealed
        settings.set_oauth2_plugin_credential("plug", "ps", "pre", "o", cred)
        # DSSUserSettings.save: PUT /admin/users/{login} with the whole settings
        settings.save()
        self.assertWire(self.admin, "PUT", "/admin/users/uc_save", settings.get_raw())
        again = user.get_settings()
        self.assertIs(again.enabled, False)
        self.assertEqual(again.admin_properties, {"cost": "42"})
        self.assertEqual(again.user_properties, {"team": "x"})
        self.assertEqual(again.preferences.ui_language, "fr")
        for attr in PREFERENCE_KEYS:
            if attr != "ui_language":
                self.assertIs(getattr(again.preferences, attr), False, attr)
        raw = again.get_raw()
        self.assertEqual([s["name"] for s in raw["secrets"]], ["token"])
        self.assertTrue(raw["secrets"][0]["value"].startswith("e:"))
        self.assertTrue(raw["credentials"]["pg_x"]["password"].startswith("e:"))
        plugin = '"PLUGIN", "plug", "ps", "pre", "p"'
        self.assertTrue(raw["credentials"][plugin]["password"].startswith("e:"))
        oauth = raw["credentials"]['"PLUGIN", "plug", "ps", "pre", "o"']
        self.assertEqual(oauth["type"], "OAUTH_REFRESH_TOKEN")
        self.assertTrue(oauth["refreshToken"].startswith("e:"))
        self.assertEqual(self.server.find_plaintexts([secret, cred]), [])
        # remove_secret / remove_connection_credential / remove_plugin_credential, saved
        again.remove_secret("token")
        again.remove_connection_credential("pg_x")
        again.remove_plugin_credential("plug", "ps", "pre", "p")
        again.remove_plugin_credential("plug", "ps", "pre", "o")
        again.save()
        raw = user.get_settings().get_raw()
        self.assertEqual((raw["secrets"], raw["credentials"]), ([], {}))

    def test_legacy_definition_calls(self):
        self.admin.create_user("uc_legacy", self.password(), "Legacy")
        user = self.admin.get_user("uc_legacy")
        # DSSUser.get_definition: GET /admin/users/{login}
        d = user.get_definition()
        self.assertWire(self.admin, "GET", "/admin/users/uc_legacy")
        d["displayName"] = "Legacy Changed"
        d["groups"] = ["uc_team"]
        # DSSUser.set_definition: PUT /admin/users/{login}, answer parsed as JSON
        answer = user.set_definition(d)
        self.assertWire(self.admin, "PUT", "/admin/users/uc_legacy", d)
        self.assertEqual(answer["displayName"], "Legacy Changed")
        self.assertEqual(user.get_definition()["groups"], ["uc_team"])

    def test_delete_user(self):
        self.admin.create_user("uc_gone", self.password())
        key = self.server.create_personal_key("uc_gone")["key"]
        # DSSUser.delete: DELETE /admin/users/{login}?allowSelfDeletion=False, answer ignored
        self.assertIsNone(self.admin.get_user("uc_gone").delete())
        self.assertWire(self.admin, "DELETE", "/admin/users/uc_gone?allowSelfDeletion=False")
        with self.assertRaises(DataikuException) as cm:
            self.admin.get_user("uc_gone").get_settings()
        self.assertTrue(str(cm.exception).startswith("NotFound: "))
        with self.assertRaises(DataikuException) as cm:
            self.client(key).get_auth_info()
        self.assertTrue(str(cm.exception).startswith("Unauthorized: "))

    # ---- list_users ------------------------------------------------------------------------

    def test_list_users_plain_with_settings_and_as_objects(self):
        self.admin.create_user("uc_list", self.password(), "Listed", groups=["uc_team"])
        # DSSClient.list_users: GET /admin/users/?includeSettings=False
        plain = self.admin.list_users()
        self.assertWire(self.admin, "GET", "/admin/users/?includeSettings=False")
        entry = [u for u in plain if u["login"] == "uc_list"][0]
        self.assertNotIn("preferences", entry)
        self.assertNotIn("passwordHash", entry)
        self.assertEqual(entry["groups"], ["uc_team"])
        # list_users(include_settings=True): each user with the settings of get_settings
        full = self.admin.list_users(include_settings=True)
        self.assertWire(self.admin, "GET", "/admin/users/?includeSettings=True")
        entry = [u for u in full if u["login"] == "uc_list"][0]
        self.assertEqual(entry, self.admin.get_user("uc_list").get_settings().get_raw())
        self.assertEqual(set(entry["preferences"]), set(PREFERENCE_KEYS.values()))
        for u in full:
            self.assertNotIn("passwordHash", u)
        objects = self.admin.list_users(as_objects=True)
        self.assertIn("uc_list", [u.login for u in objects])
        self.assertTrue(all(isinstance(u, DSSUser) for u in objects))

    def test_admin_calls_refuse_non_admins(self):
        key = self.server.user_with_key("uc_plain", groups=["uc_team"])
        plain = self.client(key)
        for label, call in (
                ("list_users", lambda: plain.list_users()),
                ("list_users_activity", lambda: plain.list_users_activity()),
                ("get_activity", lambda: plain.get_user("uc_plain").get_activity()),
                ("get_authorization_matrix", lambda: plain.get_authorization_matrix()),
                ("create_users", lambda: plain.create_users([{"login": "uc_nope"}])),
                ("edit_users", lambda: plain.edit_users([{"login": "uc_plain"}])),
                ("delete_users", lambda: plain.delete_users(["uc_plain"]))):
            with self.subTest(call=label):
                with self.assertRaises(DataikuException) as cm:
                    call()
                self.assertTrue(str(cm.exception).startswith("Forbidden: "), str(cm.exception))
        self.assertEqual(self.server.api("GET", "/admin/users/uc_nope").status, 404)

    # ---- get_info, list_users_info (no admin needed) ---------------------------------------

    def test_get_info_and_list_users_info_for_any_user(self):
        self.admin.create_user("uc_info", self.password(), "Info Person", groups=["uc_team"],
                               email="info@example.com")
        key = self.server.user_with_key("uc_reader")
        reader = self.client(key)
        # DSSUser.get_info: GET /users/{login}
        info = reader.get_user("uc_info").get_info()
        self.assertWire(reader, "GET", "/users/uc_info")
        self.assertEqual((info.login, info.display_name, info.groups, info.email, info.enabled),
                         ("uc_info", "Info Person", ["uc_team"], "info@example.com", True))
        self.assertLessEqual(INFO_FIELDS, set(info.get_raw()))
        for private in ("credentials", "secrets", "adminProperties", "passwordHash"):
            self.assertNotIn(private, info.get_raw())
        # DSSClient.list_users_info: GET /users
        listed = reader.list_users_info()
        self.assertWire(reader, "GET", "/users")
        mine = [u for u in listed if u.login == "uc_info"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].get_raw(), info.get_raw())
        with self.assertRaises(DataikuException) as cm:
            reader.get_user("uc_nobody").get_info()
        self.assertTrue(str(cm.exception).startswith("NotFound: "))

    # ---- get_auth_info -------------------------------------------------------------------

    def test_auth_info_with_secrets_gives_own_secrets_and_is_audited(self):
        key = self.server.user_with_key("uc_secret", groups=["uc_team"])
        me = self.client(key)
        secret = "own-" + random_key(16)
        self.server.remember_secret(secret)
        # DSSOwnUser.get_settings: GET /current-user; DSSOwnUserSettings.save: PUT, no answer
        settings = me.get_own_user().get_settings()
        self.assertWire(me, "GET", "/current-user")
        settings.add_secret("api_token", secret)
        settings.save()
        self.assertWire(me, "PUT", "/current-user", settings.get_raw())
        # DSSClient.get_auth_info: GET /auth/info?withSecrets=False
        info = me.get_auth_info()
        self.assertWire(me, "GET", "/auth/info?withSecrets=False")
        self.assertEqual((info["authIdentifier"], info["principalType"], info["groups"]),
                         ("uc_secret", "USER", ["uc_team"]))
        self.assertNotIn("secrets", info)
        # get_auth_info(with_secrets=True): the caller's own secrets, decrypted
        info = me.get_auth_info(with_secrets=True)
        self.assertWire(me, "GET", "/auth/info?withSecrets=True")
        self.assertEqual(info["secrets"], [{"key": "api_token", "value": secret}])
        audit = self.server.api("GET", "/admin/audit?limit=50").json
        reads = [a for a in audit if a["action"] == "user.secrets.read"
                 and a["object"] == "uc_secret"]
        self.assertEqual([a["outcome"] for a in reads], ["success"])
        self.assertNotIn(secret, str(audit))
        # a global key has no secrets of its own
        self.assertEqual(self.admin.get_auth_info(with_secrets=True)["secrets"], [])

    # ---- activity ------------------------------------------------------------------------

    def test_activity_tracks_real_authentications(self):
        self.admin.create_user("uc_act", self.password(), groups=["uc_team"])
        key = self.server.create_personal_key("uc_act")["key"]
        user = self.admin.get_user("uc_act")
        # DSSUser.get_activity: GET /admin/users/{login}/activity
        fresh = user.get_activity()
        self.assertWire(self.admin, "GET", "/admin/users/uc_act/activity")
        self.assertEqual(set(fresh.get_raw()), ACTIVITY_FIELDS)
        self.assertEqual((fresh.last_successful_login, fresh.last_failed_login,
                          fresh.last_session_activity), (None, None, None))
        before = now_ms()
        self.client(key).get_auth_info()
        after = now_ms()
        seen = user.get_activity()
        self.assertLessEqual(before, seen.get_raw()["lastSuccessfulLogin"])
        self.assertLessEqual(seen.get_raw()["lastSuccessfulLogin"], after)
        self.assertIsInstance(seen.last_successful_login, datetime.datetime)
        self.assertIsNone(seen.last_failed_login)
        # a refused authentication of the user's key (the user is disabled) is a failure
        settings = user.get_settings()
        settings.enabled = False
        settings.save()
        with self.assertRaises(DataikuException):
            self.client(key).get_auth_info()
        failed = user.get_activity()
        self.assertIsInstance(failed.last_failed_login, datetime.datetime)
        self.assertGreaterEqual(failed.get_raw()["lastFailedLogin"],
                                seen.get_raw()["lastSuccessfulLogin"])
        self.assertIs(failed.get_raw()["enabled"], False)
        # DSSClient.list_users_activity: GET /admin/users-activity?enabledUsersOnly=False
        every = self.admin.list_users_activity()
        self.assertWire(self.admin, "GET", "/admin/users-activity?enabledUsersOnly=False")
        mine = [a for a in every if a.login == "uc_act"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].get_raw(), failed.get_raw())
        enabled_only = self.admin.list_users_activity(enabled_users_only=True)
        self.assertWire(self.admin, "GET", "/admin/users-activity?enabledUsersOnly=True")
        self.assertNotIn("uc_act", [a.login for a in enabled_only])
        with self.assertRaises(DataikuException) as cm:
            self.admin.get_user("uc_nobody").get_activity()
        self.assertTrue(str(cm.exception).startswith("NotFound: "))

    def test_activity_of_a_recreated_login_starts_afresh(self):
        self.admin.create_user("uc_again", self.password())
        key = self.server.create_personal_key("uc_again")["key"]
        self.client(key).get_auth_info()
        self.assertIsNotNone(self.admin.get_user("uc_again").get_activity().last_successful_login)
        self.admin.get_user("uc_again").delete()
        time.sleep(0.01)
        self.admin.create_user("uc_again", self.password())
        self.assertIsNone(self.admin.get_user("uc_again").get_activity().last_successful_login)

    # ---- bulk ------------------------------------------------------------------------------

    def test_create_users_fills_defaults_and_reports_each_user(self):
        self.admin.create_user("uc_bulk_exists", self.password())
        pw = self.password()
        users = [{"login": "uc_bulk_a", "password": pw, "email": "a@example.com"},
                 {"login": "uc_bulk_b", "groups": None, "displayName": "B"},
                 {"login": "uc_bulk_exists"},
                 {"login": "bad login"},
                 {"login": "uc_bulk_a"}]
        # DSSClient.create_users: setdefault of six keys in place, then POST .../actions/bulk
        statuses = self.admin.create_users(users)
        self.assertWire(self.admin, "POST", "/admin/users/actions/bulk", [
            {"login": "uc_bulk_a", "password": pw, "email": "a@example.com", "displayName": "",
             "sourceType": "LOCAL", "groups": [], "userProfile": "DATA_SCIENTIST"},
            {"login": "uc_bulk_b", "groups": [], "displayName": "B", "sourceType": "LOCAL",
             "userProfile": "DATA_SCIENTIST", "email": None},
            {"login": "uc_bulk_exists", "displayName": "", "sourceType": "LOCAL", "groups": [],
             "userProfile": "DATA_SCIENTIST", "email": None},
            {"login": "bad login", "displayName": "", "sourceType": "LOCAL", "groups": [],
             "userProfile": "DATA_SCIENTIST", "email": None},
            {"login": "uc_bulk_a", "displayName": "", "sourceType": "LOCAL", "groups": [],
             "userProfile": "DATA_SCIENTIST", "email": None}])
        self.assertEqual([(s["login"], s["status"]) for s in statuses], [
            ("uc_bulk_a", "SUCCESS"), ("uc_bulk_b", "SUCCESS"), ("uc_bulk_exists", "FAILURE"),
            ("bad login", "FAILURE"), ("uc_bulk_a", "FAILURE")])
        self.assertEqual(statuses[0]["error"], "")
        self.assertIn("exists", statuses[2]["error"])
        self.assertIn("login", statuses[3]["error"])
        self.assertIn("more than once", statuses[4]["error"])
        a = self.admin.get_user("uc_bulk_a").get_settings().get_raw()
        self.assertEqual((a["email"], a["sourceType"], a["userProfile"], a["groups"]),
                         ("a@example.com", "LOCAL", "DATA_SCIENTIST", []))
        self.assertNotIn(pw, str(a))
        self.assertEqual(self.admin.get_user("uc_bulk_b").get_settings().get_raw()["displayName"],
                         "B")
        audit = self.server.api("GET", "/admin/audit?limit=100").json
        created = {a["object"] for a in audit if a["action"] == "user.create"}
        self.assertLessEqual({"uc_bulk_a", "uc_bulk_b"}, created)
        self.assertNotIn("bad login", created)

    def test_edit_users_changes_only_what_is_named(self):
        self.admin.create_user("uc_edit_a", self.password(), "A", groups=["uc_team"],
                               email="a@example.com")
        self.admin.create_user("uc_edit_b", self.password(), "B")
        changes = [{"login": "uc_edit_a", "displayName": "A2", "groups": []},
                   {"login": "uc_edit_b", "enabled": False,
                    "preferences": {"uiLanguage": "ja"}},
                   {"login": "uc_edit_ghost", "displayName": "x"},
                   {"login": "uc_edit_a", "enabled": "no"}]
        # DSSClient.edit_users: PUT /admin/users/actions/bulk with the list as given
        statuses = self.admin.edit_users(changes)
        self.assertWire(self.admin, "PUT", "/admin/users/actions/bulk", changes)
        self.assertEqual([s["status"] for s in statuses],
                         ["SUCCESS", "SUCCESS", "FAILURE", "FAILURE"])
        self.assertIn("uc_edit_ghost", statuses[2]["error"])
        a = self.admin.get_user("uc_edit_a").get_settings()
        self.assertEqual((a.get_raw()["displayName"], a.get_raw()["groups"],
                          a.get_raw()["email"], a.enabled), ("A2", [], "a@example.com", True))
        b = self.admin.get_user("uc_edit_b").get_settings()
        self.assertIs(b.enabled, False)
        self.assertEqual(b.preferences.ui_language, "ja")
        self.assertIs(b.preferences.mention_emails, True)

    def test_edit_users_round_trip_of_list_users_with_settings(self):
        # the workflow edit_users documents: list_users(include_settings=True), change, apply
        self.admin.create_user("uc_rt", self.password(), "RT")
        secret = "rt-" + random_key(16)
        self.server.remember_secret(secret)
        s = self.admin.get_user("uc_rt").get_settings()
        s.add_secret("k", secret)
        s.save()
        sealed = self.admin.get_user("uc_rt").get_settings().get_raw()["secrets"][0]["value"]
        mine = [u for u in self.admin.list_users(include_settings=True) if u["login"] == "uc_rt"]
        mine[0]["displayName"] = "RT changed"
        statuses = self.admin.edit_users(mine)
        self.assertEqual(statuses, [{"login": "uc_rt", "status": "SUCCESS", "error": ""}])
        got = self.admin.get_user("uc_rt").get_settings().get_raw()
        self.assertEqual(got["displayName"], "RT changed")
        self.assertEqual(got["secrets"][0]["value"], sealed)  # not sealed twice

    def test_delete_users_and_self_deletion(self):
        for login in ("uc_del_a", "uc_del_b"):
            self.admin.create_user(login, self.password())
        key_a = self.server.create_personal_key("uc_del_a")["key"]
        # DSSClient.delete_users: DELETE .../actions/bulk?allowSelfDeletion=False with a body
        statuses = self.admin.delete_users(["uc_del_a", "uc_del_b", "uc_del_ghost"])
        self.assertWire(self.admin, "DELETE", "/admin/users/actions/bulk?allowSelfDeletion=False",
                        ["uc_del_a", "uc_del_b", "uc_del_ghost"])
        self.assertEqual([(s["login"], s["status"]) for s in statuses], [
            ("uc_del_a", "SUCCESS"), ("uc_del_b", "SUCCESS"), ("uc_del_ghost", "FAILURE")])
        self.assertEqual(self.server.api("GET", "/admin/users/uc_del_a").status, 404)
        self.assertEqual(self.server.api("GET", "/auth/info", key=key_a).status, 401)
        # an admin user deleting themselves needs allow_self_deletion
        self.admin.create_user("uc_del_me", self.password(), groups=["uc_admins"])
        me = self.client(self.server.create_personal_key("uc_del_me")["key"])
        statuses = me.delete_users(["uc_del_me"])
        self.assertEqual(statuses[0]["status"], "FAILURE")
        self.assertIn("allowSelfDeletion", statuses[0]["error"])
        statuses = me.delete_users(["uc_del_me"], allow_self_deletion=True)
        self.assertWire(me, "DELETE", "/admin/users/actions/bulk?allowSelfDeletion=True",
                        ["uc_del_me"])
        self.assertEqual(statuses[0]["status"], "SUCCESS")

    def test_bulk_bodies_that_are_not_lists_are_bad_requests(self):
        for method in ("POST", "PUT", "DELETE"):
            with self.subTest(method=method):
                r = self.server.api(method, "/admin/users/actions/bulk", {"login": "x"})
                self.assertError(r, 400, "BadRequest", mentions="array")
        r = self.server.api("DELETE", "/admin/users/actions/bulk", [5])
        self.assertStatus(r, 200)
        self.assertEqual(r.json[0]["status"], "FAILURE")

    def test_list_expired_trial_users_is_empty(self):
        # DSSClient.list_expired_trial_users: GET /admin/list-trial-expired-users (no trials)
        self.assertEqual(self.admin.list_expired_trial_users(), [])
        self.assertWire(self.admin, "GET", "/admin/list-trial-expired-users")

    # ---- authorization matrix ------------------------------------------------------------

    def test_authorization_matrix(self):
        s = self.server
        s.create_group("uc_mx")
        s.create_connection("uc_mx_all")
        s.create_connection("uc_mx_team", usableBy="ALLOWED", allowedGroups=["uc_mx"],
                            detailsReadability={"readableBy": "ALLOWED",
                                                "allowedGroups": ["uc_mx"]})
        self.admin.create_user("uc_mx_user", self.password(), groups=["uc_mx"])
        self.admin.create_user("uc_mx_boss", self.password(), groups=["uc_admins"])
        self.admin.create_user("uc_mx_off", self.password(), groups=["uc_mx"])
        off = self.admin.get_user("uc_mx_off").get_settings()
        off.enabled = False
        off.save()
        # DSSClient.get_authorization_matrix: GET /admin/authorization-matrix; .raw
        matrix = self.admin.get_authorization_matrix().raw
        self.assertWire(self.admin, "GET", "/admin/authorization-matrix")
        self.assertEqual(set(matrix), {"perUser", "perGroup"})
        team = matrix["perGroup"]["uc_mx"]
        self.assertIs(team["globalPermissions"]["admin"], False)
        self.assertEqual(team["connections"]["uc_mx_team"], {"use": True, "readDetails": True})
        self.assertEqual(team["connections"]["uc_mx_all"], {"use": True, "readDetails": False})
        other = matrix["perGroup"]["uc_team"]
        self.assertEqual(other["connections"]["uc_mx_team"],
                         {"use": False, "readDetails": False})
        self.assertIs(matrix["perGroup"]["uc_admins"]["globalPermissions"]["admin"], True)
        user = matrix["perUser"]["uc_mx_user"]
        self.assertEqual(user["groups"], ["uc_mx"])
        self.assertEqual(user["connections"]["uc_mx_team"], {"use": True, "readDetails": True})
        boss = matrix["perUser"]["uc_mx_boss"]
        self.assertIs(boss["globalPermissions"]["admin"], True)
        self.assertEqual(boss["connections"]["uc_mx_team"], {"use": True, "readDetails": True})
        self.assertNotIn("uc_mx_off", matrix["perUser"])  # enabled users only

    # ---- out of scope: external directories --------------------------------------------------

    def test_directory_calls_answer_not_found_naming_the_feature(self):
        user = self.admin.get_user("uc_ana_dir")
        for label, call, wire in (
                # DSSClient.start_resync_users_from_supplier
                ("resync users", lambda: self.admin.start_resync_users_from_supplier(["a"]),
                 ("POST", "/admin/users/actions/resync-multi", ["a"])),
                # DSSClient.start_resync_all_users_from_supplier: a POST without a body
                ("resync all", lambda: self.admin.start_resync_all_users_from_supplier(),
                 ("POST", "/admin/users/actions/resync-multi")),
                # DSSClient.start_fetch_external_groups
                ("external groups", lambda: self.admin.start_fetch_external_groups("LDAP"),
                 ("GET", "/admin/external-groups?userSourceType=LDAP")),
                # DSSClient.start_fetch_external_users: None values left out of the query
                ("external users", lambda: self.admin.start_fetch_external_users(
                    "AZURE_AD", group_name="g"),
                 ("GET", "/admin/external-users?userSourceType=AZURE_AD&groupName=g")),
                # DSSClient.start_provision_users
                ("provision", lambda: self.admin.start_provision_users("LDAP", [{"a": 1}]),
                 ("POST", "/admin/users/actions/provision",
                  {"userSourceType": "LDAP", "users": [{"a": 1}]})),
                # DSSUser.start_resync_from_supplier
                ("resync one", lambda: user.start_resync_from_supplier(),
                 ("POST", "/admin/users/uc_ana_dir/actions/resync"))):
            with self.subTest(call=label):
                with self.assertRaises(DataikuException) as cm:
                    call()
                self.assertWire(self.admin, *wire)
                message = str(cm.exception)
                self.assertTrue(message.startswith("NotFound: "), message)
                self.assertIn("external directory", message)


class ActivityDurabilityTest(OwnServerTestCase):

    def stored_activity(self):
        """The users' activity as the store holds it (SQLite only), or None."""
        db = sqlite3.connect(os.path.join(self.server.data_dir, "switchboard.db"))
        try:
            row = db.execute("SELECT value FROM meta WHERE name = 'users.activity'").fetchone()
        finally:
            db.close()
        return json.loads(row[0]) if row else None

    @unittest.skipIf(STORE != "sqlite", "reads the SQLite file")
    def test_activity_is_not_a_durable_write_per_request(self):
        s = self.server
        s.create_user("uc_batch")
        key = s.create_personal_key("uc_batch")["key"]
        self.assertStatus(s.api("GET", "/auth/info", key=key), 200)
        first = s.api("GET", "/admin/users/uc_batch/activity").json["lastSuccessfulLogin"]
        time.sleep(0.01)
        for _ in range(5):
            self.assertStatus(s.api("GET", "/auth/info", key=key), 200)
        latest = s.api("GET", "/admin/users/uc_batch/activity").json["lastSuccessfulLogin"]
        self.assertGreater(latest, first)
        # the first authentication was written at once; the next ones wait for the interval
        stored = self.stored_activity()
        self.assertEqual(stored["uc_batch"][0], first)
        s.stop()
        self.assertEqual(self.stored_activity()["uc_batch"][0], latest)  # written at shutdown
        s.start()

    def test_activity_is_written_at_shutdown_and_read_back(self):
        s = self.server
        s.create_user("uc_keep")
        key = s.create_personal_key("uc_keep")["key"]
        for _ in range(3):
            self.assertStatus(s.api("GET", "/auth/info", key=key), 200)
        before = s.api("GET", "/admin/users/uc_keep/activity").json
        self.assertGreater(before["lastSuccessfulLogin"], 0)
        s.restart()
        after = s.api("GET", "/admin/users/uc_keep/activity").json
        self.assertEqual(after["lastSuccessfulLogin"], before["lastSuccessfulLogin"])
        self.assertEqual(set(after), ACTIVITY_FIELDS)


if __name__ == "__main__":
    unittest.main()
