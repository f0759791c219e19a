#!/usr/bin/env bash
# Runs `swarmcast loadtest` profiles against WebTorrent trackers, one tracker process at a
# time, each on 127.0.0.1, and writes a comparison table to docs/bench-tracker.md.
#
#   scripts/bench-trackers.sh [-r runs] [-p "light mid heavy closed"] [-d window] [-i idle-conns]
#                             [-t "swarmcast bittorrent-tracker"] [-b swarmcast-binary] [-o out.md] [-x 'name=command']...
#
# Trackers: swarmcast (built from this tree), bittorrent-tracker (npm, node_modules, via
# scripts/bench-bittorrent-tracker.mjs), and any other given with -x; its command is run
# with {port} replaced by the port it must listen on (127.0.0.1), e.g.
#   -x 'wt-tracker=node /path/wt-tracker/src/run-tracker.ts /tmp/wt-{port}.json'
# Every run starts a fresh tracker process (so RSS per connection starts from a clean
# baseline), waits for its port, runs the load generator with -pid, and stops it.
# Besides the profiles, swarmcast also runs light and mid with permessage-deflate and the
# idle profile with 19,000 connections from four 127.0.0.x source addresses.
# Raw JSON lines go to test-output/bench-trackers.jsonl. Load tests only ever target
# 127.0.0.1; each lasts well under a minute.
set -euo pipefail
cd "$(dirname "$0")/.."

invocation="scripts/bench-trackers.sh $*"
runs=2
profiles="light mid heavy closed"
out=docs/bench-tracker.md
others=()
idle_conns=19000
window=""
only="swarmcast bittorrent-tracker"
prebuilt=""
while getopts "r:p:o:x:i:d:t:b:" opt; do
  case $opt in
    r) runs=$OPTARG ;;
    p) profiles=$OPTARG ;;
    o) out=$OPTARG ;;
    x) others+=("$OPTARG") ;;
    i) idle_conns=$OPTARG ;;
    d) window=$OPTARG ;;
    t) only=$OPTARG ;;
    b) prebuilt=$OPTARG ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
  esac
done

