# SPDX-License-Identifier: Apache-2.0
"""SIGTERM under load (issue 12 point 10): the server is stopped 50 times while 8 clients read,
write and run live tests. Every stop must exit 0 within --shutdown-grace (plus start-up
slack), never abort (libmicrohttpd once panicked with "Failed to remove listen FD from epoll
set" when the listening socket was quiesced under its epoll thread pool), and every write
the server acknowledged must be there after the restarts.

Only loopback peers: a small HTTP server for the HTTP tests and a temporary directory for the
Filesystem ones."""

import http.client
import os
import random
import shutil
import socket
import tempfile
import threading
import time
import unittest

from server import PREFIX, Server, basic_auth
from test_probes import HttpPeer

STOPS = 50
CLIENTS = 8
GRACE = 2
MARGIN = 3.0


class SigtermUnderLoadTests(unittest.TestCase):

    def test_fifty_sigterms_under_eight_clients(self):
        peer = HttpPeer()
        self.addCleanup(peer.close)
        tmp = tempfile.mkdtemp(prefix="switchboard-stop-")
        self.addCleanup(shutil.rmtree, tmp, True)
        server = Server(extra_args=["--shutdown-grace", str(GRACE), "--probe-timeout", "2",
                                    "--probe-concurrency", "2"])
        self.addCleanup(server.cleanup)
        server.start()
        self.assertEqual(server.api("POST", "/admin/connections/", {
            "name": "stop_http", "type": "HTTP", "params": {"url": peer.url("/")}}).status, 200)
        self.assertEqual(server.api("POST", "/admin/connections/", {
            "name": "stop_fs", "type": "Filesystem", "params": {"root": tmp}}).status, 200)
        auth = {"Authorization": basic_auth(server.admin_key)}
        acknowledged = set()
        ack_lock = threading.Lock()
        answers = {}  # status -> count, for the message on failure
        rng = random.Random(12)

        def client(cycle, me, stop_flag):
            conn = None
            i = 0
            while not stop_flag.is_set():
                i += 1
                kind = ("write", "read", "probe", "list")[(me + i) % 4]
                if kind == "write":
                    name = "w_%d_%d_%d" % (cycle, me, i)
                    body = ('{"name": "%s", "type": "Filesystem", "params": {"root": "/tmp/x"}}'
                            % name)
                    method, path = "POST", PREFIX + "/admin/connections/"
                elif kind == "read":
                    name, body, method = None, None, "GET"
                    path = PREFIX + "/admin/connections/stop_fs"
                elif kind == "probe":
                    name, body, method = None, None, "GET"
                    path = PREFIX + "/connections/%s/test" % ("stop_http", "stop_fs")[i % 2]
                else:
                    name, body, method = None, None, "GET"
                    path = PREFIX + "/connections/get-names"
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                    conn.request(method, path, body=body, headers=auth)
                    resp = conn.getresponse()
                    resp.read()
                except (OSError, http.client.HTTPException):
                    if conn is not None:
                        conn.close()
                    conn = None
                    time.sleep(0.01)
                    continue
                with ack_lock:
                    answers[resp.status] = answers.get(resp.status, 0) + 1
                    if kind == "write" and resp.status == 200:
                        acknowledged.add(name)
                if resp.will_close or me % 2:  # half the clients connect anew every time

                    conn.close()
                    conn = None
            if conn is not None:
                conn.close()

        for cycle in range(STOPS):
            if cycle:
                server.start()
            stop_flag = threading.Event()
            threads = [threading.Thread(target=client, args=(cycle, c, stop_flag), daemon=True)
                       for c in range(CLIENTS)]
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.05, 0.3))
            t0 = time.monotonic()
            rc = server.stop()  # SIGTERM; fails unless it exits 0
            elapsed = time.monotonic() - t0
            stop_flag.set()
            for t in threads:
                t.join(15)
            self.assertEqual(rc, 0, "stop %d" % cycle)
            self.assertLess(elapsed, GRACE + MARGIN,
                            "stop %d took %.2f s (grace %d s)" % (cycle, elapsed, GRACE))
            server.assert_log_clean()
        self.assertNotIn("Fatal error", server.log_text())
        server.start()
        r = server.api("GET", "/admin/connections/")
        self.assertEqual(r.status, 200)
        missing = sorted(acknowledged - set(r.json))
        self.assertEqual(missing, [], "acknowledged writes lost after %d stops" % STOPS)
        # the load was real: writes were acknowledged and live tests answered
        self.assertGreater(len(acknowledged), STOPS, "answers seen: %r" % answers)
        self.assertGreater(answers.get(200, 0), STOPS * CLIENTS, "answers seen: %r" % answers)
        server.stop()
        server.assert_log_clean()


if __name__ == "__main__":
    unittest.main()
