# SPDX-License-Identifier: Apache-2.0
"""Projects and datasets (docs/API.md §6) and project variables (§7): project CRUD, who may read
and write a project, the dataset round trip, every rule a dataset's connection must obey, and
variables resolved through /connections/{name}/info?contextualProjectKey=.

The client calls go through dss.py (`ProjectsClient` is its DSSClient, which
test_lifecycle.py imports from here)."""

import time
import urllib.parse

from dss import DSSClient
from server import ADMIN, ServerTestCase, random_key


def q(segment):
    return urllib.parse.quote(segment, safe="")


# the project and dataset calls of the client are in dss.py; test_lifecycle.py imports this name
ProjectsClient = DSSClient


# ---- raw fixtures on server.Server -----------------------------------------------------------

def perm(group, read=False, write=False, admin=False):
    return {"group": group, "readProjectContent": read, "writeProjectContent": write,
            "admin": admin}


def make_project(server, key, owner=None, permissions=(), **fields):
    body = {"projectKey": key, "name": "Project " + key, "permissions": list(permissions)}
    if owner is not None:
        body["owner"] = owner
    body.update(fields)
    r = server.api("POST", "/projects/", body)
    if r.status != 200:
        raise AssertionError("creating project %r failed: HTTP %d %s"
                             % (key, r.status, server.redact(r.raw)))
    return r.json


def dataset_body(name, type="Filesystem", connection=None, **fields):
    params = {"path": "/data/" + name}
    if connection is not None:
        params["connection"] = connection
    body = {"name": name, "type": type, "params": params, "formatType": "csv",
            "formatParams": {"separator": ","}}
    body.update(fields)
    return body


def post_dataset(server, project, name, type="Filesystem", connection=None, key=ADMIN,
                 **fields):
    return server.api("POST", "/projects/%s/datasets/" % q(project),
                      dataset_body(name, type, connection, **fields), key=key)


def make_dataset(server, project, name, type="Filesystem", connection=None, **fields):
    r = post_dataset(server, project, name, type, connection, **fields)
    if r.status != 200:
        raise AssertionError("creating dataset %s.%s failed: HTTP %d %s"
                             % (project, name, r.status, server.redact(r.raw)))
    return r.json


def get_dataset(server, project, name):
    r = server.api("GET", "/projects/%s/datasets/%s" % (q(project), q(name)))
    if r.status != 200:
        raise AssertionError("reading dataset %s.%s failed: HTTP %d %s"
                             % (project, name, r.status, server.redact(r.raw)))
    return r.json


def subset_of(expected, actual):
    """Whether every field of `expected` is in `actual` with the same value (recursively for
    objects), so that server-added fields do not matter."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and subset_of(v, actual[k]) for k, v in expected.items())
    return expected == actual


# ---- tests ---------------------------------------------------------------------------------

GROUP_PERMS = [
    perm("g_readers", read=True),
    perm("g_writers", write=True),      # write alone also lets them read
    perm("g_padmins", admin=True),      # project admin: reads and writes
    perm("g_others"),                   # named, with no flag
]


class ProjectFixture(ServerTestCase):
    """Principals of every kind, a few connections, and projects that name them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        for g in ("g_readers", "g_writers", "g_padmins", "g_others", "g_conn"):
            s.create_group(g)
        cls.keys = {"admin": s.admin_key}
        for login, groups in (("owner1", []), ("reader1", ["g_readers"]),
                              ("writer1", ["g_writers"]), ("padmin1", ["g_padmins"]),
                              ("other1", ["g_others"]), ("nogroup1", []),
                              ("writer_conn", ["g_writers", "g_conn"])):
            cls.keys[login] = s.user_with_key(login, groups=groups)
        cls.keys["apireader"] = s.create_key(groups=["g_readers"], label="reader key")["key"]
        cls.keys["apiadmin"] = s.create_key(admin=True, label="second admin")["key"]
        s.create_connection("fs_main")
        s.create_connection("fs_other")
        s.create_connection("pg_main", type="PostgreSQL",
                            params={"host": "db.example.com", "db": "warehouse", "user": "etl"})
        s.create_connection("fs_restricted", usableBy="ALLOWED", allowedGroups=["g_conn"])
        s.create_connection("fs_nomanaged", allowManagedDatasets=False)

    READERS = ("admin", "apiadmin", "owner1", "reader1", "writer1", "padmin1", "writer_conn",
               "apireader")
    WRITERS = ("admin", "apiadmin", "owner1", "writer1", "padmin1", "writer_conn")
    NOT_READERS = ("other1", "nogroup1")
    NOT_WRITERS = ("reader1", "apireader", "other1", "nogroup1")

    def shared_project(self, key):
        return make_project(self.server, key, owner="owner1", permissions=GROUP_PERMS)

    def client(self, who="admin"):
        c = ProjectsClient(self.server.base_url, self.keys[who])
        self.addCleanup(c.close)
        return c


