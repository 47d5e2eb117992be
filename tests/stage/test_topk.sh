#!/usr/bin/env bash
# test_topk.sh — stl-topk end to end: exact lists against a numpy brute force
# on small-integer embeddings (every score exact, many ties: ties must go to
# the lower product index), the book's JSON and stlrec inputs giving the same
# lists, byte-identical output for any --threads, --shard parts covering every
# scene exactly once with the unsharded rows, K above the product count, the
# file layout read back by Python's msgpack, and the error contract.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3              # Debian numpy
VPY=$STL_ROOT/.venv/bin/python   # msgpack (scripts/install-deps --test)
TOPK=$STL_BIN/stl-topk
CAT=$STL_BUILD/tools/emb_cat

# 500 scenes (4 query blocks), 300 products with duplicated vectors, d 8,
# values in -2..2: dot products are small integers, exact in float32.
$PY - "$T" <<'EOF'
import json, sys
import numpy as np
t = sys.argv[1]
r = np.random.default_rng(11)
def keys(n, salt):
    return ["%032x" % (salt * 10**6 + i) for i in range(n)]
S = r.integers(-2, 3, size=(500, 8))
P = r.integers(-2, 3, size=(300, 8))
P[200:220] = P[10]          # duplicates of product 10
sk, pk = keys(500, 1), keys(300, 2)
json.dump({k: [int(v) for v in row] for k, row in zip(sk, S)}, open(t + "/scenes.json", "w"))
json.dump({k: [int(v) for v in row] for k, row in zip(pk, P)}, open(t + "/products.json", "w"))
def ref(k):
    sc = S @ P.T
    out = {}
    for i, s in enumerate(sk):
        order = np.lexsort((np.arange(len(pk)), -sc[i]))[:k]
        out[s] = [[pk[j], float(sc[i, j])] for j in order]
    return out
json.dump(ref(10), open(t + "/ref10.json", "w"))
json.dump(ref(400), open(t + "/ref400.json", "w"))
EOF
check "fixture written" [ -s "$T/ref10.json" ]

same_json() { $PY -c 'import json,sys; sys.exit(json.load(open(sys.argv[1])) != json.load(open(sys.argv[2])))' "$1" "$2"; }

ok "topk on the book's JSON embeddings" "$TOPK" --scenes "$T/scenes.json" --products "$T/products.json" \
    --out "$T/a.topk" --json "$T/a.json" --threads 1
check "lists equal the brute force (ties to the lower index)" same_json "$T/a.json" "$T/ref10.json"

ok "threads 3" "$TOPK" --scenes "$T/scenes.json" --products "$T/products.json" --out "$T/b.topk" --threads 3
check "byte-identical for 1 and 3 threads" cmp -s "$T/a.topk" "$T/b.topk"

ok "convert scenes to stlrec" "$CAT" --kind scene "$T/scenes.emb" "$T/scenes.json"
ok "convert products to stlrec" "$CAT" --kind product "$T/products.emb" "$T/products.json"
ok "topk on stlrec embeddings" "$TOPK" --scenes "$T/scenes.emb" --products "$T/products.emb" \
    --out "$T/c.topk" --json "$T/c.json" --threads 2
check "same lists from stlrec and JSON inputs" cmp -s "$T/a.json" "$T/c.json"

# an output that is one of the inputs is refused before it is touched
cp "$T/products.emb" "$T/keep.emb"
fails_with 2 "--out .*: is also the input --products" "--out naming the --products file is refused" \
    "$TOPK" --scenes "$T/scenes.emb" --products "$T/products.emb" --out "$T/./products.emb"
check "the --products file is intact" cmp -s "$T/products.emb" "$T/keep.emb"
fails_with 2 "--json .*: the same file as --out" "--json at the --out path is refused" \
    "$TOPK" --scenes "$T/scenes.emb" --products "$T/products.emb" --out "$T/d.topk" --json "$T/d.topk"
check "nothing written for it" [ ! -e "$T/d.topk" ]

ok "K above the product count" "$TOPK" --scenes "$T/scenes.emb" --products "$T/products.emb" \
    --out "$T/k.topk" --json "$T/k.json" --k 400
check "K' = 300 products, all ranked" same_json "$T/k.json" "$T/ref400.json"

for i in 0 1 2; do
    ok "shard $i/3" "$TOPK" --scenes "$T/scenes.emb" --products "$T/products.emb" \
        --out "$T/s$i.topk" --json "$T/s$i.json" --shard $i/3 --threads 2
