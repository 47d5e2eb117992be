#!/usr/bin/env bash
# test_embed.sh — stl-embed on a small synthetic data set: every listed item
# embedded, rows equal to model_embed on each crop alone, byte-identical
# output for any batch size and thread count, shards that concatenate to the
# whole, the JSON form, and the errors (a key without a crop, a bad model,
# --device cuda refused as the build must: tests/stage/lib.sh).
. "$(dirname "$0")/lib.sh"
: "${STL_BUILD:?STL_BUILD must point at the build directory (make test sets it)}"
FIX=$STL_BUILD/tools/embed_fixture
PY=/usr/bin/python3

"$STL_BIN/stl-synth" --out "$T/d" --scenes 40 --products 30 --seed 5 --threads 2 >/dev/null 2>&1
"$STL_BIN/stl-decode" --keys "$T/d/pairs.jsonl" --images "$T/d/images" --out "$T/crops" \
    --size 64 --resize --threads 2 >/dev/null 2>&1
ok "fixture model" "$FIX" model "$T/m.mpk" 3 16

emb() { "$STL_BIN/stl-embed" --model "$T/m.mpk" --crops "$T/crops" --keys "$T/d/pairs.jsonl" "$@"; }
# scene embeddings of model $1 into $2
emb_model() { "$STL_BIN/stl-embed" --model "$1" --crops "$T/crops" --keys "$T/d/pairs.jsonl" \
    --kind scene --out "$2"; }

ok "scene embeddings, batch 1, 1 thread" emb --kind scene --out "$T/s1.emb" --json "$T/s1.json" --batch-size 1 --threads 1
cp "$T/s1.emb" "$T/keep.emb"
fails_with 2 "--json .*: the same file as --out" "--json at the --out path is refused" \
    emb --kind scene --out "$T/s1.emb" --json "$T/s1.emb"
check "the earlier output is intact" cmp -s "$T/s1.emb" "$T/keep.emb"
fails_with 2 "--out .*: is also the input --model" "--out naming the model is refused" \
    emb --kind scene --out "$T/m.mpk"

# crops of another size than the model was trained on (its sidecar says 32)
cp "$T/m.mpk" "$T/m32.mpk"
echo '{"stage": "stl-train", "config": {"image_size": 32}}' > "$T/m32.mpk.json"
fails_with 1 "64 x 64 crops, but the model .*m32.mpk was trained on 32 x 32 crops" \
    "crops of another size than the model's are refused" emb_model "$T/m32.mpk" "$T/m32.emb"
check "no embeddings written for them" [ ! -e "$T/m32.emb" ]
echo '{"stage": "stl-train", "config": {"image_size": 64}}' > "$T/m32.mpk.json"
ok "the same model with a matching sidecar embeds" "$STL_BIN/stl-embed" --model "$T/m32.mpk" \
    --crops "$T/crops" --keys "$T/d/pairs.jsonl" --kind scene --out "$T/m64.emb"
ok "scene embeddings, batch 7, 2 threads" emb --kind scene --out "$T/s7.emb" --json "$T/s7.json" --batch-size 7 --threads 2
ok "scene embeddings, batch 64, 3 threads" emb --kind scene --out "$T/s64.emb" --batch-size 64 --threads 3
check "byte-identical for batch 1/1 thread and 7/2 threads" cmp -s "$T/s1.emb" "$T/s7.emb"
check "byte-identical for batch 1/1 thread and 64/3 threads" cmp -s "$T/s1.emb" "$T/s64.emb"
check "JSON byte-identical across batch sizes" cmp -s "$T/s1.json" "$T/s7.json"

n_scenes=$($PY -c 'import json,sys; print(len({json.loads(l)["scene"] for l in open(sys.argv[1]) if l.strip()}))' "$T/d/pairs.jsonl")
"$FIX" check "$T/m.mpk" "$T/crops" "$T/s7.emb" scene >"$T/chk" 2>&1
check "every scene row equals model_embed on its crop alone" grep -qx "$n_scenes rows equal" "$T/chk"
check "the JSON form has every scene, in the same order, 16 floats each" $PY - "$T/s1.json" "$T/d/pairs.jsonl" <<'EOF'
import json, sys
e = json.load(open(sys.argv[1]))
order = []
for l in open(sys.argv[2]):
    if l.strip():
        s = json.loads(l)["scene"]
        if s not in order: order.append(s)
sys.exit(0 if list(e) == order and all(len(v) == 16 for v in e.values()) else 1)
EOF

