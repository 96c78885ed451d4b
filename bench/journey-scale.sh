#!/usr/bin/env bash
# Journey scale (issue #14): `tracepacket trace --json -- bench_pingpong tcp 64
# N 100` for N round trips: the packets it wrote, the seconds from the traced
# command's exit to tracepacket's exit (correlating and writing), packets
# processed per second in that time, and peak RSS. With BASELINE=<binary>
# (a build of an older commit) the same runs of it alongside, and the ratios.
# Figures: >= 200,000 packets/s after the command's exit; the last line less
# than a second after the command ends. Needs root (BPF).
#
#   bench/journey-scale.sh     (env: SIZES="10000 100000" BUILD=build BASELINE=)
#   FORMAT=text bench/journey-scale.sh    (the default text instead of --json)
#   SIZES="10000 100000 1000000" bench/journey-scale.sh    (1M: ~2 min a run)
# Every run gets --max-held $MAX_HELD (20,000,000 records, ~7 GB at most),
# so that none is dropped: 1M round trips hold ~9 million (~3.3 GB). A
# BASELINE older than the slices correlates them all at once (~2 KB a
# record): do not give it 1M.
# Then bench_correlate (when built) on a recorded 10k run: the same work offline.
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_file "$PINGPONG"
skip_unless_root "BPF"
SIZES=${SIZES:-"10000 100000"}
BASELINE=${BASELINE:-}
FORMAT=${FORMAT:-json}
MAX_HELD=${MAX_HELD:-20000000}
case $FORMAT in
json) format_flag=--json ;;
text) format_flag= ;;
*) echo "$(basename "$0"): FORMAT=$FORMAT: expected json or text" >&2; exit 2 ;;
esac

work=$(mktemp -d /tmp/tpk-journey-scale.XXXXXX)
trap 'rm -rf "$work"' EXIT

# One run: prints "<packets> <s after the command> <packets/s> <peak RSS MB>
# <events lost>" (lost: the kernel's ring was full, or --max-held was reached:
# the summary's lost_events and its notes say so; such a run wrote fewer packets).
# The traced shell stamps the command's end; tracepacket's end is stamped
# here once it has written its last line (to a file: a pipe's reader would
# be timed too).
once() {   # BINARY N
    local bin=$1 n=$2 end_cmd end_tpk packets lost rss
    # shellcheck disable=SC2086  # no flag for text
    /usr/bin/time -f '%M' -o "$work/rss" "$bin" trace $format_flag --max-held "$MAX_HELD" -- /bin/sh -c \
        "'$PINGPONG' tcp 64 $n 100 >/dev/null; date +%s%N > '$work/cmd_end'" \
        > "$work/out" 2> "$work/err" || { cat "$work/err" >&2; return 1; }
    end_tpk=$(date +%s%N)
    end_cmd=$(cat "$work/cmd_end")
    if [ "$FORMAT" = json ]; then
        read -r packets lost < <(tail -1 "$work/out" | python3 -c '
import json, sys
s = json.load(sys.stdin)
for n in s["notes"]: print("note:", n, file=sys.stderr)
print(s["packets"], s["lost_events"])')
    else
        # Each packet's title line starts "#N"; the summary says "lost events: N".
        packets=$(grep -c '^#[0-9]' "$work/out" || true)
        lost=$(sed -n 's/^lost events: \([0-9]*\).*/\1/p' "$work/out" | tail -1)
        lost=${lost:-0}
    fi
    rss=$(tail -1 "$work/rss")
    python3 - "$packets" "$end_cmd" "$end_tpk" "$rss" "$lost" <<'EOF'
import sys
packets, end_cmd, end_tpk, rss, lost = (int(x) for x in sys.argv[1:])
after = max(end_tpk - end_cmd, 1) / 1e9
print(f"{packets} {after:.2f} {packets / after:.0f} {rss / 1024:.0f} {lost}")
EOF
}

printf '%-10s %-10s %9s %12s %12s %10s %8s\n' build "round trips" packets "s after cmd" "packets/s" "peak MB" lost
declare -A rate
for n in $SIZES; do
    for name in tracepacket baseline; do
        bin=$TPK
        if [ "$name" = baseline ]; then
            [ -n "$BASELINE" ] || continue
            bin=$BASELINE
        fi
        read -r packets after pps mb lost < <(once "$bin" "$n")
        printf '%-10s %-10s %9s %12s %12s %10s %8s\n' "$name" "$n" "$packets" "$after" "$pps" "$mb" "$lost"
        rate[$name.$n]=$pps
    done
    if [ -n "$BASELINE" ]; then
        python3 -c "import sys; print(f'{\"ratio\":<10} {sys.argv[1]:<10} packets/s x{int(sys.argv[2]) / int(sys.argv[3]):.1f} against the baseline')" \
            "$n" "${rate[tracepacket.$n]}" "${rate[baseline.$n]}"
    fi
    pps=${rate[tracepacket.$n]}
    if [ "$pps" -ge 200000 ]; then echo "figure: $n round trips: $pps packets/s >= 200000: holds"
    else echo "figure: $n round trips: $pps packets/s >= 200000: DOES NOT HOLD"; fi
done

# Offline: the correlator and the JSON writer alone, on a recorded
# 10k-round-trip trace (bench_correlate, Google Benchmark): what they do
# without the ring, the capture and the file system around them. Whole is
# `--no-stream`; Streamed cuts every second of event time as a busy trace does.
CORRELATE=$BUILD_DIR/bench_correlate
if [ -x "$CORRELATE" ]; then
    "$TPK" trace --record-raw "$work/rec.jsonl" -o /dev/null -- "$PINGPONG" tcp 64 10000 100 \
        >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
    echo "offline (bench_correlate, median of 3; items = packets):"
    "$CORRELATE" "$work/rec.jsonl" --benchmark_repetitions=3 \
        --benchmark_report_aggregates_only=true 2>&1 | grep -E '_median|events,'
else
    echo "offline: $CORRELATE is not built (Google Benchmark missing: scripts/install-deps bench)"
fi
