# Shared by the bench/*.sh scripts (sourced, never run: bench/run-all runs
# only *.sh). Finds the binaries, picks free ports, does the arithmetic.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) BUILD_DIR=$BUILD ;; *) BUILD_DIR=$ROOT/$BUILD ;; esac
TPK=$BUILD_DIR/tracepacket
PINGPONG=$BUILD_DIR/bench_pingpong

need_file() {
    if [ ! -x "$1" ]; then
        echo "$(basename "$0"): $1 is missing: build first (make build, or BUILD=<dir>)" >&2
        exit 1
    fi
}

# Scripts that need root (WHY: what for, "BPF") say so without it and end
# with success, so that make bench goes on.
skip_unless_root() {   # WHY
    if [ "$(id -u)" != 0 ]; then
        echo "$(basename "$0"): needs root ($1); skipped" >&2
        exit 0
    fi
}

need_tool() {
    if ! command -v "$1" >/dev/null; then
        echo "$(basename "$0"): $1 is not installed: run scripts/install-deps as root" >&2
        exit 1
    fi
}

# A port nobody listens on now (bound and released; a race with another
# program is possible but harmless: the peer then fails to start and says so).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until something accepts TCP connections on 127.0.0.1:$1 (at most 5 s).
wait_for_tcp_port() {
    for _ in $(seq 50); do
        if python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.1)' "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    echo "$(basename "$0"): nothing listens on port $1 after 5 s" >&2
    return 1
}

# Waits until a UDP port is bound on 127.0.0.1 (at most 5 s).
wait_for_udp_port() {
    for _ in $(seq 50); do
        if ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; then return 0; fi
        sleep 0.1
    done
    echo "$(basename "$0"): nothing bound UDP port $1 after 5 s" >&2
    return 1
}

# A field of the one JSON object per line `tracepacket bench --json` prints:
#   json_field TYPE TRANSPORT FIELD < output
json_field() {
    python3 -c '
import json, sys
kind, transport, field = sys.argv[1:]
for line in sys.stdin:
    o = json.loads(line)
    if o["type"] == kind and o["transport"] == transport:
        print(o[field]); break
else:
    sys.exit("no %s result for %s" % (kind, transport))
' "$@"
}

# median of the numbers given as arguments
median() {
    python3 -c 'import statistics, sys; print(statistics.median(float(a) for a in sys.argv[1:]))' "$@"
}

# ratio A B, printed with 3 decimals
ratio() {
    python3 -c 'import sys; print("%.3f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"
}

# holds RATIO OP LIMIT: "holds" or "DOES NOT HOLD" (OP is <= or >=)
verdict() {
    python3 -c '
import sys
r, op, limit = float(sys.argv[1]), sys.argv[2], float(sys.argv[3])
print("holds" if (r <= limit if op == "<=" else r >= limit) else "DOES NOT HOLD")' "$@"
}
