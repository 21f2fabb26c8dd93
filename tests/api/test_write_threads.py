# SPDX-License-Identifier: Apache-2.0
"""Writes run off libmicrohttpd's request threads (docs/PERFORMANCE.md, change 38).

A request thread serves its connections one request at a time; a write holds it until its
commit is durable. With `--threads 1` every connection is on one request thread: a write whose
thread serves other connections goes to a write thread, its connection suspended, so that the
request thread answers the other connections meanwhile and their writes run beside it (and, on
SQLite, share its commit).

To hold a write inside the server for as long as a test needs, the test takes the store's write
lock from outside (SQLite: `BEGIN IMMEDIATE` on the database file; PostgreSQL: `LOCK TABLE
connections IN EXCLUSIVE MODE` in a psql session) and releases it once it has seen what it
looks for; the server's writes wait for that lock (up to 5 s) as for any other writer's.
Nothing here measures time: the tests wait for states the server reports on /metrics."""

import http.client
import json
import os
import sqlite3
import subprocess
import threading
import unittest

from server import (PREFIX, STORE, OwnServerTestCase, ServerTestCase, basic_auth, eventually,
                    peers_env, sqlite_only)

CONNS = PREFIX + "/admin/connections/"


class StoreLock:
    """The store's write lock, held from outside the server until release()."""

    def __init__(self, server):
        self.db = self.psql = None
        if STORE == "sqlite":
            self.db = sqlite3.connect(os.path.join(server.data_dir, "switchboard.db"),
                                      timeout=10, isolation_level=None)
            self.db.execute("BEGIN IMMEDIATE")
            return
        env = peers_env()
        self.psql = subprocess.Popen(
            ["psql", "-X", "-q", "-At", "-h", env["PG_HOST"], "-p", env["PG_PORT"], "-U",
             env["PG_USER"], "-d", server.pg_database, "-v", "ON_ERROR_STOP=1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=dict(os.environ, PGPASSWORD=env["PG_PASSWORD"]))
        self.psql.stdin.write("BEGIN;\nLOCK TABLE connections IN EXCLUSIVE MODE;\n"
                              "SELECT 'locked';\n")
        self.psql.stdin.flush()
        line = self.psql.stdout.readline().strip()
        if line != "locked":
            self.release()
            raise AssertionError("psql could not lock the table: %r" % line)

    def release(self):
        if self.db is not None:
            self.db.execute("ROLLBACK")
            self.db.close()
            self.db = None
        if self.psql is not None:
            try:
                self.psql.stdin.write("ROLLBACK;\n")
                self.psql.stdin.close()
            except OSError:
                pass
            self.psql.wait(10)
            self.psql = None


class Client:
    """One keep-alive connection of its own: a request is sent, its answer read later."""

    def __init__(self, server):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self.auth = basic_auth(server.admin_key)

    def send(self, method, path, body=None):
        self.conn.request(method, path, None if body is None else json.dumps(body),
                          {"Authorization": self.auth, "Content-Type": "application/json"})

    def answer(self):
        resp = self.conn.getresponse()
        data = resp.read()
        return resp.status, data

    def call(self, method, path, body=None):
        self.send(method, path, body)
        return self.answer()

    def metrics(self):
        status, data = self.call("GET", "/metrics")
        if status != 200:
            return {}
        found = {}
        for line in data.decode().splitlines():
            if line.startswith("switchboard_") and " " in line:
                name, value = line.split(" ", 1)
                found[name] = float(value)
        return found

    def close(self):
        self.conn.close()


def definition(name):
    return {"name": name, "type": "Filesystem", "params": {"root": "/tmp/" + name}}


class WritesOffTheRequestThreadTest(ServerTestCase):
    server_options = {"extra_args": ["--threads", "1"]}

    def clients(self, n):
        out = [Client(self.server) for _ in range(n)]
        for c in out:
            self.addCleanup(c.close)
            self.assertEqual(c.call("GET", "/healthz")[0], 200)  # open on the server's side
        return out

    def test_a_write_waiting_for_the_store_leaves_its_thread_to_other_connections(self):
        self.server.create_connection("wt_seed")
        reader, writer = self.clients(2)
        lock = StoreLock(self.server)
        self.addCleanup(lock.release)
        writer.send("POST", CONNS, definition("wt_waiting"))
        # the one request thread answers the reader while the write waits for the lock
        seen = eventually(lambda: reader.metrics().get("switchboard_http_writes_in_flight") == 1)
        self.assertTrue(seen, "the write never showed as in flight beside another request")
        status, data = reader.call("GET", CONNS + "wt_seed")
        self.assertEqual(status, 200, data[:200])
        lock.release()
        status, data = writer.answer()
        self.assertEqual(status, 200, data[:300])  # (not a 503 of a write that waited 5 s)
        self.assertEqual(json.loads(data)["name"], "wt_waiting")
        self.assertGreaterEqual(
            reader.metrics().get("switchboard_http_writes_offloaded_total", 0), 1)
        self.assertStatus(self.server.api("GET", "/admin/connections/wt_waiting"), 200)

    def test_writes_from_connections_on_one_thread_run_together(self):
        self.server.create_connection("wt_seed2")
        watcher, *writers = self.clients(9)
        before = watcher.metrics()
        lock = StoreLock(self.server)
        self.addCleanup(lock.release)
        for i, w in enumerate(writers):
            w.send("POST", CONNS, definition("wt_together_%d" % i))

        def all_waiting():
            m = watcher.metrics()
            if m.get("switchboard_http_writes_in_flight") != len(writers):
                return False
            # SQLite: one writer waits for the lock, the others for their turn behind it
            return STORE != "sqlite" or m.get("switchboard_store_writers_waiting", 0) >= 7

        self.assertTrue(eventually(all_waiting), "the 8 writes were never in flight together")
        lock.release()
        for i, w in enumerate(writers):
            status, data = w.answer()
            self.assertEqual(status, 200, data[:300])
            self.assertEqual(json.loads(data)["name"], "wt_together_%d" % i)
        after = watcher.metrics()
        if STORE == "sqlite":
            commits = (after["switchboard_store_group_commits_total"]
                       - before["switchboard_store_group_commits_total"])
            writes = (after["switchboard_store_group_commit_writes_total"]
                      - before["switchboard_store_group_commit_writes_total"])
            # writes - commits is what the transactions held beyond one write each: 7 when
            # the 8 shared one commit (more only if a write of the server's own joined them)
            self.assertGreaterEqual(writes, 8)
            self.assertGreaterEqual(writes - commits, 7,
                                    "%d writes in %d commits" % (writes, commits))
        names = set(self.server.api("GET", "/admin/connections/").json)
        self.assertTrue({"wt_together_%d" % i for i in range(8)} <= names)


class WritesInFlightAtShutdownTest(OwnServerTestCase):
    server_options = {"extra_args": ["--threads", "1", "--shutdown-grace", "0"]}

    def test_writes_in_flight_at_a_stop_are_answered_or_refused(self):
        """More writes than write threads wait for the store when SIGTERM comes, with no grace:
        the ones running end (their answer goes out), the ones still queued are refused with
        503; the server exits 0, and what was acknowledged is there after a restart."""
        s = self.server
        s.create_connection("wt_seed3")
        n_threads = 8 * (os.cpu_count() or 2)  # the server's write threads (8 per core)
        n = n_threads + 4
        clients = [Client(s) for _ in range(n + 1)]
        for c in clients:
            self.addCleanup(c.close)
            self.assertEqual(c.call("GET", "/healthz")[0], 200)
        watcher, writers = clients[0], clients[1:]
        lock = StoreLock(s)
        self.addCleanup(lock.release)
        for i, w in enumerate(writers):
            w.send("POST", CONNS, definition("wt_stop_%d" % i))

        def queued():
            m = watcher.metrics()
            return (m.get("switchboard_http_writes_offloaded_total") == n
                    and m.get("switchboard_http_writes_in_flight") == n_threads)

        self.assertTrue(eventually(queued), "the writes never filled the write threads")
        stopped = []
        stopper = threading.Thread(target=lambda: stopped.append(s.stop()))  # SIGTERM, waits
        stopper.start()
        self.assertIn("shutting down", s.wait_for_log(lambda t: "shutting down" in t, 10))
        lock.release()  # the running writes may now commit
        answers = {}
        for i, w in enumerate(writers):
            try:
                status, data = w.answer()
            except (OSError, http.client.HTTPException) as e:
                self.fail("write %d got no answer: %r" % (i, e))
            answers["wt_stop_%d" % i] = (status, data)
        stopper.join(30)
        self.assertEqual(stopped, [0])  # (stop() fails unless the server exits 0)
        refused = [k for k, (st, d) in answers.items() if st == 503]
        done = [k for k, (st, d) in answers.items() if st == 200]
        self.assertEqual(len(refused) + len(done), n, answers)
        # the queued ones at least (a running one could also have waited past 5 s: a 503 too)
        self.assertGreaterEqual(
            len([k for k in refused if b"shutting down" in answers[k][1]]), n - n_threads)
        s.assert_log_clean()
        s.start()
        names = set(s.api("GET", "/admin/connections/").json)
        self.assertEqual(sorted(set(done) - names), [], "acknowledged writes lost")
        self.assertEqual(sorted(set(refused) & names), [], "refused writes stored")


if __name__ == "__main__":
    unittest.main()
