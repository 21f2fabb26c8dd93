# SPDX-License-Identifier: Apache-2.0
"""Durability: what a graceful restart or a SIGKILL leaves in the data directory."""

import http.client
import json
import os
import threading
import time
import unittest
import urllib.parse

from server import PREFIX, STORE, OwnServerTestCase, basic_auth, peers_env

SECRET_PASSWORD = "s3cr3t-value"


class RestartTest(OwnServerTestCase):

    server_options = {"durable_store": True}

    def snapshot(self):
        conns = self.server.api("GET", "/admin/connections/")
        keys = self.server.api("GET", "/admin/global-api-keys/")
        self.assertStatus(conns, 200)
        self.assertStatus(keys, 200)
        return conns.json, sorted(keys.json, key=lambda k: k["id"])

    def test_graceful_stop_exits_zero(self):
        self.server.create_connection("before_stop")
        self.assertEqual(self.server.stop(), 0)
        self.server.start()

    def test_sigterm_exits_zero_while_a_client_holds_an_idle_keep_alive_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request("GET", PREFIX + "/auth/info",
                         headers={"Authorization": basic_auth(self.server.admin_key)})
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
            started = time.monotonic()
            self.assertEqual(self.server.stop(), 0)
            self.assertLess(time.monotonic() - started, 5.0, "shutdown waited on an idle client")
        finally:
            conn.close()
        self.server.start()

    def test_restart_keeps_connections_and_keys(self):
        s = self.server
        s.remember_secret(SECRET_PASSWORD)
        s.create_connection("kept_fs", description="kept", customField={"a": [1, None]})
        s.create_connection("kept_pg", type="PostgreSQL", usableBy="ALLOWED",
                            allowedGroups=["data_team"],
                            params={"host": "h", "user": "u", "password": SECRET_PASSWORD})
        updated = s.create_connection("kept_updated")
        r = s.api("PUT", "/admin/connections/kept_updated", dict(updated, description="v2"))
        self.assertStatus(r, 200)
        s.create_connection("gone")
        self.assertStatus(s.api("DELETE", "/admin/connections/gone"), 200)
        user = s.create_key(groups=["data_team"], label="durable user")
        admin2 = s.create_key(admin=True, label="durable admin")
        revoked = s.create_key(label="revoked")
        self.assertStatus(s.api("DELETE", "/admin/global-api-keys/" + revoked["id"]), 200)
        conns_before, keys_before = self.snapshot()
        names_before = s.api("GET", "/connections/get-names", key=user["key"]).json

        s.restart()

        conns_after, keys_after = self.snapshot()
        self.assertSameJson(conns_after, conns_before, "connections after restart")
        self.assertSameJson(keys_after, keys_before, "global API keys after restart")
        self.assertEqual(conns_after["kept_updated"]["creationTag"]["versionNumber"], 2)
        self.assertNotIn("gone", conns_after)
        self.assertError(s.api("GET", "/admin/connections/gone"), 404, "NotFound")
        info = s.auth_info(key=user["key"])
        self.assertEqual(info["groups"], ["data_team"])
        self.assertIs(info["admin"], False)
        self.assertEqual(sorted(s.api("GET", "/connections/get-names", key=user["key"]).json),
                         sorted(names_before))
        self.assertStatus(s.api("GET", "/admin/connections/", key=admin2["key"]), 200)
        self.assertError(s.api("GET", "/auth/info", key=revoked["key"]), 401, "Unauthorized")
        self.assertStatus(s.api("GET", "/admin/connections/"), 200, "bootstrap admin key")

    def test_restart_serves_every_connection_byte_for_byte_as_before(self):
        # start-up loads the catalog from the stored texts (usableBy and allowedGroups read
        # from each text, not parsed by the database): every answer must come back the same
        # bytes, and every non-admin must see the same connections
        s = self.server
        user_a = s.create_key(groups=["team_a"], label="a")
        user_b = s.create_key(groups=["team_b", "team_c"], label="b")
        tricky = 'x\\",\\"usableBy\\":\\"ALL\\"}\\\\'
        batch = []
        for i in range(300):
            d = {"name": "c%03d_%s" % (i, ["plain", "x.y", "a.b-c"][i % 3]),
                 "type": ["Filesystem", "PostgreSQL", "Snowflake"][i % 3],
                 "params": {"root": "/tmp/r%d" % i} if i % 3 == 0 else
                 {"host": "h%d" % i, "user": "u", "password": "pw-%d" % i,
                  "properties": [{"name": "usableBy", "value": "ALL"}]},
                 "usableBy": ["ALL", "ALLOWED"][i % 2],
                 "allowedGroups": [[], ["team_a"], ["team_b", "team_c"], ["nobody"]][i % 4],
                 "description": tricky if i % 5 == 0 else "\u00e9t\u00e9 %d" % i}
            batch.append(d)
        r = s.api("POST", "/admin/connections/actions/import",
                  {"connections": batch, "onConflict": "overwrite"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json.get("errors"), [])
        s.create_connection("escaped_usable", usableBy="ALLOWED", allowedGroups=["team_a"])

        def answers():
            out = {}
            names = s.api("GET", "/connections/get-names").json
            self.assertEqual(len(names), 301)
            for name in names:
                r = s.api("GET", "/admin/connections/" + urllib.parse.quote(name, safe=""))
                self.assertStatus(r, 200)
                out[name] = r.raw
            out["(list)"] = s.api("GET", "/admin/connections/").raw
            for who, key in (("a", user_a["key"]), ("b", user_b["key"])):
                out["(names %s)" % who] = s.api("GET", "/connections/get-names",
                                                key=key).raw
            return out

        before = answers()
        s.restart()
        after = answers()
        self.assertEqual(sorted(after), sorted(before))
        for name in before:
            self.assertEqual(after[name], before[name], name)
        names_a = json.loads(after["(names a)"])
        self.assertIn("escaped_usable", names_a)
        self.assertIn("c001_x.y", names_a)  # ALLOWED, team_a
        self.assertNotIn("c003_plain", names_a)  # ALLOWED, nobody
        self.assertIn("c000_plain", names_a)  # ALL

    def test_version_numbers_continue_after_restart(self):
        d = self.server.create_connection("versioned")
        self.server.restart()
        r = self.server.api("PUT", "/admin/connections/versioned", d)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["versionNumber"], 2)
        r = self.server.api("PUT", "/admin/connections/versioned", d, headers={"If-Match": '"1"'})
        self.assertError(r, 412, "PreconditionFailed")

    def test_name_conflict_survives_restart(self):
        self.server.create_connection("unique_after_restart")
        self.server.restart()
        r = self.server.api("POST", "/admin/connections/",
                            {"name": "unique_after_restart", "type": "Filesystem",
                             "params": {"root": "/tmp"}})
        self.assertError(r, 409, "Conflict")

    @unittest.skipIf(STORE != "postgresql", "about the PostgreSQL peer")
    def test_the_postgresql_peer_flushes_what_it_commits_for_these_tests(self):
        import subprocess
        env = peers_env()
        out = subprocess.run(
            ["psql", "-X", "-q", "-tA", "-h", env["PG_HOST"], "-p", env["PG_PORT"], "-U",
             env["PG_USER"], "-d", self.server.pg_database, "-c",
             "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')"
             " || ' ' || current_setting('full_page_writes')"],
            check=True, capture_output=True, text=True,
            env=dict(os.environ, PGPASSWORD=env["PG_PASSWORD"])).stdout.strip()
        self.assertEqual(out, "on on on")


