#!/usr/bin/env bash
# Levee's limiter core side by side with Go's golang.org/x/time/rate (the usual per-key way:
# a map of *rate.Limiter behind a sync.Mutex, Allow() per request).
#
# Same workloads, keys, key counts and threads on both sides; the runs are interleaved
# (levee, levee-coarse, levee-gettime, go, levee, …) for ROUNDS rounds and each figure is the median, so that
# other load on the machine hits every side alike. Figures are decisions per wall-clock second.
#
#   one-key        one key, every decision admitted (every decision writes the bucket)
#   one-key-flood  one key at 100/s: nearly every decision denied
#   insert-1M      1,000,000 new keys inserted
#   keyed-1M       1,000,000 resident keys picked at random (xorshift, same sequence both sides)
#
# `levee` reads MonotonicClock on every decision: CLOCK_MONOTONIC's time, read from the CPU
# counter where the kernel keeps time with it (its clocksource is tsc); `levee-gettime` is the
# same clock forced to clock_gettime(CLOCK_MONOTONIC) with LEVEE_CLOCK=monotonic (what Go's
# time.Now() calls); `levee-coarse` reads CoarseMonotonicClock (CLOCK_MONOTONIC_COARSE, the
# kernel tick — the cached-time trade nginx, HAProxy and Envoy make). The last line compares
# 2-thread figures
# (the whole machine) of `levee` — the default clock — against Go.
#
# Needs: swift, and the Debian packages golang-go and golang-golang-x-time-dev (built offline
# from /usr/share/gocode). Usage: Benchmarks/peers/core.sh   (ROUNDS=5 SECONDS_PER_RUN=0.5)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-0.5}
KEYS=${KEYS:-1000000}
CAPACITY=${CAPACITY:-1250000}
THREADS=${THREADS:-1,2}

if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/golang.org/x/time/rate ]; then
    echo "core.sh needs the Debian packages golang-go and golang-golang-x-time-dev:" >&2
    echo "  apt-get install -y golang-go golang-golang-x-time-dev" >&2
    exit 1
fi

echo "building levee-core-peer (release) and the Go peer …" >&2
swift build -c release --product levee-core-peer >&2
mkdir -p .build
GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOCACHE="$PWD/.build/go-cache" \
    go build -o .build/core-go peers/core-go/main.go

out=$(mktemp)
trap 'rm -f "$out"' EXIT
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS" >&2
    .build/release/levee-core-peer --repeat 1 --seconds "$SECONDS_PER_RUN" --keys "$KEYS" --capacity "$CAPACITY" --threads "$THREADS" >>"$out"
    .build/release/levee-core-peer --repeat 1 --seconds "$SECONDS_PER_RUN" --keys "$KEYS" --capacity "$CAPACITY" --threads "$THREADS" --clock coarse >>"$out"
    LEVEE_CLOCK=monotonic .build/release/levee-core-peer --repeat 1 --seconds "$SECONDS_PER_RUN" --keys "$KEYS" --capacity "$CAPACITY" --threads "$THREADS" >>"$out"
    .build/core-go -repeat 1 -seconds "$SECONDS_PER_RUN" -keys "$KEYS" -threads "$THREADS" >>"$out"
done

grep '^INFO' "$out" | sort -u | head -2
# Medians per (implementation, workload, threads) over the rounds, then the comparison table.
awk '
$1 == "RESULT" { key = $2 " " $3 " " $4; values[key] = values[key] " " $5; impls[$2] = 1; rows[$3 " " $4] = 1 }
function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return a[int((n + 1) / 2)]
}
END {
    printf "%-14s %7s %14s %14s %14s %14s %9s %9s %9s\n", "workload", "threads", "go", "levee", "levee-coarse", "levee-gettime", "levee/go", "coarse/go", "gettime/go"
    split("one-key one-key-flood insert-1M keyed-1M", order, " ")
    for (w = 1; w <= 4; w++) for (t = 1; t <= 8; t++) {
        row = order[w] " " t
        if (!(row in rows)) continue
        g = median(values["go " row]); l = median(values["levee " row]); c = median(values["levee-coarse " row])
        s = median(values["levee-gettime " row])
        printf "%-14s %7d %14.0f %14.0f %14.0f %14.0f %8.2fx %8.2fx %8.2fx\n", order[w], t, g, l, c, s, l / g, c / g, s / g
        ratio[order[w] " " t] = l / g; cratio[order[w] " " t] = c / g
    }
    gb = median(values["go bytes-per-key 0"]); lb = median(values["levee bytes-per-key 0"])
    printf "%-14s %7s %14.1f %14.1f\n", "bytes/key", "-", gb, lb
    printf "keyed-1M ratio: %.2f  one-key ratio: %.2f  bytes/key: %.1f\n", ratio["keyed-1M 2"], ratio["one-key 2"], lb
}' "$out"
