# SPDX-License-Identifier: Apache-2.0
"""Live connection tests (GET /connections/{name}/test), their status table
(GET /admin/connection-status), the background prober, the probe fence and /metrics.

PostgreSQL and MariaDB probes run against real servers that tests/peers.sh starts (tests/run.sh
does it and sets SWITCHBOARD_PEERS_ENV to the env file it writes); without that variable those
tests are skipped. Everything else brings its own loopback peers: a black-hole listener that
accepts and never answers, a tiny http.server, plain listening sockets that prove nothing
connected to them. Every address these tests touch is a loopback address.
"""

import http.client
import json
import http.server
import math
import os
import re
import select
import shutil
import socket
import struct
import tempfile
import threading
import time
import unittest

from server import (ADMIN, PREFIX, Server, ServerTestCase, basic_auth, eventually, free_port,
                    random_key)

PROBE_TIMEOUT = 2
PROBE_CONCURRENCY = 2
DENIED_HOST = "127.0.0.2"
# --probe-deny replaces the default list: keep the link-local ranges in it
PROBE_ARGS = ["--probe-timeout", str(PROBE_TIMEOUT),
              "--probe-concurrency", str(PROBE_CONCURRENCY),
              "--probe-deny", DENIED_HOST + "/32,169.254.0.0/16,fe80::/10,fd00:ec2::254/128,"
              "100.100.100.200/32"]
# slack for a sanitizer build on a busy machine, on top of the configured timeouts
MARGIN = 3.0

PEERS_ENV_VAR = "SWITCHBOARD_PEERS_ENV"
PEER_KEYS = ("PG_PORT", "PG_USER", "PG_PASSWORD", "PG_DB",
             "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD", "MYSQL_DB")


def load_peers():
    """(peers dict, None) when SWITCHBOARD_PEERS_ENV names a usable env file; (None, None)
    when the variable is unset; (None, why) when it is set but the file is unusable, which
    is a failure, not a reason to skip."""
    path = os.environ.get(PEERS_ENV_VAR)
    if not path:
        return None, None
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        return None, "%s=%s cannot be read: %s" % (PEERS_ENV_VAR, path, e.strerror)
    peers = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, _, v = line.partition("=")
        peers[k.strip()] = v.strip().strip("'\"")
    missing = [k for k in PEER_KEYS if not peers.get(k)]
    if missing:
        return None, "%s lacks %s" % (path, ", ".join(missing))
    return peers, None


PEERS, PEERS_ERROR = load_peers()
NO_PEERS_REASON = ("%s is not set: no real PostgreSQL/MariaDB to probe (tests/run.sh starts "
                   "them with tests/peers.sh and sets it)" % PEERS_ENV_VAR)
needs_peers = unittest.skipIf(PEERS is None and PEERS_ERROR is None, NO_PEERS_REASON)


def pending_connection(sock, wait=0.3):
    """True when a client connected to listening socket SOCK (the kernel completes the
    handshake and queues the connection even though nobody calls accept)."""
    readable, _, _ = select.select([sock], [], [], wait)
    return bool(readable)