class ProjectCrudTest(ProjectFixture):

    def test_create_answers_the_stored_project(self):
        r = self.server.api("POST", "/projects/", {
            "projectKey": "CRUD1", "name": "Crud one", "owner": "owner1",
            "description": "first", "permissions": [perm("g_readers", read=True)],
            "tags": ["a", "b"]})
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertTrue(subset_of({"projectKey": "CRUD1", "name": "Crud one", "owner": "owner1",
                                   "description": "first",
                                   "permissions": [perm("g_readers", read=True)],
                                   "tags": ["a", "b"]}, r.json),
                        "create answer: %s" % self.describe(r))
        g = self.server.api("GET", "/projects/CRUD1")
        self.assertStatus(g, 200)
        self.assertTrue(subset_of({"projectKey": "CRUD1", "name": "Crud one", "owner": "owner1",
                                   "description": "first", "tags": ["a", "b"]}, g.json),
                        "GET: %s" % self.describe(g))
        listed = self.server.api("GET", "/projects/")
        self.assertStatus(listed, 200)
        self.assertIsInstance(listed.json, list)
        entry = [p for p in listed.json if p.get("projectKey") == "CRUD1"]
        self.assertEqual(len(entry), 1, self.describe(listed))
        self.assertEqual(entry[0].get("name"), "Crud one")
        self.assertEqual(entry[0].get("owner"), "owner1")

    def test_create_through_the_client_with_null_fields(self):
        client = self.client()
        project = client.create_project("CLIENT1", "Client project", "owner1")
        summary = project.get_summary()
        self.assertEqual(summary["projectKey"], "CLIENT1")
        self.assertEqual(summary["owner"], "owner1")
        self.assertIn("CLIENT1", [p["projectKey"] for p in client.list_projects()])
        self.assertEqual(project.list_datasets(), [])
        self.assertEqual(project.delete().state, {})

    def test_trailing_slash_is_optional(self):
        make_project(self.server, "SLASH1")
        for path in ("/projects", "/projects/"):
            r = self.server.api("GET", path)
            self.assertStatus(r, 200, path)
            self.assertIn("SLASH1", [p["projectKey"] for p in r.json])
        self.assertStatus(self.server.api("GET", "/projects/SLASH1/"), 200)
        self.assertStatus(self.server.api("GET", "/projects/SLASH1/datasets"), 200)
        make_dataset(self.server, "SLASH1", "d.with-dots")
        self.assertStatus(self.server.api("GET", "/projects/SLASH1/datasets/d.with-dots/"), 200)
        self.assertStatus(self.server.api("GET", "/projects/SLASH1/datasets/d%2Ewith%2Ddots"),
                          200)
        self.assertStatus(self.server.api("GET", "/projects/SLASH1/variables"), 200)

    def test_duplicate_key_is_conflict(self):
        make_project(self.server, "DUP1")
        r = self.server.api("POST", "/projects/", {"projectKey": "DUP1", "name": "again"})
        self.assertError(r, 409, "Conflict", mentions="DUP1")

    def test_invalid_project_bodies_are_bad_requests(self):
        for body in ({"name": "no key"}, {"projectKey": "has space"}, {"projectKey": ""},
                     {"projectKey": 12}, {"projectKey": "BADPERM", "permissions": "all"},
                     ["projectKey"]):
            with self.subTest(body=body):
                self.assertError(self.server.api("POST", "/projects/", body), 400, "BadRequest")

    def test_unknown_project_is_not_found(self):
        for method, path in (("GET", "/projects/NOPE"), ("DELETE", "/projects/NOPE"),
                             ("GET", "/projects/NOPE/datasets/"),
                             ("GET", "/projects/NOPE/datasets/x"),
                             ("GET", "/projects/NOPE/variables/")):
            with self.subTest(method=method, path=path):
                self.assertError(self.server.api(method, path), 404, "NotFound")
        r = self.server.api("POST", "/projects/NOPE/datasets/", dataset_body("x"))
        self.assertError(r, 404, "NotFound")

    def test_delete_answers_an_empty_object_and_removes_datasets(self):
        make_project(self.server, "DEL1")
        make_dataset(self.server, "DEL1", "a", connection="fs_other")
        make_dataset(self.server, "DEL1", "b", connection="fs_other")
        make_dataset(self.server, "DEL1", "c")          # no connection
        r = self.server.api("DELETE", "/projects/DEL1")
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertEqual(r.json, {})
        self.assertError(self.server.api("GET", "/projects/DEL1"), 404, "NotFound")
        self.assertError(self.server.api("GET", "/projects/DEL1/datasets/a"), 404, "NotFound")
        self.assertNotIn("DEL1", [p["projectKey"]
                                  for p in self.server.api("GET", "/projects/").json])
        usages = self.server.api("GET", "/admin/connections/fs_other/usages")
        self.assertStatus(usages, 200)
        self.assertEqual([u for u in usages.json if u.get("projectKey") == "DEL1"], [])
        # a project re-created under the same key starts empty
        make_project(self.server, "DEL1")
        again = self.server.api("GET", "/projects/DEL1/datasets/")
        self.assertStatus(again, 200)
        self.assertEqual(again.json, [])
        self.assertEqual(self.server.api("GET", "/projects/DEL1/variables/").json,
                         {"standard": {}, "local": {}})


