#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The HTTP and bookkeeping side of bench/run.sh (standard library only).

  bench.py start BIN PORT DATA_DIR LOG PID_FILE
      starts `BIN serve` on 127.0.0.1:PORT (SWITCHBOARD_ADMIN_KEY comes from the environment),
      waits for GET /healthz to answer 200, writes the server's pid to PID_FILE and prints the
      milliseconds from exec to that first 200. The server keeps running.
  bench.py load PORT N
      bulk-imports conn_000000 .. conn_{N-1} (PostgreSQL definitions) in batches of 2,000
      (each body well under the default 1 MiB limit); prints the seconds it took.
  bench.py change-connection PORT COUNT
      creates Filesystem connections fs_a and fs_b, project BENCHCC and COUNT datasets on fs_a
      (concurrently: one keep-alive connection per worker thread), then times
      POST /projects/BENCHCC/actions/change-connection {"from":"fs_a","to":"fs_b"}; prints a
      JSON line for the results file.
  bench.py table RESULTS.jsonl HEADER
      renders the results (JSON lines written by run.sh, wrk.lua and sqlite_commit) as one
      markdown table.

The API key is read from the environment (BENCH_KEY) and sent as `Authorization: Bearer`.
"""

import concurrent.futures
import http.client
import json
import os
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


def cmd_start(binary, port, data_dir, log, pid_file):
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
            print("%.1f" % ((time.monotonic() - t0) * 1000))
            return
        time.sleep(0.002)
    sys.exit("bench: the server did not answer /healthz within 600 s; see %s" % log)


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


def cmd_table(path, header):
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    # per N, in the order run: memory and start-up first, then the scenarios as they ran;
    # the change-connection (its own data directory) last
    groups = {}
    for r in rows:
        if r["kind"] in ("rss", "startup", "wrk", "sqlite"):
            groups.setdefault(r["n"], len(groups))
    rank = {"rss": 0, "startup": 1}
    rows.sort(key=lambda r: (groups.get(r.get("n"), len(groups)) if r["kind"] != "change"
                             else len(groups) + 1, rank.get(r["kind"], 2)))
    raw = {r["n"]: r for r in rows if r["kind"] == "sqlite"}
    nginx = {(r["scenario"], r["n"]): r for r in rows
             if r["kind"] == "wrk" and r["target"] == "nginx"}
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
            ratio = ""
            if r["target"] == "nginx":
                name = "  nginx, same bytes"
            else:
                name = r["scenario"]
                ref = nginx.get((r["scenario"], r["n"]))
                if ref and ref["requests"]:
                    ref_rate = ref["requests"] / (ref["duration_us"] / 1e6)
                    ratio = "%.3g× nginx" % (rate / ref_rate)
                elif r["n"] in raw and r["scenario"].startswith(("create", "update")):
                    ratio = "%.3g× SQLite" % (rate / raw[r["n"]]["rate"])
            fetch = fetched.get((r["scenario"], r["n"]))
            if fetch and r["target"] != "nginx":
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
        elif kind == "rss":
            out.append("| server RSS after loading N (VmRSS) | %s | | | | | %s after the import (%s s); "
                       "%s after the restart; peak after the scenarios (VmHWM) %s |" % (
                           "{:,}".format(r["n"]), fmt_bytes(r["rss_kb"] * 1024), r["load_seconds"],
                           fmt_bytes(r["restart_rss_kb"] * 1024),
                           fmt_bytes(r["peak_rss_kb"] * 1024)))
        elif kind == "startup":
            out.append("| start-up with N connections (exec to /healthz 200) | %s | | | | | "
                       "%.0f ms |" % ("{:,}".format(r["n"]), r["ms"]))
        elif kind == "change":
            out.append("| change-connection over N datasets (one request) | %s | | | | | "
                       "%.2f s (creating the datasets: %.1f s, %s/s with %d clients) |" % (
                           "{:,}".format(r["n"]), r["seconds"], r["create_seconds"],
                           fmt_rate(r["n"] / r["create_seconds"]), r["workers"]))
    print("\n".join(out))


def main():
    cmds = {"start": (cmd_start, 5), "load": (cmd_load, 2),
            "change-connection": (cmd_change_connection, 2), "table": (cmd_table, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) - 2 != cmds[sys.argv[1]][1]:
        sys.exit(__doc__)
    func, _ = cmds[sys.argv[1]]
    func(*sys.argv[2:])


if __name__ == "__main__":
    main()