def listener(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    s.listen(64)
    return s


class BlackHole:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte; records accept times."""

    def __init__(self):
        self.sock = listener()
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.accepts = []
        self.conns = []
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping:
            try:
                readable, _, _ = select.select([self.sock], [], [], 0.1)
            except (OSError, ValueError):
                return
            if not readable:
                continue
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with self.lock:
                self.accepts.append(time.monotonic())
                self.conns.append(conn)  # held open, read never, answered never

    def accept_times(self):
        with self.lock:
            return list(self.accepts)

    def close(self):
        self.stopping = True
        self.thread.join(2)
        with self.lock:
            for c in self.conns:
                c.close()
            self.conns = []
        self.sock.close()


class HttpPeer:
    """A small http.server on 127.0.0.1: / is 200, /redirect is a 302 to a listener that
    must never be contacted, /auth is 401. Records every request line it served."""

    def __init__(self):
        self.requests = []
        self.redirect_target = listener()
        target = "http://127.0.0.1:%d/landing" % self.redirect_target.getsockname()[1]
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def answer(self, body):
                peer.requests.append((self.command, self.path))
                if self.path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", target)
                elif self.path == "/auth":
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="peer"')
                elif self.path == "/":
                    self.send_response(200)
                else:
                    self.send_response(404)
                data = b"peer\n"
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_GET(self):
                self.answer(True)

            def do_HEAD(self):
                self.answer(False)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.redirect_target.close()


def metric_value(text, type_name, outcome):
    m = re.search(r'^switchboard_probes_total\{type="%s",outcome="%s"\} (\d+)$'
                  % (re.escape(type_name), outcome), text, re.M)
    return int(m.group(1)) if m else 0


class ProbeCase(ServerTestCase):
    """Helpers over a server started with the probe flags of PROBE_ARGS."""

    server_options = {"extra_args": PROBE_ARGS}

    def setUp(self):
        if PEERS_ERROR:
            self.fail(PEERS_ERROR)
        if PEERS:
            for k in ("PG_PASSWORD", "MYSQL_PASSWORD"):
                self.server.remember_secret(PEERS[k])

    def make(self, name, type, params, **fields):
        for k in ("password", "token"):
            if params.get(k):
                self.server.remember_secret(params[k])
        self.server.create_connection(name, type=type, params=params, **fields)
        return name

    def probe(self, name, key=ADMIN):
        return self.server.api("GET", "/connections/%s/test" % name, key=key)

    def probe_on_own_connection(self, name, timeout=30):
        """/test on a fresh HTTP connection (for threads); returns (status, raw body)."""
        conn = self.server.new_http_connection(timeout=timeout)
        try:
            conn.request("GET", PREFIX + "/connections/%s/test" % name,
                         headers={"Authorization": basic_auth(self.server.admin_key)})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def assertProbe(self, name, ok, mentions=(), key=ADMIN, max_seconds=None):
        """Runs /test and checks the 200 answer; returns its JSON."""
        start = time.monotonic()
        r = self.probe(name, key=key)
        elapsed = time.monotonic() - start
        self.assertStatus(r, 200, "GET /connections/%s/test" % name)
        self.assertJsonBody(r)
        body = r.json
        self.assertEqual(set(body), {"connectionOK", "message", "durationMs"},
                         self.describe(r))
        self.assertIs(body["connectionOK"], ok, "connectionOK: " + self.describe(r))
        self.assertIsInstance(body["message"], str)
        self.assertTrue(body["message"], "empty message")
        self.assertIsInstance(body["durationMs"], int)
        self.assertGreaterEqual(body["durationMs"], 0)
        for word in mentions:
            if word.lower() not in body["message"].lower():
                self.fail("message does not mention %r: %s" % (word, self.describe(r)))
        if max_seconds is not None:
            self.assertLess(elapsed, max_seconds,
                            "the test took %.2f s: %s" % (elapsed, self.describe(r)))
        return body


class SqlProbeTests(ProbeCase):
    """PostgreSQL and MySql testers against real servers; refused ports need none."""

    def sql_params(self, prefix, **override):
        params = {"host": "127.0.0.1", "port": PEERS[prefix + "_PORT"],
                  "user": PEERS[prefix + "_USER"], "password": PEERS[prefix + "_PASSWORD"],
                  "db": PEERS[prefix + "_DB"]}
        params.update(override)
        return params

    def check_right_password(self, type, prefix, name):
        self.make(name, type, self.sql_params(prefix))
        body = self.assertProbe(name, True, max_seconds=PROBE_TIMEOUT + MARGIN)
        version = PEERS.get(prefix + "_VERSION")
        if version:
            self.assertIn(version, body["message"], "the server version is not in the message")
        else:
            self.assertRegex(body["message"], r"\d+\.\d+")
        self.assertNoSecret(body["message"], PEERS[prefix + "_PASSWORD"], "the message")

    def check_wrong_password(self, type, prefix, name):
        wrong = "wrong-" + random_key(24)
        self.make(name, type, self.sql_params(prefix, password=wrong))
        body = self.assertProbe(name, False, mentions=("authentication",),
                                max_seconds=PROBE_TIMEOUT + MARGIN)
        self.assertNoSecret(body["message"], wrong, "the message")
        self.assertNoSecret(body["message"], PEERS[prefix + "_PASSWORD"], "the message")

    def check_missing_database(self, type, prefix, name):
        # MariaDB: the test user may use every database named sbtest%, so a missing one is
        # "unknown database" (1049), not "access denied to database" (1044)
        db = "sbtest_missing_db"
        self.make(name, type, self.sql_params(prefix, db=db))
        body = self.assertProbe(name, False, mentions=(db,), max_seconds=PROBE_TIMEOUT + MARGIN)
        msg = body["message"].lower()
        self.assertTrue("missing" in msg or "does not exist" in msg,
                        "the message does not say the database is missing: %s"
                        % self.server.redact(body["message"]))
        self.assertNotIn("authentication", msg)

    def check_refused(self, type, name):
        port = free_port()  # bound and released: nothing listens there
        self.make(name, type, {"host": "127.0.0.1", "port": str(port), "user": "nobody",
                               "password": "pw-" + random_key(16), "db": "sbtest"})
        self.assertProbe(name, False, mentions=("refused",), max_seconds=PROBE_TIMEOUT + MARGIN)

    # -- PostgreSQL --

    @needs_peers
    def test_pg_right_password(self):
        self.check_right_password("PostgreSQL", "PG", "pg_right")

    @needs_peers
    def test_pg_wrong_password(self):
        self.check_wrong_password("PostgreSQL", "PG", "pg_wrong")

    @needs_peers
    def test_pg_missing_database(self):
        self.check_missing_database("PostgreSQL", "PG", "pg_nodb")

    def test_pg_refused_port(self):
        self.check_refused("PostgreSQL", "pg_refused")

    @needs_peers
    def test_pg_params_resolved_from_variables(self):
        # params are resolved (variables expanded, secrets opened) before the probe
        r = self.server.api("PUT", "/admin/variables/", {"sb_pg_port": PEERS["PG_PORT"]})
        self.assertStatus(r, 200)
        self.make("pg_var", "PostgreSQL", self.sql_params("PG", port="${sb_pg_port}"))
        self.assertProbe("pg_var", True)

    # -- MariaDB --

    @needs_peers
    def test_mysql_right_password(self):
        self.check_right_password("MySql", "MYSQL", "my_right")

    @needs_peers
    def test_mysql_wrong_password(self):
        self.check_wrong_password("MySql", "MYSQL", "my_wrong")

    @needs_peers
    def test_mysql_missing_database(self):
        self.check_missing_database("MySql", "MYSQL", "my_nodb")

    def test_mysql_refused_port(self):
        self.check_refused("MySql", "my_refused")


class BoundsAndFenceTests(ProbeCase):
    """Black holes: bounded time, bounded concurrency, a responsive server. The fence."""

    def setUp(self):
        super().setUp()
        self.hole = BlackHole()
        self.addCleanup(self.hole.close)

    def hole_conn(self, name, type="PostgreSQL"):
        if type == "HTTP":
            params = {"url": "http://127.0.0.1:%d/" % self.hole.port}
        else:
            params = {"host": "127.0.0.1", "port": str(self.hole.port), "user": "sbtest",
                      "password": "pw-" + random_key(16), "db": "sbtest"}
        return self.make(name, type, params)

    def test_six_concurrent_probes_to_a_black_hole(self):
        name = self.hole_conn("hole_pg")
        self.server.create_connection("hole_other")  # what we read meanwhile
        n = 6
        limit = PROBE_TIMEOUT * math.ceil(n / PROBE_CONCURRENCY) + MARGIN
        results = [None] * n
        barrier = threading.Barrier(n + 1)
        auth = basic_auth(self.server.admin_key)

        def call(i):
            conn = self.server.new_http_connection(timeout=limit + 10)
            try:
                barrier.wait()
                t0 = time.monotonic()
                conn.request("GET", PREFIX + "/connections/%s/test" % name,
                             headers={"Authorization": auth})
                resp = conn.getresponse()
                raw = resp.read()
                results[i] = (resp.status, raw, time.monotonic() - t0)
            except Exception as e:  # reported below, never raised in the thread
                results[i] = (None, repr(e).encode(), None)
            finally:
                conn.close()

        threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        barrier.wait()
        start = time.monotonic()
        # meanwhile: an admin read on its own connection answers quickly, several times
        latencies = []
        reader = self.server.new_http_connection(timeout=10)
        try:
            while any(t.is_alive() for t in threads) and time.monotonic() - start < limit + 5:
                time.sleep(0.25)
                if not any(t.is_alive() for t in threads):
                    break
                t0 = time.monotonic()
                reader.request("GET", PREFIX + "/admin/connections/hole_other",
                               headers={"Authorization": auth})
                resp = reader.getresponse()
                resp.read()
                latencies.append(time.monotonic() - t0)
                self.assertEqual(resp.status, 200)
        finally:
            reader.close()
        for t in threads:
            t.join(limit + 10)
        total = time.monotonic() - start

        for i, (status, raw, elapsed) in enumerate(results):
            with self.subTest(call=i):
                self.assertEqual(status, 200, self.server.redact(raw))
                body = json.loads(raw)
                self.assertIs(body["connectionOK"], False, self.server.redact(raw))
                self.assertIn("timed out", body["message"].lower(), self.server.redact(raw))
                self.assertLess(elapsed, limit, "call %d took %.2f s (limit %.1f s)"
                                % (i, elapsed, limit))
                # each probe itself waited for about the timeout, no more (libpq counts its
                # connect_timeout in whole seconds of the wall clock: it may fire up to 1 s early)
                self.assertGreaterEqual(body["durationMs"], (PROBE_TIMEOUT - 1) * 1000 * 0.9)
                self.assertLess(body["durationMs"], (PROBE_TIMEOUT + MARGIN) * 1000)
        self.assertLess(total, limit)
        self.assertGreaterEqual(len(latencies), 5,
                                "too few reads during the probes: %d in %.2f s"
                                % (len(latencies), total))
        # a read that waited for a hung probe would take about PROBE_TIMEOUT (2 s); the bound
        # is half of that, far above what a loaded machine adds to a read (a bound of 100 ms
        # failed at 174-328 ms with the machine's load at 18), so it tells "blocked" from "slow"
        self.assertLess(max(latencies), PROBE_TIMEOUT / 2, "GET /admin/connections/{name} "
                        "latencies during six hung probes: %s"
                        % ", ".join("%.0f ms" % (x * 1000) for x in latencies))
        # at most PROBE_CONCURRENCY at once: connection i + concurrency waited for a probe to
        # give up (unbounded, all six would arrive within milliseconds)
        accepts = sorted(self.hole.accept_times())
        self.assertEqual(len(accepts), n, "the black hole saw %d connections" % len(accepts))
        for i in range(len(accepts) - PROBE_CONCURRENCY):
            self.assertGreaterEqual(accepts[i + PROBE_CONCURRENCY] - accepts[i], 0.5,
                                    "more than %d probes ran at once: connections at %s"
                                    % (PROBE_CONCURRENCY, ", ".join(
                                        "%.2f s" % (t - accepts[0]) for t in accepts)))

    def test_black_hole_bounds_every_driver(self):
        for type in ("PostgreSQL", "MySql", "HTTP"):
            with self.subTest(type=type):
                name = self.hole_conn("hole_one_" + type.lower(), type)
                body = self.assertProbe(name, False, mentions=("timed out",),
                                        max_seconds=PROBE_TIMEOUT + MARGIN)
                self.assertLess(body["durationMs"], (PROBE_TIMEOUT + MARGIN) * 1000)

    def check_denied(self, type, params_for):
        lsock = listener(DENIED_HOST)
        self.addCleanup(lsock.close)
        port = lsock.getsockname()[1]
        name = self.make("denied_" + type.lower(), type, params_for(port))
        body = self.assertProbe(name, False, mentions=("policy", DENIED_HOST),
                                max_seconds=MARGIN)
        self.assertLess(body["durationMs"], 1000)
        self.assertFalse(pending_connection(lsock),
                         "the probe connected to %s:%d although it is denied"
                         % (DENIED_HOST, port))

    def test_probe_deny_postgresql(self):
        self.check_denied("PostgreSQL", lambda port: {
            "host": DENIED_HOST, "port": str(port), "user": "sbtest",
            "password": "pw-" + random_key(16), "db": "sbtest"})

    def test_probe_deny_mysql(self):
        self.check_denied("MySql", lambda port: {
            "host": DENIED_HOST, "port": str(port), "user": "sbtest",
            "password": "pw-" + random_key(16), "db": "sbtest"})

    def test_probe_deny_http(self):
        self.check_denied("HTTP", lambda port: {"url": "http://%s:%d/" % (DENIED_HOST, port)})

    def test_control_undenied_listener_is_contacted(self):
        # the proof above is only worth something if an allowed probe does show up there
        lsock = listener("127.0.0.1")
        self.addCleanup(lsock.close)
        port = lsock.getsockname()[1]
        self.make("undenied_http", "HTTP", {"url": "http://127.0.0.1:%d/" % port})
        t = threading.Thread(target=self.probe_on_own_connection, args=("undenied_http",),
                             daemon=True)
        t.start()
        self.assertTrue(pending_connection(lsock, wait=PROBE_TIMEOUT),
                        "an allowed probe never reached the listener")
        t.join(PROBE_TIMEOUT + MARGIN)


class ClientGoneTests(ProbeCase):
    """A server of its own, so that a leak or crash found at its exit is blamed here."""

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        except AssertionError as e:
            # name the allocation sites, which the generic message may have cut off
            text = cls.server.log_text()
            frames = [line.strip() for line in text.splitlines()
                      if re.match(r"\s+#\d+ .* in \w+ src/", line)]
            if not frames:
                raise
            raise AssertionError("the server failed at exit after /test requests whose "
                                 "clients left before the answer; first frames under src/:\n"
                                 "  %s\n(%s)" % ("\n  ".join(frames[:6]),
                                                  str(e).splitlines()[0])) from None

    def setUp(self):
        super().setUp()
        self.hole = BlackHole()
        self.addCleanup(self.hole.close)

    hole_conn = BoundsAndFenceTests.hole_conn

    def test_client_gone_during_probe(self):
        # Clients that leave while their probe hangs: some close (FIN), some abort (RST). The
        # worker then finishes and resumes requests whose clients are gone; the server must
        # neither crash nor leak (tearDownClass fails on a sanitizer report at exit).
        name = self.hole_conn("hole_gone")
        self.assertEqual(self.server.request("GET", "/healthz", key=None).status, 200)
        socks = []
        for _ in range(4):
            s = self.server.connect()
            s.sendall(self.server.raw_head("GET", PREFIX + "/connections/%s/test" % name))
            socks.append(s)
        time.sleep(0.3)
        for i, s in enumerate(socks):
            if i % 2:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        time.sleep(PROBE_TIMEOUT * math.ceil(len(socks) / PROBE_CONCURRENCY) + 0.5)
        self.assertEqual(self.server.request("GET", "/healthz", key=None).status, 200)
        self.assertProbe("hole_gone", False, mentions=("timed out",))


class ShutdownDuringProbeTests(ProbeCase):
    """SIGTERM while probes hang: the server still exits 0, in bounded time."""

    @classmethod
    def setUpClass(cls):
        pass  # each test starts its own server

    @classmethod
    def tearDownClass(cls):
        pass

    def setUp(self):
        pass

    def start_server(self, extra):
        server = Server(extra_args=PROBE_ARGS + list(extra))
        self.addCleanup(server.cleanup)
        server.start()
        self.server = server
        return server

    def hung_calls(self, server, n):
        hole = BlackHole()
        self.addCleanup(hole.close)
        server.create_connection("hole", type="PostgreSQL", params={
            "host": "127.0.0.1", "port": str(hole.port), "user": "u",
            "password": "pw-" + random_key(16)})
        results = [None] * n

        def call(i):
            try:
                results[i] = self.probe_on_own_connection("hole")
            except (OSError, http.client.HTTPException) as e:
                results[i] = (None, repr(e).encode())

        threads = [threading.Thread(target=call, args=(i,), daemon=True) for i in range(n)]
        for t in threads:
            t.start()
        self.assertTrue(eventually(lambda: len(hole.accept_times()) >= min(n, PROBE_CONCURRENCY),
                                   timeout=5), "the probes never reached the hole")
        # and every call is in the server (running or queued), not still on its way to it: a
        # call that arrives after SIGTERM is rightly refused with 503
        self.assertTrue(eventually(lambda: self.probes_in_server(server) >= n, timeout=5),
                        "the calls never reached the server")
        return threads, results

    def assertStoppedOrNeverStarted(self, server, results):
        """After a shutdown's grace, every call hung_calls made (all of them in the server
        before the signal) is answered 200 with connectionOK false: a running test as stopped,
        a queued one as not run. A client may also see its connection closed (status None)."""
        for i, (status, raw) in enumerate(results):
            if status is not None:
                with self.subTest(call=i):
                    self.assertEqual(status, 200, server.redact(raw))
                    self.assertIs(json.loads(raw)["connectionOK"], False, server.redact(raw))

    @staticmethod
    def probes_in_server(server):
        r = server.request("GET", "/metrics", key=None)
        for line in r.raw.decode().splitlines():
            if line.startswith("switchboard_probe_queue_depth "):
                return int(line.split()[1])
        raise AssertionError("/metrics has no switchboard_probe_queue_depth")

    def stop_timed(self, server):
        t0 = time.monotonic()
        server.stop()  # fails unless exit code 0 within its own limit
        elapsed = time.monotonic() - t0
        server.assert_log_clean()
        return elapsed

    def test_sigterm_lets_hung_probes_finish(self):
        server = self.start_server([])
        n = 4
        threads, results = self.hung_calls(server, n)
        elapsed = self.stop_timed(server)
        for t in threads:
            t.join(5)
        self.assertLess(elapsed, PROBE_TIMEOUT * math.ceil(n / PROBE_CONCURRENCY) + MARGIN)
        for i, (status, raw) in enumerate(results):
            with self.subTest(call=i):
                self.assertEqual(status, 200, server.redact(raw))
                body = json.loads(raw)
                self.assertIs(body["connectionOK"], False)

    def test_sigterm_ends_within_the_grace_whatever_the_probe_timeout(self):
        # a probe timeout far over the grace: the running tests are answered as stopped and
        # the server exits 0 within the grace (plus process start-up slack), not at the timeout
        server = Server(extra_args=["--probe-timeout", "60", "--probe-concurrency", "2",
                                    "--shutdown-grace", "1"])
        self.addCleanup(server.cleanup)
        server.start()
        self.server = server
        n = 3
        threads, results = self.hung_calls(server, n)
        elapsed = self.stop_timed(server)
        for t in threads:
            t.join(5)
        self.assertLess(elapsed, 1 + MARGIN)
        self.assertStoppedOrNeverStarted(server, results)

    def test_sigterm_with_short_grace(self):
        server = self.start_server(["--shutdown-grace", "1"])
        n = 4
        threads, results = self.hung_calls(server, n)
        elapsed = self.stop_timed(server)
        for t in threads:
            t.join(5)
        # after the grace, running probes are answered as stopped and queued ones never start
        self.assertLess(elapsed, 1 + MARGIN)
        self.assertStoppedOrNeverStarted(server, results)


class ScrubTests(ProbeCase):
    """Issue 12 point 2: a secret equal to the mask "***" made the message scrubber loop
    forever (every worker at 100% CPU, later tests hung, SIGTERM never completed)."""

    def test_secret_equal_to_the_mask_does_not_spin(self):
        tmp = tempfile.mkdtemp(prefix="switchboard-scrub-")
        self.addCleanup(shutil.rmtree, tmp, True)
        # the Filesystem tester quotes the root, which holds the secret's value: the message
        # then contains "***" and the scrubber must still end
        for i, secret in enumerate(("***", "*", "**", "****")):
            with self.subTest(secret=secret):
                name = "scrub_mask_%d" % i
                self.server.create_connection(name, type="Filesystem", params={
                    "root": os.path.join(tmp, "x%s" % secret, "missing"), "password": secret})
                self.assertProbe(name, False, mentions=("not accessible",),
                                 max_seconds=PROBE_TIMEOUT + MARGIN)
        # the workers are free: an unrelated test answers at once
        self.server.create_connection("scrub_after", type="Filesystem", params={"root": tmp})
        self.assertProbe("scrub_after", True, max_seconds=MARGIN)

    def test_overlapping_secrets_leave_nothing_in_the_message(self):
        tmp = tempfile.mkdtemp(prefix="switchboard-scrub-")
        self.addCleanup(shutil.rmtree, tmp, True)
        a, b = "abc" + random_key(10), None
        b = a[4:] + "zz" + random_key(6)  # overlaps the end of a
        root = os.path.join(tmp, "d-" + a[:4] + b, "missing")
        self.server.remember_secret(a)
        self.server.remember_secret(b)
        self.server.create_connection("scrub_overlap", type="Filesystem", params={
            "root": root, "password": a, "token": b})
        body = self.assertProbe("scrub_overlap", False, mentions=("***",))
        self.assertNoSecret(body["message"], a, "the message")
        self.assertNoSecret(body["message"], b, "the message")
        self.assertNoSecret(body["message"], b[:len(b) // 2], "the message")


class BriefMessageTests(ProbeCase):
    """Issue 12 point 5 (docs/API.md §4.4): a caller who may use a connection but not read its
    details gets the outcome and a category only; admins and readers the full message."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tmp = tempfile.mkdtemp(prefix="switchboard-brief-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)
        cls.server.create_group("brief_users")
        cls.user_key = cls.server.user_with_key("brief_user", groups=["brief_users"])

    def make_pair(self, name, type, params):
        """The same target twice: details hidden from users, and readable by all."""
        self.make(name, type, params)
        self.make(name + "_r", type, params,
                  detailsReadability={"readableBy": "ALL", "allowedGroups": []})

    def check(self, name, ok, category, hidden):
        user = self.assertProbe(name, ok, key=self.user_key)
        expected = ("The connection test succeeded." if ok else
                    "The connection test failed: %s." % category)
        self.assertEqual(user["message"], expected)
        for word in hidden:
            self.assertNotIn(word, user["message"])
        full = self.assertProbe(name, ok)  # the admin
        reader = self.assertProbe(name + "_r", ok, key=self.user_key)
        for body in (full, reader):
            self.assertIn(hidden[0], body["message"], "the full message lost its detail")

    def test_filesystem_path_is_not_told(self):
        root = os.path.join(self.tmp, "secret-place", "missing")
        self.make_pair("brief_fs", "Filesystem", {"root": root})
        self.check("brief_fs", False, "directory not accessible", ["secret-place", self.tmp])
        self.make_pair("brief_fs_ok", "Filesystem", {"root": self.tmp})
        self.check("brief_fs_ok", True, None, [self.tmp])

    def test_refused_port_is_not_told(self):
        port = str(free_port())
        self.make_pair("brief_refused", "PostgreSQL", {"host": "127.0.0.1", "port": port,
                                                       "user": "u", "db": "brief_db"})
        user = self.assertProbe("brief_refused", False, key=self.user_key)
        self.assertEqual(user["message"], "The connection test failed: connection refused.")
        self.assertNotIn(port, user["message"])

    def test_denied_target_is_not_told(self):
        self.make_pair("brief_denied", "HTTP", {"url": "http://%s:9/" % DENIED_HOST})
        self.check("brief_denied", False, "denied by policy", [DENIED_HOST])

    @needs_peers
    def test_postgresql_success_tells_no_version_host_or_database(self):
        params = {"host": "127.0.0.1", "port": PEERS["PG_PORT"], "user": PEERS["PG_USER"],
                  "password": PEERS["PG_PASSWORD"], "db": PEERS["PG_DB"]}
        self.make_pair("brief_pg", "PostgreSQL", params)
        self.check("brief_pg", True, None, [PEERS["PG_PORT"], "127.0.0.1", PEERS["PG_USER"]])
        self.make_pair("brief_pg_db", "PostgreSQL", dict(params, db="brief_missing_db"))
        self.check("brief_pg_db", False, "missing database", ["brief_missing_db"])

    @needs_peers
    def test_mysql_authentication_failure_tells_no_user(self):
        params = {"host": "127.0.0.1", "port": PEERS["MYSQL_PORT"], "user": "brief_nobody",
                  "password": "pw-" + random_key(12), "db": PEERS["MYSQL_DB"]}
        self.make_pair("brief_my", "MySql", params)
        self.check("brief_my", False, "authentication", ["brief_nobody"])


