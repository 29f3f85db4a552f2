#!/usr/bin/env bash
# Degradation-tier acceptance figure (issue #5), on loopback, in one run.
#
# One backend with a fixed capacity, `levee demo-backend --capacity C` (C requests/s, each taking
# at least SERVICE_TIME; excess requests queue, and past MAX_QUEUE of backlog get 503 at once, as a
# saturated service does). In front of it, one after the other, each started afresh per scenario:
#   levee  Benchmarks/scenarios/tiers.levee.toml: one event loop, per-address quota 5/s burst 10,
#          a trusted network, the challenge key of the verified clients' cookie, and the
#          [degradation] tiers and [upstream.app.concurrency] shedding (#5). A build that does not
#          accept those sections yet gets the file without them (the blocks between `# >>> tiers`
#          and `# <<< tiers`), and the report says so: that is the "before" figure.
#   nginx  one worker, `limit_req` with the same per-address quota (rate=5r/s burst=10 nodelay,
#          429), the trusted network exempt through geo + map (what an nginx operator would do);
#          nginx has no equivalent of a verified client.
# Through each, `levee load` runs three scenarios:
#   Benchmarks/scenarios/tiers-idle.toml      the trusted and verified clients alone (idle p99)
#   Benchmarks/scenarios/tiers-flood.toml     + 4,000 unknown addresses, 5 x C in total
#   Benchmarks/scenarios/tiers-low-slow.toml  + 50,000 addresses, one new connection each, 5 x C
# and prints per class the success rate and p99 (corrected for coordinated omission), then the
# target check of the issue: trusted and verified success >= 99% and p99 <= 3 x their idle p99.
#
# Usage: Benchmarks/peers/tiers.sh            (from the repository root)
# Environment: LEVEE_BIN=path (skip the release build)  REQUIRE_TIERS=1 (fail instead of falling
#   back when the build rejects the tier sections)  KEEP=1 (keep the work directory)
#   CAPACITY=400 (C: the scenario files' figure; another value scales the floods and capacity_rps to
#   stay 5 x C, for slower machines) SERVICE_TIME=5ms MAX_QUEUE=1s (the backend's).
# One run takes about 2.5 minutes of load, plus the release build.
# Needs the Debian packages nginx-light (or nginx) and python3 (installed if missing, as root).
# Only 127.0.0.0/8 is used; every load run stops by itself; everything started here is stopped
# on exit.
set -euo pipefail

CAPACITY=${CAPACITY:-400}
SERVICE_TIME=${SERVICE_TIME:-5ms}
MAX_QUEUE=${MAX_QUEUE:-1s}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCENARIOS="$ROOT/Benchmarks/scenarios"

source "$(dirname "$0")/lib.sh"
peers_need nginx:nginx-light python3:python3

