#!/usr/bin/env bash
# Runs the fault scenarios of tests/faults.rs N times (default 20): two word-count instances fed
# continuously on a broker of the tests' own (127.0.0.1:19392), which is restarted 5 times
# (exactly-once and at-least-once), frozen with SIGSTOP for 20 s, has its instances killed and
# started again, or sees a user closure panic. Prints each run's figures (time to resume after
# each fault, words counted twice) and how many runs passed per scenario.
# Usage: scripts/fault-runs.sh [N] [FILTER ...]   (filters: test-name substrings; --ignored
# runs the scenarios kept out of CI)
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
shift || true
filters=("$@")
[ ${#filters[@]} -eq 0 ] && filters=(survives_ replaces_a_thread)
# Built once and copied aside (the test binary and the instance binary it starts, side by
# side as under target/), so the tree may change and build while the runs go on.
exe=$(cargo test -p streams-tests --test faults --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "faults" and m.get("executable"):
        print(m["executable"])') || { echo "build failed" >&2; exit 1; }
[ -n "$exe" ] || { echo "build failed" >&2; exit 1; }
cargo build -p streams-tests --bin wordcount_instance >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
snapshot=$(mktemp -d)
trap 'rm -rf "$snapshot"' EXIT
mkdir -p "$snapshot/deps"
cp "$exe" "$snapshot/deps/faults"
cp "$(dirname "$(dirname "$exe")")/wordcount_instance" "$snapshot/"
declare -A failed
green=0
for i in $(seq 1 "$n"); do
  out=$("$snapshot/deps/faults" --nocapture --test-threads=1 "${filters[@]}" 2>&1)
  echo "run $i:"
  grep -E "^fault |^test result|not every word|exited" <<<"$out" | sed 's/^/  /'
  if grep -q "^test result: ok" <<<"$out"; then
    green=$((green + 1))
  else
    # Why it failed (the panic message), and the whole output kept.
    keep="${TMPDIR:-/tmp}/fault-run-$i.txt"
    printf '%s\n' "$out" > "$keep"
    grep -A2 "panicked at" <<<"$out" | grep -v "panicked at\|^--" | head -3 | sed 's/^/  failed: /'
    echo "  whole output: $keep"
  fi
  # The names listed under "failures:" at the end.
  while read -r name; do failed[$name]=$(( ${failed[$name]:-0} + 1 )); done \
    < <(awk '/^failures:$/ {f = 1; next} f && /^    [a-z_]+$/ {print $1}' <<<"$out" | sort -u)
done
echo "$green of $n runs passed every scenario"
for name in "${!failed[@]}"; do echo "  ${failed[$name]} of $n failed: $name"; done
