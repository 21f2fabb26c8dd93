# SPDX-License-Identifier: Apache-2.0
"""Global API keys: create, list, get, update, delete, look-up by secret; the key hint every
answer after creation carries; lifetime/expiresOn and dssUserForImpersonation, stored and
honoured (docs/API.md §2, §5.1)."""

import time
import unittest

from server import ServerTestCase, eventually, random_key

KEY_FIELDS = {"id", "label", "description", "globalPermissions", "groups", "createdOn",
              "createdBy"}


class GlobalApiKeysTest(ServerTestCase):

    def get_key(self, key_id):
        r = self.server.api("GET", "/admin/global-api-keys/" + key_id)
        self.assertStatus(r, 200)
        return r.json

    def test_create_returns_the_definition_with_the_key(self):
        created = self.server.create_key(admin=False, groups=["g1", "g2"], label="reader",
                                         description="for tests")
        for field in KEY_FIELDS | {"key"}:
            self.assertIn(field, created)
        self.assertIsInstance(created["key"], str)
        self.assertGreaterEqual(len(created["key"]), 32, "key shorter than 32 chars")
        self.assertIsInstance(created["id"], str)
        self.assertTrue(created["id"])
        self.assertFalse(created["key"] in created["id"], "the id reveals the key")
        self.assertEqual(created["label"], "reader")
        self.assertEqual(created["description"], "for tests")
        self.assertEqual(created["globalPermissions"].get("admin"), False)
        self.assertEqual(created["groups"], ["g1", "g2"])
        self.assertTrue(created["createdBy"])

    def test_created_key_authenticates_with_its_permissions(self):
        created = self.server.create_key(admin=False, groups=["analysts"])
        info = self.server.auth_info(key=created["key"])
        self.assertIs(info["admin"], False)
        self.assertEqual(info["groups"], ["analysts"])
        self.assertError(self.server.api("GET", "/admin/connections/", key=created["key"]),
                         403, "Forbidden")

    def test_created_admin_key_can_administer(self):
        created = self.server.create_key(admin=True, label="second admin")
        self.assertStatus(self.server.api("GET", "/admin/connections/", key=created["key"]),
                          200)
        self.assertIs(self.server.auth_info(key=created["key"])["admin"], True)

    def test_each_created_key_is_different(self):
        a = self.server.create_key(label="a")
        b = self.server.create_key(label="b")
        self.assertFalse(a["key"] == b["key"], "two created keys are equal")
        self.assertNotEqual(a["id"], b["id"])

    def test_list_has_keys_without_their_secret(self):
        created = self.server.create_key(label="listed", groups=["lg"])
        r = self.server.api("GET", "/admin/global-api-keys/")
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json, list)
        for item in r.json:
            self.assertKeyHint(item)
        listed = [item for item in r.json if item["id"] == created["id"]]
        self.assertKeyHint(listed[0], created["key"])
        self.assertNoSecret(r.raw, created["key"], "the global key list")
        self.assertNoSecret(r.raw, created["key"], "the key list")
        self.assertNoSecret(r.raw, self.server.admin_key, "the key list")
        listed = [i for i in r.json if i.get("id") == created["id"]]
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0]["label"], "listed")
        self.assertEqual(listed[0]["groups"], ["lg"])

    def test_list_includes_the_bootstrap_admin_key(self):
        boot = self.server.api("GET", "/admin/globalAPIKeys/" + self.server.admin_key).json
        ids = [i["id"] for i in self.server.api("GET", "/admin/global-api-keys/").json]
        self.assertIn(boot["id"], ids)

    def test_get_by_id_has_no_secret(self):
        created = self.server.create_key(label="by id", description="d", groups=["x"])
        r = self.server.api("GET", "/admin/global-api-keys/" + created["id"])
        self.assertStatus(r, 200)
        self.assertKeyHint(r.json, created["key"])
        self.assertNoSecret(r.raw, created["key"], "GET by id")
        expected = {k: v for k, v in created.items() if k != "key"}
        for field in KEY_FIELDS:
            with self.subTest(field=field):
                self.assertEqual(r.json.get(field), expected[field])

    def test_get_unknown_id_is_not_found(self):
        self.assertError(self.server.api("GET", "/admin/global-api-keys/no-such-id"),
                         404, "NotFound")

    def test_put_changes_label_description_permissions_and_groups(self):
        created = self.server.create_key(admin=False, groups=["before"], label="old")
        body = {"label": "new", "description": "changed",
                "globalPermissions": {"admin": True}, "groups": ["after1", "after2"]}
        r = self.server.api("PUT", "/admin/global-api-keys/" + created["id"], body)
        self.assertStatus(r, 200)
        self.assertKeyHint(r.json, created["key"])
        now = self.get_key(created["id"])
        self.assertEqual(now["label"], "new")
        self.assertEqual(now["description"], "changed")
        self.assertIs(now["globalPermissions"]["admin"], True)
        self.assertEqual(now["groups"], ["after1", "after2"])
        self.assertEqual(now["id"], created["id"])
        info = self.server.auth_info(key=created["key"])
        self.assertIs(info["admin"], True)
        self.assertEqual(info["groups"], ["after1", "after2"])
        self.assertStatus(self.server.api("GET", "/admin/connections/", key=created["key"]),
                          200)

    def test_put_can_revoke_admin(self):
        created = self.server.create_key(admin=True, label="demoted")
        body = self.get_key(created["id"])
        body["globalPermissions"] = {"admin": False}
        self.assertStatus(
            self.server.api("PUT", "/admin/global-api-keys/" + created["id"], body), 200)
        self.assertError(self.server.api("GET", "/admin/connections/", key=created["key"]),
                         403, "Forbidden")

    def test_put_cannot_change_the_key_itself(self):
        created = self.server.create_key(label="fixed")
        wanted = random_key()
        self.server.remember_secret(wanted)
        body = self.get_key(created["id"])
        body["key"] = wanted
        r = self.server.api("PUT", "/admin/global-api-keys/" + created["id"], body)
        self.assertStatus(r, 200)  # the key itself is not a field an update changes
        self.assertStatus(self.server.api("GET", "/auth/info", key=created["key"]), 200,
                          "the original key after a PUT carrying another key")
        self.assertError(self.server.api("GET", "/auth/info", key=wanted), 401, "Unauthorized")

    def test_put_unknown_id_is_not_found(self):
        r = self.server.api("PUT", "/admin/global-api-keys/no-such-id",
                            {"label": "x", "globalPermissions": {"admin": False}, "groups": []})
        self.assertError(r, 404, "NotFound")

    def test_delete_revokes_the_key(self):
        created = self.server.create_key(label="to revoke")
        self.assertStatus(self.server.api("GET", "/auth/info", key=created["key"]), 200)
        r = self.server.api("DELETE", "/admin/global-api-keys/" + created["id"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})
        r = self.server.api("GET", "/auth/info", key=created["key"])
        self.assertError(r, 401, "Unauthorized")
        self.assertEqual(r.headers.get("WWW-Authenticate"), 'Basic realm="switchboard"')
        self.assertError(self.server.api("GET", "/admin/global-api-keys/" + created["id"]),
                         404, "NotFound")
        ids = [i["id"] for i in self.server.api("GET", "/admin/global-api-keys/").json]
        self.assertNotIn(created["id"], ids)
        self.assertError(self.server.api("GET", "/admin/globalAPIKeys/" + created["key"]),
                         404, "NotFound")

    def test_delete_unknown_id_is_not_found(self):
        self.assertError(self.server.api("DELETE", "/admin/global-api-keys/no-such-id"),
                         404, "NotFound")

    def test_lookup_by_secret_returns_definition_with_id(self):
        created = self.server.create_key(label="lookup", groups=["lk"])
        r = self.server.api("GET", "/admin/globalAPIKeys/" + created["key"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json["id"], created["id"])
        self.assertEqual(r.json["label"], "lookup")
        self.assertEqual(r.json["groups"], ["lk"])
        self.assertKeyHint(r.json, created["key"])
        self.assertNoSecret(r.raw, created["key"], "the look-up answer")

    def test_lookup_by_unknown_secret_is_not_found(self):
        unknown = random_key()
        self.server.remember_secret(unknown)
        r = self.server.api("GET", "/admin/globalAPIKeys/" + unknown)
        self.assertError(r, 404, "NotFound")
        self.assertNoSecret(r.raw, unknown, "the 404 answer")

    def test_create_with_wrong_groups_type_is_bad_request(self):
        r = self.server.api("POST", "/admin/global-api-keys/",
                            {"label": "bad", "globalPermissions": {"admin": False},
                             "groups": "data_team"})
        self.assertError(r, 400, "BadRequest", mentions="groups")

    def test_create_with_malformed_json_is_bad_request(self):
        r = self.server.api("POST", "/admin/global-api-keys/", raw_body=b'{"label":')
        self.assertError(r, 400, "BadRequest")

    def test_created_keys_never_reach_the_log(self):
        created = self.server.create_key(label="quiet")
        self.server.api("GET", "/auth/info", key=created["key"])
        self.server.api("GET", "/admin/globalAPIKeys/" + created["key"])
        text = self.server.wait_for_log(lambda t: "globalAPIKeys" in t, 1.0)
        self.assertNoSecret(text, created["key"], "the server log")


DAY_MS = 24 * 3600 * 1000


class KeyExpiryTest(ServerTestCase):
    """lifetime (days; `expiry` is what DSSGlobalApiKeyDefinition.lifetime sets) and expiresOn
    (epoch ms, 0: never) are stored when saved, and an expired key is refused with 401."""

    def put(self, key_id, body, path="/admin/global-api-keys/"):
        r = self.server.api("PUT", path + key_id, body)
        self.assertStatus(r, 200)
        return r.json

    def get(self, key_id, path="/admin/global-api-keys/"):
        r = self.server.api("GET", path + key_id)
        self.assertStatus(r, 200)
        return r.json

    def test_key_without_lifetime_never_expires(self):
        created = self.server.create_key(label="forever")
        self.assertEqual(created["expiresOn"], 0)
        self.assertEqual(self.get(created["id"])["expiresOn"], 0)

    def test_lifetime_on_create_sets_expires_on(self):
        for field in ("lifetime", "expiry"):
            with self.subTest(field=field):
                r = self.server.api("POST", "/admin/global-api-keys/",
                                    {"label": "30 days", "globalPermissions": {"admin": False},
                                     field: 30})
                self.assertStatus(r, 200)
                self.server.remember_secret(r.json["key"])
                self.assertEqual(r.json["expiresOn"], r.json["createdOn"] + 30 * DAY_MS)
                self.assertEqual(r.json["expiry"], 30)
                got = self.get(r.json["id"])
                self.assertEqual(got["expiresOn"], r.json["expiresOn"])
                self.assertEqual(self.server.auth_info(key=r.json["key"])["principalType"],
                                 "GLOBAL_API_KEY")

    def test_saving_a_definition_keeps_its_expires_on_and_lifetime(self):
        created = self.server.create_key(label="saved")
        d = self.get(created["id"])
        at = int(time.time() * 1000) + 5 * DAY_MS
        d["expiresOn"] = at
        self.put(created["id"], d)
        self.assertEqual(self.get(created["id"])["expiresOn"], at)
        # DSSGlobalApiKeyDefinition.lifetime = 10 sets "expiry": counted from creation
        d = self.get(created["id"])
        d["expiry"] = 10
        self.put(created["id"], d)
        got = self.get(created["id"])
        self.assertEqual(got["expiry"], 10)
        self.assertEqual(got["expiresOn"], got["createdOn"] + 10 * DAY_MS)
        # a definition saved unchanged keeps both
        self.put(created["id"], got)
        self.assertEqual(self.get(created["id"]), got)
        d = dict(got, expiry=0)
        self.put(created["id"], d)
        self.assertEqual(self.get(created["id"])["expiresOn"], 0)

    def test_bad_lifetime_or_expires_on_is_bad_request(self):
        created = self.server.create_key(label="typed")
        for field, value in (("lifetime", "30"), ("lifetime", -1), ("expiry", 1.5),
                             ("expiresOn", "soon"), ("expiresOn", -5)):
            with self.subTest(field=field, value=value):
                r = self.server.api("POST", "/admin/global-api-keys/",
                                    {"label": "bad", field: value})
                self.assertError(r, 400, "BadRequest", mentions=field)
                r = self.server.api("PUT", "/admin/global-api-keys/" + created["id"],
                                    {field: value})
                self.assertError(r, 400, "BadRequest", mentions=field)

    def test_expired_global_key_is_unauthorized(self):
        created = self.server.create_key(label="expiring", groups=["g"])
        self.assertStatus(self.server.api("GET", "/auth/info", key=created["key"]), 200)
        d = self.get(created["id"])
        self.put(created["id"], dict(d, expiresOn=int(time.time() * 1000) - 1000))
        r = self.server.api("GET", "/auth/info", key=created["key"])
        self.assertError(r, 401, "Unauthorized", mentions="expired")
        self.assertIn("Basic", r.headers.get("WWW-Authenticate", ""))
        # an admin may give it a new lease
        self.put(created["id"], dict(d, expiresOn=0))
        self.assertStatus(self.server.api("GET", "/auth/info", key=created["key"]), 200)

    def test_key_expires_while_its_principal_is_cached(self):
        created = self.server.create_key(label="short")
        d = self.get(created["id"])
        self.put(created["id"], dict(d, expiresOn=int(time.time() * 1000) + 1500))
        self.assertStatus(self.server.api("GET", "/auth/info", key=created["key"]), 200)
        # refused from its expiry on, in 1.5 s, although the key's principal is cached
        eventually(lambda: self.server.api("GET", "/auth/info", key=created["key"]).status == 401,
                   timeout=10)
        self.assertError(self.server.api("GET", "/auth/info", key=created["key"]), 401,
                         "Unauthorized")

    def test_expired_personal_key_is_unauthorized(self):
        self.server.create_user("exp_user")
        created = self.server.create_personal_key("exp_user")
        path = "/personal-api-keys/"
        d = self.get(created["id"], path)
        self.assertEqual(d["expiresOn"], 0)
        self.put(created["id"], dict(d, expiresOn=int(time.time() * 1000) - 1), path)
        self.assertError(self.server.api("GET", "/auth/info", key=created["key"]), 401,
                         "Unauthorized")
        r = self.server.api("POST", "/personal-api-keys/", {"label": "x"}, key=created["key"])
        self.assertError(r, 401, "Unauthorized")


class KeyForImpersonationTest(ServerTestCase):
    """A global key with dssUserForImpersonation acts as that user (docs/API.md §2, §5.1)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_group("imp_team")
        s.create_user("imp_ana", groups=["imp_team"])
        s.create_connection("imp_team_only", usableBy="ALLOWED", allowedGroups=["imp_team"])
        s.create_connection("imp_others_only", usableBy="ALLOWED", allowedGroups=["others"])

    def test_key_acts_as_the_user(self):
        r = self.server.api("POST", "/admin/global-api-keys/",
                            {"label": "as ana", "globalPermissions": {"admin": True},
                             "dssUserForImpersonation": "imp_ana"})
        self.assertStatus(r, 200)
        key = r.json["key"]
        self.server.remember_secret(key)
        self.assertEqual(r.json["dssUserForImpersonation"], "imp_ana")
        info = self.server.auth_info(key=key)
        self.assertEqual(info, {"authIdentifier": "imp_ana", "principalType": "USER",
                                "groups": ["imp_team"], "admin": False})
        names = self.server.api("GET", "/connections/get-names?type=all", key=key).json
        self.assertIn("imp_team_only", names)
        self.assertNotIn("imp_others_only", names)
        # the key's own admin permission does not apply: it acts as the user
        self.assertError(self.server.api("GET", "/admin/connections/", key=key), 403,
                         "Forbidden")
        self.assertError(self.server.api("GET", "/connections/imp_others_only/test", key=key),
                         403, "Forbidden")

    def test_saving_sets_and_clears_the_user(self):
        created = self.server.create_key(label="later", groups=["g"])
        d = self.server.api("GET", "/admin/global-api-keys/" + created["id"]).json
        self.assertNotIn("dssUserForImpersonation", d)
        d["dssUserForImpersonation"] = "imp_ana"
        self.assertStatus(self.server.api("PUT", "/admin/global-api-keys/" + created["id"], d),
                          200)
        got = self.server.api("GET", "/admin/global-api-keys/" + created["id"]).json
        self.assertEqual(got["dssUserForImpersonation"], "imp_ana")
        self.assertEqual(self.server.auth_info(key=created["key"])["authIdentifier"], "imp_ana")
        got["dssUserForImpersonation"] = None
        self.assertStatus(self.server.api("PUT", "/admin/global-api-keys/" + created["id"],
                                          got), 200)
        got = self.server.api("GET", "/admin/global-api-keys/" + created["id"]).json
        self.assertNotIn("dssUserForImpersonation", got)
        self.assertEqual(self.server.auth_info(key=created["key"])["principalType"],
                         "GLOBAL_API_KEY")

    def test_unknown_user_is_bad_request(self):
        r = self.server.api("POST", "/admin/global-api-keys/",
                            {"label": "nobody", "dssUserForImpersonation": "imp_nobody"})
        self.assertError(r, 400, "BadRequest", mentions="imp_nobody")
        created = self.server.create_key(label="kept")
        r = self.server.api("PUT", "/admin/global-api-keys/" + created["id"],
                            {"dssUserForImpersonation": "imp_nobody"})
        self.assertError(r, 400, "BadRequest", mentions="dssUserForImpersonation")

    def test_key_of_a_deleted_or_disabled_user_is_unauthorized(self):
        s = self.server
        s.create_user("imp_gone")
        s.create_user("imp_off")
        keys = {}
        for login in ("imp_gone", "imp_off"):
            r = s.api("POST", "/admin/global-api-keys/",
                      {"label": login, "dssUserForImpersonation": login})
            self.assertStatus(r, 200)
            s.remember_secret(r.json["key"])
            keys[login] = r.json["key"]
            self.assertStatus(s.api("GET", "/auth/info", key=keys[login]), 200)
        self.assertStatus(s.api("DELETE", "/admin/users/imp_gone"), 200)
        u = s.api("GET", "/admin/users/imp_off").json
        u["enabled"] = False
        self.assertStatus(s.api("PUT", "/admin/users/imp_off", u), 200)
        for login in keys:
            with self.subTest(user=login):
                self.assertError(s.api("GET", "/auth/info", key=keys[login]), 401,
                                 "Unauthorized")

    def test_audit_names_the_key_and_the_user(self):
        r = self.server.api("POST", "/admin/global-api-keys/",
                            {"label": "audited", "dssUserForImpersonation": "imp_ana"})
        key = r.json["key"]
        self.server.remember_secret(key)
        self.assertStatus(self.server.api("GET", "/connections/imp_team_only/test", key=key),
                          200)
        audit = self.server.api("GET", "/admin/audit?limit=10").json
        mine = [a for a in audit if a["action"] == "connection.test"
                and a["object"] == "imp_team_only"]
        self.assertTrue(mine)
        self.assertEqual(mine[0]["principal"], "api-key:" + r.json["id"])
        self.assertEqual(mine[0]["actingAs"], "imp_ana")


if __name__ == "__main__":
    unittest.main()
