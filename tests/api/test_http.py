# SPDX-License-Identifier: Apache-2.0
"""Transport: routing, 404/405, body limits, keep-alive, health, content types,
percent-decoding, and the request log line."""

import http.client
import json
import re
import select
import time
import unittest

from server import PREFIX, ServerTestCase, basic_auth, read_http_response

SECRET_PASSWORD = "s3cr3t-value"
LIMIT = 4096


def allowed_methods(resp):
    value = resp.headers.get("Allow") or ""
    return {m.strip().upper() for m in value.split(",") if m.strip()}


class RoutingTest(ServerTestCase):

    def test_healthz_answers_ok_without_authentication(self):
        r = self.server.request("GET", "/healthz", key=None)
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertEqual(r.json, {"status": "ok"})

    def test_connections_list_with_and_without_trailing_slash_is_the_same(self):
        self.server.create_connection("slash_probe")
        with_slash = self.server.api("GET", "/admin/connections/")
        without = self.server.api("GET", "/admin/connections")
        self.assertStatus(with_slash, 200)
        self.assertStatus(without, 200)
        self.assertSameJson(without.json, with_slash.json)
        self.assertIn("slash_probe", with_slash.json)

    def test_post_without_trailing_slash_creates(self):
        r = self.server.api("POST", "/admin/connections",
                            {"name": "no_slash_post", "type": "Filesystem",
                             "params": {"root": "/tmp"}})
        self.assertStatus(r, 200)
        self.assertStatus(self.server.api("GET", "/admin/connections/no_slash_post"), 200)

    def test_unknown_query_parameters_are_ignored(self):
        r = self.server.api("GET", "/admin/connections/?foreign=False&tags=")
        self.assertStatus(r, 200)
        self.assertIsInstance(r.json, dict)

    def test_unknown_route_under_prefix_is_not_found_json(self):
        r = self.server.api("GET", "/no/such/route")
        self.assertError(r, 404, "NotFound")

    def test_unknown_route_outside_prefix_is_not_found_json(self):
        r = self.server.request("GET", "/admin/connections/")
        self.assertError(r, 404, "NotFound")
        r = self.server.request("GET", "/nothing-here")
        self.assertError(r, 404, "NotFound")

    def test_patch_on_connection_is_method_not_allowed_with_allow_header(self):
        self.server.create_connection("patch_target")
        r = self.server.api("PATCH", "/admin/connections/patch_target", {"description": "x"})
        self.assertError(r, 405, "MethodNotAllowed")
        allow = allowed_methods(r)
        self.assertTrue({"GET", "PUT", "DELETE"} <= allow, "Allow: %r" % allow)
        self.assertNotIn("PATCH", allow)
        self.assertNotIn("POST", allow)

    def test_post_on_one_connection_is_method_not_allowed(self):
        r = self.server.api("POST", "/admin/connections/some_name",
                            {"name": "some_name", "type": "Filesystem",
                             "params": {"root": "/tmp"}})
        self.assertError(r, 405, "MethodNotAllowed")
        self.assertTrue({"GET", "PUT", "DELETE"} <= allowed_methods(r))

    def test_delete_on_connection_collection_is_method_not_allowed(self):
        r = self.server.api("DELETE", "/admin/connections/")
        self.assertError(r, 405, "MethodNotAllowed")
        allow = allowed_methods(r)
        self.assertTrue({"GET", "POST"} <= allow, "Allow: %r" % allow)
        self.assertNotIn("DELETE", allow)

    def test_put_on_connection_collection_is_method_not_allowed(self):
        r = self.server.api("PUT", "/admin/connections", {})
        self.assertError(r, 405, "MethodNotAllowed")
        self.assertTrue({"GET", "POST"} <= allowed_methods(r))

    def test_post_on_get_names_is_method_not_allowed(self):
        r = self.server.api("POST", "/connections/get-names", {})
        self.assertError(r, 405, "MethodNotAllowed")
        self.assertIn("GET", allowed_methods(r))

    def test_post_on_auth_info_is_method_not_allowed(self):
        r = self.server.api("POST", "/auth/info", {})
        self.assertError(r, 405, "MethodNotAllowed")
        self.assertIn("GET", allowed_methods(r))

    def test_put_on_key_collection_is_method_not_allowed(self):
        r = self.server.api("PUT", "/admin/global-api-keys/", {})
        self.assertError(r, 405, "MethodNotAllowed")
        self.assertTrue({"GET", "POST"} <= allowed_methods(r))

    def test_percent_encoded_path_segment_is_decoded(self):
        self.server.create_connection("a.b-c_1")
        for path in ("a%2Eb-c_1", "a%2eb-c_1", "%61.b-c_1", "a.b%2Dc%5F1"):
            r = self.server.api("GET", "/admin/connections/" + path)
            self.assertStatus(r, 200, path)
            self.assertEqual(r.json["name"], "a.b-c_1")

    def test_put_and_delete_through_percent_encoded_path(self):
        created = self.server.create_connection("pct.put")
        body = dict(created, description="changed")
        r = self.server.api("PUT", "/admin/connections/pct%2Eput", body)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["description"], "changed")
        self.assertStatus(self.server.api("DELETE", "/admin/connections/pct%2eput"), 200)
        self.assertError(self.server.api("GET", "/admin/connections/pct.put"), 404, "NotFound")

    def test_percent_encoded_query_value_is_decoded(self):
        self.server.create_connection("pct_query_pg", type="PostgreSQL",
                                      params={"host": "localhost", "db": "d"})
        r = self.server.api("GET", "/connections/get-names?type=Postgre%53QL")
        self.assertStatus(r, 200)
        self.assertIn("pct_query_pg", r.json)

    def test_body_without_content_type_is_accepted(self):
        r = self.server.api("POST", "/admin/connections/",
                            raw_body=json.dumps({"name": "no_ctype", "type": "Filesystem",
                                                 "params": {"root": "/tmp"}}).encode())
        self.assertStatus(r, 200)

    def test_body_with_json_charset_content_type_is_accepted(self):
        r = self.server.api("POST", "/admin/connections/",
                            {"name": "charset_ctype", "type": "Filesystem",
                             "params": {"root": "/tmp"}},
                            headers={"Content-Type": "application/json; charset=utf-8"})
        self.assertStatus(r, 200)

    def test_success_and_error_answers_are_json(self):
        self.server.create_connection("json_answers")
        for method, path in (("GET", "/admin/connections/"),
                             ("GET", "/admin/connections/json_answers"),
                             ("GET", "/connections/get-names"),
                             ("GET", "/auth/info"),
                             ("GET", "/admin/global-api-keys/"),
                             ("DELETE", "/admin/connections/json_answers"),
                             ("GET", "/admin/connections/json_answers")):
            with self.subTest(method=method, path=path):
                r = self.server.api(method, path)
                self.assertJsonBody(r)

    def test_delete_answers_empty_json_object(self):
        self.server.create_connection("delete_body")
        r = self.server.api("DELETE", "/admin/connections/delete_body")
        self.assertStatus(r, 200)
        self.assertJsonBody(r)
        self.assertEqual(r.json, {})

    def test_several_requests_share_one_keep_alive_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        auth = {"Authorization": basic_auth(self.server.admin_key)}
        steps = [
            ("GET", "/admin/connections/", None),
            ("POST", "/admin/connections/", {"name": "keepalive_conn", "type": "Filesystem",
                                             "params": {"root": "/tmp"}}),
            ("GET", "/admin/connections/keepalive_conn", None),
            ("PUT", "/admin/connections/keepalive_conn", {"name": "keepalive_conn",
                                                          "type": "Filesystem",
                                                          "params": {"root": "/var"}}),
            ("GET", "/connections/get-names?type=all", None),
            ("DELETE", "/admin/connections/keepalive_conn", None),
            ("GET", "/auth/info", None),
        ]
        try:
            sock = None
            for method, path, body in steps:
                data = json.dumps(body).encode() if body is not None else None
                conn.request(method, PREFIX + path, body=data, headers=auth)
                resp = conn.getresponse()
                raw = resp.read()
                self.assertEqual(resp.status, 200, "%s %s: %s"
                                 % (method, path, self.server.redact(raw)))
                self.assertFalse(resp.will_close, "server closed the connection after %s %s"
                                 % (method, path))
                if sock is None:
                    sock = conn.sock
                self.assertIs(conn.sock, sock, "a new TCP connection was opened")
        finally:
            conn.close()

    def test_each_request_of_a_keep_alive_connection_is_its_own_keys(self):
        # a connection remembers its last Authorization header and its key hash: a request with
        # another header, a wrong key, or a key deleted since, must never be answered as the
        # remembered one
        bob_key = self.server.user_with_key("ka_bob", groups=["ka_team"])
        bob_id = [k for k in self.server.api("GET", "/admin/personal-api-keys/").json
                  if k.get("user") == "ka_bob"][0]["id"]
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)

        def who(key):
            conn.request("GET", PREFIX + "/auth/info",
                         headers={"Authorization": basic_auth(key)})
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, json.loads(body) if body else None

        try:
            status, admin = who(self.server.admin_key)
            self.assertEqual(status, 200)
            self.assertTrue(admin["admin"])
            sock = conn.sock
            status, bob = who(bob_key)
            self.assertEqual(status, 200)
            self.assertEqual(bob["authIdentifier"], "ka_bob")
            self.assertFalse(bob["admin"])
            status, _ = who(bob_key[:-1] + ("A" if bob_key[-1] != "A" else "B"))
            self.assertEqual(status, 401)
            status, again = who(self.server.admin_key)
            self.assertEqual(status, 200)
            self.assertTrue(again["admin"])
            status, bob = who(bob_key)
            self.assertEqual(status, 200)
            self.assertEqual(bob["authIdentifier"], "ka_bob")
            r = self.server.api("DELETE", "/personal-api-keys/" + bob_id)
            self.assertStatus(r, 200)
            status, _ = who(bob_key)  # the header this connection just remembered
            self.assertEqual(status, 401)
            self.assertIs(conn.sock, sock, "a new TCP connection was opened")
        finally:
            conn.close()

    def test_encoded_slash_in_a_name_is_a_client_error(self):
        r = self.server.api("GET", "/admin/connections/a%2Fb")
        self.assertError(r, 400, "BadRequest")

    def test_malformed_percent_escape_is_a_client_error(self):
        for path in ("a%G1", "a%2", "a%"):
            with self.subTest(path=path):
                r = self.server.api("GET", "/admin/connections/" + path)
                self.assertError(r, 400, "BadRequest")

    def test_oversized_request_line_is_a_json_client_error(self):
        path = PREFIX + "/admin/connections/" + "x" * 100000
        r = self.server.raw_exchange(self.server.raw_head("GET", path,
                                                          extra=["Connection: close"]))
        self.assertTrue(400 <= r.status < 500, self.describe(r))
        self.assertJsonBody(r)
        self.assertIn("errorType", r.json)
        self.assertStatus(self.server.request("GET", "/healthz", key=None), 200)

    def test_garbage_request_does_not_break_the_server(self):
        try:
            with self.server.connect() as s:
                s.sendall(b"\x00\xffNOT HTTP AT ALL\r\n\r\n")
                s.settimeout(1)
                try:
                    s.recv(4096)
                except OSError:
                    pass
        except OSError:
            pass
        self.assertStatus(self.server.request("GET", "/healthz", key=None), 200)


