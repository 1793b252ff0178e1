#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the test suite and print the line to eval:
#   eval "$(.ci/postgres.sh)"      # sets OMNICRM_POSTGRES_URL (and OMNICRM_POSTGRES_DATA)
#   ...run the tests...
#   .ci/postgres.sh stop           # stops the server started above and deletes its files
# On a fresh Debian machine (as root) it installs the `postgresql` package first. The
# cluster lives in a temp dir owned by the `postgres` user, listens on 127.0.0.1 only
# (port $OMNICRM_PG_PORT, default 54329, or the next free one), with fsync on.
# Everything but the final export lines goes to stderr.
set -euo pipefail

find_bin() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$found" && -x "$found/pg_ctl" ]]; then echo "$found"; return 0; fi
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(command -v pg_ctl)"; return 0
    fi
    return 1
}

as_postgres() {
    if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [[ "${1:-}" == "stop" ]]; then
    data="${OMNICRM_POSTGRES_DATA:?stop needs OMNICRM_POSTGRES_DATA from the start output}"
    bin="$(find_bin)"
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w stop >&2 || true
    rm -rf "$(dirname "$data")"
    exit 0
fi

if ! bin="$(find_bin)"; then
    echo "installing postgresql with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    bin="$(find_bin)"
fi

if [[ "$(id -u)" == 0 ]] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
fi

port="${OMNICRM_PG_PORT:-54329}"
while (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done

root="$(mktemp -d /tmp/omnicrm-pg.XXXXXX)"
data="$root/data"
if [[ "$(id -u)" == 0 ]]; then chown postgres "$root"; fi
chmod 700 "$root"
as_postgres "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --no-locale >&2
as_postgres "$bin/pg_ctl" -D "$data" -l "$root/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $root -c fsync=on -c max_connections=200" \
    start >&2
as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres omnicrm_test >&2

echo "export OMNICRM_POSTGRES_URL=postgresql://postgres@127.0.0.1:$port/omnicrm_test"
echo "export OMNICRM_POSTGRES_DATA=$data"