class ProjectPermissionTest(ProjectFixture):

    def test_list_shows_only_readable_projects(self):
        self.shared_project("LIST1")
        make_project(self.server, "LIST2", owner="nobody_here")   # only admins read it
        for who in self.READERS + self.NOT_READERS:
            with self.subTest(who=who):
                r = self.server.api("GET", "/projects/", key=self.keys[who])
                self.assertStatus(r, 200)
                keys = [p.get("projectKey") for p in r.json]
                self.assertEqual("LIST1" in keys, who in self.READERS, keys)
                self.assertEqual("LIST2" in keys, who in ("admin", "apiadmin"), keys)

    def test_read_permissions(self):
        self.shared_project("READ1")
        make_dataset(self.server, "READ1", "d1", connection="fs_main")
        for who in self.READERS + self.NOT_READERS:
            ok = who in self.READERS
            for path in ("/projects/READ1", "/projects/READ1/datasets/",
                         "/projects/READ1/datasets/d1", "/projects/READ1/variables/"):
                with self.subTest(who=who, path=path):
                    r = self.server.api("GET", path, key=self.keys[who])
                    if ok:
                        self.assertStatus(r, 200)
                    else:
                        self.assertError(r, 403, "Forbidden")

    def test_dataset_writes_need_a_writer(self):
        self.shared_project("WRITE1")
        for who in self.WRITERS + self.NOT_WRITERS:
            ok = who in self.WRITERS
            key = self.keys[who]
            name = "ds_" + who
            with self.subTest(who=who, op="create"):
                r = post_dataset(self.server, "WRITE1", name, connection="fs_main", key=key)
                if ok:
                    self.assertStatus(r, 200)
                else:
                    self.assertError(r, 403, "Forbidden")
                    make_dataset(self.server, "WRITE1", name, connection="fs_main")
            path = "/projects/WRITE1/datasets/" + name
            with self.subTest(who=who, op="update"):
                d = get_dataset(self.server, "WRITE1", name)
                d["description"] = "changed by " + who
                r = self.server.api("PUT", path, d, key=key)
                if ok:
                    self.assertStatus(r, 200)
                    self.assertEqual(get_dataset(self.server, "WRITE1", name)["description"],
                                     "changed by " + who)
                else:
                    self.assertError(r, 403, "Forbidden")
                    self.assertNotIn("description", get_dataset(self.server, "WRITE1", name))
            with self.subTest(who=who, op="delete"):
                r = self.server.api("DELETE", path, key=key)
                if ok:
                    self.assertStatus(r, 200)
                    self.assertJsonBody(r)
                    self.assertEqual(r.json, {})
                    self.assertError(self.server.api("GET", path), 404, "NotFound")
                else:
                    self.assertError(r, 403, "Forbidden")
                    self.assertStatus(self.server.api("GET", path), 200)

    def test_variable_writes_need_a_writer(self):
        self.shared_project("VARW1")
        for who in self.WRITERS + self.NOT_WRITERS:
            with self.subTest(who=who):
                body = {"standard": {"who": who}, "local": {}}
                r = self.server.api("PUT", "/projects/VARW1/variables/", body,
                                    key=self.keys[who])
                current = self.server.api("GET", "/projects/VARW1/variables/").json
                if who in self.WRITERS:
                    self.assertStatus(r, 200)
                    self.assertEqual(current["standard"], {"who": who})
                else:
                    self.assertError(r, 403, "Forbidden")
                    self.assertNotEqual(current["standard"], {"who": who})

    def test_only_admins_create_projects(self):
        for who in ("owner1", "writer1", "padmin1", "reader1", "other1", "apireader"):
            with self.subTest(who=who):
                r = self.server.api("POST", "/projects/",
                                    {"projectKey": "BY_" + who.upper(), "owner": who},
                                    key=self.keys[who])
                self.assertError(r, 403, "Forbidden")
                self.assertError(self.server.api("GET", "/projects/BY_" + who.upper()), 404,
                                 "NotFound")
        r = self.server.api("POST", "/projects/", {"projectKey": "BY_APIADMIN"},
                            key=self.keys["apiadmin"])
        self.assertStatus(r, 200)

    def test_only_admins_delete_projects(self):
        self.shared_project("DELP1")
        make_dataset(self.server, "DELP1", "kept", connection="fs_main")
        for who in ("owner1", "writer1", "reader1", "other1", "nogroup1", "apireader"):
            with self.subTest(who=who):
                r = self.server.api("DELETE", "/projects/DELP1", key=self.keys[who])
                self.assertError(r, 403, "Forbidden")
                self.assertStatus(self.server.api("GET", "/projects/DELP1/datasets/kept"), 200)
        r = self.server.api("DELETE", "/projects/DELP1", key=self.keys["apiadmin"])
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})

    def test_owner_is_a_user_login_not_a_group(self):
        # a group named like the owner grants nothing
        self.server.create_group("owner_like")
        key = self.server.user_with_key("member_of_owner_like", groups=["owner_like"])
        make_project(self.server, "OWN1", owner="owner_like")
        self.assertError(self.server.api("GET", "/projects/OWN1", key=key), 403, "Forbidden")
        self.assertStatus(self.server.api("GET", "/projects/OWN1"), 200)
        make_project(self.server, "OWN2", owner="owner1")
        self.assertStatus(self.server.api("GET", "/projects/OWN2", key=self.keys["owner1"]), 200)
        self.assertError(self.server.api("GET", "/projects/OWN2", key=self.keys["reader1"]),
                         403, "Forbidden")


