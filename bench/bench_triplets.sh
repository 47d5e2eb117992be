#!/usr/bin/env bash
# bench_triplets.sh — stl-triplets on a million synthetic pairs, timed, with
# the book's triplet scheme in Python/NumPy (bench_triplets.py) as the peer on
# the same input in the same invocation. The pairs are generated here (seeded
# awk: ~PAIRS/3 scenes with 1..5 products each, products popularity-skewed
# over PAIRS/10; every key decoded, listed in a key file given as --crops).
# Prints the best of REPS runs of stl-triplets (wall time, pairs/s, peak RSS,
# file size), the peer's time and the ratio peer/ours (above 1: stlrec
# faster), and checks that two runs wrote byte-identical files. The peer does
# less (no exclusions, no held-out pairs, no file): only the ratio is shown.
#   usage: bench/bench_triplets.sh     (PAIRS=1000000 REPS=3 PEER=1 to override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${STL_BIN:-$root/bin}/stl-triplets
[ -x "$bin" ] || { echo "bench_triplets.sh: $bin missing: run 'make bin/stl-triplets'" >&2; exit 1; }
pairs=${PAIRS:-1000000}
reps=${REPS:-3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_triplets.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export STL_QUIET=1
echo "bench_triplets: $(date -u +%FT%TZ) on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $pairs pairs"

awk -v n="$pairs" -v kf="$tmp/ok.txt" 'BEGIN {
    srand(7); np = int(n / 10) + 10; s = 0; i = 0;
    while (i < n) {
        k = 1 + int(rand() * 5);
        for (j = 0; j < k && i < n; j++) {
            i++;
            p = int(np * rand() * rand());
            printf "{\"product\": \"%016x%016x\", \"scene\": \"%016x%016x\", \"bbox\": [0.25, 0.25, 0.75, 0.75]}\n", 2, p, 1, s;
        }
        s++;
    }
    for (j = 0; j < s; j++) printf "%016x%016x\n", 1, j > kf;
    for (j = 0; j < np; j++) printf "%016x%016x\n", 2, j > kf;
}' >"$tmp/pairs.jsonl"
echo "input: $(wc -l <"$tmp/pairs.jsonl") pairs, $(wc -l <"$tmp/ok.txt") keys, $(du -h "$tmp/pairs.jsonl" | cut -f1)"

best=
for r in $(seq "$reps"); do
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin" --pairs "$tmp/pairs.jsonl" --crops "$tmp/ok.txt" \
        --out "$tmp/t$r.msgpack"
    read -r secs rss <"$tmp/time"
    echo "run $r: ${secs}s, peak RSS $((rss / 1024)) MiB"
    if [ -z "$best" ] || awk -v a="$secs" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$secs; best_rss=$rss; fi
done
cmp -s "$tmp/t1.msgpack" "$tmp/t$reps.msgpack" || { echo "bench_triplets: runs differ: not deterministic" >&2; exit 1; }
rate=$(awk -v n="$pairs" -v t="$best" 'BEGIN { printf "%.0f", (t > 0) ? n / t : 0 }')
echo "stl-triplets: best ${best}s, ${rate} pairs/s, peak RSS $((best_rss / 1024)) MiB, file $(du -h "$tmp/t1.msgpack" | cut -f1) (runs byte-identical)"
if [ "${PEER:-1}" = 1 ]; then
    peer=$(/usr/bin/python3 "$root/bench/bench_triplets.py" "$tmp/pairs.jsonl" "$tmp/ok.txt" 5)
    echo "peer (book's scheme, Python/NumPy): $peer"
    awk -v p="$(echo "$peer" | cut -d' ' -f2)" -v o="$best" 'BEGIN { printf "ratio peer/ours: %.1f\n", p / o }'
fi
