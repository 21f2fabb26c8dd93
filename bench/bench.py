#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The HTTP and bookkeeping side of bench/run.sh (standard library only).

  bench.py start BIN PORT DATA_DIR LOG PID_FILE [NAME]
      starts `BIN serve` on 127.0.0.1:PORT (SWITCHBOARD_ADMIN_KEY comes from the environment),
      waits for GET /healthz to answer 200, then (with NAME) for GET of connection NAME to
      answer 200 (a server answers 503 while it loads its connections), then for /readyz to no
      longer say the catalog is loading; writes the server's pid to PID_FILE and prints the
      milliseconds from exec to the first /healthz 200 and to the first 200 of NAME (the same
      figure without NAME). The server keeps running.
  bench.py load PORT N
      bulk-imports conn_000000 .. conn_{N-1} (PostgreSQL definitions) in batches of 2,000
      (each body well under the default 1 MiB limit); prints the seconds it took.
  bench.py user PORT
      creates group data_team (the group the loaded definitions allow), user bench_user in it
      and a personal API key of that user; prints the key (a non-admin: get-names is built for
      their groups).
  bench.py change-connection PORT COUNT
      creates Filesystem connections fs_a and fs_b, project BENCHCC and COUNT datasets on fs_a
      (concurrently: one keep-alive connection per worker thread), then times
      POST /projects/BENCHCC/actions/change-connection {"from":"fs_a","to":"fs_b"}; prints a
      JSON line for the results file.
  bench.py pgbench CLIENTS LOADAVG < PGBENCH_OUTPUT
      turns pgbench's report into a JSON line for the results file.
  bench.py table RESULTS.jsonl HEADER
      renders the results (JSON lines written by run.sh, wrk.lua, sqlite_commit and the
      pgbench command) as one markdown table, then the targets of issue 16 with a column that
      says whether each is reached.

The API key is read from the environment (BENCH_KEY) and sent as `Authorization: Bearer`.
"""

import concurrent.futures
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

PREFIX = "/dip/publicapi"
BATCH = 2000
WORKERS = 16


def key():
    return os.environ["BENCH_KEY"]


def request(conn, method, path, body=None):
    """One request on a keep-alive connection; returns (status, parsed JSON or None)."""
    headers = {"Authorization": "Bearer " + key()}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, PREFIX + path, body=data, headers=headers)
    resp = conn.getresponse()
    raw = resp.read()
    try:
        return resp.status, json.loads(raw) if raw else None
    except ValueError:
        return resp.status, None


def must(conn, method, path, body=None):
    status, answer = request(conn, method, path, body)
    if status // 100 != 2:
        sys.exit("bench: %s %s answered %d: %s" % (method, path, status, answer))
    return answer


def connect(port, timeout=600):
    return http.client.HTTPConnection("127.0.0.1", int(port), timeout=timeout)


def healthz_ok(port):
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=2)
        c.request("GET", "/healthz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except OSError:
        return False


def get_status(port, path, auth):
    """Status of GET PATH on a new connection (with the bench key when AUTH), None if refused."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
        c.request("GET", path, headers={"Authorization": "Bearer " + key()} if auth else {})
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, body
    except OSError:
        return None, None