class DatasetTest(ProjectFixture):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        make_project(cls.server, "DS", owner="owner1", permissions=GROUP_PERMS)

    def path(self, name=""):
        return "/projects/DS/datasets/" + name

    def test_round_trip_keeps_unknown_fields(self):
        body = dataset_body("rt1", connection="fs_main")
        body["params"].update({"filesSelectionRules": {"mode": "ALL", "includeRules": []},
                               "someFutureParam": [1, {"x": None}]})
        body.update({"schema": {"columns": [{"name": "id", "type": "bigint"}],
                                "userModified": False},
                     "tags": ["t1"], "customFields": {"k": "v"}, "flowOptions": {"a": True},
                     "unknownTopLevel": 3.5, "managed": False})
        r = self.server.api("POST", self.path(), body)
        self.assertStatus(r, 200)
        self.assertTrue(subset_of(body, r.json), "create answer lost fields: %s"
                        % self.describe(r))
        self.assertEqual(r.json.get("projectKey"), "DS")
        got = get_dataset(self.server, "DS", "rt1")
        self.assertTrue(subset_of(body, got), "GET lost fields: %r" % got)
        # get -> modify -> put the whole definition back
        got["params"]["path"] = "/elsewhere"
        got["anotherNewField"] = {"nested": ["x"]}
        del got["tags"]
        r = self.server.api("PUT", self.path("rt1"), got)
        self.assertStatus(r, 200)
        again = get_dataset(self.server, "DS", "rt1")
        self.assertTrue(subset_of(got, again), "PUT round trip: %r" % again)
        self.assertEqual(again["params"]["someFutureParam"], [1, {"x": None}])
        self.assertEqual(again["schema"], body["schema"])
        listed = self.server.api("GET", self.path())
        self.assertStatus(listed, 200)
        entry = [d for d in listed.json if d.get("name") == "rt1"]
        self.assertEqual(len(entry), 1)
        self.assertTrue(subset_of(got, entry[0]), "list entry: %r" % entry[0])

    def test_client_create_with_null_format_fields(self):
        project = self.client().get_project("DS")
        ds = project.create_dataset("client1", "Filesystem",
                                    params={"connection": "fs_main", "path": "/c"})
        raw = ds.get_settings().get_raw()
        self.assertEqual(raw["name"], "client1")
        self.assertEqual(raw["type"], "Filesystem")
        self.assertEqual(raw["params"]["connection"], "fs_main")
        self.assertIn("client1", [d.name for d in project.list_datasets()])
        self.assertIsNone(ds.delete())
        self.assertFalse(ds.exists())
        # no params at all: the client sends "params": {}
        inline = project.create_dataset("client2", "Inline")
        self.assertEqual(inline.get_definition()["params"].get("connection"), None)

    def test_duplicate_dataset_is_conflict(self):
        make_dataset(self.server, "DS", "dup1", connection="fs_main")
        self.assertError(post_dataset(self.server, "DS", "dup1", connection="fs_main"), 409,
                         "Conflict", mentions="dup1")

    def test_unknown_dataset_is_not_found(self):
        for method in ("GET", "DELETE"):
            with self.subTest(method=method):
                self.assertError(self.server.api(method, self.path("ghost")), 404, "NotFound")
        self.assertError(self.server.api("PUT", self.path("ghost"), dataset_body("ghost")), 404,
                         "NotFound")

    def test_invalid_dataset_bodies_are_bad_requests(self):
        for body in ({"type": "Filesystem"}, {"name": "bad name!", "type": "Filesystem"},
                     {"name": "notype"}, {"name": "p1", "type": "Filesystem", "params": []},
                     {"name": "p2", "type": "Filesystem", "params": {"connection": 5}},
                     {"name": "p3", "type": "Filesystem", "projectKey": "OTHER"}):
            with self.subTest(body=body):
                self.assertError(self.server.api("POST", self.path(), body), 400, "BadRequest")
        make_dataset(self.server, "DS", "named", connection="fs_main")
        d = get_dataset(self.server, "DS", "named")
        d["name"] = "renamed"
        self.assertError(self.server.api("PUT", self.path("named"), d), 400, "BadRequest")

    def test_dataset_without_connection_is_accepted(self):
        r = post_dataset(self.server, "DS", "noconn", type="Inline")
        self.assertStatus(r, 200)

    # -- the connection a dataset names ----------------------------------------------------

    def test_connection_must_exist(self):
        r = post_dataset(self.server, "DS", "ex1", connection="no_such_conn")
        self.assertError(r, 400, "BadRequest", mentions="no_such_conn")
        self.assertError(self.server.api("GET", self.path("ex1")), 404, "NotFound")
        make_dataset(self.server, "DS", "ex2", connection="fs_main")
        d = get_dataset(self.server, "DS", "ex2")
        d["params"]["connection"] = "no_such_conn"
        self.assertError(self.server.api("PUT", self.path("ex2"), d), 400, "BadRequest",
                         mentions="no_such_conn")
        self.assertEqual(get_dataset(self.server, "DS", "ex2")["params"]["connection"],
                         "fs_main")

    def test_connection_must_be_usable_by_the_caller(self):
        key = self.keys["writer1"]  # a writer of the project, not in g_conn
        r = post_dataset(self.server, "DS", "use1", connection="fs_restricted", key=key)
        self.assertError(r, 403, "Forbidden", mentions="fs_restricted")
        self.assertError(self.server.api("GET", self.path("use1")), 404, "NotFound")
        # the same writer may use an ALL connection, then may not switch it to the restricted one
        self.assertStatus(post_dataset(self.server, "DS", "use2", connection="fs_main", key=key),
                          200)
        d = get_dataset(self.server, "DS", "use2")
        d["params"]["connection"] = "fs_restricted"
        self.assertError(self.server.api("PUT", self.path("use2"), d, key=key), 403,
                         "Forbidden", mentions="fs_restricted")
        self.assertEqual(get_dataset(self.server, "DS", "use2")["params"]["connection"],
                         "fs_main")
        # a writer in an allowed group, and an admin, may
        self.assertStatus(post_dataset(self.server, "DS", "use3", connection="fs_restricted",
                                       key=self.keys["writer_conn"]), 200)
        self.assertStatus(post_dataset(self.server, "DS", "use4", connection="fs_restricted"),
                          200)

    def test_connection_type_must_fit_the_dataset_type(self):
        r = post_dataset(self.server, "DS", "fit1", type="Filesystem", connection="pg_main")
        self.assertError(r, 400, "BadRequest", mentions="pg_main")
        r = post_dataset(self.server, "DS", "fit2", type="PostgreSQL", connection="fs_main")
        self.assertError(r, 400, "BadRequest", mentions="fs_main")
        for name in ("fit1", "fit2"):
            self.assertError(self.server.api("GET", self.path(name)), 404, "NotFound")
        self.assertStatus(post_dataset(self.server, "DS", "fit3", type="PostgreSQL",
                                       connection="pg_main", params={"connection": "pg_main",
                                                                     "table": "t"}), 200)
        self.assertStatus(post_dataset(self.server, "DS", "fit4", connection="fs_main"), 200)
        # an update that changes the type, or the connection, is checked too
        d = get_dataset(self.server, "DS", "fit4")
        d["type"] = "PostgreSQL"
        self.assertError(self.server.api("PUT", self.path("fit4"), d), 400, "BadRequest")
        d = get_dataset(self.server, "DS", "fit4")
        d["params"]["connection"] = "pg_main"
        self.assertError(self.server.api("PUT", self.path("fit4"), d), 400, "BadRequest",
                         mentions="pg_main")
        self.assertEqual(get_dataset(self.server, "DS", "fit4")["type"], "Filesystem")
        self.assertEqual(get_dataset(self.server, "DS", "fit4")["params"]["connection"],
                         "fs_main")

    def test_managed_dataset_needs_a_connection_that_allows_them(self):
        r = post_dataset(self.server, "DS", "man1", connection="fs_nomanaged", managed=True)
        self.assertError(r, 400, "BadRequest", mentions="fs_nomanaged")
        self.assertError(self.server.api("GET", self.path("man1")), 404, "NotFound")
        self.assertStatus(post_dataset(self.server, "DS", "man2", connection="fs_nomanaged",
                                       managed=False), 200)
        self.assertStatus(post_dataset(self.server, "DS", "man3", connection="fs_nomanaged"),
                          200)
        self.assertStatus(post_dataset(self.server, "DS", "man4", connection="fs_main",
                                       managed=True), 200)
        d = get_dataset(self.server, "DS", "man2")
        d["managed"] = True
        self.assertError(self.server.api("PUT", self.path("man2"), d), 400, "BadRequest")
        d = get_dataset(self.server, "DS", "man4")
        d["params"]["connection"] = "fs_nomanaged"
        self.assertError(self.server.api("PUT", self.path("man4"), d), 400, "BadRequest")
        self.assertEqual(get_dataset(self.server, "DS", "man4")["params"]["connection"],
                         "fs_main")


