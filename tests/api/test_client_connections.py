# SPDX-License-Identifier: Apache-2.0
"""Wire-level conformance of the connections area of the DSS client (issue 13, points 1, 3
and 6): DSSClient's connection calls, DSSConnection, DSSConnectionListItem, DSSConnectionInfo,
DSSConnectionSettings and DSSConnectionDetailsReadability, and connections used through
DSSUser.get_client_as(). Every call goes through dss.py, which sends what dataikuapi sends
(the client method is named in a comment; assertWire pins method, path, query, headers with
no Content-Type, and body), and the answer carries every field the client's classes read.
Write semantics are DSS's (docs/API.md §4.7): the last write wins, a connection in use is deleted,
params may be filled in later."""

import unittest

from client_wire import WireMixin
from dss import (DataikuException, DSSClient, DSSConnection, DSSConnectionInfo,
                 DSSConnectionListItem, DSSConnectionSettings, DSSUser)
from server import ServerTestCase

# what create_connection(name, type, params) sends for every argument it was not given
DEFAULT_ARGS = {"description": None, "usableBy": "ALL", "allowedGroups": []}


def create_body(name, type, params=None, usable_by="ALL", allowed_groups=None,
                description=None):
    """DSSClient.create_connection's body, in its key order."""
    return {"name": name, "description": description, "type": type,
            "params": params if params is not None else {}, "usableBy": usable_by,
            "allowedGroups": allowed_groups if allowed_groups is not None else []}