def cmd_start(binary, port, data_dir, log, pid_file, name=None):
    argv = [binary, "serve", "--listen", "127.0.0.1:%s" % port, "--data-dir", data_dir,
            "--log-level", "warn"]
    with open(log, "ab") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True)
    with open(pid_file, "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = t0 + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("bench: the server exited with status %d; see %s" % (proc.returncode, log))
        if healthz_ok(port):
            break
        time.sleep(0.002)
    else:
        sys.exit("bench: the server did not answer /healthz within 600 s; see %s" % log)
    healthz_ms = got_ms = (time.monotonic() - t0) * 1000
    while name and time.monotonic() < deadline:
        status, _ = get_status(port, PREFIX + "/admin/connections/" + name, True)
        if status == 200:
            got_ms = (time.monotonic() - t0) * 1000
            break
        if status not in (None, 503):
            sys.exit("bench: GET of %s answered %s during the start" % (name, status))
        time.sleep(0.002)
    while time.monotonic() < deadline:
        status, body = get_status(port, "/readyz", False)
        if status != 503 or json.loads(body).get("checks", {}).get("catalog") != "loading":
            break
        time.sleep(0.01)
    print("%.1f %.1f" % (healthz_ms, got_ms))


def pg_definition(i):
    return {
        "name": "conn_%06d" % i,
        "type": "PostgreSQL",
        "params": {"host": "db-%d.internal" % i, "port": "5432", "db": "sales", "user": "etl",
                   "password": "pw-%d" % i, "properties": []},
        "usableBy": "ALLOWED",
        "allowedGroups": ["data_team"],
        "description": "Sales replica %d, loaded by the bench" % i,
    }


def cmd_load(port, n):
    n = int(n)
    conn = connect(port)
    t0 = time.monotonic()
    for start in range(0, n, BATCH):
        batch = [pg_definition(i) for i in range(start, min(n, start + BATCH))]
        answer = must(conn, "POST", "/admin/connections/actions/import",
                      {"connections": batch, "onConflict": "overwrite"})
        if answer.get("errors"):
            sys.exit("bench: import errors: %s" % answer["errors"][:3])
    print("%.2f" % (time.monotonic() - t0))


def cmd_user(port):
    conn = connect(port)
    status, answer = request(conn, "POST", "/admin/groups/", {"name": "data_team"})
    if status // 100 != 2 and status != 409:
        sys.exit("bench: POST /admin/groups/ answered %d: %s" % (status, answer))
    must(conn, "POST", "/admin/users/", {"login": "bench_user", "password": secrets_token(),
                                         "displayName": "Bench user", "groups": ["data_team"]})
    made = must(conn, "POST", "/admin/personal-api-keys/", {"user": "bench_user",
                                                             "label": "bench"})
    print(made["key"])


def secrets_token():
    import secrets
    return "pw-" + secrets.token_hex(16)


def cmd_change_connection(port, count):
    count = int(count)
    conn = connect(port)
    for name in ("fs_a", "fs_b"):
        must(conn, "POST", "/admin/connections/",
             {"name": name, "type": "Filesystem", "params": {"root": "/srv/" + name}})
    must(conn, "POST", "/projects/",
         {"projectKey": "BENCHCC", "name": "change-connection bench", "owner": "admin"})

    local = threading.local()

    def create(i):
        if not hasattr(local, "conn"):
            local.conn = connect(port)
        name = "ds_%06d" % i
        must(local.conn, "POST", "/projects/BENCHCC/datasets/",
             {"projectKey": "BENCHCC", "name": name, "type": "Filesystem",
              "params": {"connection": "fs_a", "path": "/data/" + name},
              "formatType": "csv", "formatParams": {"separator": ",", "charset": "utf8"}})

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        for _ in pool.map(create, range(count)):
            pass
    create_s = time.monotonic() - t0

    t0 = time.monotonic()
    answer = must(conn, "POST", "/projects/BENCHCC/actions/change-connection",
                  {"from": "fs_a", "to": "fs_b"})
    change_s = time.monotonic() - t0
    changed = len(answer.get("changed", []))
    if changed != count:
        sys.exit("bench: change-connection changed %d datasets, expected %d" % (changed, count))
    print(json.dumps({"kind": "change", "scenario": "change-connection fs_a to fs_b",
                      "n": count, "seconds": change_s, "create_seconds": create_s,
                      "workers": WORKERS}))


def cmd_pgbench(clients, loadavg):
    out = sys.stdin.read()
    tps = re.search(r"^tps = ([0-9.]+)", out, re.M)
    lat = re.search(r"^latency average = ([0-9.]+) ms", out, re.M)
    done = re.search(r"^number of transactions actually processed: ([0-9]+)", out, re.M)
    if not tps:
        sys.exit("bench: cannot read pgbench's report:\n" + out)
    print(json.dumps({"kind": "pgbench", "clients": int(clients), "rate": float(tps.group(1)),
                      "latency_us": float(lat.group(1)) * 1000 if lat else None,
                      "commits": int(done.group(1)) if done else 0, "loadavg": loadavg}))


# --- the table -------------------------------------------------------------------------------

def fmt_rate(r):
    if r >= 100:
        return "{:,.0f}".format(r)
    if r >= 10:
        return "%.1f" % r
    return "%.2f" % r


def fmt_us(us):
    if us is None:
        return "—"
    if us >= 1e6:
        return "%.2f s" % (us / 1e6)
    if us >= 1e3:
        return "%.2f ms" % (us / 1e3)
    return "%.0f µs" % us


def fmt_bytes(b):
    if b >= 1 << 20:
        return "%.1f MiB" % (b / (1 << 20))
    if b >= 1 << 10:
        return "%.1f KiB" % (b / (1 << 10))
    return "%d B" % b


def wrk_errors(r):
    parts = []
    for k in ("connect", "read", "write", "timeout", "status"):
        v = r.get("err_" + k, 0)
        if v:
            parts.append("%d %s" % (v, "non-2xx" if k == "status" else k + " errors"))
    if r.get("statuses"):
        parts.append("statuses " + r["statuses"].replace("x", "×"))
    return ", ".join(parts)


def merge_rounds(rows):
    """The alternated runs of one target (wrk lines with a "round": bench/run.sh runs GET one
    connection as a b c c b a) as one line, at the place of the first: requests and durations
    added up, so that its rate is over both runs; "rounds" keeps each run's rate, p50 and p99."""
    merged, out = {}, []
    for r in rows:
        if r["kind"] != "wrk" or not r.get("round"):
            out.append(r)
            continue
        secs = r["duration_us"] / 1e6
        run = {"rate": r["requests"] / secs if secs > 0 else 0, "p50_us": r["p50_us"],
               "p99_us": r["p99_us"], "requests": r["requests"]}
        k = (r["scenario"], r["target"], r["n"])
        if k not in merged:
            merged[k] = dict(r, rounds=[run])
            out.append(merged[k])
            continue
        m = merged[k]
        m["rounds"].append(run)
        for f in ("requests", "duration_us", "bytes", "err_connect", "err_read", "err_write",
                  "err_status", "err_timeout"):
            m[f] += r[f]
        m["max_us"] = max(m["max_us"], r["max_us"])
        m["statuses"] = " ".join(x for x in (m["statuses"], r["statuses"]) if x)
    return out


def cmd_table(path, header):
    rows = merge_rounds([json.loads(line) for line in open(path, encoding="utf-8")
                         if line.strip()])
    # per N, in the order run: memory and start-up first, then the scenarios as they ran;
    # the change-connection (its own data directory) last
    groups = {}
    for r in rows:
        if r["kind"] in ("rss", "startup", "wrk", "sqlite"):
            groups.setdefault(r["n"], len(groups))
    rank = {"rss": 0, "startup": 1}
    def is_pg(r):
        return r["kind"] == "pgbench" or r.get("scenario", "").startswith("PostgreSQL")

    def group_of(r):
        if is_pg(r):
            return len(groups) + 2
        if r["kind"] == "change":
            return len(groups) + 1
        return groups.get(r.get("n"), len(groups))

    rows.sort(key=lambda r: (group_of(r), rank.get(r["kind"], 2)))
    raw = {r["n"]: r for r in rows if r["kind"] == "sqlite"}
    pgraw = {r["clients"]: r for r in rows if r["kind"] == "pgbench"}
    nginx = {(r["scenario"], r["n"]): r for r in rows
             if r["kind"] == "wrk" and r["target"] == "nginx"}
    bare = {(r["scenario"], r["n"]): r for r in rows
            if r["kind"] == "wrk" and r["target"] == "bare"}
    ratios = {}  # (scenario, n) -> {"nginx"|"bare"|"SQLite"|"pgbench": ratio}
    startup = {r["n"]: r for r in rows if r["kind"] == "startup" and not is_pg(r)}
    rss = {r["n"]: r for r in rows if r["kind"] == "rss"}
    fetched = {(r["scenario"], r["n"]): r for r in rows if r["kind"] == "fetch"}

    out = []
    if header:
        out.append(header)
        out.append("")
    out.append("| scenario (%s) | N | req/s | p50 | p99 | ratio | notes |" %
               next((r["settings"] for r in rows if r["kind"] == "settings"), ""))
    out.append("|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        kind = r["kind"]
        if kind == "wrk":
            secs = r["duration_us"] / 1e6
            rate = r["requests"] / secs if secs > 0 else 0
            has_lat = r["requests"] > 0
            p50 = fmt_us(r["p50_us"] if has_lat else None)
            p99 = fmt_us(r["p99_us"] if has_lat else None)
            notes = []
            if len(r.get("rounds", ())) > 1:  # each run's own figures
                p50 = " / ".join(fmt_us(x["p50_us"] if x["requests"] else None)
                                 for x in r["rounds"])
                p99 = " / ".join(fmt_us(x["p99_us"] if x["requests"] else None)
                                 for x in r["rounds"])
                notes.append("%d runs, alternated: %s req/s" % (
                    len(r["rounds"]), " and ".join(fmt_rate(x["rate"]) for x in r["rounds"])))
            ratio = ""
            if r["target"] == "nginx":
                name = "  nginx, same bytes"
            elif r["target"] == "bare":
                name = "  bare libmicrohttpd handler, same bytes from memory"
            else:
                name = r["scenario"]
                got = ratios.setdefault((r["scenario"], r["n"]), {})
                parts = []
                for label, refs in (("nginx", nginx), ("bare", bare)):
                    ref = refs.get((r["scenario"], r["n"]))
                    if ref and ref["requests"]:
                        got[label] = rate / (ref["requests"] / (ref["duration_us"] / 1e6))
                        parts.append("%.3g× %s" % (got[label], label))
                pg_clients = 8 if r["scenario"].endswith("8 connections") else 1
                if parts:
                    ratio = ", ".join(parts)
                elif is_pg(r) and pg_clients in pgraw:
                    got["pgbench"] = rate / pgraw[pg_clients]["rate"]
                    ratio = "%.3g× pgbench" % got["pgbench"]
                elif r["n"] in raw and r["scenario"].startswith(("create", "update")):
                    got["SQLite"] = rate / raw[r["n"]]["rate"]
                    ratio = "%.3g× SQLite" % got["SQLite"]
            fetch = fetched.get((r["scenario"], r["n"]))
            if fetch and r["target"] == "switchboard":
                notes.append("answer %s, alone (curl) %s" % (fmt_bytes(fetch["bytes"]),
                                                             fmt_us(fetch["seconds"] * 1e6)))
            notes.append("%d requests" % r["requests"] if r["requests"]
                         else "no answer completed within the run")
            err = wrk_errors(r)
            if err:
                notes.append(err)
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                name, "{:,}".format(r["n"]), fmt_rate(rate), p50, p99, ratio, "; ".join(notes)))
        elif kind == "sqlite":
            out.append("| raw SQLite durable commit (WAL, synchronous=FULL, 1 thread, %d-byte "
                       "row) | %s | %s | %s | %s | 1× SQLite | %d commits in %.1f s, same "
                       "filesystem; load average %s |" % (
                           r["row_bytes"], "{:,}".format(r["n"]), fmt_rate(r["rate"]),
                           fmt_us(r["p50_us"]), fmt_us(r["p99_us"]), r["commits"], r["seconds"],
                           r.get("loadavg", "?")))
        elif kind == "pgbench":
            out.append("| raw PostgreSQL durable commit (pgbench, fsync=on, synchronous_commit=on, "
                       "%d client%s, 600-byte row) | | %s | | | 1× pgbench | average latency %s; "
                       "%d commits, same server; load average %s |" % (
                           r["clients"], "s" if r["clients"] > 1 else "", fmt_rate(r["rate"]),
                           fmt_us(r["latency_us"]), r["commits"], r.get("loadavg", "?")))
        elif kind == "rss":
            out.append("| server RSS after loading N (VmRSS) | %s | | | | | %s after the import (%s s); "
                       "%s after the restart; %s after the writes; peak (VmHWM) %s: setup %s "
                       "(one Argon2id password hash, 64 MiB for a moment, when the bench user is "
                       "made), reads %s, writes %s |" % (
                           "{:,}".format(r["n"]), fmt_bytes(r["rss_kb"] * 1024), r["load_seconds"],
                           fmt_bytes(r["restart_rss_kb"] * 1024),
                           fmt_bytes(r["after_writes_kb"] * 1024),
                           "of each phase" if r["peak_reset"] else "since the start (not reset)",
                           fmt_bytes(r["setup_peak_kb"] * 1024),
                           fmt_bytes(r["reads_peak_kb"] * 1024),
                           fmt_bytes(r["writes_peak_kb"] * 1024)))
        elif kind == "startup":
            out.append("| start-up with N connections (exec to /healthz 200) | %s | | | | | "
                       "%.0f ms |" % ("{:,}".format(r["n"]), r["ms"]))
            if "get_ms" in r:
                out.append("| start-up with N connections (exec to the first 200 GET of the "
                           "last-created connection) | %s | | | | | %.0f ms; load average %s |" % (
                               "{:,}".format(r["n"]), r["get_ms"], r.get("loadavg", "?")))
        elif kind == "change":
            out.append("| change-connection over N datasets (one request) | %s | | | | | "
                       "%.2f s (creating the datasets: %.1f s, %s/s with %d clients) |" % (
                           "{:,}".format(r["n"]), r["seconds"], r["create_seconds"],
                           fmt_rate(r["n"] / r["create_seconds"]), r["workers"]))
    out.append("")
    out.extend(targets_table(ratios, startup, rss))
    print("\n".join(out))