ok "product embeddings (products of the pairs)" emb --kind product --out "$T/p.emb" --batch-size 5 --threads 2
"$FIX" check "$T/m.mpk" "$T/crops" "$T/p.emb" product >"$T/chk" 2>&1
n_products=$($PY -c 'import json,sys; print(len({json.loads(l)["product"] for l in open(sys.argv[1]) if l.strip()}))' "$T/d/pairs.jsonl")
check "every product row equals model_embed (product tower)" grep -qx "$n_products rows equal" "$T/chk"
check "scene and product towers differ" $PY -c '
import sys; a=open(sys.argv[1],"rb").read(); b=open(sys.argv[2],"rb").read(); sys.exit(0 if a != b else 1)' "$T/s1.emb" "$T/p.emb"

# shards: contiguous ranges whose parts read together equal the whole
ok "shard 0/3" emb --kind scene --out "$T/sh0.emb" --json "$T/sh0.json" --shard 0/3
ok "shard 1/3" emb --kind scene --out "$T/sh1.emb" --json "$T/sh1.json" --shard 1/3
ok "shard 2/3" emb --kind scene --out "$T/sh2.emb" --json "$T/sh2.json" --shard 2/3
check "the three shards concatenate to the whole" $PY - "$T/s1.json" "$T"/sh0.json "$T"/sh1.json "$T"/sh2.json <<'EOF'
import json, sys
whole = json.load(open(sys.argv[1]))
parts = [json.load(open(p)) for p in sys.argv[2:]]
merged = [kv for p in parts for kv in p.items()]
sys.exit(0 if merged == list(whole.items()) and all(len(p) > 0 for p in parts) else 1)
EOF
"$FIX" check "$T/m.mpk" "$T/crops" "$T/sh0.emb,$T/sh1.emb,$T/sh2.emb" scene >"$T/chk" 2>&1
check "the shard files read as one (comma list) and match model_embed" grep -qx "$n_scenes rows equal" "$T/chk"

# the catalog lists products that are in no scene: they have no crop here
fails_with 1 "^stl-embed: .*key [0-9a-f]{32} has no crop in .*--skip-missing" \
    "a key without a crop is an error naming it" "$STL_BIN/stl-embed" --model "$T/m.mpk" \
    --crops "$T/crops" --kind product --keys "$T/d/catalog.json" --out "$T/c.emb"
check "no output file after the error" [ ! -e "$T/c.emb" ]
ok "--skip-missing skips them" "$STL_BIN/stl-embed" --model "$T/m.mpk" --crops "$T/crops" --kind product \
    --keys "$T/d/catalog.json" --out "$T/c.emb" --skip-missing
"$FIX" check "$T/m.mpk" "$T/crops" "$T/c.emb" product >"$T/chk" 2>&1
check "--skip-missing embeds exactly the products with crops" grep -qx "$n_products rows equal" "$T/chk"

# Outputs of two models do not mix: each embeddings and top-k file records
# its model's identity, and stl-topk, stl-eval and the parts reader refuse a
# mixture (the scores of two models mean nothing together).
ok "a second model" "$FIX" model "$T/m2.mpk" 4 16
"$STL_BIN/stl-embed" --model "$T/m2.mpk" --crops "$T/crops" --keys "$T/d/pairs.jsonl" --kind product \
    --out "$T/p2.emb" >/dev/null 2>&1
fails_with 1 "s1.emb was made by model [0-9a-f]{16}, but .*p2.emb by model [0-9a-f]{16}" \
    "stl-topk refuses scenes of one model with products of another" \
    "$STL_BIN/stl-topk" --scenes "$T/s1.emb" --products "$T/p2.emb" --out "$T/mix.topk"
check "and writes nothing" [ ! -e "$T/mix.topk" ]
ok "one model's scenes and products rank" \
    "$STL_BIN/stl-topk" --scenes "$T/s1.emb" --products "$T/p.emb" --out "$T/one.topk"
model_of() { "$STL_BIN/stl-inspect" --json "$1" | grep -oE '"model": "[0-9a-f]{16}"'; }
check "the embeddings record their model" [ -n "$(model_of "$T/s1.emb")" ]
check "the top-k file records the same model" [ "$(model_of "$T/one.topk")" = "$(model_of "$T/s1.emb")" ]
check "another model's embeddings record another identity" \
    [ -n "$(model_of "$T/p2.emb")" -a "$(model_of "$T/p2.emb")" != "$(model_of "$T/s1.emb")" ]
"$STL_BIN/stl-triplets" --pairs "$T/d/pairs.jsonl" --crops "$T/crops" --out "$T/t.mpk" >/dev/null 2>&1
fails_with 1 "one.topk was made by model [0-9a-f]{16}, but .*p2.emb by model" \
    "stl-eval refuses a top-k of one model with products of another" \
    "$STL_BIN/stl-eval" --topk "$T/one.topk" --triplets "$T/t.mpk" --scenes "$T/s1.emb" \
    --products "$T/p2.emb" --out "$T/mix.json"