peers_workdir tiers
stop_pid() {  # stop_pid PID: SIGTERM, then wait for it
    kill "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

peers_levee_bin "$ROOT"

BACKEND=$(free_port); LEVEE=$(free_port); ADMIN=$(free_port); NGINX=$(free_port)

# --- the backend: fixed capacity -----------------------------------------------------------------
"$LEVEE_BIN" demo-backend --listen "127.0.0.1:$BACKEND" --capacity "$CAPACITY" --service-time "$SERVICE_TIME" \
    --max-queue "$MAX_QUEUE" --threads 1 --log-level warning >"$WORK/backend.log" 2>&1 &
PIDS+=($!)
wait_for backend "$BACKEND" "$WORK/backend.log" /api/hello

# --- Levee's configuration: the committed file on this run's ports --------------------------------
sed -e "s/127\.0\.0\.1:18580/127.0.0.1:$LEVEE/; s/127\.0\.0\.1:18581/127.0.0.1:$ADMIN/; s/127\.0\.0\.1:18582/127.0.0.1:$BACKEND/" \
    -e "s/^capacity_rps = 400$/capacity_rps = $CAPACITY/" \
    "$SCENARIOS/tiers.levee.toml" >"$WORK/levee.toml"
if "$LEVEE_BIN" check --config "$WORK/levee.toml" >"$WORK/check.txt" 2>&1; then
    LEVEE_LABEL="levee (tiers + shedding)"
    TIERS_NOTE="levee: tiers.levee.toml as committed ([degradation] and [upstream.app.concurrency] on)"
else
    if [ -n "${REQUIRE_TIERS:-}" ]; then
        echo "REQUIRE_TIERS=1 and this build rejects tiers.levee.toml:" >&2
        cat "$WORK/check.txt" >&2
        exit 1
    fi
    awk '/^# >>> tiers/ {skip=1} !skip {print} /^# <<< tiers/ {skip=0}' "$WORK/levee.toml" >"$WORK/levee-before.toml"
    mv "$WORK/levee-before.toml" "$WORK/levee.toml"
    "$LEVEE_BIN" check --config "$WORK/levee.toml" >/dev/null
    LEVEE_LABEL="levee (per-address only)"
    TIERS_NOTE="levee: THIS BUILD REJECTS THE TIER SECTIONS, measured without them (the 'before' figure). levee check said:
$(sed 's/^/    /' "$WORK/check.txt")"
fi

# --- nginx: limit_req per address, the trusted network exempt --------------------------------------
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile 60000;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log error;
events { worker_connections 30000; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body; proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi; uwsgi_temp_path $WORK/nginx/uwsgi; scgi_temp_path $WORK/nginx/scgi;
    keepalive_requests 10000000;
    # geo values are literal strings, so the trusted network is looked up with geo and the key
    # (the address, or empty = not limited) chosen with map, which does expand variables.
    geo \$trusted_client {
        default 0;
        127.255.0.0/16 1;
    }
    map \$trusted_client \$limit_key {
        0 \$binary_remote_addr;
        1 "";
    }
    limit_req_zone \$limit_key zone=perip:32m rate=5r/s;
    limit_req_status 429;
    upstream backend { server 127.0.0.1:$BACKEND; keepalive 256; keepalive_requests 10000000; }
    server {
        listen 127.0.0.1:$NGINX backlog=4096;
        location / {
            limit_req zone=perip burst=10 nodelay;
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF

# scenario NAME PORT: the committed scenario aimed at 127.0.0.1:PORT; with another CAPACITY the
# floods are scaled to stay 5 x C (rate 5 x C; 10 x C keep-alive clients, 5 x C new-connection ones)
scenario() {
    sed -e "s#^target = \"http://127\.0\.0\.1:18580/#target = \"http://127.0.0.1:$2/#" \
        -e "s/^rate = 2000 /rate = $((5 * CAPACITY)) /" \
        -e "s/^connections = 4000 /connections = $((10 * CAPACITY)) /" \
        -e "s/^connections = 2000 /connections = $((5 * CAPACITY)) /" \
        "$SCENARIOS/tiers-$1.toml" >"$WORK/$1-$2.toml"
    echo "$WORK/$1-$2.toml"
}

# run_load TARGET SCENARIO PORT: levee load, report as JSON in $WORK/TARGET-SCENARIO.json
run_load() {
    local status=0
    "$LEVEE_BIN" load "$(scenario "$2" "$3")" --json --quiet >"$WORK/$1-$2.json" 2>"$WORK/$1-$2.err" || status=$?
    # 99: a threshold failed (reported below); anything else is a broken run.
    if [ "$status" != 0 ] && [ "$status" != 99 ]; then
        echo "levee load $2 against $1 failed ($status):" >&2
        cat "$WORK/$1-$2.err" >&2
        exit 1
    fi
    sleep 2  # let the backend's queue drain before the next run
}

start_levee() {
    "$LEVEE_BIN" serve --config "$WORK/levee.toml" --log-level warning >>"$WORK/levee.log" 2>&1 &
    LEVEE_PID=$!
    PIDS+=("$LEVEE_PID")
    wait_for levee "$LEVEE" "$WORK/levee.log" /api/hello
}

# levee_classes SCENARIO: what Levee's filter counted per client class (from /status)
levee_classes() {
    python3 - "$ADMIN" >"$WORK/levee-$1.classes" 2>/dev/null <<'EOF' || echo "?" >"$WORK/levee-$1.classes"
import json, sys, urllib.request
doc = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status", timeout=5))
def find(node):
    if isinstance(node, dict):
        if isinstance(node.get("classes"), dict): return node["classes"]
        for value in node.values():
            found = find(value)
            if found is not None: return found
    return None
classes = find(doc) or {}
print(" ".join(f"{k}={v}" for k, v in classes.items() if v))
EOF
}

started=$(date +%s)
SCENARIO_NAMES=(idle flood low-slow)
for name in "${SCENARIO_NAMES[@]}"; do
    echo "levee: $name..." >&2
    start_levee
    run_load levee "$name" "$LEVEE"
    levee_classes "$name"
    stop_pid "$LEVEE_PID"
done

nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)
wait_for nginx "$NGINX" "$WORK/nginx/error.log" /api/hello
for name in "${SCENARIO_NAMES[@]}"; do
    echo "nginx: $name..." >&2
    run_load nginx "$name" "$NGINX"
done
elapsed=$(( $(date +%s) - started ))

echo
echo "Degradation tiers (issue #5): backend capacity C = $CAPACITY requests/s (service time $SERVICE_TIME, queue $MAX_QUEUE, then 503);"
echo "flood and low-slow offer 5 x C = $((5 * CAPACITY)) requests/s from $((10 * CAPACITY)) / 50,000 addresses, each under the per-address quota (5/s burst 10);"
echo "trusted + verified clients: 10 + 10 at 2 requests/s each. $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), load phase ${elapsed}s."
echo "$TIERS_NOTE"
for name in "${SCENARIO_NAMES[@]}"; do
    [ -f "$WORK/levee-$name.classes" ] && echo "levee classes seen in $name: $(cat "$WORK/levee-$name.classes")"
done
python3 - "$WORK" "$LEVEE_LABEL" <<'EOF'
import json, sys
work, levee_label = sys.argv[1], sys.argv[2]
targets = [("levee", levee_label), ("nginx", "nginx limit_req")]
good = ["trusted", "verified"]

def load(target, scenario):
    return json.load(open(f"{work}/{target}-{scenario}.json"))

def p99(c):
    # Requests without an answer (timeouts, resets) are not in the latency histogram: when they are
    # 1% or more of the class, its p99 is beyond the timeout, not the p99 of the answered ones.
    unanswered = c["requests"] - c["completed"]
    if c["requests"] == 0 or unanswered >= 0.01 * c["requests"]:
        return float("inf")
    return c["latency_ms"]["p99"]

def ms(value):
    return f"{value:.1f}" if value != float("inf") else "timeout"

print()
print(f"{'proxy':<26} {'scenario':<9} {'class':<9} {'sent':>7} {'success':>8} {'p99 ms':>9} {'2xx':>7} {'429':>7} {'503':>7} {'errors':>7}")
verdicts = []
for target, label in targets:
    idle = load(target, "idle")["classes"]
    for scenario in ["idle", "flood", "low-slow"]:
        report = load(target, scenario)
        for name in report["class_order"]:
            c = report["classes"][name]
            status = c["status"]
            errors = sum(c["errors"].values())
            print(f"{label:<26} {scenario:<9} {name:<9} {c['requests']:>7} {c['success_rate'] * 100:>7.2f}% {ms(p99(c)):>9} "
                  f"{status.get('2xx', 0):>7} {status.get('429', 0):>7} {status.get('503', 0):>7} {errors:>7}")
        if scenario == "idle":
            continue
        for name in good:
            c = report["classes"][name]
            ok_success = c["success_rate"] >= 0.99
            limit = 3 * p99(idle[name])
            ok_p99 = p99(c) <= limit
            verdicts.append((label, scenario, name, c["success_rate"], ok_success, p99(c), limit, ok_p99))

print()
print("target: trusted and verified success >= 99% and p99 <= 3 x idle p99")
for label, scenario, name, rate, ok_s, value, limit, ok_p in verdicts:
    print(f"  {label:<26} {scenario:<9} {name:<9} success {rate * 100:6.2f}% {'ok  ' if ok_s else 'FAIL'}"
          f"  p99 {ms(value):>8} ms <= {ms(limit):>7} ms {'ok' if ok_p else 'FAIL'}")
for label in dict.fromkeys(v[0] for v in verdicts):
    passed = all(v[4] and v[7] for v in verdicts if v[0] == label)
    print(f"{label}: target {'MET' if passed else 'NOT MET'}")
EOF
