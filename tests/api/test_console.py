# SPDX-License-Identifier: Apache-2.0
"""The web console's server side (issue 15): the embedded files and their headers, sign-in and
sessions (cookie flags, the CSRF header, what ends a session, idle timeout and lifetime, a
session on two nodes of a shared store), the sign-in backoff and its audit, and the paged
listing GET /admin/connections-page.
"""

import os
import re
import shutil
import tempfile
import time
import unittest

from server import (PREFIX, STORE, OwnServerTestCase, Server, ServerTestCase, random_key)
from test_keyfile import make_cert
from test_pg_store import NodesTestCase, needs_pg

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONSOLE_DIR = os.path.join(REPO, "console")
CSRF = "X-Switchboard-CSRF"


def cookie_of(resp):
    """The sb_session value set by RESP, or None."""
    for v in resp.headers.get_all("Set-Cookie"):
        m = re.match(r"sb_session=([^;]*)", v)
        if m:
            return m.group(1)
    return None


class Session:
    """A browser's view of one session: its cookie and CSRF token."""

    def __init__(self, server, cookie, csrf, answer):
        self.server, self.cookie, self.csrf, self.answer = server, cookie, csrf, answer

    def api(self, method, path, body=None, csrf=True, cookie=True, server=None):
        headers = {}
        if cookie:
            headers["Cookie"] = "theme=dark; sb_session=" + self.cookie
        if csrf is True:
            headers[CSRF] = self.csrf
        elif csrf:
            headers[CSRF] = csrf
        return (server or self.server).api(method, path, body, key=None, headers=headers)


def sign_in(server, test, status=200, **body):
    r = server.api("POST", "/auth/session", body, key=None)
    if status is not None:
        test.assertStatus(r, status, "sign-in")
    if r.status != 200:
        return r
    cookie = cookie_of(r)
    test.assertTrue(cookie, "the sign-in answer sets the session cookie")
    server.remember_secret(cookie)
    return Session(server, cookie, r.json["csrfToken"], r.json)


class ConsoleFilesTest(ServerTestCase):

    def assertSecurityHeaders(self, r, console):
        h = r.headers
        self.assertEqual(h.get("X-Content-Type-Options"), "nosniff")
        self.assertEqual(h.get("Referrer-Policy"), "no-referrer")
        csp = h.get("Content-Security-Policy") or ""
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertNotIn("http", csp, "no other origin in the policy")
        self.assertNotIn("*", csp)
        if console:
            self.assertIn("script-src 'self'", csp)
            self.assertIn("default-src 'none'", csp)

    def test_root_redirects_to_the_console(self):
        r = self.server.request("GET", "/", key=None)
        self.assertStatus(r, 302)
        self.assertEqual(r.headers.get("Location"), "/console/")
        self.assertSecurityHeaders(r, False)

    def test_index_is_served_with_the_console_policy(self):
        for path in ("/console/", "/console"):
            r = self.server.request("GET", path, key=None)
            self.assertStatus(r, 200, path)
            self.assertTrue(r.headers.get("Content-Type").startswith("text/html"))
            self.assertSecurityHeaders(r, True)
            with open(os.path.join(CONSOLE_DIR, "index.html"), "rb") as f:
                self.assertEqual(r.raw, f.read(), "the embedded file is console/index.html")

    def test_every_console_file_is_embedded_with_its_type(self):
        types = {".js": "text/javascript", ".css": "text/css", ".html": "text/html",
                 ".svg": "image/svg+xml"}
        seen = 0
        for root, _, files in os.walk(CONSOLE_DIR):
            for name in files:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, CONSOLE_DIR)
                r = self.server.request("GET", "/console/" + rel, key=None)
                self.assertStatus(r, 200, rel)
                with open(path, "rb") as f:
                    self.assertEqual(r.raw, f.read(), rel)
                ext = os.path.splitext(name)[1]
                if ext in types:
                    self.assertTrue(r.headers.get("Content-Type").startswith(types[ext]), rel)
                self.assertSecurityHeaders(r, True)
                seen += 1
        self.assertGreater(seen, 2)

    def test_unknown_console_file_is_404(self):
        self.assertError(self.server.request("GET", "/console/nope.js", key=None), 404,
                         "NotFound")
        self.assertError(self.server.request("GET", "/console/js/../../secret.key", key=None),
                         404, "NotFound")

    def test_api_answers_carry_the_headers_too(self):
        self.assertSecurityHeaders(self.server.api("GET", "/auth/info"), False)
        self.assertSecurityHeaders(self.server.api("GET", "/auth/info", key=None), False)

    def test_console_is_small_and_has_no_inline_script_or_other_origin(self):
        total = 0
        for root, _, files in os.walk(CONSOLE_DIR):
            for name in files:
                path = os.path.join(root, name)
                total += os.path.getsize(path)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                # an SVG names its XML namespace by URL; that is not a request
                text_wo_ns = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
                self.assertNotRegex(text_wo_ns, r"https?://", "no other origin in " + name)
                if name.endswith(".html"):
                    for tag in re.findall(r"<script[^>]*>", text):
                        self.assertIn("src=", tag, "no inline script in " + name)
                    self.assertNotRegex(text, r"\son[a-z]+=", "no inline handler in " + name)
                    self.assertNotIn("style=", text, "no inline style in " + name)
                if name.endswith(".js"):
                    self.assertNotRegex(text, r"(local|session)Storage\s*[.\[]", name)
                    self.assertNotIn("eval(", text, name)
        self.assertLess(total, 200 * 1024, "the console ships under 200 KB")


