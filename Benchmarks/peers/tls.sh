#!/usr/bin/env bash
# Side-by-side TLS termination benchmark on loopback (issue #7).
#
# One nginx instance is the common plain-HTTP backend. In front of it, with the SAME certificate
# (EC P-256, made here by openssl), terminate TLS: Levee (release build, one event loop) and nginx
# (one worker, proxy_pass with upstream keep-alive). The same wrk client then measures, in one run,
# alternating the two targets each round:
#   - HTTPS requests/s on kept-alive connections (HTTP/1.1);
#   - TLS handshakes/s: every request on a new connection (`Connection: close`), i.e. a full
#     handshake (wrk does not resume sessions) plus one request;
#   - HTTP/2 requests/s with h2load (nghttp2-client): H2_CONNECTIONS connections, H2_STREAMS
#     concurrent streams each, ALPN h2, proxied to the same HTTP/1.1 backend.
# Prints medians over ROUNDS and the levee/nginx ratios.
#
# Usage: Benchmarks/peers/tls.sh            (from the repository root)
# Environment: DURATION=5s CONNECTIONS=64 NEWCONN_CONNECTIONS=16 THREADS=1 WARMUP=1s ROUNDS=3
#              H2_CONNECTIONS=16 H2_STREAMS=4 LEVEE_BIN=path (skip the build)
#   FLOOR=1 adds a reference target to the keep-alive measure: `nio-relay PORT BACKEND tls CERT KEY`
#   (Benchmarks/peers/nio-relay, built here), swift-nio-ssl terminating TLS as Levee's listener does
#   and then copying bytes to the backend, no HTTP work: the ceiling of any SwiftNIO TLS proxy; and
#   to the HTTP/2 measure `nio-relay PORT h2 CERT KEY`, NIOHTTP2 answering every stream itself (no
#   upstream at all): above the ceiling of any SwiftNIO HTTP/2 proxy.
# Needs the Debian packages wrk, nginx-light (or nginx), openssl, python3, nghttp2-client.
# Only 127.0.0.1 is used; everything started here is stopped on exit.
set -euo pipefail

DURATION=${DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-64}
NEWCONN_CONNECTIONS=${NEWCONN_CONNECTIONS:-16}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-1s}
ROUNDS=${ROUNDS:-3}
H2_CONNECTIONS=${H2_CONNECTIONS:-16}
H2_STREAMS=${H2_STREAMS:-4}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

source "$(dirname "$0")/lib.sh"
peers_need wrk:wrk nginx:nginx-light openssl:openssl python3:python3 h2load:nghttp2-client

peers_workdir tls

wait_for_url() {  # wait_for_url NAME URL LOG: until curl gets an answer (30 s at most)
    for _ in $(seq 300); do
        if curl -sk -o /dev/null --max-time 1 "$2"; then return 0; fi
        sleep 0.1
    done
    echo "$1: nothing answers on $2; its log:" >&2
    cat "$3" >&2 || true
    return 1
}

peers_levee_bin "$ROOT"

BACKEND=$(free_port); LEVEE=$(free_port); NGINX=$(free_port); FLOOR_PORT=$(free_port); FLOOR_H2_PORT=$(free_port)
if [ -n "${FLOOR:-}" ]; then
    swift build -c release --package-path "$ROOT/Benchmarks/peers/nio-relay" >"$WORK/floor-build.log" 2>&1 \
        || { cat "$WORK/floor-build.log"; exit 1; }
fi

# --- one certificate for both --------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$WORK/site.key" -out "$WORK/site.pem" 2>/dev/null

# --- the common backend: nginx, one worker, a small static body ----------------------------------
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
PIDS+=($!)

# --- nginx terminating TLS (TLS 1.2/1.3, ALPN h2 and http/1.1), proxying with keep-alive ---------
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
    upstream backend { server 127.0.0.1:$BACKEND; keepalive 128; keepalive_requests 10000000; }
    server {
        listen 127.0.0.1:$NGINX ssl http2;
        ssl_certificate $WORK/site.pem;
        ssl_certificate_key $WORK/site.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
EOF
nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)

