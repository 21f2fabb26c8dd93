# SPDX-License-Identifier: Apache-2.0
"""Wire-level conformance of the API keys area of the DSS client (issue 13, points 2 and 6):
DSSClient's global and personal key calls, DSSGlobalApiKey, DSSGlobalApiKeyDefinition,
DSSGlobalApiKeyListItem, DSSPersonalApiKey and DSSPersonalApiKeyListItem. Every call goes
through dss.py, which sends what dataikuapi sends (the client method is named in a comment;
assertWire pins method, path, query, headers with no Content-Type, and body), and the answer
carries every field the client's classes read: after creation, `key` is a hint (first 4 +
"…" + last 4), never the secret (docs/API.md §5.1); lifetime/expiresOn and
dssUserForImpersonation are stored when saved and honoured."""

import datetime
import time
import unittest

from client_wire import WireMixin
from dss import (DataikuException, DSSClient, DSSGlobalApiKey, DSSGlobalApiKeyDefinition,
                 DSSGlobalApiKeyListItem, DSSPersonalApiKey, DSSPersonalApiKeyListItem)
from server import ServerTestCase

DAY_MS = 24 * 3600 * 1000


def hint(secret):
    return secret[:4] + "\u2026" + secret[-4:]


def now_ms():
    return int(time.time() * 1000)


