# SPDX-License-Identifier: Apache-2.0
"""Crash safety: four writers create and update connections while the server is killed with
SIGKILL at random moments, cycle after cycle. After every restart each acknowledged write (a 200
answer) is there with the content it was acknowledged with (for an update, that version or the
next one, when a later update was in flight at the kill), nothing that was never sent appears,
and SQLite's integrity check of <data-dir>/switchboard.db, opened read-only, says "ok" (with
SWITCHBOARD_TEST_STORE=postgresql the same writes and kills run without that check)."""

import http.client
import json
import os
import random
import sqlite3
import threading
import time
import unittest

from server import PREFIX, STORE, OwnServerTestCase, basic_auth

WRITERS = 4
CYCLES = 8
CONNS = PREFIX + "/admin/connections/"


def version(d):
    return d["creationTag"]["versionNumber"]


class Writer(threading.Thread):
    """Creates and updates its own connections until the server goes away. `acked` holds the
    last 200 answer of each of its names; `pending` the body of the write in flight (at most
    one) whose answer never came."""

    def __init__(self, index, port, auth, acked, rng):
        super().__init__(daemon=True)
        self.index = index
        self.port = port
        self.auth = auth
        self.acked = acked
        self.rng = rng
        self.pending = None  # (name, body) of the write whose answer never came
        self.unexpected = []
        self.writes = 0
        self.stop = threading.Event()

    def new_name(self):
        n = 0
        while "w%d_%04d" % (self.index, n) in self.acked or \
                (self.pending and self.pending[0] == "w%d_%04d" % (self.index, n)):
            n += 1
        return "w%d_%04d" % (self.index, n)

    def run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            while not self.stop.is_set():
                mine = sorted(self.acked)
                if not mine or self.rng.random() < 0.35:
                    name = self.new_name()
                    body = {"name": name, "type": "Filesystem",
                            "params": {"root": "/data/%s/v1" % name},
                            "description": "created by writer %d" % self.index, "seq": 1}
                    method, path = "POST", CONNS
                else:
                    name = self.rng.choice(mine)
                    base = self.acked[name]
                    nxt = version(base) + 1
                    body = dict(base, params={"root": "/data/%s/v%d" % (name, nxt)},
                                description="update %d by writer %d" % (nxt, self.index),
                                seq=nxt)
                    method, path = "PUT", CONNS + name
                self.pending = (name, body)
                try:
                    conn.request(method, path, body=json.dumps(body).encode(),
                                 headers={"Authorization": self.auth})
                    resp = conn.getresponse()
                    raw = resp.read()
                except (OSError, http.client.HTTPException):
                    return  # killed: the write stays pending
                if resp.status != 200:
                    self.unexpected.append((method, name, resp.status, raw[:300]))
                    self.pending = None
                    return
                answer = json.loads(raw)
                if answer.get("seq") != body["seq"] or \
                        answer["params"]["root"] != body["params"]["root"] or \
                        version(answer) != body["seq"]:
                    self.unexpected.append((method, name, "answer differs from the write",
                                            raw[:300]))
                self.acked[name] = answer
                self.pending = None
                self.writes += 1
        finally:
            conn.close()


