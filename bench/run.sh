#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Switchboard's benchmark harness (`make bench`). Not a test: it measures and prints one markdown
# table (also written to build/bench/results.md). For each N of BENCH_SIZES it loads N PostgreSQL
# connections through the bulk import into a fresh data directory, then measures with wrk
# (keep-alive) the reads (one connection, the full list, get-names as the admin and as a user,
# /info) against Switchboard and against nginx serving the very same answer bytes from files,
# and the durable writes
# (creates, updates) against the raw single-row commit rate of SQLite on the same filesystem
# (bench/sqlite_commit.c). GET one connection is also measured against a bare libmicrohttpd
# handler serving the same bytes from memory (bench/mhd_bare.c: the ceiling of our HTTP stack),
# twice, alternated (Switchboard, nginx, bare, bare, nginx, Switchboard: read_alternated).
# Also: RSS after loading, start-up time on the loaded data directory, one change-connection
# over BENCH_DATASETS datasets, and the PostgreSQL store: its own PostgreSQL server (fsync=on,
# synchronous_commit=on), BENCH_PG_SIZE connections loaded, GET one connection, and creates
# against pgbench's raw single-row commit rate on the same server, with 1 and 8 clients.
# Last, the targets of issue 16 with a column that says whether each is reached.
#
# Environment: BENCH_SIZES (default "1000 10000 100000"), BENCH_SECONDS (wrk duration, default
# 10), BENCH_DATASETS (default 10000), BENCH_PG_SIZE (default 10000; 0 skips the PostgreSQL
# part), BENCH_ONLY=pg runs the PostgreSQL part alone, BENCH_KEEP=1 keeps the data directories and nginx root under build/bench/run/. As
# root, installs wrk and nginx-light with apt-get when missing.
# Everything it starts (servers, nginx) is stopped on exit, failure or interruption included.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

sizes=${BENCH_SIZES:-"1000 10000 100000"}
secs=${BENCH_SECONDS:-10}
n_datasets=${BENCH_DATASETS:-10000}
pg_size=${BENCH_PG_SIZE:-10000}
only=${BENCH_ONLY:-}
wrk_common="--latency --timeout 60s -d${secs}s"
read_opts="-t2 -c32"
# The full list is one answer of N definitions: with few connections, so that the server is not
# left building answers that wrk has abandoned at the end of its run.
list_opts="-t2 -c2"
write1_opts="-t1 -c1"
write8_opts="-t2 -c8"

out=$root/build/bench
work=$out/run
results=$work/results.jsonl
server_pid=
startup_ms=
first_get_ms=
nginx_pid=
bare_pid=
pg_dir=
pg_bindir=

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- tools -----------------------------------------------------------------------------------

ensure_tools() {
    local missing=""
    command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
    command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
    command -v curl >/dev/null 2>&1 || missing="$missing curl"
    command -v python3 >/dev/null 2>&1 || missing="$missing python3"
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        die "missing:$missing; run: sudo apt-get update && sudo apt-get install -y$missing"
    fi
    log "installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

nginx_bin() { command -v nginx 2>/dev/null || echo /usr/sbin/nginx; }

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- processes -------------------------------------------------------------------------------

# gone PID: true once the process has exited (a zombie left for init to reap counts as gone)
gone() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$state" ] || [ "$state" = Z ]
}

# stop_pid PID: SIGTERM, then SIGKILL after 30 s
stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 300); do
        gone "$pid" && return 0
        sleep 0.1
    done
    log "pid $pid ignored SIGTERM for 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    if [ -n "$server_pid" ]; then stop_pid "$server_pid"; server_pid=; fi
    if [ -n "$nginx_pid" ]; then stop_pid "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true; nginx_pid=; fi
    stop_bare
    stop_pg
    if [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$work"/data-* "$work/www" "$work/sqlite"; fi
    [ "$status" -ne 0 ] && log "failed (status $status); logs in $work/"
    exit "$status"
}

