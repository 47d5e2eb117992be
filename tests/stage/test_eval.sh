#!/usr/bin/env bash
# test_eval.sh — stl-eval on hand-made embeddings with answers worked out by
# hand (tests/tools/eval_fixture.c has the triplets file):
#
#   2-d embeddings; scenes s0 (1,0), s1 (-1,0), s2 (0,1), s3 (0.5,0.5)
#   products p0 (.9,0) p1 (.1,1) p2 (.5,.2) p3 (.5,0) p4 (.3,.6) p5 (0,.4)
#   s0 ranks p0 p2 p3 p4 p1 p5 (p2, p3 tie at .5: lower index first);
#      truth {p2,p3}: ranks 2, 3
#   s1 ranks p5 p1 p4 p2 p3 p0; truth {p0}: rank 6
#   s2 ranks p1 p4 p5 p2 p0 p3 (p0, p3 tie at 0); truth {p1,p4,p3}: 1, 2, 6
#   Recall@1 = (0 + 0 + 1/3)/3 = 1/9, Recall@5 = (1 + 0 + 2/3)/3 = 5/9,
#   Recall@10 = Recall@50 = 1; HitRate@1 = 1/3, @5 = 2/3, @10 = 1;
#   MRR = (1/2 + 1/6 + 1)/3 = 5/9.
#   Test triplets: (s0,p2,p0) .5<.9 loss, (s0,p3,p5) win, (s1,p0,p1) loss,
#   (s1,p5,p0) win, (s2,p1,p0) win, (s2,p3,p0) 0=0 tie: AUC = 3.5/6.
# The random recommender's expectation is checked against an enumeration of
# all 720 rankings of the 6 products (python), and the simulation against it.
. "$(dirname "$0")/lib.sh"
: "${STL_BUILD:?STL_BUILD must point at the build directory (make test sets it)}"
PY=/usr/bin/python3
A=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
B=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb

ok "triplets fixture" "$STL_BUILD/tools/eval_fixture" "$T/t.mpk"
cat >"$T/s.json" <<EOF
{"${A}0": [1, 0],
"${A}1": [-1, 0],
"${A}2": [0, 1],
"${A}3": [0.5, 0.5]}
EOF
cat >"$T/p.json" <<EOF
{"${B}0": [0.9, 0],
"${B}1": [0.1, 1],
"${B}2": [0.5, 0.2],
"${B}3": [0.5, 0],
"${B}4": [0.3, 0.6],
"${B}5": [0, 0.4]}
EOF
ok "top-k of the fixture" "$STL_BIN/stl-topk" --scenes "$T/s.json" --products "$T/p.json" --out "$T/tk.mpk" --k 3

ev() { "$STL_BIN/stl-eval" --triplets "$T/t.mpk" --products "$T/p.json" "$@"; }
ok "stl-eval runs" ev --topk "$T/tk.mpk" --scenes "$T/s.json" --out "$T/m.json" --seed 3 --sim-rounds 20000
cp "$T/.out" "$T/table"
ok "stl-inspect reads the metrics file" "$STL_BIN/stl-inspect" "$T/m.json"
check "as stl-eval's metrics, with the model's Recall@10" sh -c \
    "grep -q 'stlrec-eval-metrics (stl-eval)' '$T/.out' && grep -qE '^  Recall@10 +1.0000 ' '$T/.out'"
# the table cannot be written: exit 1, not 0 with the table lost
evfull() { ev "$@" > /dev/full; }
fails_with 1 "^stl-eval: standard output: " "the table into a full disk exits 1" \
    evfull --topk "$T/tk.mpk" --scenes "$T/s.json" --out "$T/m-full.json" --seed 3
# one part of a sharded top-k alone is an incomplete set, refused; all three
# parts give the unsharded metrics
for i in 0 1 2; do
    "$STL_BIN/stl-topk" --scenes "$T/s.json" --products "$T/p.json" --out "$T/tk$i.mpk" --k 3 \
        --shard $i/3 >/dev/null 2>&1
done
fails_with 1 "tk0.mpk is part 0/3 of a sharded run: pass all 3 parts" \
    "one part of a 3-part top-k alone is refused" \
    ev --topk "$T/tk0.mpk" --scenes "$T/s.json" --out "$T/m-part.json" --seed 3
check "and nothing written for it" [ ! -e "$T/m-part.json" ]
ok "the three parts together" \
    ev --topk "$T/tk0.mpk,$T/tk1.mpk,$T/tk2.mpk" --scenes "$T/s.json" --out "$T/m-parts.json" \
    --seed 3 --sim-rounds 20000
same_metrics() { # the metrics equal, the recorded input paths aside
    $PY -c 'import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
a.pop("inputs"); b.pop("inputs")
sys.exit(a != b)' "$1" "$2"
}
check "give the unsharded metrics" same_metrics "$T/m.json" "$T/m-parts.json"
check "prints the table" grep -qE '^Recall@10 +1\.0000 ' "$T/table"
check "the table has MRR and AUC rows" grep -qE '^(MRR|AUC)' "$T/table"

check "model metrics are the hand-worked values" $PY - "$T/m.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
want = {"recall": {"1": 1/9, "5": 5/9, "10": 1, "50": 1},
        "hit_rate": {"1": 1/3, "5": 2/3, "10": 1, "50": 1},
        "mrr": 5/9, "auc": 3.5/6}
