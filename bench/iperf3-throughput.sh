#!/usr/bin/env bash
# TCP stream throughput at 128 KiB writes: `tracepacket bench` against
# `iperf3 -c 127.0.0.1 -l 128K`, run alternately in this one invocation
# against an iperf3 server this script starts on a free port and stops.
# Figure: ours / iperf3 >= 1.0 (received bits per second, both; the ratio of
# the medians, and beside it the median of the per-round ratios, each round's
# two runs being adjacent in time).
#
#   bench/iperf3-throughput.sh   (env: ROUNDS=5 SECONDS_EACH=2 PINS="none 0,0 0,1" BUILD=build)
#
# Each entry of PINS is one comparison: "none" pins neither tool; A,B pins
# the sender/client to CPU A and the receiver/server to CPU B in both tools
# (iperf3 -A A,B; tracepacket bench --pin B,A, its measuring side being the
# receiver). On this 2-vCPU VM where the two processes run decides the
# figure (one CPU: no cross-CPU wake-ups; two: each wake-up goes through the
# hypervisor), so unpinned rounds of either tool land on either; the pinned
# comparisons hold placement equal.
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_tool iperf3

ROUNDS=${ROUNDS:-5}
SECONDS_EACH=${SECONDS_EACH:-2}
PINS=${PINS:-none 0,0 0,1}

port=$(free_port)
iperf3 -s -p "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
wait_for_tcp_port "$port"

iperf_gbps() {
    iperf3 -c 127.0.0.1 -p "$port" -l 128K -t "$SECONDS_EACH" "${iperf_pin[@]}" -J |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"] / 1e9)'
}

ours_gbps() {
    "$TPK" bench --mode throughput --transport tcp --size 128K --stream-time "$SECONDS_EACH" \
        "${ours_pin[@]}" --json | json_field throughput tcp gbit_per_s
}

compare() {
    local pin=$1
    iperf_pin=()
    ours_pin=()
    if [ "$pin" != none ]; then
        iperf_pin=(-A "$pin")
        ours_pin=(--pin "${pin#*,},${pin%,*}")
    fi
    echo "== TCP throughput at 128 KiB writes, $SECONDS_EACH s each, $ROUNDS alternating rounds," \
         "pin=$pin (iperf3 server on port $port)"
    local theirs=() ours=() paired=() round t o
    for round in $(seq "$ROUNDS"); do
        if (( round % 2 )); then  # ABBA order: neither tool always runs second
            t=$(iperf_gbps) && o=$(ours_gbps)
        else
            o=$(ours_gbps) && t=$(iperf_gbps)
        fi
        printf '  round %s: iperf3 %.2f Gbit/s, tracepacket bench %.2f Gbit/s\n' "$round" "$t" "$o"
        theirs+=("$t")
        ours+=("$o")
        paired+=("$(ratio "$o" "$t")")
    done
    local m_t m_o r
    m_t=$(median "${theirs[@]}")
    m_o=$(median "${ours[@]}")
    r=$(ratio "$m_o" "$m_t")
    printf 'tcp 128 KiB pin=%s: median tracepacket %.2f Gbit/s / iperf3 %.2f Gbit/s = %s (figure: >= 1.0: %s); median of the per-round ratios %.3f\n' \
        "$pin" "$m_o" "$m_t" "$r" "$(verdict "$r" ">=" 1.0)" "$(median "${paired[@]}")"
}

for pin in $PINS; do compare "$pin"; done
