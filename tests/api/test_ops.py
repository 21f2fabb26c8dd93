"""Operating the server: X-Request-Id on every answer, in its log line and its audit record;
JSON logs; SIGHUP reopening the log and audit files (as logrotate needs); the configuration
file (issue 17)."""
import http.client
import json
import os
import re
import signal
import subprocess
import unittest

from server import ApiTestCase, Server, ServerTestCase, eventually

HEX16 = re.compile(r"^[0-9a-f]{16}$")


class RequestIdTest(ServerTestCase):

    def test_every_answer_carries_a_generated_request_id(self):
        seen = set()
        for method, path, key in (("GET", "/connections/get-names", None),      # 401
                                  ("GET", "/admin/connections/absent", "admin"),  # 404
                                  ("GET", "/auth/info", "admin"),                 # 200
                                  ("PATCH", "/admin/connections/", "admin")):     # 405
            kwargs = {} if key == "admin" else {"key": None}
            r = self.server.api(method, path, **kwargs)
            rid = r.headers.get("X-Request-Id")
            self.assertIsNotNone(rid, "%s %s -> %d without X-Request-Id" % (method, path, r.status))
            self.assertRegex(rid, HEX16)
            seen.add(rid)
        self.assertEqual(len(seen), 4, "request ids repeat: %r" % seen)
        r = self.server.request("GET", "/healthz", key=None)
        self.assertRegex(r.headers.get("X-Request-Id") or "", HEX16)

    def test_generated_request_ids_never_repeat_on_one_connection(self):
        # ids come from a per-thread pool of random bytes refilled every 64 ids: 200 requests
        # on one keep-alive connection (one thread) cross several refills
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        seen = set()
        try:
            for _ in range(200):
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                resp.read()
                rid = resp.getheader("X-Request-Id") or ""
                self.assertRegex(rid, HEX16)
                self.assertNotIn(rid, seen)
                seen.add(rid)
        finally:
            conn.close()

    def test_request_id_sent_by_the_client_is_kept(self):
        r = self.server.api("GET", "/auth/info", headers={"X-Request-Id": "trace-42.a:b/c+d=e"})
        self.assertStatus(r, 200)
        self.assertEqual(r.headers.get("X-Request-Id"), "trace-42.a:b/c+d=e")

    def test_request_id_that_could_forge_a_log_line_is_replaced(self):
        for bad in ("has space", "quote\"d", "x" * 129, "semi;colon"):
            r = self.server.api("GET", "/auth/info", headers={"X-Request-Id": bad})
            self.assertStatus(r, 200)
            self.assertRegex(r.headers.get("X-Request-Id") or "", HEX16, bad)

    def test_request_id_is_in_the_log_line_and_the_audit_record(self):
        r = self.server.api("POST", "/admin/connections/",
                            {"name": "rid_conn", "type": "Filesystem", "params": {"root": "/x"}},
                            headers={"X-Request-Id": "create-rid-conn-1"})
        self.assertStatus(r, 200)
        self.assertEqual(r.headers.get("X-Request-Id"), "create-rid-conn-1")
        text = self.server.wait_for_log(lambda t: "rid=create-rid-conn-1" in t)
        lines = [l for l in text.splitlines() if "rid=create-rid-conn-1" in l]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("POST /dip/publicapi/admin/connections 200", lines[0])
        audit = self.server.api("GET", "/admin/audit?limit=50").json
        records = [a for a in audit if a.get("requestId") == "create-rid-conn-1"]
        self.assertEqual([a["action"] for a in records], ["connection.create"], audit[:3])
        with open(os.path.join(self.server.data_dir, "audit.log"), encoding="utf-8") as f:
            in_file = [json.loads(l) for l in f if "create-rid-conn-1" in l]
        self.assertEqual(len(in_file), 1)
        self.assertEqual(in_file[0]["requestId"], "create-rid-conn-1")


