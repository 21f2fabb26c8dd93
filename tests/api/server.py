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

Also: HTTPS (Server(tls_cert=..., tls_key=...) serves with --tls-cert/--tls-key and the
harness trusts that certificate only), `start_expecting_exit()` for starts that must be
refused, `run_cli()` for offline commands such as `admin rotate-key`, user/group/personal-key
fixtures, and `find_plaintexts()`, which scans every file of the data directory, the captured
stdout/stderr and given extra texts for plaintext secrets.
"""

import base64
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
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

# The store the servers use: "sqlite" (each in its data directory) or "postgresql" (each on a
# fresh database of the PostgreSQL that tests/peers.sh started, named by SWITCHBOARD_PEERS_ENV).
STORE = os.environ.get("SWITCHBOARD_TEST_STORE", "sqlite")

# For tests of what only the embedded store has (its files, its disk).
sqlite_only = unittest.skipIf(STORE != "sqlite", "about the embedded SQLite store")


def peers_env():
    """The variables of tests/peers.sh's env file, or {} when it is not set."""
    path = os.environ.get("SWITCHBOARD_PEERS_ENV")
    env = {}
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if "=" in line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    env[k] = v.strip("'\"")
    return env


def pg_admin(sql):
    """Runs SQL on the peer PostgreSQL as the test role (which may create databases)."""
    env = peers_env()
    run_env = dict(os.environ, PGPASSWORD=env["PG_PASSWORD"])
    r = subprocess.run(["psql", "-X", "-q", "-h", env["PG_HOST"], "-p", env["PG_PORT"], "-U",
                        env["PG_USER"], "-d", env["PG_DB"], "-v", "ON_ERROR_STOP=1", "-c", sql],
                       env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise AssertionError("psql %r failed (exit %d): %s" % (sql, r.returncode, r.stderr.strip()))


def pg_new_database(durable=False):
    """Creates an empty database; returns (name, URL). DURABLE: its commits wait for the WAL
    to be flushed (the peer's default is synchronous_commit=off, see tests/peers.sh)."""
    env = peers_env()
    name = "sb_" + random_key(12).lower()
    pg_admin("CREATE DATABASE %s" % name)
    if durable:
        pg_admin("ALTER DATABASE %s SET synchronous_commit = on" % name)
    url = "postgresql://%s:%s@%s:%s/%s" % (env["PG_USER"], env["PG_PASSWORD"], env["PG_HOST"],
                                           env["PG_PORT"], name)
    return name, url


def eventually(check, timeout=10.0, interval=0.05):
    """Polls CHECK until it returns a true value (returned) or TIMEOUT seconds pass (its last
    value, false). For waiting on what the server does in the background: a test synchronises
    with it, never sleeps a guessed time."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


# Default for the `key` argument of Server.request: authenticate as the bootstrap admin.
ADMIN = object()


def random_key(length=40):
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def basic_auth(key):
    """The Authorization value the DSS client sends: the key as user, empty password."""
    return "Basic " + base64.b64encode((key + ":").encode()).decode("ascii")


# SWITCHBOARD_TEST_PORTS=LOW-HIGH: take the ports from that range only (tests/run.sh gives each
# suite running beside others its own range below the kernel's ephemeral ports, so two suites
# never pick the same port); unset: any free port the kernel hands out.
_PORT_RANGE = None
_port_next = None
if re.fullmatch(r"\d+-\d+", os.environ.get("SWITCHBOARD_TEST_PORTS", "")):
    _PORT_RANGE = tuple(int(x) for x in os.environ["SWITCHBOARD_TEST_PORTS"].split("-"))


def _port_is_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    global _port_next
    if _PORT_RANGE is None:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    low, high = _PORT_RANGE
    size = high - low + 1
    if _port_next is None:
        _port_next = secrets.randbelow(size)
    # in turn through the range, so a port just given back is not handed out again at once
    for _ in range(size):
        port = low + _port_next % size
        _port_next = (_port_next + 1) % size
        if _port_is_free(port):
            return port
    raise RuntimeError("no free port in SWITCHBOARD_TEST_PORTS=%d-%d" % (low, high))


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

    def __init__(self, admin_key=True, max_body_size=None, extra_args=(), tls_cert=None,
                 tls_key=None, durable_store=False):
        """admin_key: True = a random key passed as SWITCHBOARD_ADMIN_KEY at first start;
        None = let the server generate one (read back from <data-dir>/admin.key).
        tls_cert/tls_key: PEM files; the server is started with --tls-cert/--tls-key and the
        harness then speaks HTTPS, trusting tls_cert as its only CA.
        durable_store: on PostgreSQL, a database whose commits are flushed (durability tests)."""
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
        self.tls_cert = tls_cert
        self.tls_key = tls_key
        if tls_cert is not None:
            self.args += ["--tls-cert", tls_cert]
        if tls_key is not None:
            self.args += ["--tls-key", tls_key]
        self.extra_env = {}
        self.pg_database = None
        if STORE == "postgresql":
            self.pg_database, self.store_url = pg_new_database(durable_store)
            self.args += ["--store", self.store_url]
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
        if self.pg_database:
            self.remember_secret(peers_env()["PG_PASSWORD"])

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
    def scheme(self):
        return "https" if self.tls_cert is not None else "http"

    @property
    def base_url(self):
        return "%s://127.0.0.1:%d" % (self.scheme, self.port)

    def ssl_context(self):
        """A client context that trusts only the server's own certificate."""
        return ssl.create_default_context(cafile=self.tls_cert)

    def new_http_connection(self, timeout=REQUEST_TIMEOUT):
        """A fresh http.client connection in the server's scheme."""
        if self.scheme == "https":
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context())
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def _env(self):
        env = dict(os.environ)
        env.pop("SWITCHBOARD_ADMIN_KEY", None)
        if self.starts == 0 and self.given_admin_key:
            env["SWITCHBOARD_ADMIN_KEY"] = self.given_admin_key
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        env.update(self.extra_env)  # what a test adds for the next start (LD_PRELOAD...)
        # no configuration file but the test's own (the machine may have /etc/switchboard/)
        env.setdefault("SWITCHBOARD_CONFIG", "")
        return env

    def _spawn(self, args=None):
        if not os.path.exists(self.binary):
            raise RuntimeError("switchboard binary not found at %s (set SWITCHBOARD_BIN)"
                               % self.binary)
        assert not self.running(), "server already running"
        env = self._env()
        self.port = free_port()
        cmd = [self.binary, "serve", "--listen", "127.0.0.1:%d" % self.port,
               "--data-dir", self.data_dir] + (self.args if args is None else list(args))
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=env)
        self.starts += 1
        self._killed = False
        self._stopped = False

    def start(self):
        self._spawn()
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
            conn = self.new_http_connection(timeout=1)
            try:
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                body = resp.read()
                if resp.status == 200 and json.loads(body) == {"status": "ok"}:
                    if not self._loading():
                        return
                    last = "the connections still loading (/readyz)"
                else:
                    last = "HTTP %d %r" % (resp.status, body[:200])
            except (OSError, http.client.HTTPException, ValueError, ssl.SSLError) as e:
                last = repr(e)
            finally:
                conn.close()
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("switchboard not ready within %.0f s (last: %s); stderr:\n%s"
                           % (READY_TIMEOUT, last, self.redact(self.log_tail())))

    def _loading(self):
        """Whether /readyz says the connections are still being loaded after the start (the
        server answers before that; tests start once they are loaded)."""
        conn = self.new_http_connection(timeout=5)
        try:
            conn.request("GET", "/readyz")
            resp = conn.getresponse()
            ready = json.loads(resp.read())
            return resp.status == 503 and ready.get("checks", {}).get("catalog") == "loading"
        finally:
            conn.close()

    def start_expecting_exit(self, timeout=READY_TIMEOUT, args=None):
        """Start `serve` on the data directory when it is expected to refuse to run.

        Returns (exit code, the stderr it wrote). If the process is still running after
        `timeout` seconds it is killed and (None, stderr) is returned. args: the serve
        arguments instead of the server's own (None = the usual ones)."""
        with open(self.stderr_path, "rb") as f:
            offset = len(f.read())
        self._spawn(args)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._killed = True
            rc = None
        with open(self.stderr_path, "rb") as f:
            text = f.read()[offset:].decode("utf-8", "replace")
        self.proc = None
        return rc, text

    def run_cli(self, *args, timeout=30):
        """Run the binary with these arguments (no server); returns CompletedProcess with
        text stdout/stderr. Both are appended to the server's stdout/stderr files, so the
        log checks and leak scans see them too."""
        env = self._env()
        env.pop("SWITCHBOARD_ADMIN_KEY", None)
        proc = subprocess.run([self.binary] + list(args), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, env=env)
        with open(self.stdout_path, "a") as out, open(self.stderr_path, "a") as err:
            out.write(proc.stdout)
            err.write(proc.stderr)
        return proc

    def stop(self):
        """SIGTERM and wait; fails unless the process exits 0 in time. Returns the code."""
        self.close_connection()
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            if self._killed or getattr(self, "_stopped", False):
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
        self._stopped = True
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
        if self.pg_database:
            # a killed server's backend can linger a moment (FORCE may not signal it yet): retry
            # briefly, then leave the database behind as this cleanup always meant to
            for _ in range(20):
                try:
                    pg_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.pg_database)
                    break
                except (AssertionError, subprocess.CalledProcessError, OSError):
                    time.sleep(0.1)
            self.pg_database = None

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
                self._conn = self.new_http_connection()
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
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if self.scheme == "https":
            sock = self.ssl_context().wrap_socket(sock, server_hostname="127.0.0.1")
        return sock

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

    def create_group(self, name, admin=False, description="", source_type="LOCAL"):
        r = self.api("POST", "/admin/groups/", {"name": name, "description": description,
                                                "sourceType": source_type, "admin": admin})
        if r.status != 200:
            raise AssertionError("creating group %r failed: HTTP %d %s"
                                 % (name, r.status, self.redact(r.raw)))
        return r.json

    def create_user(self, login, password=None, groups=(), display_name=None,
                    email=None, source_type="LOCAL", profile="DATA_SCIENTIST"):
        """Create a user as the admin; password defaults to a random one (remembered)."""
        if password is None:
            password = "upw-" + random_key(24)
        self.remember_secret(password)
        r = self.api("POST", "/admin/users/", {
            "login": login, "password": password,
            "displayName": display_name if display_name is not None else login.title(),
            "sourceType": source_type, "groups": list(groups), "userProfile": profile,
            "email": email if email is not None else login + "@example.com"})
        if r.status != 200:
            raise AssertionError("creating user %r failed: HTTP %d %s"
                                 % (login, r.status, self.redact(r.raw)))
        return r.json

    def create_personal_key(self, user, label="personal", description=""):
        """Create a personal API key for `user` as the admin; returns the answer (with key)."""
        r = self.api("POST", "/admin/personal-api-keys/",
                     {"user": user, "label": label, "description": description})
        if r.status != 200 or not isinstance(r.json, dict) or "key" not in r.json:
            raise AssertionError("creating a personal API key for %r failed: HTTP %d %s"
                                 % (user, r.status, self.redact(r.raw)))
        self.remember_secret(r.json["key"])
        return r.json

    def user_with_key(self, login, groups=(), password=None):
        """A user and one personal key; returns the key string."""
        self.create_user(login, password=password, groups=groups)
        return self.create_personal_key(login)["key"]

    def admin_key_id(self):
        r = self.api("GET", "/admin/globalAPIKeys/" + self.admin_key)
        if r.status != 200:
            raise AssertionError("look-up of the admin key failed: HTTP %d %s"
                                 % (r.status, self.redact(r.raw)))
        return r.json["id"]

    # ---- data directory -------------------------------------------------------------------

    def data_files(self):
        """Every regular file under the data directory (recursive), sorted."""
        found = []
        for root, _, files in os.walk(self.data_dir):
            for f in files:
                path = os.path.join(root, f)
                if os.path.isfile(path):
                    found.append(path)
        return sorted(found)

    def data_snapshot(self):
        """{relative path: bytes} of every file under the data directory."""
        snap = {}
        for path in self.data_files():
            with open(path, "rb") as f:
                snap[os.path.relpath(path, self.data_dir)] = f.read()
        return snap

    def find_plaintexts(self, values, extra=()):
        """Where any of `values` appears as raw bytes: every file under the data directory,
        the captured stdout and stderr, and each (label, text-or-bytes) of `extra`.
        Returns a list of (place, index of the value in `values`), never the value."""
        places = [(os.path.relpath(p, self.data_dir), p) for p in self.data_files()]
        places += [("stdout", self.stdout_path), ("stderr", self.stderr_path)]
        hits = []
        blobs = []
        for label, path in places:
            try:
                with open(path, "rb") as f:
                    blobs.append((label, f.read()))
            except FileNotFoundError:
                continue  # e.g. a WAL file that went away during the scan
        for label, data in extra:
            blobs.append((label, data.encode("utf-8") if isinstance(data, str) else data))
        for label, data in blobs:
            for i, v in enumerate(values):
                if v.encode("utf-8") in data:
                    hits.append((label, i))
        return hits

    def auth_info(self, key=ADMIN):
        r = self.api("GET", "/auth/info", key=key)
        if r.status != 200:
            raise AssertionError("GET /auth/info failed: HTTP %d %s"
                                 % (r.status, self.redact(r.raw)))
        return r.json


KEY_HINT = re.compile("[0-9A-Za-z]{4}\u2026[0-9A-Za-z]{4}")


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

    def assertKeyHint(self, item, secret=None, what="key object"):
        """A key object after its creation carries `key` as a hint: the first 4 and last 4
        characters of the secret around "\u2026" (docs/API.md §5.1), never the secret."""
        hint = item.get("key") if isinstance(item, dict) else None
        if not isinstance(hint, str) or not KEY_HINT.fullmatch(hint):
            self.fail("%s: 'key' is not a hint of 4 + '\u2026' + 4 characters (value not shown)"
                      % what)
        if secret is not None and hint != secret[:4] + "\u2026" + secret[-4:]:
            self.fail("%s: 'key' is not the hint of this key (value not shown)" % what)


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
