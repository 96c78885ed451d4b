#!/usr/bin/env bash
# Listing sockets: `tracepacket sockets` against `ss` with the same flags, on
# PAIRS established TCP connections over 127.0.0.1 and PAIRS UNIX stream
# pairs held open by a helper process, alternately in this invocation.
# Also checks both list the same number of sockets.
# Figure: tracepacket time / ss time <= 2 for each listing (median wall-clock).
#
#   bench/sockets-listing.sh     (env: ROUNDS=10 PAIRS=2000 BUILD=build)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
need_tool ss

ROUNDS=${ROUNDS:-10}
PAIRS=${PAIRS:-2000}
ulimit -n $((PAIRS * 4 + 100)) 2>/dev/null || true
ready=$(mktemp -u /tmp/tpk-sockets-bench.XXXXXX)

python3 - "$PAIRS" "$ready" <<'PY' &
import os, signal, socket, sys, time
pairs, ready = int(sys.argv[1]), sys.argv[2]
held = []
listener = socket.socket(); listener.bind(("127.0.0.1", 0)); listener.listen(pairs)
for _ in range(pairs):
    c = socket.create_connection(listener.getsockname()); s, _ = listener.accept()
    held += [c, s, *socket.socketpair()]
open(ready, "w").close()
signal.sigwait([signal.SIGTERM, signal.SIGINT])
PY
holder=$!
trap 'kill $holder 2>/dev/null; wait $holder 2>/dev/null; rm -f "$ready"' EXIT
for _ in $(seq 300); do [ -e "$ready" ] && break; sleep 0.1; done
[ -e "$ready" ] || { echo "sockets-listing: the helper did not open its sockets" >&2; exit 1; }

seconds() {  # wall-clock seconds of one run, output to /dev/null
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    python3 -c 'import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / 1e9)' "$start" "$end"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "== $PAIRS TCP connections + $PAIRS UNIX pairs held open, $ROUNDS alternating rounds"
for flags in -tan -tanp -tani -xa; do
    ours_count=$("$TPK" sockets $flags -n --json | wc -l)
    theirs_count=$(ss -H $flags | grep -vc '^[[:space:]]' || true)
    theirs=(); ours=()
    for _ in $(seq "$ROUNDS"); do
        theirs+=("$(seconds ss $flags)")
        ours+=("$(seconds "$TPK" sockets $flags -n)")
    done
    t=$(median "${theirs[@]}"); o=$(median "${ours[@]}")
    python3 - "$flags" "$t" "$o" "$theirs_count" "$ours_count" <<'PY'
import sys
flags, t, o, tc, oc = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
ratio = o / t
verdict = "holds" if ratio <= 2 else "DOES NOT HOLD"
same = "same count" if tc == oc else f"COUNTS DIFFER (ss {tc}, tracepacket {oc})"
print(f"  {flags:6} ss {t*1000:8.1f} ms   tracepacket {o*1000:8.1f} ms   ratio {ratio:5.2f} ({verdict}: <= 2)   {same}")
PY
done
