#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Soak: mixed read/write load against the optimised build/switchboard for SOAK_SECONDS (default
# 600), from SOAK_CLIENTS Python threads (default 8, one keep-alive connection each, standard
# library only), on a fresh data directory. Not a test: it prints a line every 10 s (requests,
# rate, errors, the server's VmRSS from /proc/PID/status) and a summary with the error count and
# the RSS growth. Exit status 1 when any request failed or the server did not stop cleanly.
#
# The mix, per request: 45% GET one connection, 10% the full list, 10% get-names, 10% /info
# (decrypts the password), 15% PUT (update of a connection the client read), 5% POST, 5% DELETE;
# each client owns its connections (PostgreSQL, with a password), about SOAK_CONNS (default 50)
# of them, so that every answer but a 200 is an error. SOAK_KEEP=1 keeps the data directory.
set -eu
cd "$(dirname "$0")/.."

seconds=${SOAK_SECONDS:-600}
clients=${SOAK_CLIENTS:-8}
per_client=${SOAK_CONNS:-50}

make -s build/switchboard
work=$(mktemp -d /tmp/switchboard-soak.XXXXXX)
mkdir -m 700 "$work/data"
key=soak-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
SWITCHBOARD_ADMIN_KEY=$key build/switchboard serve --listen "127.0.0.1:$port" \
    --data-dir "$work/data" --log-level warn >"$work/server.log" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null || true
    if [ "${SOAK_KEEP:-}" = 1 ]; then
        echo "soak: files kept in $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

status=0
SOAK_KEY=$key python3 - "$port" "$pid" "$seconds" "$clients" "$per_client" <<'EOF' || status=1
import http.client
import json
import os
import random
import sys
import threading
import time

port, pid, seconds, n_clients, per_client = (int(a) for a in sys.argv[1:])
auth = {"Authorization": "Bearer " + os.environ["SOAK_KEY"]}
API = "/dip/publicapi"
lock = threading.Lock()
counts = {"requests": 0, "errors": 0}
error_kinds = {}
stop = threading.Event()


def rss_kib():
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_ready():
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("soak: the server did not start")


def error(kind):
    with lock:
        counts["errors"] += 1
        error_kinds[kind] = error_kinds.get(kind, 0) + 1


class Client(threading.Thread):
    def __init__(self, index):
        super().__init__(daemon=True)
        self.index = index
        self.rng = random.Random(index)
        self.conn = None
        self.mine = {}  # name -> last definition read or written
        self.serial = 0

    def call(self, method, path, body=None, ok=(200,)):
        data = json.dumps(body).encode() if body is not None else None
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                self.conn.request(method, path, body=data, headers=auth)
                resp = self.conn.getresponse()
                raw = resp.read()
                break
            except (OSError, http.client.HTTPException) as e:
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    error("%s %s: %s" % (method, path.split("/")[-2], type(e).__name__))
                    return None
        with lock:
            counts["requests"] += 1
        if resp.will_close:
            self.conn.close()
            self.conn = None
        if resp.status not in ok:
            error("%s %s: HTTP %d %s" % (method, path.rsplit("/", 1)[0][-30:], resp.status,
                                        raw[:120].decode("utf-8", "replace")))
            return None
        return json.loads(raw)

    def create(self):
        name = "soak_c%d_%06d" % (self.index, self.serial)
        self.serial += 1
        d = self.call("POST", API + "/admin/connections/", {
            "name": name, "type": "PostgreSQL", "description": "soak connection " * 8,
            "params": {"host": "db%d.internal" % self.serial, "db": "sales", "user": "etl",
                       "password": "pw-%d-%d" % (self.index, self.serial)},
            "usableBy": "ALLOWED", "allowedGroups": ["data_team"]})
        if d is not None:
            self.mine[name] = d

    def run(self):
        for _ in range(per_client):
            self.create()
        while not stop.is_set():
            x = self.rng.random()
            name = self.rng.choice(sorted(self.mine)) if self.mine else None
            if name is None or (x < 0.05 and len(self.mine) < 2 * per_client):
                self.create()
            elif x < 0.50:
                d = self.call("GET", API + "/admin/connections/" + name)
                if d is not None:
                    self.mine[name] = d
            elif x < 0.60:
                self.call("GET", API + "/admin/connections/")
            elif x < 0.70:
                self.call("GET", API + "/connections/get-names?type=PostgreSQL")
            elif x < 0.80:
                self.call("GET", API + "/connections/%s/info" % name)
            elif x < 0.95:
                d = dict(self.mine[name], description="updated at %f" % time.time())
                d = self.call("PUT", API + "/admin/connections/" + name, d)
                if d is not None:
                    self.mine[name] = d
            elif len(self.mine) > per_client // 2:
                if self.call("DELETE", API + "/admin/connections/" + name) is not None:
                    del self.mine[name]
            else:
                self.create()


wait_ready()
rss0 = rss_kib()
print("soak: %d s, %d clients, pid %d, RSS at start %.1f MiB" % (seconds, n_clients, pid,
                                                                rss0 / 1024), flush=True)
threads = [Client(i) for i in range(n_clients)]
started = time.monotonic()
for t in threads:
    t.start()
samples = []
last_requests = 0
while True:
    elapsed = time.monotonic() - started
    if elapsed >= seconds:
        break
    time.sleep(min(10, seconds - elapsed))
    elapsed = time.monotonic() - started
    try:
        rss = rss_kib()
    except OSError:
        print("soak: the server process is gone", flush=True)
        error("server died")
        break
    with lock:
        requests, errors = counts["requests"], counts["errors"]
    samples.append((elapsed, rss))
    print("t=%4.0fs  requests=%9d  rate=%6.0f/s  errors=%d  rss=%7.1f MiB"
          % (elapsed, requests, (requests - last_requests) / 10.0, errors, rss / 1024),
          flush=True)
    last_requests = requests
stop.set()
for t in threads:
    t.join(60)
elapsed = time.monotonic() - started
with lock:
    requests, errors = counts["requests"], counts["errors"]
print("soak: %d requests in %.0f s (%.0f/s), %d errors" % (requests, elapsed, requests / elapsed,
                                                          errors))
for kind, n in sorted(error_kinds.items(), key=lambda kv: -kv[1])[:10]:
    print("  %6d  %s" % (n, kind))
if samples:
    first, last = samples[0][1], samples[-1][1]
    mid = samples[len(samples) // 2][1]
    peak = max(r for _, r in samples)
    print("soak: RSS %.1f MiB at start, %.1f MiB at %.0f s, %.1f MiB at %.0f s, %.1f MiB at the "
          "end, peak %.1f MiB; growth %+.1f MiB from the first sample (%+.0f%%), %+.1f MiB over "
          "the second half"
          % (rss0 / 1024, first / 1024, samples[0][0], mid / 1024, samples[len(samples) // 2][0],
             last / 1024, peak / 1024, (last - first) / 1024, 100.0 * (last - first) / first,
             (last - mid) / 1024))
sys.exit(1 if errors else 0)
EOF

kill -TERM "$pid"
if wait "$pid"; then
    echo "soak: server stopped cleanly"
else
    echo "soak: server exited with status $? after SIGTERM"
    status=1
fi
du -sh "$work/data" | sed 's/^/soak: data directory /'
if grep -E 'error|AddressSanitizer|runtime error' "$work/server.log" >/dev/null; then
    echo "soak: the server log has errors:"
    grep -E 'error|AddressSanitizer|runtime error' "$work/server.log" | head -n 10
    status=1
fi
exit $status
