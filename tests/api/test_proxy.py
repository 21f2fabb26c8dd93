"""Behind a reverse proxy (issue 19 point 2): with --trusted-proxies, the client's address comes
from X-Forwarded-For on connections from a trusted proxy only (the rightmost hop that is not a
trusted proxy), for the audit's remoteAddr, the per-address limit and the sign-in backoff. The proxy here is a small
forwarding proxy on loopback that connects to the server from 127.0.0.2 and appends the address
its client connected from, as nginx's $proxy_add_x_forwarded_for does."""
import http.client
import http.server
import json
import socket
import threading
import unittest

from server import ApiTestCase, Server, basic_auth, random_key

PROXY_ADDR = "127.0.0.2"


class FakeProxy:
    def __init__(self, upstream_port):
        upstream = upstream_port

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("connection", "x-forwarded-for")}
                xff = self.headers.get("X-Forwarded-For")
                headers["X-Forwarded-For"] = ((xff + ", ") if xff else "") + self.client_address[0]
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30,
                                                  source_address=(PROXY_ADDR, 0))
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = forward

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TrustedProxyTest(ApiTestCase):

    @classmethod
    def setUpClass(cls):
        cls.server = Server(extra_args=["--trusted-proxies", PROXY_ADDR + "/32",
                                        "--max-connections-per-ip", "2"])
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()
        cls.proxy = FakeProxy(cls.server.port)
        cls.addClassCleanup(cls.proxy.close)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.assert_log_clean()

    def create_via(self, name, port, source, xff=None):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                          source_address=(source, 0))
        headers = {"Authorization": basic_auth(self.server.admin_key)}
        if xff:
            headers["X-Forwarded-For"] = xff
        conn.request("POST", "/dip/publicapi/admin/groups/",
                     body='{"name": "%s"}' % name, headers=headers)
        status = conn.getresponse().status
        conn.close()
        self.assertEqual(status, 200)

    def sign_in_via(self, port, source, xff=None, key=None):
        """POST /auth/session with an API key (a random one: a failed sign-in) from SOURCE to
        PORT; the status."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30,
                                          source_address=(source, 0))
        headers = {"X-Forwarded-For": xff} if xff else {}
        conn.request("POST", "/dip/publicapi/auth/session",
                     body=json.dumps({"apiKey": key or random_key()}), headers=headers)
        status = conn.getresponse().status
        conn.close()
        return status

    def remote_addr_of(self, name):
        audit = self.server.api("GET", "/admin/audit?limit=200").json
        recs = [a for a in audit if a["object"] == name and a["action"] == "group.create"]
        self.assertEqual(len(recs), 1, audit[:3])
        return recs[0]["remoteAddr"]

    def test_audit_names_the_client_behind_the_proxy(self):
        self.create_via("via_proxy", self.proxy.port, "127.0.0.3")
        self.assertEqual(self.remote_addr_of("via_proxy"), "127.0.0.3")

    def test_address_a_client_writes_itself_is_not_believed(self):
        # the proxy appends 127.0.0.4 to what the client claimed: the rightmost untrusted hop wins
        self.create_via("spoof_via_proxy", self.proxy.port, "127.0.0.4", xff="203.0.113.66")
        self.assertEqual(self.remote_addr_of("spoof_via_proxy"), "127.0.0.4")

    def test_direct_client_cannot_forge_its_address(self):
        self.create_via("spoof_direct", self.server.port, "127.0.0.5", xff="203.0.113.66")
        self.assertEqual(self.remote_addr_of("spoof_direct"), "127.0.0.5")

    def test_connections_of_the_proxy_are_not_one_client(self):
        # libmicrohttpd's per-IP limit (2 here) would refuse the proxy's third connection;
        # behind trusted proxies the limit counts requests per client address instead
        idle = []
        try:
            for _ in range(4):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10,
                                             source_address=(PROXY_ADDR, 0))
                idle.append(s)
            self.create_via("many_conns", self.proxy.port, "127.0.0.6")
        finally:
            for s in idle:
                s.close()

    ADDR_FAILURES = 20  # failed sign-ins of one address before it must wait (src/util/limits.h)

    def test_sign_in_backoff_counts_the_client_behind_the_proxy(self):
        for _ in range(self.ADDR_FAILURES):
            self.assertEqual(self.sign_in_via(self.proxy.port, "127.0.0.7"), 401)
        # that client now waits, even with the right key ...
        self.assertEqual(self.sign_in_via(self.proxy.port, "127.0.0.7",
                                          key=self.server.admin_key), 429)
        # ... also when it writes another address into X-Forwarded-For itself
        self.assertEqual(self.sign_in_via(self.proxy.port, "127.0.0.7", xff="127.0.0.8",
                                          key=self.server.admin_key), 429)
        # another client behind the same proxy does not, nor does the proxy itself
        self.assertEqual(self.sign_in_via(self.proxy.port, "127.0.0.8",
                                          key=self.server.admin_key), 200)
        self.assertEqual(self.sign_in_via(self.server.port, PROXY_ADDR,
                                          key=self.server.admin_key), 200)
        audit = self.server.api("GET", "/admin/audit?limit=200").json
        outcomes = [(a["remoteAddr"], a["outcome"]) for a in audit
                    if a["action"] == "session.signin"]
        self.assertEqual(outcomes.count(("127.0.0.7", "failed")), self.ADDR_FAILURES)
        self.assertEqual(outcomes.count(("127.0.0.7", "denied")), 2)
        self.assertIn(("127.0.0.8", "success"), outcomes)

    def test_untrusted_client_cannot_escape_the_backoff_with_x_forwarded_for(self):
        # connected directly (not from a trusted proxy), each attempt claims another address
        for i in range(self.ADDR_FAILURES):
            self.assertEqual(self.sign_in_via(self.server.port, "127.0.0.9",
                                              xff="198.51.100.%d" % (i + 1)), 401)
        self.assertEqual(self.sign_in_via(self.server.port, "127.0.0.9", xff="198.51.100.200",
                                          key=self.server.admin_key), 429)
        self.assertEqual(self.sign_in_via(self.server.port, "127.0.0.10", xff="127.0.0.9",
                                          key=self.server.admin_key), 200)


if __name__ == "__main__":
    unittest.main()
