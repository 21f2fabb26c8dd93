#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Counts per PostgreSQL create (or update) that do not depend on the machine's load, for one build.

  bench/pg_counts.py BINARY POSTGRESQL_URL [CREATES [CLIENTS [update]]]

Creates a fresh database next to the one POSTGRESQL_URL names (its user must be allowed to),
starts `BINARY serve` on it, then makes CREATES (default 20) connection creates twice, one
after the other on one keep-alive connection (or on CLIENTS at once): once alone, once under
`strace -f -yy` (sends only); prints per create:

  - round trips on the request's path: the sends to PostgreSQL of the threads that answer
    HTTP (libpq sends a pipeline, or a statement, in one sendto);
  - sends to PostgreSQL of the server's other threads (the announcer, the listener);
  - PostgreSQL commits of the database (pg_stat_database.xact_commit, read 11 s before and
    after the creates made alone: an idle session reports its statistics within 10 s);
  - the CPU time during those of the server and of the whole PostgreSQL server (its postmaster
    and children: give it a PostgreSQL of its own; /proc/PID/task/*/schedstat).

With "update", the same of updates (PUT of a connection created before, its description
changed) instead of creates.

Needs strace and psql on PATH; the URL's user must be able to read pg_stat_database.
"""

import collections
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (bench.py: start, connect)

SEND = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(sendto|sendmsg|writev|write)\((\d+)<TCP(?:v6)?:\[([^\]]*)\]>")


def psql(url, sql):
    subprocess.run(["psql", "-X", "-q", "-d", url, "-c", sql], check=True, timeout=60,
                   stdout=subprocess.DEVNULL)


def xact_commit(url):
    out = subprocess.run(["psql", "-X", "-At", "-d", url, "-c",
                          "SELECT xact_commit FROM pg_stat_database"
                          " WHERE datname = current_database()"],
                         check=True, capture_output=True, text=True, timeout=30)
    return int(out.stdout.strip())


def cpu_ns(pids):
    """{pid: CPU time of the process, all its threads, in ns} (/proc/PID/task/TID/schedstat)."""
    times = {}
    for pid in pids:
        try:
            total = 0
            for tid in os.listdir("/proc/%d/task" % pid):
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
            times[pid] = total
        except OSError:
            pass  # gone meanwhile
    return times


def ppid(pid):
    with open("/proc/%d/stat" % pid) as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def postmaster(url):
    """The PID of URL's PostgreSQL server (the parent of a session of the server under test)."""
    out = subprocess.run(["psql", "-X", "-At", "-d", url, "-c",
                          "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                          " AND pid <> pg_backend_pid() LIMIT 1"],
                         check=True, capture_output=True, text=True, timeout=30)
    return ppid(int(out.stdout.split()[0]))


def cluster_cpu_ns(master):
    """CPU times of MASTER and of its children (the whole PostgreSQL server)."""
    pids = [master]
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if ppid(int(name)) == master:
                    pids.append(int(name))
            except OSError:
                pass
    return cpu_ns(pids)


def cpu_delta(before, after):
    """CPU spent between two cluster_cpu_ns readings by the processes alive at the second
    (those started meanwhile counted whole)."""
    return sum(t - before.get(pid, 0) for pid, t in after.items())


def creates(port, first, count, clients, update=False):
    """COUNT creates named pgc_FIRST... on CLIENTS keep-alive connections (UPDATE: updates of
    those, which exist)."""
    def worker(names):
        conn = bench.connect(port)
        for name in names:
            body = bench.pg_definition(0)
            body["name"] = name
            if update:
                body["description"] = "updated"
                bench.must(conn, "PUT", "/admin/connections/" + name, body)
            else:
                bench.must(conn, "POST", "/admin/connections/", body)
        conn.close()

    names = ["pgc_%06d" % (first + i) for i in range(count)]
    threads = [threading.Thread(target=worker, args=(names[c::clients],))
               for c in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def main():
    if len(sys.argv) not in (3, 4, 5, 6):
        sys.exit(__doc__)
    binary, url = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    clients = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    update = len(sys.argv) > 5 and sys.argv[5] == "update"
    admin_url = url
    parts = urlparse(url)
    pg_port = str(parts.port or 5432)
    db = "pgcounts_%d" % os.getpid()
    psql(admin_url, "CREATE DATABASE " + db)
    url = parts._replace(path="/" + db).geturl()
    work = tempfile.mkdtemp(prefix="switchboard-pgcounts-")
    data = os.path.join(work, "data")
    os.mkdir(data, 0o700)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    os.environ.setdefault("SWITCHBOARD_ADMIN_KEY", "pgcounts" + "k" * 40)
    os.environ["BENCH_KEY"] = os.environ["SWITCHBOARD_ADMIN_KEY"]
    os.environ["SWITCHBOARD_STORE"] = url
    pid_file = os.path.join(work, "pid")
    log = os.path.join(work, "server.log")
    pid = strace = None
    try:
        out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "bench.py"),
                              "start", binary, str(port), data, log, pid_file],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("pg_counts: the server did not start: %s%s" % (out.stderr, open(log).read()))
        pid = int(open(pid_file).read())
        creates(port, 900000, 3, 1)  # the sessions are open, the statements prepared
        if update:  # what the updates change
            creates(port, 100000, count, clients)
            creates(port, 200000, count, clients)
        # without strace: commits and CPU
        time.sleep(11.0)  # the sessions' statistics so far reported (see below)
        master = postmaster(url)
        commits0, cpu0, pg0 = xact_commit(url), cpu_ns([pid]), cluster_cpu_ns(master)
        creates(port, 100000, count, clients, update)
        cpu1, pg1 = cpu_ns([pid]), cluster_cpu_ns(master)
        time.sleep(11.0)  # an idle session reports its statistics within 10 s (PostgreSQL 15)
        commits1 = xact_commit(url) - 1  # (the first read's own transaction)
        # under strace: the sends
        trace = os.path.join(work, "strace.txt")
        strace = subprocess.Popen(["strace", "-f", "-yy", "-e",
                                   "trace=sendto,sendmsg,writev,write", "-o", trace, "-p",
                                   str(pid)], stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # attached to every thread
        creates(port, 200000, count, clients, update)
        time.sleep(1.0)  # the announcer's last batch
        strace.send_signal(signal.SIGINT)
        strace.wait(timeout=30)
        strace = None
        http_tids, pg_sends = set(), collections.Counter()
        with open(trace) as f:
            for line in f:
                m = SEND.match(line)
                if not m:
                    continue
                tid, call, ends = m.group(1), m.group(2), m.group(4)
                local, _, remote = ends.partition("->")
                if local.rsplit(":", 1)[-1] == str(port):
                    http_tids.add(tid)
                elif remote.rsplit(":", 1)[-1] == pg_port and call == "sendto":
                    pg_sends[tid] += 1
        request_path = sum(n for t, n in pg_sends.items() if t in http_tids)
        others = sum(n for t, n in pg_sends.items() if t not in http_tids)
        print(json.dumps({
            "changes": count, "clients": clients, "what": "updates" if update else "creates",
            "round_trips_per_change": round(request_path / count, 2),
            "other_sends_per_change": round(others / count, 2),
            "commits_per_change": round((commits1 - commits0) / count, 2),
            "server_cpu_us_per_change": round(cpu_delta(cpu0, cpu1) / 1e3 / count),
            "postgresql_cpu_us_per_change": round(cpu_delta(pg0, pg1) / 1e3 / count),
            "loadavg": " ".join(open("/proc/loadavg").read().split()[:3]),
        }))
    finally:
        if strace:
            strace.kill()
        for _ in range(100 if pid else 0):
            if _ == 0:
                os.kill(pid, signal.SIGTERM)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        shutil.rmtree(work, True)
        psql(admin_url, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)


if __name__ == "__main__":
    main()
