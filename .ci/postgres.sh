#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the storage-postgres and two-node tests.
#
#   eval "$(bash .ci/postgres.sh start)"   # prints `export TESSERA_TEST_POSTGRES_URL=…` lines
#   bash .ci/postgres.sh stop              # stops it and removes its directory
#
# `start` installs PostgreSQL from the distribution's packages when no `initdb` is found
# (Debian: `apt-get install postgresql`, binaries in /usr/lib/postgresql/<major>/bin),
# creates a cluster in a new temporary directory owned by an unprivileged user (initdb
# refuses to run as root: the script uses the `postgres` user, or creates the system user
# `tessera-pg`), starts it on a free loopback port with a random password (scram-sha-256)
# and creates the database `tessera_test`. Everything but the exports goes to stderr.
# The cluster trades durability for speed (fsync off): it is for tests only.
set -Eeuo pipefail

STATE_FILE="${TESSERA_PG_STATE_FILE:-${TMPDIR:-/tmp}/tessera-ci-postgres.state}"
DB_USER=tessera
DB_NAME=tessera_test

log() { echo "postgres.sh: $*" >&2; }

# The directory holding initdb/pg_ctl/postgres: on PATH, or the newest Debian layout.
find_bindir() {
    local initdb
    if initdb="$(command -v initdb 2>/dev/null)"; then
        dirname "$(readlink -f "$initdb")"
        return 0
    fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
        return 0
    fi
    return 1
}

install_postgres() {
    if [ "$(id -u)" -ne 0 ]; then
        log "PostgreSQL is not installed and this is not root: install the postgresql package"
        exit 1
    fi
    log "installing PostgreSQL from the distribution packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends postgresql >&2
}

# Run a command as the unprivileged cluster owner.
as_owner() {
    if [ "$(id -u)" -ne 0 ]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$OWNER" -- "$@"
    else
        setpriv --reuid="$OWNER" --regid="$(id -g "$OWNER")" --init-groups -- "$@"
    fi
}

pick_owner() {
    if [ "$(id -u)" -ne 0 ]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        if ! id tessera-pg >/dev/null 2>&1; then
            useradd --system --no-create-home --shell /usr/sbin/nologin tessera-pg >&2
        fi
        echo tessera-pg
    fi
}

# A loopback port nobody listens on (checked again by the server, which fails if taken).
free_port() {
    local port
    for _ in $(seq 1 50); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

start() {
    local bindir
    if ! bindir="$(find_bindir)"; then
        install_postgres
        bindir="$(find_bindir)" || { log "initdb not found after installing"; exit 1; }
    fi
    OWNER="$(pick_owner)"
    local dir
    dir="$(mktemp -d "${TMPDIR:-/tmp}/tessera-pg.XXXXXX")"
    # `stop` without TESSERA_PG_DIR stops the cluster started last.
    echo "$dir" >"$STATE_FILE"
    export TESSERA_PG_DIR="$dir"
    # From here on a failure removes what was made.
    trap 'log "start failed; cleaning up"; stop || true' ERR
    chmod 700 "$dir"
    [ "$(id -u)" -ne 0 ] || chown "$OWNER" "$dir"
    local password
    password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    printf '%s\n' "$password" >"$dir/pwfile"
    [ "$(id -u)" -ne 0 ] || chown "$OWNER" "$dir/pwfile"
    chmod 600 "$dir/pwfile"
    log "initdb ($bindir) as $OWNER in $dir"
    as_owner "$bindir/initdb" -D "$dir/data" -U "$DB_USER" --pwfile="$dir/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; false; }
    rm -f "$dir/pwfile"
    local port started=""
    for _ in 1 2 3 4 5; do
        port="$(free_port)"
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
                -c max_connections=300 -c fsync=off -c synchronous_commit=off \
                -c full_page_writes=off" start >&2; then
            started=1
            break
        fi
        log "could not start on port $port; trying another"
        tail -n 5 "$dir/server.log" >&2 || true
    done
    [ -n "$started" ] || { log "the server did not start"; false; }
    echo "$bindir" >"$dir/bindir"
    as_owner "$bindir/createdb" -h "$dir" -p "$port" -U "$DB_USER" "$DB_NAME" >&2
    trap - ERR
    log "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, database $DB_NAME"
    echo "export TESSERA_TEST_POSTGRES_URL='postgres://$DB_USER:$password@127.0.0.1:$port/$DB_NAME'"
    echo "export TESSERA_PG_DIR='$dir'"
}

stop() {
    local dir="${TESSERA_PG_DIR:-}"
    if [ -z "$dir" ] && [ -f "$STATE_FILE" ]; then
        dir="$(cat "$STATE_FILE")"
    fi
    if [ -z "$dir" ] || [ ! -d "$dir" ]; then
        log "no cluster to stop"
        rm -f "$STATE_FILE"
        return 0
    fi
    case "$dir" in
        "${TMPDIR:-/tmp}"/tessera-pg.*) ;;
        *) log "refusing to remove $dir (not a directory this script made)"; return 1 ;;
    esac
    if [ -f "$dir/data/postmaster.pid" ]; then
        local bindir owner
        bindir="$(cat "$dir/bindir" 2>/dev/null || find_bindir)"
        owner="$(stat -c %U "$dir/data")"
        OWNER="$owner"
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >&2 || log "pg_ctl stop failed"
    fi
    rm -rf "$dir"
    rm -f "$STATE_FILE"
    log "stopped and removed $dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