class SessionTest(ServerTestCase):

    def test_key_sign_in_sets_a_strict_httponly_cookie(self):
        r = self.server.api("POST", "/auth/session", {"apiKey": self.server.admin_key}, key=None)
        self.assertStatus(r, 200)
        cookies = [v for v in r.headers.get_all("Set-Cookie") if v.startswith("sb_session=")]
        self.assertEqual(len(cookies), 1)
        attrs = [a.strip().lower() for a in cookies[0].split(";")[1:]]
        self.assertIn("httponly", attrs)
        self.assertIn("samesite=strict", attrs)
        self.assertIn("path=/", attrs)
        self.assertNotIn("secure", attrs, "plain HTTP: a Secure cookie would never come back")
        self.assertEqual(r.json["principalType"], "GLOBAL_API_KEY")
        self.assertIs(r.json["admin"], True)
        self.assertGreaterEqual(len(r.json["csrfToken"]), 40)
        self.assertNotIn(self.server.admin_key, r.raw.decode())
        self.server.remember_secret(cookie_of(r))

    def test_password_sign_in_acts_as_the_user(self):
        self.server.create_group("sess_admins", admin=True)
        self.server.create_user("sess_ana", password="pw-ana-123456", groups=["sess_admins"])
        s = sign_in(self.server, self, login="sess_ana", password="pw-ana-123456")
        self.assertEqual(s.answer["principalType"], "USER")
        self.assertEqual(s.answer["authIdentifier"], "sess_ana")
        self.assertIs(s.answer["admin"], True)
        r = s.api("GET", "/auth/info")
        self.assertStatus(r, 200)
        self.assertEqual(r.json["authIdentifier"], "sess_ana")
        r = s.api("POST", "/admin/connections/", {"name": "by_session", "type": "Filesystem",
                                                  "params": {"root": "/tmp"}})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["creationTag"]["lastModifiedBy"]["login"], "sess_ana")

    def test_cookie_without_the_csrf_header_authorises_nothing(self):
        s = sign_in(self.server, self, apiKey=self.server.admin_key)
        r = s.api("POST", "/admin/connections/", {"name": "csrf_victim", "type": "Filesystem",
                                                  "params": {"root": "/tmp"}}, csrf=False)
        self.assertError(r, 403, "Forbidden", mentions=CSRF)
        self.assertNotIn("WWW-Authenticate", r.headers)
        self.assertError(s.api("GET", "/admin/connections/csrf_victim"), 404, "NotFound")
        self.assertError(s.api("GET", "/admin/connections/", csrf=False), 403, "Forbidden")
        self.assertError(s.api("GET", "/auth/info", csrf="x" * 43), 403, "Forbidden")
        self.assertError(s.api("DELETE", "/auth/session", csrf=False), 403, "Forbidden")
        # the session still works with its header
        self.assertStatus(s.api("GET", "/auth/info"), 200)

    def test_csrf_of_another_session_is_refused(self):
        a = sign_in(self.server, self, apiKey=self.server.admin_key)
        b = sign_in(self.server, self, apiKey=self.server.admin_key)
        self.assertNotEqual(a.csrf, b.csrf)
        self.assertError(a.api("GET", "/auth/info", csrf=b.csrf), 403, "Forbidden")

    def test_session_state_answers_the_cookie_alone_and_nothing_more(self):
        s = sign_in(self.server, self, apiKey=self.server.admin_key)
        r = s.api("GET", "/auth/session", csrf=False)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["csrfToken"], s.csrf)
        self.assertGreater(r.json["expiresOn"], int(time.time() * 1000))
        self.assertIs(r.json["signedIn"], True)
        # without a session it says so, as a 200 (the console asks on every visit)
        r = self.server.api("GET", "/auth/session", key=None)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["signedIn"], False)
        self.assertNotIn("csrfToken", r.json)
        self.assertIsNone(cookie_of(r))

    def test_a_forged_cookie_is_401(self):
        r = self.server.api("GET", "/auth/info", key=None,
                            headers={"Cookie": "sb_session=" + random_key(43), CSRF: "x"})
        self.assertError(r, 401, "Unauthorized")

    def test_an_api_key_wins_over_a_cookie(self):
        s = sign_in(self.server, self, apiKey=self.server.admin_key)
        r = self.server.api("GET", "/auth/info", headers={"Cookie": "sb_session=" + s.cookie})
        self.assertStatus(r, 200, "the Authorization header authenticates without CSRF")

    def test_logout_ends_the_session(self):
        s = sign_in(self.server, self, apiKey=self.server.admin_key)
        r = s.api("DELETE", "/auth/session")
        self.assertStatus(r, 200)
        self.assertTrue(any("Max-Age=0" in v for v in r.headers.get_all("Set-Cookie")))
        self.assertError(s.api("GET", "/auth/info"), 401, "Unauthorized")
        r = s.api("GET", "/auth/session", csrf=False)
        self.assertStatus(r, 200)
        self.assertEqual(r.json["signedIn"], False)
        self.assertNotIn("csrfToken", r.json)
        self.assertTrue(any("Max-Age=0" in v for v in r.headers.get_all("Set-Cookie")))
        actions = [(a["action"], a["outcome"]) for a in
                   self.server.api("GET", "/admin/audit?limit=20").json]
        self.assertIn(("session.signout", "success"), actions)

    def test_disabling_the_user_ends_their_sessions(self):
        self.server.create_user("sess_dis", password="pw-dis-123456")
        s = sign_in(self.server, self, login="sess_dis", password="pw-dis-123456")
        self.assertStatus(s.api("GET", "/auth/info"), 200)
        u = self.server.api("GET", "/admin/users/sess_dis").json
        u["enabled"] = False
        self.assertStatus(self.server.api("PUT", "/admin/users/sess_dis", u), 200)
        self.assertError(s.api("GET", "/auth/info"), 401, "Unauthorized")
        # and a disabled user cannot sign in again
        sign_in(self.server, self, status=401, login="sess_dis", password="pw-dis-123456")

    def test_a_password_change_ends_the_sessions(self):
        self.server.create_user("sess_pw", password="pw-old-123456")
        s = sign_in(self.server, self, login="sess_pw", password="pw-old-123456")
        u = self.server.api("GET", "/admin/users/sess_pw").json
        u["password"] = "pw-new-654321"
        self.server.remember_secret("pw-new-654321")
        self.assertStatus(self.server.api("PUT", "/admin/users/sess_pw", u), 200)
        self.assertError(s.api("GET", "/auth/info"), 401, "Unauthorized", mentions="password")
        sign_in(self.server, self, status=401, login="sess_pw", password="pw-old-123456")
        s2 = sign_in(self.server, self, login="sess_pw", password="pw-new-654321")
        self.assertStatus(s2.api("GET", "/auth/info"), 200)

    def test_deleting_the_key_ends_its_sessions(self):
        k = self.server.create_key(admin=True)
        s = sign_in(self.server, self, apiKey=k["key"])
        self.assertStatus(s.api("GET", "/admin/connections/"), 200)
        self.assertStatus(self.server.api("DELETE", "/admin/global-api-keys/" + k["id"]), 200)
        self.assertError(s.api("GET", "/admin/connections/"), 401, "Unauthorized")

    def test_deleting_the_user_ends_their_personal_key_sessions(self):
        key = self.server.user_with_key("sess_pk")
        s = sign_in(self.server, self, apiKey=key)
        self.assertEqual(s.answer["principalType"], "USER")
        self.assertStatus(self.server.api("DELETE", "/admin/users/sess_pk"), 200)
        self.assertError(s.api("GET", "/auth/info"), 401, "Unauthorized")

    def test_non_admin_session_gets_403_on_admin_endpoints(self):
        self.server.create_user("sess_user", password="pw-user-123456")
        s = sign_in(self.server, self, login="sess_user", password="pw-user-123456")
        self.assertIs(s.answer["admin"], False)
        for path in ("/admin/connections/", "/admin/users/", "/admin/audit",
                     "/admin/connections-page", "/admin/connection-status"):
            self.assertError(s.api("GET", path), 403, "Forbidden")
        self.assertStatus(s.api("GET", "/personal-api-keys/"), 200)
        self.assertStatus(s.api("GET", "/connection-types"), 200)

    def test_bad_sign_in_bodies_are_400(self):
        for body in ({}, {"login": "x"}, {"password": "x"}, {"login": 1, "password": "x"},
                     {"apiKey": "k", "login": "x"}, {"login": "", "password": "x"},
                     {"login": "x" * 200, "password": "y"}, []):
            r = self.server.api("POST", "/auth/session", body, key=None)
            self.assertError(r, 400, "BadRequest")
        r = self.server.api("POST", "/auth/session", key=None, raw_body=b"{not json")
        self.assertError(r, 400, "BadRequest")

    def test_wrong_key_sign_in_is_401_without_a_browser_prompt(self):
        r = self.server.api("POST", "/auth/session", {"apiKey": random_key()}, key=None)
        self.assertError(r, 401, "Unauthorized")
        self.assertNotIn("WWW-Authenticate", r.headers)
        self.assertIsNone(cookie_of(r))

    def test_api_clients_still_get_basic_challenges(self):
        r = self.server.api("GET", "/auth/info", key=None)
        self.assertError(r, 401, "Unauthorized")
        self.assertIn("WWW-Authenticate", r.headers)

    def test_store_keeps_no_session_token(self):
        s = sign_in(self.server, self, apiKey=self.server.admin_key)
        hits = self.server.find_plaintexts([s.cookie])
        self.assertEqual(hits, [], "the cookie's token is stored only as a keyed hash")


