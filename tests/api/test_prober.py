# SPDX-License-Identifier: Apache-2.0
"""Background health checks that scale (issue 18 points 1-3): on-demand tests never wait
behind background work, a target many connections share is tested once per round, failing
connections are backed off and recover, and --probe-budget bounds the background rate.
Loopback peers only: a black hole that accepts and never answers, a small HTTP server."""

import http.server
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import unittest

from server import Server, ServerTestCase, random_key, eventually
from test_probes import BlackHole, HttpPeer, metric_value


class OnDemandFirstTests(ServerTestCase):
    # the scenario, with 1,000 unreachable connections and a budget that lets the
    # background queue fill at once (the worst case for an on-demand test)
    server_options = {"extra_args": ["--probe-interval", "1", "--probe-timeout", "2",
                                     "--probe-concurrency", "4", "--probe-budget", "100000"]}

    def test_on_demand_test_never_waits_behind_a_background_round(self):
        hole = BlackHole()
        self.addCleanup(hole.close)
        tmp = tempfile.mkdtemp(prefix="switchboard-prober-")
        self.addCleanup(shutil.rmtree, tmp, True)
        # distinct users: 1,000 targets, none shared
        conns = [{"name": "dead_%04d" % i, "type": "PostgreSQL",
                  "params": {"host": "127.0.0.1", "port": str(hole.port), "user": "u%d" % i,
                             "db": "d"}} for i in range(1000)]
        conns.append({"name": "fs_ok", "type": "Filesystem", "params": {"root": tmp}})
        r = self.server.api("POST", "/admin/connections/actions/import",
                            {"connections": conns, "onConflict": "fail"})
        self.assertStatus(r, 200)
        self.assertEqual(len(r.json["created"]), 1001, self.describe(r))
        # wait until the background round has its workers busy on the black hole
        eventually(lambda: len(hole.accept_times()) >= 3)
        self.assertGreaterEqual(len(hole.accept_times()), 3, "the background round never ran")
        worst = 0
        for _ in range(4):
            t0 = time.monotonic()
            r = self.server.api("GET", "/connections/fs_ok/test")
            worst = max(worst, time.monotonic() - t0)
            self.assertStatus(r, 200)
            self.assertIs(r.json["connectionOK"], True, self.describe(r))
            time.sleep(0.5)
        self.assertLess(worst, 2 + 1, "an on-demand test waited %.1f s behind background work"
                        % worst)


class SharedTargetTests(ServerTestCase):
    server_options = {"extra_args": ["--probe-interval", "1", "--probe-timeout", "2"]}

    def test_shared_target_is_tested_once_per_round(self):
        peer = HttpPeer()
        self.addCleanup(peer.close)
        names = ["shared_%d" % i for i in range(5)]
        for n in names:
            self.server.create_connection(n, type="HTTP", params={"url": peer.url("/"),
                                                                  "user": "same"})
        def statuses():
            status = self.server.api("GET", "/admin/connection-status").json
            return status if all(n in status for n in names) else None

        status = eventually(statuses, timeout=8, interval=0.1)
        if not status:
            self.fail("not every shared connection got a status")
        self.assertTrue(all(status[n]["connectionOK"] for n in names))
        shared = [n for n in names if "shared with" in status[n]["message"]]
        self.assertEqual(len(shared), 4, self.server.redact(status))
        # one request per round for the five of them: let three rounds go by
        before = len(peer.requests)
        time.sleep(3.2)
        rounds = len(peer.requests) - before
        self.assertGreaterEqual(rounds, 1)
        self.assertLessEqual(rounds, 5, "the shared target got %d tests in 3 s" % rounds)


class BackoffTests(ServerTestCase):
    server_options = {"extra_args": ["--probe-interval", "1", "--probe-timeout", "2",
                                     "--probe-backoff-max", "4"]}

    def test_failing_target_is_backed_off_and_recovers(self):
        peer = HttpPeer()
        self.addCleanup(peer.close)
        self.server.create_connection("flaky", type="HTTP",
                                      params={"url": peer.url("/missing")})
        time.sleep(9)
        fails = sum(1 for _, p in peer.requests if p == "/missing")
        # without backoff ~9 tests; with 2, 4, 4 s between them: about 4
        self.assertGreaterEqual(fails, 2)
        self.assertLessEqual(fails, 5, "a failing target was tested %d times in 9 s" % fails)
        d = self.server.api("GET", "/admin/connections/flaky").json
        d["params"]["url"] = peer.url("/")
        self.assertStatus(self.server.api("PUT", "/admin/connections/flaky", d), 200)
        self.assertTrue(eventually(lambda: any(p == "/" for _, p in peer.requests), timeout=6),
                        "the fixed target was never tested")
        first = len([1 for _, p in peer.requests if p == "/"])
        time.sleep(4.2)
        oks = len([1 for _, p in peer.requests if p == "/"]) - first
        self.assertGreaterEqual(oks, 3, "after a success the interval is 1 s again (%d tests "
                                "in 4 s)" % oks)


