# SPDX-License-Identifier: Apache-2.0
"""Slow and many clients, over loopback: half-open connections that send their headers one byte
a second, clients that stop reading a large answer, and the per-IP connection cap, must not
delay the requests of everyone else past a second. The servers run with --threads 2, so that a
slow client pinning a thread would show on any machine."""

import json
import socket
import threading
import time
import unittest

from server import PREFIX, OwnServerTestCase, basic_auth

SLOW_CLIENTS = 200
MAX_LATENCY = 1.0


class LatencyMixin:

    def timed(self, method, path, body=None, key=True):
        """One request on a fresh connection; returns (seconds, Response)."""
        self.server.close_connection()
        started = time.monotonic()
        if key:
            r = self.server.request(method, path, body)
        else:
            r = self.server.request(method, path, body, key=None)
        return time.monotonic() - started, r

    def normal_requests(self, tag):
        """A mix of reads and a write; returns the longest time one took."""
        worst = 0.0
        for method, path, body, status in (
                ("GET", "/healthz", None, 200),
                ("GET", PREFIX + "/admin/connections/", None, 200),
                ("GET", PREFIX + "/admin/connections/normal_0", None, 200),
                ("POST", PREFIX + "/admin/connections/",
                 {"name": "normal_%s" % tag, "type": "Filesystem", "params": {"root": "/n"}},
                 200),
                ("GET", PREFIX + "/connections/get-names?type=Filesystem", None, 200)):
            took, r = self.timed(method, path, body)
            self.assertStatus(r, status, "%s %s" % (method, path))
            worst = max(worst, took)
        return worst


class SlowHeadersTest(LatencyMixin, OwnServerTestCase):
    server_options = {"extra_args": ["--threads", "2"]}

    def test_200_half_open_connections_sending_a_byte_a_second_do_not_delay_others(self):
        self.server.create_connection("normal_0")
        head = ("GET %s/admin/connections/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: %s\r\n"
                "X-Slow: %s\r\n\r\n" % (PREFIX, basic_auth(self.server.admin_key), "s" * 64))
        head = head.encode("ascii")
        socks = []
        stop = threading.Event()
        feeder_errors = []

        def feeder():
            pos = 0
            while not stop.wait(1.0) and pos < len(head) - 4:  # never completes the request
                for s in socks:
                    try:
                        s.send(head[pos:pos + 1])
                    except OSError as e:
                        feeder_errors.append(repr(e))
                pos += 1

        try:
            for _ in range(SLOW_CLIENTS):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5)
                s.send(head[:1])
                socks.append(s)
            thread = threading.Thread(target=feeder, daemon=True)
            thread.start()
            worst = 0.0
            deadline = time.monotonic() + 6
            i = 0
            while time.monotonic() < deadline:
                worst = max(worst, self.normal_requests("slow_%d" % i))
                i += 1
                time.sleep(0.2)
            self.assertLess(worst, MAX_LATENCY,
                            "a normal request took %.2f s with %d slow clients"
                            % (worst, SLOW_CLIENTS))
            self.assertGreater(i, 5)
            stop.set()
            thread.join(5)
            self.assertEqual(feeder_errors[:5], [], "the server dropped slow clients early")
            # the slow clients are all still connected: none was refused
            for s in socks:
                s.setblocking(False)
                try:
                    self.assertNotEqual(s.recv(1), b"", "a slow client was closed")
                except BlockingIOError:
                    pass
        finally:
            stop.set()
            for s in socks:
                s.close()
        took, r = self.timed("GET", "/healthz", key=False)
        self.assertStatus(r, 200)


class IdleTimeoutTest(LatencyMixin, OwnServerTestCase):
    server_options = {"extra_args": ["--threads", "2", "--connection-timeout", "2"]}

    def test_half_open_connections_are_closed_after_the_connection_timeout(self):
        socks = []
        try:
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=8)
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # the head never ends
                socks.append(s)
            started = time.monotonic()
            for s in socks:
                try:
                    self.assertEqual(s.recv(4096), b"")
                except ConnectionResetError:
                    pass
            took = time.monotonic() - started
            self.assertLess(took, 6.0, "idle connections held for %.1f s past a 2 s timeout"
                            % took)
        finally:
            for s in socks:
                s.close()


