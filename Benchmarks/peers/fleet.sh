#!/usr/bin/env bash
# Fleet-wide quotas (issue #8): what leases buy over asking Redis for every decision.
#
# One redis-server and one nginx backend on loopback. wrk (one thread, CONNECTIONS keep-alive
# connections, all from 127.0.0.1: one client key) drives a release `levee serve --workers 1` with:
#   none        no rule (the proxy's floor)
#   local       one per-address rule on this instance's table
#   global-L10  the same rule with scope = "global", lease = 10  (one Redis call per 10 requests)
#   global-L100, global-L1000 the same with lease = 100, 1000
# The limit (10,000,000/s burst 1,000,000) never bites, so every request is forwarded and the
# figures are the cost of deciding. After each global round the script reads /metrics and prints
# Redis commands per request and any non-2xx. Rounds alternate; medians over ROUNDS are printed.
#
# Then the per-request alternative: redis-benchmark runs the same GCRA script (EVALSHA, mode
# "all", one decision per call, keys over 100,000 clients) with 1 connection (one round trip at a
# time, as a proxy waiting on Redis for each request would) and with CONNECTIONS connections
# (Redis's own ceiling, shared by the whole fleet), printing decisions/s and latency.
#
# Usage: Benchmarks/peers/fleet.sh       (from the repository root)
# Environment: DURATION=5s CONNECTIONS=32 ROUNDS=3 WARMUP=1s LEVEE_BIN=path (skip the build)
# Needs the Debian packages wrk, nginx-light (or nginx), redis-server, redis-tools, python3.
# Only 127.0.0.1 is used; everything started here is stopped on exit.
set -euo pipefail

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-32}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-1s}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

for tool in wrk nginx redis-server redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install -y wrk nginx-light redis-server redis-tools python3)" >&2; exit 1; }
done

source "$(dirname "$0")/lib.sh"
peers_workdir fleet

wait_http() {  # wait_http PORT LOG: until 127.0.0.1:PORT answers HTTP (30 s at most)
    for _ in $(seq 300); do
        if curl -s -o /dev/null "http://127.0.0.1:$1/" 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers on 127.0.0.1:$1; log:" >&2; cat "$2" >&2 || true; return 1
}

peers_levee_bin "$ROOT"

REDIS=$(free_port); BACKEND=$(free_port)
redis-server --port "$REDIS" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" --logfile "$WORK/redis.log" &
PIDS+=($!)
for _ in $(seq 100); do redis-cli -p "$REDIS" ping >/dev/null 2>&1 && break; sleep 0.1; done

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
    server { listen 127.0.0.1:$BACKEND; location / { default_type text/plain; return 200 "hello\n"; } }
}
EOF
nginx -p "$WORK/backend" -e "$WORK/backend/error.log" -c "$WORK/backend/nginx.conf" &
PIDS+=($!)
wait_http "$BACKEND" "$WORK/backend/error.log"

# config NAME PORT ADMIN: the levee.toml of one case
config() {
    cat <<EOF
[server]
workers = 1
[[listen]]
address = "127.0.0.1:$2"
[admin]
address = "127.0.0.1:$3"
[[route]]
upstream = "app"
[upstream.app]
backends = ["127.0.0.1:$BACKEND"]
EOF
    case "$1" in
        none) ;;
        local) printf '[[rule]]\nname = "r"\nlimit = "10000000/s burst 1000000"\n' ;;
        global-L*)
            printf '[fleet]\nredis = "127.0.0.1:%s"\nkey_prefix = "bench-%s:"\n' "$REDIS" "$1"
            printf '[[rule]]\nname = "r"\nlimit = "10000000/s burst 1000000"\nscope = "global"\nlease = %s\n' "${1#global-L}" ;;
    esac
}

