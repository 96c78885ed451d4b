#!/usr/bin/env bash
# The kernel side alone: p50 round trip of the 64 B TCP ping-pong
# (bench/pingpong.c) untraced, under `tracepacket record-events -o /dev/null`
# (every probe of bpf/tracepacket.bpf.c, events read and written as JSON),
# the same with --no-syscalls, the same with a one-page ring buffer (events
# dropped: what the BPF programs cost without a reader), and under
# `strace -f -o /dev/null` (the peer), alternating in this one invocation.
# Also prints each program's average run time (kernel.bpf_stats_enabled is
# switched on for that run only). Needs root.
#
#   bench/kernel-probes.sh      (env: ROUNDS=3 COUNT=5000 PIN=0,0 BUILD=build)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_file "$PINGPONG"
need_tool strace
if [ "$(id -u)" != 0 ]; then
    echo "$(basename "$0"): needs root (BPF); skipped" >&2
    exit 0
fi

ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-5000}
PIN=${PIN-0,0}
pin=()
[ -n "$PIN" ] && pin=("${PIN%,*}" "${PIN#*,}")
args=(tcp 64 "$COUNT" 500 "${pin[@]}")

p50() { sed -n 's/.*p50_ns=\([0-9]*\).*/\1/p'; }
untraced() { "$PINGPONG" "${args[@]}" | p50; }
recorded() { "$TPK" record-events -o /dev/null "$@" -- "$PINGPONG" "${args[@]}" 2>/dev/null | p50; }
strace_f() { strace -f -o /dev/null "$PINGPONG" "${args[@]}" | p50; }

echo "== kernel probes: 64 B TCP ping-pong p50, $COUNT round trips, $ROUNDS alternating rounds, pin=${PIN:-none}"
declare -a base rec nosys tiny st
for round in $(seq "$ROUNDS"); do
    b=$(untraced); r=$(recorded); n=$(recorded --no-syscalls)
    t=$(recorded --ring-buffer 4096); s=$(strace_f)
    echo "  round $round: untraced $b | record-events $r | --no-syscalls $n | 4 KiB ring $t | strace -f $s (ns)"
    base+=("$b"); rec+=("$r"); nosys+=("$n"); tiny+=("$t"); st+=("$s")
done
m_base=$(median "${base[@]}")
row() { printf '  %-34s %10.0f ns  %6sx\n' "$1" "$2" "$(ratio "$2" "$m_base")"; }
echo "median p50 round trip (ratio to untraced):"
row "untraced" "$m_base"
row "record-events (all probes)" "$(median "${rec[@]}")"
row "record-events --no-syscalls" "$(median "${nosys[@]}")"
row "record-events, 4 KiB ring (no reader)" "$(median "${tiny[@]}")"
row "strace -f" "$(median "${st[@]}")"
r=$(ratio "$(median "${rec[@]}")" "$(median "${st[@]}")")
echo "record-events / strace -f = $r (figure: < 1: $(verdict "$r" "<=" 1.0))"

# Cost per program, from the kernel's own BPF statistics.
work=$(mktemp -d /tmp/tpk-kprobes.XXXXXX)
old_stats=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled="$old_stats"; rm -rf "$work"' EXIT
sysctl -qw kernel.bpf_stats_enabled=1
"$TPK" record-events -o /dev/null --ready-file "$work/ready" -- \
    sh -c "while [ ! -e $work/go ]; do sleep 0.01; done; exec $PINGPONG tcp 64 300000 500 ${pin[*]}" \
    > /dev/null 2>&1 &
tool=$!
for _ in $(seq 300); do [ -e "$work/ready" ] && break; sleep 0.1; done
ids=$(sed -n 's/^programs //p' "$work/ready")
touch "$work/go"
sleep 1
echo "per program (bpf_stats, while the ping-pong runs): runs, average ns"
for id in $ids; do
    bpftool prog show id "$id" 2>/dev/null |
        sed -n 's/^[0-9]*: [a-z_]*  name \([a-z0-9_]*\) .*run_time_ns \([0-9]*\) run_cnt \([0-9]*\).*/\1 \2 \3/p'
done | awk '$3 > 100 { printf "  %-32s %9d %6.0f\n", $1, $3, $2 / $3 }'
wait "$tool" || true
