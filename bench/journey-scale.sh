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
#   SIZES="10000 100000 1000000" bench/journey-scale.sh    (1M: ~2 min a run)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_file "$PINGPONG"
if [ "$(id -u)" != 0 ]; then
    echo "$(basename "$0"): needs root (BPF); skipped" >&2
    exit 0
fi
SIZES=${SIZES:-"10000 100000"}
BASELINE=${BASELINE:-}

work=$(mktemp -d /tmp/tpk-journey-scale.XXXXXX)
trap 'rm -rf "$work"' EXIT

# One run: prints "<packets> <s after the command> <packets/s> <peak RSS MB>".
# The traced shell stamps the command's end; tracepacket's end is stamped
# here once it has written its last line (to a file: a pipe's reader would
# be timed too).
once() {   # BINARY N
    local bin=$1 n=$2 end_cmd end_tpk packets rss
    /usr/bin/time -f '%M' -o "$work/rss" "$bin" trace --json -- /bin/sh -c \
        "'$PINGPONG' tcp 64 $n 100 >/dev/null; date +%s%N > '$work/cmd_end'" \
        > "$work/out.jsonl" 2> "$work/err" || { cat "$work/err" >&2; return 1; }
    end_tpk=$(date +%s%N)
    end_cmd=$(cat "$work/cmd_end")
    packets=$(tail -1 "$work/out.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["packets"])')
    rss=$(tail -1 "$work/rss")
    python3 - "$packets" "$end_cmd" "$end_tpk" "$rss" <<'EOF'
import sys
packets, end_cmd, end_tpk, rss = (int(x) for x in sys.argv[1:])
after = max(end_tpk - end_cmd, 1) / 1e9
print(f"{packets} {after:.2f} {packets / after:.0f} {rss / 1024:.0f}")
EOF
}

printf '%-10s %-10s %9s %12s %12s %10s\n' build "round trips" packets "s after cmd" "packets/s" "peak MB"
declare -A rate
for n in $SIZES; do
    for name in tracepacket baseline; do
        bin=$TPK
        if [ "$name" = baseline ]; then
            [ -n "$BASELINE" ] || continue
            bin=$BASELINE
        fi
        read -r packets after pps mb < <(once "$bin" "$n")
        printf '%-10s %-10s %9s %12s %12s %10s\n' "$name" "$n" "$packets" "$after" "$pps" "$mb"
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