class OtherTesterTests(ProbeCase):
    """Types without a tester, Filesystem, HTTP, permissions, the status table, /metrics."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http = HttpPeer()
        cls.addClassCleanup(cls.http.close)
        cls.tmp = tempfile.mkdtemp(prefix="switchboard-probe-fs-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)

    def test_type_without_tester_is_400(self):
        self.server.create_connection("s3_conn", type="EC2", params={"bucket": "b"})
        r = self.probe("s3_conn")
        self.assertError(r, 400, "BadRequest", mentions="no live test")

    def test_unknown_connection_is_404(self):
        self.assertError(self.probe("no_such_conn"), 404, "NotFound", mentions="no_such_conn")

    def test_filesystem_writable_dir(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        self.make("fs_ok", "Filesystem", {"root": d})
        self.assertProbe("fs_ok", True, mentions=("writable",))

    def test_filesystem_missing_dir(self):
        self.make("fs_missing", "Filesystem", {"root": os.path.join(self.tmp, "nope", "x")})
        self.assertProbe("fs_missing", False, mentions=("not accessible",))

    def test_filesystem_file_is_not_a_dir(self):
        path = os.path.join(self.tmp, "a_file")
        with open(path, "w") as f:
            f.write("x")
        self.make("fs_file", "Filesystem", {"root": path})
        self.assertProbe("fs_file", False, mentions=("not a directory",))

    def test_filesystem_read_only_dir(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        os.chmod(d, 0o555)
        self.make("fs_ro", "Filesystem", {"root": d}, allowWrite=False)
        body = self.assertProbe("fs_ro", True, mentions=("readable",))
        self.assertNotIn("writable", body["message"])
        if os.geteuid() != 0:  # root may write anywhere: only an ordinary user sees the refusal
            self.make("fs_ro_w", "Filesystem", {"root": d}, allowWrite=True)
            self.assertProbe("fs_ro_w", False, mentions=("not writable",))

    def test_http_ok(self):
        self.make("http_ok", "HTTP", {"url": self.http.url("/")})
        self.assertProbe("http_ok", True, mentions=("200",))

    def test_http_auth_failure(self):
        self.make("http_auth", "HTTP", {"url": self.http.url("/auth"), "user": "u",
                                        "password": "pw-" + random_key(16)})
        self.assertProbe("http_auth", False, mentions=("authentication",))

    def test_http_redirect_not_followed(self):
        self.make("http_redirect", "HTTP", {"url": self.http.url("/redirect")})
        self.assertProbe("http_redirect", True, mentions=("redirects are not followed", "302"))
        self.assertIn(("HEAD", "/redirect"),
                      [(m, p) for m, p in self.http.requests])
        self.assertFalse(pending_connection(self.http.redirect_target),
                         "the probe followed the redirect")

    def test_permissions(self):
        self.server.create_group("probe_team")
        self.server.create_group("probe_others")
        self.make("perm_closed", "Filesystem", {"root": self.tmp}, usableBy="ALLOWED",
                  allowedGroups=["probe_others"])
        self.make("perm_open", "Filesystem", {"root": self.tmp}, usableBy="ALLOWED",
                  allowedGroups=["probe_team"])
        global_key = self.server.create_key(groups=["probe_team"])["key"]
        user_key = self.server.user_with_key("probe_user", groups=["probe_team"])
        for label, key in (("global key", global_key), ("personal key", user_key)):
            with self.subTest(principal=label):
                self.assertError(self.probe("perm_closed", key=key), 403, "Forbidden",
                                 mentions="perm_closed")
                self.assertProbe("perm_open", True, key=key)
                r = self.server.api("GET", "/admin/connection-status", key=key)
                self.assertError(r, 403, "Forbidden")
        self.assertError(self.probe("perm_closed", key=None), 401, "Unauthorized")

    def test_status_table(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        self.make("st_ok", "Filesystem", {"root": d})
        self.make("st_bad", "Filesystem", {"root": os.path.join(d, "missing")})
        self.make("st_never", "Filesystem", {"root": d})
        before = int(time.time() * 1000)
        ok = self.assertProbe("st_ok", True)
        bad = self.assertProbe("st_bad", False)
        after = int(time.time() * 1000)
        r = self.server.api("GET", "/admin/connection-status")
        self.assertStatus(r, 200)
        status = r.json
        self.assertIsInstance(status, dict)
        self.assertNotIn("st_never", status)
        for name, answer in (("st_ok", ok), ("st_bad", bad)):
            with self.subTest(name=name):
                entry = status.get(name)
                self.assertIsNotNone(entry, "no status for %s" % name)
                self.assertEqual(set(entry), {"connectionOK", "message", "durationMs",
                                              "testedOn", "stateChangedOn", "stateSinceMs",
                                              "successRatio"})
                self.assertIs(entry["connectionOK"], answer["connectionOK"])
                self.assertEqual(entry["message"], answer["message"])
                self.assertEqual(entry["durationMs"], answer["durationMs"])
                self.assertIsInstance(entry["testedOn"], int)
                self.assertGreaterEqual(entry["testedOn"], before - 1000)
                self.assertLessEqual(entry["testedOn"], after + 1000)
        # a deleted connection leaves the table
        self.assertStatus(self.server.api("DELETE", "/admin/connections/st_bad"), 200)
        r = self.server.api("GET", "/admin/connection-status")
        self.assertNotIn("st_bad", r.json)
        self.assertIn("st_ok", r.json)

    def metrics(self):
        r = self.server.request("GET", "/metrics", key=None)
        self.assertStatus(r, 200)
        return r.raw.decode("utf-8")

    def test_metrics_count_probes_by_type(self):
        d = tempfile.mkdtemp(dir=self.tmp)
        self.make("m_fs_ok", "Filesystem", {"root": d})
        self.make("m_fs_bad", "Filesystem", {"root": os.path.join(d, "missing")})
        text = self.metrics()
        ok0 = metric_value(text, "Filesystem", "ok")
        bad0 = metric_value(text, "Filesystem", "failed")
        self.assertProbe("m_fs_ok", True)
        self.assertProbe("m_fs_ok", True)
        self.assertProbe("m_fs_bad", False)
        text = self.metrics()
        self.assertEqual(metric_value(text, "Filesystem", "ok"), ok0 + 2)
        self.assertEqual(metric_value(text, "Filesystem", "failed"), bad0 + 1)
        self.assertIn("# TYPE switchboard_probes_total counter", text)
        self.assertNotIn("m_fs_ok", text)  # /metrics names no connection

    @needs_peers
    def test_metrics_count_postgresql(self):
        self.make("m_pg", "PostgreSQL", {"host": "127.0.0.1", "port": PEERS["PG_PORT"],
                                         "user": PEERS["PG_USER"],
                                         "password": PEERS["PG_PASSWORD"], "db": PEERS["PG_DB"]})
        before = metric_value(self.metrics(), "PostgreSQL", "ok")
        self.assertProbe("m_pg", True)
        text = self.metrics()
        self.assertIn('switchboard_probes_total{type="PostgreSQL",outcome="ok"} %d'
                      % (before + 1), text)
        self.assertNotIn(PEERS["PG_PASSWORD"], text)


class BackgroundProberTests(ProbeCase):
    """--probe-interval 1 fills the status table with no /test call."""

    server_options = {"extra_args": PROBE_ARGS + ["--probe-interval", "1"]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.http = HttpPeer()
        cls.addClassCleanup(cls.http.close)
        cls.tmp = tempfile.mkdtemp(prefix="switchboard-prober-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, True)

    def status(self):
        r = self.server.api("GET", "/admin/connection-status")
        self.assertStatus(r, 200)
        return r.json

    def wait_status(self, names, predicate=lambda s: True, timeout=6.0):
        deadline = time.monotonic() + timeout
        while True:
            s = self.status()
            if all(n in s and predicate(s[n]) for n in names):
                return s
            if time.monotonic() > deadline:
                self.fail("status after %.0f s lacks %s: %s"
                          % (timeout, names, self.server.redact(s)))
            time.sleep(0.1)

    def test_prober_fills_status(self):
        self.make("bg_fs", "Filesystem", {"root": self.tmp})
        self.make("bg_fs_bad", "Filesystem", {"root": os.path.join(self.tmp, "missing")})
        self.make("bg_http", "HTTP", {"url": self.http.url("/")})
        self.server.create_connection("bg_s3", type="EC2", params={"bucket": "b"})
        names = ["bg_fs", "bg_fs_bad", "bg_http"]
        if PEERS:
            self.make("bg_pg", "PostgreSQL", {
                "host": "127.0.0.1", "port": PEERS["PG_PORT"], "user": PEERS["PG_USER"],
                "password": PEERS["PG_PASSWORD"], "db": PEERS["PG_DB"]})
            self.make("bg_my", "MySql", {
                "host": "127.0.0.1", "port": PEERS["MYSQL_PORT"], "user": PEERS["MYSQL_USER"],
                "password": PEERS["MYSQL_PASSWORD"], "db": PEERS["MYSQL_DB"]})
            names += ["bg_pg", "bg_my"]
        s = self.wait_status(names)
        self.assertNotIn("bg_s3", s)  # no tester, never probed
        expected_ok = {"bg_fs": True, "bg_fs_bad": False, "bg_http": True, "bg_pg": True,
                       "bg_my": True}
        for n in names:
            with self.subTest(name=n):
                self.assertIs(s[n]["connectionOK"], expected_ok[n], self.server.redact(s[n]))
                self.assertEqual(set(s[n]), {"connectionOK", "message", "durationMs",
                                             "testedOn", "stateChangedOn", "stateSinceMs",
                                             "successRatio"})
        self.assertGreaterEqual(sum(1 for m, p in self.http.requests if p == "/"), 1)
        # it keeps going: a later round brings a newer testedOn
        first = s["bg_fs"]["testedOn"]
        self.wait_status(["bg_fs"], lambda e: e["testedOn"] > first, timeout=4.0)
        # and it is admin-only like the rest of the table
        key = self.server.create_key(groups=[])["key"]
        self.assertError(self.server.api("GET", "/admin/connection-status", key=key), 403,
                         "Forbidden")


if __name__ == "__main__":
    unittest.main()