class BackoffTest(OwnServerTestCase):

    def test_failed_sign_ins_slow_down_the_login_and_are_audited(self):
        self.server.create_user("bo_ana", password="pw-bo-123456")
        for i in range(5):
            r = self.server.api("POST", "/auth/session",
                                {"login": "bo_ana", "password": "wrong-%d" % i}, key=None)
            self.assertError(r, 401, "Unauthorized")
        r = self.server.api("POST", "/auth/session",
                            {"login": "bo_ana", "password": "pw-bo-123456"}, key=None)
        self.assertError(r, 429, "TooManyRequests", mentions="try again")
        self.assertGreaterEqual(int(r.headers.get("Retry-After")), 1)
        self.assertIsNone(cookie_of(r), "even the right password waits")
        # another login from the same address is not held back by this one's failures
        self.server.create_user("bo_bob", password="pw-bob-123456")
        sign_in(self.server, self, login="bo_bob", password="pw-bob-123456")
        audit = self.server.api("GET", "/admin/audit?limit=50").json
        mine = [(a["action"], a["object"], a["outcome"]) for a in audit
                if a["action"] == "session.signin"]
        self.assertEqual(mine.count(("session.signin", "user:bo_ana", "failed")), 5)
        self.assertIn(("session.signin", "user:bo_ana", "denied"), mine)
        self.assertIn(("session.signin", "bo_bob", "success"), mine)
        for a in audit:
            self.assertNotIn("pw-bo", str(a))
            self.assertNotIn("wrong-", str(a))

    def test_sign_ins_are_the_users_activity(self):
        self.server.create_user("act_ana", password="pw-act-123456")
        before = int(time.time() * 1000) - 1
        r = self.server.api("POST", "/auth/session",
                            {"login": "act_ana", "password": "wrong"}, key=None)
        self.assertError(r, 401, "Unauthorized")
        a = self.server.api("GET", "/admin/users/act_ana/activity").json
        self.assertGreaterEqual(a["lastFailedLogin"], before)
        self.assertEqual(a["lastSuccessfulLogin"], 0)
        s = sign_in(self.server, self, login="act_ana", password="pw-act-123456")
        self.assertStatus(s.api("GET", "/auth/info"), 200)
        a = self.server.api("GET", "/admin/users/act_ana/activity").json
        self.assertGreaterEqual(a["lastSuccessfulLogin"], a["lastFailedLogin"])
        self.assertGreaterEqual(a["lastSessionActivity"], before)

    def test_failures_from_one_address_slow_down_every_login(self):
        for i in range(20):
            r = self.server.api("POST", "/auth/session",
                                {"login": "nobody%d" % i, "password": "x"}, key=None)
            self.assertError(r, 401, "Unauthorized")
        r = self.server.api("POST", "/auth/session", {"apiKey": self.server.admin_key}, key=None)
        self.assertError(r, 429, "TooManyRequests")
        # API clients with a key are not slowed down: only sign-ins are
        self.assertStatus(self.server.api("GET", "/auth/info"), 200)


