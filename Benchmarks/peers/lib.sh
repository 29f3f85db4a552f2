# Shared set-up of the side-by-side scripts in this folder (sourced, not run). Loopback only.

# peers_need CMD:PACKAGE ...: installs the Debian packages of missing commands (as root), or
# prints the apt-get line and exits.
peers_need() {
    local need=() pair
    for pair in "$@"; do command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}"); done
    ((${#need[@]})) || return 0
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "missing: ${need[*]}; run: sudo apt-get install -y ${need[*]}" >&2
        exit 1
    fi
}

# peers_workdir NAME: a scratch directory in $WORK; every pid added to PIDS is stopped on exit,
# and the directory removed (kept when KEEP is set).
peers_workdir() {
    WORK=$(mktemp -d "/tmp/levee-$1-bench.XXXXXX")
    PIDS=()
    trap peers_cleanup EXIT INT TERM
}
peers_cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${KEEP:-}" ]; then echo "work directory kept: $WORK" >&2; else rm -rf "$WORK"; fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_for NAME PORT LOG [PATH]: until an HTTP request for PATH (default /) on 127.0.0.1:PORT is
# answered (30 s at most); otherwise prints LOG and fails.
wait_for() {
    for _ in $(seq 300); do
        if python3 - "$2" "${4:-/}" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"GET " + sys.argv[2].encode() + b" HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
sys.exit(0 if s.recv(12).startswith(b"HTTP/1.1") else 1)
PY
        sleep 0.1
    done
    echo "$1: nothing answers on 127.0.0.1:$2; its log:" >&2
    cat "$3" >&2 || true
    return 1
}

# peers_levee_bin ROOT: LEVEE_BIN, or a release build of the repository at ROOT.
peers_levee_bin() {
    if [ -z "${LEVEE_BIN:-}" ]; then
        echo "building levee (release)..." >&2
        (cd "$1" && swift build -c release --product levee >/dev/null)
        LEVEE_BIN="$1/.build/release/levee"
    fi
}

# cpu_ticks PID: user + system clock ticks used so far by PID and its children (an nginx master
# and its worker). Read around a measured run, it gives the server's CPU per request, which a
# noisy machine disturbs less than requests/s.
cpu_ticks() {
    local total=0 pid
    for pid in "$1" $(pgrep -P "$1" || true); do
        if [ -r "/proc/$pid/stat" ]; then
            # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
            total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
        fi
    done
    echo "$total"
}

