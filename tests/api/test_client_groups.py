# SPDX-License-Identifier: Apache-2.0
"""Wire-level conformance of the groups area of the DSS client (issue 13, point 6): every
call sends what dataikuapi sends (the client method is named in a comment; assertWire checks
the request against it) and every field the client reads is in the answer."""

import unittest

from client_wire import WireMixin
from dss import DataikuException, DSSClient, DSSGroup
from server import ServerTestCase


class GroupsClientTest(ServerTestCase, WireMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = DSSClient(cls.server.base_url, cls.server.admin_key)
        cls.addClassCleanup(cls.admin.close)

    def client(self, key):
        c = DSSClient(self.server.base_url, key)
        self.addCleanup(c.close)
        return c

    def test_create_group_with_the_client_defaults(self):
        # DSSClient.create_group: POST /admin/groups/, description None and LOCAL by default
        group = self.admin.create_group("gc_plain")
        self.assertWire(self.admin, "POST", "/admin/groups/",
                        {"name": "gc_plain", "description": None, "sourceType": "LOCAL"})
        self.assertIsInstance(group, DSSGroup)
        # DSSGroup.get_definition: GET /admin/groups/{name}; reads name and sourceType
        d = group.get_definition()
        self.assertWire(self.admin, "GET", "/admin/groups/gc_plain")
        self.assertEqual((d["name"], d["sourceType"], d["description"], d["admin"]),
                         ("gc_plain", "LOCAL", "", False))
        self.admin.create_group("gc_full", "described", "LDAP")
        self.assertWire(self.admin, "POST", "/admin/groups/",
                        {"name": "gc_full", "description": "described", "sourceType": "LDAP"})
        self.assertEqual(self.admin.get_group("gc_full").get_definition()["sourceType"], "LDAP")
        with self.assertRaises(DataikuException) as cm:
            self.admin.create_group("gc_plain")
        self.assertTrue(str(cm.exception).startswith("Conflict: "), str(cm.exception))

    def test_list_groups(self):
        self.admin.create_group("gc_listed", "in the list")
        # DSSClient.list_groups: GET /admin/groups/
        groups = self.admin.list_groups()
        self.assertWire(self.admin, "GET", "/admin/groups/")
        mine = [g for g in groups if g["name"] == "gc_listed"]
        self.assertEqual(mine, [{"name": "gc_listed", "description": "in the list",
                                 "sourceType": "LOCAL", "admin": False}])

    def test_set_definition_round_trip_makes_members_admins(self):
        group = self.admin.create_group("gc_rt")
        key = self.server.user_with_key("gc_member", groups=["gc_rt"])
        self.assertIs(self.client(key).get_auth_info()["admin"], False)
        d = group.get_definition()
        d["admin"] = True
        d["description"] = "now admins"
        # DSSGroup.set_definition: PUT /admin/groups/{name}, answer parsed as JSON
        answer = group.set_definition(d)
        self.assertWire(self.admin, "PUT", "/admin/groups/gc_rt", d)
        self.assertEqual(answer, d)
        self.assertEqual(group.get_definition(), d)
        self.assertIs(self.client(key).get_auth_info()["admin"], True)
        d["name"] = "gc_renamed"
        with self.assertRaises(DataikuException) as cm:
            group.set_definition(d)
        self.assertTrue(str(cm.exception).startswith("BadRequest: "), str(cm.exception))

    def test_delete_group(self):
        group = self.admin.create_group("gc_gone")
        self.server.create_group("gc_stays")
        key = self.server.user_with_key("gc_gone_member", groups=["gc_gone", "gc_stays"])
        self.assertEqual(self.client(key).get_auth_info()["groups"], ["gc_gone", "gc_stays"])
        # DSSGroup.delete: DELETE /admin/groups/{name}, answer ignored
        self.assertIsNone(group.delete())
        self.assertWire(self.admin, "DELETE", "/admin/groups/gc_gone")
        # as in DSS, the group leaves every user's groups
        member = self.admin.get_user("gc_gone_member").get_settings().get_raw()
        self.assertEqual(member["groups"], ["gc_stays"])
        self.assertEqual(self.client(key).get_auth_info()["groups"], ["gc_stays"])
        with self.assertRaises(DataikuException) as cm:
            group.get_definition()
        self.assertTrue(str(cm.exception).startswith("NotFound: "), str(cm.exception))
        with self.assertRaises(DataikuException) as cm:
            group.delete()
        self.assertTrue(str(cm.exception).startswith("NotFound: "), str(cm.exception))

    def test_list_groups_info_needs_no_admin(self):
        self.admin.create_group("gc_info", "info group")
        reader = self.client(self.server.user_with_key("gc_reader"))
        # DSSClient.list_groups_info: GET /groups; DSSGroupInfo reads name
        infos = reader.list_groups_info()
        self.assertWire(reader, "GET", "/groups")
        mine = [g for g in infos if g.name == "gc_info"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].get_raw()["description"], "info group")
        self.assertNotIn("admin", mine[0].get_raw())

    def test_admin_calls_refuse_non_admins(self):
        self.admin.create_group("gc_locked")
        plain = self.client(self.server.user_with_key("gc_plain_user"))
        for label, call in (
                ("list_groups", lambda: plain.list_groups()),
                ("create_group", lambda: plain.create_group("gc_nope")),
                ("get_definition", lambda: plain.get_group("gc_locked").get_definition()),
                ("set_definition", lambda: plain.get_group("gc_locked").set_definition(
                    {"name": "gc_locked", "admin": True})),
                ("delete", lambda: plain.get_group("gc_locked").delete())):
            with self.subTest(call=label):
                with self.assertRaises(DataikuException) as cm:
                    call()
                self.assertTrue(str(cm.exception).startswith("Forbidden: "), str(cm.exception))
        self.assertIs(self.admin.get_group("gc_locked").get_definition()["admin"], False)


if __name__ == "__main__":
    unittest.main()