# --- Levee terminating TLS: one event loop, no rules ----------------------------------------------
cat >"$WORK/levee.toml" <<EOF
[server]
workers = 1

[[listen]]
address = "127.0.0.1:$LEVEE"
[listen.tls]
certificate = "$WORK/site.pem"
key = "$WORK/site.key"

[upstream.app]
backends = ["127.0.0.1:$BACKEND"]

[[route]]
name = "all"
upstream = "app"
EOF
"$LEVEE_BIN" serve --config "$WORK/levee.toml" --log-level warning >"$WORK/levee.log" 2>&1 &
PIDS+=($!)

wait_for_url backend "http://127.0.0.1:$BACKEND/" "$WORK/backend/error.log"
wait_for_url nginx "https://127.0.0.1:$NGINX/" "$WORK/nginx/error.log"
wait_for_url levee "https://127.0.0.1:$LEVEE/" "$WORK/levee.log"
if [ -n "${FLOOR:-}" ]; then
    "$ROOT/Benchmarks/peers/nio-relay/.build/release/nio-relay" "$FLOOR_PORT" "$BACKEND" tls "$WORK/site.pem" "$WORK/site.key" \
        >"$WORK/floor.log" 2>&1 &
    PIDS+=($!)
    wait_for_url nio-relay "https://127.0.0.1:$FLOOR_PORT/" "$WORK/floor.log"
    "$ROOT/Benchmarks/peers/nio-relay/.build/release/nio-relay" "$FLOOR_H2_PORT" h2 "$WORK/site.pem" "$WORK/site.key" \
        >"$WORK/floor-h2.log" 2>&1 &
    PIDS+=($!)
    wait_for_url nio-relay-h2 "https://127.0.0.1:$FLOOR_H2_PORT/" "$WORK/floor-h2.log"
fi
for p in "$NGINX" "$LEVEE"; do
    curl -sk --http1.1 -o /dev/null -w "%{http_code}" "https://127.0.0.1:$p/" | grep -q 200 || { echo "no 200 on $p" >&2; exit 1; }
done

# run_wrk NAME PORT CONNECTIONS [wrk args]: prints "rps non2xx status"
run_wrk() {
    local name=$1 port=$2 conns=$3; shift 3
    wrk -t"$THREADS" -c"$conns" -d"$WARMUP" "$@" "https://127.0.0.1:$port/" >/dev/null
    wrk -t"$THREADS" -c"$conns" -d"$DURATION" "$@" "https://127.0.0.1:$port/" >"$WORK/wrk-$name.txt"
    python3 - "$WORK/wrk-$name.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
errors = re.search(r"Socket errors:.*", text)
print(f"{rps:.0f} {bad.group(1) if bad else 0} {'errors' if errors else 'clean'}")
EOF
}

# run_h2load PORT: prints "rps failed" for HTTP/2 over TLS (h2load negotiates h2 by ALPN)
run_h2load() {
    h2load -c"$H2_CONNECTIONS" -m"$H2_STREAMS" -D "${WARMUP%s}" "https://127.0.0.1:$1/" >/dev/null 2>&1
    h2load -c"$H2_CONNECTIONS" -m"$H2_STREAMS" -D "${DURATION%s}" "https://127.0.0.1:$1/" >"$WORK/h2load-$1.txt" 2>&1
    python3 - "$WORK/h2load-$1.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
rps = re.search(r"finished in [^,]+, ([\d.]+) req/s", text)
done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed", text)
proto = re.search(r"Application protocol: (\S+)", text)
if not rps or not done or not proto or proto.group(1) != "h2":
    print("0 all")
else:
    print(f"{float(rps.group(1)):.0f} {done.group(2)}")
EOF
}