class PerIpCapTest(LatencyMixin, OwnServerTestCase):
    server_options = {"extra_args": ["--threads", "2", "--max-connections-per-ip", "50"]}

    def test_one_address_over_its_cap_is_refused_and_others_are_served(self):
        self.server.create_connection("normal_0")
        socks, refused = [], 0
        try:
            for _ in range(80):
                s = socket.create_connection(("127.0.0.1", self.server.port), timeout=5,
                                             source_address=("127.0.0.2", 0))
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
                socks.append(s)
            time.sleep(0.5)
            for s in socks:
                s.setblocking(False)
                try:
                    if s.recv(1) == b"":
                        refused += 1
                except BlockingIOError:
                    pass
                except ConnectionResetError:
                    refused += 1
            self.assertEqual(refused, 30, "connections over the cap of 50 from 127.0.0.2")
            worst = self.normal_requests("other_ip")  # from 127.0.0.1
            self.assertLess(worst, MAX_LATENCY)
        finally:
            for s in socks:
                s.close()


class StalledReaderTest(LatencyMixin, OwnServerTestCase):
    server_options = {"extra_args": ["--threads", "2"]}

    STALLED = 10

    def fill(self, megabytes):
        """Imports connections with large notes until the list is MEGABYTES long."""
        per_import, size = 28, 30000
        n = 0
        while n * size < megabytes * 1024 * 1024:
            items = [{"name": "big_%04d" % (n + i), "type": "Filesystem",
                      "params": {"root": "/big/%d" % (n + i)},
                      "notes": "%d:%s" % (n + i, "d" * size)}
                     for i in range(per_import)]
            r = self.server.api("POST", "/admin/connections/actions/import",
                                {"connections": items})
            self.assertStatus(r, 200, "bulk import")
            n += per_import

    def test_clients_that_stop_reading_a_large_list_do_not_pin_threads(self):
        self.server.create_connection("normal_0")
        self.fill(8)
        took, full = self.timed("GET", PREFIX + "/admin/connections/")
        self.assertStatus(full, 200)
        size = len(full.raw)
        self.assertGreater(size, 8 * 1024 * 1024)
        request = self.server.raw_head("GET", PREFIX + "/admin/connections/")
        stalled = []
        try:
            for _ in range(self.STALLED):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(5)
                s.connect(("127.0.0.1", self.server.port))
                s.sendall(request)  # and never reads
                stalled.append(s)
            time.sleep(1.0)  # the server has filled what the sockets take and is waiting
            worst = 0.0
            for i in range(5):
                worst = max(worst, self.normal_requests("stalled_%d" % i))
            self.assertLess(worst, MAX_LATENCY, "a normal request took %.2f s with %d clients "
                            "stalled on an %d-byte answer" % (worst, self.STALLED, size))
            # a full list is still served to a client that reads it
            took, r = self.timed("GET", PREFIX + "/admin/connections/")
            self.assertStatus(r, 200)
            self.assertLess(took, 5.0)
            self.assertGreater(len(r.raw), size)  # it has the connections added meanwhile
            json.loads(r.raw)
            # one stalled client resumes reading and gets a whole, consistent answer
            s = stalled.pop()
            s.settimeout(10)
            data = b""
            while True:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data:
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = [int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")]
                    if length and len(body) >= length[0]:
                        break
            s.close()
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
            self.assertEqual(json.loads(body)["normal_0"]["name"], "normal_0")
        finally:
            for s in stalled:
                s.close()
        took, r = self.timed("GET", "/healthz", key=False)
        self.assertStatus(r, 200)
        self.assertLess(took, MAX_LATENCY)


if __name__ == "__main__":
    unittest.main()