# start_server DATA_DIR [STORE_URL [NAME]]: starts build/switchboard on $port (on STORE_URL when
# not empty, else SQLite in DATA_DIR) and returns once its connections are loaded; sets
# server_pid, startup_ms to the milliseconds from exec to the first 200 of /healthz, and
# first_get_ms to those to the first 200 GET of connection NAME (given: the last one created)
start_server() {
    local times
    times=$(SWITCHBOARD_STORE=${2:-} SWITCHBOARD_ADMIN_KEY=$key BENCH_KEY=$key python3 bench/bench.py \
        start build/switchboard "$port" "$1" "$work/server.log" "$work/server.pid" ${3:+"$3"})
    startup_ms=${times% *}
    first_get_ms=${times#* }
    server_pid=$(cat "$work/server.pid")
}

stop_server() {
    stop_pid "$server_pid"
    server_pid=
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status"; }
peak_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status"; }
# Resets the server's peak RSS (VmHWM) to its current RSS (Linux: "5" to clear_refs), so that
# each phase's peak is its own; peak_reset is left "false" when the kernel refuses, and the
# peaks are then the peaks since the start.
peak_reset=true
reset_peak() { echo 5 2>/dev/null >"/proc/$server_pid/clear_refs" || peak_reset=false; }

# Waits until the server stops using CPU (an abandoned slow answer still being built, a WAL
# checkpoint...), so that one scenario does not run in the leftovers of the previous one.
wait_idle() {
    local before after
    for _ in $(seq 1200); do
        before=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
        sleep 0.5
        after=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
        [ $((after - before)) -le 2 ] && return 0
    done
    log "the server is still busy after 10 minutes; going on"
}

start_nginx() {
    local conf=$work/nginx.conf user=""
    [ "$(id -u)" -eq 0 ] && user="user root;"
    mkdir -p "$work/www" "$work/nginx-tmp"
    cat >"$conf" <<EOF
# minimal: keep-alive on, no access log, sendfile, one worker per core
$user
worker_processes $(nproc);
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 1000000000;
    types { }
    default_type application/json;
    charset utf-8;
    charset_types application/json;
    etag off;
    server_tokens off;
    client_body_temp_path $work/nginx-tmp;
    proxy_temp_path $work/nginx-tmp;
    fastcgi_temp_path $work/nginx-tmp;
    uwsgi_temp_path $work/nginx-tmp;
    scgi_temp_path $work/nginx-tmp;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        location = /dip/publicapi/admin/connections/ { try_files /list.json =404; }
        location = /dip/publicapi/admin/connections/$one { try_files /one.json =404; }
        location = /dip/publicapi/connections/get-names { try_files /names.json =404; }
        location = /dip/publicapi/connections/$one/info { try_files /info.json =404; }
        location / { return 404; }
    }
}
EOF
    # its own session, as the server's (bench.py start): with the kernel's autogroup scheduling
    # (sched_autogroup_enabled), a server in wrk's session shares wrk's group and wins every
    # wake-up against the machine's other jobs; measured: the bare handler served 2× the rate in
    # wrk's session that it served in a session of its own
    setsid "$(nginx_bin)" -p "$work" -c "$conf" -e "$work/nginx-error.log" \
        -g 'daemon off;' &
    nginx_pid=$!

    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && return 0
        gone "$nginx_pid" && die "nginx did not start; see $work/nginx-error.log"
        sleep 0.05
    done
    die "nginx did not answer; see $work/nginx-error.log"
}

# start_bare FILE: the bare libmicrohttpd handler on $bare_port, answering FILE's bytes
start_bare() {
    stop_bare
    setsid build/bench/mhd_bare "$bare_port" "$1" & # its own session: see start_nginx
    bare_pid=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$bare_port/" && return 0
        gone "$bare_pid" && die "bench/mhd_bare did not start"
        sleep 0.05
    done
    die "bench/mhd_bare did not answer"
}

stop_bare() {
    if [ -n "$bare_pid" ]; then stop_pid "$bare_pid"; wait "$bare_pid" 2>/dev/null || true; bare_pid=; fi
}

# --- PostgreSQL (the store's rows) -----------------------------------------------------------

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# Starts a PostgreSQL of its own on a free loopback port, durable as a production one:
# fsync=on, synchronous_commit=on, full_page_writes=on. Local trust authentication: it listens
# on 127.0.0.1 only and lives as long as the bench. Sets pg_dir, pg_port, pg_url.
start_pg() {
    local d
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && pg_bindir=$d && break
    done
    [ -n "$pg_bindir" ] || die "no PostgreSQL server under /usr/lib/postgresql/*/bin (scripts/deps.sh)"
    # under /tmp: the postgres user must reach it
    pg_dir=$(mktemp -d /tmp/switchboard-bench-pg.XXXXXX)
    chmod 0755 "$pg_dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
    pg_port=$(free_port)
    as_pg "$pg_bindir/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
        >"$work/pg-initdb.log" 2>&1 || die "initdb failed; see $work/pg-initdb.log"
    as_pg "$pg_bindir/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/postgresql.log" -w -t 60 \
        -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg_dir \
-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=100" \
        start >/dev/null 2>&1 || die "PostgreSQL did not start; see $pg_dir/postgresql.log"
    as_pg "$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pg_dir" -p "$pg_port" -U postgres \
        -d postgres -c 'CREATE DATABASE bench' >/dev/null || die "CREATE DATABASE failed"
    as_pg "$pg_bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$pg_dir" -p "$pg_port" -U postgres \
        -d bench -c 'CREATE TABLE bench_raw (id bigserial PRIMARY KEY, body text NOT NULL)' \
        >/dev/null || die "CREATE TABLE failed"
    pg_url="postgresql://postgres@127.0.0.1:$pg_port/bench"
}

