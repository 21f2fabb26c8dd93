# SPDX-License-Identifier: Apache-2.0
"""The probe fence has no holes (issue 12 point 3, docs/API.md §4.6).

A listener on 127.0.0.1 and ::1 (same port) must never be contacted under
--probe-deny 127.0.0.0/8,::1/128, whatever the spelling of the target: the unspecified
addresses (0.0.0.0, 0, ::, ::ffff:0.0.0.0, which reach the local host on Linux), IPv4-mapped
IPv6, the short and numeric IPv4 forms, localhost, and an IDN spelling (fullwidth digits) that
libidn2 converts to 127.0.0.1. Unspecified addresses are refused even when the allow list
covers everything. IPv6 literals in HTTP URLs work when allowed. The default deny list
carries the cloud metadata addresses. Only loopback addresses are contacted, and no name but
localhost is looked up."""

import http.server
import os
import select
import socket
import threading
import unittest

from server import ServerTestCase, random_key

SPELLINGS = ["0.0.0.0", "0", "::", "::ffff:0.0.0.0", "127.0.0.1", "::1", "::ffff:127.0.0.1",
             "127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1", "localhost",
             "\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11"]
UNSPECIFIED = ["0.0.0.0", "0", "::", "::ffff:0.0.0.0", "0.1.2.3", "::0.0.0.0"]
TYPES = ["HTTP", "PostgreSQL", "MySql", "FTP", "SFTP"]


def dual_listener():
    """Listening sockets on 127.0.0.1 and ::1 with the same port: (v4, v6, port)."""
    for _ in range(20):
        v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v4.bind(("127.0.0.1", 0))
        port = v4.getsockname()[1]
        v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        try:
            v6.bind(("::1", port))
        except OSError:
            v4.close()
            v6.close()
            continue
        v4.listen(16)
        v6.listen(16)
        return v4, v6, port
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


def contacted(socks, wait=0.2):
    """Whether a client connected to any of SOCKS; such connections are accepted and closed,
    so that the next check starts clean."""
    readable, _, _ = select.select(socks, [], [], wait)
    for s in readable:
        s.accept()[0].close()
    return bool(readable)


def target_params(type, host, port):
    if type == "HTTP":
        h = "[%s]" % host if ":" in host else host
        return {"url": "http://%s:%d/" % (h, port)}
    params = {"host": host, "port": str(port), "user": "fence",
              "password": "pw-" + random_key(12)}
    if type in ("PostgreSQL", "MySql"):
        params["db"] = "fence"
    return params


