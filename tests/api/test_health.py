"""Health that tells the truth (issue 19 point 1): /healthz is liveness, /readyz readiness (503
with a JSON reason while the store cannot be written or the change feed is down: see
test_pg_store.OutageTest), /metrics with the store, feed, probe queue, audit backlog and open
connections, behind an admin key (--metrics-key) or on its own address (--metrics-listen)."""
import os
import re
import socket
import time
import urllib.request
import unittest

from server import STORE, ApiTestCase, Server, ServerTestCase, eventually, free_port


def port_accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def gauge(text, name):
    m = re.search(r"(?m)^%s ([0-9.e+-]+)$" % re.escape(name), text)
    return float(m.group(1)) if m else None


class ReadyzTest(ServerTestCase):

    def test_healthz_and_readyz_need_no_key(self):
        r = self.server.request("GET", "/healthz", key=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.json, {"status": "ok"})
        r = self.server.request("GET", "/readyz", key=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["status"], "ready")
        self.assertEqual(r.json["checks"]["store"], "ok")
        self.assertEqual(r.json["checks"]["changeFeed"],
                         "ok" if STORE == "postgresql" else "not shared")

    def test_readyz_takes_get_only(self):
        r = self.server.request("POST", "/readyz", body={}, key=None)
        self.assertError(r, 405, "MethodNotAllowed")

    def test_metrics_report_store_feed_probes_audit_and_connections(self):
        self.server.create_connection("health_fs")
        text = self.server.request("GET", "/metrics", key=None).raw.decode()
        self.assertEqual(gauge(text, "switchboard_store_up"), 1)
        self.assertGreater(gauge(text, "switchboard_store_latency_seconds"), 0)
        self.assertEqual(gauge(text, "switchboard_change_feed_up"), 1)
        self.assertEqual(gauge(text, "switchboard_probe_queue_depth"), 0)
        self.assertIsNotNone(gauge(text, "switchboard_audit_backlog"))
        self.assertGreaterEqual(gauge(text, "switchboard_http_connections_open"), 1)
        self.assertNotIn("health_fs", text)
        # the SQLite store's group commit counts its transactions and the writes they held
        commits = gauge(text, "switchboard_store_group_commits_total")
        writes = gauge(text, "switchboard_store_group_commit_writes_total")
        if STORE == "sqlite":
            self.assertGreaterEqual(commits, 1)  # (the create, at least)
            self.assertGreaterEqual(writes, commits)
        else:
            self.assertEqual((commits, writes), (0, 0))


class MetricsKeyTest(ServerTestCase):
    server_options = {"extra_args": ["--metrics-key"]}

    def test_metrics_need_an_admin_key(self):
        self.assertError(self.server.request("GET", "/metrics", key=None), 401, "Unauthorized")
        user_key = self.server.create_key(admin=False)["key"]
        self.assertError(self.server.request("GET", "/metrics", key=user_key), 403, "Forbidden")
        r = self.server.request("GET", "/metrics")
        self.assertStatus(r, 200)
        self.assertIn("switchboard_requests_total", r.raw.decode())
        # health stays public
        self.assertStatus(self.server.request("GET", "/readyz", key=None), 200)


class MetricsListenTest(ApiTestCase):

    def test_metrics_on_their_own_address_and_not_on_the_api(self):
        port = free_port()
        srv = Server(extra_args=["--metrics-listen", "127.0.0.1:%d" % port])
        self.addCleanup(srv.cleanup)
        srv.start()
        self.server = srv
        self.assertError(srv.request("GET", "/metrics", key=None), 404, "NotFound")
        # the metrics listener is bound just after the API's, which may answer /healthz first
        eventually(lambda: port_accepts(port))
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertTrue(r.headers["Content-Type"].startswith("text/plain"))
            self.assertIn("switchboard_store_up 1", r.read().decode())
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen("http://127.0.0.1:%d/dip/publicapi/auth/info" % port,
                                   timeout=10)
        self.assertEqual(e.exception.code, 404)
        srv.stop()
        srv.assert_log_clean()

    def test_metrics_listen_address_in_use_stops_the_start(self):
        srv = Server()
        self.addCleanup(srv.cleanup)
        srv.start()
        other = Server(extra_args=["--metrics-listen", "127.0.0.1:%d" % srv.port])
        self.addCleanup(other.cleanup)
        open(other.stderr_path, "wb").close()
        code, err = other.start_expecting_exit()
        self.assertEqual(code, 1, err)
        self.assertIn("--metrics-listen", err)
        srv.stop()