done
check "shards cover every scene once, with the unsharded rows" $PY -c '
import json, sys
t = sys.argv[1]
parts = [json.load(open("%s/s%d.json" % (t, i))) for i in range(3)]
whole = json.load(open(t + "/c.json"))
keys = [k for p in parts for k in p]
sys.exit(not (len(keys) == len(set(keys)) == len(whole) and all(p[k] == whole[k] for p in parts for k in p)
              and all(len(p) > 0 for p in parts)))' "$T"

# The file layout as docs/formats.md describes it, read by an independent reader.
check "stlrec-topk layout read by Python msgpack" "$VPY" -c '
import json, sys, msgpack, numpy as np
t = sys.argv[1]
d = msgpack.unpackb(open(t + "/c.topk", "rb").read())
assert list(d)[:2] == ["format", "version"] and d["format"] == "stlrec-topk" and d["version"] == 1
n, k = d["n_scenes"], d["k"]
assert (n, d["n_products"], k, d["k_requested"], d["shard"], d["scenes_total"]) == (500, 300, 10, 10, [0, 1], 500)
idx = np.frombuffer(d["indices"], "<u4").reshape(n, k)
sc = np.frombuffer(d["scores"], "<f4").reshape(n, k)
ref = json.load(open(t + "/ref10.json"))
for i, s in enumerate(d["scene_keys"]):
    assert [[d["product_keys"][j], float(v)] for j, v in zip(idx[i], sc[i])] == ref[s], s
p1 = msgpack.unpackb(open(t + "/s1.topk", "rb").read())
assert p1["shard"] == [1, 3] and p1["scenes_total"] == 500
e = msgpack.unpackb(open(t + "/scenes.emb", "rb").read())
m = np.frombuffer(e["matrix"], "<f4").reshape(e["n"], e["dim"])
assert e["format"] == "stlrec-embeddings" and e["kind"] == "scene" and m.shape == (500, 8)
' "$T"

# Parts of stl-embed --shard, given as one comma-separated argument.
$PY - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
s = json.load(open(t + "/scenes.json"))
ks = list(s)
json.dump({k: s[k] for k in ks[:123]}, open(t + "/sp0.json", "w"))
json.dump({k: s[k] for k in ks[123:]}, open(t + "/sp1.json", "w"))
EOF
ok "embeddings parts as a,b" "$TOPK" --scenes "$T/sp0.json,$T/sp1.json" --products "$T/products.emb" \
    --out "$T/p.topk" --json "$T/p.json"
check "parts give the same lists" cmp -s "$T/p.json" "$T/a.json"

# Errors: runtime/data errors exit 1 naming the file, usage errors exit 2.
fails_with 1 "^stl-topk: .*nope\.emb: cannot open" "missing input" \
    "$TOPK" --scenes "$T/nope.emb" --products "$T/products.emb" --out "$T/x.topk"
"$CAT" "$T/p9.emb" "$T/products.json" && $PY -c '
import json,sys; d=json.load(open(sys.argv[1])); json.dump({k: v + [0] for k, v in d.items()}, open(sys.argv[2], "w"))' \
    "$T/products.json" "$T/p9.json"
fails_with 1 "^stl-topk: .*dimension 8, but .*p9\.json has 9" "dimension mismatch" \
    "$TOPK" --scenes "$T/scenes.emb" --products "$T/p9.json" --out "$T/x.topk"
head -c 2000 "$T/products.emb" >"$T/trunc.emb"
fails_with 1 "^stl-topk: .*trunc\.emb.*truncated" "truncated embeddings refused" \
    "$TOPK" --scenes "$T/scenes.emb" --products "$T/trunc.emb" --out "$T/x.topk"
fails_with 1 "^stl-topk: .*a\.topk: is a stlrec-topk file, expected stlrec-embeddings" "wrong format refused" \
    "$TOPK" --scenes "$T/a.topk" --products "$T/products.emb" --out "$T/x.topk"
check "no output left behind by failures" [ ! -e "$T/x.topk" ]
fails_with 2 "^stl-topk: " "--k 0 is a usage error" \
    "$TOPK" --scenes "$T/scenes.emb" --products "$T/products.emb" --out "$T/x.topk" --k 0
fails_with 2 "^stl-topk: .*shard" "--shard 3/3 is a usage error" \
    "$TOPK" --scenes "$T/scenes.emb" --products "$T/products.emb" --out "$T/x.topk" --shard 3/3
device_cuda_refused topk "--device cuda" \
    "$TOPK" --scenes "$T/scenes.emb" --products "$T/products.emb" --out "$T/x.topk" --device cuda
finish
