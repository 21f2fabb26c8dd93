# SPDX-License-Identifier: Apache-2.0
"""Test helpers that own a live Switchboard server process.

`Server` picks a free port and a fresh data directory, starts the binary named by
SWITCHBOARD_BIN (default: <repo>/build/test/switchboard, the sanitizer build), waits for
`GET /healthz`, and talks to it over one persistent HTTP/1.1 connection, the way the DSS
Python client reuses one session. Raw-socket helpers cover requests http.client will not
send. stdout and stderr go to files next to the data directory; `log_text()` reads stderr.

`ServerTestCase` gives each test class one server (started in setUpClass, stopped with
SIGTERM in tearDownClass, which also fails on sanitizer reports, assertions, or any known
secret found in the log) and assertion helpers that never print a key or a secret: every
failure message goes through `Server.redact()`.
"""

import base64
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BIN = os.path.join(REPO, "build", "test", "switchboard")
PREFIX = "/dip/publicapi"

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 15.0
LOG_MARKERS = ("AddressSanitizer", "runtime error:", "Assertion")

# Default for the `key` argument of Server.request: authenticate as the bootstrap admin.
ADMIN = object()


def random_key(length=40):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def basic_auth(key):
    """The Authorization value the DSS client sends: the key as user, empty password."""
    return "Basic " + base64.b64encode((key + ":").encode()).decode("ascii")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Headers:
    """Case-insensitive view of response headers."""

    def __init__(self, pairs):
        self.pairs = [(k, v) for k, v in pairs]

    def get(self, name, default=None):
        for k, v in self.pairs:
            if k.lower() == name.lower():
                return v
        return default

    def get_all(self, name):
        return [v for k, v in self.pairs if k.lower() == name.lower()]

    def __contains__(self, name):
        return self.get(name) is not None

    def __repr__(self):
        return "Headers(%r)" % (self.pairs,)


class Response:
    """One HTTP answer; unpacks as (status, headers, json, raw)."""

    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        self.json = None
        self.json_error = None
        if raw:
            try:
                self.json = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                self.json_error = str(e)

    def __iter__(self):
        return iter((self.status, self.headers, self.json, self.raw))


def read_http_response(sock):
    """Read one HTTP/1.1 response from a socket (Content-Length, chunked or until EOF)."""
    buf = b""

    def more():
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        return chunk

    while b"\r\n\r\n" not in buf:
        try:
            buf += more()
        except EOFError:
            if not buf:
                raise ConnectionError("connection closed before any response byte")
            raise ConnectionError("connection closed inside the response head")
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    status = int(parts[1])
    headers = Headers(
        (line.split(":", 1)[0].strip(), line.split(":", 1)[1].strip())
        for line in lines[1:]
        if ":" in line
    )
    if (headers.get("Transfer-Encoding") or "").lower() == "chunked":
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += more()
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += more()
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                break
    elif headers.get("Content-Length") is not None:
        n = int(headers.get("Content-Length"))
        while len(rest) < n:
            rest += more()
        body = rest[:n]
    else:
        body = rest
        try:
            while True:
                body += more()
        except EOFError:
            pass
    return Response(status, headers, body)


