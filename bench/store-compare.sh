#!/usr/bin/env bash
# Side by side, same machine, same build: the server with the memory store and with
# json_storage_file, each running the attend/leave load and the relay load.
# Usage: bench/store-compare.sh [server binary] [runs=3]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/bin/workspaces-server}
runs=${2:-3}
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
pid=

start() {  # $1: extra config JSON members
  printf '{"reconnect_grace_seconds":0,"max_capacity_of_workspace":5%s}\n' "$1" >"$work/config.json"
  rm -f "$work/state.jsonl" "$work/state.jsonl.lock"
  MAGICK_TOKEN=bench-secret-bench-secret-0123456789abcdef SALT_STRING=bench-salt-bench-salt-0123456789abcdef DEVELOPMENT=false \
    LOG_LEVEL=warn "$bin" --config "$work/config.json" --port 0 >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    port=$(grep -o 'listening on http://[0-9.]*:[0-9]*' "$work/log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "server did not start:" >&2; cat "$work/log" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

# Alternate the two stores run by run, so drift on the machine hits both alike.
for run in $(seq "$runs"); do
  for store in memory json-file; do
    extra=""
    [ "$store" = json-file ] && extra=",\"json_storage_file\":\"$work/state.jsonl\""
    start "$extra"
    relay=$(STATE_FILE="$work/state.jsonl" node bench/relay-load.mjs "ws://127.0.0.1:$port/ws" 50 5 32)
    attend=$(node bench/attend-load.mjs "ws://127.0.0.1:$port/ws" 32 5)
    echo "run=$run store=$store relay: $relay | attend: $attend"
    stop
  done
done
