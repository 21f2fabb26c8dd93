# SPDX-License-Identifier: Apache-2.0
"""The audit trail: records of changes and of /info reads (success and denied), their
fields, audit.log as JSON lines equal to the API, paging with limit/before, and access."""

import json
import os
import time
import unittest

from server import OwnServerTestCase, ServerTestCase, random_key

FIELDS = {"ts", "principal", "action", "object", "outcome", "remoteAddr", "requestId"}


class AuditTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_group("data_team")
        cls.ana_key = s.user_with_key("aud_ana", groups=["data_team"])
        cls.global_key = s.create_key(admin=False, groups=["data_team"], label="aud")["key"]
        cls.admin_ident = s.auth_info()["authIdentifier"]

    # ---- helpers -----------------------------------------------------------------------

    def audit(self, query="?limit=1000"):
        r = self.server.api("GET", "/admin/audit" + query)
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json, list)
        return r.json

    def since(self, t0):
        """Records with ts >= t0 (ms), oldest first."""
        return [rec for rec in reversed(self.audit()) if rec["ts"] >= t0]

    def now_ms(self):
        return int(time.time() * 1000)

    def find(self, records, action_word, obj, outcome=None, principal=None):
        found = [rec for rec in records
                 if action_word in rec["action"].lower() and rec["object"] == obj
                 and (outcome is None or rec["outcome"] == outcome)
                 and (principal is None or rec["principal"] == principal)]
        if not found:
            self.fail("no audit record with action ~%r, object %r, outcome %r, principal %r "
                      "among: %s" % (action_word, obj, outcome, principal,
                                     self.server.redact(records, 3000)))
        return found[-1]

    def assertRecord(self, rec, t0, t1):
        self.assertEqual(set(rec), FIELDS)
        self.assertIsInstance(rec["ts"], int)
        self.assertGreaterEqual(rec["ts"], t0 - 5)
        self.assertLessEqual(rec["ts"], t1 + 5)
        self.assertEqual(rec["remoteAddr"], "127.0.0.1")
        for f in ("principal", "action", "object", "outcome"):
            self.assertIsInstance(rec[f], str, f)
            self.assertTrue(rec[f], f)

    # ---- records -------------------------------------------------------------------------

    def test_connection_create_update_delete_are_recorded(self):
        t0 = self.now_ms()
        created = self.server.create_connection("aud_crud")
        self.assertStatus(self.server.api("PUT", "/admin/connections/aud_crud",
                                          dict(created, description="v2")), 200)
        self.assertStatus(self.server.api("DELETE", "/admin/connections/aud_crud"), 200)
        t1 = self.now_ms()
        recs = self.since(t0)
        c = self.find(recs, "create", "aud_crud", "success", self.admin_ident)
        u = self.find(recs, "update", "aud_crud", "success", self.admin_ident)
        d = self.find(recs, "delete", "aud_crud", "success", self.admin_ident)
        for rec in (c, u, d):
            self.assertRecord(rec, t0, t1)
        self.assertLessEqual(c["ts"], u["ts"])
        self.assertLessEqual(u["ts"], d["ts"])
        self.assertEqual(len({c["action"], u["action"], d["action"]}), 3)

    def test_info_reads_are_recorded_as_success_and_denied(self):
        self.server.create_connection("aud_readable", detailsReadability={
            "readableBy": "ALL", "allowedGroups": []})
        self.server.create_connection("aud_hidden")  # readableBy NONE
        t0 = self.now_ms()
        self.assertStatus(self.server.api("GET", "/connections/aud_readable/info",
                                          key=self.ana_key), 200)
        self.assertStatus(self.server.api("GET", "/connections/aud_hidden/info",
                                          key=self.ana_key), 403)
        self.assertStatus(self.server.api("GET", "/connections/aud_hidden/info",
                                          key=self.global_key), 403)
        self.assertStatus(self.server.api("GET", "/connections/aud_hidden/info"), 200)
        t1 = self.now_ms()
        recs = self.since(t0)
        ok = self.find(recs, "", "aud_readable", "success", "aud_ana")
        denied = self.find(recs, "", "aud_hidden", "denied", "aud_ana")
        gk_ident = self.server.auth_info(key=self.global_key)["authIdentifier"]
        denied_gk = self.find(recs, "", "aud_hidden", "denied", gk_ident)
        admin_ok = self.find(recs, "", "aud_hidden", "success", self.admin_ident)
        for rec in (ok, denied, denied_gk, admin_ok):
            self.assertRecord(rec, t0, t1)
        self.assertEqual(ok["action"], denied["action"])

    def test_per_user_info_without_credential_is_recorded_as_denied(self):
        self.server.create_connection("aud_pu", type="PostgreSQL", credentialsMode="PER_USER",
                                      detailsReadability={"readableBy": "ALL",
                                                          "allowedGroups": []},
                                      params={"host": "h"})
        t0 = self.now_ms()
        self.assertStatus(self.server.api("GET", "/connections/aud_pu/info",
                                          key=self.ana_key), 403)
        self.find(self.since(t0), "", "aud_pu", "denied", "aud_ana")

    def test_key_user_group_and_variable_changes_are_recorded(self):
        t0 = self.now_ms()
        s = self.server
        gkey = s.create_key(label="aud audited key")
        s.create_group("aud_group")
        g = s.api("GET", "/admin/groups/aud_group").json
        self.assertStatus(s.api("PUT", "/admin/groups/aud_group", dict(g, description="x")), 200)
        s.create_user("aud_user")
        u = s.api("GET", "/admin/users/aud_user").json
        self.assertStatus(s.api("PUT", "/admin/users/aud_user", dict(u, displayName="X")), 200)
        pkey = s.create_personal_key("aud_user")
        self.assertStatus(s.api("DELETE", "/personal-api-keys/" + pkey["id"]), 200)
        self.assertStatus(s.api("PUT", "/admin/variables/", {"aud_var": "1"}), 200)
        self.assertStatus(s.api("DELETE", "/admin/users/aud_user"), 200)
        self.assertStatus(s.api("DELETE", "/admin/groups/aud_group"), 200)
        self.assertStatus(s.api("DELETE", "/admin/global-api-keys/" + gkey["id"]), 200)
        t1 = self.now_ms()
        recs = self.since(t0)
        raw = json.dumps(recs)
        self.assertNoSecret(raw, gkey["key"], "the audit records")
        self.assertNoSecret(raw, pkey["key"], "the audit records")
        for rec in recs:
            self.assertRecord(rec, t0, t1)
            self.assertEqual(rec["outcome"], "success")
            self.assertEqual(rec["principal"], self.admin_ident)
        objects = [rec["object"] for rec in recs]
        for obj in ("aud_group", "aud_user"):
            self.assertGreaterEqual(objects.count(obj), 3, "records of %s: %s"
                                    % (obj, self.server.redact(recs, 3000)))
        self.assertTrue(any(gkey["id"] in o for o in objects), "no record of the global key")
        self.assertTrue(any(pkey["id"] in o for o in objects), "no record of the personal key")
        self.assertTrue(any("variable" in rec["action"].lower() for rec in recs),
                        "no record of the variables change")
        self.assertGreaterEqual(len(recs), 11)

    def test_user_changes_through_current_user_and_own_keys_are_recorded(self):
        t0 = self.now_ms()
        own = self.server.api("GET", "/current-user", key=self.ana_key).json
        own["displayName"] = "Ana " + random_key(4)
        self.assertStatus(self.server.api("PUT", "/current-user", own, key=self.ana_key), 200)
        r = self.server.api("POST", "/personal-api-keys/", {"label": "own", "description": ""},
                            key=self.ana_key)
        self.assertStatus(r, 200)
        self.server.remember_secret(r.json["key"])
        recs = [rec for rec in self.since(t0) if rec["principal"] == "aud_ana"]
        self.assertGreaterEqual(len(recs), 2, self.server.redact(recs))
        self.assertNoSecret(json.dumps(recs), r.json["key"], "the audit records")

    def test_no_secret_in_audit_records(self):
        pw = "aud-pw-" + random_key(24)
        self.server.remember_secret(pw)
        created = self.server.create_connection("aud_secret", type="PostgreSQL", params={
            "host": "h", "user": "u", "password": pw}, detailsReadability={
            "readableBy": "ALL", "allowedGroups": []})
        self.server.api("PUT", "/admin/connections/aud_secret", created)
        self.server.api("GET", "/connections/aud_secret/info", key=self.ana_key)
        self.server.api("DELETE", "/admin/connections/aud_secret")
        r = self.server.api("GET", "/admin/audit?limit=1000")
        self.assertNoSecret(r.raw, pw, "GET /admin/audit")
        with open(os.path.join(self.server.data_dir, "audit.log"), "rb") as f:
            self.assertNoSecret(f.read(), pw, "audit.log")

    # ---- audit.log -------------------------------------------------------------------------

    def test_audit_log_lines_are_json_and_match_the_api(self):
        self.server.create_connection("aud_file")
        self.server.api("GET", "/connections/aud_file/info", key=self.ana_key)
        path = os.path.join(self.server.data_dir, "audit.log")
        self.assertTrue(os.path.isfile(path), "no audit.log in the data directory")
        api = self.audit()
        with open(path, "rb") as f:
            data = f.read()
        self.assertTrue(data.endswith(b"\n"), "audit.log does not end with a newline")
        lines = data.decode("utf-8").split("\n")[:-1]
        records = []
        for i, line in enumerate(lines):
            try:
                records.append(json.loads(line))
            except ValueError:
                self.fail("audit.log line %d is not JSON: %s" % (i + 1, self.server.redact(line)))
            self.assertNotIn("\n", line)
        for rec in records:
            self.assertEqual(set(rec), FIELDS)
        self.assertGreaterEqual(len(records), len(api))
        self.assertSameJson(list(reversed(records))[:len(api)], api,
                            "audit.log (newest first) vs GET /admin/audit")

    def test_read_records_are_written_in_the_same_form_as_every_other_record(self):
        # records of reads are serialised without a JSON tree: each audit.log line must be the
        # compact JSON of its record with the members in the order of the other records, and
        # impersonation must add actingAs after the rest, as for a change
        self.server.create_connection("aud_form", detailsReadability={
            "readableBy": "ALL", "allowedGroups": []})
        rid = "trace/1+2=3:x.y-z_Q"
        self.assertStatus(self.server.api("GET", "/connections/aud_form/info", key=self.ana_key,
                                          headers={"X-Request-Id": rid}), 200)
        self.assertStatus(self.server.api("GET", "/connections/aud_form/info",
                                          headers={"X-DKU-ProxyUser": "aud_ana",
                                                   "X-Request-Id": rid + "-as"}), 200)
        self.assertStatus(self.server.api("GET", "/connections/aud_no_such/info",
                                          key=self.ana_key), 404)
        self.server.create_connection("aud_form_write")  # a change's record, built by jansson
        self.assertStatus(self.server.api("GET", "/admin/audit?limit=1"), 200)  # drains reads
        with open(os.path.join(self.server.data_dir, "audit.log"), "rb") as f:
            lines = f.read().decode("utf-8").split("\n")[:-1]
        order = ["ts", "principal", "action", "object", "outcome", "remoteAddr", "requestId"]
        seen = {}
        for line in lines:
            rec = json.loads(line)
            self.assertEqual(line, json.dumps(rec, separators=(",", ":"), ensure_ascii=False))
            self.assertEqual(list(rec)[:7], order, line)
            self.assertEqual(list(rec)[7:], ["actingAs"] if "actingAs" in rec else [], line)
            seen[rec["requestId"]] = rec
        self.assertEqual(seen[rid]["principal"], "aud_ana")
        self.assertEqual(seen[rid]["object"], "aud_form")
        self.assertEqual(seen[rid]["outcome"], "success")
        acting = seen[rid + "-as"]
        self.assertEqual(acting["principal"], self.admin_ident)
        self.assertEqual(acting["actingAs"], "aud_ana")
        self.assertTrue(any(r["object"] == "aud_form_write" for r in seen.values()))

    # ---- paging ------------------------------------------------------------------------------

    def test_newest_first_and_limit(self):
        for i in range(3):
            self.server.create_connection("aud_order_%d" % i)
            time.sleep(0.003)
        recs = self.audit()
        ts = [rec["ts"] for rec in recs]
        self.assertEqual(ts, sorted(ts, reverse=True), "records are not newest first")
        self.assertEqual([rec["object"] for rec in recs[:3]],
                         ["aud_order_2", "aud_order_1", "aud_order_0"])
        self.assertSameJson(self.audit("?limit=2"), recs[:2], "limit=2")
        self.assertSameJson(self.audit("?limit=1"), recs[:1], "limit=1")
        self.assertGreaterEqual(len(self.audit("")), 1)

    def test_before_pages_through_the_records(self):
        names = ["aud_page_%d" % i for i in range(6)]
        for name in names:
            self.server.create_connection(name)
            time.sleep(0.005)  # distinct timestamps
        newest = self.audit("?limit=6")
        self.assertEqual([rec["object"] for rec in newest], list(reversed(names)))
        pages, before = [], None
        for _ in range(3):
            q = "?limit=2" + ("" if before is None else "&before=%d" % before)
            page = self.audit(q)
            self.assertEqual(len(page), 2, q)
            pages += page
            before = page[-1]["ts"]
        self.assertSameJson(pages, newest, "pages of 2 vs one page of 6")
        # before is exclusive: nothing at or after it
        cut = newest[2]["ts"]
        for rec in self.audit("?limit=1000&before=%d" % cut):
            self.assertLess(rec["ts"], cut)
        self.assertEqual(self.audit("?limit=5&before=1"), [])

    def test_before_zero_returns_nothing(self):
        """before=0: no record is older than the epoch (0 is not "no bound")."""
        self.server.create_connection("aud_before_zero")
        self.assertEqual(self.audit("?limit=5&before=0"), [])

    def test_bad_limit_is_bad_request(self):
        for value in ("0", "abc", "-1", "1.5"):
            with self.subTest(limit=value):
                r = self.server.api("GET", "/admin/audit?limit=" + value)
                self.assertError(r, 400, "BadRequest", mentions="limit")

    def test_non_admins_are_forbidden(self):
        for key in (self.ana_key, self.global_key):
            r = self.server.api("GET", "/admin/audit?limit=5", key=key)
            self.assertError(r, 403, "Forbidden")
        self.assertError(self.server.api("GET", "/admin/audit", key=None), 401, "Unauthorized")

    # ---- filters (principal, action, object: exact match, server side) ----------------------

    def test_filters_match_exactly_and_combine(self):
        for name in ("aud_filt_a", "aud_filt_b"):
            self.server.create_connection(name)
        self.server.api("GET", "/admin/audit?limit=1", key=self.ana_key)  # a denied read by ana
        everything = self.audit("?limit=10000")
        create = self.find(everything, "create", "aud_filt_a")["action"]
        cases = {
            "object": "aud_filt_a",
            "action": create,
            "principal": "aud_ana",
        }
        for field, value in cases.items():
            with self.subTest(field=field):
                got = self.audit("?limit=10000&%s=%s" % (field, value))
                want = [rec for rec in everything if rec[field] == value]
                self.assertTrue(want, field)
                self.assertSameJson(got, want, field)
        # a prefix is not a match, unless it ends with '*'
        self.assertEqual(self.audit("?object=aud_filt_"), [])
        got = self.audit("?limit=10000&object=aud_filt_*")
        self.assertSameJson(got, [rec for rec in everything
                                  if rec["object"].startswith("aud_filt_")], "object prefix")
        self.assertEqual({r["object"] for r in got}, {"aud_filt_a", "aud_filt_b"})
        # '%' and '_' in a prefix are themselves, not patterns
        self.assertEqual(self.audit("?object=aud%25filt*"), [])
        self.assertEqual(self.audit("?object=aud_fil__*"), [])
        # combined: every filter must hold
        both = self.audit("?limit=10000&action=%s&object=aud_filt_b" % create)
        self.assertEqual([(r["action"], r["object"]) for r in both], [(create, "aud_filt_b")])
        self.assertEqual(self.audit("?action=%s&object=aud_filt_b&principal=aud_ana" % create),
                         [])

    def test_paging_with_a_filter(self):
        for i in range(5):
            self.server.create_connection("aud_fpage_%d" % i)
            self.server.create_connection("aud_fother_%d" % i)
            time.sleep(0.005)
        everything = self.audit("?limit=10000")
        create = self.find(everything, "create", "aud_fpage_0")["action"]
        want = [rec for rec in everything
                if rec["action"] == create and rec["object"].startswith("aud_f")][:10]
        self.assertEqual(len(want), 10)
        pages, before = [], None
        for _ in range(5):
            q = "?limit=2&action=" + create + ("" if before is None else "&before=%d" % before)
            page = self.audit(q)
            self.assertEqual(len(page), 2, q)
            self.assertTrue(all(rec["action"] == create for rec in page), q)
            pages += page
            before = page[-1]["ts"]
        # newest first, the filter holds on every page, and pages join up without a gap
        ts = [rec["ts"] for rec in pages]
        self.assertEqual(ts, sorted(ts, reverse=True))
        self.assertSameJson(pages, want, "pages of 2 vs the filtered full list")
        self.assertEqual(sorted(r["object"] for r in pages),
                         sorted("aud_f%s_%d" % (k, i) for k in ("page", "other")
                                for i in range(5)))

    def test_bad_filter_is_bad_request(self):
        for field in ("principal", "action", "object"):
            for value in ("", "*", "a*b", "a**", "x" * 1025):
                with self.subTest(field=field, value=value[:8]):
                    r = self.server.api("GET", "/admin/audit?limit=5&%s=%s" % (field, value))
                    self.assertError(r, 400, "BadRequest", mentions=field)

    def test_non_admins_are_forbidden_with_filters(self):
        r = self.server.api("GET", "/admin/audit?principal=aud_ana", key=self.ana_key)
        self.assertError(r, 403, "Forbidden")

    # ---- failed attempts, recorded alike for every resource -----------------------------

    def test_refused_and_failed_writes_are_recorded_for_every_resource(self):
        s = self.server
        t0 = self.now_ms()
        s.create_group("aud_dup_group")
        s.api("POST", "/projects", {"projectKey": "AUDP", "name": "AUDP"})
        s.create_connection("aud_ds_conn")
        ds = {"name": "aud_ds", "type": "Filesystem", "params": {"connection": "aud_ds_conn"}}
        self.assertStatus(s.api("POST", "/projects/AUDP/datasets", ds), 200)
        refused = [  # (method, path, body, object, status) as a principal who is not admin
            ("POST", "/admin/users", {"login": "aud_x", "password": "p-" + random_key(20)},
             "aud_x", 403),
            ("POST", "/admin/groups", {"name": "aud_g"}, "aud_g", 403),
            ("DELETE", "/admin/global-api-keys/aud_k", None, "aud_k", 403),
            ("POST", "/admin/connections", {"name": "aud_c", "type": "Filesystem"}, "aud_c",
             403),
            ("DELETE", "/projects/AUDP", None, "AUDP", 403),
        ]
        for method, path, body, obj, status in refused:
            with self.subTest(path=path):
                self.assertStatus(s.api(method, path, body, key=self.ana_key), status)
        failed = [  # as the admin
            ("POST", "/admin/groups", {"name": "aud_dup_group"}, "aud_dup_group", 409),
            ("POST", "/projects/AUDP/datasets", ds, "AUDP/aud_ds", 409),  # (names the dataset)
            ("DELETE", "/admin/users/aud_nobody", None, "aud_nobody", 404),
            ("PUT", "/admin/connections/aud_none", {"name": "aud_none", "type": "Filesystem"},
             "aud_none", 404),
        ]
        for method, path, body, obj, status in failed:
            with self.subTest(path=path):
                self.assertStatus(s.api(method, path, body), status)
        recs = self.since(t0)
        for method, path, body, obj, status in refused:
            rec = self.find(recs, "", obj, "denied", "aud_ana")
            self.assertRecord(rec, t0, self.now_ms())
        for method, path, body, obj, status in failed:
            self.find(recs, "", obj, "failed", self.admin_ident)
        # and a failure changed nothing: the refused group does not exist
        self.assertError(s.api("GET", "/admin/groups/aud_g"), 404, "NotFound")


