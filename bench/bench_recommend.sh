#!/usr/bin/env bash
# bench_recommend.sh — stl-recommend against its peer, the three commands it
# replaces (stl-decode, stl-embed, stl-topk on the same photos with the
# photos renamed to keys), side by side in one invocation, for 1 photo and
# for 1,000 photos, on the synthetic data set's scenes (160 px JPEGs) and a
# model trained by make pipeline (64 px crops, resize mode). Both sides use
# THREADS threads (default: all cores). Prints photos/s of each and the ratio
# (the three commands' time / stl-recommend's: above 1 means stl-recommend is
# faster), and checks that both give the same lists.
#   usage: bench/bench_recommend.sh [WORK [DATA]]   (default out/run out/run/synth:
#          run `make pipeline` first; REPS=3 to change the repetitions)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/out/run}
data=${2:-$root/out/run/synth}
bin=$root/bin
threads=${THREADS:-$(nproc)}
reps=${REPS:-3}
for f in "$work/model.mpk" "$work/products.emb" "$data/pairs.jsonl"; do
    [ -e "$f" ] || { echo "bench_recommend.sh: $f missing: run 'make pipeline' first" >&2; exit 1; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_recommend.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export STL_QUIET=1
/usr/bin/python3 -c 'import json, sys; print("\n".join(sorted({json.loads(l)["scene"] for l in open(sys.argv[1]) if l.strip()})))' \
    "$data/pairs.jsonl" | head -1000 > "$tmp/keys"
mkdir -p "$tmp/photos"
while read -r k; do cp "$data/images/$k.jpg" "$tmp/photos/$k.jpg"; done < "$tmp/keys"
now() { date +%s.%N; }
best() { sort -g | head -1; }
echo "bench_recommend: $(date -u +%FT%TZ) on $(nproc) cores, $threads threads, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %14s %14s %8s\n' photos "recommend/s" "3-command/s" ratio
for n in 1 1000; do
    head -"$n" "$tmp/keys" > "$tmp/k$n"
    sed "s|^|$tmp/photos/|; s|$|.jpg|" "$tmp/k$n" > "$tmp/list$n"
    r=(); p=()
    for _ in $(seq "$reps"); do
        t0=$(now)
        "$bin/stl-recommend" --model "$work/model.mpk" --products "$work/products.emb" --json \
            --threads "$threads" - < "$tmp/list$n" > "$tmp/rec$n.json"
        t1=$(now)
        rm -rf "$tmp/crops$n"
        "$bin/stl-decode" --keys "$tmp/k$n" --images "$tmp/photos" --out "$tmp/crops$n" --size 64 \
            --resize --threads "$threads"
        "$bin/stl-embed" --model "$work/model.mpk" --crops "$tmp/crops$n" --kind scene \
            --keys "$tmp/k$n" --out "$tmp/s$n.emb" --threads "$threads"
        "$bin/stl-topk" --scenes "$tmp/s$n.emb" --products "$work/products.emb" --out "$tmp/t$n.mpk" \
            --json "$tmp/t$n.json" --threads "$threads"
        t2=$(now)
        r+=("$(echo "$t1 - $t0" | bc -l)"); p+=("$(echo "$t2 - $t1" | bc -l)")
    done
    tr=$(printf '%s\n' "${r[@]}" | best); tp=$(printf '%s\n' "${p[@]}" | best)
    printf '%-8s %14.1f %14.1f %8.2f\n' "$n" "$(echo "$n / $tr" | bc -l)" \
        "$(echo "$n / $tp" | bc -l)" "$(echo "$tp / $tr" | bc -l)"
    /usr/bin/python3 - "$tmp/rec$n.json" "$tmp/t$n.json" <<'EOF' || { echo "bench_recommend.sh: the lists differ" >&2; exit 1; }
import json, os, sys
rec = {os.path.basename(g["image"])[:-4]: g["top"] for g in json.load(open(sys.argv[1]))}
top = json.load(open(sys.argv[2]))
sys.exit(0 if rec == top else 1)
EOF
done
echo "same lists from both"