class LoopbackDeniedTests(ServerTestCase):
    server_options = {"extra_args": ["--probe-timeout", "2",
                                     "--probe-deny", "127.0.0.0/8,::1/128"]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v4, cls.v6, cls.port = dual_listener()
        cls.addClassCleanup(cls.v4.close)
        cls.addClassCleanup(cls.v6.close)

    def test_no_spelling_reaches_a_denied_loopback(self):
        n = 0
        for type in TYPES:
            for host in SPELLINGS:
                with self.subTest(type=type, host=host):
                    n += 1
                    name = "fence_%s_%d" % (type.lower(), n)
                    params = target_params(type, host, self.port)
                    if params.get("password"):
                        self.server.remember_secret(params["password"])
                    self.server.create_connection(name, type=type, params=params)
                    r = self.server.api("GET", "/connections/%s/test" % name)
                    self.assertStatus(r, 200)
                    self.assertIs(r.json["connectionOK"], False, self.describe(r))
                    self.assertIn("policy", r.json["message"], self.describe(r))
                    self.assertIn("no connection was attempted", r.json["message"])
                    self.assertFalse(contacted([self.v4, self.v6]),
                                     "%s probe of %r reached the loopback listener"
                                     % (type, host))

    def test_invalid_international_name_is_refused_clearly(self):
        self.server.create_connection("fence_idn_bad", type="PostgreSQL", params={
            "host": "ex\u2044ample.test", "port": "5432", "user": "u"})
        r = self.server.api("GET", "/connections/fence_idn_bad/test")
        self.assertStatus(r, 200)
        self.assertIs(r.json["connectionOK"], False)
        self.assertIn("internationalised domain name", r.json["message"], self.describe(r))


class UnspecifiedAlwaysRefusedTests(ServerTestCase):
    # everything allowed, a deny list that covers nothing here
    server_options = {"extra_args": ["--probe-timeout", "2", "--probe-deny", "192.0.2.1/32",
                                     "--probe-allow", "0.0.0.0/0,::/0"]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.v4, cls.v6, cls.port = dual_listener()
        cls.addClassCleanup(cls.v4.close)
        cls.addClassCleanup(cls.v6.close)

    def test_unspecified_addresses_whatever_the_allow_list(self):
        n = 0
        for type in TYPES:
            for host in UNSPECIFIED:
                with self.subTest(type=type, host=host):
                    n += 1
                    name = "unspec_%s_%d" % (type.lower(), n)
                    self.server.create_connection(name, type=type,
                                                  params=target_params(type, host, self.port))
                    r = self.server.api("GET", "/connections/%s/test" % name)
                    self.assertStatus(r, 200)
                    self.assertIs(r.json["connectionOK"], False, self.describe(r))
                    self.assertIn("unspecified", r.json["message"], self.describe(r))
                    self.assertFalse(contacted([self.v4, self.v6]),
                                     "%s probe of %r reached the local listener" % (type, host))

    def test_control_an_allowed_loopback_is_contacted(self):
        # the proofs above are worth something only if an allowed probe does arrive (on a
        # listener of its own: a connection nobody accepts keeps a socket readable)
        v4, v6, port = dual_listener()
        self.addCleanup(v4.close)
        self.addCleanup(v6.close)
        self.server.create_connection("unspec_control", type="HTTP", params={
            "url": "http://127.0.0.1:%d/" % port})
        done = threading.Event()

        def call():
            c = self.server.new_http_connection(timeout=10)
            try:
                c.request("GET", "/dip/publicapi/connections/unspec_control/test",
                          headers={"Authorization": "Bearer " + self.server.admin_key})
                c.getresponse().read()
            finally:
                c.close()
                done.set()

        t = threading.Thread(target=call, daemon=True)
        t.start()
        self.assertTrue(contacted([v4], wait=3), "the allowed probe never arrived")
        done.wait(5)


class V6Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        V6Handler.seen.append(self.headers.get("Host"))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()


class V6Server(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    daemon_threads = True


class DefaultFenceTests(ServerTestCase):
    # the default deny list, plus an allow list so that nothing outside loopback is reachable
    # even if the defaults were missing (the message then names probe-allow instead)
    server_options = {"extra_args": ["--probe-timeout", "2", "--probe-allow",
                                     "127.0.0.0/8,::1/128,100.100.100.200/32,fd00:ec2::/64"]}

    def test_ipv6_literal_http_url_works_when_allowed(self):
        httpd = V6Server(("::1", 0), V6Handler)
        self.addCleanup(httpd.server_close)
        t = threading.Thread(target=httpd.serve_forever, daemon=True)
        t.start()
        self.addCleanup(httpd.shutdown)
        port = httpd.server_address[1]
        self.server.create_connection("v6_http", type="HTTP", params={
            "url": "http://[::1]:%d/" % port})
        r = self.server.api("GET", "/connections/v6_http/test")
        self.assertStatus(r, 200)
        self.assertIs(r.json["connectionOK"], True, self.describe(r))
        self.assertIn("204", r.json["message"])
        self.assertIn("[::1]:%d" % port, V6Handler.seen)

    def test_cloud_metadata_addresses_are_denied_by_default(self):
        for i, host in enumerate(("100.100.100.200", "fd00:ec2::254", "169.254.169.254")):
            with self.subTest(host=host):
                name = "meta_%d" % i
                self.server.create_connection(name, type="HTTP",
                                              params=target_params("HTTP", host, 80))
                r = self.server.api("GET", "/connections/%s/test" % name)
                self.assertStatus(r, 200)
                self.assertIs(r.json["connectionOK"], False)
                self.assertIn("setting probe-deny", r.json["message"], self.describe(r))

    def test_settings_name_the_default_deny_list(self):
        out = self.server.run_cli("settings", "--markdown").stdout
        line = [l for l in out.splitlines() if "--probe-deny" in l][0]
        for cidr in ("169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32"):
            self.assertIn(cidr, line)


if __name__ == "__main__":
    unittest.main()