class BudgetTests(ServerTestCase):
    server_options = {"extra_args": ["--probe-interval", "1", "--probe-budget", "5"]}

    def test_budget_bounds_background_tests_per_second(self):
        tmp = tempfile.mkdtemp(prefix="switchboard-budget-")
        self.addCleanup(shutil.rmtree, tmp, True)
        conns = []
        for i in range(40):
            d = os.path.join(tmp, "d%d" % i)
            os.mkdir(d)
            conns.append({"name": "budget_%d" % i, "type": "Filesystem", "params": {"root": d}})
        self.assertStatus(self.server.api("POST", "/admin/connections/actions/import",
                                          {"connections": conns}), 200)

        def count():
            text = self.server.request("GET", "/metrics", key=None).raw.decode()
            return metric_value(text, "Filesystem", "ok")

        time.sleep(1)
        c0, t0 = count(), time.monotonic()
        time.sleep(4)
        n, elapsed = count() - c0, time.monotonic() - t0
        self.assertGreaterEqual(n, 5, "the prober did not run")
        self.assertLessEqual(n, 5 * elapsed + 3, "%d background tests in %.1f s with a budget "
                             "of 5/s" % (n, elapsed))


class HistoryTests(unittest.TestCase):
    """Issue 18 point 4: recent results per connection, kept across a restart; the status
    table's success ratio and time since the last change of state; per-type gauges."""

    def setUp(self):
        self.server = Server(extra_args=["--probe-timeout", "2"])
        self.addCleanup(self.server.cleanup)
        self.server.start()
        self.tmp = tempfile.mkdtemp(prefix="switchboard-history-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def tearDown(self):
        self.server.stop()
        self.server.assert_log_clean()

    def probe_once(self, name):
        r = self.server.api("GET", "/connections/%s/test" % name)
        self.assertEqual(r.status, 200)
        return r.json

    def test_history_ratio_state_change_and_restart(self):
        s = self.server
        root = os.path.join(self.tmp, "d")
        os.mkdir(root)
        s.create_connection("hist_fs", type="Filesystem", params={"root": root})
        self.probe_once("hist_fs")
        self.probe_once("hist_fs")
        time.sleep(0.05)
        os.rmdir(root)
        before_fail = int(time.time() * 1000)
        self.probe_once("hist_fs")
        status = s.api("GET", "/admin/connection-status").json["hist_fs"]
        self.assertIs(status["connectionOK"], False)
        self.assertAlmostEqual(status["successRatio"], 2 / 3, places=3)
        self.assertGreaterEqual(status["stateChangedOn"], before_fail - 1000)
        self.assertGreaterEqual(status["stateSinceMs"], 0)
        self.assertLess(status["stateSinceMs"], 60000)
        r = s.api("GET", "/admin/connection-status/hist_fs/history")
        self.assertEqual(r.status, 200)
        results = r.json["results"]
        self.assertEqual(r.json["name"], "hist_fs")
        self.assertEqual([x["connectionOK"] for x in results], [True, True, False])
        self.assertEqual([x["category"] for x in results],
                         ["succeeded", "succeeded", "directory not accessible"])
        for x in results:
            self.assertEqual(set(x), {"testedOn", "connectionOK", "category", "durationMs"})
        self.assertLessEqual(results[0]["testedOn"], results[2]["testedOn"])
        # a restart keeps them
        s.stop()
        s.start()
        r = s.api("GET", "/admin/connection-status/hist_fs/history")
        self.assertEqual([x["connectionOK"] for x in r.json["results"]], [True, True, False])
        self.assertIn("hist_fs", s.api("GET", "/admin/connection-status").json)
        # the ring is bounded
        for _ in range(25):
            self.probe_once("hist_fs")
        self.assertEqual(len(s.api("GET", "/admin/connection-status/hist_fs/history")
                             .json["results"]), 20)

    def test_history_errors_and_permissions(self):
        s = self.server
        r = s.api("GET", "/admin/connection-status/no_such/history")
        self.assertEqual(r.status, 404)
        self.assertIn("no_such", r.json["detailedMessage"])
        s.create_connection("hist_never", type="Filesystem", params={"root": self.tmp})
        r = s.api("GET", "/admin/connection-status/hist_never/history")
        self.assertEqual((r.status, r.json["results"]), (200, []))
        key = s.create_key(groups=[])["key"]
        self.assertEqual(s.api("GET", "/admin/connection-status/hist_never/history",
                               key=key).status, 403)
        self.assertEqual(s.api("GET", "/admin/connection-status/hist_never/history",
                               key=None).status, 401)
        self.assertEqual(s.api("GET", "/admin/connection-status/bad%20name/history").status, 400)

    def test_per_type_gauges_without_names(self):
        s = self.server
        s.create_connection("gauge_ok", type="Filesystem", params={"root": self.tmp})
        s.create_connection("gauge_bad", type="Filesystem",
                            params={"root": os.path.join(self.tmp, "missing")})
        self.probe_once("gauge_ok")
        self.probe_once("gauge_bad")
        text = s.request("GET", "/metrics", key=None).raw.decode()
        self.assertIn('switchboard_connections_up{type="Filesystem"} 1\n', text)
        self.assertIn('switchboard_connections_down{type="Filesystem"} 1\n', text)
        self.assertIn('switchboard_connections_up{type="PostgreSQL"} 0\n', text)
        self.assertNotIn("gauge_ok", text)


class NamedGaugeTests(ServerTestCase):
    server_options = {"extra_args": ["--metrics-connection-names=on"]}

    def test_names_only_when_enabled(self):
        tmp = tempfile.mkdtemp(prefix="switchboard-gauge-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.server.create_connection("named_ok", type="Filesystem", params={"root": tmp})
        self.server.api("GET", "/connections/named_ok/test")
        text = self.server.request("GET", "/metrics", key=None).raw.decode()
        self.assertIn('switchboard_connection_up{name="named_ok",type="Filesystem"} 1\n', text)


from test_pg_store import NodesTestCase, needs_pg  # noqa: E402  (after the classes above)

LEASE_TAKEN = "this node runs the background tests"


@needs_pg
class ProberLeaseTest(NodesTestCase):
    """Issue 18 point 5: with a shared store one node at a time runs the background prober
    (a lease in the store), every node serves the same status, and killing the node that
    probes moves probing to the other within a lease period (5 s with --probe-interval 1)."""

    node_args = ("--probe-interval", "1", "--probe-timeout", "2")

    def holders(self):
        return [s for s in self.servers if s.running() and LEASE_TAKEN in s.log_text()]

    def status_on(self, node, name):
        r = node.api("GET", "/admin/connection-status")
        return r.json.get(name) if r.status == 200 else None

    def test_one_node_probes_and_the_other_takes_over(self):
        peer = HttpPeer()
        self.addCleanup(peer.close)
        self.a.create_connection("lease_http", type="HTTP", params={"url": peer.url("/")})
        eventually(self.holders, timeout=10, interval=0.1)
        holders = self.holders()
        self.assertEqual(len(holders), 1, "nodes running the prober: %d" % len(holders))
        holder = holders[0]
        other = self.b if holder is self.a else self.a
        # both nodes serve the background result
        self.assertTrue(eventually(lambda: self.status_on(other, "lease_http")
                                   and self.status_on(holder, "lease_http"), timeout=10,
                                   interval=0.1), "the status never reached both nodes")
        # for a few rounds, still one prober (a window watched for what must not happen)
        time.sleep(3)
        self.assertEqual(self.holders(), [holder])
        self.assertNotIn(LEASE_TAKEN, other.log_text())
        # the holder dies: the other takes over within a lease period
        holder.kill()
        self.assertTrue(eventually(lambda: LEASE_TAKEN in other.log_text(), timeout=5 + 3,
                                   interval=0.1), "no node took the prober over")
        first = self.status_on(other, "lease_http")["testedOn"]
        self.assertTrue(eventually(lambda: self.status_on(other, "lease_http")["testedOn"] > first,
                                   timeout=5, interval=0.1), "the new prober does not test")


if __name__ == "__main__":
    unittest.main()
