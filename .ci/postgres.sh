#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the tests and exports its DSN in
# RUSTOK_TEST_POSTGRES_DSN. Source it (`. .ci/postgres.sh`) and call
# `pg_throwaway_stop` when done (.ci/run does so from a trap).
#
# - Installs Debian's postgresql package when initdb is missing (CI machines).
# - The server runs as an unprivileged user (PostgreSQL refuses to run as
#   root): the current user when not root, else "postgres" (created by the
#   package), else "nobody".
# - Data directory and socket in a fresh temporary directory, listening on
#   127.0.0.1 only, on a free port; trust authentication for loopback (the
#   cluster holds nothing and lives as long as the test run).

pg_find_bin() {
	local d
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v pg_ctl)")"
		return 0
	fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

pg_free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

pg_throwaway_start() {
	local bin user port dir
	if ! bin=$(pg_find_bin); then
		if ! command -v apt-get >/dev/null 2>&1; then
			echo "postgres.sh: PostgreSQL is missing and apt-get is not available" >&2
			return 1
		fi
		echo "installing postgresql"
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null || return 1
		bin=$(pg_find_bin) || { echo "postgres.sh: initdb not found after install" >&2; return 1; }
	fi
	user=$(id -un)
	if [ "$(id -u)" = 0 ]; then
		if id postgres >/dev/null 2>&1; then user=postgres; else user=nobody; fi
	fi
	dir=$(mktemp -d /tmp/rustok-pg.XXXXXX) || return 1
	chmod 755 "$dir"
	mkdir -p "$dir/data" "$dir/sock"
	[ "$(id -u)" = 0 ] && chown -R "$user" "$dir/data" "$dir/sock"
	pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u "$PG_THROWAWAY_USER" -- "$@"; else "$@"; fi; }
	PG_THROWAWAY_USER=$user
	PG_THROWAWAY_BIN=$bin
	PG_THROWAWAY_DIR=$dir
	pg_as "$bin/initdb" -D "$dir/data" -U rustok --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	for _ in 1 2 3 4 5; do
		port=$(pg_free_port) || return 1
		if pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/sock/server.log" -w -t 60 \
			-o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off -c max_connections=200" start >/dev/null; then
			export RUSTOK_TEST_POSTGRES_DSN="postgres://rustok@127.0.0.1:$port/postgres?sslmode=disable"
			echo "PostgreSQL ($bin) as $user on 127.0.0.1:$port: RUSTOK_TEST_POSTGRES_DSN=$RUSTOK_TEST_POSTGRES_DSN"
			return 0
		fi
	done
	cat "$dir/sock/server.log" >&2
	return 1
}

pg_throwaway_stop() {
	if [ -n "${PG_THROWAWAY_DIR:-}" ] && [ -d "$PG_THROWAWAY_DIR/data" ]; then
		pg_as "$PG_THROWAWAY_BIN/pg_ctl" -D "$PG_THROWAWAY_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
		rm -rf "$PG_THROWAWAY_DIR"
	fi
	PG_THROWAWAY_DIR=
}