stop_pg() {
    [ -n "$pg_dir" ] || return 0
    if [ -f "$pg_dir/data/postmaster.pid" ]; then
        as_pg "$pg_bindir/pg_ctl" -D "$pg_dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
    fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        cp "$pg_dir/postgresql.log" "$work/" 2>/dev/null || true
    fi
    rm -rf "$pg_dir"
    pg_dir=
}

# raw_pg CLIENTS THREADS: pgbench's single-row durable commit rate (one INSERT of a 600-byte
# row per transaction) on the bench's PostgreSQL, in a table of its own
raw_pg() {
    local clients=$1 threads=$2 out
    log "PostgreSQL: raw commit rate, $clients client(s)"
    printf "INSERT INTO bench_raw (body) VALUES (repeat('x', 600));\n" >"$work/pgbench.sql"
    out=$(pgbench -n -h 127.0.0.1 -p "$pg_port" -U postgres -f "$work/pgbench.sql" \
        -c "$clients" -j "$threads" -T "$secs" bench 2>&1) || die "pgbench failed: $out"
    echo "$out" >>"$work/pgbench.txt"
    python3 bench/bench.py pgbench "$clients" "$(cut -d' ' -f1-3 /proc/loadavg)" <<<"$out" \
        >>"$results"
}

# --- measurements ----------------------------------------------------------------------------

# fetch SCENARIO N PATH FILE [KEY]: saves Switchboard's answer (to KEY, default the admin's)
# into the nginx root, records its size
fetch() {
    local scenario=$1 n=$2 path=$3 file=$4 as=${5:-$key} status secs
    read -r status secs < <(curl -s -o "$work/www/$file.tmp" -w '%{http_code} %{time_total}\n' \
        -H "Authorization: Bearer $as" "http://127.0.0.1:$port$path")
    [ "$status" = 200 ] || die "GET $path answered $status"
    mv "$work/www/$file.tmp" "$work/www/$file"
    printf '{"kind":"fetch","scenario":"%s","n":%d,"bytes":%d,"seconds":%s}\n' \
        "$scenario" "$n" "$(stat -c %s "$work/www/$file")" "$secs" >>"$results"
}

# run_wrk TARGET SCENARIO N MODE "OPTS" URL [KEY]
run_wrk() {
    local target=$1 scenario=$2 n=$3 mode=$4 opts=$5 url=$6 as=${7:-$key}
    # shellcheck disable=SC2086
    BENCH_ROUND=${BENCH_ROUND:-} BENCH_MODE=$mode BENCH_TARGET=$target BENCH_SCENARIO=$scenario BENCH_N=$n \
        BENCH_SETTINGS="$opts" BENCH_TAG="$(echo "$opts" | tr -dc '0-9')n$n" BENCH_KEY=$as \
        BENCH_WRK_OUT=$results \
        wrk $opts $wrk_common -s bench/wrk.lua "$url" >>"$work/wrk.txt" 2>&1 ||
        die "wrk failed; see $work/wrk.txt"
}

# read_scenario SCENARIO N "OPTS" PATH [KEY]: Switchboard (asked with KEY, default the admin's),
# then nginx (and the bare handler when it runs) serving the same bytes
read_scenario() {
    local scenario=$1 n=$2 opts=$3 path=$4 as=${5:-$key}
    log "N=$n: $scenario"
    echo "== switchboard $scenario N=$n" >>"$work/wrk.txt"
    run_wrk switchboard "$scenario" "$n" get "$opts" "http://127.0.0.1:$port$path" "$as"
    wait_idle
    echo "== nginx $scenario N=$n" >>"$work/wrk.txt"
    run_wrk nginx "$scenario" "$n" get "$opts" "http://127.0.0.1:$nginx_port$path"
    if [ -n "$bare_pid" ]; then
        echo "== bare libmicrohttpd $scenario N=$n" >>"$work/wrk.txt"
        run_wrk bare "$scenario" "$n" get "$opts" "http://127.0.0.1:$bare_port$path"
    fi
}