class RequestThreadsTest(ServerTestCase):
    """--threads sets the request threads (libmicrohttpd's pool); more keep-alive clients than
    threads, each writing then reading its write, are all served (a write whose thread serves
    other connections goes to a write thread: the connections of its thread are not held)."""
    server_options = {"extra_args": ["--threads", "3"]}

    def test_threads_option_sets_the_request_threads(self):
        text = self.server.wait_for_log(lambda t: re.search(r"listening on .* threads\)", t))
        self.assertRegex(text, r"listening on \S+ \(port \d+, 3 threads\)")

    def test_more_clients_than_threads_write_and_read(self):
        conns = [http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
                 for _ in range(9)]  # three connections per thread
        try:
            auth = {"Authorization": basic_auth(self.server.admin_key),
                    "Content-Type": "application/json"}
            for i, c in enumerate(conns):  # every request sent before any answer is read
                body = json.dumps({"name": "rt_%d" % i, "type": "Filesystem",
                                   "params": {"root": "/tmp/rt_%d" % i}})
                c.request("POST", PREFIX + "/admin/connections/", body=body, headers=auth)
            for c in conns:
                r = c.getresponse()
                self.assertEqual(r.status, 200, r.read()[:300])
                r.read()
            for i, c in enumerate(conns):  # each reads its own write on the same connection
                c.request("GET", PREFIX + "/admin/connections/rt_%d" % i, headers=auth)
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                self.assertEqual(json.loads(r.read())["name"], "rt_%d" % i)
        finally:
            for c in conns:
                c.close()


