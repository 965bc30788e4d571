#!/usr/bin/env bash
# Starts a throwaway Docker engine for the tests and exports DOCKER_HOST
# (and TESTCONTAINERS_RYUK_DISABLED=true). Source it (`. .ci/docker.sh`)
# and call `docker_throwaway_stop` when done (.ci/run does so from a trap).
#
# - Installs Debian's docker.io package when dockerd is missing (CI
#   machines) with service starts denied (policy-rc.d), so the package's
#   own dockerd never runs; this script starts its own daemon.
# - The daemon runs as root (it must) with everything in a fresh temporary
#   directory: --data-root, --exec-root (its containerd's state and socket
#   too), --pidfile and the API socket; an empty --config-file so the
#   machine's /etc/docker/daemon.json is not read.
# - Storage driver vfs (no overlay mounts needed), no default bridge, no
#   iptables rules and no masquerading: containers run on the host network
#   and bind loopback, so no address outside 127.0.0.0/8 is ever used.
#   Nothing is pulled: the images the tests use are built FROM scratch.

docker_throwaway_start() {
	local dir sock i
	if ! command -v dockerd >/dev/null 2>&1; then
		if ! command -v apt-get >/dev/null 2>&1; then
			echo "docker.sh: dockerd is missing and apt-get is not available" >&2
			return 1
		fi
		echo "installing docker.io"
		# The package must not start its own dockerd (default bridge,
		# iptables): deny service starts unless a policy already does.
		local policy=/usr/sbin/policy-rc.d added_policy=
		if [ ! -e "$policy" ]; then
			printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
		fi
		local rc=0
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io) >/dev/null || rc=$?
		[ -n "$added_policy" ] && rm -f "$policy"
		[ "$rc" = 0 ] || return 1
		command -v dockerd >/dev/null 2>&1 || { echo "docker.sh: dockerd not found after install" >&2; return 1; }
	fi
	if [ "$(id -u)" != 0 ]; then
		echo "docker.sh: dockerd must run as root" >&2
		return 1
	fi
	dir=$(mktemp -d /tmp/rustok-docker.XXXXXX) || return 1
	sock="$dir/docker.sock"
	mkdir -p "$dir/data" "$dir/exec"
	echo '{}' >"$dir/daemon.json"
	DOCKER_THROWAWAY_DIR=$dir
	local -a flags=(--config-file "$dir/daemon.json" --data-root "$dir/data" --exec-root "$dir/exec"
		--pidfile "$dir/dockerd.pid" -H "unix://$sock" --storage-driver=vfs
		--bridge=none --iptables=false --ip-masq=false --userland-proxy=false)
	if dockerd --help 2>&1 | grep -q -- '--ip6tables'; then
		flags+=(--ip6tables=false)
	fi
	dockerd "${flags[@]}" >"$dir/dockerd.log" 2>&1 &
	DOCKER_THROWAWAY_PID=$!
	for i in $(seq 1 120); do
		if DOCKER_HOST="unix://$sock" docker info >/dev/null 2>&1; then
			export DOCKER_HOST="unix://$sock"
			export TESTCONTAINERS_RYUK_DISABLED=true
			echo "dockerd $(dockerd --version | sed 's/^Docker version //') (vfs, no bridge, no iptables): DOCKER_HOST=$DOCKER_HOST"
			return 0
		fi
		if ! kill -0 "$DOCKER_THROWAWAY_PID" 2>/dev/null; then
			break
		fi
		sleep 0.5
	done
	echo "docker.sh: dockerd did not answer within 60s" >&2
	tail -n 30 "$dir/dockerd.log" >&2
	docker_throwaway_stop
	return 1
}

# docker_throwaway_stop stops the daemon (SIGTERM, which stops its
# containers and its containerd; SIGKILL after 30s), its containerd by pid
# file if it survived, and removes the directory with every image and
# container in it.
docker_throwaway_stop() {
	local i
	if [ -n "${DOCKER_THROWAWAY_PID:-}" ] && kill -0 "$DOCKER_THROWAWAY_PID" 2>/dev/null; then
		kill -TERM "$DOCKER_THROWAWAY_PID" 2>/dev/null || true
		for i in $(seq 1 60); do
			kill -0 "$DOCKER_THROWAWAY_PID" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL "$DOCKER_THROWAWAY_PID" 2>/dev/null || true
		wait "$DOCKER_THROWAWAY_PID" 2>/dev/null || true
	fi
	DOCKER_THROWAWAY_PID=
	# The containerd that dockerd started goes with it, unless dockerd was
	# killed: then stop it by its pid file.
	local cpid
	if [ -n "${DOCKER_THROWAWAY_DIR:-}" ] && cpid=$(cat "$DOCKER_THROWAWAY_DIR/exec/containerd/containerd.pid" 2>/dev/null) &&
		[ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$cpid/cmdline" 2>/dev/null | grep -q -- "$DOCKER_THROWAWAY_DIR/"; then
		kill -TERM "$cpid" 2>/dev/null || true
		for i in $(seq 1 20); do
			kill -0 "$cpid" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL "$cpid" 2>/dev/null || true
	fi
	if [ -n "${DOCKER_THROWAWAY_DIR:-}" ] && [ -d "$DOCKER_THROWAWAY_DIR" ]; then
		# vfs layers and container state may still be mounted under the
		# exec root (shm, netns): unmount before removing.
		local m
		for m in $({ grep -o " $DOCKER_THROWAWAY_DIR/[^ ]*" /proc/self/mounts 2>/dev/null || true; } | sort -r); do
			umount -l "$m" 2>/dev/null || true
		done
		rm -rf "$DOCKER_THROWAWAY_DIR" || echo "docker.sh: could not remove $DOCKER_THROWAWAY_DIR" >&2
	fi
	DOCKER_THROWAWAY_DIR=
}
