#!/usr/bin/env bash
# POST /tasks and GET /tasks/{id} measured with wrk (Debian package), which takes less CPU than the C#
# client on this 2-core machine. Starts an API-only server (--max-workers 0) on a free loopback port,
# loads it, stops it (by its PID).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/bench/wrk"
command -v wrk >/dev/null || apt-get install -y -qq wrk
dotnet build "$root/bench/Skiff.Bench" -c Release -nologo -v quiet >/dev/null
data="$(mktemp -d)"
port="${PORT:-7191}"
url="http://127.0.0.1:$port"
export SKIFF_ADMIN_KEY=sk_bench_key_0123456789abcdefghijklmnopqrstuvwxyz
dotnet "$root/bench/Skiff.Bench/bin/Release/net10.0/skiff.dll" server --data "$data" --urls "$url" --max-workers 0 --executor process >"$data/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -fs "$url/health" >/dev/null && break; sleep 0.2; done
wrk -t1 -c4 -d3s -s "$here/post.lua" "$url/tasks" >/dev/null   # warm-up
for c in 4 8 16; do
    echo "POST /tasks, $c connections:"; wrk -t1 -c"$c" -d10s -s "$here/post.lua" --latency "$url/tasks" | grep -E "Requests/sec|50%|99%"
done
id="$(curl -fs -H "Authorization: Bearer $SKIFF_ADMIN_KEY" "$url/tasks?limit=1" | grep -o '"taskId":"[^"]*"' | head -1 | cut -d'"' -f4)"
echo "GET /tasks/{id}, 4 connections:"; wrk -t1 -c4 -d10s -s "$here/get.lua" --latency "$url/tasks/$id" | grep -E "Requests/sec|50%|99%"
