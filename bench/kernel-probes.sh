#!/usr/bin/env bash
# The kernel side alone: p50 round trip of the 64 B TCP ping-pong
# (bench/pingpong.c) untraced, under `tracepacket record-events -o /dev/null`
# (every probe of bpf/tracepacket.bpf.c, events read and written as JSON),
# the same with --no-syscalls, and under `strace -f -o /dev/null` (the peer),
# alternating in this one invocation. Also prints each program's average run
# time (kernel.bpf_stats_enabled is switched on for that run only).
# Needs root.
#
# Every traced run must keep every event: the JSON writer is far slower than
# the ping-pong makes events (~30 per round trip), so the ring buffer must
# hold the whole run (RING, 64 MiB: ~5500 round trips x ~30 records of
# 168-256 bytes is ~30 MB). A full ring makes the programs cheap (a failed
# reservation skips the record) and the figure a lie: runs that lost events
# are reported and left out of the medians.
#
#   bench/kernel-probes.sh      (env: ROUNDS=3 COUNT=5000 PIN=0,0 BUILD=build RING=67108864)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_file "$PINGPONG"
need_tool strace
skip_unless_root "BPF"

ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-5000}
RING=${RING:-67108864}
PIN=${PIN-0,0}
pin=()
[ -n "$PIN" ] && pin=("${PIN%,*}" "${PIN#*,}")
args=(tcp 64 "$COUNT" 500 "${pin[@]}")

p50() { sed -n 's/.*p50_ns=\([0-9]*\).*/\1/p'; }
untraced() { "$PINGPONG" "${args[@]}" | p50; }
work=$(mktemp -d /tmp/tpk-kprobes.XXXXXX)
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled="$old_stats"; rm -rf "$work"' EXIT
# p50 of a run under record-events, or "lost:N" when events were lost.
recorded() {
    local p
    p=$("$TPK" record-events --ring-buffer "$RING" -o /dev/null "$@" -- "$PINGPONG" "${args[@]}" \
        2> "$work/err" | p50)
    local lost
    lost=$(sed -n 's/^tracepacket: \([0-9]*\) events lost.*/\1/p' "$work/err")
    if [ -n "$lost" ]; then echo "lost:$lost"; else echo "$p"; fi
}
strace_f() { strace -f -o /dev/null "$PINGPONG" "${args[@]}" | p50; }
valid() { for v in "$@"; do case $v in lost:*) ;; *) echo "$v" ;; esac; done; }

echo "== kernel probes: 64 B TCP ping-pong p50, $COUNT round trips, $ROUNDS alternating rounds, pin=${PIN:-none}, ring $RING bytes"
declare -a base rec nosys st
for round in $(seq "$ROUNDS"); do
    b=$(untraced); r=$(recorded); n=$(recorded --no-syscalls); s=$(strace_f)
    echo "  round $round: untraced $b | record-events $r | --no-syscalls $n | strace -f $s (ns)"
    base+=("$b"); rec+=("$r"); nosys+=("$n"); st+=("$s")
done
mapfile -t rec_ok < <(valid "${rec[@]}")
mapfile -t nosys_ok < <(valid "${nosys[@]}")
if [ ${#rec_ok[@]} -eq 0 ] || [ ${#nosys_ok[@]} -eq 0 ]; then
    echo "every traced run lost events: raise RING (now $RING bytes)" >&2
    exit 1
fi
m_base=$(median "${base[@]}")
row() { printf '  %-34s %10.0f ns  %6sx\n' "$1" "$2" "$(ratio "$2" "$m_base")"; }
echo "median p50 round trip (ratio to untraced; runs that lost events left out):"
row "untraced" "$m_base"
row "record-events (all probes)" "$(median "${rec_ok[@]}")"
row "record-events --no-syscalls" "$(median "${nosys_ok[@]}")"
row "strace -f" "$(median "${st[@]}")"
r=$(ratio "$(median "${rec_ok[@]}")" "$(median "${st[@]}")")
echo "record-events / strace -f = $r (figure: < 1: $(verdict "$r" "<=" 1.0))"
r=$(ratio "$(median "${rec_ok[@]}")" "$m_base")
echo "record-events / untraced = $r (issue #6: <= 1.5: $(verdict "$r" "<=" 1.5))"

# Cost per program, from the kernel's own BPF statistics, over a run the
# ring holds whole (STATS_COUNT round trips); the programs stay attached
# until the statistics are read.
STATS_COUNT=${STATS_COUNT:-6000}
sysctl -qw kernel.bpf_stats_enabled=1
"$TPK" record-events --ring-buffer "$RING" -o /dev/null --ready-file "$work/ready" -- \
    sh -c "while [ ! -e $work/go ]; do sleep 0.01; done; $PINGPONG tcp 64 $STATS_COUNT 0 ${pin[*]} > $work/stats-run; touch $work/done; while [ ! -e $work/read ]; do sleep 0.01; done" \
    > /dev/null 2> "$work/stats-err" &
tool=$!
for _ in $(seq 300); do [ -e "$work/ready" ] && break; sleep 0.1; done
ids=$(sed -n 's/^programs //p' "$work/ready")
touch "$work/go"
for _ in $(seq 600); do [ -e "$work/done" ] && break; sleep 0.1; done
echo "per program (bpf_stats, $STATS_COUNT round trips): runs, average ns"
for id in $ids; do
    bpftool prog show id "$id" 2>/dev/null |
        sed -n 's/^[0-9]*: [a-z_]*  name \([a-z0-9_]*\) .*run_time_ns \([0-9]*\) run_cnt \([0-9]*\).*/\1 \2 \3/p'
done | awk '$3 > 100 { printf "  %-32s %9d %6.0f\n", $1, $3, $2 / $3 }'
touch "$work/read"
wait "$tool" || true
lost=$(sed -n 's/^tracepacket: \([0-9]*\) events lost.*/\1/p' "$work/stats-err")
echo "  (events lost in that run: ${lost:-0})"
