#!/usr/bin/env bash
# Tracing overhead: p50 round trip of the 64 B TCP ping-pong (bench_pingpong,
# bench/pingpong.c) untraced, while `tracepacket trace -p` follows it (kernel
# probes + capture on lo, the default), while `tracepacket trace -p
# --no-capture` follows it (kernel probes only), under `strace -f` and under
# `perf trace`, alternating in this one invocation. Figures: trace / untraced
# <= 1.5, and trace / "attached only" <= 1.25 (issue #16: what tracepacket adds
# on top of what any tracer on these tracepoints pays). Needs root (BPF,
# capture, strace/perf on a child).
#
#   bench/journey-overhead.sh      (env: ROUNDS=3 COUNT=5000 PIN=0,0 BUILD=build)
#
# `trace -p` gets a pid before the ping-pong runs: a shell waits on a FIFO,
# tracepacket follows its pid (--ready-file says when), then the shell execs
# the ping-pong (same pid), whose forked child the tracer follows through fork.
# So the whole measured window is traced, as with a long-running program.
#
# Three more rows say what the cost is made of (trace's hidden --bench-floor,
# bpf/tracepacket.bpf.c bench_floor): every program attached but returning at
# once ("attached only": what any tracer on these tracepoints pays here), the
# same reading the clock once ("attached + clock read": a timestamp per hop),
# and programs deciding what is traced but writing no record ("deciding").
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_file "$PINGPONG"
skip_unless_root "BPF, capture on lo, strace -f"

ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-5000}
WARMUP=500
PIN=${PIN-0,0}
SIZE=64
pin=()
[ -n "$PIN" ] && pin=("${PIN%,*}" "${PIN#*,}")
args=(tcp "$SIZE" "$COUNT" "$WARMUP" "${pin[@]}")

work=$(mktemp -d /tmp/tpk-journey-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

p50() { sed -n 's/.*p50_ns=\([0-9]*\).*/\1/p'; }

untraced() { "$PINGPONG" "${args[@]}" | p50; }

# tracepacket trace -p HOLDER [extra options]: prints the ping-pong's p50.
traced() {
    local fifo=$work/go ready=$work/ready out=$work/pingpong.out
    rm -f "$fifo" "$ready" "$out"
    mkfifo "$fifo"
    bash -c 'read -r _ < "$1"; shift; exec "$@"' _ "$fifo" "$PINGPONG" "${args[@]}" > "$out" &
    local holder=$!
    "$TPK" trace -p "$holder" --ready-file "$ready" "$@" > "$work/trace.out" 2> "$work/trace.err" &
    local tracer=$!
    for _ in $(seq 100); do [ -e "$ready" ] && break; sleep 0.1; done
    if [ ! -e "$ready" ]; then
        kill "$tracer" "$holder" 2>/dev/null || true
        echo "tracepacket trace did not start: $(cat "$work/trace.err")" >&2
        return 1
    fi
    echo go > "$fifo"
    wait "$holder"
    wait "$tracer" || true
    tail -1 "$work/trace.out" | sed -n 's/.*"lost_events":\([0-9]*\).*/\1/p' > "$work/lost"
    p50 < "$out"
}

strace_f() { strace -f -o /dev/null "$PINGPONG" "${args[@]}" | p50; }

perf_trace() {
    if ! perf trace -o /dev/null -- true >/dev/null 2>&1; then echo "n/a"; return; fi
    perf trace -o /dev/null -- "$PINGPONG" "${args[@]}" 2>/dev/null | p50
}

echo "== tracing overhead: 64 B TCP ping-pong p50, $COUNT round trips after $WARMUP warm-up," \
     "$ROUNDS alternating rounds, pin=${PIN:-none}"
declare -a base full kernel_only attach_only clock_read deciding st pt
for round in $(seq "$ROUNDS"); do
    b=$(untraced)
    f=$(traced --json); lost_full=$(cat "$work/lost")
    k=$(traced --json --no-capture); lost_kernel=$(cat "$work/lost")
    a=$(traced --json --no-capture --bench-floor attach)
    c=$(traced --json --no-capture --bench-floor clock)
    d=$(traced --json --no-capture --bench-floor decide)
    s=$(strace_f)
    p=$(perf_trace)
    echo "  round $round: untraced $b ns | trace -p $f ns (lost events $lost_full)" \
         "| trace -p --no-capture $k ns (lost events $lost_kernel) | attached only $a ns" \
         "| attached + clock read $c ns" \
         "| deciding $d ns | strace -f $s ns | perf trace $p ns"
    base+=("$b"); full+=("$f"); kernel_only+=("$k"); attach_only+=("$a"); clock_read+=("$c"); deciding+=("$d")
    st+=("$s")
    [ "$p" != n/a ] && pt+=("$p")
done

m_base=$(median "${base[@]}")
row() {  # label median
    printf '  %-30s %10.0f ns  %6sx\n' "$1" "$2" "$(ratio "$2" "$m_base")"
}
echo "median p50 round trip (ratio to untraced):"
printf '  %-30s %10.0f ns  %6sx\n' "untraced" "$m_base" "1.000"
m_full=$(median "${full[@]}")
row "tracepacket trace -p" "$m_full"
row "trace -p --no-capture" "$(median "${kernel_only[@]}")"
row "  probes deciding, no record" "$(median "${deciding[@]}")"
row "  probes attached + clock read" "$(median "${clock_read[@]}")"
row "  probes attached only" "$(median "${attach_only[@]}")"
row "strace -f" "$(median "${st[@]}")"
if [ ${#pt[@]} -gt 0 ]; then row "perf trace" "$(median "${pt[@]}")"; else echo "  perf trace: not available"; fi
r=$(ratio "$m_full" "$m_base")
echo "tracepacket trace -p / untraced = $r (figure: <= 1.5: $(verdict "$r" "<=" 1.5))"
r=$(ratio "$m_full" "$(median "${attach_only[@]}")")
echo "tracepacket trace -p / attached only = $r (figure: <= 1.25: $(verdict "$r" "<=" 1.25))"
