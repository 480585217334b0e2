#!/usr/bin/env bash
# Wall time of `cargo build` for a crate holding a 50-stage topology written with
# `topology!`, against the same topology written with the builder by hand. Dependencies are
# built first; then each crate's own compilation is timed RUNS times, alternating.
# Usage: tools/macro-build-time/measure.sh [RUNS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-5}
work="$root/target/macro-build-time"
mkdir -p "$work"
export CARGO_TARGET_DIR="$work/target"

pipelines=10   # 10 pipelines x 5 stages = 50 stages
write_crate() { # name, body
  mkdir -p "$work/$1/src"
  cat > "$work/$1/Cargo.toml" <<TOML
[package]
name = "$1"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
streams-runtime = { path = "$root/streams-runtime" }
[workspace]
TOML
  printf '%s\n' "$2" > "$work/$1/src/main.rs"
}

macro_body="use streams_runtime::prelude::*;
fn main() {
    let t = topology! {"
hand_body="use streams_runtime::prelude::*;
fn main() {
    let b = StreamsBuilder::new();"
for i in $(seq 0 $((pipelines - 1))); do
  macro_body+="
        stream::<String, i64>(\"in-$i\") |> filter(|_, v| *v > $i) |> map_values(|v| v * 2)
            |> select_key(|k, _| k.clone()) |> peek(|_, _| ()) |> to(\"out-$i\");"
  hand_body+="
    b.stream::<String, i64>(\"in-$i\").filter(|_, v| *v > $i).map_values(|v| v * 2)
        .select_key(|k, _| k.clone()).peek(|_, _| ()).to(\"out-$i\");"
done
macro_body+="
    };
    println!(\"{}\", t.describe());
}"
hand_body+="
    let t = b.build();
    println!(\"{}\", t.describe());
}"
write_crate with_macro "$macro_body"
write_crate by_hand "$hand_body"

for c in with_macro by_hand; do (cd "$work/$c" && cargo build -q); done

time_build() {
  touch "$work/$1/src/main.rs"
  local start end
  start=$(date +%s%N)
  (cd "$work/$1" && cargo build -q)
  end=$(date +%s%N)
  echo $(( (end - start) / 1000000 ))
}
declare -a m h
for _ in $(seq 1 "$runs"); do
  m+=("$(time_build with_macro)")
  h+=("$(time_build by_hand)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mm=$(median "${m[@]}"); hm=$(median "${h[@]}")
echo "cargo build, 50-stage topology, median of $runs (ms): topology! ${mm}  by hand ${hm}  ratio $(awk "BEGIN {printf \"%.2f\", $mm/$hm}")"
echo "runs (ms): topology! ${m[*]} | by hand ${h[*]}"
