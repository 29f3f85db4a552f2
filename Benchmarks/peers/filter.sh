#!/usr/bin/env bash
# Side-by-side flood-filter benchmark on loopback (issue #4): one client flooding as fast as wrk can,
# limited to 10 requests/s per address.
#
# One nginx instance is the common backend. wrk (one address, 127.0.0.1) then floods:
#   Levee (release build, --workers 1, the quick form --limit "10/s burst 10": a per-address rule
#     answered with 429; a client that keeps exceeding is banned and gets 403 — both count as rejected)
#   HAProxy (nbthread 1, a stick table storing http_req_rate(1s), `http-request deny deny_status 429`
#     past 10 requests in the last second)
# and prints, per target, rejected (non-2xx) requests/s, served requests/s, wrk's p99 and the
# server's CPU time per request (utime + stime from /proc around each measured run), the
# median over ROUNDS alternating rounds, and a last line
#   levee/haproxy rejected-rps ratio: X
#
# Usage: Benchmarks/peers/filter.sh            (from the repository root)
# Environment: DURATION=10s CONNECTIONS=64 THREADS=1 WARMUP=2s ROUNDS=3 LEVEE_BIN=path (skip the build)
#   FLOOR=1 adds a reference target: `nio-relay PORT respond` (Benchmarks/peers/nio-relay, built here),
#   a SwiftNIO server on one event loop answering every read with a fixed 429 — no parsing, no
#   matching, no counting: the ceiling of any rejecting filter on SwiftNIO's sockets and pipeline.
# Needs the Debian packages wrk, nginx-light (or nginx), haproxy, python3 (installed if missing, as root).
# Only 127.0.0.1 is used; everything started here is stopped on exit.
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

source "$(dirname "$0")/lib.sh"
peers_need wrk:wrk nginx:nginx-light haproxy:haproxy python3:python3

peers_workdir filter

peers_levee_bin "$ROOT"

BACKEND=$(free_port); LEVEE=$(free_port); HAPROXY=$(free_port); FLOOR_PORT=$(free_port)
declare -A PID
if [ -n "${FLOOR:-}" ]; then
    swift build -c release --package-path "$ROOT/Benchmarks/peers/nio-relay" >"$WORK/floor-build.log" 2>&1 \
        || { cat "$WORK/floor-build.log"; exit 1; }
    "$ROOT/Benchmarks/peers/nio-relay/.build/release/nio-relay" "$FLOOR_PORT" respond >"$WORK/floor.log" 2>&1 &
    PIDS+=($!); PID[floor]=$!
fi

# --- the common backend: nginx, one worker, a small static body ---------------------------------
mkdir -p "$WORK/backend"
cat >"$WORK/backend/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/backend/nginx.pid;
error_log $WORK/backend/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/backend/body; proxy_temp_path $WORK/backend/proxy;
    fastcgi_temp_path $WORK/backend/fastcgi; uwsgi_temp_path $WORK/backend/uwsgi; scgi_temp_path $WORK/backend/scgi;
    keepalive_requests 10000000;
    server {
        listen 127.0.0.1:$BACKEND reuseport;
        location / { default_type text/plain; return 200 "hello from the backend\n"; }
    }
}
EOF
nginx -p "$WORK/backend" -e "$WORK/backend/error.log" -c "$WORK/backend/nginx.conf" &
PIDS+=($!)

# --- HAProxy: 10 requests per second per address, then 429 ---------------------------------------
cat >"$WORK/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option http-keep-alive
    http-reuse always
frontend fe
    bind 127.0.0.1:$HAPROXY
    stick-table type ip size 100k expire 30s store http_req_rate(1s)
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }
    option forwardfor
    default_backend be
backend be
    server s1 127.0.0.1:$BACKEND
EOF
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!); PID[haproxy]=$!

# --- Levee: one event loop, the quick form with a per-address limit ------------------------------
"$LEVEE_BIN" serve --listen "127.0.0.1:$LEVEE" --upstream "http://127.0.0.1:$BACKEND" --workers 1 --log-level warning \
    --limit "10/s burst 10" >"$WORK/levee.log" 2>&1 &
PIDS+=($!); PID[levee]=$!

wait_for backend "$BACKEND" "$WORK/backend/error.log"
wait_for haproxy "$HAPROXY" "$WORK/haproxy.log"
wait_for levee "$LEVEE" "$WORK/levee.log"

# run_wrk NAME PORT: prints "rejected_rps served_rps p99_ms cpu_us_per_request" (the target's CPU, /proc)
run_wrk() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "http://127.0.0.1:$2/" >/dev/null
    local before after
    before=$(cpu_ticks "${PID[$1]}")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$2/" >"$WORK/wrk-$1.txt"
    after=$(cpu_ticks "${PID[$1]}")
    python3 - "$WORK/wrk-$1.txt" "$((after - before))" "$(getconf CLK_TCK)" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", text)
total = int(m.group(1))
seconds = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
rejected = int(bad.group(1)) if bad else 0
p = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
p99 = float(p.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p.group(2)]
cpu_us = int(sys.argv[2]) * 1e6 / int(sys.argv[3]) / max(total, 1)
print(f"{rejected / seconds:.0f} {(total - rejected) / seconds:.1f} {p99:.3f} {cpu_us:.1f}")
EOF
}

declare -A REJ SERVED P99 CPU
TARGETS=("levee:$LEVEE" "haproxy:$HAPROXY")
if [ -n "${FLOOR:-}" ]; then
    wait_for nio-respond "$FLOOR_PORT" "$WORK/floor.log"
    TARGETS+=("floor:$FLOOR_PORT")
fi
for round in $(seq "$ROUNDS"); do
    for target in "${TARGETS[@]}"; do
        name=${target%%:*}; port=${target##*:}
        read -r rej served p99 cpu < <(run_wrk "$name" "$port")
        REJ[$name]="${REJ[$name]:-} $rej"; SERVED[$name]="${SERVED[$name]:-} $served"; P99[$name]="${P99[$name]:-} $p99"
        CPU[$name]="${CPU[$name]:-} $cpu"
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo
echo "one client (127.0.0.1) flooding: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, limit 10/s per address, $(nproc) cores, median of $ROUNDS round(s)"
printf "%-34s %14s %12s %10s %12s\n" "target" "rejected/s" "served/s" "p99 ms" "CPU µs/req"
declare -A LABEL=([levee]="levee (1 loop, --limit 10/s)" [haproxy]="haproxy (nbthread 1, stick table)" [floor]="nio-relay respond (no HTTP work)")
for target in "${TARGETS[@]}"; do
    name=${target%%:*}
    printf "%-34s %14s %12s %10s %12s\n" "${LABEL[$name]}" "$(echo "${REJ[$name]}" | median)" "$(echo "${SERVED[$name]}" | median)" "$(echo "${P99[$name]}" | median)" "$(echo "${CPU[$name]}" | median)"
done
levee_rej=$(echo "${REJ[levee]}" | median); haproxy_rej=$(echo "${REJ[haproxy]}" | median)
echo "levee/haproxy rejected-rps ratio: $(python3 -c "print(f'{$levee_rej / max($haproxy_rej, 1):.2f}')")"