declare -A RESULT
for round in $(seq "$ROUNDS"); do
    for name in levee nginx; do
        port=$([ "$name" = levee ] && echo "$LEVEE" || echo "$NGINX")
        read -r rps bad status < <(run_wrk "$name-keep" "$port" "$CONNECTIONS")
        RESULT[$name-keep]="${RESULT[$name-keep]:-} $rps"
        [ "$status" = clean ] && [ "$bad" = 0 ] || echo "warning: $name keep-alive round $round: $bad non-2xx, $status" >&2
        read -r rps bad status < <(run_wrk "$name-new" "$port" "$NEWCONN_CONNECTIONS" -H "Connection: close")
        RESULT[$name-new]="${RESULT[$name-new]:-} $rps"
        [ "$bad" = 0 ] || echo "warning: $name new-connection round $round: $bad non-2xx" >&2
        read -r rps failed < <(run_h2load "$port")
        RESULT[$name-h2]="${RESULT[$name-h2]:-} $rps"
        [ "$failed" = 0 ] || echo "warning: $name HTTP/2 round $round: $failed failed (see $WORK/h2load-$port.txt)" >&2
    done
    if [ -n "${FLOOR:-}" ]; then
        read -r rps bad status < <(run_wrk floor-keep "$FLOOR_PORT" "$CONNECTIONS")
        RESULT[floor-keep]="${RESULT[floor-keep]:-} $rps"
        read -r rps failed < <(run_h2load "$FLOOR_H2_PORT")
        RESULT[floor-h2]="${RESULT[floor-h2]:-} $rps"
    fi
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { python3 -c "print(f'{$1 / $2:.2f}')"; }

echo
echo "wrk -t$THREADS -d$DURATION on 127.0.0.1, $(nproc) cores, one worker each, median of $ROUNDS round(s); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-44s %14s %14s %8s\n" "measure" "levee" "nginx" "ratio"
lk=$(echo "${RESULT[levee-keep]}" | median); nk=$(echo "${RESULT[nginx-keep]}" | median)
ln=$(echo "${RESULT[levee-new]}" | median); nn=$(echo "${RESULT[nginx-new]}" | median)
lh=$(echo "${RESULT[levee-h2]}" | median); nh=$(echo "${RESULT[nginx-h2]}" | median)
printf "%-44s %14s %14s %8s\n" "HTTPS req/s, keep-alive (-c$CONNECTIONS)" "$lk" "$nk" "$(ratio "$lk" "$nk")"
if [ -n "${FLOOR:-}" ]; then
    fk=$(echo "${RESULT[floor-keep]}" | median)
    printf "%-44s %14s %14s %8s\n" "  floor: nio-relay tls (no HTTP), keep-alive" "$fk" "$nk" "$(ratio "$fk" "$nk")"
fi
printf "%-44s %14s %14s %8s\n" "handshakes/s, new conn per request (-c$NEWCONN_CONNECTIONS)" "$ln" "$nn" "$(ratio "$ln" "$nn")"
printf "%-44s %14s %14s %8s\n" "HTTP/2 req/s (h2load -c$H2_CONNECTIONS -m$H2_STREAMS)" "$lh" "$nh" "$(ratio "$lh" "$nh")"
if [ -n "${FLOOR:-}" ]; then
    fh=$(echo "${RESULT[floor-h2]}" | median)
    printf "%-44s %14s %14s %8s\n" "  floor: nio-relay h2 (answers itself)" "$fh" "$nh" "$(ratio "$fh" "$nh")"
fi
echo "rounds: levee keep [${RESULT[levee-keep]} ] nginx keep [${RESULT[nginx-keep]} ] levee new [${RESULT[levee-new]} ] nginx new [${RESULT[nginx-new]} ] levee h2 [${RESULT[levee-h2]} ] nginx h2 [${RESULT[nginx-h2]} ]"