class VariablesTest(ProjectFixture):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        make_project(s, "VARS", owner="owner1", permissions=GROUP_PERMS)
        make_project(s, "PRIVATE", owner="owner1")
        s.create_connection("fs_vars", params={
            "root": "/data/${v_all}/${v_std}/${v_inst}/${v_none}"},
            detailsReadability={"readableBy": "ALL", "allowedGroups": []})

    def test_variables_default_and_round_trip(self):
        make_project(self.server, "VRT")
        r = self.server.api("GET", "/projects/VRT/variables/")
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertEqual(r.json, {"standard": {}, "local": {}})
        body = {"standard": {"a": "1", "n": 2, "nested": {"x": [1]}}, "local": {"b": "2"}}
        r = self.server.api("PUT", "/projects/VRT/variables/", body)
        self.assertStatus(r, 200)
        self.assertEqual(self.server.api("GET", "/projects/VRT/variables/").json, body)
        client = self.client()
        project = client.get_project("VRT")
        v = project.get_variables()
        v["local"]["c"] = "3"
        project.set_variables(v)
        self.assertEqual(project.get_variables()["local"], {"b": "2", "c": "3"})

    def test_invalid_variables_are_bad_requests(self):
        make_project(self.server, "VBAD")
        for body in ([], {"standard": []}, {"local": "x"}):
            with self.subTest(body=body):
                self.assertError(self.server.api("PUT", "/projects/VBAD/variables/", body), 400,
                                 "BadRequest")

    def info(self, key="admin", project=None):
        path = "/connections/fs_vars/info"
        if project is not None:
            path += "?contextualProjectKey=" + q(project)
        return self.server.api("GET", path, key=self.keys[key])

    def test_info_resolves_local_over_standard_over_instance(self):
        s = self.server
        self.assertStatus(s.api("PUT", "/admin/variables/",
                                {"v_all": "inst_all", "v_std": "inst_std", "v_inst": "inst_only"}),
                          200)
        self.assertStatus(s.api("PUT", "/projects/VARS/variables/", {
            "standard": {"v_all": "std_all", "v_std": "std_std"},
            "local": {"v_all": "loc_all"}}), 200)
        r = self.info()
        self.assertStatus(r, 200)
        self.assertEqual(r.json["resolvedParams"]["root"],
                         "/data/inst_all/inst_std/inst_only/${v_none}")
        for who in ("admin", "reader1", "owner1", "writer1"):
            with self.subTest(who=who):
                r = self.info(who, "VARS")
                self.assertStatus(r, 200)
                self.assertEqual(r.json["resolvedParams"]["root"],
                                 "/data/loc_all/std_std/inst_only/${v_none}")
                self.assertEqual(r.json["params"]["root"],
                                 "/data/${v_all}/${v_std}/${v_inst}/${v_none}")
        # a project without variables falls through to the instance's
        r = self.info("admin", "PRIVATE")
        self.assertStatus(r, 200)
        self.assertEqual(r.json["resolvedParams"]["root"],
                         "/data/inst_all/inst_std/inst_only/${v_none}")

    def test_info_with_unknown_project_is_not_found(self):
        self.assertError(self.info("admin", "NO_SUCH_PROJECT"), 404, "NotFound")
        self.assertError(self.info("reader1", "NO_SUCH_PROJECT"), 404, "NotFound")

    def test_info_with_unreadable_project_is_forbidden(self):
        # other1 may read the connection's details, but not the project
        self.assertStatus(self.info("other1"), 200)
        self.assertError(self.info("other1", "VARS"), 403, "Forbidden")
        self.assertError(self.info("reader1", "PRIVATE"), 403, "Forbidden")
        self.assertStatus(self.info("owner1", "PRIVATE"), 200)


if __name__ == "__main__":
    import unittest
    unittest.main()
