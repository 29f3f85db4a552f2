#!/usr/bin/env bash
# Side-by-side proxy benchmark on loopback (issue #3).
#
# One nginx instance is the common backend (a small static body). The same wrk load then runs
# against: the backend directly, Levee (release build, one event loop), nginx as a reverse proxy
# with limit_req on (a generous limit: nothing is rejected; one worker), and HAProxy with a stick
# table tracking every client (nbthread 1). Prints requests/s and p99 for each and a last line
#   levee/nginx rps ratio: X  p99 levee: A ms nginx: B ms
#
# Also prints each server's CPU time per request (utime + stime from /proc around each measured
# run; nginx counts master and worker): on a noisy machine a steadier measure than requests/s.
#
# Usage: Benchmarks/peers/proxy.sh            (from the repository root)
# Environment: DURATION=10s CONNECTIONS=64 THREADS=1 WARMUP=2s ROUNDS=1 LEVEE_BIN=path (skip the build)
#   RELAY=1 adds a reference target: nio-relay (Benchmarks/peers/nio-relay, built here), a SwiftNIO
#   TCP relay doing no HTTP work at all, on one event loop: the ceiling of any SwiftNIO proxy.
#   FLOOR=1 does the same (the name filter.sh and tls.sh use for their SwiftNIO floors).
# Needs the Debian packages wrk, nginx-light (or nginx), haproxy, python3 (installed if missing, as root).
# Only 127.0.0.1 is used; everything started here is stopped on exit.
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2s}
ROUNDS=${ROUNDS:-1}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RELAY=${RELAY:-${FLOOR:-}}

source "$(dirname "$0")/lib.sh"
peers_need wrk:wrk nginx:nginx-light haproxy:haproxy python3:python3

peers_workdir proxy

peers_levee_bin "$ROOT"

BACKEND=$(free_port); LEVEE=$(free_port); NGINX=$(free_port); HAPROXY=$(free_port); RELAY_PORT=$(free_port)
if [ -n "${RELAY:-}" ]; then
    swift build -c release --package-path "$ROOT/Benchmarks/peers/nio-relay" >"$WORK/relay-build.log" 2>&1 \
        || { cat "$WORK/relay-build.log"; exit 1; }
fi

# --- the common backend: nginx, one worker, a small static body ---------------------------------
mkdir -p "$WORK/backend" "$WORK/nginx"
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
PIDS+=($!); declare -A PID=([backend]=$!)

# --- nginx as a proxy with limit_req (generous: 10M r/s per address, nothing is rejected) --------
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 10000000;
    limit_req_zone \$binary_remote_addr zone=perip:10m rate=10000000r/s;
    upstream backend { server 127.0.0.1:$BACKEND; keepalive 128; keepalive_requests 10000000; }
    server {
        listen 127.0.0.1:$NGINX;
        location / {
            limit_req zone=perip burst=1000000 nodelay;
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
EOF
nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" &
PIDS+=($!); PID[nginx]=$!

# --- HAProxy with a stick table tracking every client's request rate -----------------------------
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
    stick-table type ip size 100k expire 30s store http_req_rate(10s)
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 100000000 }
    option forwardfor
    default_backend be
backend be
    server s1 127.0.0.1:$BACKEND
EOF
haproxy -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
PIDS+=($!); PID[haproxy]=$!

# --- Levee: one event loop, the quick form ----------------------------------------------------------
"$LEVEE_BIN" serve --listen "127.0.0.1:$LEVEE" --upstream "http://127.0.0.1:$BACKEND" --workers 1 --log-level warning \
    >"$WORK/levee.log" 2>&1 &
PIDS+=($!); PID[levee]=$!

if [ -n "${RELAY:-}" ]; then
    "$ROOT/Benchmarks/peers/nio-relay/.build/release/nio-relay" "$RELAY_PORT" "$BACKEND" >"$WORK/relay.log" 2>&1 &
    PIDS+=($!); PID[relay]=$!
fi

wait_for backend "$BACKEND" "$WORK/backend/error.log"
wait_for nginx "$NGINX" "$WORK/nginx/error.log"
wait_for haproxy "$HAPROXY" "$WORK/haproxy.log"
wait_for levee "$LEVEE" "$WORK/levee.log"

# run_wrk NAME PORT: prints "rps p99_ms non2xx status cpu_us_per_request" (the CPU of the target's process)
run_wrk() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "http://127.0.0.1:$2/" >/dev/null
    local before after
    before=$(cpu_ticks "${PID[$1]}")
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$2/" >"$WORK/wrk-$1.txt"
    after=$(cpu_ticks "${PID[$1]}")
    python3 - "$WORK/wrk-$1.txt" "$((after - before))" "$(getconf CLK_TCK)" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
requests = int(re.search(r"(\d+) requests in", text).group(1))
cpu_us = int(sys.argv[2]) * 1e6 / int(sys.argv[3]) / max(requests, 1)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = re.search(r"Socket errors:.*", text)
print(f"{rps:.0f} {float(m.group(1)) * scale:.3f} {bad.group(1) if bad else 0} {'errors' if errors else 'clean'} {cpu_us:.1f}")
EOF
}

declare -A RPS P99 BAD CPU
TARGETS=("backend:$BACKEND" "levee:$LEVEE" "nginx:$NGINX" "haproxy:$HAPROXY")
if [ -n "${RELAY:-}" ]; then
    wait_for nio-relay "$RELAY_PORT" "$WORK/relay.log"
    TARGETS+=("relay:$RELAY_PORT")
fi
for round in $(seq "$ROUNDS"); do
    for target in "${TARGETS[@]}"; do
        name=${target%%:*}; port=${target##*:}
        read -r rps p99 bad status cpu < <(run_wrk "$name" "$port")
        RPS[$name]="${RPS[$name]:-} $rps"; P99[$name]="${P99[$name]:-} $p99"; BAD[$name]=$bad; CPU[$name]="${CPU[$name]:-} $cpu"
        [ "$status" = clean ] || echo "warning: socket errors against $name (see wrk output)" >&2
    done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION on 127.0.0.1, $(nproc) cores, median of $ROUNDS round(s)"
printf "%-28s %12s %10s %8s %12s\n" "target" "requests/s" "p99 ms" "non-2xx" "CPU µs/req"
declare -A LABEL=([backend]="backend (nginx, direct)" [levee]="levee (1 loop)" [nginx]="nginx proxy + limit_req" [haproxy]="haproxy + stick table" [relay]="nio-relay (no HTTP work)")
for target in "${TARGETS[@]}"; do
    name=${target%%:*}
    printf "%-28s %12s %10s %8s %12s\n" "${LABEL[$name]}" "$(echo "${RPS[$name]}" | median)" "$(echo "${P99[$name]}" | median)" "${BAD[$name]}" "$(echo "${CPU[$name]}" | median)"
done
levee_cpu=$(echo "${CPU[levee]}" | median); nginx_cpu=$(echo "${CPU[nginx]}" | median)
echo "CPU per request (the server process, from /proc): levee $levee_cpu µs, nginx $nginx_cpu µs, nginx/levee $(python3 -c "print(f'{$nginx_cpu / max($levee_cpu, 0.001):.2f}')")"
levee_rps=$(echo "${RPS[levee]}" | median); nginx_rps=$(echo "${RPS[nginx]}" | median)
echo "levee/nginx rps ratio: $(python3 -c "print(f'{$levee_rps / $nginx_rps:.2f}')")  p99 levee: $(echo "${P99[levee]}" | median) ms nginx: $(echo "${P99[nginx]}" | median) ms"