class ConnectionsClientTest(ServerTestCase, WireMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_group("cc_team")
        s.create_group("cc_other")
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

    # ---- create, list ------------------------------------------------------------------

    def test_create_connection_with_name_and_type_only_then_fill_in(self):
        # DSSClient.create_connection(name, type): POST /admin/connections/, params {} and
        # the other arguments as the client defaults them; the answer is read as text only
        conn = self.admin.create_connection("cc_pg_later", "PostgreSQL")
        self.assertWire(self.admin, "POST", "/admin/connections/",
                        create_body("cc_pg_later", "PostgreSQL"))
        self.assertIsInstance(conn, DSSConnection)
        # DSSConnection.test: GET /connections/{name}/test; reads connectionOK
        result = conn.test()
        self.assertWire(self.admin, "GET", "/connections/cc_pg_later/test")
        self.assertIs(result["connectionOK"], False)
        self.assertIn("params.host", result["message"])
        # DSSConnection.get_settings then DSSConnectionSettings.save fills it in
        settings = conn.get_settings()
        settings.get_raw()["params"]["host"] = "db.internal"
        settings.save()
        self.assertWire(self.admin, "PUT", "/admin/connections/cc_pg_later", settings.settings)
        self.assertEqual(conn.get_definition()["params"],
                         {"host": "db.internal", "port": "5432"})

    def test_create_connection_with_every_argument(self):
        # DSSClient.create_connection with params, usable_by, allowed_groups, description
        self.admin.create_connection("cc_full", "Filesystem", {"root": "/srv/cc"}, "ALLOWED",
                                     ["cc_team"], "full")
        self.assertWire(self.admin, "POST", "/admin/connections/",
                        create_body("cc_full", "Filesystem", {"root": "/srv/cc"}, "ALLOWED",
                                    ["cc_team"], "full"))
        d = self.admin.get_connection("cc_full").get_definition()
        self.assertEqual((d["usableBy"], d["allowedGroups"], d["description"]),
                         ("ALLOWED", ["cc_team"], "full"))

    def test_create_connection_of_an_existing_name_raises_conflict(self):
        self.admin.create_connection("cc_dup", "Filesystem", {"root": "/x"})
        # a 409 whatever else the body holds, even an unknown type
        for type_ in ("Filesystem", "NoSuchType"):
            with self.subTest(type=type_):
                message = self.assertRaisesDss("Conflict", lambda: self.admin.create_connection(
                    "cc_dup", type_))
                self.assertIn("cc_dup", message)

    def test_list_connections_in_every_shape(self):
        self.admin.create_connection("cc_list_a", "Filesystem", {"root": "/a"})
        self.admin.create_connection("cc_list_b", "PostgreSQL", {"host": "h"})
        # DSSClient.list_connections(): GET /admin/connections/; the dict of
        # DSSConnectionListItem, whose .name reads "id", .type "label", to_connection "name"
        items = self.admin.list_connections()
        self.assertWire(self.admin, "GET", "/admin/connections/")
        self.assertIsInstance(items["cc_list_b"], DSSConnectionListItem)
        self.assertEqual(items["cc_list_b"].name, "cc_list_b")
        self.assertEqual(items["cc_list_b"].type, "PostgreSQL")
        conn = items["cc_list_b"].to_connection()
        self.assertEqual(conn.name, "cc_list_b")
        self.assertEqual(conn.get_definition()["type"], "PostgreSQL")
        # as_type="listitems" and "objects": the same request
        listed = self.admin.list_connections(as_type="listitems")
        self.assertWire(self.admin, "GET", "/admin/connections/")
        self.assertIn(("cc_list_a", "Filesystem"), [(i.name, i.type) for i in listed])
        objects = self.admin.list_connections(as_type="objects")
        self.assertIn("cc_list_a", [o.name for o in objects])

    def test_list_connections_names(self):
        self.admin.create_connection("cc_names_fs", "Filesystem", {"root": "/n"})
        self.admin.create_connection("cc_names_team", "Filesystem", {"root": "/t"}, "ALLOWED",
                                     ["cc_team"])
        # DSSClient.list_connections_names: GET /connections/get-names?type=<type>
        names = self.admin.list_connections_names("Filesystem")
        self.assertWire(self.admin, "GET", "/connections/get-names?type=Filesystem")
        self.assertIn("cc_names_fs", names)
        self.assertIn("cc_names_team", self.admin.list_connections_names("all"))
        self.assertWire(self.admin, "GET", "/connections/get-names?type=all")
        self.assertNotIn("cc_names_fs", self.admin.list_connections_names("PostgreSQL"))
        user = self.client(self.server.create_key(groups=["cc_other"])["key"])
        names = user.list_connections_names("Filesystem")
        self.assertIn("cc_names_fs", names)
        self.assertNotIn("cc_names_team", names)

    # ---- settings and definitions: DSS write semantics ---------------------------------

    def test_get_settings_reads_every_property(self):
        self.admin.create_connection("cc_props", "Filesystem", {"root": "/p"})
        # DSSConnection.get_settings: GET /admin/connections/{name}
        settings = self.admin.get_connection("cc_props").get_settings()
        self.assertWire(self.admin, "GET", "/admin/connections/cc_props")
        self.assertIsInstance(settings, DSSConnectionSettings)
        self.assertEqual(settings.type, "Filesystem")
        self.assertIs(settings.allow_managed_datasets, True)
        self.assertIs(settings.allow_managed_folders, False)
        self.assertIs(settings.allow_knowledge_banks, True)
        self.assertIs(settings.allow_write, True)
        self.assertEqual(settings.usable_by, "ALL")
        self.assertEqual(settings.usable_by_allowed_groups, [])
        self.assertEqual(settings.details_readability.readable_by, "NONE")
        self.assertEqual(settings.details_readability.allowed_groups, [])

    def test_settings_setters_and_save(self):
        conn = self.admin.create_connection("cc_setters", "Filesystem", {"root": "/s"})
        settings = conn.get_settings()
        settings.allow_write = False
        settings.allow_managed_datasets = False
        settings.allow_managed_folders = True
        settings.allow_knowledge_banks = False
        settings.set_usability(False, "cc_team", "cc_other")
        settings.details_readability.set_readability(False, "cc_team")
        # DSSConnectionSettings.save: PUT /admin/connections/{name} with the whole settings
        # (the *groups tuples are sent as JSON lists)
        settings.save()
        self.assertWire(self.admin, "PUT", "/admin/connections/cc_setters", settings.settings)
        again = conn.get_settings()
        self.assertEqual((again.allow_write, again.allow_managed_datasets,
                          again.allow_managed_folders, again.allow_knowledge_banks),
                         (False, False, True, False))
        self.assertEqual(again.usable_by, "ALLOWED")
        self.assertEqual(again.usable_by_allowed_groups, ["cc_team", "cc_other"])
        self.assertEqual(again.details_readability.readable_by, "ALLOWED")
        self.assertEqual(again.details_readability.allowed_groups, ["cc_team"])
        # set_readability(True) and (False) with no group
        again.details_readability.set_readability(True)
        again.set_usability(True)
        again.save()
        self.assertEqual(conn.get_settings().details_readability.readable_by, "ALL")
        again.details_readability.set_readability(False)
        again.save()
        self.assertEqual(conn.get_settings().details_readability.readable_by, "NONE")
        self.assertEqual(conn.get_settings().usable_by, "ALL")

    def test_saving_the_same_settings_twice_succeeds(self):
        conn = self.admin.create_connection("cc_twice", "Filesystem", {"root": "/t"})
        settings = conn.get_settings()
        settings.allow_write = False
        settings.save()
        settings.get_raw()["description"] = "second save of the same object"
        settings.save()  # its creationTag still says version 1: the last write wins
        d = conn.get_definition()
        self.assertEqual(d["description"], "second save of the same object")
        self.assertIs(d["allowWrite"], False)
        self.assertEqual(d["creationTag"]["versionNumber"], 3)

    def test_set_definition_of_an_earlier_snapshot_succeeds(self):
        conn = self.admin.create_connection("cc_snapshot", "Filesystem", {"root": "/before"})
        # DSSConnection.get_definition: GET /admin/connections/{name}
        snapshot = conn.get_definition()
        self.assertWire(self.admin, "GET", "/admin/connections/cc_snapshot")
        changed = conn.get_definition()
        changed["params"]["root"] = "/changed"
        # DSSConnection.set_definition: PUT /admin/connections/{name}, answer read as JSON
        stored = conn.set_definition(changed)
        self.assertWire(self.admin, "PUT", "/admin/connections/cc_snapshot", changed)
        self.assertEqual(stored["creationTag"]["versionNumber"], 2)
        restored = conn.set_definition(snapshot)  # a restore of version 1
        self.assertEqual(restored["params"]["root"], "/before")
        self.assertEqual(restored["creationTag"]["versionNumber"], 3)
        self.assertEqual(conn.get_definition()["params"]["root"], "/before")

    def test_set_definition_refuses_renames_and_type_changes(self):
        conn = self.admin.create_connection("cc_fixed", "Filesystem", {"root": "/f"})
        d = conn.get_definition()
        self.assertRaisesDss("BadRequest", lambda: conn.set_definition(dict(d, type="HDFS")))
        self.assertRaisesDss("BadRequest", lambda: conn.set_definition(dict(d, name="cc_x")))

    # ---- delete ------------------------------------------------------------------------

    def test_delete_of_a_connection_in_use_succeeds(self):
        conn = self.admin.create_connection("cc_in_use", "Filesystem", {"root": "/u"})
        project = self.admin.create_project("CCUSE", "uses", "cc_owner")
        project.create_filesystem_dataset("orders", "cc_in_use", "/orders")
        # DSSConnection.delete: DELETE /admin/connections/{name}, no body (Content-Length 0)
        conn.delete()
        self.assertWire(self.admin, "DELETE", "/admin/connections/cc_in_use")
        self.assertRaisesDss("NotFound", conn.get_definition)
        # the dataset keeps naming it, as in DSS
        ds = project.get_dataset("orders").get_settings().get_raw()
        self.assertEqual(ds["params"]["connection"], "cc_in_use")
        self.assertRaisesDss("NotFound", conn.delete)

    # ---- info and test ----------------------------------------------------------------

    def test_get_info_reads_every_field(self):
        password = "cc-pw-9f3e1"
        self.server.remember_secret(password)
        conn = self.admin.create_connection("cc_info", "PostgreSQL",
                                            {"host": "db", "user": "etl", "password": password,
                                             "db": "${cc_db}"})
        project = self.admin.create_project("CCINFO", "info", "cc_owner")
        project.set_variables({"standard": {"cc_db": "sales"}, "local": {}})
        # DSSConnection.get_info(): GET /connections/{name}/info, no query
        info = conn.get_info()
        self.assertWire(self.admin, "GET", "/connections/cc_info/info")
        self.assertIsInstance(info, DSSConnectionInfo)
        self.assertEqual(info.get_type(), "PostgreSQL")
        self.assertEqual(info.get_credential_mode(), "GLOBAL")
        self.assertNotIn("password", info.get_params())
        self.assertEqual(info.get_resolved_params()["db"], "${cc_db}")
        self.assertEqual(info.get_basic_credential(), {"user": "etl", "password": password})
        self.assertRaises(ValueError, info.get_aws_credential)
        self.assertRaises(ValueError, info.get_oauth2_credential)
        # get_info(contextual_project_key=K): ?contextualProjectKey=K
        info = conn.get_info(contextual_project_key="CCINFO")
        self.assertWire(self.admin, "GET", "/connections/cc_info/info?contextualProjectKey=CCINFO")
        self.assertEqual(info.get_resolved_params()["db"], "sales")
        # DSSConnection.get_location_info: the deprecated alias, same request
        self.assertEqual(conn.get_location_info().get_type(), "PostgreSQL")
        self.assertWire(self.admin, "GET", "/connections/cc_info/info")

    def test_get_info_of_an_s3_connection_reads_the_aws_credential(self):
        secret = "cc-aws-secret-77d2"
        self.server.remember_secret(secret)
        conn = self.admin.create_connection("cc_s3", "EC2", {"accessKey": "AKIACC",
                                                             "secretKey": secret})
        info = conn.get_info()
        self.assertEqual(info.get_aws_credential(), {"accessKey": "AKIACC", "secretKey": secret})
        self.assertRaises(ValueError, info.get_basic_credential)

    def test_test_of_a_working_connection(self):
        conn = self.admin.create_connection("cc_test_ok", "Filesystem", {"root": self.server.tmp})
        result = conn.test()
        self.assertWire(self.admin, "GET", "/connections/cc_test_ok/test")
        self.assertIs(result["connectionOK"], True, result)

    # ---- out of scope -----------------------------------------------------------------

    def test_hdfs_acl_sync_is_out_of_scope(self):
        conn = self.admin.create_connection("cc_hdfs", "HDFS", {"root": "/h"})
        # DSSConnection.sync_root_acls: POST /admin/connections/{name}/sync {"root": true}
        message = self.assertRaisesDss("NotFound", conn.sync_root_acls)
        self.assertWire(self.admin, "POST", "/admin/connections/cc_hdfs/sync", {"root": True})
        self.assertIn("HDFS", message)
        # DSSConnection.sync_datasets_acls sends the same request (the client's own body)
        self.assertRaisesDss("NotFound", conn.sync_datasets_acls)
        self.assertWire(self.admin, "POST", "/admin/connections/cc_hdfs/sync", {"root": True})

    # ---- non-admins and impersonation ------------------------------------------------

    def test_admin_calls_of_a_non_admin_raise_forbidden(self):
        user = self.client(self.server.create_key(groups=["cc_team"])["key"])
        self.assertRaisesDss("Forbidden", user.list_connections)
        self.assertRaisesDss("Forbidden", lambda: user.create_connection("cc_nope", "Filesystem"))

    def test_connections_through_get_client_as(self):
        s = self.server
        s.create_user("cc_ana", groups=["cc_team"])
        self.admin.create_connection("cc_for_team", "Filesystem", {"root": "/team"}, "ALLOWED",
                                     ["cc_team"])
        self.admin.create_connection("cc_for_other", "Filesystem", {"root": "/other"},
                                     "ALLOWED", ["cc_other"])
        # DSSUser.get_client_as: the admin's key plus X-DKU-ProxyUser on every request
        as_ana = DSSUser(self.admin, "cc_ana").get_client_as()
        self.addCleanup(as_ana.close)
        proxy = [("X-DKU-ProxyUser", "cc_ana")]
        names = as_ana.list_connections_names("all")
        self.assertWire(as_ana, "GET", "/connections/get-names?type=all", extra_headers=proxy)
        self.assertIn("cc_for_team", names)
        self.assertNotIn("cc_for_other", names)
        message = self.assertRaisesDss("Forbidden", as_ana.get_connection("cc_for_other").test)
        self.assertWire(as_ana, "GET", "/connections/cc_for_other/test", extra_headers=proxy)
        self.assertIn("cc_ana", message)
        self.assertRaisesDss("Forbidden", as_ana.get_connection("cc_for_other").get_info)
        # the refusal names the user acted as, not "the API key" (the admin's key has the
        # rights; found with the real client)
        message = self.assertRaisesDss("Forbidden", as_ana.list_connections)
        self.assertIn("user 'cc_ana', acted as through X-DKU-ProxyUser", message)
        self.assertNotIn("API key", message)
        # through the user's own personal key: the user is named too
        ana = DSSClient(s.base_url, s.create_personal_key("cc_ana")["key"])
        self.addCleanup(ana.close)
        message = self.assertRaisesDss("Forbidden", ana.list_connections)
        self.assertIn("user 'cc_ana' does not have them", message)
        self.assertTrue(as_ana.get_connection("cc_for_team").test()["connectionOK"] in
                        (True, False))
        # get_auth_info through it names the user
        self.assertEqual(as_ana.get_auth_info()["authIdentifier"], "cc_ana")


if __name__ == "__main__":
    unittest.main()