# issue 16's targets: (label, scenario, reference, N or None for every N, minimum ratio)
TARGETS = [
    ("GET one connection vs nginx, same bytes", "GET one connection", "nginx", None, 1.3),
    ("GET one connection vs a bare libmicrohttpd handler, same bytes", "GET one connection",
     "bare", None, 0.9),
    ("durable creates, 1 client, vs raw SQLite durable commits", "create (POST), 1 connection",
     "SQLite", None, 0.5),
    ("durable creates, 8 clients, vs raw SQLite durable commits", "create (POST), 8 connections",
     "SQLite", None, 1.0),
    ("GET /connections/{name}/info vs nginx", "GET /info", "nginx", None, 0.5),
    ("get-names of 10,000 vs nginx", "GET get-names?type=all", "nginx", 10000, 0.8),
    ("get-names of 10,000 for a non-admin user vs nginx",
     "GET get-names?type=all, non-admin user", "nginx", 10000, 0.8),
    ("PostgreSQL store: GET one connection vs nginx", "PostgreSQL store: GET one connection",
     "nginx", None, 1.3),
    ("PostgreSQL store: durable creates, 1 client, vs pgbench, 1 client",
     "PostgreSQL store: create (POST), 1 connection", "pgbench", None, 0.5),
    ("PostgreSQL store: durable creates, 8 clients, vs pgbench, 8 clients",
     "PostgreSQL store: create (POST), 8 connections", "pgbench", None, 1.0),
]