"$STL_BIN/stl-embed" --model "$T/m2.mpk" --crops "$T/crops" --keys "$T/d/pairs.jsonl" --kind scene \
    --out "$T/s2.emb" >/dev/null 2>&1
fails_with 1 "made by model [0-9a-f]{16}, but .* by model [0-9a-f]{16}: parts of different runs" \
    "a list of parts by two models is refused" \
    "$STL_BIN/stl-topk" --scenes "$T/s1.emb,$T/s2.emb" --products "$T/p.emb" --out "$T/mix2.topk"

# Each part records i/N and the keys of the whole run: one part alone is an
# incomplete set, refused; all parts in any order read as the whole.
fails_with 1 "sh1.emb is part 1/3 of a sharded run, but 1 part was given: pass all 3 parts" \
    "one part of three alone is refused" \
    "$STL_BIN/stl-topk" --scenes "$T/sh1.emb" --products "$T/p.emb" --out "$T/part.topk"
fails_with 1 "pass all 3 parts" "two parts of three are refused" \
    "$STL_BIN/stl-topk" --scenes "$T/sh0.emb,$T/sh1.emb" --products "$T/p.emb" --out "$T/part.topk"
ok "all three parts, out of order" \
    "$STL_BIN/stl-topk" --scenes "$T/sh2.emb,$T/sh0.emb,$T/sh1.emb" --products "$T/p.emb" \
    --out "$T/parts.topk"
"$STL_BIN/stl-topk" --scenes "$T/s1.emb" --products "$T/p.emb" --out "$T/whole.topk" >/dev/null 2>&1
"$STL_BIN/stl-inspect" --json "$T/parts.topk" | grep -v '_file' > "$T/parts.lists"
"$STL_BIN/stl-inspect" --json "$T/whole.topk" | grep -v '_file' > "$T/whole.lists"
check "rank exactly as the whole file" cmp -s "$T/parts.lists" "$T/whole.lists"
check "(and the lists are there)" [ "$(wc -l < "$T/whole.lists")" -gt "$n_scenes" ]

# Embeddings for numpy: the .npy loads with numpy alone, equal to the
# embeddings (their JSON form reads back bit-identical), keys beside it.
ok "--npy beside --out" emb --kind scene --out "$T/n.emb" --json "$T/n.json" --npy "$T/n.npy"
check "numpy.load gives the (n, dim) float32 C-order matrix, rows and keys as the embeddings" \
    $PY - "$T/n.npy" "$T/n.keys.txt" "$T/n.json" <<'EOF'
import json, sys
import numpy as np
m = np.load(sys.argv[1])
keys = open(sys.argv[2]).read().split("\n")
want = json.load(open(sys.argv[3]))
ok = m.dtype == np.float32 and m.flags["C_CONTIGUOUS"] and m.shape == (len(want), 16)
ok = ok and keys[-1] == "" and keys[:-1] == list(want)
ok = ok and all(np.array_equal(m[i], np.array(v, dtype=np.float32)) for i, v in enumerate(want.values()))
sys.exit(0 if ok else 1)
EOF
ok "stl-inspect --npy on the three shard parts" "$STL_BIN/stl-inspect" \
    "$T/sh0.emb,$T/sh1.emb,$T/sh2.emb" --npy "$T/parts.npy"
check "gives the same .npy and keys as the whole" \
    sh -c "cmp -s '$T/n.npy' '$T/parts.npy' && cmp -s '$T/n.keys.txt' '$T/parts.keys.txt'"

ok "a broken model (a NaN weight)" "$FIX" model "$T/nan.mpk" 3 16 nan
fails_with 1 "^stl-embed: .*nan.mpk: the model gives a non-finite embedding for [0-9a-f]{32}" \
    "a NaN embedding is blamed on the model, not on the output file" \
    emb_model "$T/nan.mpk" "$T/nan.emb"
check "nothing written for it" [ ! -e "$T/nan.emb" ]

printf 'not a model' >"$T/bad.mpk"
fails_with 1 "^stl-embed: .*bad.mpk" "a corrupt model file fails naming it" \
    "$STL_BIN/stl-embed" --model "$T/bad.mpk" --crops "$T/crops" --kind scene --keys "$T/d/pairs.jsonl" --out "$T/x.emb"
device_cuda_refused embed "--device cuda" \
    emb --kind scene --out "$T/x.emb" --device cuda
fails_with 2 "^stl-embed: " "--kind must be scene or product" emb --kind other --out "$T/x.emb"
finish