CASES=(none local global-L10 global-L100 global-L1000)
for round in $(seq "$ROUNDS"); do
    for case in "${CASES[@]}"; do
        PORT=$(free_port); ADMIN=$(free_port)
        config "$case" "$PORT" "$ADMIN" >"$WORK/$case.toml"
        "$LEVEE_BIN" serve --config "$WORK/$case.toml" --log-level warning >"$WORK/$case.log" 2>&1 &
        LEVEE_PID=$!
        wait_http "$PORT" "$WORK/$case.log"
        wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" "http://127.0.0.1:$PORT/" >/dev/null
        curl -s "http://127.0.0.1:$ADMIN/metrics" >"$WORK/$case.before"
        wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/" >"$WORK/$case.wrk"
        curl -s "http://127.0.0.1:$ADMIN/metrics" >"$WORK/$case.after"
        kill "$LEVEE_PID"; wait "$LEVEE_PID" 2>/dev/null || true
        python3 - "$case" "$round" "$WORK" >>"$WORK/results.txt" <<'EOF'
import re, sys
case, rnd, work = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(f"{work}/{case}.wrk").read()
def ms(value, unit): return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(*re.search(r"50%\s+([\d.]+)(us|ms|s)", text).groups())
p99 = ms(*re.search(r"99%\s+([\d.]+)(us|ms|s)", text).groups())
requests = int(re.search(r"(\d+) requests in", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
def metric(name, which):
    body = open(f"{work}/{case}.{which}").read()
    m = re.search(r"^" + re.escape(name) + r" (\d+)", body, re.M)
    return int(m.group(1)) if m else 0
sent = metric('levee_redis_commands_total{result="sent"}', "after") - metric('levee_redis_commands_total{result="sent"}', "before")
print(case, rnd, rps, p50, p99, sent / requests if requests else 0, int(non2xx.group(1)) if non2xx else 0)
EOF
    done
done

echo "# levee serve --workers 1, wrk -t1 -c$CONNECTIONS -d$DURATION, medians of $ROUNDS rounds"
echo "case            req/s    p50_ms  p99_ms  redis_cmds/req  non2xx(max)"
python3 - "$WORK/results.txt" "${CASES[@]}" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
for case in sys.argv[2:]:
    mine = [r for r in rows if r[0] == case]
    med = lambda i: statistics.median(float(r[i]) for r in mine)
    print(f"{case:<14} {med(2):>8.0f} {med(3):>8.3f} {med(4):>7.3f} {med(5):>14.4f} {max(int(r[6]) for r in mine):>11}")
EOF

# --- the per-request alternative: one EVALSHA per decision ----------------------------------------
SCRIPT=$(python3 - "$ROOT/Sources/LeveeRedis/RedisGCRAScript.swift" <<'EOF'
import sys, re
text = open(sys.argv[1]).read()
body = re.search(r'RESPScript\(#"""\n(.*?)\n\s*"""#\)', text, re.S).group(1)
print("\n".join(line[8:] if line.startswith("        ") else line for line in body.split("\n")))
EOF
)
SHA=$(redis-cli -p "$REDIS" SCRIPT LOAD "$SCRIPT")
N=${N:-200000}
echo
echo "# redis-benchmark: EVALSHA gcra (mode all, one decision per call), keys over 100,000 clients, n=$N, medians of $ROUNDS runs"
echo "connections  decisions/s  p50_ms  p99_ms"
for c in 1 "$CONNECTIONS"; do
    for round in $(seq "$ROUNDS"); do
        redis-benchmark -p "$REDIS" -n "$N" -c "$c" -r 100000 --csv \
            EVALSHA "$SHA" 1 "levee:bench:__rand_int__" 100 100000000 1 all 0 "" 0 | tail -1
    done >"$WORK/rb-$c.csv"
    python3 - "$WORK/rb-$c.csv" "$c" <<'EOF'
import csv, statistics, sys
rows = list(csv.reader(open(sys.argv[1])))
rows = [r for r in rows if r and r[0] != "test"]
med = lambda i: statistics.median(float(r[i]) for r in rows)
print(f"{sys.argv[2]:>11} {med(1):>12.0f} {med(4):>7.3f} {med(6):>7.3f}")
EOF
done