class GlobalKeysClientTest(ServerTestCase, WireMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_group("kc_team")
        s.create_user("kc_ana", groups=["kc_team"])
        s.create_connection("kc_team_conn", usableBy="ALLOWED", allowedGroups=["kc_team"])
        cls.admin = DSSClient(s.base_url, s.admin_key)
        cls.addClassCleanup(cls.admin.close)

    def client(self, key):
        c = DSSClient(self.server.base_url, key)
        self.addCleanup(c.close)
        return c

    def assertRaisesDss(self, error_type, call):
        with self.assertRaises(DataikuException) as cm:
            call()
        self.assertTrue(str(cm.exception).startswith(error_type + ": "),
                        self.server.redact(str(cm.exception)))
        return str(cm.exception)

    def new_key(self, **kwargs):
        # DSSClient.create_global_api_key: POST /admin/global-api-keys/ with label,
        # description and globalPermissions.admin; reads messages.error, id and key
        key = self.admin.create_global_api_key(**kwargs)
        self.server.remember_secret(key.key)
        return key

    def test_create_global_api_key(self):
        key = self.new_key(label="kc one", description="first", admin=False)
        self.assertWire(self.admin, "POST", "/admin/global-api-keys/", {
            "label": "kc one", "description": "first", "globalPermissions": {"admin": False}})
        self.assertIsInstance(key, DSSGlobalApiKey)
        self.assertGreaterEqual(len(key.key), 32)  # the full secret, only here
        self.assertTrue(key.id_)
        self.assertEqual(self.client(key.key).get_auth_info()["principalType"], "GLOBAL_API_KEY")
        # defaults: every argument None / False is sent as such
        other = self.new_key()
        self.assertWire(self.admin, "POST", "/admin/global-api-keys/", {
            "label": None, "description": None, "globalPermissions": {"admin": False}})
        self.assertEqual(other.get_definition().label, "")

    def test_create_global_api_key_with_groups(self):
        # DSSClient.create_global_api_key_with_groups: groups instead of globalPermissions
        key = self.admin.create_global_api_key_with_groups("kc grouped", "g", ["kc_team"])
        self.server.remember_secret(key.key)
        self.assertWire(self.admin, "POST", "/admin/global-api-keys/", {
            "label": "kc grouped", "description": "g", "groups": ["kc_team"]})
        info = self.client(key.key).get_auth_info()
        self.assertEqual(info["groups"], ["kc_team"])
        self.assertIs(info["admin"], False)
        key2 = self.admin.create_global_api_key_with_groups()
        self.server.remember_secret(key2.key)
        self.assertWire(self.admin, "POST", "/admin/global-api-keys/", {
            "label": None, "description": None, "groups": []})

    def test_get_definition_reads_every_property(self):
        key = self.new_key(label="kc def", description="described", admin=True)
        before = datetime.datetime.now(datetime.timezone.utc)
        # DSSGlobalApiKey.get_definition: GET /admin/global-api-keys/{id}
        d = key.get_definition()
        self.assertWire(self.admin, "GET", "/admin/global-api-keys/" + key.id_)
        self.assertIsInstance(d, DSSGlobalApiKeyDefinition)
        self.assertEqual(d.id, key.id_)
        self.assertEqual(d.label, "kc def")
        self.assertEqual(d.description, "described")
        self.assertEqual(d.groups, [])
        self.assertIsNone(d.user_for_impersonation)
        self.assertIsInstance(d.created_on, datetime.datetime)
        self.assertLessEqual(d.created_on, before)
        self.assertEqual(d.created_by, self.admin.get_auth_info()["authIdentifier"])
        self.assertIsNone(d.expires_on)  # expiresOn 0: never
        self.assertIsNone(d.lifetime)
        self.assertEqual(d["key"], hint(key.key))
        self.assertEqual(d["globalPermissions"], {"admin": True})

    def test_get_global_api_key_by_id_carries_the_hint(self):
        key = self.new_key(label="kc by id")
        # DSSClient.get_global_api_key_by_id: GET /admin/global-api-keys/{id}; reads "key"
        got = self.admin.get_global_api_key_by_id(key.id_)
        self.assertWire(self.admin, "GET", "/admin/global-api-keys/" + key.id_)
        self.assertIsInstance(got, DSSGlobalApiKey)
        self.assertEqual(got.key, hint(key.key))
        self.assertEqual(got.id_, key.id_)
        self.assertEqual(got.get_definition().label, "kc by id")
        self.assertRaisesDss("NotFound",
                             lambda: self.admin.get_global_api_key_by_id("00000000deadbeef"))

    def test_get_global_api_key_by_secret(self):
        key = self.new_key(label="kc by secret")
        # DSSClient.get_global_api_key (deprecated): GET /admin/globalAPIKeys/{secret}; reads id
        got = self.admin.get_global_api_key(key.key)
        method, target, headers, data = self.admin.last_request
        # compared without assertEqual, whose message would print the key
        self.assertTrue(method == "GET" and data is None and
                        target == "/dip/publicapi/admin/globalAPIKeys/" + key.key,
                        "the request (not shown: its path holds the key)")
        self.assertNotIn("content-type", [h.lower() for h, _ in headers])
        self.assertEqual(got.id_, key.id_)
        self.assertEqual(got.key, key.key)
        self.assertRaisesDss("NotFound", lambda: self.admin.get_global_api_key("x" * 40))

    def test_list_global_api_keys_as_list_items(self):
        key = self.new_key(label="kc listed", description="in the list")
        # DSSClient.list_global_api_keys(): GET /admin/global-api-keys/
        items = self.admin.list_global_api_keys()
        self.assertWire(self.admin, "GET", "/admin/global-api-keys/")
        for item in items:
            self.assertIsInstance(item, DSSGlobalApiKeyListItem)
            self.assertKeyHint(item)
        mine = [i for i in items if i.id == key.id_][0]
        # every property of DSSGlobalApiKeyListItem
        self.assertEqual(mine.key, hint(key.key))
        self.assertEqual(mine.label, "kc listed")
        self.assertEqual(mine.description, "in the list")
        self.assertIsInstance(mine.created_on, datetime.datetime)
        self.assertTrue(mine.created_by)
        self.assertEqual(mine.groups, [])
        self.assertIsNone(mine.user_for_impersonation)
        # to_global_api_key reads key and id: a handle that works
        handle = mine.to_global_api_key()
        self.assertEqual((handle.key, handle.id_), (hint(key.key), key.id_))
        self.assertEqual(handle.get_definition().label, "kc listed")
        # the bootstrap key is listed with a hint too
        boot = self.admin.get_global_api_key(self.server.admin_key)
        self.assertEqual([i.key for i in items if i.id == boot.id_],
                         [hint(self.server.admin_key)])

    def test_list_global_api_keys_as_objects(self):
        key = self.new_key(label="kc objects")
        # DSSClient.list_global_api_keys(as_type="objects"): reads key and id of each item
        objects = self.admin.list_global_api_keys(as_type="objects")
        self.assertWire(self.admin, "GET", "/admin/global-api-keys/")
        mine = [o for o in objects if o.id_ == key.id_]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].key, hint(key.key))
        self.assertIsInstance(mine[0].get_definition(), DSSGlobalApiKeyDefinition)

    def test_definition_setters_and_save(self):
        key = self.new_key(label="kc before")
        d = key.get_definition()
        d.label = "kc after"
        d.description = "changed"
        d.groups = ["kc_team"]
        # DSSGlobalApiKeyDefinition.save: PUT /admin/global-api-keys/{id} with the whole
        # definition, answer ignored
        d.save()
        self.assertWire(self.admin, "PUT", "/admin/global-api-keys/" + key.id_, dict(d))
        again = key.get_definition()
        self.assertEqual((again.label, again.description, again.groups),
                         ("kc after", "changed", ["kc_team"]))
        self.assertEqual(again["key"], hint(key.key))
        # DSSGlobalApiKey.set_definition: PUT, answer ignored
        again["description"] = "via set_definition"
        key.set_definition(again)
        self.assertWire(self.admin, "PUT", "/admin/global-api-keys/" + key.id_, dict(again))
        self.assertEqual(key.get_definition().description, "via set_definition")
        # the secret cannot be changed through the hint it carries
        again["key"] = "ABCD\u2026WXYZ"
        key.set_definition(again)
        self.assertEqual(key.get_definition()["key"], hint(key.key))
        self.assertEqual(self.client(key.key).get_auth_info()["groups"], ["kc_team"])

    def test_lifetime_is_stored_and_expires_on_honoured(self):
        key = self.new_key(label="kc lifetime")
        d = key.get_definition()
        # DSSGlobalApiKeyDefinition.lifetime sets "expiry" (days)
        d.lifetime = 7
        d.save()
        again = key.get_definition()
        self.assertEqual(again.lifetime, 7)
        self.assertEqual(again["expiresOn"], again["createdOn"] + 7 * DAY_MS)
        self.assertIsInstance(again.expires_on, datetime.datetime)
        self.assertEqual(self.client(key.key).get_auth_info()["principalType"], "GLOBAL_API_KEY")
        # a script that sets expiresOn in the past: the key is refused from then on
        again["expiresOn"] = now_ms() - 1000
        again.save()
        expired = self.client(key.key)
        message = self.assertRaisesDss("Unauthorized", expired.get_auth_info)
        self.assertIn("expired", message)
        self.assertRaisesDss("Unauthorized", lambda: expired.list_connections_names("all"))
        # lifetime 0: never expires again
        again.lifetime = 0
        again.save()
        self.assertIsNone(key.get_definition().expires_on)
        self.assertEqual(self.client(key.key).get_auth_info()["principalType"], "GLOBAL_API_KEY")

    def test_user_for_impersonation_is_stored_and_honoured(self):
        key = self.new_key(label="kc as ana", admin=True)
        d = key.get_definition()
        d.user_for_impersonation = "kc_ana"
        d.save()
        self.assertEqual(key.get_definition().user_for_impersonation, "kc_ana")
        listed = [i for i in self.admin.list_global_api_keys() if i.id == key.id_][0]
        self.assertEqual(listed.user_for_impersonation, "kc_ana")
        as_ana = self.client(key.key)
        info = as_ana.get_auth_info()
        self.assertEqual((info["authIdentifier"], info["principalType"], info["admin"]),
                         ("kc_ana", "USER", False))
        self.assertIn("kc_team_conn", as_ana.list_connections_names("all"))
        self.assertRaisesDss("Forbidden", as_ana.list_connections)
        d = key.get_definition()
        d.user_for_impersonation = "kc_nobody"
        message = self.assertRaisesDss("BadRequest", d.save)
        self.assertIn("kc_nobody", message)
        d.user_for_impersonation = None
        d.save()
        self.assertIs(self.client(key.key).get_auth_info()["admin"], True)

    def test_delete(self):
        key = self.new_key(label="kc gone")
        # DSSGlobalApiKey.delete: DELETE /admin/global-api-keys/{id}, no body
        key.delete()
        self.assertWire(self.admin, "DELETE", "/admin/global-api-keys/" + key.id_)
        self.assertRaisesDss("NotFound", key.get_definition)
        self.assertRaisesDss("Unauthorized", self.client(key.key).get_auth_info)

    def test_global_key_calls_of_a_non_admin_raise_forbidden(self):
        user = self.client(self.server.create_key(groups=["kc_team"])["key"])
        self.assertRaisesDss("Forbidden", user.list_global_api_keys)
        self.assertRaisesDss("Forbidden", lambda: user.create_global_api_key("x"))


