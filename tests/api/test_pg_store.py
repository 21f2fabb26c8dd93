# SPDX-License-Identifier: Apache-2.0
"""Several nodes on one PostgreSQL store (issue 9, src/store/store_pg.c).

What one node writes, the others serve as soon as PostgreSQL has announced it (NOTIFY); a write
based on a version another node has replaced is refused with 409, however the two race; nodes
that start together on an empty database agree on one schema and one bootstrap key; losing
PostgreSQL answers 503 (never a crash, never the store's password) and heals by itself when it is
back; `admin rotate-key` re-encrypts for every node.

Needs the PostgreSQL of tests/peers.sh (SWITCHBOARD_PEERS_ENV, as test_probes.py), whose role
may create databases: each test class gets a fresh database of its own, shared by its nodes
(and the master key file, and the admin key), and dropped at the end. Skipped without it. The
outage test stops and restarts that PostgreSQL.
"""

import glob
import http.client
import json
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from server import PREFIX, ApiTestCase, Server, basic_auth, peers_env, pg_admin, random_key
from server import eventually as server_eventually

PEERS = peers_env()
needs_pg = unittest.skipUnless(PEERS.get("PG_PORT"),
                               "no PostgreSQL peer (tests/run.sh starts one with tests/peers.sh "
                               "and sets SWITCHBOARD_PEERS_ENV)")

PROPAGATION_TIMEOUT = 10.0  # a change on one node reaches the others well within this
RECOVERY_TIMEOUT = 30.0     # after PostgreSQL is back, writes succeed again within this


def new_key_file():
    """A directory (caller removes it) holding a new master key file; returns (dir, path)."""
    keydir = tempfile.mkdtemp(prefix="switchboard-pgkey-")
    path = os.path.join(keydir, "secret.key")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(os.urandom(32))
    return keydir, path


def new_database():
    """A fresh empty database; returns (name, URL)."""
    name = "sbpg_" + random_key(12).lower()
    pg_admin("CREATE DATABASE %s" % name)
    url = "postgresql://%s:%s@%s:%s/%s" % (PEERS["PG_USER"], PEERS["PG_PASSWORD"],
                                           PEERS["PG_HOST"], PEERS["PG_PORT"], name)
    return name, url


def drop_database(name):
    pg_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def pg_query(database, sql):
    """One value of SQL on DATABASE as the test role (psql -At)."""
    env = dict(os.environ, PGPASSWORD=PEERS["PG_PASSWORD"])
    out = subprocess.run(["psql", "-X", "-q", "-At", "-h", PEERS["PG_HOST"], "-p",
                          PEERS["PG_PORT"], "-U", PEERS["PG_USER"], "-d", database, "-v",
                          "ON_ERROR_STOP=1", "-c", sql],
                         check=True, env=env, capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


def make_node(url, key_file, admin_key, extra_args=()):
    """A server on the shared store URL with the shared master key file and admin key."""
    s = Server(admin_key=admin_key, extra_args=["--secret-key-file", key_file] + list(extra_args))
    if s.pg_database:
        # SWITCHBOARD_TEST_STORE=postgresql gave it a database of its own: it shares ours
        drop_database(s.pg_database)
        s.pg_database = None
        i = s.args.index("--store")
        del s.args[i:i + 2]
    s.args += ["--store", url]
    s.remember_secret(PEERS["PG_PASSWORD"])
    return s


def fresh_request(server, method, path, body=None, key=None):
    """One request on a connection of its own (for requests made in parallel): (status, json)."""
    conn = server.new_http_connection()
    try:
        hdrs = {"Authorization": basic_auth(key or server.admin_key)}
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, PREFIX + path, body=data, headers=hdrs)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw) if raw else None
        except ValueError:
            return resp.status, None
    finally:
        conn.close()


def eventually(check, timeout=PROPAGATION_TIMEOUT, interval=0.05):
    """server.eventually, with the time a change takes to reach the other nodes."""
    return server_eventually(check, timeout, interval)


class PeerPostgres:
    """Stops and starts the PostgreSQL of tests/peers.sh with the options it was started with."""

    def __init__(self):
        self.dir = os.path.dirname(os.path.abspath(os.environ["SWITCHBOARD_PEERS_ENV"]))
        self.data = os.path.join(self.dir, "pg", "data")
        self.log = os.path.join(self.dir, "postgresql.log")
        bindirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
                   if os.access(os.path.join(d, "pg_ctl"), os.X_OK)]
        bindirs.sort(key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
        self.pg_ctl = os.path.join(bindirs[-1], "pg_ctl")
        self.options = None

    def _pg_ctl(self, *args):
        cmd = [self.pg_ctl] + list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)

    def stop(self):
        with open(os.path.join(self.data, "postmaster.opts")) as f:
            argv = shlex.split(f.read())
        # the server binary, then its options; pg_ctl passes -D itself
        opts = argv[1:]
        if "-D" in opts:
            i = opts.index("-D")
            del opts[i:i + 2]
        self.options = " ".join(shlex.quote(o) for o in opts)
        self._pg_ctl("-D", self.data, "-m", "fast", "-w", "-t", "30", "stop")

    def start(self):
        self._pg_ctl("-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", self.options,
                     "start")