class JsonLogTest(ServerTestCase):
    server_options = {"extra_args": ["--log-format", "json"]}

    def test_every_log_line_is_a_json_object_and_requests_have_their_fields(self):
        r = self.server.api("GET", "/admin/connections/absent",
                            headers={"X-Request-Id": "json-log-1"})
        self.assertStatus(r, 404)
        text = self.server.wait_for_log(lambda t: "json-log-1" in t)
        lines = [json.loads(l) for l in text.splitlines() if l.strip()]
        self.assertTrue(lines)
        for line in lines:
            for field in ("time", "level", "message"):
                self.assertIn(field, line)
            self.assertRegex(line["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        req = [l for l in lines if l.get("requestId") == "json-log-1"]
        self.assertEqual(len(req), 1, lines[-3:])
        req = req[0]
        self.assertEqual(req["method"], "GET")
        self.assertEqual(req["route"], "/dip/publicapi/admin/connections/{name}")
        self.assertEqual(req["status"], 404)
        self.assertIsInstance(req["durationMs"], float)
        self.assertTrue(req["principal"] not in ("", "-"), req)
        self.assertNotIn("absent", json.dumps(req))


class SighupTest(ApiTestCase):

    def test_sighup_reopens_the_log_file_and_audit_log_after_a_rename(self):
        # a second server on the same temporary tree, logging to a file
        srv = Server(extra_args=["--log-file", "PLACEHOLDER"])
        self.addCleanup(srv.cleanup)
        log_path = os.path.join(srv.tmp, "switchboard.log")
        srv.args[srv.args.index("PLACEHOLDER")] = log_path
        srv.start()
        audit_path = os.path.join(srv.data_dir, "audit.log")
        self.assertStatus(srv.api("POST", "/admin/groups/", {"name": "before_rotate"},
                                  headers={"X-Request-Id": "before-rotate-1"}), 200)
        def read(path):
            with open(path, encoding="utf-8") as f:
                return f.read()

        # the request's log line follows its answer: wait for it before the rename
        self.assertTrue(eventually(lambda: "before-rotate-1" in read(log_path), timeout=5))
        os.rename(log_path, log_path + ".1")
        os.rename(audit_path, audit_path + ".1")
        srv.proc.send_signal(signal.SIGHUP)
        # both files are reopened (created anew) by the signal's handling
        self.assertTrue(eventually(lambda: os.path.exists(log_path) and os.path.exists(audit_path),
                                   timeout=5), "SIGHUP did not reopen the log files")
        self.assertStatus(srv.api("POST", "/admin/groups/", {"name": "after_rotate"},
                                  headers={"X-Request-Id": "after-rotate-1"}), 200)
        eventually(lambda: "after-rotate-1" in read(log_path), timeout=5)
        new_log, old_log = read(log_path), read(log_path + ".1")
        self.assertIn("after-rotate-1", new_log)
        self.assertNotIn("after-rotate-1", old_log)
        self.assertIn("POST /dip/publicapi/admin/groups 200", old_log)
        # the audit line is appended after the answer, like the log line: wait for it
        eventually(lambda: "after_rotate" in read(audit_path), timeout=5)
        new_audit, old_audit = read(audit_path), read(audit_path + ".1")
        self.assertIn("after_rotate", new_audit)
        self.assertNotIn("after_rotate", old_audit)
        self.assertIn("before_rotate", old_audit)
        self.assertEqual(os.stat(audit_path).st_mode & 0o777, 0o600)
        self.assertTrue(srv.running(), "SIGHUP stopped the server")
        srv.stop()


class ConfigFileTest(ApiTestCase):

    def write(self, srv, text):
        path = os.path.join(srv.tmp, "switchboard.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_settings_from_the_config_file_apply_and_flags_win(self):
        srv = Server()
        self.addCleanup(srv.cleanup)
        path = self.write(srv, "# small bodies\nmax-body-size = 2048\nlog-format = json\n")
        srv.args += ["--config", path, "--log-format", "text"]
        srv.start()
        r = srv.api("POST", "/admin/connections/", {"name": "big", "type": "Filesystem",
                                                    "params": {"root": "x" * 4000}})
        self.assertStatus(r, 413)
        self.assertFalse(srv.log_text().lstrip().startswith("{"), "the flag's text format")
        srv.stop()
        srv.assert_log_clean()

    def test_unknown_key_stops_the_start_naming_the_line(self):
        srv = Server()
        self.addCleanup(srv.cleanup)
        path = self.write(srv, "listen = 127.0.0.1:1\n\n# typo below\nmax-body = 10\n")
        srv.args += ["--config", path]
        open(srv.stderr_path, "wb").close()
        code, err = srv.start_expecting_exit()
        self.assertEqual(code, 2, err)
        self.assertIn("%s:4: unknown setting 'max-body'" % path, err)
        self.assertFalse(os.path.exists(os.path.join(srv.data_dir, "switchboard.db")))

    def test_settings_effective_shows_sources_and_masks_the_store_password(self):
        srv = Server()
        self.addCleanup(srv.cleanup)
        path = self.write(srv, "store = postgresql://sb:s3cr3t-pw@127.0.0.1:5432/sb\n"
                               "threads = 4\n")
        os.chmod(path, 0o600)  # a file that holds a password is private (test_attacks_round2)
        env = dict(os.environ, SWITCHBOARD_CONFIG=path, SWITCHBOARD_THREADS="6")
        out = subprocess.run([srv.binary, "settings", "--effective", "--listen", "127.0.0.1:1"],
                             env=env, capture_output=True, text=True, check=True).stdout
        self.assertNotIn("s3cr3t-pw", out)
        self.assertRegex(out, r"(?m)^store += postgresql://sb:\*+@127\.0\.0\.1:5432/sb +# file ")
        self.assertRegex(out, r"(?m)^threads += 6 +# environment SWITCHBOARD_THREADS$")
        self.assertRegex(out, r"(?m)^listen += 127\.0\.0\.1:1 +# command line --listen$")
        self.assertRegex(out, r"(?m)^data-dir += \./data +# default$")


if __name__ == "__main__":
    unittest.main()