class PersonalKeysClientTest(ServerTestCase, WireMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_user("pkc_ana")
        s.create_user("pkc_bob")
        cls.admin = DSSClient(s.base_url, s.admin_key)
        cls.addClassCleanup(cls.admin.close)
        cls.ana = DSSClient(s.base_url, s.create_personal_key("pkc_ana", label="boot")["key"])
        cls.addClassCleanup(cls.ana.close)

    def assertRaisesDss(self, error_type, call):
        with self.assertRaises(DataikuException) as cm:
            call()
        self.assertTrue(str(cm.exception).startswith(error_type + ": "),
                        self.server.redact(str(cm.exception)))
        return str(cm.exception)

    def assertListItem(self, item, created, user):
        """Every property of DSSPersonalApiKeyListItem."""
        self.assertIsInstance(item, DSSPersonalApiKeyListItem)
        self.assertEqual(item.id, created["id"])
        self.assertEqual(item.user, user)
        self.assertEqual(item.key, hint(created["key"]))
        self.assertEqual(item.label, created["label"])
        self.assertEqual(item.description, created["description"])
        self.assertIsInstance(item.created_on, datetime.datetime)
        self.assertEqual(item.created_by, created["createdBy"])

    def test_create_personal_api_key_for_user(self):
        # DSSClient.create_personal_api_key_for_user (as_type "object" by default):
        # POST /admin/personal-api-keys/ {user, label, description}; reads id and key
        key = self.admin.create_personal_api_key_for_user("pkc_bob", "laptop", "for bob")
        self.server.remember_secret(key.key)
        self.assertWire(self.admin, "POST", "/admin/personal-api-keys/",
                        {"user": "pkc_bob", "label": "laptop", "description": "for bob"})
        self.assertIsInstance(key, DSSPersonalApiKey)
        self.assertGreaterEqual(len(key.key), 32)
        bob = DSSClient(self.server.base_url, key.key)
        self.addCleanup(bob.close)
        self.assertEqual(bob.get_auth_info()["authIdentifier"], "pkc_bob")
        # as_type="dict": the answer itself, with the full key once
        d = self.admin.create_personal_api_key_for_user("pkc_bob", as_type="dict")
        self.server.remember_secret(d["key"])
        self.assertWire(self.admin, "POST", "/admin/personal-api-keys/",
                        {"user": "pkc_bob", "label": "", "description": ""})
        self.assertEqual(d["user"], "pkc_bob")
        self.assertEqual(d["expiresOn"], 0)

    def test_create_personal_api_key_and_list_own(self):
        # DSSClient.create_personal_api_key (as_type "dict"): POST /personal-api-keys/
        created = self.ana.create_personal_api_key("phone", "ana's phone")
        self.server.remember_secret(created["key"])
        self.assertWire(self.ana, "POST", "/personal-api-keys/",
                        {"label": "phone", "description": "ana's phone"})
        obj = self.ana.create_personal_api_key(as_type="object")
        self.server.remember_secret(obj.key)
        self.assertWire(self.ana, "POST", "/personal-api-keys/", {"label": "", "description": ""})
        self.assertIsInstance(obj, DSSPersonalApiKey)
        # DSSClient.list_personal_api_keys(): GET /personal-api-keys/
        items = self.ana.list_personal_api_keys()
        self.assertWire(self.ana, "GET", "/personal-api-keys/")
        mine = [i for i in items if i.id == created["id"]]
        self.assertEqual(len(mine), 1)
        self.assertListItem(mine[0], created, "pkc_ana")
        for item in items:
            self.assertEqual(item.user, "pkc_ana")
            self.assertKeyHint(item)
        # to_personal_api_key: a handle that works
        handle = mine[0].to_personal_api_key()
        self.assertEqual(handle.key, hint(created["key"]))
        self.assertEqual(handle.get_definition()["label"], "phone")
        # as_type="objects": reads key (with a default) and id
        objects = self.ana.list_personal_api_keys(as_type="objects")
        self.assertIn(hint(obj.key), [o.key for o in objects])

    def test_list_all_personal_api_keys(self):
        created = self.admin.create_personal_api_key_for_user("pkc_bob", "all", "listed",
                                                              as_type="dict")
        self.server.remember_secret(created["key"])
        # DSSClient.list_all_personal_api_keys(): GET /admin/personal-api-keys/
        items = self.admin.list_all_personal_api_keys()
        self.assertWire(self.admin, "GET", "/admin/personal-api-keys/")
        mine = [i for i in items if i.id == created["id"]]
        self.assertListItem(mine[0], created, "pkc_bob")
        self.assertEqual({i.user for i in items} >= {"pkc_ana", "pkc_bob"}, True)
        objects = self.admin.list_all_personal_api_keys(as_type="objects")
        self.assertIn(hint(created["key"]), [o.key for o in objects])
        self.assertRaisesDss("Forbidden", self.ana.list_all_personal_api_keys)

    def test_get_set_definition_and_delete(self):
        created = self.ana.create_personal_api_key("old label", "")
        self.server.remember_secret(created["key"])
        # DSSClient.get_personal_api_key: no request; DSSPersonalApiKey with key ""
        key = self.ana.get_personal_api_key(created["id"])
        self.assertEqual(key.key, "")
        # DSSPersonalApiKey.get_definition: GET /personal-api-keys/{id}
        d = key.get_definition()
        self.assertWire(self.ana, "GET", "/personal-api-keys/" + created["id"])
        self.assertEqual(d["key"], hint(created["key"]))
        self.assertEqual(d["user"], "pkc_ana")
        d["label"] = "new label"
        # DSSPersonalApiKey.set_definition: PUT /personal-api-keys/{id}, answer ignored
        key.set_definition(d)
        self.assertWire(self.ana, "PUT", "/personal-api-keys/" + created["id"], d)
        self.assertEqual(key.get_definition()["label"], "new label")
        # an expiresOn in the past, saved with the definition, makes the key unusable
        d = key.get_definition()
        d["expiresOn"] = now_ms() - 1
        key.set_definition(d)
        expired = DSSClient(self.server.base_url, created["key"])
        self.addCleanup(expired.close)
        self.assertRaisesDss("Unauthorized", expired.get_auth_info)
        # another user's key: Forbidden; DSSPersonalApiKey.delete: DELETE, no body
        bob = self.admin.create_personal_api_key_for_user("pkc_bob", as_type="dict")
        self.server.remember_secret(bob["key"])
        self.assertRaisesDss("Forbidden", self.ana.get_personal_api_key(bob["id"]).get_definition)
        key.delete()
        self.assertWire(self.ana, "DELETE", "/personal-api-keys/" + created["id"])
        self.assertRaisesDss("NotFound", key.get_definition)


if __name__ == "__main__":
    unittest.main()
