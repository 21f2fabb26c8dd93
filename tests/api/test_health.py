"""Health that tells the truth (issue 19 point 1): /healthz is liveness, /readyz readiness (503
with a JSON reason while the store cannot be written or the change feed is down: see
test_pg_store.OutageTest), /metrics with the store, feed, probe queue, audit backlog and open
connections, behind an admin key (--metrics-key) or on its own address (--metrics-listen)."""
import re
import socket
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
