#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Real database servers for the API tests of live connection probes.
#
#   tests/peers.sh start DIR   starts PostgreSQL and MariaDB on free 127.0.0.1 ports with their
#                              data, sockets and logs under DIR, password authentication on TCP,
#                              a role/user `sbtest` with a random password and a database
#                              `sbtest` on each, and writes DIR/peers.env (mode 0600):
#                              PG_HOST PG_PORT PG_USER PG_PASSWORD PG_DB
#                              MYSQL_HOST MYSQL_PORT MYSQL_USER MYSQL_PASSWORD MYSQL_DB
#                              (and PG_VERSION, MYSQL_VERSION). The MariaDB user has all
#                              privileges on databases named sbtest%, so that a missing
#                              `sbtest_...` database is "unknown database", not "access denied".
#   tests/peers.sh stop DIR    stops both; safe to call twice, or after a failed start.
#
# PostgreSQL runs with fsync=on and full_page_writes=on, so that a commit it flushed survives a
# power loss; synchronous_commit is off by default, for speed, and a test that checks
# durability turns it on for its own database (ALTER DATABASE ... SET synchronous_commit = on:
# tests/api/server.py, Server(durable_store=True)).
#
# Runs as root (PostgreSQL is run as `postgres` with runuser, MariaDB with --user=mysql) or as
# an ordinary user (both then run as that user). Passwords are never printed: they go to the
# servers on standard input and to DIR/peers.env only. Needs the Debian packages postgresql,
# mariadb-server and mariadb-client (scripts/deps.sh installs them).
set -eu

START_TIMEOUT=60
STOP_TIMEOUT=30

die() {
    echo "peers: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
action=$1
dir=$2
case "$dir" in
/*) ;;
*) dir="$PWD/$dir" ;;
esac

if [ "$(id -u)" -eq 0 ]; then
    pg_user=postgres
    my_user=mysql
else
    pg_user=$(id -un)
    my_user=$(id -un)
fi

# Runs a command as the PostgreSQL owner.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$pg_user" -- "$@"
    else
        "$@"
    fi
}

pg_bindir() {
    for d in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
        if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

random_password() {
    # 32 hex characters: 128 random bits, nothing to quote in SQL or in the env file
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

log_tail() {
    if [ -f "$1" ]; then
        echo "--- last lines of $1:" >&2
        tail -n 25 "$1" >&2
    fi
}

# ---- stop --------------------------------------------------------------------------------

stop_pg() {
    data="$dir/pg/data"
    [ -f "$data/postmaster.pid" ] || return 0
    bindir=$(pg_bindir) || {
        # no binaries to stop it with: signal the postmaster directly
        pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
        if [ -n "$pid" ]; then
            kill -INT "$pid" 2>/dev/null || true
        fi
        return 0
    }
    as_pg "$bindir/pg_ctl" -D "$data" -m fast -w -t "$STOP_TIMEOUT" stop >/dev/null 2>&1 || {
        pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -QUIT "$pid" 2>/dev/null || true
        fi
    }
}

stop_mariadb() {
    pidfile="$dir/my/mariadbd.pid"
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        i=0
        while kill -0 "$pid" 2>/dev/null && [ $i -lt $((STOP_TIMEOUT * 10)) ]; do
            sleep 0.1
            i=$((i + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

if [ "$action" = stop ]; then
    [ -d "$dir" ] || exit 0
    stop_pg
    stop_mariadb
    rm -f "$dir/peers.env"
    exit 0
fi
[ "$action" = start ] || usage

# ---- start -------------------------------------------------------------------------------

bindir=$(pg_bindir) || die "no PostgreSQL server under /usr/lib/postgresql/*/bin (install the \
postgresql package: scripts/deps.sh)"
for b in mariadbd mariadb-install-db mariadb mariadb-admin; do
    command -v "$b" >/dev/null 2>&1 || die "$b not found (install mariadb-server and \
mariadb-client: scripts/deps.sh)"
done
command -v python3 >/dev/null 2>&1 || die "python3 not found"

mkdir -p "$dir"
if [ -e "$dir/pg" ] || [ -e "$dir/my" ]; then
    die "$dir already holds peers; stop them and use a fresh directory"
fi
# the server users must reach their subdirectories
chmod 0755 "$dir"
if [ "$(id -u)" -eq 0 ] && ! runuser -u "$pg_user" -- test -x "$dir"; then
    die "user $pg_user cannot reach $dir (a parent directory is not searchable); use a \
directory under /tmp"
fi
umask 077

pg_port=$(free_port)
my_port=$(free_port)
while [ "$my_port" = "$pg_port" ]; do
    my_port=$(free_port)
done
pg_password=$(random_password)
my_password=$(random_password)

# --- PostgreSQL: TCP with scram-sha-256 passwords, the Unix socket (in DIR/pg) by peer ---
pg_log="$dir/postgresql.log"
mkdir "$dir/pg"
: >"$pg_log"
if [ "$(id -u)" -eq 0 ]; then
    chown "$pg_user" "$dir/pg" "$pg_log"
fi
as_pg "$bindir/initdb" -D "$dir/pg/data" -U postgres --auth-host=scram-sha-256 \
    --auth-local=peer -E UTF8 --locale=C --no-sync >>"$pg_log" 2>&1 || {
    log_tail "$pg_log"
    die "initdb failed (log: $pg_log)"
}
as_pg "$bindir/pg_ctl" -D "$dir/pg/data" -l "$pg_log" -w -t "$START_TIMEOUT" \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir/pg \
-c fsync=on -c full_page_writes=on -c synchronous_commit=off -c max_connections=300 \
-c password_encryption=scram-sha-256" start >/dev/null 2>&1 || {
    log_tail "$pg_log"
    die "PostgreSQL did not start on 127.0.0.1:$pg_port (log: $pg_log)"
}
printf "CREATE ROLE sbtest LOGIN CREATEDB PASSWORD '%s';\nCREATE DATABASE sbtest OWNER sbtest;\n" \
    "$pg_password" |
    as_pg "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$dir/pg" -p "$pg_port" -U postgres \
        -d postgres >>"$pg_log" 2>&1 || {
    log_tail "$pg_log"
    die "could not create the PostgreSQL role and database (log: $pg_log)"
}

