#!/usr/bin/env bash
# A steady stream traced for a long time (issue #14): one TCP connection on
# lo, a 100-byte request and a 100-byte answer every INTERVAL seconds for
# DURATION seconds, under `tracepacket trace --json` streamed (the default)
# and with --no-stream, in this one invocation. For each: packets written,
# peak RSS, seconds from the start to the first line on stdout, seconds from
# the command's exit to tracepacket's exit. Figures: the streamed run's peak
# RSS does not grow with DURATION (compare two DURATIONs), its first line
# comes within about a second, and both runs write the same packets. Needs
# root (BPF).
#
#   bench/journey-steady.sh     (env: DURATION=60 INTERVAL=0.002 BUILD=build)
#   DURATION=300 bench/journey-steady.sh       (the 5-minute figure: ~11 min)
set -euo pipefail
source "$(dirname "$0")/common.bash"
need_file "$TPK"
skip_unless_root "BPF"
DURATION=${DURATION:-60}
INTERVAL=${INTERVAL:-0.002}

work=$(mktemp -d /tmp/tpk-journey-steady.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/steady.py" <<'EOF'
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
c = socket.create_connection(s.getsockname()); a, _ = s.accept()
end = time.time() + float(sys.argv[1])
while time.time() < end:
    c.send(b"x" * 100); a.recv(100); a.send(b"y" * 100); c.recv(100)
    time.sleep(float(sys.argv[2]))
EOF

# One run: prints "<packets> <peak RSS MB> <s to first line> <s after the command>".
once() {   # MODE ("" or --no-stream)
    local start first="" end_tpk end_cmd
    rm -f "$work/out.jsonl" "$work/cmd_end"
    : > "$work/out.jsonl"
    start=$(date +%s%N)
    # shellcheck disable=SC2086 # MODE is empty or one word
    /usr/bin/time -f '%M' -o "$work/rss" "$TPK" trace --json $1 -- /bin/sh -c \
        "python3 '$work/steady.py' $DURATION $INTERVAL; date +%s%N > '$work/cmd_end'" \
        > "$work/out.jsonl" 2> "$work/err" &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if [ -z "$first" ] && [ -s "$work/out.jsonl" ]; then first=$(date +%s%N); fi
        sleep 0.05
    done
    wait "$pid" || { cat "$work/err" >&2; return 1; }
    end_tpk=$(date +%s%N)
    [ -n "$first" ] || first=$end_tpk
    end_cmd=$(cat "$work/cmd_end")
    python3 - "$work/out.jsonl" "$(tail -1 "$work/rss")" "$start" "$first" "$end_cmd" "$end_tpk" <<'EOF'
import json, sys
path, rss, start, first, end_cmd, end_tpk = sys.argv[1], *(int(x) for x in sys.argv[2:])
with open(path, "rb") as f:
    f.seek(-4096, 2) if f.seek(0, 2) > 4096 else f.seek(0)
    summary = json.loads(f.read().splitlines()[-1])
print(f"{summary['packets']} {rss / 1024:.0f} {(first - start) / 1e9:.2f} "
      f"{max(end_tpk - end_cmd, 0) / 1e9:.2f}")
EOF
}

echo "== a steady stream for $DURATION s (a round trip every $INTERVAL s), traced"
printf '%-12s %9s %9s %16s %14s\n' mode packets "peak MB" "s to 1st line" "s after cmd"
declare -A rss
for mode in streamed --no-stream; do
    arg=""
    [ "$mode" = streamed ] || arg=$mode
    read -r packets mb first after < <(once "$arg")
    printf '%-12s %9s %9s %16s %14s\n' "$mode" "$packets" "$mb" "$first" "$after"
    rss[$mode]=$mb
done
python3 -c "import sys; s, w = map(float, sys.argv[1:]); print(f'peak RSS streamed / --no-stream: {s / w:.2f}')" \
    "${rss[streamed]}" "${rss[--no-stream]}"
