# SPDX-License-Identifier: Apache-2.0
"""Issue 12, point 6: bounded growth. A user cannot mint personal API keys without end
(--max-personal-keys, default 100); labels and descriptions of keys, users, groups and
connections hold at most 1,024 characters (a 400 naming the field); audit records older than
--audit-retention-days (default 365) are deleted from the store."""

import base64
import json
import os
import sqlite3
import subprocess
import threading
import time
import unittest

from server import STORE, OwnServerTestCase, Server, ServerTestCase, peers_env

DAY_MS = 86400 * 1000


class PersonalKeyCapTest(ServerTestCase):
    server_options = {"extra_args": ["--max-personal-keys", "3"]}

    def test_a_user_cannot_have_more_personal_keys_than_the_cap(self):
        s = self.server
        key = s.user_with_key("cap_bob")  # his first key
        ids = []
        for i in range(2):
            r = s.api("POST", "/personal-api-keys/", {"label": "k%d" % i}, key=key)
            self.assertStatus(r, 200)
            s.remember_secret(r.json["key"])
            ids.append(r.json["id"])
        r = s.api("POST", "/personal-api-keys/", {"label": "one too many"}, key=key)
        self.assertError(r, 400, "BadRequest", mentions="max-personal-keys")
        self.assertIn("cap_bob", r.json["detailedMessage"])
        # an administrator cannot go past it either
        r = s.api("POST", "/admin/personal-api-keys/", {"user": "cap_bob", "label": "admin"})
        self.assertError(r, 400, "BadRequest", mentions="max-personal-keys")
        self.assertEqual(len(s.api("GET", "/personal-api-keys/", key=key).json), 3)
        # after a delete there is room for one again
        self.assertStatus(s.api("DELETE", "/personal-api-keys/%s" % ids[0], key=key), 200)
        r = s.api("POST", "/personal-api-keys/", {"label": "again"}, key=key)
        self.assertStatus(r, 200)
        s.remember_secret(r.json["key"])
        # the cap is per user
        other = s.user_with_key("cap_carol")
        r = s.api("POST", "/personal-api-keys/", {"label": "c"}, key=other)
        self.assertStatus(r, 200)
        s.remember_secret(r.json["key"])


    def test_concurrent_creates_do_not_pass_the_cap(self):
        s = self.server
        key = s.user_with_key("cap_race")  # one of three
        auth = "Basic " + base64.b64encode((key + ":").encode()).decode()
        statuses, lock = [], threading.Lock()

        def create(i):
            conn = s.new_http_connection()
            try:
                conn.request("POST", "/dip/publicapi/personal-api-keys/",
                             json.dumps({"label": "race %d" % i}),
                             {"Authorization": auth, "Content-Type": "application/json"})
                r = conn.getresponse()
                body = r.read()
                if r.status == 200:
                    s.remember_secret(json.loads(body)["key"])
                with lock:
                    statuses.append(r.status)
            finally:
                conn.close()

        threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(statuses), [200] * 2 + [400] * 10)
        self.assertEqual(len(s.api("GET", "/personal-api-keys/", key=key).json), 3)


class PersonalKeyDefaultCapTest(ServerTestCase):

    def test_the_default_cap_is_100(self):
        s = self.server
        s.create_user("cap_many")
        for i in range(100):
            s.create_personal_key("cap_many", label="k%d" % i)
        r = s.api("POST", "/admin/personal-api-keys/", {"user": "cap_many", "label": "101st"})
        self.assertError(r, 400, "BadRequest", mentions="100 personal API keys")