class AuditCommitsWithTheChangeTest(OwnServerTestCase):
    """A change and its audit record commit together: killed right after its answers, the
    server comes back with a record for every acknowledged write."""

    def test_every_acknowledged_write_has_its_record_after_sigkill(self):
        s = self.server
        ident = s.auth_info()["authIdentifier"]
        writes = []  # (action word, object) of each acknowledged write
        for i in range(6):
            name = "kill_c%d" % i
            s.create_connection(name)
            writes.append(("connection.create", name))
            r = s.api("PUT", "/admin/connections/" + name,
                      {"name": name, "type": "Filesystem", "params": {"root": "/tmp/x"},
                       "description": "v2"})
            self.assertStatus(r, 200)
            writes.append(("connection.update", name))
        s.create_group("kill_g")
        writes.append(("group.create", "kill_g"))
        key = s.create_key(label="kill_k")
        writes.append(("global-api-key.create", key["id"]))
        self.assertStatus(s.api("DELETE", "/admin/connections/kill_c0"), 200)
        writes.append(("connection.delete", "kill_c0"))
        s.kill()  # right after the last answer: nothing gets a chance to catch up
        s.start()
        recs = s.api("GET", "/admin/audit?limit=1000").json
        have = {(r["action"], r["object"]) for r in recs
                if r["outcome"] == "success" and r["principal"] == ident}
        missing = [w for w in writes if w not in have]
        self.assertEqual(missing, [], "acknowledged writes without an audit record")


if __name__ == "__main__":
    unittest.main()