class BodyLimitTest(ServerTestCase):
    server_options = {"max_body_size": LIMIT}

    def post_head(self, extra):
        return self.server.raw_head("POST", PREFIX + "/admin/connections/", extra=extra)

    def test_huge_content_length_is_refused_before_the_body_is_read(self):
        with self.server.connect(timeout=5) as s:
            s.sendall(self.post_head(["Content-Length: 1000000000"]) + b'{"name":')
            try:
                r = read_http_response(s)
            except OSError as e:
                self.fail("no 413 before the body was sent: %r" % e)
        self.assertError(r, 413, "PayloadTooLarge")

    def test_content_length_one_over_the_limit_is_payload_too_large(self):
        with self.server.connect(timeout=5) as s:
            s.sendall(self.post_head(["Content-Length: %d" % (LIMIT + 1)]))
            r = read_http_response(s)
        self.assertError(r, 413, "PayloadTooLarge")

    def test_body_exactly_at_the_limit_is_accepted(self):
        # a field of its own: a description holds at most 1024 characters
        body = {"name": "exact_limit", "type": "Filesystem", "params": {"root": "/tmp"},
                "notes": ""}
        size = len(json.dumps(body).encode())
        body["notes"] = "d" * (LIMIT - size)
        data = json.dumps(body).encode()
        self.assertEqual(len(data), LIMIT)
        r = self.server.api("POST", "/admin/connections/", raw_body=data)
        self.assertStatus(r, 200)

    def test_chunked_body_under_the_limit_is_accepted(self):
        data = json.dumps({"name": "chunked_small", "type": "Filesystem",
                           "params": {"root": "/tmp"}}).encode()
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(data[i:i + 16]), data[i:i + 16])
                          for i in range(0, len(data), 16)) + b"0\r\n\r\n"
        with self.server.connect(timeout=5) as s:
            s.sendall(self.post_head(["Transfer-Encoding: chunked"]) + chunks)
            r = read_http_response(s)
        self.assertStatus(r, 200)
        self.assertStatus(self.server.api("GET", "/admin/connections/chunked_small"), 200)

    def stream_chunked(self, name, pieces, piece_size=1000):
        """POST a chunked body of `pieces` chunks of piece_size bytes, stopping early if an
        answer comes first, and return the answer."""
        piece = b"x" * piece_size
        with self.server.connect(timeout=10) as s:
            s.sendall(self.post_head(["Transfer-Encoding: chunked"]))
            start = (b'{"name":"%s","type":"Filesystem","params":{"root":"/tmp"},'
                     b'"notes":"' % name.encode())
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(start), start))
                for _ in range(pieces):
                    if select.select([s], [], [], 0)[0]:
                        break  # the server answered early
                    s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                else:
                    s.sendall(b'2\r\n"}\r\n0\r\n\r\n')  # close the JSON, end the body
            except OSError as e:
                send_error = e  # the answer may still be waiting to be read
            else:
                send_error = None
            try:
                return read_http_response(s)
            except OSError as e:
                self.fail("no answer to an over-limit chunked body (sending: %r, reading: %r)"
                          % (send_error, e))

    def test_chunked_body_just_over_the_limit_is_payload_too_large(self):
        r = self.stream_chunked("chunked_5k", 5)
        self.assertError(r, 413, "PayloadTooLarge")
        self.assertStatus(self.server.api("GET", "/admin/connections/chunked_5k"), 404)

    def test_chunked_body_growing_far_over_the_limit_is_payload_too_large(self):
        # 128 KB, 32 times the limit: the client does not stop because the server is full.
        r = self.stream_chunked("chunked_128k", 128)
        self.assertError(r, 413, "PayloadTooLarge")
        self.assertStatus(self.server.api("GET", "/admin/connections/chunked_128k"), 404)

    def test_chunked_body_of_sixteen_mebibytes_is_payload_too_large(self):
        # Whatever the server does with the excess, the client must learn it was too large.
        r = self.stream_chunked("chunked_16m", 256, piece_size=65536)
        self.assertError(r, 413, "PayloadTooLarge")
        self.assertStatus(self.server.api("GET", "/admin/connections/chunked_16m"), 404)

    def test_server_keeps_serving_after_payload_too_large(self):
        with self.server.connect(timeout=5) as s:
            s.sendall(self.post_head(["Content-Length: 99999999"]))
            read_http_response(s)
        self.assertStatus(self.server.api("GET", "/admin/connections/"), 200)


