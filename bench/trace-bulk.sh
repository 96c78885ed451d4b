#!/usr/bin/env bash
# A bulk transfer under `tracepacket trace` (issue #16, the journey's own
# capture): a one-way TCP stream of 128 KiB writes on lo for SECONDS_EACH s
# (`tracepacket bench --mode throughput`, both ends on CPU 0), traced with the
# capture keeping 256 bytes of each frame (trace's default) and whole frames
# (--snaplen 0), alternating for ROUNDS rounds. Per run: the stream's speed
# against the same stream untraced, the frames the kernel dropped, the packets
# left without their frame, segments shown twice, peak RSS. Figure: no frame
# dropped with the default. Needs root (BPF, capture).
#
#   bench/trace-bulk.sh      (env: ROUNDS=2 SECONDS_EACH=2 BUILD=build)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
skip_unless_root "BPF, capture on lo"

ROUNDS=${ROUNDS:-2}
SECONDS_EACH=${SECONDS_EACH:-2}
stream=("$TPK" bench --mode throughput -t tcp -s 128K --stream-time "$SECONDS_EACH" --pin 0,0)

work=$(mktemp -d /tmp/tpk-trace-bulk.XXXXXX)
trap 'rm -rf "$work"' EXIT

gbit() { awk '$1 == "tcp" { print $5 }'; }   # tcp 128 KiB MB/s Gbit/s ...

untraced=$("${stream[@]}" | gbit)
echo "== 128 KiB writes on lo for $SECONDS_EACH s; untraced: $untraced Gbit/s"
printf '%-10s %8s %9s %9s %9s %13s %7s %8s\n' snaplen Gbit/s kept packets dropped "without frame" twice "peak MB"
default_dropped=0
for round in $(seq "$ROUNDS"); do
    for snaplen in default 0; do
        opt=()
        [ "$snaplen" = default ] || opt=(--snaplen "$snaplen")
        /usr/bin/time -f '%M' -o "$work/rss" "$TPK" trace "${opt[@]}" --json -o "$work/out.jsonl" \
            -- "${stream[@]}" > "$work/stream.out" 2> "$work/err" || { cat "$work/err" >&2; exit 1; }
        speed=$(gbit < "$work/stream.out")
        line=$(python3 - "$work/out.jsonl" <<'PY'
import collections, json, sys
hops = collections.Counter()
packets = without = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "packet":
        packets += 1
        without += r["frame"] is None
        for h in r["hops"]:
            if h["event"] == "net_dev_start_xmit":
                hops[(h["t_ns"], h["tid"])] += 1
    elif r["type"] == "summary":
        s = r
twice = sum(c - 1 for c in hops.values() if c > 1)
print(packets, s["capture_dropped"], without, twice)
PY
)
        read -r packets dropped without twice <<< "$line"
        [ "$snaplen" = default ] && default_dropped=$((default_dropped + dropped))
        printf '%-10s %8s %9s %9s %9s %13s %7s %8.0f\n' "$snaplen" "$speed" \
            "$(ratio "$speed" "$untraced")" "$packets" "$dropped" "$without" "$twice" \
            "$(tail -1 "$work/rss" | awk '{ print $1 / 1024 }')"
    done
done
echo "frames dropped with trace's default snap length, all rounds: $default_dropped" \
     "(figure: 0: $([ "$default_dropped" = 0 ] && echo holds || echo "DOES NOT HOLD"))"
