#!/usr/bin/env bash
# Offline decoding speed: `tracepacket capture -nn -r FILE` against
# `tcpdump -nn -r FILE`, both to /dev/null, alternately in this invocation,
# on a file of 1,000,000 small TCP/UDP packets made by scripts/gen-pcap
# (cached in $BUILD/bench-data/). Also checks that both print the same text.
# Figure: tcpdump time / tracepacket time >= 2 (median wall-clock seconds).
#
#   bench/capture-offline.sh     (env: ROUNDS=5 PACKETS=1000000 BUILD=build)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_tool tcpdump

ROUNDS=${ROUNDS:-5}
PACKETS=${PACKETS:-1000000}
data=$BUILD_DIR/bench-data
file=$data/capture-$PACKETS.pcap
mkdir -p "$data"
if [ ! -s "$file" ]; then
    "$ROOT/scripts/gen-pcap" "$file" --packets "$PACKETS"
fi

seconds() {  # seconds COMMAND...: wall-clock time of one run, output to /dev/null
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    python3 -c 'import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / 1e9)' "$start" "$end"
}

# Same text? (TZ fixed so both print the same clock.)
if ! cmp -s <(TZ=UTC tcpdump -nn -r "$file" 2>/dev/null | head -200000) \
            <(TZ=UTC "$TPK" capture -nn -r "$file" 2>/dev/null | head -200000); then
    echo "capture-offline: tracepacket and tcpdump print different text for $file (first 200000 lines)"
fi

echo "== capture -nn -r of $PACKETS packets ($(du -h "$file" | cut -f1)) to /dev/null, $ROUNDS alternating rounds"
theirs=()
ours=()
for round in $(seq "$ROUNDS"); do
    t=$(seconds tcpdump -nn -r "$file")
    o=$(seconds "$TPK" capture -nn -r "$file")
    printf '  round %s: tcpdump %.3f s, tracepacket %.3f s\n' "$round" "$t" "$o"
    theirs+=("$t")
    ours+=("$o")
done
m_t=$(median "${theirs[@]}")
m_o=$(median "${ours[@]}")
r=$(ratio "$m_t" "$m_o")
printf 'capture -nn -r: median tcpdump %.3f s / tracepacket %.3f s = %sx faster (figure: >= 2: %s)\n' \
    "$m_t" "$m_o" "$r" "$(verdict "$r" ">=" 2)"