class CrashTest(OwnServerTestCase):

    server_options = {"durable_store": True}

    def test_sigkill_during_writes_loses_no_acknowledged_connection(self):
        port = self.server.port
        auth = basic_auth(self.server.admin_key)
        acknowledged = []
        unexpected = []
        stop = threading.Event()

        def writer():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            i = 0
            try:
                while not stop.is_set():
                    name = "crash_%05d" % i
                    body = {"name": name, "type": "Filesystem",
                            "params": {"root": "/data/" + name},
                            "description": "written before the crash, #%d" % i,
                            "customField": {"n": i}}
                    i += 1
                    try:
                        conn.request("POST", PREFIX + "/admin/connections/",
                                     body=json.dumps(body).encode(),
                                     headers={"Authorization": auth})
                        resp = conn.getresponse()
                        raw = resp.read()
                    except (OSError, http.client.HTTPException):
                        return
                    if resp.status == 200:
                        acknowledged.append((name, json.loads(raw)))
                    else:
                        unexpected.append((name, resp.status))
                        return
            finally:
                conn.close()

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        deadline = time.monotonic() + 5
        while len(acknowledged) < 30 and time.monotonic() < deadline and thread.is_alive():
            time.sleep(0.01)
        time.sleep(0.05)  # let the writer be in the middle of a request
        self.server.kill()
        stop.set()
        thread.join(10)
        self.assertFalse(thread.is_alive(), "writer thread hung after the kill")
        self.assertEqual(unexpected, [], "POSTs answered with an unexpected status")
        self.assertGreater(len(acknowledged), 0, "no POST was acknowledged before the kill")

        self.server.start()
        listed = self.server.api("GET", "/admin/connections/")
        self.assertStatus(listed, 200)
        missing = [name for name, _ in acknowledged if name not in listed.json]
        self.assertEqual(missing, [], "acknowledged connections lost after SIGKILL "
                                      "(%d acknowledged)" % len(acknowledged))
        for name, created in acknowledged:
            r = self.server.api("GET", "/admin/connections/" + name)
            self.assertStatus(r, 200, name)
            self.assertSameJson(r.json, created, "%s after SIGKILL" % name)
        # the store is usable after recovery
        self.server.create_connection("after_recovery")
        self.assertStatus(self.server.api("GET", "/admin/connections/after_recovery"), 200)

    def test_sigkill_keeps_keys_and_updates(self):
        user = self.server.create_key(groups=["g"], label="survivor")
        d = self.server.create_connection("updated_before_kill")
        r = self.server.api("PUT", "/admin/connections/updated_before_kill",
                            dict(d, description="acknowledged update"))
        self.assertStatus(r, 200)
        self.server.create_connection("deleted_before_kill")
        self.assertStatus(self.server.api("DELETE", "/admin/connections/deleted_before_kill"),
                          200)
        self.server.kill()
        self.server.start()
        now = self.server.api("GET", "/admin/connections/updated_before_kill")
        self.assertStatus(now, 200)
        self.assertSameJson(now.json, r.json, "updated connection after SIGKILL")
        self.assertError(self.server.api("GET", "/admin/connections/deleted_before_kill"),
                         404, "NotFound")
        self.assertEqual(self.server.auth_info(key=user["key"])["groups"], ["g"])


if __name__ == "__main__":
    unittest.main()