class NodesTestCase(ApiTestCase):
    """Two nodes, A and B, on one fresh database for the class."""

    nodes = 2
    node_args = ()

    @classmethod
    def setUpClass(cls):
        cls.database, cls.url = new_database()
        cls.addClassCleanup(drop_database, cls.database)
        cls.admin_key = random_key()
        cls.keydir, cls.key_file = new_key_file()
        cls.addClassCleanup(shutil.rmtree, cls.keydir, True)
        cls.servers = []
        for _ in range(cls.nodes):
            s = make_node(cls.url, cls.key_file, cls.admin_key, cls.node_args)
            cls.addClassCleanup(s.cleanup)
            cls.servers.append(s)
        for s in cls.servers:
            s.start()
        cls.a, cls.b = cls.servers[0], cls.servers[1]
        cls.server = cls.a  # for the assertion helpers' redaction

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers:
            s.stop()
        for s in cls.servers:
            s.assert_log_clean()


@needs_pg
class TwoNodesTest(NodesTestCase):
    # version checks across nodes are the strict rules of --write-guards (docs/API.md §4.7)
    node_args = ("--write-guards",)

    def get_on(self, node, name):
        return node.api("GET", "/admin/connections/" + name)

    def wait_for(self, node, name, status, version=None):
        def check():
            r = self.get_on(node, name)
            if r.status != status:
                return None
            if version is not None and r.json["creationTag"]["versionNumber"] != version:
                return None
            return r
        r = eventually(check)
        if not r:
            r = self.get_on(node, name)
            self.fail("connection %r on the other node: expected HTTP %d%s, still %s"
                      % (name, status, "" if version is None else " at version %d" % version,
                         self.describe(r)))
        return r

    def changed(self, node, name, version, **fields):
        """The definition of NAME as NODE serves it, with FIELDS and based on VERSION."""
        d = self.get_on(node, name).json
        d.update(fields)
        d["creationTag"]["versionNumber"] = version
        return d

    def test_connection_created_on_one_node_is_served_by_the_other(self):
        created = self.a.create_connection("pg_prop_create", description="from A")
        r = self.wait_for(self.b, "pg_prop_create", 200)
        self.assertSameJson(r.json, created, "the definition B serves")
        listed = self.b.api("GET", "/admin/connections/")
        self.assertStatus(listed, 200)
        self.assertIn("pg_prop_create", listed.json)

    def test_write_on_one_node_is_visible_on_the_other_within_100_ms(self):
        latencies = []
        for i in range(20):
            name = "pg_vis_%02d" % i
            self.a.create_connection(name)
            start = time.monotonic()
            while self.get_on(self.b, name).status != 200:
                if time.monotonic() - start > 5:
                    self.fail("%s not visible on the other node after 5 s" % name)
                time.sleep(0.002)
            latencies.append(time.monotonic() - start)
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        summary = "visibility A->B over %d writes: median %.1f ms, p95 %.1f ms, max %.1f ms" % (
            len(latencies), latencies[len(latencies) // 2] * 1000, p95 * 1000,
            latencies[-1] * 1000)
        with open(os.path.join(tempfile.gettempdir(), "switchboard-visibility.txt"), "a") as f:
            f.write(summary + "\n")
        self.assertLess(p95, 0.1, summary)

    def test_definition_round_trips_byte_for_byte(self):
        desc = "caf\u00e9 \u2603 \U0001F600 tab\t quote\" backslash\\ end"
        self.a.create_connection("pg_bytes", description=desc, params={
            "root": "/tmp/\u00e9t\u00e9", "nested": {"list": [1, 2.5, None, True, "x"]}})
        on_b = self.wait_for(self.b, "pg_bytes", 200)
        on_a = self.get_on(self.a, "pg_bytes")
        self.assertEqual(on_b.raw, on_a.raw, "B serves other bytes than A")
        self.assertEqual(on_b.json["description"], desc)
        # and after a restart of B, from the store rather than from the notification
        self.b.restart()
        self.assertEqual(self.get_on(self.b, "pg_bytes").raw, on_a.raw)

    def test_a_create_the_store_refuses_leaves_no_trace_and_is_never_announced(self):
        """The insert travels with the write's COMMIT (one round trip): when the store refuses
        it (a name the nodes never heard of, written behind their back), the COMMIT behind it
        commits nothing: no history row, no audit record of a success, nothing published on
        the node or announced to the other; the answer is the 409 of a taken name."""
        name = "pg_behind_back"
        pg_query(self.database, "INSERT INTO connections (name, type, version, definition)"
                                " VALUES ('%s', 'Filesystem', 1, '{}')" % name)
        # (gone again behind the nodes' backs: a node that restarts later loads nothing of it)
        self.addCleanup(pg_query, self.database,
                        "DELETE FROM connections WHERE name = '%s' RETURNING name" % name)
        r = self.a.api("POST", "/admin/connections/",
                       {"name": name, "type": "Filesystem", "params": {"root": "/tmp/x"}})
        self.assertError(r, 409, "Conflict")
        self.assertEqual(r.json["detailedMessage"], "Connection '%s' already exists." % name)
        self.assertEqual(pg_query(self.database, "SELECT count(*) FROM conn_history"
                                                 " WHERE name = '%s'" % name), "0")
        outcomes = pg_query(self.database,
                            "SELECT string_agg(record::jsonb ->> 'outcome', ',' ORDER BY seq)"
                            " FROM audit WHERE record::jsonb ->> 'object' = '%s'" % name)
        self.assertEqual(outcomes, "failed", "the audit records of the refused create")
        self.assertStatus(self.get_on(self.a, name), 404)
        # announcements arrive in order: once B serves a later create of A, it would have heard
        self.a.create_connection("pg_behind_back_after")
        self.wait_for(self.b, "pg_behind_back_after", 200)
        self.assertStatus(self.get_on(self.b, name), 404)

    def test_update_and_delete_reach_the_other_node(self):
        self.a.create_connection("pg_prop_upd")
        self.wait_for(self.b, "pg_prop_upd", 200)
        r = self.b.api("PUT", "/admin/connections/pg_prop_upd",
                       self.changed(self.b, "pg_prop_upd", 1, description="changed on B"))
        self.assertStatus(r, 200)
        on_a = self.wait_for(self.a, "pg_prop_upd", 200, version=2)
        self.assertEqual(on_a.json["description"], "changed on B")
        self.assertStatus(self.a.api("DELETE", "/admin/connections/pg_prop_upd"), 200)
        self.wait_for(self.b, "pg_prop_upd", 404)

    def test_other_nodes_changes_to_a_name_this_node_wrote_are_read_back(self):
        """A node does not read back its own announcements (its writer has published them),
        but every change another node makes is applied, to names it wrote itself included."""
        name = "pg_own_then_other"
        self.a.create_connection(name, description="v1 from A")
        self.wait_for(self.b, name, 200, version=1)
        self.assertStatus(self.b.api("PUT", "/admin/connections/" + name,
                                     self.changed(self.b, name, 1, description="v2 from B")), 200)
        self.assertEqual(self.wait_for(self.a, name, 200, version=2).json["description"],
                         "v2 from B")
        self.assertStatus(self.a.api("PUT", "/admin/connections/" + name,
                                     self.changed(self.a, name, 2, description="v3 from A")), 200)
        self.assertEqual(self.wait_for(self.b, name, 200, version=3).json["description"],
                         "v3 from A")
        self.assertStatus(self.b.api("DELETE", "/admin/connections/" + name), 200)
        self.wait_for(self.a, name, 404)
        self.b.create_connection(name, description="re-created on B")
        on_a = self.wait_for(self.a, name, 200, version=5)
        self.assertEqual(on_a.raw, self.get_on(self.b, name).raw, "A serves other bytes than B")
        # and a name only B ever wrote
        self.b.create_connection("pg_only_b", description="from B")
        self.assertEqual(self.wait_for(self.a, "pg_only_b", 200).json["description"], "from B")

    def test_own_writes_under_concurrency_match_the_store(self):
        """Eight writers on A: each create, update and delete is served by A at once (its writer
        publishes it), and A's catalog ends as the store holds it (what B loads on restart)."""
        names = ["pg_own_load_%d" % i for i in range(8)]
        failures = []
        barrier = threading.Barrier(len(names))

        def writer(i, name):
            barrier.wait()
            status, made = fresh_request(self.a, "POST", "/admin/connections/", {
                "name": name, "type": "Filesystem", "params": {"root": "/tmp/x"}})
            if status != 200:
                failures.append((name, "create", status))
                return
            for version in (1, 2):
                made["description"] = "update %d" % version
                status, made = fresh_request(self.a, "PUT", "/admin/connections/" + name, made)
                if status != 200 or made["creationTag"]["versionNumber"] != version + 1:
                    failures.append((name, "update", status))
                    return
            if i % 2:
                status, _ = fresh_request(self.a, "DELETE", "/admin/connections/" + name)
                if status != 200:
                    failures.append((name, "delete", status))

        threads = [threading.Thread(target=writer, args=(i, n)) for i, n in enumerate(names)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        for i, name in enumerate(names):  # at once, on the node that wrote them
            r = self.get_on(self.a, name)
            if i % 2:
                self.assertStatus(r, 404)
            else:
                self.assertStatus(r, 200)
                self.assertEqual(r.json["creationTag"]["versionNumber"], 3)
        self.b.restart()  # B now holds exactly what the store holds

        def same():
            return all(self.get_on(self.a, n).raw == self.get_on(self.b, n).raw for n in names)
        self.assertTrue(eventually(same), "A's catalog differs from the store")
        # (A's own announcements settle within a fraction of a second: still the same after)
        time.sleep(0.5)
        self.assertTrue(same(), "A's catalog moved away from the store")

    def test_a_burst_of_changes_on_one_node_is_all_seen_by_the_other(self):
        """Eight writers on A make 80 creates, updates and deletes as fast as A answers (A's
        announcer sends them in batches): B serves every change, from the announcements alone
        (its change feed never had to reload everything), and every version B serves comes from
        the store."""
        writers, per_writer = 8, 10
        names = [["pg_burst_%d_%d" % (w, i) for i in range(per_writer)] for w in range(writers)]
        failures = []
        barrier = threading.Barrier(writers)

        def writer(mine):
            barrier.wait()
            for i, name in enumerate(mine):
                status, made = fresh_request(self.a, "POST", "/admin/connections/", {
                    "name": name, "type": "Filesystem", "params": {"root": "/tmp/x"}})
                if status != 200:
                    failures.append((name, "create", status))
                    continue
                if i % 3 == 1:
                    made["description"] = "updated in the burst"
                    status, _ = fresh_request(self.a, "PUT", "/admin/connections/" + name, made)
                elif i % 3 == 2:
                    status, _ = fresh_request(self.a, "DELETE", "/admin/connections/" + name)
                if status != 200:
                    failures.append((name, "update or delete", status))

        reloads_before = self.b.log_text().count("reloaded every connection")
        threads = [threading.Thread(target=writer, args=(mine,)) for mine in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        expected = {}
        for mine in names:
            for i, name in enumerate(mine):
                expected[name] = {0: (200, 1), 1: (200, 2), 2: (404, None)}[i % 3]

        def seen(name):
            status, version = expected[name]
            r = self.get_on(self.b, name)
            return r.status == status and (
                version is None or r.json["creationTag"]["versionNumber"] == version)
        self.assertTrue(eventually(lambda: all(seen(n) for n in expected)),
                        "B does not serve: %s" % sorted(n for n in expected if not seen(n)))
        for name, (status, version) in expected.items():
            if status == 200:
                self.assertEqual(self.get_on(self.b, name).raw, self.get_on(self.a, name).raw,
                                 "B serves other bytes than A for %s" % name)
        self.assertEqual(self.b.log_text().count("reloaded every connection"), reloads_before,
                         "B's change feed reloaded everything: announcements were missed")

    def test_stale_update_on_the_other_node_is_conflict(self):
        self.a.create_connection("pg_stale")
        self.wait_for(self.b, "pg_stale", 200)
        read_on_b = self.changed(self.b, "pg_stale", 1, description="B later")
        r = self.a.api("PUT", "/admin/connections/pg_stale",
                       self.changed(self.a, "pg_stale", 1, description="A first"))
        self.assertStatus(r, 200)
        # B's client read version 1: its update is based on a version A has replaced
        r = self.b.api("PUT", "/admin/connections/pg_stale", read_on_b)
        self.assertError(r, 409, "Conflict", mentions="pg_stale")
        self.assertEqual(self.wait_for(self.b, "pg_stale", 200, version=2).json["description"],
                         "A first")

    def test_concurrent_updates_across_nodes_accept_exactly_one(self):
        self.a.create_connection("pg_race_upd")
        self.wait_for(self.b, "pg_race_upd", 200)
        for round_ in range(5):
            base = self.get_on(self.a, "pg_race_upd").json["creationTag"]["versionNumber"]
            bodies = [self.changed(self.a, "pg_race_upd", base, description="writer %d" % i)
                      for i in range(8)]
            results = []
            barrier = threading.Barrier(8)

            def put(node, i):
                barrier.wait()
                results.append(fresh_request(node, "PUT", "/admin/connections/pg_race_upd",
                                             bodies[i])[0])

            threads = [threading.Thread(target=put, args=(self.servers[i % 2], i))
                       for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(sorted(results), [200] + [409] * 7,
                             "round %d: statuses of 8 updates based on version %d"
                             % (round_, base))
            # the next round reads its base on A: wait until the winner, whichever node took
            # it, has reached both catalogs (else the base is stale and all 8 are conflicts)
            for node in (self.a, self.b):
                self.wait_for(node, "pg_race_upd", 200, version=base + 1)
        history = self.b.api("GET", "/admin/connections/pg_race_upd/history")
        self.assertStatus(history, 200)
        versions = [v["versionNumber"] for v in history.json]
        self.assertEqual(versions, list(range(1, 7)), "one version per accepted update")

    def test_concurrent_creates_and_deletes_across_nodes_keep_one_line_of_versions(self):
        name = "pg_race_create"
        statuses = []
        barrier = threading.Barrier(6)

        def churn(node):
            barrier.wait()
            for _ in range(6):
                statuses.append(fresh_request(node, "POST", "/admin/connections/", {
                    "name": name, "type": "Filesystem", "params": {"root": "/tmp/x"}})[0])
                statuses.append(fresh_request(node, "DELETE",
                                              "/admin/connections/" + name)[0])

        threads = [threading.Thread(target=churn, args=(self.servers[i % 2],)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(set(statuses) <= {200, 404, 409},
                        "unexpected statuses: %s" % sorted(set(statuses)))
        rows = pg_query(self.database, "SELECT string_agg(version::text, ',' ORDER BY seq)"
                        " FROM conn_history WHERE name = '%s'" % name)
        versions = [int(v) for v in rows.split(",")] if rows else []
        self.assertEqual(versions, list(range(1, len(versions) + 1)),
                         "history versions are not one line 1, 2, 3...")
        self.assertEqual(statuses.count(200), len(versions),
                         "every accepted create or delete is one version")

    def test_datasets_written_on_one_node_never_name_a_connection_deleted_on_the_other(self):
        """With write guards, a dataset written on A while B deletes its connection: either
        the dataset is refused or the delete is, never both accepted (the connection row is
        held FOR SHARE in the dataset's transaction, and locked by the delete before it
        counts the usages)."""
        self.assertStatus(self.a.api("POST", "/projects", {"projectKey": "PGRACE",
                                                           "name": "PGRACE"}), 200)
        names = ["pg_race_ds_%02d" % i for i in range(16)]
        for n in names:
            self.a.create_connection(n)
        for n in names:
            self.wait_for(self.b, n, 200)
        statuses = {"dataset": [], "delete": []}
        barrier = threading.Barrier(2)

        def write_datasets():
            barrier.wait()
            for n in names:
                for j in range(2):
                    statuses["dataset"].append(fresh_request(
                        self.a, "POST", "/projects/PGRACE/datasets",
                        {"name": "%s_%d" % (n, j), "type": "Filesystem",
                         "params": {"connection": n, "path": "/x"}})[0])

        def delete_connections():
            barrier.wait()
            for n in reversed(names):  # (the two meet in the middle)
                statuses["delete"].append(fresh_request(self.b, "DELETE",
                                                        "/admin/connections/" + n)[0])

        threads = [threading.Thread(target=write_datasets),
                   threading.Thread(target=delete_connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(set(statuses["dataset"]) <= {200, 400}, statuses["dataset"])
        self.assertTrue(set(statuses["delete"]) <= {200, 409}, statuses["delete"])
        listed = self.a.api("GET", "/projects/PGRACE/datasets")
        self.assertStatus(listed, 200)
        dangling = [d["name"] for d in listed.json
                    if self.a.api("GET", "/admin/connections/" +
                                  d["params"]["connection"]).status != 200]
        self.assertEqual(dangling, [], "datasets naming a deleted connection")
        # the race was run: some of each side went through
        self.assertIn(200, statuses["dataset"])

    def test_recreated_name_continues_its_versions_across_nodes(self):
        self.a.create_connection("pg_again")
        self.wait_for(self.b, "pg_again", 200)
        self.assertStatus(self.b.api("DELETE", "/admin/connections/pg_again"), 200)
        self.wait_for(self.a, "pg_again", 404)
        created = self.a.create_connection("pg_again")
        self.assertEqual(created["creationTag"]["versionNumber"], 3)
        self.wait_for(self.b, "pg_again", 200, version=3)

    def test_key_created_on_one_node_works_on_the_other_and_dies_with_its_deletion(self):
        made = self.a.create_key(admin=False, label="cross-node")
        self.assertStatus(self.b.api("GET", "/auth/info", key=made["key"]), 200)
        self.assertStatus(self.a.api("DELETE", "/admin/global-api-keys/" + made["id"]), 200)
        refused = eventually(lambda: self.b.api("GET", "/auth/info", key=made["key"]).status
                             == 401)
        self.assertTrue(refused, "B still accepts a key deleted on A")

    def test_user_deleted_on_one_node_loses_access_on_the_other(self):
        key = self.a.user_with_key("pg_ana")
        self.assertStatus(self.b.api("GET", "/auth/info", key=key), 200)
        self.assertStatus(self.b.api("DELETE", "/admin/users/pg_ana"), 200)
        refused = eventually(lambda: self.a.api("GET", "/auth/info", key=key).status == 401)
        self.assertTrue(refused, "A still accepts the key of a user deleted on B")

    def test_instance_variables_changed_on_one_node_resolve_at_once_on_the_other(self):
        # /info resolves ${...} against the instance variables; a node caches them only for a
        # store of its own, so B's very next /info after A's change must use the new value
        self.a.create_connection("pg_vars", type="PostgreSQL",
                                 params={"host": "${pg_vars_host}", "db": "x"})
        self.wait_for(self.b, "pg_vars", 200)
        for i in range(3):
            host = "h%d.internal" % i
            self.assertStatus(self.a.api("PUT", "/admin/variables/", {"pg_vars_host": host}), 200)
            info = self.b.api("GET", "/connections/pg_vars/info")
            self.assertStatus(info, 200)
            self.assertEqual(info.json["resolvedParams"]["host"], host)

    def test_get_names_on_one_node_follows_changes_made_on_the_other(self):
        # get-names answers are kept per catalog snapshot and set of groups: a connection made
        # on A, and a user's move between groups on A, must both reach B's answers
        self.a.create_group("pg_gn_a")
        self.a.create_group("pg_gn_b")
        key = self.a.user_with_key("pg_gn_user", groups=["pg_gn_a"])

        def names_on_b():
            r = self.b.api("GET", "/connections/get-names?type=Filesystem", key=key)
            return set(r.json) if r.status == 200 else None

        self.a.create_connection("pg_gn_conn_a", type="Filesystem", params={"root": "/tmp"},
                                 usableBy="ALLOWED", allowedGroups=["pg_gn_a"])
        self.assertTrue(eventually(lambda: "pg_gn_conn_a" in (names_on_b() or set())))
        self.a.create_connection("pg_gn_conn_b", type="Filesystem", params={"root": "/tmp"},
                                 usableBy="ALLOWED", allowedGroups=["pg_gn_b"])
        self.wait_for(self.b, "pg_gn_conn_b", 200)
        self.assertNotIn("pg_gn_conn_b", names_on_b())
        user = self.a.api("GET", "/admin/users/pg_gn_user").json
        user["groups"] = ["pg_gn_b"]
        self.assertStatus(self.a.api("PUT", "/admin/users/pg_gn_user", user), 200)
        moved = eventually(lambda: (names_on_b() or set()) & {"pg_gn_conn_a", "pg_gn_conn_b"}
                           == {"pg_gn_conn_b"})
        self.assertTrue(moved, "B still answers get-names for the user's old groups: %s"
                        % names_on_b())

    def test_group_change_on_one_node_reaches_the_other(self):
        self.a.create_group("pg_team")
        key = self.a.user_with_key("pg_bob", groups=["pg_team"])
        self.assertIn("pg_team", self.b.auth_info(key=key).get("groups", []))
        r = self.a.api("GET", "/admin/users/pg_bob")
        user = r.json
        user["groups"] = []
        self.assertStatus(self.a.api("PUT", "/admin/users/pg_bob", user), 200)
        moved = eventually(lambda: "pg_team" not in self.b.auth_info(key=key).get("groups", []))
        self.assertTrue(moved, "B still resolves the user's old groups")


@needs_pg
class StartTogetherTest(ApiTestCase):
    """Three nodes started at the same moment on an empty database."""

    def test_nodes_starting_together_share_one_schema_and_one_bootstrap_key(self):
        database, url = new_database()
        self.addCleanup(drop_database, database)
        keydir, key_file = new_key_file()
        self.addCleanup(shutil.rmtree, keydir, True)
        admin_key = random_key()
        nodes = [make_node(url, key_file, admin_key) for _ in range(3)]
        for n in nodes:
            self.addCleanup(n.cleanup)
        self.server = nodes[0]
        for n in nodes:
            n._spawn()
        for n in nodes:
            n._wait_ready()
        for n in nodes:
            self.assertStatus(n.api("GET", "/auth/info"), 200, "the admin key on a node")
        self.assertEqual(pg_query(database, "SELECT version FROM schema_version"), "1")
        self.assertEqual(pg_query(database, "SELECT count(*) FROM schema_version"), "1")
        self.assertEqual(pg_query(database, "SELECT count(*) FROM api_keys"), "1",
                         "one bootstrap admin key")
        for n in nodes:
            n.stop()
            n.assert_log_clean()


@needs_pg
class OutageTest(NodesTestCase):
    """PostgreSQL goes away under traffic and comes back."""

    def test_killed_sessions_reconnect_without_errors(self):
        self.a.create_connection("pg_kill_before")
        self.wait_for_b("pg_kill_before")
        # (each call returns once its backend is gone, or after 10 s: PostgreSQL 14 and later)
        pg_admin("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                 " WHERE datname = '%s' AND pid <> pg_backend_pid()" % self.database)
        # reads and writes on fresh sessions, at the first try
        self.assertStatus(self.a.api("GET", "/admin/connections/pg_kill_before/history"), 200)
        self.a.create_connection("pg_kill_after")
        self.assertStatus(self.b.api("GET", "/admin/connections/pg_kill_before/history"), 200)
        # and the change feed is back: B learns of A's write
        self.wait_for_b("pg_kill_after")

    def wait_for_b(self, name):
        ok = eventually(lambda: self.b.api("GET", "/admin/connections/" + name).status == 200)
        self.assertTrue(ok, "B does not serve %r" % name)

    def test_postgresql_restart_under_traffic_answers_503_then_recovers(self):
        self.a.create_connection("pg_outage_before")
        self.wait_for_b("pg_outage_before")
        peer = PeerPostgres()
        stop = threading.Event()
        statuses = {}
        lock = threading.Lock()

        def traffic(node, prefix):
            i = 0
            while not stop.is_set():
                i += 1
                for method, path, body in (
                        ("POST", "/admin/connections/", {"name": "%s_%d" % (prefix, i),
                                                         "type": "Filesystem",
                                                         "params": {"root": "/tmp/t"}}),
                        ("GET", "/admin/connections/pg_outage_before", None),
                        ("GET", "/auth/info", None)):
                    try:
                        status, body_ = fresh_request(node, method, path, body)
                    except (OSError, http.client.HTTPException) as e:
                        status, body_ = "error: %s" % type(e).__name__, None
                    with lock:
                        statuses.setdefault(status, 0)
                        statuses[status] += 1
                        if status == 503 and body_ is not None:
                            text = json.dumps(body_)
                            if PEERS["PG_PASSWORD"] in text or self.url in text:
                                statuses["leak"] = statuses.get("leak", 0) + 1
                time.sleep(0.02)

        threads = [threading.Thread(target=traffic, args=(n, "pg_out_%s" % tag))
                   for n, tag in ((self.a, "a"), (self.b, "b"))]
        for t in threads:
            t.start()
        try:
            time.sleep(0.5)
            peer.stop()
            try:
                time.sleep(2.0)
                down = self.a.api("POST", "/admin/connections/", {
                    "name": "pg_during", "type": "Filesystem", "params": {"root": "/tmp/d"}})
                self.assertError(down, 503, "ServiceUnavailable")
                self.assertNotIn(PEERS["PG_PASSWORD"], down.raw.decode("utf-8", "replace"))
                # readiness says so, with a reason; liveness does not
                ready = self.a.request("GET", "/readyz", key=None)
                self.assertEqual(ready.status, 503, self.describe(ready))
                self.assertEqual(ready.json["status"], "unavailable")
                self.assertEqual(ready.json["checks"]["store"], "failed")
                self.assertIn("store", ready.json["reason"])
                self.assertNotIn(PEERS["PG_PASSWORD"], ready.raw.decode("utf-8", "replace"))
                self.assertStatus(self.a.request("GET", "/healthz", key=None), 200)
            finally:
                peer.start()
            # writes succeed again on both nodes, without a restart of either (409: an earlier
            # try committed and its answer was lost with the connection; the create stands)
            for node, name in ((self.a, "pg_after_a"), (self.b, "pg_after_b")):
                ok = eventually(lambda: node.api("POST", "/admin/connections/", {
                    "name": name, "type": "Filesystem", "params": {"root": "/tmp/a"}}).status
                    in (200, 409), timeout=RECOVERY_TIMEOUT, interval=0.2)
                self.assertTrue(ok, "writes on a node do not recover after PostgreSQL is back")
                # and reads too, once the node has caught up with the store (503 meanwhile)
                self.assertTrue(eventually(lambda: node.api("GET", "/admin/connections/" + name)
                                           .status == 200, timeout=RECOVERY_TIMEOUT,
                                           interval=0.2), "%s is not served after the outage" % name)
            time.sleep(1.0)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(set(statuses) - {200, 503}, set(),
                         "answers other than 200 and 503 during the outage: %s" % statuses)
        self.assertIn(503, statuses)
        # the change feeds are back: each node serves what the other wrote after the outage
        self.wait_for_b("pg_after_a")
        for node in (self.a, self.b):
            ok = eventually(lambda: node.request("GET", "/readyz", key=None).status == 200,
                            timeout=RECOVERY_TIMEOUT, interval=0.2)
            self.assertTrue(ok, "a node is not ready again after the outage")
        ok = eventually(lambda: self.a.api("GET", "/admin/connections/pg_after_b").status == 200)
        self.assertTrue(ok, "A does not serve what B wrote after the outage")
        for s in self.servers:
            self.assertTrue(s.running(), "a node died during the outage")
            self.assertNotIn(PEERS["PG_PASSWORD"], s.log_text())


@needs_pg
class RotateKeyTest(NodesTestCase):
    """`admin rotate-key` on a shared store: one run re-encrypts for every node."""

    def test_rotate_key_refuses_while_another_node_is_connected(self):
        password = "pg-rot-busy-" + random_key(24)
        for s in self.servers:
            s.remember_secret(password)
        self.a.create_connection("pg_rot_busy", type="PostgreSQL", params={
            "host": "db.example", "db": "sales", "user": "etl", "password": password})
        ok = eventually(lambda: self.b.api("GET", "/admin/connections/pg_rot_busy").status == 200)
        self.assertTrue(ok)
        sealed = self.a.api("GET", "/admin/connections/pg_rot_busy").json["params"]["password"]
        cli_dir = tempfile.mkdtemp(prefix="switchboard-rotate-")  # (A's is locked by A)
        self.addCleanup(shutil.rmtree, cli_dir, True)
        for running in ((self.a, self.b), (self.b,)):  # both nodes up, then B alone
            if running == (self.b,):
                self.a.stop()
            proc = self.a.run_cli("admin", "rotate-key", "--data-dir", cli_dir,
                                  "--secret-key-file", self.key_file, "--store", self.url)
            out = self.a.redact(proc.stdout + proc.stderr)
            self.assertNotEqual(proc.returncode, 0, "rotate-key ran beside a node: %s" % out)
            self.assertIn("connected to this store", out)
            self.assertNotIn(password, proc.stdout + proc.stderr)
            for s in running:  # nothing changed: the nodes still serve and open the secret
                info = s.api("GET", "/connections/pg_rot_busy/info")
                self.assertStatus(info, 200)
                self.assertEqual(info.json["resolvedParams"]["password"], password)
        self.a.start()
        self.assertEqual(
            self.a.api("GET", "/admin/connections/pg_rot_busy").json["params"]["password"],
            sealed, "a refused rotation re-sealed the secret")

    def test_rotate_key_reseals_for_every_node(self):
        password = "pg-rot-" + random_key(24)
        for s in self.servers:
            s.remember_secret(password)
        self.a.create_connection("pg_rot", type="PostgreSQL", params={
            "host": "db.example", "db": "sales", "user": "etl", "password": password})
        ok = eventually(lambda: self.b.api("GET", "/admin/connections/pg_rot").status == 200)
        self.assertTrue(ok)
        sealed_before = self.a.api("GET", "/admin/connections/pg_rot").json["params"]["password"]
        for s in self.servers:
            s.stop()
        proc = self.a.run_cli("admin", "rotate-key", "--data-dir", self.a.data_dir,
                              "--secret-key-file", self.key_file, "--store", self.url)
        self.assertEqual(proc.returncode, 0, "rotate-key failed: %s"
                         % self.a.redact(proc.stdout + proc.stderr))
        self.assertNotIn(password, proc.stdout + proc.stderr)
        for s in self.servers:
            s.start()
        sealed_after = self.b.api("GET", "/admin/connections/pg_rot").json["params"]["password"]
        self.assertNotEqual(sealed_before, sealed_after, "the stored secret was not re-sealed")
        for s in self.servers:
            info = s.api("GET", "/connections/pg_rot/info")
            self.assertStatus(info, 200)
            self.assertTrue(info.json["resolvedParams"]["password"] == password,
                            "the password does not resolve on a node after the rotation")
        history = self.b.api("GET", "/admin/connections/pg_rot/history")
        self.assertStatus(history, 200)


if __name__ == "__main__":
    unittest.main()
