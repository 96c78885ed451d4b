#!/usr/bin/env bash
# Ping-pong p50 round trip at 64 B for tcp and udp: `tracepacket bench`
# beside `sockperf ping-pong --full-rtt` against a `sockperf server` this
# script starts on a free port and stops. Reported side by side, no figure
# to hold: sockperf times with rdtsc, discards its first 0.4 s as warm-up and
# its server waits in epoll (one more syscall per message than our echo).
#
#   bench/sockperf-latency.sh      (env: ROUNDS=3 SECONDS_EACH=2 PIN=0,0 BUILD=build)
#
# PIN=A,B: client / measuring side on CPU A, server / echo side on CPU B
# (taskset for sockperf, --pin for us). PIN=0,0 by default: see
# harness-overhead.sh for why one CPU (cross-vCPU wake-ups on this VM).
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_tool sockperf
need_tool taskset

ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-2}
PIN=${PIN-0,0}
SIZE=64

client_cpu=()
server_cpu=()
ours_pin=()
if [ -n "$PIN" ]; then
    client_cpu=(taskset -c "${PIN%,*}")
    server_cpu=(taskset -c "${PIN#*,}")
    ours_pin=(--pin "$PIN")
fi

server=""
stop_server() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
        server=""
    fi
}
trap stop_server EXIT

# sockperf's p50 of the full round trip, in ns.
sockperf_p50_ns() {
    local proto_flag=("$@")
    "${client_cpu[@]}" sockperf ping-pong -i 127.0.0.1 -p "$port" "${proto_flag[@]}" \
        -m "$SIZE" -t "$SECONDS_EACH" --full-rtt 2>&1 |
        sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p' |
        python3 -c 'import sys; print(round(float(sys.stdin.read()) * 1000))'
}

ours_p50_ns() {
    "$TPK" bench --mode latency --transport "$1" --size "$SIZE" --count 10000000 \
        --latency-time "$SECONDS_EACH" "${ours_pin[@]}" --json | json_field latency "$1" p50_ns
}

echo "== ping-pong p50 round trip at $SIZE B, $SECONDS_EACH s each, $ROUNDS alternating rounds," \
     "pin=${PIN:-none}"
for proto in tcp udp; do
    flag=()
    [ "$proto" = tcp ] && flag=(--tcp)
    port=$(free_port)
    "${server_cpu[@]}" sockperf server -i 127.0.0.1 -p "$port" "${flag[@]}" >/dev/null 2>&1 &
    server=$!
    if [ "$proto" = tcp ]; then wait_for_tcp_port "$port"; else wait_for_udp_port "$port"; fi
    theirs=()
    ours=()
    for round in $(seq "$ROUNDS"); do
        if (( round % 2 )); then  # ABBA order: neither tool always runs second
            t=$(sockperf_p50_ns "${flag[@]}") && o=$(ours_p50_ns "$proto")
        else
            o=$(ours_p50_ns "$proto") && t=$(sockperf_p50_ns "${flag[@]}")
        fi
        echo "  $proto round $round: sockperf p50 $t ns, tracepacket bench p50 $o ns"
        theirs+=("$t")
        ours+=("$o")
    done
    stop_server
    m_t=$(median "${theirs[@]}")
    m_o=$(median "${ours[@]}")
    echo "$proto: median p50 tracepacket ${m_o} ns, sockperf ${m_t} ns, ratio $(ratio "$m_o" "$m_t")"
done
