#!/usr/bin/env bash
# Harness overhead: `tracepacket bench` p50 round trip for tcp and unix at
# 64 B against bench_pingpong (bench/pingpong.c, the minimal blocking loop),
# run alternately in this one invocation. Figure: ours / reference <= 1.10.
#
#   bench/harness-overhead.sh            (env: ROUNDS=5 COUNT=20000 PIN=0,0 BUILD=build)
#
# PIN=0,0 puts both processes on one CPU: on this 2-vCPU VM a wake-up that
# crosses CPUs costs ~25 us (the idle vCPU is halted and woken through the
# hypervisor), which buries a 5 us round trip. PIN=0,1 or PIN= (unpinned)
# measure that instead.
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_file "$PINGPONG"

ROUNDS=${ROUNDS:-7}
COUNT=${COUNT:-20000}
WARMUP=1000
PIN=${PIN-0,0}
SIZE=64

ref_pin=()
ours_pin=()
if [ -n "$PIN" ]; then
    ref_pin=("${PIN%,*}" "${PIN#*,}")
    ours_pin=(--pin "$PIN")
fi

echo "== harness overhead: p50 round trip at $SIZE B, $COUNT round trips after $WARMUP warm-up," \
     "$ROUNDS alternating rounds, pin=${PIN:-none}"
for transport in tcp unix; do
    refs=()
    ours=()
    for round in $(seq "$ROUNDS"); do
        ref=$("$PINGPONG" "$transport" "$SIZE" "$COUNT" "$WARMUP" "${ref_pin[@]}" |
              sed -n 's/.*p50_ns=\([0-9]*\).*/\1/p')
        our=$("$TPK" bench --mode latency --transport "$transport" --size "$SIZE" \
                --count "$COUNT" --warmup "$WARMUP" --latency-time 600 "${ours_pin[@]}" --json |
              json_field latency "$transport" p50_ns)
        echo "  $transport round $round: bench_pingpong p50 ${ref} ns, tracepacket bench p50 ${our} ns"
        refs+=("$ref")
        ours+=("$our")
    done
    m_ref=$(median "${refs[@]}")
    m_our=$(median "${ours[@]}")
    r=$(ratio "$m_our" "$m_ref")
    echo "$transport: median p50 tracepacket ${m_our} ns / bench_pingpong ${m_ref} ns = $r" \
         "(figure: <= 1.10: $(verdict "$r" "<=" 1.10))"
done
