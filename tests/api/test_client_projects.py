# SPDX-License-Identifier: Apache-2.0
"""Wire-level conformance of the projects and datasets area of the DSS client (issue 13,
points 5 and 6): DSSClient's project calls, DSSProject (summary, metadata, permissions,
datasets of every creation helper), DSSDataset (settings, definition, schema, metadata,
exists, delete), DSSDatasetListItem and DSSDatasetSettings. Every call sends what dataikuapi
sends (the client method is named in a comment and checked with assertWire) and the answer
carries every field the client's classes read, tags and schema included."""

import unittest

from client_wire import WireMixin
from dss import DataikuException, DSSClient, DSSDataset, DSSDatasetListItem, DSSFuture
from server import ServerTestCase


class ProjectsClientTest(ServerTestCase, WireMixin):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_connection("pc_fs")
        s.create_connection("pc_s3", type="EC2", params={})
        s.create_connection("pc_gcs", type="GCS", params={})
        s.create_connection("pc_az", type="Azure", params={})
        s.create_connection("pc_pg", type="PostgreSQL", params={"host": "db", "db": "x"})
        s.create_group("pc_readers")
        cls.admin = DSSClient(s.base_url, s.admin_key)
        cls.addClassCleanup(cls.admin.close)

    def client(self, key):
        c = DSSClient(self.server.base_url, key)
        self.addCleanup(c.close)
        return c

    def project(self, key):
        return self.admin.create_project(key, key.title(), "pc_owner")

    def assertRaisesDss(self, error_type, call):
        with self.assertRaises(DataikuException) as cm:
            call()
        self.assertTrue(str(cm.exception).startswith(error_type + ": "), str(cm.exception))
        return str(cm.exception)

    # ---- projects ------------------------------------------------------------------------

    def test_create_project_summary_and_lists(self):
        # DSSClient.create_project: POST /projects/, every argument in the body
        project = self.admin.create_project("PC_CREATE", "Create me", "pc_owner")
        self.assertWire(self.admin, "POST", "/projects/", {
            "projectKey": "PC_CREATE", "name": "Create me", "owner": "pc_owner",
            "settings": None, "description": None, "permissions": [], "tags": []})
        # DSSProject.get_summary: GET /projects/{key}; reads projectKey
        summary = project.get_summary()
        self.assertWire(self.admin, "GET", "/projects/PC_CREATE")
        self.assertEqual((summary["projectKey"], summary["name"], summary["owner"]),
                         ("PC_CREATE", "Create me", "pc_owner"))
        # DSSClient.list_project_keys: GET /projects/ (no query)
        self.assertIn("PC_CREATE", self.admin.list_project_keys())
        self.assertWire(self.admin, "GET", "/projects/")
        # DSSClient.list_projects: GET /projects/?includeLocation=False
        listed = self.admin.list_projects()
        self.assertWire(self.admin, "GET", "/projects/?includeLocation=False")
        self.assertIn("PC_CREATE", [p["projectKey"] for p in listed])
        # create_project with a folder, a description, permissions and tags
        self.admin.create_project("PC_FOLDER", "In a folder", "pc_owner", "desc",
                                  project_folder_id="f1",
                                  permissions=[{"group": "pc_readers",
                                                "readProjectContent": True}],
                                  tags=["t"])
        self.assertWire(self.admin, "POST", "/projects/?projectFolderId=f1", {
            "projectKey": "PC_FOLDER", "name": "In a folder", "owner": "pc_owner",
            "settings": None, "description": "desc",
            "permissions": [{"group": "pc_readers", "readProjectContent": True}],
            "tags": ["t"]})
        self.assertEqual(self.admin.get_project("PC_FOLDER").get_summary()["tags"], ["t"])
        self.assertRaisesDss("Conflict", lambda: self.project("PC_CREATE"))

    def test_project_metadata(self):
        project = self.project("PC_META")
        # DSSProject.get_metadata: GET /projects/{key}/metadata
        meta = project.get_metadata()
        self.assertWire(self.admin, "GET", "/projects/PC_META/metadata")
        self.assertEqual(meta, {"label": "Pc_Meta", "description": "", "shortDesc": "",
                                "tags": [], "custom": {"kv": {}},
                                "checklists": {"checklists": []}})
        meta["tags"] = ["tag1", "tag2"]
        meta["description"] = "described"
        meta["custom"]["kv"]["team"] = "ops"
        # DSSProject.set_metadata: PUT /projects/{key}/metadata, answer ignored
        self.assertIsNone(project.set_metadata(meta))
        self.assertWire(self.admin, "PUT", "/projects/PC_META/metadata", meta)
        self.assertEqual(project.get_metadata(), meta)
        summary = project.get_summary()
        self.assertEqual((summary["tags"], summary["description"]),
                         (["tag1", "tag2"], "described"))
        self.assertRaisesDss("BadRequest", lambda: project.set_metadata({"tags": "x"}))

    def test_project_permissions(self):
        project = self.project("PC_PERM")
        key = self.server.user_with_key("pc_reader", groups=["pc_readers"])
        reader = self.client(key)
        self.assertNotIn("PC_PERM", reader.list_project_keys())
        # DSSProject.get_permissions: GET /projects/{key}/permissions
        perms = project.get_permissions()
        self.assertWire(self.admin, "GET", "/projects/PC_PERM/permissions")
        self.assertEqual(perms, {"owner": "pc_owner", "permissions": []})
        perms["permissions"].append({"group": "pc_readers", "readProjectContent": True})
        # DSSProject.set_permissions: PUT /projects/{key}/permissions, answer ignored
        self.assertIsNone(project.set_permissions(perms))
        self.assertWire(self.admin, "PUT", "/projects/PC_PERM/permissions", perms)
        self.assertIn("PC_PERM", reader.list_project_keys())
        self.assertEqual(reader.get_project("PC_PERM").get_permissions(), perms)
        # a reader is not a project admin
        self.assertRaisesDss("Forbidden",
                             lambda: reader.get_project("PC_PERM").set_permissions(perms))
        self.assertRaisesDss("BadRequest", lambda: project.set_permissions(
            {"permissions": [{"group": 3}]}))

    def test_delete_project_is_a_future(self):
        project = self.project("PC_DEL")
        project.create_filesystem_dataset("d", "pc_fs", "/d")
        # DSSProject.delete: DELETE /projects/{key} with four query parameters; the answer
        # becomes a DSSFuture (resp.get('jobId'))
        future = project.delete()
        self.assertWire(self.admin, "DELETE",
                        "/projects/PC_DEL?clearManagedDatasets=False&clearOutputManagedFolders="
                        "False&clearJobAndScenarioLogs=True&wait=True")
        self.assertIsInstance(future, DSSFuture)
        self.assertIsNone(future.job_id)
        self.assertRaisesDss("NotFound", project.get_summary)
        self.assertFalse(project.get_dataset("d").exists())

    def test_hdfs_acl_sync_is_out_of_scope(self):
        project = self.project("PC_HDFS")
        # DSSProject.sync_datasets_acls: POST /projects/{key}/actions/sync without a body
        message = self.assertRaisesDss("NotFound", project.sync_datasets_acls)
        self.assertWire(self.admin, "POST", "/projects/PC_HDFS/actions/sync")
        self.assertIn("HDFS", message)
        conn = self.admin.get_connection("pc_fs")
        # DSSConnection.sync_root_acls and .sync_datasets_acls: both POST {"root": true}
        for call in (conn.sync_root_acls, conn.sync_datasets_acls):
            message = self.assertRaisesDss("NotFound", call)
            self.assertWire(self.admin, "POST", "/admin/connections/pc_fs/sync", {"root": True})
            self.assertIn("HDFS", message)

    # ---- creating datasets -------------------------------------------------------------------

    def test_every_dataset_creation_helper(self):
        project = self.project("PC_DS")
        cases = [
            # DSSProject.create_dataset: params {} and formatParams {} when None
            (lambda: project.create_dataset("d_plain", "Inline"),
             {"name": "d_plain", "projectKey": "PC_DS", "type": "Inline", "params": {},
              "formatType": None, "formatParams": {}}),
            (lambda: project.create_dataset("d_csv", "Filesystem",
                                            params={"connection": "pc_fs", "path": "/a"},
                                            formatType="csv", formatParams={"separator": ";"}),
             {"name": "d_csv", "projectKey": "PC_DS", "type": "Filesystem",
              "params": {"connection": "pc_fs", "path": "/a"}, "formatType": "csv",
              "formatParams": {"separator": ";"}}),
            # DSSProject.create_upload_dataset, without and with a connection
            (lambda: project.create_upload_dataset("d_up"),
             {"name": "d_up", "projectKey": "PC_DS", "type": "UploadedFiles", "params": {}}),
            (lambda: project.create_upload_dataset("d_up2", connection="pc_fs"),
             {"name": "d_up2", "projectKey": "PC_DS", "type": "UploadedFiles",
              "params": {"uploadConnection": "pc_fs"}}),
            # DSSProject.create_filesystem_dataset -> create_fslike_dataset
            (lambda: project.create_filesystem_dataset("d_fs", "pc_fs", "/fs"),
             {"name": "d_fs", "projectKey": "PC_DS", "type": "Filesystem",
              "params": {"connection": "pc_fs", "path": "/fs"}}),
            # DSSProject.create_s3_dataset with a bucket
            (lambda: project.create_s3_dataset("d_s3", "pc_s3", "/s3", bucket="b"),
             {"name": "d_s3", "projectKey": "PC_DS", "type": "S3",
              "params": {"connection": "pc_s3", "path": "/s3", "bucket": "b"}}),
            # DSSProject.create_gcs_dataset without a bucket
            (lambda: project.create_gcs_dataset("d_gcs", "pc_gcs", "/g"),
             {"name": "d_gcs", "projectKey": "PC_DS", "type": "GCS",
              "params": {"connection": "pc_gcs", "path": "/g"}}),
            # DSSProject.create_azure_blob_dataset with a container
            (lambda: project.create_azure_blob_dataset("d_az", "pc_az", "/z", container="c"),
             {"name": "d_az", "projectKey": "PC_DS", "type": "Azure",
              "params": {"connection": "pc_az", "path": "/z", "container": "c"}}),
            # DSSProject.create_fslike_dataset with extra params
            (lambda: project.create_fslike_dataset("d_like", "Filesystem", "pc_fs", "/l",
                                                   {"x": 1}),
             {"name": "d_like", "projectKey": "PC_DS", "type": "Filesystem",
              "params": {"connection": "pc_fs", "path": "/l", "x": 1}}),
            # DSSProject.create_sql_table_dataset: catalog None is sent
            (lambda: project.create_sql_table_dataset("d_sql", "PostgreSQL", "pc_pg", "t",
                                                      "public"),
             {"name": "d_sql", "projectKey": "PC_DS", "type": "PostgreSQL",
              "params": {"connection": "pc_pg", "mode": "table", "table": "t",
                         "schema": "public", "catalog": None}}),
        ]
        for call, body in cases:
            with self.subTest(dataset=body["name"]):
                ds = call()
                self.assertWire(self.admin, "POST", "/projects/PC_DS/datasets/", body)
                self.assertIsInstance(ds, DSSDataset)
                self.assertEqual((ds.id, ds.name), (body["name"], body["name"]))
                settings = ds.get_settings()
                self.assertEqual(settings.type, body["type"])
                for k, v in body["params"].items():
                    if v is not None:
                        self.assertEqual(settings.get_raw_params()[k], v)
                self.assertEqual(settings.tags, [])
                self.assertEqual(settings.schema_columns, [])
                self.assertTrue(ds.exists())
        # a connection that does not exist, or of a type that does not fit
        self.assertRaisesDss("BadRequest", lambda: project.create_filesystem_dataset(
            "d_bad", "pc_nope", "/x"))
        self.assertRaisesDss("BadRequest", lambda: project.create_s3_dataset(
            "d_bad", "pc_fs", "/x"))
        self.assertFalse(project.get_dataset("d_bad").exists())

    def test_sample_dataset(self):
        project = self.project("PC_SAMPLE")
        # DSSProject.create_sample_dataset: type Sample_<plugin>_<sample>, no connection
        ds = project.create_sample_dataset("smp", "plug", "iris")
        self.assertWire(self.admin, "POST", "/projects/PC_SAMPLE/datasets/", {
            "name": "smp", "projectKey": "PC_SAMPLE", "type": "Sample_plug_iris",
            "params": {"pluginId": "plug", "sampleName": "iris"}})
        self.assertEqual(ds.get_settings().get_raw_params(),
                         {"pluginId": "plug", "sampleName": "iris"})

    def test_managed_datasets(self):
        s = self.server
        s.create_connection("pc_nomanaged", allowManagedDatasets=False)
        project = self.project("PC_MANAGED")
        # DSSProject.new_managed_dataset -> DSSManagedDatasetCreationHelper.create: POST
        # /projects/{key}/datasets/managed {"name", "creationSettings"}
        helper = project.new_managed_dataset("m_fs").with_store_into("pc_fs")
        self.assertFalse(helper.already_exists())
        ds = helper.create()
        self.assertWire(self.admin, "POST", "/projects/PC_MANAGED/datasets/managed", {
            "name": "m_fs", "creationSettings": {"specificSettings": {}, "connectionId": "pc_fs"}})
        settings = ds.get_settings()
        raw = settings.get_raw()
        self.assertEqual((raw["type"], raw["managed"], raw["params"]),
                         ("Filesystem", True, {"connection": "pc_fs", "path": "/PC_MANAGED/m_fs"}))
        # found with the real client: FSLikeDatasetSettings.get_raw_format_params raised
        # KeyError 'formatParams' on a new managed file dataset; DSS gives it a format
        self.assertEqual(raw["formatType"], "csv")
        self.assertEqual((settings.get_raw_format_params()["separator"],
                          settings.get_raw_format_params()["compress"]), ("\t", "gz"))
        # the client's own example: set_csv_format on the new dataset, then save
        settings.set_csv_format()
        settings.add_raw_schema_column({"name": "id", "type": "int"})
        settings.save()
        self.assertEqual(ds.get_settings().get_raw_format_params()["separator"], ",")
        sql = project.new_managed_dataset("m_sql").with_store_into(
            "pc_pg", type_option_id="x", format_option_id="y").create()
        self.assertWire(self.admin, "POST", "/projects/PC_MANAGED/datasets/managed", {
            "name": "m_sql", "creationSettings": {"specificSettings": {"formatOptionId": "y"},
                                                  "connectionId": "pc_pg", "typeOptionId": "x"}})
        params = sql.get_settings().get_raw_params()
        self.assertEqual((params["connection"], params["table"]), ("pc_pg", "PC_MANAGED_m_sql"))
        s3 = project.new_managed_dataset("m_s3").with_store_into("pc_s3").create()
        self.assertEqual(s3.get_settings().type, "S3")
        # a connection that refuses managed datasets, one that does not exist, none at all
        self.assertRaisesDss("BadRequest", project.new_managed_dataset("m_no").with_store_into(
            "pc_nomanaged").create)
        self.assertRaisesDss("BadRequest", project.new_managed_dataset("m_no").with_store_into(
            "pc_nothing").create)
        self.assertRaisesDss("BadRequest", project.new_managed_dataset("m_no").create)
        self.assertFalse(project.get_dataset("m_no").exists())
        # create(overwrite=True): exists? -> delete(drop_data=True) -> create
        again = project.new_managed_dataset("m_fs").with_store_into("pc_s3")
        self.assertTrue(again.already_exists())
        self.assertRaisesDss("Conflict", again.create)
        again.create(overwrite=True)
        self.assertEqual(project.get_dataset("m_fs").get_settings().type, "S3")
        # a dataset may be named "managed": GET and PUT reach it, POST is the action
        project.create_dataset("managed", "Inline")
        self.assertTrue(project.get_dataset("managed").exists())
        self.assertEqual(project.get_dataset("managed").get_settings().type, "Inline")

    # ---- reading datasets ----------------------------------------------------------------

    def test_list_datasets_items_read_every_field(self):
        project = self.project("PC_LIST")
        project.create_filesystem_dataset("l_a", "pc_fs", "/a")
        project.create_dataset("l_b", "Inline")
        ds = project.get_dataset("l_a")
        settings = ds.get_settings()
        settings.tags = ["gold"]
        settings.add_raw_schema_column({"name": "id", "type": "bigint"})
        settings.save()
        # DSSProject.list_datasets: GET .../datasets/?foreign=False (an empty tags list
        # adds nothing to the query)
        items = project.list_datasets()
        self.assertWire(self.admin, "GET", "/projects/PC_LIST/datasets/?foreign=False")
        self.assertTrue(all(isinstance(i, DSSDatasetListItem) for i in items))
        by_name = {i.name: i for i in items}
        a, b = by_name["l_a"], by_name["l_b"]
        self.assertEqual((a.id, a.type, a.connection, a.tags), ("l_a", "Filesystem", "pc_fs",
                                                                ["gold"]))
        self.assertEqual(a.schema["columns"], [{"name": "id", "type": "bigint"}])
        self.assertEqual(a.get_column("id"), {"name": "id", "type": "bigint"})
        self.assertIsNone(a.get_column("nope"))
        self.assertEqual((b.connection, b.tags, b.schema),
                         (None, [], {"columns": [], "userModified": False}))
        self.assertIsNone(b.get_column("id"))
        self.assertEqual(a.to_dataset().name, "l_a")
        # as_type objects, tags and include_shared go to the query
        objects = project.list_datasets(as_type="objects", include_shared=True, tags=["gold"])
        self.assertWire(self.admin, "GET", "/projects/PC_LIST/datasets/?foreign=True&tags=gold")
        self.assertEqual([o.name for o in objects], ["l_a"])

    def test_settings_save_and_legacy_definition(self):
        project = self.project("PC_SET")
        ds = project.create_filesystem_dataset("s_a", "pc_fs", "/a")
        # DSSDataset.get_settings: GET .../datasets/{name}
        settings = ds.get_settings()
        self.assertWire(self.admin, "GET", "/projects/PC_SET/datasets/s_a")
        self.assertIsNone(settings.description)
        self.assertIsNone(settings.short_description)
        # DSSDatasetSettings.data_steward falls back on creationTag.lastModifiedBy.login: the
        # creator, as in DSS
        self.assertEqual(settings.data_steward, self.admin.get_auth_info()["authIdentifier"])
        settings.description = "long"
        settings.short_description = "short"
        settings.tags = ["t1"]
        settings.get_raw_params()["path"] = "/b"
        # DSSDatasetSettings.save: PUT .../datasets/{name}, answer ignored
        self.assertIsNone(settings.save())
        self.assertWire(self.admin, "PUT", "/projects/PC_SET/datasets/s_a", settings.get_raw())
        again = ds.get_settings()
        self.assertEqual((again.description, again.short_description, again.tags,
                          again.get_raw_params()["path"]), ("long", "short", ["t1"], "/b"))
        # DSSDataset.get_definition / set_definition (deprecated): the same resource
        d = ds.get_definition()
        self.assertWire(self.admin, "GET", "/projects/PC_SET/datasets/s_a")
        d["params"]["path"] = "/c"
        answer = ds.set_definition(d)
        self.assertWire(self.admin, "PUT", "/projects/PC_SET/datasets/s_a", d)
        self.assertEqual(answer["params"]["path"], "/c")

    def test_settings_partitioning_and_feature_group(self):
        # found with the real client: DSSDatasetSettings.is_feature_group raised KeyError
        # 'featureGroup' and add_discrete_partitioning_dimension KeyError 'partitioning' on a
        # dataset created by DSSProject.create_dataset (DSS's datasets always carry both)
        project = self.project("PC_PART")
        ds = project.create_dataset("p_a", "Filesystem", params={"connection": "pc_fs",
                                                                 "path": "/a"},
                                    formatType="csv")
        settings = ds.get_settings()
        self.assertWire(self.admin, "GET", "/projects/PC_PART/datasets/p_a")
        self.assertIs(settings.is_feature_group(), False)
        self.assertEqual(settings.get_raw()["partitioning"], {"dimensions": []})
        settings.add_discrete_partitioning_dimension("country")
        settings.add_time_partitioning_dimension("day")
        settings.set_partitioning_file_pattern("/%{country}/%Y/%M/%D/.*")
        settings.set_feature_group(True)
        settings.save()
        self.assertWire(self.admin, "PUT", "/projects/PC_PART/datasets/p_a", settings.get_raw())
        again = ds.get_settings()
        self.assertIs(again.is_feature_group(), True)
        self.assertEqual(again.get_raw()["partitioning"], {
            "dimensions": [{"name": "country", "type": "value"},
                           {"name": "day", "type": "time", "params": {"period": "DAY"}}],
            "filePathPattern": "/%{country}/%Y/%M/%D/.*"})
        # a definition saved without them (an older script's set_definition) reads them back
        d = ds.get_definition()
        del d["partitioning"], d["featureGroup"]
        ds.set_definition(d)
        again = ds.get_settings()
        self.assertIs(again.is_feature_group(), False)
        again.remove_partitioning()
        again.add_discrete_partitioning_dimension("x")
        again.save()
        self.assertEqual(ds.get_settings().get_raw()["partitioning"]["dimensions"],
                         [{"name": "x", "type": "value"}])
        # the list items carry them too
        item = project.list_datasets()[0]
        self.assertEqual((item.name, item["featureGroup"]), ("p_a", False))
        # who created it stays, whatever a save sends
        creator = self.admin.get_auth_info()["authIdentifier"]
        d = ds.get_definition()
        d["creationTag"] = {"versionNumber": 7, "lastModifiedBy": {"login": "mallory"},
                            "lastModifiedOn": 0}
        ds.set_definition(d)
        self.assertEqual(ds.get_settings().data_steward, creator)

    def test_exists_and_metadata(self):
        project = self.project("PC_EXISTS")
        ds = project.create_filesystem_dataset("e_a", "pc_fs", "/a")
        # DSSDataset.exists: true when get_metadata answers, false when it raises
        self.assertTrue(ds.exists())
        self.assertWire(self.admin, "GET", "/projects/PC_EXISTS/datasets/e_a/metadata")
        self.assertFalse(project.get_dataset("e_missing").exists())
        self.assertFalse(self.admin.get_project("PC_NO_SUCH").get_dataset("e_a").exists())
        # DSSDataset.get_metadata
        meta = ds.get_metadata()
        self.assertEqual(meta, {"label": "e_a", "description": "", "shortDesc": "",
                                "tags": [], "custom": {"kv": {}},
                                "checklists": {"checklists": []}})
        meta["tags"] = ["m1"]
        meta["custom"]["kv"]["owner"] = "ops"
        # DSSDataset.set_metadata: PUT .../metadata, answer parsed as JSON
        answer = ds.set_metadata(meta)
        self.assertWire(self.admin, "PUT", "/projects/PC_EXISTS/datasets/e_a/metadata", meta)
        self.assertEqual(answer, meta)
        self.assertEqual(ds.get_settings().tags, ["m1"])
        self.assertEqual([i.tags for i in project.list_datasets()], [["m1"]])
        self.assertRaisesDss("NotFound", project.get_dataset("e_missing").get_metadata)
        self.assertRaisesDss("BadRequest", lambda: ds.set_metadata({"custom": []}))

    def test_schema(self):
        project = self.project("PC_SCHEMA")
        ds = project.create_filesystem_dataset("sc_a", "pc_fs", "/a")
        # DSSDataset.get_schema: GET .../schema
        self.assertEqual(ds.get_schema(), {"columns": [], "userModified": False})
        self.assertWire(self.admin, "GET", "/projects/PC_SCHEMA/datasets/sc_a/schema")
        schema = {"columns": [{"name": "id", "type": "int"}, {"name": "v", "type": "string"}]}
        # DSSDataset.set_schema: PUT .../schema, answer parsed as JSON
        answer = ds.set_schema(schema)
        self.assertWire(self.admin, "PUT", "/projects/PC_SCHEMA/datasets/sc_a/schema", schema)
        self.assertEqual(answer["columns"], schema["columns"])
        self.assertEqual(ds.get_settings().schema_columns, schema["columns"])
        self.assertEqual(project.list_datasets()[0].get_column("v"),
                         {"name": "v", "type": "string"})
        self.assertRaisesDss("BadRequest", lambda: ds.set_schema({"columns": [{"name": 1}]}))

    def test_delete_dataset(self):
        project = self.project("PC_DSDEL")
        ds = project.create_filesystem_dataset("x_a", "pc_fs", "/a")
        # DSSDataset.delete: DELETE .../datasets/{name}?dropData=False, answer ignored
        self.assertIsNone(ds.delete())
        self.assertWire(self.admin, "DELETE", "/projects/PC_DSDEL/datasets/x_a?dropData=False")
        self.assertFalse(ds.exists())
        self.assertRaisesDss("NotFound", ds.delete)

    def test_readers_and_writers(self):
        project = self.project("PC_RW")
        project.create_filesystem_dataset("rw_a", "pc_fs", "/a")
        perms = project.get_permissions()
        perms["permissions"] = [{"group": "pc_readers", "readProjectContent": True}]
        project.set_permissions(perms)
        reader = self.client(self.server.user_with_key("pc_rw_reader", groups=["pc_readers"]))
        outsider = self.client(self.server.user_with_key("pc_rw_out"))
        rp = reader.get_project("PC_RW")
        self.assertTrue(rp.get_dataset("rw_a").exists())
        self.assertEqual([d.name for d in rp.list_datasets()], ["rw_a"])
        self.assertEqual(rp.get_metadata()["label"], "Pc_Rw")
        self.assertRaisesDss("Forbidden", lambda: rp.set_metadata({"tags": ["x"]}))
        self.assertRaisesDss("Forbidden", lambda: rp.get_dataset("rw_a").set_metadata(
            {"tags": ["x"]}))
        self.assertRaisesDss("Forbidden", lambda: rp.get_dataset("rw_a").set_schema(
            {"columns": []}))
        self.assertRaisesDss("Forbidden", lambda: rp.create_dataset("rw_b", "Inline"))
        op = outsider.get_project("PC_RW")
        self.assertFalse(op.get_dataset("rw_a").exists())
        self.assertRaisesDss("Forbidden", op.get_metadata)
        self.assertRaisesDss("Forbidden", op.get_permissions)


if __name__ == "__main__":
    unittest.main()
