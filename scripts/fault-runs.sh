#!/usr/bin/env bash
# Runs the broker-restart fault test (tests/kafka.rs, `the_application_survives_broker_restarts`:
# two word-count instances, the broker stopped 15 s and started again, twice; exactly-once and,
# here, at-least-once) N times, default 20, and prints each run's figures and a summary: runs
# passed, words counted twice, time to resume. The test starts a broker of its own
# (127.0.0.1:19392). The test is `#[ignore]`d in `cargo test`: it still stalls in some runs.
set -uo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
cargo test -p streams-tests --test kafka --no-run >/dev/null 2>&1 || { echo "build failed" >&2; exit 1; }
passed=0
for i in $(seq 1 "$n"); do
  out=$(FAULT_ALOS=1 cargo test -q -p streams-tests --test kafka the_application_survives_broker_restarts -- --ignored --nocapture 2>&1)
  if grep -q "test result: ok" <<<"$out"; then passed=$((passed + 1)); status=ok; else status=FAILED; fi
  echo "run $i: $status"
  grep -E "^(eos|alos)-restart:" <<<"$out" | sed 's/^/  /'
done
echo "$passed of $n runs passed"
