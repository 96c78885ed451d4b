#!/usr/bin/env bash
# Many connections (issue #14): `tracepacket trace --json -- python3
# bench/short-connections.py N GAP`, N short TCP connections on lo (10
# packets each), as a busy web server makes them: the seconds from the traced
# command's exit to tracepacket's exit, peak RSS, and whether the journey is
# whole: as many connections as were made, every packet once (none shown
# twice: a packet's first hop is unique), every frame matched. With
# BASELINE=<binary> the same run of another build alongside. Needs root (BPF).
#
#   bench/journey-connections.sh      (env: N=20000 GAP=0.0002 BUILD=build BASELINE=)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
skip_unless_root "BPF"
N=${N:-20000}
GAP=${GAP:-0.0002}
BASELINE=${BASELINE:-}
SCRIPT=$ROOT/bench/short-connections.py

work=$(mktemp -d /tmp/tpk-journey-connections.XXXXXX)
trap 'rm -rf "$work"' EXIT

once() {   # NAME BINARY
    local name=$1 bin=$2 end_cmd end_tpk
    /usr/bin/time -f '%M' -o "$work/rss" "$bin" trace --json -- /bin/sh -c \
        "python3 '$SCRIPT' $N $GAP; date +%s%N > '$work/cmd_end'" \
        > "$work/out.jsonl" 2> "$work/err" || { cat "$work/err" >&2; return 1; }
    end_tpk=$(date +%s%N)
    end_cmd=$(cat "$work/cmd_end")
    python3 - "$name" "$work/out.jsonl" "$end_cmd" "$end_tpk" "$(tail -1 "$work/rss")" "$N" <<'PY'
import collections, json, sys
name, path, end_cmd, end_tpk, rss, n = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
connections = packets = 0
first_hops = collections.Counter()
for line in open(path):
    r = json.loads(line)
    if r["type"] == "connection":
        connections += 1
    elif r["type"] == "packet":
        packets += 1
        if r["hops"]:
            h = r["hops"][0]
            first_hops[(h["t_ns"], h["tid"], h["event"])] += 1
    elif r["type"] == "summary":
        s = r
twice = sum(c - 1 for c in first_hops.values() if c > 1)
after = max(end_tpk - end_cmd, 1) / 1e9
whole = connections == n and twice == 0 and s["frames_matched"] == s["frames"] and s["lost_events"] == 0
print(f"{name:<12} {after:>10.2f} {rss / 1024:>9.0f} {packets:>9} {s['frames']:>8} {connections:>11} {twice:>6} {s['lost_events']:>5}  {'whole' if whole else 'NOT WHOLE'}")
PY
}

echo "N=$N connections, GAP=$GAP s"
printf '%-12s %10s %9s %9s %8s %11s %6s %5s\n' build "s after" "peak MB" packets frames connections twice lost
once tracepacket "$TPK"
[ -z "$BASELINE" ] || once baseline "$BASELINE"
