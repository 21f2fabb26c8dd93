# SPDX-License-Identifier: Apache-2.0
"""No header injection through a live test (issue 12 point 8): CR or LF in a param that a
probe puts in a URL, request line or header (url, host, port, user, password, token, headers
of the HTTP, FTP and SFTP types) is a 400 naming the param at write time, and the prober
refuses it when it arrives another way (an instance variable expanded at test time). A small
HTTP server on loopback records what arrives."""

import http.server
import threading

from server import ServerTestCase, random_key

INJECTED = "\r\nX-Injected: yes"


class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        Recorder.seen.append((self.path, dict(self.headers)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class HeaderInjectionTests(ServerTestCase):
    server_options = {"extra_args": ["--probe-timeout", "2"]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        cls.httpd.daemon_threads = True
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.httpd.server_close)
        cls.addClassCleanup(cls.httpd.shutdown)
        cls.url = "http://127.0.0.1:%d/" % cls.httpd.server_address[1]

    def test_line_breaks_are_400_at_create_naming_the_param(self):
        cases = [
            ("HTTP", {"url": self.url + "x" + INJECTED}, "url"),
            ("HTTP", {"url": self.url, "token": "t" + INJECTED}, "token"),
            ("HTTP", {"url": self.url, "user": "u\nX: 1", "password": "p"}, "user"),
            ("HTTP", {"url": self.url, "user": "u", "password": "p\r"}, "password"),
            ("HTTP", {"url": self.url, "headers": {"X-A": "1" + INJECTED}}, "headers"),
            ("HTTP", {"url": self.url, "headers": [{"name": "X-A\r\nB", "value": "1"}]},
             "headers"),
            ("FTP", {"host": "127.0.0.1\r\nUSER x", "user": "u"}, "host"),
            ("FTP", {"host": "127.0.0.1", "user": "u", "password": "p\r\nDELE x"}, "password"),
            ("SFTP", {"host": "127.0.0.1", "port": "22\n", "user": "u"}, "port"),
        ]
        for i, (type, params, field) in enumerate(cases):
            with self.subTest(type=type, field=field):
                r = self.server.api("POST", "/admin/connections/",
                                    {"name": "inj_%d" % i, "type": type, "params": params})
                self.assertError(r, 400, "BadRequest", mentions="'%s'" % field)
                self.assertIn("line break", r.json["detailedMessage"])
                self.assertStatus(self.server.api("GET", "/admin/connections/inj_%d" % i), 404)

    def test_line_breaks_are_400_on_update(self):
        self.server.create_connection("inj_put", type="HTTP", params={"url": self.url})
        d = self.server.api("GET", "/admin/connections/inj_put").json
        d["params"]["token"] = "tok" + INJECTED
        r = self.server.api("PUT", "/admin/connections/inj_put", d)
        self.assertError(r, 400, "BadRequest", mentions="'token'")
        stored = self.server.api("GET", "/admin/connections/inj_put").json
        self.assertNotIn("token", stored["params"])

    def test_other_types_and_fields_keep_line_breaks(self):
        # a PEM key or a multi-line description is not a header: DSS accepts them
        self.server.create_connection("inj_pg", type="PostgreSQL", params={
            "host": "127.0.0.1", "user": "u", "password": "line1\nline2"},
            description="two\nlines")
        self.server.create_connection("inj_sftp_key", type="SFTP", params={
            "host": "127.0.0.1", "user": "u",
            "privateKey": "-----BEGIN KEY-----\nabc\n-----END KEY-----\n"})

    def test_prober_refuses_a_line_break_from_a_variable(self):
        r = self.server.api("PUT", "/admin/variables/", {"inj_path": "p" + INJECTED})
        self.assertStatus(r, 200)
        self.server.create_connection("inj_var", type="HTTP",
                                      params={"url": self.url + "${inj_path}"})
        before = len(Recorder.seen)
        r = self.server.api("GET", "/connections/inj_var/test")
        self.assertStatus(r, 200)
        self.assertIs(r.json["connectionOK"], False, self.describe(r))
        self.assertIn("line break", r.json["message"])
        self.assertEqual(len(Recorder.seen), before, "the probe reached the server")
        # control: without the break the same connection is tested and arrives
        self.assertStatus(self.server.api("PUT", "/admin/variables/", {"inj_path": "ok"}), 200)
        r = self.server.api("GET", "/connections/inj_var/test")
        self.assertIs(r.json["connectionOK"], True, self.describe(r))
        self.assertIn("/ok", [p for p, _ in Recorder.seen])
        self.assertFalse(any("X-Injected" in h for _, h in Recorder.seen))


if __name__ == "__main__":
    import unittest
    unittest.main()
