#!/usr/bin/env bash
# test_recommend.sh — stl-recommend on a small trained pipeline: its lists
# for the data set's own scene photos (under other names, given on the
# command line and on stdin) equal stl-topk's for those scenes, scores
# included; bad photos are reported and left out (exit 1 only when none is
# left); the model's crop size and mode come from its sidecar; --json, and
# --html checked in headless Chromium (every picture loads).
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
B=$STL_BIN
q() { "$@" >/dev/null 2>&1; }

q "$B/stl-synth" --out "$T/d" --scenes 40 --products 30 --seed 4 --threads 2
q "$B/stl-decode" --keys "$T/d/pairs.jsonl" --images "$T/d/images" --out "$T/crops" --size 32 --resize
q "$B/stl-triplets" --pairs "$T/d/pairs.jsonl" --crops "$T/crops" --out "$T/t.mpk"
q "$B/stl-train" --triplets "$T/t.mpk" --crops "$T/crops" --model "$T/m.mpk" --max-steps 20 \
    --batch-size 8 --eval-every 0 --threads 2
q "$B/stl-embed" --model "$T/m.mpk" --crops "$T/crops" --kind scene --keys "$T/d/pairs.jsonl" --out "$T/s.emb"
q "$B/stl-embed" --model "$T/m.mpk" --crops "$T/crops" --kind product --keys "$T/d/pairs.jsonl" --out "$T/p.emb"
q "$B/stl-topk" --scenes "$T/s.emb" --products "$T/p.emb" --out "$T/tk.mpk" --k 5 --json "$T/tk.json"
check "the pipeline ran" [ -s "$T/tk.json" ]
check "the model's sidecar records its crop size and mode" \
    grep -q '"crops_mode": "resize"' "$T/m.mpk.json"

# the scene photos under names that are not keys
mkdir -p "$T/photos"
$PY -c 'import json, sys; print("\n".join(sorted({json.loads(l)["scene"] for l in open(sys.argv[1]) if l.strip()})))' \
    "$T/d/pairs.jsonl" > "$T/scenes.txt"
i=0
while read -r k; do
    i=$((i + 1))
    cp "$T/d/images/$k.jpg" "$T/photos/photo $i.jpeg"
    printf '%s\t%s\n' "$T/photos/photo $i.jpeg" "$k" >> "$T/names.tsv"
done < "$T/scenes.txt"
check "40 scene photos" [ "$(wc -l < "$T/names.tsv")" -eq 40 ]

rec() { "$B/stl-recommend" --model "$T/m.mpk" --products "$T/p.emb" --k 5 "$@"; }
same_as_topk() { # JSON: each photo's list equals the top-k list of its scene
    $PY - "$1" "$T/tk.json" "$T/names.tsv" <<'EOF'
import json, sys
got = json.load(open(sys.argv[1]))
want = json.load(open(sys.argv[2]))
key = dict(l.rstrip("\n").split("\t") for l in open(sys.argv[3]))
bad = [g["image"] for g in got if [[k, s] for k, s in g["top"]] != want[key[g["image"]]]]
sys.exit(1 if bad or len(got) != len(key) else 0)
EOF
}
cut -f1 "$T/names.tsv" > "$T/list.txt"
ok "all 40 photos from stdin, --json" sh -c "'$B/stl-recommend' --model '$T/m.mpk' --products '$T/p.emb' --k 5 --json - < '$T/list.txt' > '$T/r.json'"
check "every photo's list is the pipeline's top-k list of its scene, scores to the last digit" \
    same_as_topk "$T/r.json"
mapfile -t some < <(head -3 "$T/list.txt")
ok "three photos on the command line, the table" rec "${some[@]}"
check "the table: each photo, then five ranked products" \
    [ "$(grep -c '^  *[1-5]  [0-9a-f]\{32\}  ' "$T/.out")" -eq 15 ]
ok "batch size 1 and one thread" rec --json --batch-size 1 --threads 1 - < "$T/list.txt"
cp "$T/.out" "$T/r1.json"
check "give the same answer" cmp -s "$T/r.json" "$T/r1.json"

# bad photos: reported, left out; exit 1 only when none is left
printf '\377\330' > "$T/cut.jpg"
printf 'not a jpeg' > "$T/text.jpg"
fails_with 0 "cut.jpg: left out: truncated" "a truncated photo is reported and left out" \
    rec "$T/cut.jpg" "${some[0]}" "$T/missing.jpg"
check "the good one is still scored" grep -q "photo 1.jpeg" "$T/.out"
check "the missing one is reported too" grep -q "missing.jpg: left out: missing" "$T/.err"
fails_with 1 "none of the 2 photos could be decoded" "no photo decoded: exit 1" \
    rec "$T/cut.jpg" "$T/text.jpg"
fails_with 2 "missing IMAGE" "no photo given: usage error" rec
fails_with 1 "its sidecar does not say the crop size" "a model without a sidecar needs --size" \
    sh -c "cp '$T/m.mpk' '$T/bare.mpk' && '$B/stl-recommend' --model '$T/bare.mpk' --products '$T/p.emb' '${some[0]}'"
ok "with --size and --resize it works" sh -c "'$B/stl-recommend' --model '$T/bare.mpk' --products '$T/p.emb' --k 5 --json --size 32 --resize - < '$T/list.txt' > '$T/r2.json'"
check "and gives the same lists" same_as_topk "$T/r2.json"

# the page, in headless Chromium: every picture (photos and products) loads
ok "--html with the products' pictures" rec --html "$T/page/rec.html" --images "$T/d/images" "${some[@]}"
. "$(dirname "$0")/chromium.sh"
probe "$T/page/rec.html" "$T/page/.probe.html"
ok "chromium: the page's DOM" dom "file://$T/page/.probe.html" "$T/probe.html"
attr() { grep -o "data-$1=\"[0-9]*\"" "$2" | grep -o '[0-9][0-9]*'; }
check "chromium: 3 photos and 15 product pictures" [ "$(attr images "$T/probe.html")" = 18 ]
check "chromium: none fails to load" [ "$(attr broken "$T/probe.html")" = 0 ]
ok "chromium: a screenshot" shot "file://$T/page/rec.html" "$T/shot.ppm"
ok "chromium: the page is not blank" $PY "$(dirname "$0")/report_check.py" shot "$T/shot.ppm"
finish