def targets_table(ratios, startup, rss):
    out = ["Targets (issue 16):", "",
           "| measure | N | measured | target | reached |", "|---|---:|---:|---:|---|"]

    def row(label, n, measured, target, ok):
        out.append("| %s | %s | %s | %s | %s |" % (label, "{:,}".format(n) if n else "—",
                                                   measured, target, "yes" if ok else "**no**"))

    for label, scenario, ref, only_n, minimum in TARGETS:
        found = sorted((n, r[ref]) for (sc, n), r in ratios.items()
                       if sc == scenario and ref in r and (only_n is None or n == only_n))
        if not found:
            out.append("| %s | | not measured | ≥ %g× | — |" % (label, minimum))
        for n, ratio in found:
            row(label, n, "%.3g×" % ratio, "≥ %g×" % minimum, ratio >= minimum)
    if 100000 in rss:
        mb = rss[100000]["restart_rss_kb"] * 1024 / 1e6
        row("RSS after a restart with 100,000 connections", 100000, "%.1f MB" % mb, "≤ 100 MB",
            mb <= 100)
    else:
        out.append("| RSS after a restart with 100,000 connections | | not measured (N = 100,000 "
                   "not in BENCH_SIZES) | ≤ 100 MB | — |")
    if 100000 in startup:
        s = startup[100000]["ms"] / 1000
        row("start-up with 100,000 connections (exec to /healthz 200)", 100000, "%.3f s" % s,
            "≤ 0.5 s", s <= 0.5)
        if "get_ms" in startup[100000]:
            # the connections load after the server answers /healthz: this is when they serve
            s = startup[100000]["get_ms"] / 1000
            row("start-up with 100,000 connections (exec to the first 200 GET of the "
                "last-created connection)", 100000, "%.3f s" % s, "≤ 0.5 s", s <= 0.5)
    else:
        out.append("| start-up with 100,000 connections | | not measured (N = 100,000 not in "
                   "BENCH_SIZES) | ≤ 0.5 s | — |")
    return out


def main():
    cmds = {"start": (cmd_start, 5), "load": (cmd_load, 2), "user": (cmd_user, 1),
            "change-connection": (cmd_change_connection, 2), "table": (cmd_table, 2),
            "pgbench": (cmd_pgbench, 2)}
    extra = 1 if len(sys.argv) > 1 and sys.argv[1] == "start" else 0  # start's NAME
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or \
            not cmds[sys.argv[1]][1] <= len(sys.argv) - 2 <= cmds[sys.argv[1]][1] + extra:
        sys.exit(__doc__)
    func, _ = cmds[sys.argv[1]]
    func(*sys.argv[2:])


if __name__ == "__main__":
    main()