class TextCapTest(ServerTestCase):
    """1,024 characters (not bytes) are accepted; 1,025 are a 400 naming the field."""

    OK = "\u00e9" * 1024  # 2,048 bytes of UTF-8, 1,024 characters
    LONG = "x" * 1025

    def check(self, method, path, make_body, field, key=None):
        kwargs = {} if key is None else {"key": key}
        r = self.server.api(method, path, make_body(self.LONG), **kwargs)
        self.assertError(r, 400, "BadRequest", mentions="'%s'" % field)
        self.assertIn("1024", r.json["detailedMessage"])
        r = self.server.api(method, path, make_body(self.OK), **kwargs)
        self.assertStatus(r, 200, "%s %s with %s of 1024 characters" % (method, path, field))
        if isinstance(r.json, dict) and "key" in r.json:
            self.server.remember_secret(r.json["key"])
        return r.json

    def test_connection_description(self):
        s = self.server
        self.check("POST", "/admin/connections/",
                   lambda t: {"name": "cap_conn", "type": "Filesystem",
                              "params": {"root": "/tmp"}, "description": t}, "description")
        d = s.api("GET", "/admin/connections/cap_conn").json
        self.check("PUT", "/admin/connections/cap_conn", lambda t: dict(d, description=t),
                   "description")
        r = s.api("POST", "/admin/connections/actions/import", {"connections": [
            {"name": "cap_imp", "type": "Filesystem", "description": self.LONG}]})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["created"], [])
        self.assertIn("description", json.dumps(r.json["errors"]))

    def test_group_description(self):
        self.check("POST", "/admin/groups/",
                   lambda t: {"name": "cap_group", "description": t}, "description")
        self.check("PUT", "/admin/groups/cap_group", lambda t: {"description": t}, "description")

    def test_user_display_name(self):
        s = self.server
        self.check("POST", "/admin/users/",
                   lambda t: {"login": "cap_user", "password": "pw-" + "y" * 20,
                              "displayName": t}, "displayName")
        self.check("PUT", "/admin/users/cap_user", lambda t: {"displayName": t}, "displayName")
        key = s.create_personal_key("cap_user")["key"]
        me = s.api("GET", "/current-user", key=key).json
        self.check("PUT", "/current-user", lambda t: dict(me, displayName=t), "displayName",
                   key=key)

    def test_global_key_label_and_description(self):
        for field in ("label", "description"):
            with self.subTest(field=field):
                created = self.check("POST", "/admin/global-api-keys/",
                                     lambda t: {field: t, "globalPermissions": {"admin": False}},
                                     field)
                self.check("PUT", "/admin/global-api-keys/%s" % created["id"],
                           lambda t: {field: t}, field)

    def test_personal_key_label_and_description(self):
        s = self.server
        key = s.user_with_key("cap_owner")
        for field in ("label", "description"):
            with self.subTest(field=field):
                created = self.check("POST", "/personal-api-keys/", lambda t: {field: t}, field,
                                     key=key)
                self.check("PUT", "/personal-api-keys/%s" % created["id"], lambda t: {field: t},
                           field, key=key)
                self.check("POST", "/admin/personal-api-keys/",
                           lambda t: {"user": "cap_owner", field: t}, field)


class AuditRetentionTest(OwnServerTestCase):
    """Old rows are put straight into the stopped server's store, then the server starts."""

    def insert_records(self, ages_days):
        now = int(time.time() * 1000)
        rows = []
        for days in ages_days:
            ts = now - days * DAY_MS
            rec = {"ts": ts, "principal": "old", "action": "test.old",
                   "object": "age-%d" % days, "outcome": "success", "remoteAddr": "127.0.0.1"}
            rows.append((ts, json.dumps(rec)))
        if STORE == "postgresql":
            env = peers_env()
            sql = "".join("INSERT INTO audit (ts, record) VALUES (%d, '%s');" % (ts, rec)
                          for ts, rec in rows)
            subprocess.run(["psql", "-X", "-q", "-h", env["PG_HOST"], "-p", env["PG_PORT"],
                            "-U", env["PG_USER"], "-d", self.server.pg_database, "-v",
                            "ON_ERROR_STOP=1", "-c", sql], check=True,
                           env=dict(os.environ, PGPASSWORD=env["PG_PASSWORD"]),
                           stdout=subprocess.DEVNULL)
        else:
            db = sqlite3.connect(os.path.join(self.server.data_dir, "switchboard.db"))
            with db:
                db.executemany("INSERT INTO audit (ts, record) VALUES (?, ?)", rows)
            db.close()

    def old_objects(self):
        r = self.server.api("GET", "/admin/audit?limit=10000")
        self.assertStatus(r, 200)
        return sorted(x["object"] for x in r.json if x["action"] == "test.old")

    def restart_with(self, *args):
        s = self.server
        s.stop()
        self.insert_records([1000, 400, 366, 300, 29, 1])
        s.args += list(args)
        s.start()

    def test_records_older_than_365_days_go_by_default(self):
        self.restart_with()
        self.assertEqual(self.old_objects(), ["age-1", "age-29", "age-300"])
        # a change made now is kept
        self.server.create_group("ret_group")
        r = self.server.api("GET", "/admin/audit?limit=10")
        self.assertIn("ret_group", [x["object"] for x in r.json])

    def test_retention_is_a_setting(self):
        self.restart_with("--audit-retention-days", "30")
        self.assertEqual(self.old_objects(), ["age-1", "age-29"])

    def test_zero_keeps_every_record(self):
        self.restart_with("--audit-retention-days", "0")
        self.assertEqual(self.old_objects(), ["age-1", "age-1000", "age-29", "age-300",
                                              "age-366", "age-400"])


if __name__ == "__main__":
    unittest.main()