# --- MariaDB: TCP on 127.0.0.1 with mysql_native_password, root by unix_socket in DIR/my ---
my_log="$dir/mariadb.log"
my_sock="$dir/my/mariadbd.sock"
mkdir "$dir/my"
: >"$my_log"
if [ "$(id -u)" -eq 0 ]; then
    chown "$my_user" "$dir/my" "$my_log"
fi
mariadb-install-db --no-defaults --datadir="$dir/my/data" --user="$my_user" \
    --auth-root-authentication-method=socket --skip-test-db >>"$my_log" 2>&1 || {
    log_tail "$my_log"
    die "mariadb-install-db failed (log: $my_log)"
}
# started detached; its pid file is what stop uses
nohup mariadbd --no-defaults --user="$my_user" --datadir="$dir/my/data" \
    --port="$my_port" --bind-address=127.0.0.1 --skip-networking=0 --socket="$my_sock" \
    --pid-file="$dir/my/mariadbd.pid" --log-error="$my_log" --skip-name-resolve \
    --skip-log-bin --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
    --innodb-flush-log-at-trx-commit=0 --max-connections=50 </dev/null >/dev/null 2>&1 &
my_pid=$!
i=0
until mariadb-admin --no-defaults --socket="$my_sock" -u root ping >/dev/null 2>&1; do
    if ! kill -0 "$my_pid" 2>/dev/null || [ $i -ge $((START_TIMEOUT * 10)) ]; then
        log_tail "$my_log"
        die "MariaDB did not start on 127.0.0.1:$my_port (log: $my_log)"
    fi
    sleep 0.1
    i=$((i + 1))
done
printf "DELETE FROM mysql.global_priv WHERE User = '';\nFLUSH PRIVILEGES;\n\
CREATE USER 'sbtest'@'127.0.0.1' IDENTIFIED BY '%s';\nCREATE DATABASE sbtest;\n\
GRANT ALL PRIVILEGES ON \`sbtest%%\`.* TO 'sbtest'@'127.0.0.1';\n" "$my_password" |
    mariadb --no-defaults --socket="$my_sock" -u root >>"$my_log" 2>&1 || {
    log_tail "$my_log"
    die "could not create the MariaDB user and database (log: $my_log)"
}

# --- both must answer password logins over TCP before the tests start ---
i=0
# (the passwords travel in the environment of these two clients only, never on a command line)
until PGPASSWORD=$pg_password "$bindir/psql" -X -q -w -h 127.0.0.1 -p "$pg_port" -U sbtest \
    -d sbtest -c 'SELECT 1' >/dev/null 2>&1; do
    if [ $i -ge 50 ]; then
        log_tail "$pg_log"
        die "PostgreSQL refuses the sbtest login on 127.0.0.1:$pg_port (log: $pg_log)"
    fi
    sleep 0.1
    i=$((i + 1))
done
MYSQL_PWD=$my_password mariadb --no-defaults --protocol=TCP -h 127.0.0.1 -P "$my_port" \
    -u sbtest -D sbtest -e 'SELECT 1' >/dev/null 2>>"$my_log" || {
    log_tail "$my_log"
    die "MariaDB refuses the sbtest login on 127.0.0.1:$my_port (log: $my_log)"
}

pg_version=$(as_pg "$bindir/psql" -X -A -t -h "$dir/pg" -p "$pg_port" -U postgres -d postgres \
    -c 'SHOW server_version' 2>>"$pg_log" | cut -d' ' -f1 || true)
my_version=$(mariadb --no-defaults --socket="$my_sock" -u root -N -B -e 'SELECT VERSION()' \
    2>>"$my_log" || true)

env_file="$dir/peers.env"
cat >"$env_file.tmp" <<EOF
PG_HOST=127.0.0.1
PG_PORT=$pg_port
PG_USER=sbtest
PG_PASSWORD=$pg_password
PG_DB=sbtest
PG_VERSION=$pg_version
MYSQL_HOST=127.0.0.1
MYSQL_PORT=$my_port
MYSQL_USER=sbtest
MYSQL_PASSWORD=$my_password
MYSQL_DB=sbtest
MYSQL_VERSION=$my_version
EOF
mv "$env_file.tmp" "$env_file"
echo "peers: PostgreSQL on 127.0.0.1:$pg_port, MariaDB on 127.0.0.1:$my_port (env: $env_file)"