class SessionTimesTest(OwnServerTestCase):
    server_options = {"extra_args": ["--session-idle-timeout", "2", "--session-lifetime", "5"]}

    def test_activity_keeps_a_session_past_its_idle_timeout_until_its_lifetime(self):
        s = sign_in(self.server, self, apiKey=self.server.admin_key)
        start = time.monotonic()
        while time.monotonic() - start < 3.5:  # longer than the idle timeout, in use
            self.assertStatus(s.api("GET", "/auth/info"), 200)
            time.sleep(0.4)
        time.sleep(max(0.0, 5.5 - (time.monotonic() - start)))
        self.assertError(s.api("GET", "/auth/info"), 401, "Unauthorized", mentions="lifetime")

    def test_an_idle_session_ends(self):
        s = sign_in(self.server, self, apiKey=self.server.admin_key)
        self.assertStatus(s.api("GET", "/auth/info"), 200)
        time.sleep(3.0)
        self.assertError(s.api("GET", "/auth/info"), 401, "Unauthorized", mentions="idle")


class TlsSessionTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl is needed")
        cls.certdir = tempfile.mkdtemp(prefix="switchboard-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.certdir, True)
        cert, key = make_cert(cls.certdir)
        cls.server_options = {"tls_cert": cert, "tls_key": key}
        super().setUpClass()

    def test_cookie_is_secure_under_tls(self):
        r = self.server.api("POST", "/auth/session", {"apiKey": self.server.admin_key}, key=None)
        self.assertStatus(r, 200)
        self.server.remember_secret(cookie_of(r))
        attrs = [a.strip().lower() for a in r.headers.get("Set-Cookie").split(";")]
        self.assertIn("secure", attrs)
        self.assertIn("httponly", attrs)


@needs_pg
class SharedStoreSessionTest(NodesTestCase):

    def test_a_session_opened_on_one_node_works_and_ends_on_the_other(self):
        s = sign_in(self.a, self, apiKey=self.admin_key)
        r = s.api("GET", "/admin/connections/", server=self.b)
        self.assertStatus(r, 200, "the cookie of node A on node B")
        self.assertStatus(s.api("DELETE", "/auth/session", server=self.b), 200)
        self.assertError(s.api("GET", "/auth/info", server=self.a), 401, "Unauthorized")


class ConnectionsPageTest(ServerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for i in range(30):
            cls.server.create_connection("page_fs_%02d" % i, description="fs %d" % i)
        for i in range(12):
            cls.server.create_connection("page_pg_%02d" % i, type="PostgreSQL",
                                         params={"host": "127.0.0.1", "port": "1",
                                                 "db": "d", "user": "u"})

    def page(self, query="", key=None, status=200):
        kwargs = {} if key is None else {"key": key}
        r = self.server.api("GET", "/admin/connections-page" + query, **kwargs)
        self.assertStatus(r, status, query)
        return r.json

    def test_default_page_is_the_first_fifty_by_name(self):
        body = self.page()
        self.assertEqual(body["total"], 42)
        names = [i["name"] for i in body["items"]]
        self.assertEqual(len(names), 42)
        self.assertEqual(names, sorted(names))
        item = body["items"][0]
        for field in ("name", "type", "usableBy", "allowedGroups", "versionNumber",
                      "lastModifiedBy", "lastModifiedOn", "status", "description"):
            self.assertIn(field, item)
        self.assertEqual(item["versionNumber"], 1)
        self.assertEqual(item["description"], "fs 0")
        self.assertEqual(item["lastModifiedBy"], "api-key:" + self.server.admin_key_id())
        self.assertIsInstance(item["lastModifiedOn"], int)
        self.assertEqual(item["credentialsMode"], "GLOBAL")

    def test_search_type_offset_limit_and_sort(self):
        body = self.page("?q=PG_&limit=5&offset=10&sort=-name")
        self.assertEqual(body["total"], 12)
        self.assertEqual([i["name"] for i in body["items"]], ["page_pg_01", "page_pg_00"])
        body = self.page("?type=Filesystem&limit=3")
        self.assertEqual(body["total"], 30)
        self.assertEqual([i["name"] for i in body["items"]],
                         ["page_fs_00", "page_fs_01", "page_fs_02"])
        body = self.page("?sort=-type&limit=1")
        self.assertEqual(body["items"][0]["type"], "PostgreSQL")
        body = self.page("?q=nothing-matches")
        self.assertEqual((body["total"], body["items"]), (0, []))

    def test_status_filter_follows_live_tests(self):
        self.assertEqual(self.page("?status=unknown")["total"], 42)
        r = self.server.api("GET", "/connections/page_pg_00/test")
        self.assertStatus(r, 200)
        self.assertIs(r.json["connectionOK"], False)
        body = self.page("?status=failing")
        self.assertEqual([i["name"] for i in body["items"]], ["page_pg_00"])
        self.assertEqual(body["failing"], 1)
        self.assertIs(body["items"][0]["status"]["connectionOK"], False)
        self.assertEqual(self.page("?status=unknown")["total"], 41)

    def test_bad_parameters_are_400_naming_them(self):
        for q, name in (("?limit=0x", "limit"), ("?limit=5000", "limit"), ("?offset=-1", "offset"),
                        ("?sort=color", "sort"), ("?status=red", "status")):
            r = self.server.api("GET", "/admin/connections-page" + q)
            self.assertError(r, 400, "BadRequest", mentions=name)

    def test_non_admin_is_403(self):
        key = self.server.create_key(admin=False)["key"]
        self.assertError(self.server.api("GET", "/admin/connections-page", key=key), 403,
                         "Forbidden")
        self.assertError(self.server.api("GET", "/admin/connections-page", key=None), 401,
                         "Unauthorized")


if __name__ == "__main__":
    unittest.main()
