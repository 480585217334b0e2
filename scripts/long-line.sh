#!/usr/bin/env bash
# The command line's word count of one long input line (issue: "a 20 MB line does not take
# 875 MB"): builds the release example, writes two lines of ~20 MB — the shipped book's words
# over and over (few distinct words), and 2.5 M distinct words (every word is output) — and
# prints each run's peak RSS and wall time from /usr/bin/time -v.
#   scripts/long-line.sh [BINARY]   (default: target/release/examples/wordcount, built first)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then
  cargo build --release --example wordcount >/dev/null 2>&1
  bin=target/release/examples/wordcount
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
book = open("examples/data/book.txt").read().split()
words, n = [], 0
while n < 20_000_000:
    for w in book:
        words.append(w)
        n += len(w) + 1
open(f"{d}/book-line.txt", "w").write(" ".join(words) + "\n")
open(f"{d}/distinct-line.txt", "w").write(" ".join(f"w{i}" for i in range(2_500_000)) + "\n")
PY
for line in book-line distinct-line; do
  /usr/bin/time -v "$bin" --input "wordcount-input=$dir/$line.txt" >"$dir/out.jsonl" 2>"$dir/time.txt"
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$dir/time.txt")
  wall=$(awk -F': ' '/Elapsed \(wall/ {print $2}' "$dir/time.txt")
  printf '%-14s %9d bytes, %8d words, %8d output lines: peak RSS %5d MB, %s\n' "$line" \
    "$(wc -c <"$dir/$line.txt")" "$(wc -w <"$dir/$line.txt")" "$(wc -l <"$dir/out.jsonl")" $((rss / 1024)) "$wall"
done