if __name__ == "__main__":
    unittest.main()


@unittest.skipIf(STORE == "postgresql", "a shared store is loaded before the server listens")
class LoadingTest(ApiTestCase):
    """A restart answers /healthz before every connection is loaded (a thread reads the store):
    meanwhile /readyz says the catalog is loading, and each read the catalog would serve is the
    connection's exact bytes or a 503 with Retry-After, never a 404 or a partial list; writes
    made during the load are kept (a create stays, a delete is not undone by the older row the
    load read). Nothing here depends on timing: whatever phase each request meets, its answer
    must be one of the right ones."""

    N = 20000

    def test_reads_during_the_load_are_right_or_503_and_writes_are_kept(self):
        srv = Server()
        self.addCleanup(srv.cleanup)
        srv.start()
        self.server = srv
        for start in range(0, self.N, 2000):
            batch = [{"name": "load_%05d" % i, "type": "Filesystem",
                      "params": {"root": "/tmp/load/%d" % i},
                      "usableBy": ["ALL", "ALLOWED"][i % 2],
                      "allowedGroups": ["g%d" % (i % 3)]}
                     for i in range(start, min(self.N, start + 2000))]
            r = srv.api("POST", "/admin/connections/actions/import",
                        {"connections": batch, "onConflict": "overwrite"})
            self.assertStatus(r, 200)
            self.assertEqual(r.json["errors"], [])
        watched = ["load_00000", "load_%05d" % (self.N // 2), "load_%05d" % (self.N - 1)]
        before = {n: srv.api("GET", "/admin/connections/" + n).raw for n in watched}
        srv.stop()

        srv._spawn()
        deadline = time.monotonic() + 120
        loading_seen = created = deleted = False
        while time.monotonic() < deadline:
            try:
                ready = srv.request("GET", "/readyz", key=None)
            except OSError:
                srv.close_connection()
                time.sleep(0.01)  # not listening yet
                continue
            if ready.status == 200:
                break
            self.assertStatus(ready, 503)
            self.assertEqual(ready.json["checks"]["catalog"], "loading", ready.json)
            self.assertIn("loaded", ready.json["reason"])
            for name in watched:
                r = srv.api("GET", "/admin/connections/" + name)
                if r.status == 503:
                    loading_seen = True
                    self.assertError(r, 503, "ServiceUnavailable", "loading")
                    self.assertEqual(r.headers.get("Retry-After"), "1")
                elif deleted and name == watched[1]:
                    self.assertError(r, 404, "NotFound")
                else:
                    self.assertStatus(r, 200)
                    self.assertEqual(r.raw, before[name], name)
            r = srv.api("GET", "/connections/get-names")
            if r.status != 503:
                self.assertStatus(r, 200)
                self.assertGreaterEqual(len(r.json), self.N)
            if not created:  # a write while the connections load
                srv.create_connection("made_during_load")
                created = True
            elif not deleted:
                self.assertStatus(srv.api("DELETE", "/admin/connections/" + watched[1]), 200)
                deleted = True
        else:
            self.fail("not ready within 120 s")
        srv.close_connection()
        if not deleted:  # the load ended before the writes: make them now
            if not created:
                srv.create_connection("made_during_load")
            self.assertStatus(srv.api("DELETE", "/admin/connections/" + watched[1]), 200)
        self.assertStatus(srv.api("GET", "/admin/connections/made_during_load"), 200)
        self.assertError(srv.api("GET", "/admin/connections/" + watched[1]), 404, "NotFound")
        for name in (watched[0], watched[2]):
            self.assertEqual(srv.api("GET", "/admin/connections/" + name).raw, before[name])
        names = srv.api("GET", "/connections/get-names").json
        self.assertEqual(len(names), self.N)  # N - 1 deleted + 1 created
        self.assertEqual(srv.request("GET", "/healthz", key=None).status, 200)
        if os.environ.get("SWITCHBOARD_TEST_VERBOSE"):
            print("loading phase met by a read: %s" % loading_seen)