got = m["model"]
bad = [(k, got[k], v) for k, v in want.items() if not isinstance(v, dict) and abs(got[k] - v) > 1e-9]
bad += [(k, kk, got[k][kk], vv) for k, v in want.items() if isinstance(v, dict)
        for kk, vv in v.items() if abs(got[k][kk] - vv) > 1e-9]
ok = not bad and m["test_scenes"] == 3 and m["test_triplets"] == 6 and m["products"] == 6
ok = ok and m["format"] == "stlrec-eval-metrics" and m["version"] == 1
ok = ok and m["topk_check"]["scenes_checked"] == 3 and m["topk_check"]["scenes_agreeing"] == 3
if not ok: print(bad, m, file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

# The exact random baseline against all 6! rankings; the simulation (3 scenes
# x 20000 rounds = 60000 draws of each per-scene value in [0, 1], variance
# <= 1/4) against the exact value within 5 standard errors, 5*sqrt(.25/60000)
# = 0.0102 (a correct simulation strays that far with probability < 1e-6; the
# seed is fixed, so the outcome is deterministic).
check "random baseline: exact = enumeration, simulation within 5 s.e." $PY - "$T/m.json" <<'EOF'
import itertools, json, math, sys
m = json.load(open(sys.argv[1]))
truth = [{2, 3}, {0}, {1, 4, 3}]
sums = {"recall": {k: 0.0 for k in (1, 5, 10, 50)}, "hit_rate": {k: 0.0 for k in (1, 5, 10, 50)}, "mrr": 0.0}
perms = list(itertools.permutations(range(6)))
for g in truth:
    for p in perms:
        ranks = [p.index(x) + 1 for x in g]
        for k in (1, 5, 10, 50):
            sums["recall"][k] += sum(r <= k for r in ranks) / len(g) / len(perms) / 3
            sums["hit_rate"][k] += (min(ranks) <= k) / len(perms) / 3
        sums["mrr"] += 1 / min(ranks) / len(perms) / 3
ex, sim = m["random_exact"], m["random_simulated"]
tol = 5 * math.sqrt(0.25 / 60000)
ok = abs(ex["mrr"] - sums["mrr"]) < 1e-12 and ex["auc"] == 0.5 and abs(sim["auc"] - 0.5) < tol
ok = ok and abs(sim["mrr"] - ex["mrr"]) < tol
for name in ("recall", "hit_rate"):
    for k in (1, 5, 10, 50):
        ok = ok and abs(ex[name][str(k)] - sums[name][k]) < 1e-12
        ok = ok and abs(sim[name][str(k)] - ex[name][str(k)]) < tol
if not ok: print(sums, ex, sim, file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

ok "stl-eval again" ev --topk "$T/tk.mpk" --scenes "$T/s.json" --out "$T/m2.json" --seed 3 --sim-rounds 20000
check "same inputs and seed: byte-identical metrics" cmp -s "$T/m.json" "$T/m2.json"
ok "another seed" ev --topk "$T/tk.mpk" --scenes "$T/s.json" --out "$T/m3.json" --seed 4 --sim-rounds 20000
check "the seed changes only the simulation" $PY -c '
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
sys.exit(0 if a["model"] == b["model"] and a["random_exact"] == b["random_exact"]
         and a["random_simulated"] != b["random_simulated"] else 1)' "$T/m.json" "$T/m3.json"

# a top-k file made from other scene embeddings: reported, metrics unchanged
sed "s/\"${A}0\": \[1, 0\]/\"${A}0\": [0, 1]/" "$T/s.json" >"$T/s_other.json"
ok "top-k of other embeddings" "$STL_BIN/stl-topk" --scenes "$T/s_other.json" --products "$T/p.json" --out "$T/tk_other.mpk" --k 3
ev --topk "$T/tk_other.mpk" --scenes "$T/s.json" --out "$T/m4.json" --seed 3 --sim-rounds 20000 >/dev/null 2>"$T/err4"
check "a top-k file that disagrees with the embeddings is reported" grep -q "differ from the ranking" "$T/err4"
check "...and counted in topk_check" $PY -c '
import json, sys; m = json.load(open(sys.argv[1]))
sys.exit(0 if m["topk_check"]["scenes_agreeing"] == 2 else 1)' "$T/m4.json"

# a held-out product without an embedding is an error naming it
grep -v "\"${B}3\"" "$T/p.json" >"$T/p_missing.json"   # a middle line: still valid JSON
grep -v "\"${A}1\"" "$T/s.json" >"$T/s_missing.json"
fails_with 1 "^stl-eval: .*no embedding for product ${B}3" "a test product without an embedding fails naming it" \
    "$STL_BIN/stl-eval" --triplets "$T/t.mpk" --products "$T/p_missing.json" --topk "$T/tk.mpk" \
    --scenes "$T/s.json" --out "$T/m5.json"
check "no metrics file after the error" [ ! -e "$T/m5.json" ]
fails_with 1 "^stl-eval: .*no embedding for test scene ${A}1" "a test scene without an embedding fails naming it" \
    ev --topk "$T/tk.mpk" --scenes "$T/s_missing.json" --out "$T/m5.json"
fails_with 2 "^stl-eval: missing required option" "--out is required" \
    ev --topk "$T/tk.mpk" --scenes "$T/s.json"
finish
