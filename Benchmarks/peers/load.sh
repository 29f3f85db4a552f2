#!/usr/bin/env bash
# Side by side: `levee load` against wrk, same nginx target on loopback, same connections and threads.
#   1. closed loop, keep-alive:      wrk -t1 -c64 -d10s   vs  levee load --connections 64 --threads 1 --duration 10s
#   2. new connections per second:   wrk -H "Connection: close"  vs  levee load --new-connection
# Each pair runs ROUNDS times alternately; the medians are compared. Last line:
#   closed-loop ratio: X  new-conn ratio: Y      (levee / wrk; >= 1.0 means levee is at least as fast)
# Usage: Benchmarks/peers/load.sh [seconds=10] [connections=64] [rounds=3]
set -euo pipefail
SECS=${1:-10}
CONNS=${2:-64}
ROUNDS=${3:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PORT=${PORT:-18931}

command -v nginx >/dev/null || { apt-get install -y nginx-light >/dev/null 2>&1 || apt-get install -y nginx >/dev/null; }
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null

WORK=$(mktemp -d)
NGINX_PID=""
cleanup() {
    if [ -n "$NGINX_PID" ] && kill -0 "$NGINX_PID" 2>/dev/null; then kill "$NGINX_PID"; wait "$NGINX_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

(cd "$ROOT" && swift build -c release --product levee >/dev/null)
LEVEE="$ROOT/.build/release/levee"

mkdir -p "$WORK/html" "$WORK/logs"
printf 'hello from nginx, a small static file for load testing\n' > "$WORK/html/index.html"
cat > "$WORK/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $WORK/tmp;
    proxy_temp_path $WORK/tmp;
    fastcgi_temp_path $WORK/tmp;
    uwsgi_temp_path $WORK/tmp;
    scgi_temp_path $WORK/tmp;
    server {
        listen 127.0.0.1:$PORT reuseport;
        root $WORK/html;
    }
}
CONF
mkdir -p "$WORK/tmp"
nginx -c "$WORK/nginx.conf" -p "$WORK" &
NGINX_PID=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done

URL="http://127.0.0.1:$PORT/"
wrk_rps() { wrk "$@" "$URL" | awk '/^Requests\/sec/ {print $2}'; }
levee_rps() { "$LEVEE" load "$URL" --quiet --json "$@" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"]["requests_per_second"])'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "nginx $(nginx -v 2>&1 | sed 's/.*\///'), $(nproc) cores, ${SECS}s runs, $CONNS connections, 1 thread, $ROUNDS rounds"
: > "$WORK/wrk_closed"; : > "$WORK/levee_closed"; : > "$WORK/wrk_new"; : > "$WORK/levee_new"
for r in $(seq "$ROUNDS"); do
    w=$(wrk_rps -t1 -c"$CONNS" -d"${SECS}s"); echo "$w" >> "$WORK/wrk_closed"
    l=$(levee_rps --connections "$CONNS" --threads 1 --duration "${SECS}s"); echo "$l" >> "$WORK/levee_closed"
    echo "round $r closed loop:  wrk $w req/s   levee $l req/s"
done
for r in $(seq "$ROUNDS"); do
    w=$(wrk_rps -t1 -c"$CONNS" -d"${SECS}s" -H "Connection: close"); echo "$w" >> "$WORK/wrk_new"
    l=$(levee_rps --connections "$CONNS" --threads 1 --duration "${SECS}s" --new-connection); echo "$l" >> "$WORK/levee_new"
    echo "round $r new conns:    wrk $w conn/s  levee $l conn/s"
done
WC=$(median < "$WORK/wrk_closed"); LC=$(median < "$WORK/levee_closed")
WN=$(median < "$WORK/wrk_new"); LN=$(median < "$WORK/levee_new")
echo "median closed loop: wrk $WC req/s, levee $LC req/s"
echo "median new conns:   wrk $WN conn/s, levee $LN conn/s"
awk -v lc="$LC" -v wc="$WC" -v ln="$LN" -v wn="$WN" 'BEGIN { printf "closed-loop ratio: %.2f  new-conn ratio: %.2f\n", lc/wc, ln/wn }'
