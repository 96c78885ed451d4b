#!/usr/bin/env bash
# Listing sockets: `tracepacket sockets` against `ss` with the same flags, on
# PAIRS established TCP connections over 127.0.0.1 and PAIRS UNIX stream
# pairs held open by a helper process, alternately in this invocation.
# Figure: tracepacket time / ss time <= 1 for each listing (median wall-clock
# of ROUNDS alternating runs; issue #16).
#
# Also checks that both list the same sockets. Other programs on the machine
# open and close sockets while the tools run, so one listing each cannot tell
# a socket that came or went between them from a real difference. The check
# takes four listings in turn, ss, tracepacket, ss, tracepacket: a socket in
# both ss listings but not in the tracepacket one between them, or in both
# tracepacket listings but not in the ss one between them, existed all along
# and is a real difference (the script then exits 1); any other difference is
# counted as churn and printed.
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
work=$(mktemp -d /tmp/tpk-sockets-lists.XXXXXX)

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
# set -e would turn the helper's SIGTERM status (143) from wait into the script's.
trap 'kill $holder 2>/dev/null; wait $holder 2>/dev/null || true; rm -rf "$ready" "$work"' EXIT
for _ in $(seq 300); do [ -e "$ready" ] && break; sleep 0.1; done
[ -e "$ready" ] || { echo "sockets-listing: the helper did not open its sockets" >&2; exit 1; }

seconds() {  # wall-clock seconds of one run, output to /dev/null
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    python3 -c 'import sys; print((int(sys.argv[2]) - int(sys.argv[1])) / 1e9)' "$start" "$end"
}

# The same sockets? Prints one line; exits 1 on a real difference.
same_sockets() {
    local flags=$1
    ss -H $flags >"$work/ss1"
    "$TPK" sockets $flags -n --json >"$work/ours1"
    ss -H $flags >"$work/ss2"
    "$TPK" sockets $flags -n --json >"$work/ours2"
    python3 - "$work" <<'PY'
import json, os, re, sys
work = sys.argv[1]

def host(text):
    # ss may write an interface scope ("[fe80::1]%eth0:22") and, by
    # version, "*" for an unspecified address.
    text = re.sub(r"%[^:\]]+(?=:[^:]*$)", "", text)
    address, _, port = text.rpartition(":")
    if address in ("*", "0.0.0.0", "[::]"):
        address = "*"
    return address + ":" + port

def ss_rows(path):
    rows = set()
    for line in open(path):
        if not line.strip() or line[0].isspace():
            continue  # -i puts tcp_info on indented lines
        w = line.split()
        if w[0].startswith("u_"):  # Netid State Recv-Q Send-Q Local Inode Peer Peer-Inode
            rows.add(("unix", w[-3]))
        elif w[0] in ("tcp", "udp"):  # several protocols: Netid first
            rows.add((w[1], host(w[4]), host(w[5])))
        else:  # one protocol: State Recv-Q Send-Q Local Peer [Process]
            rows.add((w[0], host(w[3]), host(w[4])))
    return rows

def our_rows(path):
    rows = set()
    for line in open(path):
        o = json.loads(line)
        if o["family"] == "unix":
            rows.add(("unix", str(o["inode"])))
        else:
            def endpoint(e):
                a = e["address"]
                a = "[" + a + "]" if ":" in a else a
                return host(a + ":" + (str(e["port"]) if e["port"] else "*"))
            rows.add((o["state"], endpoint(o["local"]), endpoint(o["peer"])))
    return rows

ss1, ours1, ss2, ours2 = (ss_rows(os.path.join(work, "ss1")), our_rows(os.path.join(work, "ours1")),
                          ss_rows(os.path.join(work, "ss2")), our_rows(os.path.join(work, "ours2")))
missing = (ss1 & ss2) - ours1
extra = (ours1 & ours2) - ss2
churn = len((ss1 | ss2 | ours1 | ours2) - (ss1 & ss2 & ours1 & ours2) - missing - extra)
if missing or extra:
    print(f"DIFFERENT SOCKETS: {len(missing)} in both ss listings but not in tracepacket's "
          f"(e.g. {sorted(missing)[:3]}), {len(extra)} in both tracepacket listings but not in "
          f"ss's (e.g. {sorted(extra)[:3]})")
    sys.exit(1)
print(f"same sockets ({len(ss1 & ours1)} rows; {churn} came or went between the listings)")
PY
}

echo "== $PAIRS TCP connections + $PAIRS UNIX pairs held open, $ROUNDS alternating rounds"
differ=0
for flags in -tan -tanp -tani -xa; do
    same=$(same_sockets "$flags") || differ=1
    theirs=(); ours=()
    for _ in $(seq "$ROUNDS"); do
        theirs+=("$(seconds ss $flags)")
        ours+=("$(seconds "$TPK" sockets $flags -n)")
    done
    t=$(median "${theirs[@]}"); o=$(median "${ours[@]}")
    r=$(ratio "$o" "$t")
    python3 - "$flags" "$t" "$o" "$r" "$(verdict "$r" "<=" 1)" "$same" <<'PY'
import sys
flags, t, o, r, verdict, same = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
print(f"  {flags:6} ss {t*1000:7.1f} ms   tracepacket {o*1000:7.1f} ms   ratio {r} ({verdict}: <= 1)   {same}")
PY
done
if [ "$differ" -ne 0 ]; then
    echo "sockets-listing: tracepacket and ss list different sockets (above)" >&2
    exit 1
fi
