# SPDX-License-Identifier: Apache-2.0
"""Global API keys: create, list, get, update, delete, look-up by secret."""

import unittest

from server import ServerTestCase, random_key

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
            self.assertNotIn("key", item)
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
        self.assertNotIn("key", r.json)
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
        self.assertNotIn("key", r.json or {})
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
        self.assertIn(r.status, (200, 400), self.describe(r))
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
        self.assertNotIn("key", r.json)
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


if __name__ == "__main__":
    unittest.main()
