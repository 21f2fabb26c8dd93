# SPDX-License-Identifier: Apache-2.0
"""The connection lifecycle beyond CRUD (docs/API.md §4.3 delete, §4.5, §6): usages, the delete
guard, changing the connection of a project's datasets (the developer guide's "mass-change"
walk, and the server-side action), history and revert, and bulk import."""

import re
import time

from server import ADMIN, ServerTestCase, random_key
from test_projects import (ProjectsClient, get_dataset, make_dataset, make_project, perm,
                           post_dataset, q)


def usages(server, name):
    r = server.api("GET", "/admin/connections/%s/usages" % q(name))
    if r.status != 200:
        raise AssertionError("usages of %r: HTTP %d %s" % (name, r.status, server.redact(r.raw)))
    return r.json


def connection_of(server, project, name):
    return get_dataset(server, project, name)["params"].get("connection")


def fs_def(name, **fields):
    body = {"name": name, "type": "Filesystem", "params": {"root": "/tmp/" + name}}
    body.update(fields)
    return body


def connection_names(server):
    r = server.api("GET", "/admin/connections/")
    if r.status != 200:
        raise AssertionError("listing connections: HTTP %d %s" % (r.status, server.redact(r.raw)))
    return set(r.json)


class UsagesAndDeleteGuardTest(ServerTestCase):
    """Usages, and the delete guard of --write-guards (docs/API.md §4.7). DeleteInUseTest covers the
    default, DSS's behaviour."""

    server_options = {"extra_args": ["--write-guards"]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_key = cls.server.user_with_key("plain_user")

    def test_usages_list_every_dataset_on_the_connection(self):
        s = self.server
        s.create_connection("fs_used")
        s.create_connection("fs_elsewhere")
        s.create_connection("pg_used", type="PostgreSQL", params={"host": "localhost"})
        make_project(s, "USE_A")
        make_project(s, "USE_B")
        make_dataset(s, "USE_A", "orders", connection="fs_used")
        make_dataset(s, "USE_A", "customers", connection="fs_used")
        make_dataset(s, "USE_A", "not_me", connection="fs_elsewhere")
        make_dataset(s, "USE_A", "table1", type="PostgreSQL", connection="pg_used")
        make_dataset(s, "USE_B", "events", connection="fs_used")
        got = usages(s, "fs_used")
        self.assertIsInstance(got, list)
        key = lambda u: (u.get("projectKey"), u.get("datasetName"))
        self.assertEqual(sorted(got, key=key), [
            {"projectKey": "USE_A", "datasetName": "customers", "datasetType": "Filesystem"},
            {"projectKey": "USE_A", "datasetName": "orders", "datasetType": "Filesystem"},
            {"projectKey": "USE_B", "datasetName": "events", "datasetType": "Filesystem"}])
        self.assertEqual(usages(s, "pg_used"), [
            {"projectKey": "USE_A", "datasetName": "table1", "datasetType": "PostgreSQL"}])
        # deleting a dataset removes its usage
        self.assertStatus(s.api("DELETE", "/projects/USE_B/datasets/events"), 200)
        self.assertEqual(len(usages(s, "fs_used")), 2)

    def test_usages_of_an_unused_connection_are_empty(self):
        self.server.create_connection("fs_unused")
        self.assertEqual(usages(self.server, "fs_unused"), [])

    def test_usages_of_an_unknown_connection_are_not_found(self):
        self.assertError(self.server.api("GET", "/admin/connections/no_such/usages"), 404,
                         "NotFound")

    def test_usages_are_admin_only(self):
        self.server.create_connection("fs_usages_admin")
        r = self.server.api("GET", "/admin/connections/fs_usages_admin/usages", key=self.user_key)
        self.assertError(r, 403, "Forbidden")

    def test_delete_of_a_used_connection_is_conflict_listing_datasets(self):
        s = self.server
        s.create_connection("fs_guarded")
        make_project(s, "GUARD")
        make_dataset(s, "GUARD", "sales_2023", connection="fs_guarded")
        make_dataset(s, "GUARD", "sales_2024", connection="fs_guarded")
        r = s.api("DELETE", "/admin/connections/fs_guarded")
        self.assertError(r, 409, "Conflict")
        for name in ("sales_2023", "sales_2024"):
            self.assertIn(name, r.json["detailedMessage"])
        self.assertStatus(s.api("GET", "/admin/connections/fs_guarded"), 200)
        for force in ("false", "no", ""):
            with self.subTest(force=force):
                r = s.api("DELETE", "/admin/connections/fs_guarded?force=" + force)
                self.assertError(r, 409, "Conflict")

    def test_delete_guard_names_at_most_twenty_then_counts_the_rest(self):
        s = self.server
        s.create_connection("fs_crowded")
        make_project(s, "CROWD")
        names = ["dataset_%02d" % i for i in range(1, 26)]
        for n in names:
            make_dataset(s, "CROWD", n, connection="fs_crowded")
        r = s.api("DELETE", "/admin/connections/fs_crowded")
        self.assertError(r, 409, "Conflict")
        message = r.json["detailedMessage"]
        named = [n for n in names if n in message]
        self.assertEqual(len(named), 20, "datasets named in the message: %d; %s"
                         % (len(named), self.describe(r)))
        self.assertIn("5 more", message)
        self.assertEqual(len(usages(s, "fs_crowded")), 25)

    def test_force_deletes_a_used_connection(self):
        s = self.server
        s.create_connection("fs_forced")
        make_project(s, "FORCE")
        make_dataset(s, "FORCE", "d1", connection="fs_forced")
        r = s.api("DELETE", "/admin/connections/fs_forced?force=true")
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertEqual(r.json, {})
        self.assertError(s.api("GET", "/admin/connections/fs_forced"), 404, "NotFound")
        h = s.api("GET", "/admin/connections/fs_forced/history").json
        self.assertEqual([v["action"] for v in h], ["create", "delete"])

    def test_unused_connection_deletes_with_an_empty_object(self):
        self.server.create_connection("fs_free")
        r = self.server.api("DELETE", "/admin/connections/fs_free")
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertEqual(r.json, {})

    def test_connection_deletes_cleanly_once_its_project_is_deleted(self):
        s = self.server
        s.create_connection("fs_project_bound")
        make_project(s, "BOUND")
        for n in ("a", "b", "c"):
            make_dataset(s, "BOUND", n, connection="fs_project_bound")
        self.assertError(s.api("DELETE", "/admin/connections/fs_project_bound"), 409, "Conflict")
        r = s.api("DELETE", "/projects/BOUND")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})
        self.assertEqual(usages(s, "fs_project_bound"), [])
        r = s.api("DELETE", "/admin/connections/fs_project_bound")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})

    def test_import_with_guards_refuses_missing_required_params(self):
        r = self.server.api("POST", "/admin/connections/actions/import",
                            {"connections": [{"name": "imp_guarded_pg", "type": "PostgreSQL",
                                              "params": {"db": "x"}}]})
        self.assertStatus(r, 200)
        self.assertEqual([e["name"] for e in r.json["errors"]], ["imp_guarded_pg"])
        self.assertIn("params.host", r.json["errors"][0]["message"])
        self.assertEqual(r.json["created"], [])


