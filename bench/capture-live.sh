#!/usr/bin/env bash
# Live capture under load: while `tracepacket bench` streams TCP over lo
# (128 KiB writes, 5 s), capture it to a file with `tcpdump -w` and with
# `tracepacket capture -w`, alternately, and report for each the packets
# captured, the drops the kernel counted (pcap_stats, the numbers both tools
# print at exit), and the throughput the stream kept (vs. no capture at all).
# Both capture with their defaults: snap length 262144, filter "tcp";
# tcpdump: 2 MiB buffer, TPACKET_V3 blocks; tracepacket: 4 MiB, immediate mode.
# Two more tracepacket rows: tcpdump's buffer size (-B 2048), and --buffered (TPACKET_V3
# blocks like tcpdump -w) for like-for-like comparisons.
# Figure: tracepacket drops <= tcpdump drops (median of ROUNDS).
#
#   bench/capture-live.sh     (env: ROUNDS=3 SECONDS_EACH=5 BUILD=build)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_tool tcpdump
if [ "$(id -u)" -ne 0 ]; then
    echo "capture-live: skipped: capturing on lo needs CAP_NET_RAW; run make bench as root"
    exit 0
fi

ROUNDS=${ROUNDS:-3}
SECONDS_EACH=${SECONDS_EACH:-5}
tmp=$(mktemp -d)
capture_pid=""
cleanup() {
    if [ -n "$capture_pid" ]; then kill -INT "$capture_pid" 2>/dev/null || true; wait "$capture_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

stream_gbps() {
    "$TPK" bench --mode throughput --transport tcp --size 128K --stream-time "$SECONDS_EACH" --json |
        json_field throughput tcp gbit_per_s
}

# run_with NAME COMMAND...: starts the capture, waits for its "listening on"
# line, streams, stops it with SIGINT; prints "gbps captured dropped".
run_with() {
    local name=$1; shift
    local err=$tmp/$name.err
    "$@" 2>"$err" &
    capture_pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$err" && break; sleep 0.05; done
    local gbps
    gbps=$(stream_gbps)
    kill -INT "$capture_pid"
    wait "$capture_pid" || true
    capture_pid=""
    local captured dropped
    captured=$(awk '/packets captured/ {print $1}' "$err")
    dropped=$(awk '/packets dropped by kernel/ {print $1}' "$err")
    echo "$gbps ${captured:-?} ${dropped:-?}"
    rm -f "$tmp"/*.pcap*
}

echo "== live capture on lo during a ${SECONDS_EACH} s TCP stream (tracepacket bench, 128 KiB writes), $ROUNDS rounds"
declare -A gbps captured dropped share
tools=${TOOLS:-"none tcpdump tracepacket tracepacket-B2048 tracepacket-buffered"}
for round in $(seq "$ROUNDS"); do
    for tool in $tools; do
        case $tool in
            none) r="$(stream_gbps) 0 0" ;;
            tcpdump) r=$(run_with tcpdump tcpdump -i lo -w "$tmp/td.pcap" tcp) ;;
            tracepacket) r=$(run_with tracepacket "$TPK" capture -i lo -w "$tmp/tp.pcap" tcp) ;;
            tracepacket-B2048) r=$(run_with tpB "$TPK" capture -i lo -B 2048 -w "$tmp/tpb.pcap" tcp) ;;
            tracepacket-buffered) r=$(run_with tpbuf "$TPK" capture -i lo --buffered -w "$tmp/tpbuf.pcap" tcp) ;;
        esac
        read -r g c d <<<"$r"
        printf '  round %s: %-20s stream %6.2f Gbit/s, captured %9s, dropped by kernel %9s\n' "$round" "$tool" "$g" "$c" "$d"
        gbps[$tool]+="$g "
        captured[$tool]+="$c "
        dropped[$tool]+="$d "
        # Share of the packets offered to the capture that the kernel dropped:
        # comparable across runs whose streams ran at different speeds.
        share[$tool]+="$(python3 -c 'import sys; c, d = float(sys.argv[1]), float(sys.argv[2]); print(d / (c + d) if c + d else 0)' "$c" "$d") "
    done
done
# shellcheck disable=SC2086
base=$(median ${gbps[none]})
for tool in $tools; do
    # shellcheck disable=SC2086
    printf '%-20s median: stream %6.2f Gbit/s (%s of no capture), captured %s, dropped %s (%.0f%% of offered)\n' "$tool" \
        "$(median ${gbps[$tool]})" "$(ratio "$(median ${gbps[$tool]})" "$base")" \
        "$(median ${captured[$tool]})" "$(median ${dropped[$tool]})" \
        "$(python3 -c 'import sys; print(100 * float(sys.argv[1]))' "$(median ${share[$tool]})")"
done
# shellcheck disable=SC2086
d_td=$(median ${dropped[tcpdump]})
# shellcheck disable=SC2086
d_tp=$(median ${dropped[tracepacket]})
if python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$d_tp" "$d_td"; then v=holds; else v="DOES NOT HOLD"; fi
printf 'capture -w under load: tracepacket drops %s vs tcpdump %s (figure: tracepacket <= tcpdump: %s)\n' "$d_tp" "$d_td" "$v"
