#!/usr/bin/env bash
# Start-up: milliseconds from launching a tracer to the first instruction of
# the command it traces (the command, `date +%s%N`, prints the time it
# starts), median of RUNS, for `tracepacket trace --` with the BPF object
# this kernel picks and with the compat one forced, and for the peers
# `strace -f` and `perf trace` in the same invocation; peak RSS of each
# tracepacket run. With BASELINE=<binary> (another build, e.g. of an older
# commit: docs/performance.md says how) its runs are measured alongside.
# Figure: tracepacket's start -> exec <= 500 ms. Needs root (BPF).
#
#   bench/startup.sh      (env: RUNS=7 BUILD=build BASELINE=)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
skip_unless_root "BPF"
RUNS=${RUNS:-7}
BASELINE=${BASELINE:-}

work=$(mktemp -d /tmp/tpk-startup-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

# One run: prints "<ms to exec> <peak RSS KB>" (RSS 0 when not measured).
once() {
    local start t rss
    start=$(date +%s%N)
    t=$(/usr/bin/time -f '%M' -o "$work/rss" "$@" /bin/date +%s%N 2>/dev/null | grep -E '^[0-9]{19}$' | head -1)
    rss=$(cat "$work/rss" 2>/dev/null | tail -1)
    [ -n "$t" ] || { echo "startup.sh: no start time from: $*" >&2; return 1; }
    echo "$(( (t - start) / 1000000 )) ${rss:-0}"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A ms rss
rows=()
measure() {   # NAME COMMAND...
    local name=$1 file="$work/row${#rows[@]}"; shift
    rows+=("$name")
    : > "$file"
    for _ in $(seq "$RUNS"); do once "$@" >> "$file"; done
    ms[$name]=$(cut -d' ' -f1 "$file" | median)
    rss[$name]=$(cut -d' ' -f2 "$file" | median)
}

# Alternating is not needed here: each run is a fresh process, and a second
# of noise shows as a spread between runs, not as a drift.
measure "trace (object this kernel picks)" "$TPK" trace --
measure "trace (compat object forced)" env TRACEPACKET_BPF_OBJECT=compat "$TPK" trace --
if [ -n "$BASELINE" ]; then
    need_file "$BASELINE"
    measure "baseline trace ($BASELINE)" "$BASELINE" trace --
fi
command -v strace >/dev/null && measure "strace -f" strace -f -o /dev/null --
command -v perf >/dev/null && measure "perf trace" perf trace -o /dev/null --

echo "start-up: launch -> traced command's exec, median of $RUNS ($(uname -r))"
printf '  %-58s %8s %12s\n' "tracer" "ms" "peak RSS MB"
for name in "${rows[@]}"; do
    printf '  %-58s %8s %12s\n' "$name" "${ms[$name]}" "$(( ${rss[$name]} / 1024 ))"
done
main=${ms["trace (object this kernel picks)"]}
if [ "$main" -le 500 ]; then
    echo "figure holds: trace start-up ${main} ms <= 500 ms"
else
    echo "figure DOES NOT HOLD: trace start-up ${main} ms > 500 ms"
fi
