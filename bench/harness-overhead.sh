#!/usr/bin/env bash
# Harness overhead: `tracepacket bench` p50 round trip for tcp and unix at
# 64 B against bench_pingpong (bench/pingpong.c, the minimal blocking loop),
# run alternately (ABBA) in this one invocation. Figure: ours / reference <= 1.10.
#
#   bench/harness-overhead.sh     (env: ROUNDS=7 COUNT=20000 PINS=0,0 BUILD=build)
#
# Each entry of PINS is one comparison, both programs pinned alike (A,B:
# measuring side on CPU A, echo on CPU B; "none": unpinned). 0,0 first: on
# this 2-vCPU VM a wake-up that crosses CPUs costs ~25 us (the idle vCPU is
# halted and woken through the hypervisor), which buries a 5 us round trip;
# PINS="0,0 0,1" adds that case (slow under load: a wakee on a busy CPU
# waits for its turn, ~20 s per run at load 13). Unpinned, each run lands on
# one CPU or two at the scheduler's whim: its p50 is bimodal, comparisons noise.
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_file "$PINGPONG"

ROUNDS=${ROUNDS:-7}
COUNT=${COUNT:-20000}
PINS=${PINS:-0,0}
WARMUP=1000
SIZE=64

ref_p50() {
    "$PINGPONG" "$1" "$SIZE" "$COUNT" "$WARMUP" "${ref_pin[@]}" | sed -n 's/.*p50_ns=\([0-9]*\).*/\1/p'
}

our_p50() {
    "$TPK" bench --mode latency --transport "$1" --size "$SIZE" --count "$COUNT" --warmup "$WARMUP" \
        --latency-time 600 "${ours_pin[@]}" --json | json_field latency "$1" p50_ns
}

compare() {
    local transport=$1 pin=$2
    local refs=() ours=() round ref our
    ref_pin=()
    ours_pin=()
    if [ "$pin" != none ]; then
        ref_pin=("${pin%,*}" "${pin#*,}")
        ours_pin=(--pin "$pin")
    fi
    for round in $(seq "$ROUNDS"); do
        # ABBA order (odd rounds reference first, even rounds ours first), so
        # whatever the previous run leaves behind favours neither.
        if (( round % 2 )); then
            ref=$(ref_p50 "$transport") && our=$(our_p50 "$transport")
        else
            our=$(our_p50 "$transport") && ref=$(ref_p50 "$transport")
        fi
        echo "  $transport pin=$pin round $round: bench_pingpong p50 ${ref} ns, tracepacket bench p50 ${our} ns"
        refs+=("$ref")
        ours+=("$our")
    done
    local m_ref m_our r
    m_ref=$(median "${refs[@]}")
    m_our=$(median "${ours[@]}")
    r=$(ratio "$m_our" "$m_ref")
    echo "$transport pin=$pin: median p50 tracepacket ${m_our} ns / bench_pingpong ${m_ref} ns = $r" \
         "(figure: <= 1.10: $(verdict "$r" "<=" 1.10))"
}

for pin in $PINS; do
    echo "== harness overhead: p50 round trip at $SIZE B, $COUNT round trips after $WARMUP warm-up," \
         "$ROUNDS alternating rounds, pin=$pin"
    for transport in tcp unix; do compare "$transport" "$pin"; done
done
