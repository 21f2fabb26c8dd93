# SPDX-License-Identifier: Apache-2.0
"""What running main as its users and attackers would showed (after the service layer landed):
each test is a place where real use diverged from docs/API.md or gave a caller something it
should not have, and failed before its fix. The callers are the admin key, the non-admin user
`bob` (a personal key) and nobody (no key)."""

from server import ServerTestCase

SECRET = "Leaky-Pw-9f8e7d"


class MalformedBodyEchoTest(ServerTestCase):
    """A body that is not valid JSON is a 400 naming the reason, the line and the column; it
    never quotes the bytes where parsing stopped, which are often the value of a password cut
    short (a truncated upload, a bad byte in a pasted secret). DataikuException puts the
    message into the script's traceback, and from there into CI logs."""

    def post(self, path, raw, method="POST"):
        return self.server.api(method, path, raw_body=raw)

    def assertNoEcho(self, r, *where):
        self.assertError(r, 400, "BadRequest", mentions="not valid JSON")
        msg = r.json["detailedMessage"]
        self.assertNotIn(SECRET, msg)
        self.assertNotIn(SECRET[:6], msg)
        for w in where:
            self.assertIn(w, msg)

    def test_a_password_cut_short_is_not_echoed(self):
        body = ('{"name":"echo1","type":"PostgreSQL","params":{"host":"h","password":"%s'
                % SECRET).encode()
        r = self.post("/admin/connections/", body)
        self.assertNoEcho(r, "line 1", "column %d" % len(body))

    def test_an_invalid_byte_in_a_password_is_not_echoed(self):
        body = ('{"name":"echo2","type":"PostgreSQL","params":{"password":"%s' % SECRET
                ).encode() + b'\xff"}}'
        self.assertNoEcho(self.post("/admin/connections/", body), "0xff")

    def test_a_user_password_or_credential_is_not_echoed(self):
        self.assertNoEcho(self.post("/admin/users/", ('{"login":"echo3","password":"%s'
                                                      % SECRET).encode()))
        self.server.create_user("echo4")
        key = self.server.create_personal_key("echo4")["key"]
        r = self.server.api("PUT", "/current-user", key=key, raw_body=(
            '{"login":"echo4","credentials":{"c":{"type":"BASIC","user":"u","password":"%s'
            % SECRET).encode())
        self.assertNoEcho(r)

    def test_the_error_still_says_what_is_wrong(self):
        r = self.post("/admin/groups/", b'{"name":"g" "description":"x"}')
        self.assertNoEcho(r, "expected", "line 1", "column")
        r = self.post("/admin/groups/", b'{"name":"g",\n"name":"h"}')
        self.assertNoEcho(r, "duplicate", "line 2")
        self.assertNotIn(SECRET, self.server.log_text())
