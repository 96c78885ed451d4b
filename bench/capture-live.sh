#!/usr/bin/env bash
# Live capture under load: while `tracepacket bench` streams TCP over lo
# (128 KiB writes), capture it to a file with `tcpdump -w` and with
# `tracepacket capture -w`, alternately, and report for each the packets
# captured, the drops the kernel counted (pcap_stats, the numbers both tools
# print at exit), and the throughput the stream kept (vs. no capture at all).
#
#   bench/capture-live.sh     (env: ROUNDS=5 SECONDS_EACH=3 BUILD=build BEFORE=<old tracepacket>)
#
# Both write every packet in full (snap length 262144) with filter "tcp", to
# a file under /tmp, and are stopped with SIGINT. Rows:
#   tcpdump                      its defaults: 2 MiB buffer, TPACKET_V3 blocks
#   tracepacket                  its -w defaults: 4 MiB, blocks, sent copies on lo not copied
#   tracepacket-immediate        --immediate-mode (TPACKET_V2, a wake-up per packet)
#   tracepacket-B2048            tcpdump's buffer size
#   before                       $BEFORE's defaults, when BEFORE names an older binary
# "Share" is dropped / (captured + dropped) as the tool counts them. On lo
# tcpdump's counters include the sent copy of every packet (libpcap discards
# it after the kernel copied it), tracepacket's do not; so the script also
# counts TCP segments sent during each stream (/proc/net/snmp OutSegs, all of
# lo's TCP: other traffic adds a little) and prints the share of them that is
# missing from the file, the same yardstick for every row.
# Figures: tracepacket's kernel drop share <= half of tcpdump's, and its
# stream >= 0.9 of no capture (medians over ROUNDS).
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_tool tcpdump
skip_unless_root "capturing on lo needs CAP_NET_RAW"

ROUNDS=${ROUNDS:-5}
SECONDS_EACH=${SECONDS_EACH:-3}
BEFORE=${BEFORE:-}
tmp=$(mktemp -d)
capture_pid=""
cleanup() {
    if [ -n "$capture_pid" ]; then kill -INT "$capture_pid" 2>/dev/null || true; wait "$capture_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

tcp_out_segs() { awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "OutSegs") c = i; h = 1 } else print $c }' /proc/net/snmp; }

stream_gbps() {
    "$TPK" bench --mode throughput --transport tcp --size 128K --stream-time "$SECONDS_EACH" --json |
        json_field throughput tcp gbit_per_s
}

# run_with NAME COMMAND...: starts the capture, waits for its "listening on"
# line, streams, stops it with SIGINT; prints "gbps captured dropped segments".
run_with() {
    local name=$1; shift
    local err=$tmp/$name.err
    "$@" 2>"$err" &
    capture_pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$err" && break; sleep 0.05; done
    local gbps s0 s1
    s0=$(tcp_out_segs)
    gbps=$(stream_gbps)
    s1=$(tcp_out_segs)
    kill -INT "$capture_pid"
    wait "$capture_pid" || true
    capture_pid=""
    local captured dropped
    captured=$(awk '/packets captured/ {print $1}' "$err")
    dropped=$(awk '/packets dropped by kernel/ {print $1}' "$err")
    echo "$gbps ${captured:-?} ${dropped:-?} $((s1 - s0))"
    rm -f "$tmp"/*.pcap*
}

tools=${TOOLS:-"none tcpdump tracepacket tracepacket-immediate tracepacket-B2048"}
if [ -n "$BEFORE" ]; then tools+=" before"; fi
echo "== live capture on lo during a ${SECONDS_EACH} s TCP stream (tracepacket bench, 128 KiB writes), $ROUNDS rounds"
declare -A gbps captured dropped share missing
for round in $(seq "$ROUNDS"); do
    for tool in $tools; do
        case $tool in
            none) r="$(stream_gbps) 0 0 0" ;;
            tcpdump) r=$(run_with tcpdump tcpdump -i lo -w "$tmp/td.pcap" tcp) ;;
            tracepacket) r=$(run_with tp "$TPK" capture -i lo -w "$tmp/tp.pcap" tcp) ;;
            tracepacket-immediate) r=$(run_with tpi "$TPK" capture -i lo --immediate-mode -w "$tmp/tpi.pcap" tcp) ;;
            tracepacket-B2048) r=$(run_with tpb "$TPK" capture -i lo -B 2048 -w "$tmp/tpb.pcap" tcp) ;;
            before) r=$(run_with before "$BEFORE" capture -i lo -w "$tmp/before.pcap" tcp) ;;
        esac
        read -r g c d s <<<"$r"
        printf '  round %s: %-22s stream %6.2f Gbit/s, captured %7s, dropped by kernel %7s, TCP segments sent %7s\n' \
            "$round" "$tool" "$g" "$c" "$d" "$s"
        gbps[$tool]+="$g "
        captured[$tool]+="$c "
        dropped[$tool]+="$d "
        share[$tool]+="$(python3 -c 'import sys; c, d = map(float, sys.argv[1:]); print(d / (c + d) if c + d else 0)' "$c" "$d") "
        missing[$tool]+="$(python3 -c 'import sys; c, s = map(float, sys.argv[1:]); print(max(0.0, 1 - c / s) if s else 0)' "$c" "$s") "
    done
done
# shellcheck disable=SC2086
base=$(median ${gbps[none]})
pct() { python3 -c 'import sys; print("%.0f%%" % (100 * float(sys.argv[1])))' "$1"; }
for tool in $tools; do
    [ "$tool" = none ] && continue
    # shellcheck disable=SC2086
    printf '%-22s median: stream %6.2f Gbit/s (%s of no capture), captured %s, dropped %s: %s of offered as counted, %s of the segments sent missing\n' \
        "$tool" "$(median ${gbps[$tool]})" "$(ratio "$(median ${gbps[$tool]})" "$base")" \
        "$(median ${captured[$tool]})" "$(median ${dropped[$tool]})" \
        "$(pct "$(median ${share[$tool]})")" "$(pct "$(median ${missing[$tool]})")"
done
# shellcheck disable=SC2086
s_td=$(median ${share[tcpdump]})
# shellcheck disable=SC2086
s_tp=$(median ${share[tracepacket]})
# shellcheck disable=SC2086
kept=$(ratio "$(median ${gbps[tracepacket]})" "$base")
r=$(python3 -c 'import sys; a, b = map(float, sys.argv[1:]); print("%.3f" % (a / b if b else 0))' "$s_tp" "$s_td")
printf 'capture -w under load: kernel drop share tracepacket %s / tcpdump %s = %s (figure: <= 0.5: %s); stream kept %s (figure: >= 0.9: %s)\n' \
    "$(pct "$s_tp")" "$(pct "$s_td")" "$r" "$(verdict "$r" "<=" 0.5)" "$kept" "$(verdict "$kept" ">=" 0.9)"