class Server:
    """A live switchboard process with its own port and data directory."""

    def __init__(self, admin_key=True, max_body_size=None, extra_args=()):
        """admin_key: True = a random key passed as SWITCHBOARD_ADMIN_KEY at first start;
        None = let the server generate one (read back from <data-dir>/admin.key)."""
        self.binary = os.environ.get("SWITCHBOARD_BIN", DEFAULT_BIN)
        self.tmp = tempfile.mkdtemp(prefix="switchboard-api-")
        self.data_dir = os.path.join(self.tmp, "data")
        os.mkdir(self.data_dir, 0o700)
        self.stdout_path = os.path.join(self.tmp, "stdout.log")
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.given_admin_key = random_key() if admin_key is True else admin_key
        self.admin_key = self.given_admin_key
        self.args = []
        if max_body_size is not None:
            self.args += ["--max-body-size", str(max_body_size)]
        self.args += list(extra_args)
        self.proc = None
        self._killed = False
        self.port = None
        self.starts = 0
        self.keep_tmp = bool(os.environ.get("SWITCHBOARD_KEEP_TMP"))
        self._conn = None
        self._conn_used = 0
        self._secrets = set()
        if self.admin_key:
            self.remember_secret(self.admin_key)

    # ---- secrets ---------------------------------------------------------------------

    def remember_secret(self, value):
        """Mark a value that must never reach the log nor a test failure message."""
        if value:
            self._secrets.add(value)
            # A server that logged the Authorization header would log this form.
            self._secrets.add(basic_auth(value)[len("Basic "):])

    def redact(self, data, limit=800):
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        elif not isinstance(data, str):
            data = json.dumps(data, sort_keys=True)
        for s in sorted(self._secrets, key=len, reverse=True):
            data = data.replace(s, "<redacted>")
        if len(data) > limit:
            data = data[:limit] + "...(%d chars)" % len(data)
        return data

    # ---- process -----------------------------------------------------------------------

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        if not os.path.exists(self.binary):
            raise RuntimeError("switchboard binary not found at %s (set SWITCHBOARD_BIN)"
                               % self.binary)
        assert not self.running(), "server already running"
        env = dict(os.environ)
        env.pop("SWITCHBOARD_ADMIN_KEY", None)
        if self.starts == 0 and self.given_admin_key:
            env["SWITCHBOARD_ADMIN_KEY"] = self.given_admin_key
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.port = free_port()
        cmd = [self.binary, "serve", "--listen", "127.0.0.1:%d" % self.port,
               "--data-dir", self.data_dir] + self.args
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env)
        self.starts += 1
        self._killed = False
        self._wait_ready()
        if self.admin_key is None:
            path = os.path.join(self.data_dir, "admin.key")
            if os.path.exists(path):
                with open(path) as f:
                    self.admin_key = f.read().strip()
                self.remember_secret(self.admin_key)

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("switchboard exited with %s during start-up; stderr:\n%s"
                                   % (self.proc.returncode, self.redact(self.log_tail())))
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            try:
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200 and json.loads(body) == {"status": "ok"}:
                    return
                last = "HTTP %d %r" % (resp.status, body[:200])
            except (OSError, http.client.HTTPException, ValueError) as e:
                last = repr(e)
            finally:
                conn.close()
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("switchboard not ready within %.0f s (last: %s); stderr:\n%s"
                           % (READY_TIMEOUT, last, self.redact(self.log_tail())))

    def stop(self):
        """SIGTERM and wait; fails unless the process exits 0 in time. Returns the code."""
        self.close_connection()
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            if self._killed:
                return self.proc.returncode
            self.keep_tmp = True
            raise AssertionError("switchboard died on its own with exit code %d; stderr tail:\n%s"
                                 % (self.proc.returncode, self.redact(self.log_tail())))
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("switchboard did not exit within %.0f s of SIGTERM"
                                 % STOP_TIMEOUT)
        if rc != 0:
            self.keep_tmp = True
            raise AssertionError("switchboard exited with %d after SIGTERM (expected 0); "
                                 "stderr tail:\n%s" % (rc, self.redact(self.log_tail())))
        return rc

    def kill(self):
        """SIGKILL, no grace. Returns the exit code (-9)."""
        self.close_connection()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self._killed = True
        return self.proc.returncode

    def restart(self):
        """Graceful stop, then start again on the same data directory."""
        self.stop()
        self.start()

    def cleanup(self):
        self.close_connection()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.keep_tmp:
            print("switchboard test files kept in %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- logs --------------------------------------------------------------------------

    def log_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout_text(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def log_contains(self, text):
        return text in self.log_text()

    def wait_for_log(self, predicate, timeout=3.0):
        """Poll stderr until predicate(text) is true (log lines may follow the answer)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text()
            if predicate(text) or time.monotonic() > deadline:
                return text
            time.sleep(0.05)

    def assert_log_clean(self):
        """Fail on sanitizer reports, assertion failures, or a known secret in stderr."""
        text = self.log_text()
        for marker in LOG_MARKERS:
            if marker in text:
                self.keep_tmp = True
                i = text.index(marker)
                raise AssertionError("server stderr contains %r (files kept in %s):\n%s"
                                     % (marker, self.tmp,
                                        self.redact(text[max(0, i - 300):i + 1500], 2000)))
        for s in self._secrets:
            if s in text:
                self.keep_tmp = True
                raise AssertionError("a key or secret value appears in the server log "
                                     "(value not shown; files kept in %s)" % self.tmp)

    # ---- HTTP --------------------------------------------------------------------------

    def close_connection(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._conn_used = 0

    def request(self, method, path, body=None, key=ADMIN, headers=None, raw_body=None):
        """One request on the persistent connection. `path` is the full path.

        body is JSON-encoded (sent with no Content-Type, as the DSS client does); raw_body
        is sent as is. key: ADMIN (default) = the admin key as Basic auth, None = no
        Authorization header, a string = that key as Basic auth. headers override, and a
        header set to None is left out."""
        hdrs = {}
        if key is ADMIN:
            key = self.admin_key
        if key is not None:
            hdrs["Authorization"] = basic_auth(key)
        for k, v in (headers or {}).items():
            hdrs = {hk: hv for hk, hv in hdrs.items() if hk.lower() != k.lower()}
            if v is not None:
                hdrs[k] = v
        if raw_body is not None:
            data = raw_body
        elif body is not None:
            data = json.dumps(body).encode("utf-8")
        else:
            data = None
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                        timeout=REQUEST_TIMEOUT)
                self._conn_used = 0
            reused = self._conn_used > 0
            try:
                self._conn.request(method, path, body=data, headers=hdrs)
                resp = self._conn.getresponse()
                raw = resp.read()
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest,
                    BrokenPipeError, ConnectionResetError):
                self.close_connection()
                if attempt == 1 and reused:
                    continue  # the server closed an idle keep-alive connection
                raise
            self._conn_used += 1
            if resp.will_close:
                self.close_connection()
            return Response(resp.status, Headers(resp.getheaders()), raw)

    def api(self, method, path, body=None, **kwargs):
        """request() under the /dip/publicapi prefix."""
        return self.request(method, PREFIX + path, body, **kwargs)

    def connect(self, timeout=5.0):
        """A raw socket to the server, for requests http.client will not send."""
        return socket.create_connection(("127.0.0.1", self.port), timeout=timeout)

    def raw_exchange(self, data, timeout=5.0):
        """Send raw bytes on a new connection and read one response."""
        with self.connect(timeout) as s:
            s.sendall(data)
            return read_http_response(s)

    def raw_head(self, method, path, key=ADMIN, extra=()):
        """Request head bytes for a raw request (ends with the blank line)."""
        lines = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1:%d" % self.port]
        if key is ADMIN:
            key = self.admin_key
        if key is not None:
            lines.append("Authorization: " + basic_auth(key))
        lines += list(extra)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")

    # ---- fixtures ------------------------------------------------------------------------

    def create_key(self, admin=False, groups=(), label="test key", description=""):
        """Create a global API key as the admin; returns the creation answer (with `key`)."""
        r = self.api("POST", "/admin/global-api-keys/", {
            "label": label, "description": description,
            "globalPermissions": {"admin": admin}, "groups": list(groups)})
        if r.status != 200 or not isinstance(r.json, dict) or "key" not in r.json:
            raise AssertionError("creating a global API key failed: HTTP %d %s"
                                 % (r.status, self.redact(r.raw)))
        self.remember_secret(r.json["key"])
        return r.json

    def create_connection(self, name, type="Filesystem", **fields):
        body = {"name": name, "type": type}
        if type == "Filesystem" and "params" not in fields:
            body["params"] = {"root": "/tmp/" + name}
        body.update(fields)
        r = self.api("POST", "/admin/connections/", body)
        if r.status != 200:
            raise AssertionError("creating connection %r failed: HTTP %d %s"
                                 % (name, r.status, self.redact(r.raw)))
        return r.json

    def auth_info(self, key=ADMIN):
        r = self.api("GET", "/auth/info", key=key)
        if r.status != 200:
            raise AssertionError("GET /auth/info failed: HTTP %d %s"
                                 % (r.status, self.redact(r.raw)))
        return r.json


class ApiTestCase(unittest.TestCase):
    """Assertions about answers of `self.server` that never print a key or a secret."""

    server = None

    def describe(self, resp):
        return "HTTP %d %s" % (resp.status, self.server.redact(resp.raw))

    def assertStatus(self, resp, status, what=""):
        if resp.status != status:
            self.fail("%sexpected HTTP %d, got %s" % (what + ": " if what else "", status,
                                                    self.describe(resp)))

    def assertJsonBody(self, resp):
        ctype = resp.headers.get("Content-Type") or ""
        if not ctype.lower().startswith("application/json"):
            self.fail("Content-Type is %r, expected application/json; %s"
                      % (ctype, self.describe(resp)))
        if resp.json is None:
            self.fail("body is not JSON (%s): %s" % (resp.json_error, self.describe(resp)))

    def assertError(self, resp, status, error_type, mentions=None):
        """Status, the three-field error body, its errorType, and optionally a word that
        detailedMessage must contain (case-insensitive)."""
        self.assertStatus(resp, status)
        self.assertJsonBody(resp)
        body = resp.json
        if not isinstance(body, dict):
            self.fail("error body is not an object: %s" % self.describe(resp))
        for field in ("errorType", "message", "detailedMessage"):
            if not isinstance(body.get(field), str):
                self.fail("error body lacks a string %r: %s" % (field, self.describe(resp)))
        if body["errorType"] != error_type:
            self.fail("errorType %r, expected %r: %s"
                      % (body["errorType"], error_type, self.describe(resp)))
        if mentions is not None and mentions.lower() not in body["detailedMessage"].lower():
            self.fail("detailedMessage does not name %r: %s" % (mentions, self.describe(resp)))

    def assertSameJson(self, actual, expected, what="JSON"):
        if actual != expected:
            self.fail("%s differs:\n  got:      %s\n  expected: %s"
                      % (what, self.server.redact(actual, 3000),
                         self.server.redact(expected, 3000)))

    def assertNoSecret(self, text, secret, what):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if secret in text:
            self.fail("a secret value appears in %s (value not shown)" % what)


class ServerTestCase(ApiTestCase):
    """One live server per test class; subclasses may set `server_options`."""

    server_options = {}

    @classmethod
    def setUpClass(cls):
        cls.server = Server(**cls.server_options)
        cls.addClassCleanup(cls.server.cleanup)
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.assert_log_clean()


class OwnServerTestCase(ApiTestCase):
    """A fresh server for every test, for tests that restart or kill it."""

    server_options = {}

    def setUp(self):
        self.server = Server(**self.server_options)
        self.addCleanup(self.server.cleanup)
        self.server.start()

    def tearDown(self):
        self.server.stop()
        self.server.assert_log_clean()