# read_alternated SCENARIO N "OPTS" PATH: GET one connection, whose ratios are the issue's
# closest targets: Switchboard, nginx and the bare handler, then again in the reverse order
# (a b c c b a), so that a drift of the machine's speed over the six runs weighs the same on the
# three. The table gives each target's rate over its two runs, and the ratios of those rates
# (bench/bench.py table); one round alone swung by 0.5-2x between neighbouring runs at load 3-5.
read_alternated() {
    local scenario=$1 n=$2 opts=$3 path=$4 target url i=0
    log "N=$n: $scenario (two rounds, the second in the reverse order)"
    for target in switchboard nginx bare bare nginx switchboard; do
        i=$((i + 1))
        case $target in
            switchboard) url="http://127.0.0.1:$port$path" ;;
            nginx) url="http://127.0.0.1:$nginx_port$path" ;;
            bare) url="http://127.0.0.1:$bare_port$path" ;;
        esac
        echo "== $target $scenario N=$n round $(((i + 2) / 3))" >>"$work/wrk.txt"
        BENCH_ROUND=$(((i + 2) / 3)) run_wrk "$target" "$scenario" "$n" get "$opts" "$url"
        [ "$target" != switchboard ] || wait_idle
    done
}

write_scenario() {
    local scenario=$1 n=$2 mode=$3 opts=$4
    log "N=$n: $scenario"
    echo "== switchboard $scenario N=$n" >>"$work/wrk.txt"
    run_wrk switchboard "$scenario" "$n" "$mode" "$opts" "http://127.0.0.1:$port/"
    wait_idle
}

# raw_sqlite N: the raw durable commit rate, measured again before the writes of each N so that
# both see the same state of the disk
raw_sqlite() {
    log "N=$1: raw SQLite commit rate"
    mkdir -p "$work/sqlite"
    printf '{"kind":"sqlite","n":%d,"loadavg":"%s",%s\n' "$1" "$(cut -d' ' -f1-3 /proc/loadavg)" \
        "$(build/bench/sqlite_commit "$work/sqlite" "$secs" | cut -c2-)" >>"$results"
}