class DefaultBodyLimitTest(ServerTestCase):

    def test_default_limit_is_one_mebibyte(self):
        with self.server.connect(timeout=5) as s:
            s.sendall(self.server.raw_head("POST", PREFIX + "/admin/connections/",
                                           extra=["Content-Length: %d" % (1048576 + 1)]))
            r = read_http_response(s)
        self.assertError(r, 413, "PayloadTooLarge")

    def test_body_of_a_few_kilobytes_is_accepted_by_default(self):
        r = self.server.api("POST", "/admin/connections/",
                            {"name": "eight_kb", "type": "Filesystem",
                             "params": {"root": "/tmp", "notes": "d" * 8192}})
        self.assertStatus(r, 200)


class RequestLogTest(ServerTestCase):

    def admin_key_id(self):
        r = self.server.api("GET", "/admin/globalAPIKeys/" + self.server.admin_key)
        self.assertStatus(r, 200)
        return r.json["id"]

    def test_log_has_one_line_per_request_with_method_route_status_duration_principal(self):
        key_id = self.admin_key_id()
        auth_identifier = self.server.auth_info()["authIdentifier"]

        def get_names_lines(text):
            return [l for l in text.splitlines() if "get-names" in l]

        before = len(get_names_lines(self.server.log_text()))
        for _ in range(3):
            self.assertStatus(self.server.api("GET", "/connections/get-names?type=all"), 200)
        self.server.wait_for_log(lambda t: len(get_names_lines(t)) >= before + 3)
        time.sleep(0.2)
        lines = get_names_lines(self.server.log_text())[before:]
        self.assertEqual(len(lines), 3, "log lines for 3 get-names requests: %r"
                         % [self.server.redact(l) for l in lines])
        for line in lines:
            self.assertIn("GET", line)
            self.assertIn("200", line)
            self.assertTrue(key_id in line or auth_identifier in line,
                            "no principal id in log line: %s" % self.server.redact(line))
            self.assertTrue(re.search(r"(?i)dur|\d\s*(ms|us|µs|s)\b", line),
                            "no duration in log line: %s" % self.server.redact(line))

    def test_log_line_has_the_route_pattern_not_the_raw_path(self):
        # Paths can carry secrets (/admin/globalAPIKeys/{secret}): the log names the pattern.
        r = self.server.api("GET", "/admin/connections/zz_absent_conn")
        self.assertStatus(r, 404)
        text = self.server.wait_for_log(
            lambda t: any("/admin/connections/" in l and "404" in l for l in t.splitlines()))
        lines = [l for l in text.splitlines() if "/admin/connections/" in l and "404" in l]
        self.assertTrue(lines, "no log line for GET /admin/connections/{name} -> 404")
        self.assertIn("GET", lines[-1])
        self.assertNotIn("zz_absent_conn", text)

    def test_log_never_contains_keys_or_secret_params(self):
        self.server.remember_secret(SECRET_PASSWORD)
        created = self.server.create_key(admin=False, groups=["g"])
        body = {"name": "logged_secret", "type": "PostgreSQL",
                "params": {"host": "h", "user": "u", "password": SECRET_PASSWORD,
                           "properties": [{"name": "p", "value": SECRET_PASSWORD,
                                           "secret": True}]}}
        self.assertStatus(self.server.api("POST", "/admin/connections/", body), 200)
        # a failing request whose body carries the secret
        bad = dict(body, name="logged_secret_bad", usableBy=5)
        self.assertStatus(self.server.api("POST", "/admin/connections/", bad), 400)
        self.server.api("POST", "/admin/connections/",
                        raw_body=b'{"name":"x","params":{"password":"' +
                        SECRET_PASSWORD.encode() + b'"')
        self.server.api("GET", "/auth/info", key=created["key"])
        self.server.api("GET", "/admin/connections/", headers={
            "Authorization": "Bearer " + self.server.admin_key})
        self.server.api("GET", "/admin/globalAPIKeys/" + created["key"])
        self.server.api("GET", "/auth/info", key=SECRET_PASSWORD)  # unknown key -> 401
        # every request's line (each follows its answer): the last, a 401 after globalAPIKeys
        text = self.server.wait_for_log(
            lambda t: "globalAPIKeys" in t and t.rfind(" 401") > t.rfind("globalAPIKeys"))
        self.assertNoSecret(text, self.server.admin_key, "the server log (admin key)")
        self.assertNoSecret(text, created["key"], "the server log (created key)")
        self.assertNoSecret(text, SECRET_PASSWORD, "the server log (password param)")


if __name__ == "__main__":
    unittest.main()
