#!/usr/bin/env bash
# authzen-wrk.sh: AuthZEN single-evaluation throughput over loopback HTTP,
# as a share of the server's own static discovery document, with wrk.
#
#   bench/authzen-wrk.sh [seconds] [connections]     # defaults: 10 16
#
# Builds holdfast, starts "serve --demo" on a fresh data directory (SQLite,
# 127.0.0.1, a free port), with a bootstrap API token, then runs wrk on
# GET /.well-known/authzen-configuration and on POST /access/v1/evaluation
# (a device restore question by a demo administrator, answered allow), back
# to back, and prints both rates and their ratio. Needs wrk, curl and jq.
# HOLDFAST_BENCH_ROUNDS=N repeats the pair N times (default 1).
set -euo pipefail

secs=${1:-10}
conns=${2:-16}
rounds=${HOLDFAST_BENCH_ROUNDS:-1}
threads=2
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() {
	if [[ -n ${pid:-} ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

for tool in wrk curl jq; do
	command -v "$tool" >/dev/null || { echo "authzen-wrk: $tool is required (apt-get install -y $tool)" >&2; exit 1; }
done
(cd "$repo" && go build -p 1 -o "$work/holdfast" ./cmd/holdfast)

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
token="hf_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=' | head -c 43)"
HOLDFAST_BOOTSTRAP_TOKEN=$token HOLDFAST_LOG_LEVEL=${HOLDFAST_LOG_LEVEL:-info} \
	"$work/holdfast" serve --demo --data-dir "$work/data" --addr "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
	curl -fs "$base/.well-known/authzen-configuration" >/dev/null 2>&1 && break
	kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
	sleep 0.1
done

auth=(-H "Authorization: Bearer $token")
admin=$(curl -fs "${auth[@]}" "$base/api/v1/administrators?role=cloud_admin" | jq -r '.administrators[0].email')
device=$(curl -fs "${auth[@]}" "$base/api/v1/devices" | jq -r '.devices[0].id')
body=$(jq -cn --arg s "$admin" --arg d "$device" \
	'{subject:{type:"administrator",id:$s},action:{name:"restores.view"},resource:{type:"device",id:$d}}')
answer=$(curl -fs "${auth[@]}" -H 'Content-Type: application/json' -d "$body" "$base/access/v1/evaluation")
echo "question: $body"
echo "answer:   $answer"

cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [[$body]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA

rate() { awk '/^Requests\/sec:/ {print $2}'; }
for round in $(seq "$rounds"); do
	meta=$(wrk -t"$threads" -c"$conns" -d"${secs}s" "$base/.well-known/authzen-configuration" | rate)
	eval_rate=$(wrk -t"$threads" -c"$conns" -d"${secs}s" -s "$work/post.lua" "$base/access/v1/evaluation" | rate)
	ratio=$(awk -v a="$eval_rate" -v b="$meta" 'BEGIN {printf "%.0f", 100*a/b}')
	printf 'round %d: metadata %s req/s, evaluation %s req/s, evaluation/metadata %s%%\n' "$round" "$meta" "$eval_rate" "$ratio"
done