bench_size() {
    local n=$1 data=$work/data-$1 load_s rss restart_rss user_key setup_peak reads_peak
    mkdir -p -m 700 "$data"
    log "N=$n: loading"
    start_server "$data"
    load_s=$(BENCH_KEY=$key python3 bench/bench.py load "$port" "$n")
    wait_idle
    rss=$(rss_kb)
    stop_server
    local load_start
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    start_server "$data" "" "$(printf 'conn_%06d' $((n - 1)))"
    restart_rss=$(rss_kb)
    printf '{"kind":"startup","n":%d,"ms":%s,"get_ms":%s,"loadavg":"%s"}\n' "$n" "$startup_ms" \
        "$first_get_ms" "$load_start" >>"$results"

    fetch "GET one connection" "$n" "/dip/publicapi/admin/connections/$one" one.json
    fetch "GET the full list" "$n" "/dip/publicapi/admin/connections/" list.json
    fetch "GET get-names?type=all" "$n" "/dip/publicapi/connections/get-names?type=all" names.json
    fetch "GET /info" "$n" "/dip/publicapi/connections/$one/info" info.json
    # a non-admin's get-names is built for their groups (the admin's is every name): the loaded
    # definitions allow data_team, so this user's answer is the same bytes as the admin's
    user_key=$(BENCH_KEY=$key python3 bench/bench.py user "$port")
    fetch "GET get-names?type=all, non-admin user" "$n" \
        "/dip/publicapi/connections/get-names?type=all" names-user.json "$user_key"
    cmp -s "$work/www/names.json" "$work/www/names-user.json" ||
        die "get-names: the non-admin user's answer differs from the admin's"
    wait_idle
    # the peaks of the setup (the restart, the fetches above and the bench user, whose password
    # is hashed with Argon2id: 64 MiB for a moment), of the reads and of the writes, apart
    setup_peak=$(peak_rss_kb)
    reset_peak

    start_bare "$work/www/one.json"
    read_alternated "GET one connection" "$n" "$read_opts" "/dip/publicapi/admin/connections/$one"
    stop_bare
    read_scenario "GET the full list" "$n" "$list_opts" "/dip/publicapi/admin/connections/"
    read_scenario "GET get-names?type=all" "$n" "$read_opts" \
        "/dip/publicapi/connections/get-names?type=all"
    read_scenario "GET get-names?type=all, non-admin user" "$n" "$read_opts" \
        "/dip/publicapi/connections/get-names?type=all" "$user_key"
    read_scenario "GET /info" "$n" "$read_opts" "/dip/publicapi/connections/$one/info"
    wait_idle
    reads_peak=$(peak_rss_kb)
    reset_peak
    raw_sqlite "$n"
    write_scenario "create (POST), 1 connection" "$n" create "$write1_opts"
    write_scenario "create (POST), 8 connections" "$n" create "$write8_opts"
    write_scenario "update (PUT), 1 connection" "$n" update "$write1_opts"
    write_scenario "update (PUT), 8 connections" "$n" update "$write8_opts"
    printf '{"kind":"rss","n":%d,"rss_kb":%d,"restart_rss_kb":%d,"setup_peak_kb":%d,"reads_peak_kb":%d,"writes_peak_kb":%d,"after_writes_kb":%d,"peak_reset":%s,"load_seconds":%s}\n' \
        "$n" "$rss" "$restart_rss" "$setup_peak" "$reads_peak" "$(peak_rss_kb)" "$(rss_kb)" \
        "$peak_reset" "$load_s" >>"$results"
    stop_server
    [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$data"
}

bench_change_connection() {
    local data=$work/data-change-connection line
    mkdir -p -m 700 "$data"
    log "change-connection: creating $n_datasets datasets"
    start_server "$data"
    line=$(BENCH_KEY=$key python3 bench/bench.py change-connection "$port" "$n_datasets")
    echo "$line" >>"$results"
    stop_server
    [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$data"
}

# The PostgreSQL store: reads from memory as on SQLite (GET one connection, against nginx and the
# bare handler), creates against pgbench on the same server with 1 and 8 clients.
bench_pg() {
    local n=$1 data=$work/data-pg
    start_pg
    mkdir -p -m 700 "$data"
    log "PostgreSQL store, N=$n: loading"
    start_server "$data" "$pg_url"
    BENCH_KEY=$key python3 bench/bench.py load "$port" "$n" >/dev/null
    wait_idle
    fetch "PostgreSQL store: GET one connection" "$n" "/dip/publicapi/admin/connections/$one" one.json
    start_bare "$work/www/one.json"
    read_alternated "PostgreSQL store: GET one connection" "$n" "$read_opts" \
        "/dip/publicapi/admin/connections/$one"
    stop_bare
    wait_idle
    raw_pg 1 1
    write_scenario "PostgreSQL store: create (POST), 1 connection" "$n" create "$write1_opts"
    raw_pg 8 2
    write_scenario "PostgreSQL store: create (POST), 8 connections" "$n" create "$write8_opts"
    stop_server
    stop_pg
    [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$data"
}

# --- main ------------------------------------------------------------------------------------

for n in $sizes; do
    case $n in '' | *[!0-9]*) die "BENCH_SIZES must be numbers: '$sizes'" ;; esac
    [ "$n" -ge 1 ] || die "BENCH_SIZES must be numbers of at least 1: '$sizes'"
done
case $secs in '' | *[!0-9]* | 0) die "BENCH_SECONDS must be a whole number of seconds, at least 1" ;; esac
case $pg_size in '' | *[!0-9]*) die "BENCH_PG_SIZE must be a number: '$pg_size'" ;; esac
case $only in '' | pg) ;; *) die "BENCH_ONLY must be empty or pg: '$only'" ;; esac
[ "$only" != pg ] || [ "$pg_size" -gt 0 ] || die "BENCH_ONLY=pg needs BENCH_PG_SIZE above 0"

ensure_tools
log "building"
make -s -j"$(nproc)" build/switchboard build/bench/sqlite_commit build/bench/mhd_bare

rm -rf "$work"
mkdir -p "$work"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

key=$(python3 -c 'import secrets, string
print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(40)))')
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
port=$(free_port)
nginx_port=$(free_port)
bare_port=$(free_port)
# the connection that the one-connection reads ask for: the same name at every N
one=conn_000000

printf '{"kind":"settings","settings":"reads: wrk %s, full list: %s; writes: %s and %s; all %s"}\n' \
    "$read_opts" "$list_opts" "$write1_opts" "$write8_opts" "$wrk_common" >"$results"

start_nginx
if [ "$only" != pg ]; then
    for n in $sizes; do
        bench_size "$n"
    done
    bench_change_connection
fi
[ "$pg_size" -eq 0 ] || bench_pg "$pg_size"

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
header="Switchboard $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($cpu), $(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, data on $(df --output=fstype "$work" | tail -n 1); load average before: $load_before"
python3 bench/bench.py table "$results" "$header" >"$out/results.md"
cat "$out/results.md"