started=$(date -u '+%Y-%m-%d %H:%M')
mkdir -p test-output
raw=test-output/bench-trackers.jsonl
: > "$raw"
work=$(mktemp -d)
tracker_pid=""
cleanup() {
  if [ -n "$tracker_pid" ]; then kill "$tracker_pid" 2>/dev/null || true; wait "$tracker_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

bin=$work/swarmcast
if [ -n "$prebuilt" ]; then cp "$prebuilt" "$bin"; else go build -o "$bin" .; fi
port=18100

wait_port() { # wait until 127.0.0.1:$1 accepts connections (20 s at most)
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "tracker did not listen on 127.0.0.1:$1" >&2
  return 1
}

# start_tracker NAME PORT: starts the tracker in the background, sets tracker_pid.
start_tracker() {
  local name=$1 p=$2
  case $name in
    swarmcast)
      printf '{"servers":[{"server":{"host":"127.0.0.1","port":%d}}],"log":{"level":"warn"}}\n' "$p" > "$work/swarmcast.json"
      "$bin" tracker "$work/swarmcast.json" > "$work/tracker.log" 2>&1 &
      ;;
    bittorrent-tracker)
      node scripts/bench-bittorrent-tracker.mjs "$p" > "$work/tracker.log" 2>&1 &
      ;;
    *)
      local cmd=""
      for o in "${others[@]}"; do
        if [ "${o%%=*}" = "$name" ]; then cmd=${o#*=}; fi
      done
      cmd=${cmd//\{port\}/$p}
      bash -c "exec $cmd" > "$work/tracker.log" 2>&1 &
      ;;
  esac
  tracker_pid=$!
  wait_port "$p"
}

stop_tracker() {
  kill "$tracker_pid" 2>/dev/null || true
  wait "$tracker_pid" 2>/dev/null || true
  tracker_pid=""
}

commands=()
# run_one TRACKER LABEL LOADTEST-ARGS...
run_one() {
  local name=$1 label=$2; shift 2
  local r
  for r in $(seq "$runs"); do
    port=$((port + 1))
    start_tracker "$name" "$port"
    local args=(-url "ws://127.0.0.1:$port/" -pid "$tracker_pid" -json "$@")
    if [ -n "$window" ]; then args+=(-duration "$window"); fi
    commands+=("$name $label: swarmcast loadtest ${args[*]}")
    echo "== $name $label run $r: loadtest ${args[*]}" >&2
    local line load
    load=$(cut -d' ' -f1 /proc/loadavg)
    if line=$("$bin" loadtest "${args[@]}" 2> "$work/loadtest.err"); then
      printf '{"tracker":"%s","label":"%s","run":%d,"load":%s,"result":%s}\n' "$name" "$label" "$r" "$load" "$line" >> "$raw"
    else
      echo "loadtest failed:" >&2; cat "$work/loadtest.err" >&2
      printf '{"tracker":"%s","label":"%s","run":%d,"load":%s,"failed":true}\n' "$name" "$label" "$r" "$load" >> "$raw"
    fi
    stop_tracker
    sleep 1
  done
}

read -r -a trackers <<< "$only"
for o in "${others[@]}"; do trackers+=("${o%%=*}"); done

for t in "${trackers[@]}"; do
  for p in $profiles; do
    run_one "$t" "$p" -profile "$p"
  done
  if [ "$t" = swarmcast ]; then
    run_one "$t" "light+deflate" -profile light -deflate
    run_one "$t" "mid+deflate" -profile mid -deflate
  fi
  if [ "$idle_conns" -gt 0 ]; then
    run_one "$t" "idle-$idle_conns" -profile idle -conns "$idle_conns" -ramp-rate 2000 -source-addrs 127.0.0.1-127.0.0.4
  fi
done

# The report: machine details, exact commands, one row per run. A hand-written analysis
# below an "<!-- analysis -->" line in the existing file is kept.
notes=""
if [ -f "$out" ] && grep -q '^<!-- analysis -->' "$out"; then
  notes=$(sed -n '/^<!-- analysis -->/,$p' "$out")
fi
{
  echo "# Tracker benchmarks"
  echo
  echo "Generated by \`scripts/bench-trackers.sh\` (runs from $started to $(date -u '+%H:%M') UTC); raw JSON lines in"
  echo "\`test-output/bench-trackers.jsonl\`. Load generator: \`swarmcast loadtest\` (see docs/loadtest.md)."
  echo "Each row is one run against a freshly started tracker process; CPU is the tracker's"
  echo "utime+stime over the steady window divided by messages (in + out) in that window."
  echo
  echo "## Machine"
  echo
  echo '```'
  echo "kernel:  $(uname -sr)"
  echo "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) cores)"
  echo "memory:  $(free -m | awk '/Mem:/{print $2}') MiB"
  echo "go:      $(go version | cut -d' ' -f3)"
  echo "node:    $(node --version 2>/dev/null || echo none)"
  echo "bittorrent-tracker: $(node -p 'require("./node_modules/bittorrent-tracker/package.json").version' 2>/dev/null || echo none)"
  echo "swarmcast: $(git rev-parse --short HEAD 2>/dev/null || echo unknown) (working tree)"
  echo "other load: the machine is shared; the table's last column is the 1-minute load average when each run started"
  echo '```'
  echo
  echo "## Results"
  echo
  node -e '
    const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map(JSON.parse);
    const f = (x, d) => (x === undefined || x === null) ? "–" : Number(x).toFixed(d);
    const rng = (xs, d) => {
      xs = xs.filter(x => x !== undefined && x !== null);
      if (!xs.length) return "–";
      const a = f(Math.min(...xs), d), b = f(Math.max(...xs), d);
      return a === b ? a : a + "–" + b;
    };
    console.log("### Summary: range over the runs of each row\n");
    console.log("| tracker | profile | runs | msgs/s | tracker µs/msg | tracker cores | RTT p50 ms | RTT p99 ms | errors | KiB/conn | generator µs/msg | load |");
    console.log("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    const groups = new Map();
    for (const l of lines) {
      const k = l.tracker + "\t" + l.label;
      if (!groups.has(k)) groups.set(k, []);
      groups.get(k).push(l);
    }
    for (const [k, ls] of groups) {
      const [t, p] = k.split("\t");
      const ok = ls.filter(l => !l.failed).map(l => l.result), s = ok.map(r => r.server || {});
      console.log(`| ${t} | ${p} | ${ok.length}/${ls.length} | ${rng(ok.map(r => r.msgs_per_s), 0)} | ${rng(s.map(x => x.us_per_msg), 2)} | ${rng(s.map(x => x.cpu_cores), 3)} | ${rng(ok.map(r => r.rtt_p50_ms), 2)} | ${rng(ok.map(r => r.rtt_p99_ms), 2)} | ${rng(ok.map(r => r.errors), 0)} | ${rng(s.map(x => x.kib_per_conn), 2)} | ${rng(ok.map(r => r.self_us_per_msg), 2)} | ${rng(ls.map(l => l.load), 1)} |`);
    }
    console.log("\n### Every run\n");
    console.log("| tracker | profile | run | conns | msgs/s | tracker cores | tracker µs/msg | RTT p50 ms | p95 | p99 | offers relayed / sent | answers delivered / sent | errors | KiB/conn | generator µs/msg | load |");
    console.log("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (const l of lines) {
      if (l.failed) { console.log(`| ${l.tracker} | ${l.label} | ${l.run} | failed | | | | | | | | | | | | ${l.load} |`); continue; }
      const r = l.result, s = r.server || {};
      console.log(`| ${l.tracker} | ${l.label} | ${l.run} | ${r.conns_open} | ${f(r.msgs_per_s,0)} | ${f(s.cpu_cores,3)} | ${f(s.us_per_msg,2)} | ${f(r.rtt_p50_ms,2)} | ${f(r.rtt_p95_ms,2)} | ${f(r.rtt_p99_ms,2)} | ${r.offers_relayed} / ${r.offers_sent} | ${r.answers_delivered} / ${r.answers_sent} | ${r.errors} | ${f(s.kib_per_conn,2)} | ${f(r.self_us_per_msg,2)} | ${l.load} |`);
    }' "$raw"
  echo
  echo "## Commands"
  echo
  echo '```'
  echo "$invocation"
  echo "swarmcast tracker config: {\"servers\":[{\"server\":{\"host\":\"127.0.0.1\",\"port\":PORT}}],\"log\":{\"level\":\"warn\"}}"
  echo "bittorrent-tracker: node scripts/bench-bittorrent-tracker.mjs PORT"
  for o in "${others[@]}"; do echo "${o%%=*}: ${o#*=}"; done
  printf '%s\n' "${commands[@]}" | sed -E 's/-url ws:\/\/127.0.0.1:[0-9]+\//-url ws:\/\/127.0.0.1:PORT\//; s/-pid [0-9]+/-pid PID/' | sort -u
  echo '```'
  if [ -n "$notes" ]; then echo; printf '%s\n' "$notes"; fi
} > "$out"
echo "wrote $out" >&2