class CrashSafetyTest(OwnServerTestCase):

    server_options = {"durable_store": True}

    def integrity_check(self):
        """PRAGMA integrity_check of the embedded store, read-only; ["ok"] on another store."""
        if STORE != "sqlite":
            return ["ok"]
        path = os.path.join(self.server.data_dir, "switchboard.db")
        db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
        try:
            return [row[0] for row in db.execute("PRAGMA integrity_check")]
        finally:
            db.close()

    def check_after_restart(self, cycle, writers, acked_by_writer, attempted):
        listed = self.server.api("GET", "/admin/connections/")
        self.assertStatus(listed, 200, "list after restart %d" % cycle)
        # list entries carry "id" and "label" besides the definition a GET answers
        stored = {name: {k: v for k, v in d.items() if k not in ("id", "label")}
                  for name, d in listed.json.items()}
        problems = []
        for w in writers:
            acked = acked_by_writer[w.index]
            pending = dict([w.pending]) if w.pending else {}
            for name in sorted(set(acked) | set(pending)):
                d = stored.get(name)
                a = acked.get(name)
                p = pending.get(name)
                if a is not None:
                    if d is None:
                        problems.append("%s: acknowledged as version %d, lost" % (name, version(a)))
                    elif version(d) == version(a):
                        if d != a:
                            problems.append("%s: version %d differs from its 200 answer: %s"
                                            % (name, version(a), json.dumps(d)[:300]))
                    elif version(d) < version(a):
                        problems.append("%s: version %d acknowledged, %d after restart"
                                        % (name, version(a), version(d)))
                    elif not (p is not None and version(d) == version(a) + 1
                              and d.get("seq") == p["seq"]
                              and d["params"] == p["params"]
                              and d["description"] == p["description"]):
                        problems.append("%s: version %d after restart is not the update in "
                                        "flight at the kill: %s"
                                        % (name, version(d), json.dumps(d)[:300]))
                elif d is not None and not (version(d) == 1 and d.get("seq") == 1
                                            and d["params"] == p["params"]):
                    problems.append("%s: created at the kill, stored differently: %s"
                                    % (name, json.dumps(d)[:300]))
        strays = sorted(set(stored) - attempted)
        if strays:
            problems.append("connections never written appeared: %s" % strays[:10])
        self.assertEqual(problems, [], "after SIGKILL and restart %d" % cycle)
        # the stored state is the baseline of the next cycle
        for w in writers:
            acked = acked_by_writer[w.index]
            for name in list(acked) + ([w.pending[0]] if w.pending else []):
                if name in stored:
                    acked[name] = stored[name]
        self.assertEqual(self.integrity_check(), ["ok"], "integrity_check after restart %d"
                         % cycle)

    def test_acknowledged_writes_survive_sigkill_at_random_moments(self):
        seed = int(os.environ.get("SWITCHBOARD_TEST_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        acked_by_writer = {i: {} for i in range(WRITERS)}
        attempted = set()
        total_writes = 0
        updates_acked = 0
        for cycle in range(1, CYCLES + 1):
            auth = basic_auth(self.server.admin_key)
            writers = [Writer(i, self.server.port, auth, acked_by_writer[i],
                              random.Random(rng.random())) for i in range(WRITERS)]
            for w in writers:
                w.start()
            # mostly in the thick of the writes; sometimes right after the start
            time.sleep(rng.choice([rng.uniform(0.0, 0.1), rng.uniform(0.2, 1.5),
                                   rng.uniform(0.2, 1.5)]))
            self.server.kill()
            for w in writers:
                w.stop.set()
                w.join(15)
                self.assertFalse(w.is_alive(), "writer %d hung after the kill" % w.index)
            for w in writers:
                self.assertEqual(w.unexpected, [], "writer %d, cycle %d (seed %d)"
                                 % (w.index, cycle, seed))
                total_writes += w.writes
                attempted |= set(acked_by_writer[w.index])
                if w.pending:
                    attempted.add(w.pending[0])
            updates_acked = sum(version(d) - 1 for acked in acked_by_writer.values()
                                for d in acked.values())
            self.server.start()
            with self.subTest(cycle=cycle, seed=seed):
                self.check_after_restart(cycle, writers, acked_by_writer, attempted)
        self.assertGreater(total_writes, 20, "too few writes were acknowledged to mean much")
        self.assertGreater(updates_acked, 0, "no update was acknowledged")
        self.server.stop()
        self.assertEqual(self.integrity_check(), ["ok"], "integrity_check after a clean stop")
        self.server.start()  # tearDown stops it again and checks the log


if __name__ == "__main__":
    unittest.main()