class DeleteInUseTest(ServerTestCase):
    """Write guards off (the default, as DSS): a connection that datasets use is deleted; the
    datasets keep naming it."""

    def test_delete_of_a_used_connection_succeeds_and_datasets_keep_naming_it(self):
        s = self.server
        s.create_connection("fs_in_use")
        make_project(s, "INUSE")
        make_dataset(s, "INUSE", "orders", connection="fs_in_use")
        r = s.api("DELETE", "/admin/connections/fs_in_use")
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {})
        self.assertError(s.api("GET", "/admin/connections/fs_in_use"), 404, "NotFound")
        self.assertEqual(connection_of(s, "INUSE", "orders"), "fs_in_use")
        h = s.api("GET", "/admin/connections/fs_in_use/history").json
        self.assertEqual([v["action"] for v in h], ["create", "delete"])
        # recreated under the same name, the datasets use it again
        s.create_connection("fs_in_use")
        self.assertEqual([u["datasetName"] for u in usages(s, "fs_in_use")], ["orders"])

    def test_force_false_changes_nothing_without_guards(self):
        s = self.server
        s.create_connection("fs_in_use_2")
        make_project(s, "INUSE2")
        make_dataset(s, "INUSE2", "d", connection="fs_in_use_2")
        self.assertStatus(s.api("DELETE", "/admin/connections/fs_in_use_2?force=false"), 200)


FS_NAMES = ["raw_orders", "raw_customers", "clean_orders", "clean_customers", "report"]


class ChangeConnectionTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        for g in ("g_writers", "g_readers", "g_special"):
            s.create_group(g)
        cls.writer_key = s.user_with_key("cc_writer", groups=["g_writers"])
        cls.reader_key = s.user_with_key("cc_reader", groups=["g_readers"])
        cls.other_key = s.user_with_key("cc_other")
        s.create_connection("fs_old")
        s.create_connection("fs_new")
        s.create_connection("fs_spare")
        s.create_connection("pg_conn", type="PostgreSQL",
                            params={"host": "db.example.com", "db": "dw"})
        s.create_connection("fs_restricted", usableBy="ALLOWED", allowedGroups=["g_special"])
        s.create_connection("fs_nomanaged", allowManagedDatasets=False)

    def scenario_project(self, key, perms=()):
        """5 Filesystem datasets on fs_old and one PostgreSQL dataset on pg_conn."""
        s = self.server
        make_project(s, key, owner="nobody", permissions=perms)
        for n in FS_NAMES:
            make_dataset(s, key, n, connection="fs_old",
                         schema={"columns": [{"name": "id", "type": "int"}]},
                         customKeepMe={"n": n})
        make_dataset(s, key, "warehouse_table", type="PostgreSQL", connection="pg_conn",
                     params={"connection": "pg_conn", "table": "t", "schema": "public"})

    def connections(self, key):
        return {n: connection_of(self.server, key, n) for n in FS_NAMES + ["warehouse_table"]}

    def change(self, key, body, who=ADMIN):
        return self.server.api("POST", "/projects/%s/actions/change-connection" % q(key), body,
                               key=who)

    def walk_and_save(self, project, old, new):
        """The developer guide's mass-change loop, as the DSS client runs it."""
        changed = []
        for ds in project.list_datasets():
            settings = project.get_dataset(ds.name).get_settings()
            raw = settings.get_raw()
            if raw["params"].get("connection") == old:
                raw["params"]["connection"] = new
                settings.save()
                changed.append(ds.name)
        return changed

    def test_acceptance_scenario(self):
        s = self.server
        self.scenario_project("ACCEPT")
        before = {n: get_dataset(s, "ACCEPT", n) for n in FS_NAMES}
        only_fs_old = dict({n: "fs_old" for n in FS_NAMES}, warehouse_table="pg_conn")

        # (a) the guide's walk-and-save loop through the client moves exactly the five
        client = ProjectsClient(s.base_url, s.admin_key)
        self.addCleanup(client.close)
        project = client.get_project("ACCEPT")
        moved = self.walk_and_save(project, "fs_old", "fs_new")
        self.assertEqual(sorted(moved), sorted(FS_NAMES))
        self.assertEqual(self.connections("ACCEPT"),
                         dict({n: "fs_new" for n in FS_NAMES}, warehouse_table="pg_conn"))
        for n in FS_NAMES:
            after = get_dataset(s, "ACCEPT", n)
            self.assertEqual(after["customKeepMe"], {"n": n}, "a field was lost by save()")
            self.assertEqual(after["schema"], before[n]["schema"])
        self.assertEqual(usages(s, "fs_old"), [])
        self.assertEqual(len(usages(s, "fs_new")), 5)
        # and back, for the next parts
        self.assertEqual(sorted(self.walk_and_save(project, "fs_new", "fs_old")), sorted(FS_NAMES))
        self.assertEqual(self.connections("ACCEPT"), only_fs_old)

        # (b) the server-side action with dryRun reports and changes nothing
        r = self.change("ACCEPT", {"from": "fs_old", "to": "fs_new", "dryRun": True})
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertEqual(sorted(r.json.get("changed", [])), sorted(FS_NAMES))
        self.assertIs(r.json.get("dryRun"), True)
        self.assertIsInstance(r.json.get("skipped"), list)
        self.assertEqual(self.connections("ACCEPT"), only_fs_old)
        self.assertEqual(len(usages(s, "fs_old")), 5)

        # (c) a type-mismatched target fails the whole call, naming a dataset (dry run too)
        for dry in (False, True):
            r = self.change("ACCEPT", {"from": "fs_old", "to": "pg_conn", "dryRun": dry})
            self.assertError(r, 400, "BadRequest")
            self.assertTrue(any(n in r.json["detailedMessage"] for n in FS_NAMES),
                            "no dataset named: %s" % self.describe(r))
            self.assertEqual(self.connections("ACCEPT"), only_fs_old)

        # (d) the real move
        r = self.change("ACCEPT", {"from": "fs_old", "to": "fs_new"})
        self.assertStatus(r, 200)
        self.assertEqual(sorted(r.json["changed"]), sorted(FS_NAMES))
        self.assertIs(r.json["dryRun"], False)
        self.assertEqual(self.connections("ACCEPT"),
                         dict({n: "fs_new" for n in FS_NAMES}, warehouse_table="pg_conn"))
        for n in FS_NAMES:
            self.assertEqual(get_dataset(s, "ACCEPT", n)["customKeepMe"], {"n": n})
        self.assertEqual(usages(s, "fs_old"), [])
        self.assertEqual(sorted(u["datasetName"] for u in usages(s, "fs_new")), sorted(FS_NAMES))

    def test_listed_datasets_only(self):
        self.scenario_project("LISTED")
        r = self.change("LISTED", {"from": "fs_old", "to": "fs_new",
                                   "datasets": ["raw_orders", "report", "warehouse_table"]})
        self.assertStatus(r, 200)
        self.assertEqual(sorted(r.json["changed"]), ["raw_orders", "report"])
        skipped = r.json["skipped"]
        self.assertEqual([x.get("name") for x in skipped], ["warehouse_table"])
        self.assertTrue(isinstance(skipped[0].get("reason"), str) and skipped[0]["reason"])
        self.assertIs(r.json["dryRun"], False)
        got = self.connections("LISTED")
        self.assertEqual(got["raw_orders"], "fs_new")
        self.assertEqual(got["report"], "fs_new")
        for n in ("raw_customers", "clean_orders", "clean_customers"):
            self.assertEqual(got[n], "fs_old")
        self.assertEqual(got["warehouse_table"], "pg_conn")

    def test_unknown_listed_dataset_is_bad_request(self):
        self.scenario_project("UNLISTED")
        r = self.change("UNLISTED", {"from": "fs_old", "to": "fs_new",
                                     "datasets": ["raw_orders", "no_such_dataset"]})
        self.assertError(r, 400, "BadRequest", mentions="no_such_dataset")
        self.assertEqual(connection_of(self.server, "UNLISTED", "raw_orders"), "fs_old")

    def test_missing_target_fails_the_whole_call(self):
        self.scenario_project("MISSING")
        r = self.change("MISSING", {"from": "fs_old", "to": "fs_ghost"})
        self.assertError(r, 400, "BadRequest", mentions="fs_ghost")
        self.assertTrue(any(n in r.json["detailedMessage"] for n in FS_NAMES),
                        "no dataset named: %s" % self.describe(r))
        self.assertEqual(set(self.connections("MISSING")[n] for n in FS_NAMES), {"fs_old"})

    def test_target_not_usable_by_the_caller_fails_the_whole_call(self):
        self.scenario_project("UNUSABLE", perms=[perm("g_writers", write=True)])
        r = self.change("UNUSABLE", {"from": "fs_old", "to": "fs_restricted"},
                        who=self.writer_key)
        self.assertError(r, 400, "BadRequest", mentions="fs_restricted")
        self.assertTrue(any(n in r.json["detailedMessage"] for n in FS_NAMES),
                        "no dataset named: %s" % self.describe(r))
        self.assertEqual(set(self.connections("UNUSABLE")[n] for n in FS_NAMES), {"fs_old"})
        # the same writer may move them to a connection usable by all
        r = self.change("UNUSABLE", {"from": "fs_old", "to": "fs_new"}, who=self.writer_key)
        self.assertStatus(r, 200)
        self.assertEqual(sorted(r.json["changed"]), sorted(FS_NAMES))

    def test_one_failing_dataset_changes_nothing(self):
        s = self.server
        make_project(s, "ATOMIC")
        make_dataset(s, "ATOMIC", "a_plain", connection="fs_old")
        make_dataset(s, "ATOMIC", "b_plain", connection="fs_old")
        make_dataset(s, "ATOMIC", "z_managed", connection="fs_old", managed=True)
        r = self.change("ATOMIC", {"from": "fs_old", "to": "fs_nomanaged"})
        self.assertError(r, 400, "BadRequest", mentions="z_managed")
        for n in ("a_plain", "b_plain", "z_managed"):
            self.assertEqual(connection_of(s, "ATOMIC", n), "fs_old")
        self.assertEqual(len([u for u in usages(s, "fs_old") if u["projectKey"] == "ATOMIC"]),
                         3)

    def test_change_connection_needs_a_writer(self):
        self.scenario_project("CCPERM", perms=[perm("g_readers", read=True),
                                               perm("g_writers", write=True)])
        for who, key in (("reader", self.reader_key), ("other", self.other_key)):
            with self.subTest(who=who):
                for dry in (True, False):
                    r = self.change("CCPERM", {"from": "fs_old", "to": "fs_new", "dryRun": dry},
                                    who=key)
                    self.assertError(r, 403, "Forbidden")
        self.assertEqual(set(self.connections("CCPERM")[n] for n in FS_NAMES), {"fs_old"})
        r = self.change("CCPERM", {"from": "fs_old", "to": "fs_new", "dryRun": True},
                        who=self.writer_key)
        self.assertStatus(r, 200)
        self.assertEqual(sorted(r.json["changed"]), sorted(FS_NAMES))

    def test_change_connection_of_unknown_project_is_not_found(self):
        self.assertError(self.change("NO_SUCH", {"from": "fs_old", "to": "fs_new"}), 404,
                         "NotFound")

    def test_invalid_change_connection_bodies_are_bad_requests(self):
        make_project(self.server, "CCBAD")
        for body in ({"to": "fs_new"}, {"from": "fs_old"}, {"from": 1, "to": "fs_new"},
                     {"from": "fs_old", "to": "fs_new", "datasets": "raw_orders"},
                     {"from": "fs_old", "to": "fs_new", "dryRun": "yes"}, []):
            with self.subTest(body=body):
                self.assertError(self.change("CCBAD", body), 400, "BadRequest")

    def test_moved_datasets_free_the_old_connection(self):
        s = self.server
        s.create_connection("fs_retiring")
        make_project(s, "RETIRE")
        for n in ("x", "y"):
            make_dataset(s, "RETIRE", n, connection="fs_retiring")
        self.assertEqual(len(usages(s, "fs_retiring")), 2)
        r = self.change("RETIRE", {"from": "fs_retiring", "to": "fs_spare"})
        self.assertStatus(r, 200)
        self.assertEqual(sorted(r.json["changed"]), ["x", "y"])
        self.assertEqual(usages(s, "fs_retiring"), [])
        self.assertStatus(s.api("DELETE", "/admin/connections/fs_retiring"), 200)


class HistoryRevertTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        cls.user_key = s.user_with_key("hist_user")
        cls.admin_login = s.auth_info()["authIdentifier"]
        cls.admin2_key = s.create_key(admin=True, label="second admin")["key"]
        cls.admin2_login = s.auth_info(cls.admin2_key)["authIdentifier"]

    def secret(self, tag):
        value = "pw-%s-%s" % (tag, random_key(16))
        self.server.remember_secret(value)
        return value

    def history(self, name, key=ADMIN):
        r = self.server.api("GET", "/admin/connections/%s/history" % q(name), key=key)
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertIsInstance(r.json, list)
        return r

    def revert(self, name, version, key=ADMIN):
        return self.server.api("POST", "/admin/connections/%s/actions/revert" % q(name),
                               {"versionNumber": version}, key=key)

    def info_password(self, name):
        r = self.server.api("GET", "/connections/%s/info" % q(name))
        self.assertStatus(r, 200)
        return r.json["resolvedParams"].get("password"), r.json.get("resolvedBasicCredential")

    def test_every_change_stores_a_version(self):
        s = self.server
        pw1, pw2 = self.secret("one"), self.secret("two")
        t0 = int(time.time() * 1000) - 5000
        s.create_connection("pg_hist", type="PostgreSQL",
                            params={"host": "h1", "user": "u", "password": pw1})
        d = s.api("GET", "/admin/connections/pg_hist").json
        d["params"]["host"] = "h2"
        d["params"]["password"] = pw2
        r = s.api("PUT", "/admin/connections/pg_hist", d, key=self.admin2_key)
        self.assertStatus(r, 200)
        r = s.api("DELETE", "/admin/connections/pg_hist")
        self.assertStatus(r, 200)
        t1 = int(time.time() * 1000) + 5000
        r = self.history("pg_hist")
        self.assertNoSecret(r.raw, pw1, "the history")
        self.assertNoSecret(r.raw, pw2, "the history")
        h = r.json
        self.assertEqual([v.get("versionNumber") for v in h], [1, 2, 3])
        self.assertEqual([v.get("action") for v in h], ["create", "update", "delete"])
        self.assertEqual([v.get("modifiedBy") for v in h],
                         [self.admin_login, self.admin2_login, self.admin_login])
        stamps = [v.get("modifiedOn") for v in h]
        for t in stamps:
            self.assertIsInstance(t, int)
            self.assertTrue(t0 <= t <= t1, "modifiedOn %r is not epoch milliseconds now" % t)
        self.assertEqual(stamps, sorted(stamps))
        for v in h:
            d = v.get("definition")
            self.assertIsInstance(d, dict)
            self.assertEqual(d.get("name"), "pg_hist")
            self.assertEqual(d.get("type"), "PostgreSQL")
            self.assertEqual(d["params"].get("port"), "5432")
            self.assertRegex(d["params"].get("password", ""), r"^e:xc1:")
            self.assertIn("usableBy", d)
        self.assertEqual(h[0]["definition"]["params"]["host"], "h1")
        self.assertEqual(h[1]["definition"]["params"]["host"], "h2")
        # re-created under the same name: the versions continue
        s.create_connection("pg_hist", type="PostgreSQL", params={"host": "h3"})
        h = self.history("pg_hist").json
        self.assertEqual([v["versionNumber"] for v in h], [1, 2, 3, 4])
        self.assertEqual([v["action"] for v in h], ["create", "update", "delete", "create"])
        self.assertEqual(h[3]["definition"]["params"]["host"], "h3")
        self.assertEqual(
            s.api("GET", "/admin/connections/pg_hist").json["creationTag"]["versionNumber"], 4)

    def test_create_update_delete_recreate_versions(self):
        s = self.server
        s.create_connection("fs_cycle")
        d = s.api("GET", "/admin/connections/fs_cycle").json
        d["description"] = "v2"
        self.assertStatus(s.api("PUT", "/admin/connections/fs_cycle", d), 200)
        self.assertStatus(s.api("DELETE", "/admin/connections/fs_cycle"), 200)
        self.assertEqual([v["versionNumber"] for v in self.history("fs_cycle").json],
                         [1, 2, 3], "history survives deletion")
        created = s.create_connection("fs_cycle", description="v4")
        self.assertEqual(created["creationTag"]["versionNumber"], 4)
        d = s.api("GET", "/admin/connections/fs_cycle").json
        d["description"] = "v5"
        r = s.api("PUT", "/admin/connections/fs_cycle", d)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 5)
        self.assertEqual([(v["versionNumber"], v["action"])
                          for v in self.history("fs_cycle").json],
                         [(1, "create"), (2, "update"), (3, "delete"), (4, "create"),
                          (5, "update")])

    def test_revert_creates_a_new_version_with_the_old_secrets(self):
        s = self.server
        pw1, pw2 = self.secret("old"), self.secret("new")
        s.create_connection("pg_revert", type="PostgreSQL", description="first",
                            params={"host": "h1", "user": "etl", "password": pw1})
        self.assertEqual(self.info_password("pg_revert")[0], pw1)
        d = s.api("GET", "/admin/connections/pg_revert").json
        d["params"].update({"host": "h2", "password": pw2})
        d["description"] = "second"
        d["allowWrite"] = False
        self.assertStatus(s.api("PUT", "/admin/connections/pg_revert", d), 200)
        password, cred = self.info_password("pg_revert")
        self.assertEqual(password, pw2)
        v1 = self.history("pg_revert").json[0]["definition"]

        r = self.revert("pg_revert", 1)
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertNoSecret(r.raw, pw1, "the revert answer")
        self.assertEqual(r.json["creationTag"]["versionNumber"], 3)
        self.assertEqual(r.json["description"], "first")
        self.assertIs(r.json["allowWrite"], True)
        self.assertEqual(r.json["params"]["host"], "h1")
        self.assertRegex(r.json["params"]["password"], r"^e:xc1:")
        got = s.api("GET", "/admin/connections/pg_revert").json
        self.assertEqual(got["creationTag"]["versionNumber"], 3)
        strip = lambda d: {k: v for k, v in d.items() if k != "creationTag"}
        self.assertSameJson(strip(got), strip(v1), "reverted definition vs version 1")
        password, cred = self.info_password("pg_revert")
        self.assertEqual(password, pw1, "the old password is not back")
        self.assertEqual(cred, {"user": "etl", "password": pw1})
        h = self.history("pg_revert").json
        self.assertEqual([(v["versionNumber"], v["action"]) for v in h],
                         [(1, "create"), (2, "update"), (3, "revert")])
        self.assertEqual(h[2]["modifiedBy"], self.admin_login)
        self.assertSameJson(strip(h[2]["definition"]), strip(v1), "history of the revert")
        # a whole-definition PUT of what was read back keeps the reverted secret
        self.assertStatus(s.api("PUT", "/admin/connections/pg_revert", got), 200)
        self.assertEqual(self.info_password("pg_revert")[0], pw1)
        # reverting to the newest version brings the second password back
        r = self.revert("pg_revert", 2)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 5)
        self.assertEqual(self.info_password("pg_revert")[0], pw2)

    def test_revert_restores_a_deleted_connection(self):
        s = self.server
        pw = self.secret("deleted")
        s.create_connection("pg_gone", type="PostgreSQL",
                            params={"host": "h", "user": "u", "password": pw})
        self.assertStatus(s.api("DELETE", "/admin/connections/pg_gone"), 200)
        self.assertError(s.api("GET", "/admin/connections/pg_gone"), 404, "NotFound")
        r = self.revert("pg_gone", 1, key=self.admin2_key)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 3)
        self.assertEqual(r.json["creationTag"]["lastModifiedBy"], {"login": self.admin2_login})
        got = s.api("GET", "/admin/connections/pg_gone")
        self.assertStatus(got, 200)
        self.assertEqual(got.json["params"]["host"], "h")
        self.assertEqual(self.info_password("pg_gone")[0], pw)
        self.assertIn("pg_gone", connection_names(s))
        h = self.history("pg_gone").json
        self.assertEqual([(v["versionNumber"], v["action"], v["modifiedBy"]) for v in h],
                         [(1, "create", self.admin_login), (2, "delete", self.admin_login),
                          (3, "revert", self.admin2_login)])

    def test_revert_to_an_unknown_version_is_not_found(self):
        s = self.server
        s.create_connection("fs_short_history")
        for v in (0, 2, 99, -1):
            with self.subTest(version=v):
                self.assertError(self.revert("fs_short_history", v), 404, "NotFound")
        self.assertEqual(len(self.history("fs_short_history").json), 1)
        self.assertError(self.revert("never_existed", 1), 404, "NotFound")
        self.assertError(s.api("GET", "/admin/connections/never_existed/history"), 404,
                         "NotFound")

    def test_revert_needs_a_version_number(self):
        self.server.create_connection("fs_revert_body")
        for body in ({}, {"versionNumber": "1"}, {"versionNumber": 1.5}, []):
            with self.subTest(body=body):
                r = self.server.api("POST", "/admin/connections/fs_revert_body/actions/revert",
                                    body)
                self.assertError(r, 400, "BadRequest")

    def test_history_and_revert_are_admin_only(self):
        self.server.create_connection("fs_admin_only")
        r = self.server.api("GET", "/admin/connections/fs_admin_only/history", key=self.user_key)
        self.assertError(r, 403, "Forbidden")
        self.assertError(self.revert("fs_admin_only", 1, key=self.user_key), 403, "Forbidden")
        self.assertEqual(len(self.history("fs_admin_only").json), 1)


class ImportTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user_key = cls.server.user_with_key("import_user")

    def do_import(self, connections, key=ADMIN, **fields):
        body = {"connections": connections}
        body.update(fields)
        return self.server.api("POST", "/admin/connections/actions/import", body, key=key)

    def assertImport(self, r, created=(), updated=(), skipped=(), errors=(), dry_run=False):
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        j = r.json
        for field in ("created", "updated", "skipped", "errors"):
            self.assertIsInstance(j.get(field), list, "%s: %s" % (field, self.describe(r)))
        self.assertEqual(sorted(j["created"]), sorted(created), "created")
        self.assertEqual(sorted(j["updated"]), sorted(updated), "updated")
        self.assertEqual(sorted(j["skipped"]), sorted(skipped), "skipped")
        self.assertEqual(sorted(e.get("name") for e in j["errors"]), sorted(errors),
                         "errors: %s" % self.describe(r))
        for e in j["errors"]:
            self.assertTrue(isinstance(e.get("message"), str) and e["message"])
        self.assertIs(j.get("dryRun"), dry_run)

    def test_acceptance_two_hundred_with_one_bad(self):
        s = self.server
        good = [fs_def("bulk_%03d" % i, description="item %d" % i) for i in range(200)]
        bad = {"name": "bulk_bad", "type": "NoSuchType", "params": {}}
        r = self.do_import(good[:100] + [bad] + good[100:], onConflict="fail")
        self.assertImport(r, errors=["bulk_bad"])
        self.assertIn("NoSuchType", r.json["errors"][0]["message"])
        names = connection_names(s)
        self.assertEqual([n for n in names if n.startswith("bulk_")], [])
        for n in ("bulk_000", "bulk_199"):
            self.assertError(s.api("GET", "/admin/connections/%s/history" % n), 404, "NotFound")

        r = self.do_import(good, onConflict="fail")
        self.assertImport(r, created=[g["name"] for g in good])
        names = connection_names(s)
        self.assertEqual(sorted(n for n in names if n.startswith("bulk_")),
                         sorted(g["name"] for g in good))
        got = s.api("GET", "/admin/connections/bulk_123").json
        self.assertEqual(got["description"], "item 123")
        self.assertEqual(got["params"]["root"], "/tmp/bulk_123")
        self.assertEqual(got["creationTag"]["versionNumber"], 1)
        h = s.api("GET", "/admin/connections/bulk_123/history").json
        self.assertEqual([(v["versionNumber"], v["action"]) for v in h], [(1, "create")])

    def test_every_failing_item_is_reported_and_validated_as_a_single_create(self):
        s = self.server
        s.create_connection("imp_existing")
        bad = [
            {"name": "imp_unknown_type", "type": "Nope"},
            {"name": "bad name!", "type": "Filesystem", "params": {"root": "/x"}},
            {"name": ".hidden", "type": "Filesystem", "params": {"root": "/x"}},
            {"name": "imp_bad_field", "type": "Filesystem", "allowWrite": "yes"},
            fs_def("imp_existing"),
        ]
        for b in bad[:4]:
            with self.subTest(single_create=b["name"]):
                self.assertError(s.api("POST", "/admin/connections/", b), 400, "BadRequest")
        # without write guards, params still to fill in are accepted, as by a single create
        good = [fs_def("imp_ok_1"), {"name": "imp_ok_pg", "type": "PostgreSQL",
                                     "params": {"host": "localhost"}},
                {"name": "imp_fs_no_root", "type": "Filesystem", "params": {}},
                {"name": "imp_pg_no_host", "type": "PostgreSQL", "params": {"db": "x"}}]
        r = self.do_import(good + bad)            # onConflict defaults to fail
        self.assertImport(r, errors=[b["name"] for b in bad])
        self.assertFalse({g["name"] for g in good} & connection_names(s))
        self.assertEqual(s.api("GET", "/admin/connections/imp_existing").json
                         ["creationTag"]["versionNumber"], 1)
        # the good ones alone go in, with the defaults a single create gives
        r = self.do_import(good)
        self.assertImport(r, created=[g["name"] for g in good])
        pg = s.api("GET", "/admin/connections/imp_ok_pg").json
        self.assertEqual(pg["params"]["port"], "5432")
        self.assertEqual(pg["usableBy"], "ALL")

    def test_non_object_items_and_repeated_names_are_errors(self):
        s = self.server
        r = self.do_import([fs_def("odd_ok"), "not a definition", 42])
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json["errors"]), 2, self.describe(r))
        self.assertEqual(r.json["created"], [])
        self.assertNotIn("odd_ok", connection_names(s))
        r = self.do_import([fs_def("twin"), fs_def("twin", description="again")])
        self.assertImport(r, errors=["twin"])
        self.assertNotIn("twin", connection_names(s))

    def test_export_then_overwrite_import_keeps_secrets(self):
        s = self.server
        pw = "exp-" + random_key(16)
        s.remember_secret(pw)
        s.create_connection("exp_pg", type="PostgreSQL",
                            params={"host": "h", "user": "u", "password": pw})
        s.create_connection("exp_fs")
        exported = [d for n, d in s.api("GET", "/admin/connections/").json.items()
                    if n.startswith("exp_")]
        r = self.do_import(exported, onConflict="overwrite")
        self.assertImport(r, updated=["exp_pg", "exp_fs"])
        got = s.api("GET", "/admin/connections/exp_pg").json
        self.assertEqual(got["creationTag"]["versionNumber"], 2)
        self.assertRegex(got["params"]["password"], r"^e:xc1:")
        info = s.api("GET", "/connections/exp_pg/info").json
        self.assertEqual(info["resolvedParams"]["password"], pw,
                         "the password was lost or encrypted twice")

    def test_default_on_conflict_is_fail(self):
        s = self.server
        s.create_connection("def_existing", description="orig")
        r = self.do_import([fs_def("def_existing", description="new"), fs_def("def_new")])
        self.assertImport(r, errors=["def_existing"])
        self.assertNotIn("def_new", connection_names(s))
        self.assertEqual(s.api("GET", "/admin/connections/def_existing").json["description"],
                         "orig")

    def test_skip_keeps_existing_connections(self):
        s = self.server
        s.create_connection("skip_existing", description="orig")
        r = self.do_import([fs_def("skip_existing", description="new"), fs_def("skip_new")],
                           onConflict="skip")
        self.assertImport(r, created=["skip_new"], skipped=["skip_existing"])
        got = s.api("GET", "/admin/connections/skip_existing").json
        self.assertEqual(got["description"], "orig")
        self.assertEqual(got["creationTag"]["versionNumber"], 1)
        self.assertIn("skip_new", connection_names(s))

    def test_overwrite_replaces_existing_connections(self):
        s = self.server
        pw_old, pw_new = "imp-old-" + random_key(12), "imp-new-" + random_key(12)
        s.remember_secret(pw_old)
        s.remember_secret(pw_new)
        s.create_connection("ow_existing", type="PostgreSQL", description="orig",
                            params={"host": "h1", "user": "u", "password": pw_old})
        r = self.do_import([{"name": "ow_existing", "type": "PostgreSQL", "description": "new",
                             "params": {"host": "h2", "user": "u", "password": pw_new}},
                            fs_def("ow_new")], onConflict="overwrite")
        self.assertImport(r, created=["ow_new"], updated=["ow_existing"])
        self.assertNoSecret(r.raw, pw_new, "the import answer")
        got = s.api("GET", "/admin/connections/ow_existing")
        self.assertNoSecret(got.raw, pw_new, "an admin read")
        got = got.json
        self.assertEqual(got["description"], "new")
        self.assertEqual(got["params"]["host"], "h2")
        self.assertRegex(got["params"]["password"], r"^e:xc1:")
        self.assertEqual(got["creationTag"]["versionNumber"], 2)
        info = s.api("GET", "/connections/ow_existing/info").json
        self.assertEqual(info["resolvedParams"]["password"], pw_new)
        h = s.api("GET", "/admin/connections/ow_existing/history").json
        self.assertEqual([(v["versionNumber"], v["action"]) for v in h],
                         [(1, "create"), (2, "update")])

    def test_dry_run_changes_nothing(self):
        s = self.server
        s.create_connection("dry_existing", description="orig")
        before = s.api("GET", "/admin/connections/").json
        for mode, expect in (("fail", dict(created=["dry_new"], errors=["dry_existing"])),
                             ("skip", dict(created=["dry_new"], skipped=["dry_existing"])),
                             ("overwrite", dict(created=["dry_new"],
                                                updated=["dry_existing"]))):
            with self.subTest(onConflict=mode):
                r = self.do_import([fs_def("dry_existing", description="new"),
                                    fs_def("dry_new")], onConflict=mode, dryRun=True)
                self.assertImport(r, dry_run=True, **expect)
                self.assertSameJson(s.api("GET", "/admin/connections/").json, before,
                                    "connections after a dry run")
                self.assertEqual(len(s.api("GET", "/admin/connections/dry_existing/history")
                                     .json), 1)
                self.assertError(s.api("GET", "/admin/connections/dry_new/history"), 404,
                                 "NotFound")

    def test_invalid_import_bodies_are_bad_requests(self):
        for body in ({}, {"connections": {}}, {"connections": [], "onConflict": "replace"},
                     {"connections": [], "dryRun": "yes"}, []):
            with self.subTest(body=body):
                r = self.server.api("POST", "/admin/connections/actions/import", body)
                self.assertError(r, 400, "BadRequest")

    def test_import_is_admin_only(self):
        r = self.do_import([fs_def("by_user")], key=self.user_key)
        self.assertError(r, 403, "Forbidden")
        self.assertNotIn("by_user", connection_names(self.server))


if __name__ == "__main__":
    import unittest
    unittest.main()
