# SPDX-License-Identifier: Apache-2.0
"""What running main as its users and attackers would showed (after the service layer landed):
each test is a place where real use diverged from docs/API.md or gave a caller something it
should not have, and failed before its fix. The callers are the admin key, the non-admin user
`bob` (a personal key) and nobody (no key)."""

import json

import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

from server import OwnServerTestCase, ServerTestCase, free_port

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


class CreateOfAnExistingNameTest(ServerTestCase):
    """docs/API.md §3: the create of an existing name is a 409, checked before anything else in
    the body. Connections did it; users, groups, projects and datasets answered a 400 about
    another field of the body first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s = cls.server
        s.create_user("taken")
        s.create_group("taken_g")
        s.create_connection("taken_c", params={"root": "/tmp"})
        s.api("POST", "/projects/", {"projectKey": "TAKEN", "name": "TAKEN", "owner": "admin"})
        s.api("POST", "/projects/TAKEN/datasets/", {"projectKey": "TAKEN", "name": "ds",
                                                    "type": "Filesystem",
                                                    "params": {"connection": "taken_c"}})

    def test_existing_names_are_conflicts_whatever_the_body(self):
        cases = [
            ("/admin/connections/", {"name": "taken_c", "type": "NoSuchType", "params": 5},
             "taken_c"),
            ("/admin/users/", {"login": "taken", "password": 1, "groups": "x"}, "taken"),
            ("/admin/groups/", {"name": "taken_g", "admin": "yes"}, "taken_g"),
            ("/projects/", {"projectKey": "TAKEN", "permissions": 3}, "TAKEN"),
            ("/projects/TAKEN/datasets/", {"projectKey": "TAKEN", "name": "ds", "type": 1},
             "ds"),
        ]
        for path, body, name in cases:
            with self.subTest(path=path):
                self.assertError(self.server.api("POST", path, body), 409, "Conflict",
                                 mentions=name)

    def test_a_new_name_with_a_bad_body_is_still_a_bad_request(self):
        cases = [
            ("/admin/users/", {"login": "fresh", "password": 1}, "password"),
            ("/admin/groups/", {"name": "fresh_g", "admin": "yes"}, "admin"),
            ("/projects/", {"projectKey": "FRESH", "permissions": 3}, "permissions"),
            ("/projects/TAKEN/datasets/", {"projectKey": "TAKEN", "name": "fresh", "type": 1},
             "type"),
        ]
        for path, body, field in cases:
            with self.subTest(path=path):
                self.assertError(self.server.api("POST", path, body), 400, "BadRequest",
                                 mentions=field)

    def test_a_writer_who_is_not_admin_gets_the_conflict_too(self):
        self.server.create_group("taken_writers")
        key = self.server.user_with_key("taken_w", groups=["taken_writers"])
        perms = self.server.api("GET", "/projects/TAKEN/permissions").json
        perms["permissions"] = [{"group": "taken_writers", "readProjectContent": True,
                                 "writeProjectContent": True}]
        self.assertStatus(self.server.api("PUT", "/projects/TAKEN/permissions", perms), 200)
        r = self.server.api("POST", "/projects/TAKEN/datasets/", {"name": "ds", "type": []},
                            key=key)
        self.assertError(r, 409, "Conflict", mentions="ds")
        # a caller who may not change the project learns nothing about its datasets
        outsider = self.server.user_with_key("taken_o")
        r = self.server.api("POST", "/projects/TAKEN/datasets/", {"name": "ds", "type": []},
                            key=outsider)
        self.assertError(r, 403, "Forbidden")
        self.assertEqual(json.dumps(r.json).count("already"), 0)


class StoreOnTheCommandLineTest(OwnServerTestCase):
    """`--store postgresql://user:PASSWORD@host/db` on the command line was readable by every
    local user for as long as the server ran (ps, /proc/PID/cmdline); and a --store that is not
    a postgresql:// URL (a mistyped scheme, a libpq "host=... password=..." string) was opened
    as the path of a new, empty SQLite store named after it, the server starting on it."""

    def test_the_password_is_not_left_in_the_command_line(self):
        listener = socket.socket()  # accepts and never answers: the start waits on it
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        for form in ("separate", "joined"):
            with self.subTest(form=form):
                url = "postgresql://sb:%s@127.0.0.1:%d/sb?password=%s" % (SECRET, port,
                                                                           SECRET + "2")
                self.server.remember_secret(SECRET)
                args = ["--store", url] if form == "separate" else ["--store=" + url]
                cmdline = self.cmdline_while_starting(args)
                self.assertNotIn(SECRET.encode(), cmdline)
                self.assertIn(b"postgresql://sb:*", cmdline)
                self.assertIn(b"@127.0.0.1:%d/sb?password=*" % port, cmdline)

    def cmdline_while_starting(self, args):
        self.server.stop()
        cmd = [self.server.binary, "serve", "--listen", "127.0.0.1:%d" % free_port(),
               "--data-dir", self.server.data_dir] + args
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL,
                                env=dict(os.environ, SWITCHBOARD_CONFIG=""))
        try:
            seen = b""
            for _ in range(200):  # until the flags are read (the store's connect then waits)
                time.sleep(0.05)
                with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                    seen = f.read()
                if b"*" in seen or proc.poll() is not None:
                    break
            return seen
        finally:
            proc.kill()
            proc.wait()

    def test_a_store_that_is_not_a_postgresql_url_is_refused(self):
        self.server.stop()
        for store in ("host=127.0.0.1 password=%s" % SECRET, "postgressql://h/db",
                      os.path.join(self.server.data_dir, "other.db")):
            with self.subTest(store=store[:12]):
                rc, err = self.server.start_expecting_exit(
                    timeout=20, args=self.server.args + ["--store", store])
                self.assertNotEqual(rc, 0)
                self.assertIsNotNone(rc, "the server started on a store it made up")
                self.assertIn("must be a postgresql:// URL", err)
                self.assertNotIn(SECRET, err)
        self.assertEqual([f for f in os.listdir(os.getcwd()) if SECRET in f], [])


class CliCommandLineSecretsTest(ServerTestCase):
    """The CLI's --api-key, and `--param password=...` (the README's own example), stayed in
    the command line, readable by every local user for as long as the command ran (an `edit`
    waits for the editor). Like curl for -u, the CLI now overwrites them there."""

    def cli(self, url, args, editor="true"):
        env = dict(os.environ, HOME=tempfile.mkdtemp(prefix="sb-cli-"), SWITCHBOARD_URL=url,
                   EDITOR=editor, SWITCHBOARD_CONFIG="")
        self.addCleanup(shutil.rmtree, env["HOME"], True)
        env.pop("SWITCHBOARD_API_KEY", None)
        return subprocess.Popen([self.server.binary] + args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)

    def cmdline_of(self, proc, until):
        """PROC's command line once it holds UNTIL (the words are overwritten right after
        the start), else the last one seen before it exited (a zombie's is empty)."""
        seen = b""
        for _ in range(200):
            time.sleep(0.05)
            with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                now = f.read().replace(b"\0", b" ")
            seen = now or seen
            if until in now or proc.poll() is not None:
                break
        return seen

    def test_the_key_and_secret_params_are_not_left_in_the_command_line(self):
        key = self.server.admin_key
        listener = socket.socket()  # accepts and never answers: the command waits on it
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        for form in (["--api-key", key], ["--api-key=" + key]):
            with self.subTest(form=form[0][:10]):
                proc = self.cli(url, form + ["connections", "create", "cli_pw", "--type",
                                             "PostgreSQL", "--param", "host=h", "--param",
                                             "password=" + SECRET, "--param-json",
                                             'token="%s-t"' % SECRET, "--param", "user=u1"])
                try:
                    seen = self.cmdline_of(proc, b"*")
                finally:
                    proc.kill()
                    proc.communicate()
                self.assertNotIn(key.encode(), seen)
                self.assertNotIn(SECRET.encode(), seen)
                self.assertIn(b"host=h", seen)  # what is not secret stays readable
                self.assertIn(b"user=u1", seen)
                self.assertIn(b"password=*", seen)

    def test_the_command_still_uses_the_values_it_was_given(self):
        key = self.server.admin_key
        url = self.server.base_url
        proc = self.cli(url, ["--api-key", key, "connections", "create", "cli_pw2", "--type",
                              "PostgreSQL", "--param", "host=h", "--param",
                              "password=" + SECRET, "--param-json",
                              'token="%s-t"' % SECRET])
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        info = self.server.api("GET", "/connections/cli_pw2/info").json
        self.assertEqual(info["resolvedParams"]["password"], SECRET)
        self.assertEqual(info["resolvedParams"]["token"], SECRET + "-t")
        # users create --password: the password too
        listener = socket.socket()
        self.addCleanup(listener.close)
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        proc = self.cli("http://127.0.0.1:%d" % listener.getsockname()[1],
                        ["--api-key", key, "users", "create", "cli_u", "--password", SECRET])
        try:
            seen = self.cmdline_of(proc, b"*")
        finally:
            proc.kill()
            proc.communicate()
        self.assertIn(b"users create cli_u --password *", seen)
        self.assertNotIn(SECRET.encode(), seen)
        # a command that runs a while (edit waits for the editor) keeps the key hidden
        proc = self.cli(url, ["--api-key", key, "connections", "edit", "cli_pw2"],
                        editor="sleep 2; true")
        seen = self.cmdline_of(proc, b"*")
        out, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertIn(b"connections edit cli_pw2", seen)
        self.assertNotIn(key.encode(), seen)


class SecretPropertyFlagTest(ServerTestCase):
    """A property marked `"secret": 1` or `"secret": "true"` (which DSS's JSON binding reads as
    true) was stored in clear, and served in clear in /info's `params` and in admin reads. The
    flag is now stored as the boolean DSS reads, and only true or false (in those forms) are
    accepted."""

    def create(self, name, flag, value="PropVal-" + SECRET):
        return self.server.api("POST", "/admin/connections/", {
            "name": name, "type": "PostgreSQL",
            "params": {"host": "h", "properties": [{"name": "sslpassword", "value": value,
                                                    "secret": flag}]},
            "detailsReadability": {"readableBy": "ALL", "allowedGroups": []}})

    def test_true_in_every_form_dss_reads_seals_the_value(self):
        for i, flag in enumerate((1, -2, 0.5, "true", "TRUE", True)):
            with self.subTest(flag=flag):
                name = "spf_%d" % i
                r = self.create(name, flag)
                self.assertStatus(r, 200)
                prop = r.json["params"]["properties"][0]
                self.assertIs(prop["secret"], True)
                self.assertTrue(prop["value"].startswith("e:"), "stored in clear")
                self.assertNotIn(SECRET, self.server.api("GET", "/admin/connections/%s"
                                                         % name).raw.decode())
                info = self.server.api("GET", "/connections/%s/info" % name).json
                self.assertNotIn(SECRET, json.dumps(info["params"]))
                self.assertIn("PropVal-" + SECRET, json.dumps(info["resolvedParams"]))

    def test_false_in_every_form_keeps_the_value_as_it_is(self):
        for i, flag in enumerate((0, "false", "False", False)):
            with self.subTest(flag=flag):
                r = self.create("spf_f%d" % i, flag, value="plain")
                self.assertStatus(r, 200)
                self.assertEqual(r.json["params"]["properties"][0],
                                 {"name": "sslpassword", "value": "plain", "secret": False})

    def test_other_flags_are_refused_and_updates_and_imports_too(self):
        for flag in ("yes", "", [True], {"v": 1}):
            with self.subTest(flag=flag):
                self.assertError(self.create("spf_bad", flag), 400, "BadRequest",
                                 mentions="params.properties[0].secret")
        self.assertStatus(self.create("spf_up", False, value="x"), 200)
        d = self.server.api("GET", "/admin/connections/spf_up").json
        d["params"]["properties"][0].update(value="Upd-" + SECRET, secret="true")
        r = self.server.api("PUT", "/admin/connections/spf_up", d)
        self.assertStatus(r, 200)
        self.assertTrue(r.json["params"]["properties"][0]["value"].startswith("e:"))
        r = self.server.api("POST", "/admin/connections/actions/import", {
            "connections": [{"name": "spf_imp", "type": "PostgreSQL",
                             "params": {"properties": [{"name": "p", "value": "Imp-" + SECRET,
                                                        "secret": 1}]}}],
            "onConflict": "fail"})
        self.assertStatus(r, 200)
        self.assertEqual(r.json["created"], ["spf_imp"])
        self.assertNotIn(SECRET, self.server.api("GET", "/admin/connections/spf_imp").raw.decode())


class TrailingSlashHostTest(ServerTestCase):
    """DSSClient("http://host:11200/", key) (a URL copied with its trailing slash) sends every
    call to //dip/publicapi/...: a 404 that said only "There is no endpoint at this path" left
    the user to guess. The message now says what to change."""

    def test_a_double_slash_path_says_to_drop_the_trailing_slash(self):
        r = self.server.request("GET", "//dip/publicapi/connections/get-names")
        self.assertError(r, 404, "NotFound", mentions="trailing '/'")
        self.assertIn("http://host:port", r.json["detailedMessage"])
        r = self.server.request("GET", "/dip/publicapi/nowhere")
        self.assertEqual(r.json["detailedMessage"], "There is no endpoint at this path.")


class TlsVersionsTest(ServerTestCase):
    """With --tls-cert, the listener took GnuTLS's NORMAL priorities: TLS 1.0 and 1.1 (RFC 8996
    deprecates both) and CBC ciphers with SHA-1 were accepted, what any scanner of the port
    reports first. It now speaks TLS 1.2 and 1.3 with AEAD ciphers only."""

    @classmethod
    def setUpClass(cls):
        if shutil.which("openssl") is None:
            raise unittest.SkipTest("openssl is needed to make a certificate")
        cls.tls_dir = tempfile.mkdtemp(prefix="sb-tls-")
        cls.addClassCleanup(shutil.rmtree, cls.tls_dir, True)
        cert = os.path.join(cls.tls_dir, "c.pem")
        key = os.path.join(cls.tls_dir, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True,
                       timeout=60)
        cls.server_options = {"tls_cert": cert, "tls_key": key}
        super().setUpClass()

    def handshake(self, lowest, highest, ciphers=None):
        """The (version, cipher) a handshake settles on, or None when the server refuses."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with warnings.catch_warnings():  # TLS 1.0 and 1.1 are deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version, ctx.maximum_version = lowest, highest
        ctx.set_ciphers(ciphers or "ALL:@SECLEVEL=0")
        try:
            with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as raw:
                with ctx.wrap_socket(raw) as tls:
                    return tls.version(), tls.cipher()[0]
        except (ssl.SSLError, ConnectionResetError):
            return None

    def test_tls_1_0_and_1_1_are_refused(self):
        for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
            with self.subTest(version=version.name):
                self.assertIsNone(self.handshake(version, version))

    def test_cbc_ciphers_are_refused_and_aead_ones_served(self):
        v12 = ssl.TLSVersion.TLSv1_2
        self.assertIsNone(self.handshake(v12, v12, "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA:"
                                                   "AES128-SHA:AES256-SHA256:@SECLEVEL=0"))
        self.assertIsNone(self.handshake(v12, v12, "AES128-GCM-SHA256:AES256-GCM-SHA384"))
        self.assertEqual(self.handshake(v12, v12), ("TLSv1.2", "ECDHE-RSA-AES256-GCM-SHA384"))
        got = self.handshake(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)
        self.assertEqual(got[0], "TLSv1.3")
        self.assertStatus(self.server.api("GET", "/auth/info"), 200)
