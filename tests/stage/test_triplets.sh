#!/usr/bin/env bash
# test_triplets.sh — stl-triplets as a program: its command line (exit 2 on
# usage errors, --help vs --cli-spec), the file it writes (checked by an
# independent msgpack reader in Python: split, negatives, counts, every10,
# held-out pairs), determinism, dropped-pair accounting and the clear failure
# for a scene that covers the catalog. Inputs are generated here; decoded keys
# come from a key list given as --crops FILE, and from real crops (stl-synth +
# stl-decode) too when those stages are built.
source "$(dirname "$0")/lib.sh"
TRIP=$STL_BIN/stl-triplets
PY=$STL_ROOT/.venv/bin/python

# pairs.jsonl: 300 scenes with 1..3 products among 120; keys are hex of (kind, i).
awk 'BEGIN {
    srand(4);
    for (s = 0; s < 300; s++) {
        k = 1 + int(rand() * 3);
        for (j = 0; j < k; j++) {
            p = int(rand() * 120);
            printf "{\"product\": \"%016x%016x\", \"scene\": \"%016x%016x\", \"bbox\": [0.1, 0.1, 0.5, 0.5]}\n", 2, p, 1, s;
        }
    }
    # dropped: scene 9000 missing, product 9000 missing, a duplicate, malformed lines
    printf "{\"product\": \"%016x%016x\", \"scene\": \"%016x%016x\"}\n", 2, 1, 1, 9000;
    printf "{\"product\": \"%016x%016x\", \"scene\": \"%016x%016x\"}\n", 2, 9000, 1, 1;
    printf "{\"product\": \"%016x%016x\", \"scene\": \"%016x%016x\"}\n", 2, 5, 1, 7;
    printf "{\"product\": \"%016x%016x\", \"scene\": \"%016x%016x\"}\n", 2, 5, 1, 7;
    printf "this is not json\n";
    printf "{\"product\": \"NOTAKEY\", \"scene\": \"%016x%016x\"}\n", 1, 3;
}' >"$T/pairs.jsonl"
# Every key decoded except scene 9000 and product 9000.
grep -o '"[0-9a-f]\{32\}"' "$T/pairs.jsonl" | tr -d '"' | sort -u |
    grep -v -e "^00000000000000010000000000002328$" -e "^00000000000000020000000000002328$" >"$T/ok.txt"

# --- command line ---
ok "--help exits 0" "$TRIP" --help
check "--help says --crops takes a key list too" grep -q -- "--crops DIR|FILE" "$T/.out"
"$TRIP" --help >"$T/help.txt"
"$TRIP" --cli-spec >"$T/spec.txt"
spec_ok=1
while read -r name _ _; do
    [ "$name" = help ] && continue
    grep -q -- "--$name" "$T/help.txt" || spec_ok=0
done <"$T/spec.txt"
check "--help documents every flag the parser accepts" [ $spec_ok = 1 ]
fails_with 2 "missing required option --pairs" "missing --pairs" "$TRIP" --crops "$T/ok.txt" --out "$T/x"
fails_with 2 "unknown option" "unknown flag" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/x" --bogus 1
fails_with 2 "--split" "bad --split" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/x" --split random
fails_with 2 "--negatives" "bad --negatives" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/x" --negatives hard
fails_with 2 "--num-neg" "--num-neg 0" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/x" --num-neg 0
fails_with 2 "--test-fraction" "--test-fraction 1.5" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/x" --test-fraction 1.5
fails_with 2 "missing required option --crops" "missing --crops" "$TRIP" --pairs "$T/pairs.jsonl" --out "$T/x"
fails_with 2 "every10" "--test-fraction with --split every10" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/x" --split every10 --test-fraction 0.2
check "no output after usage errors" [ ! -e "$T/x" ]
fails_with 1 "^stl-triplets: .*nope.jsonl" "missing pairs file" "$TRIP" --pairs "$T/nope.jsonl" --crops "$T/ok.txt" --out "$T/x"
fails_with 1 "^stl-triplets: .*nope.txt" "missing crops" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/nope.txt" --out "$T/x"

# --- a run, checked by an independent reader ---
ok "scene split runs" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/a.msgpack" --test-fraction 0.3 --num-neg 4
ok "same again" "$TRIP" --pairs="$T/pairs.jsonl" --crops="$T/ok.txt" --out="$T/b.msgpack" --test-fraction=0.3 --num-neg=4
check "byte-identical for the same inputs and flags" cmp -s "$T/a.msgpack" "$T/b.msgpack"
ok "another seed" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/c.msgpack" --test-fraction 0.3 --num-neg 4 --seed 2
check "another seed, another file" bash -c "! cmp -s '$T/a.msgpack' '$T/c.msgpack'"
ok "every10 uniform runs" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/e.msgpack" --split every10 --negatives uniform
unset STL_QUIET
"$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/d.msgpack" 2>"$T/log.txt"
export STL_QUIET=1
check "summary reports the dropped pairs by reason" \
    grep -Eq "2 malformed.*dropped 1 \(scene missing\), 1 \(product missing\), [1-9][0-9]* \(duplicate\)" "$T/log.txt"

cat >"$T/verify.py" <<'EOF'
# Independent reader of the stlrec-triplets file: checks the stage's promises.
import json, struct, sys
import msgpack

path, pairs_path, ok_path, mode, num_neg = sys.argv[1:6]
num_neg = int(num_neg)
d = msgpack.unpackb(open(path, "rb").read(), raw=False)
assert d["format"] == "stlrec-triplets" and d["version"] == 1, (d["format"], d["version"])
assert list(d)[:2] == ["format", "version"]
keys = lambda b: [b[i:i + 32].decode() for i in range(0, len(b), 32)]
u32 = lambda b: list(struct.unpack("<%dI" % (len(b) // 4), b))
trip = lambda b: [tuple(x) for x in zip(*[iter(u32(b))] * 3)]
scenes, products = keys(d["scenes"]), keys(d["products"])
train, test = trip(d["train"]), trip(d["test"])
c, p = d["counts"], d["params"]
assert p["num_neg"] == num_neg and p["split"] == mode, p
ok = set(open(ok_path).read().split())
# The used pairs, recomputed: file order, both decoded, first occurrence.
used, seen, malformed = [], set(), 0
for line in open(pairs_path):
    try:
        o = json.loads(line)
        s, q = o["scene"], o["product"]
        assert len(q) == 32 and len(s) == 32 and q == q.lower()
        int(q, 16), int(s, 16)
    except Exception:
        malformed += 1
        continue
    if s not in ok or q not in ok or (s, q) in seen:
        continue
    seen.add((s, q))
    used.append((s, q))
assert c["used"] == len(used) and c["malformed"] == malformed, (c, len(used), malformed)
has = {}
for s, q in used:
    has.setdefault(s, set()).add(q)
named = lambda t: (scenes[t[0]], products[t[1]], products[t[2]])
for t in train + test:
    s, q, n = named(t)
    assert q in has[s], "positive not a pair"
    assert n not in has[s], "negative %s is a product of scene %s" % (n, s)
# num_neg triplets per used pair, nothing lost or doubled by the shuffle.
from collections import Counter
cnt = Counter(named(t)[:2] for t in train + test)
assert set(cnt) == set(used) and set(cnt.values()) == {num_neg}, "num_neg per positive"
train_sc = {scenes[t[0]] for t in train}
test_sc = {scenes[t[0]] for t in test}
if mode == "scene":
    assert not (train_sc & test_sc), "a scene on both sides"
    assert test_sc, "empty test side"
else:
    want = [u for i, u in enumerate(used) if i % 10 == 0]
    got = [named(t)[:2] for t in test][::num_neg]
    assert got == want, "every10 rule"
# Held-out pairs: exactly the test pairs, grouped by scene.
hs, ho, hp = u32(d["held_scenes"]), u32(d["held_offsets"]), u32(d["held_products"])
held = {(scenes[hs[i]], products[j]) for i in range(len(hs)) for j in hp[ho[i]:ho[i + 1]]}
assert held == {named(t)[:2] for t in test}, "held-out pairs"
assert len(held) == c["test_pairs"] == len(hp)
print("verified", len(train), len(test))
EOF
check "scene split file keeps every promise" "$PY" "$T/verify.py" "$T/a.msgpack" "$T/pairs.jsonl" "$T/ok.txt" scene 4
check "every10 file keeps every promise" "$PY" "$T/verify.py" "$T/e.msgpack" "$T/pairs.jsonl" "$T/ok.txt" every10 5
check "default file keeps every promise" "$PY" "$T/verify.py" "$T/d.msgpack" "$T/pairs.jsonl" "$T/ok.txt" scene 5

# --- hard negatives: a catalog with 4 categories (product p in p % 4), one
# product left out of it ---
awk 'BEGIN { printf "{"; for (p = 0; p < 120; p++) if (p != 7) printf "%s\"%016x%016x\": \"Cat|%d\"", (p ? ", " : ""), 2, p, p % 4; print "}" }' >"$T/catalog.json"
fails_with 2 "needs --catalog" "--hard-negatives without --catalog" \
    "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/x" --hard-negatives 0.5
fails_with 2 "--hard-negatives" "--hard-negatives 2" \
    "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/x" --hard-negatives 2 --catalog "$T/catalog.json"
ok "--hard-negatives 1 runs" "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/ok.txt" --out "$T/h.msgpack" \
    --hard-negatives 1 --catalog "$T/catalog.json"
check "the hard-negatives file keeps every promise" "$PY" "$T/verify.py" "$T/h.msgpack" "$T/pairs.jsonl" "$T/ok.txt" scene 5
cat >"$T/verify_hard.py" <<'EOF'
# Every training negative of a listed positive is in its category; the test
# triplets are those of the file without hard negatives.
import json, struct, sys
import msgpack
hard, plain, catalog = sys.argv[1:4]
cat = json.load(open(catalog))
h = msgpack.unpackb(open(hard, "rb").read(), raw=False)
d = msgpack.unpackb(open(plain, "rb").read(), raw=False)
keys = lambda b: [b[i:i + 32].decode() for i in range(0, len(b), 32)]
u32 = lambda b: list(struct.unpack("<%dI" % (len(b) // 4), b))
products = keys(h["products"])
train = list(zip(*[iter(u32(h["train"]))] * 3))
listed = [t for t in train if products[t[1]] in cat]
assert all(cat.get(products[t[2]]) == cat[products[t[1]]] for t in listed), "a hard negative outside its category"
assert h["params"]["hard_fraction"] == 1.0 and "hard_fraction" not in d["params"]
c = h["counts"]
assert c["train_hard"] == len(listed) and c["hard_fallback"] == len(train) - len(listed) > 0, c
assert h["test"] == d["test"], "test triplets changed"
print("verified", len(listed), "hard negatives")
EOF
check "hard negatives are of the positive's category; test triplets unchanged" \
    "$PY" "$T/verify_hard.py" "$T/h.msgpack" "$T/d.msgpack" "$T/catalog.json"

# --- a scene paired with every product ---
for p in 0 1 2; do
    printf '{"product": "%016x%016x", "scene": "%016x%016x"}\n' 2 $p 1 0
done >"$T/cover.jsonl"
printf '{"product": "%016x%016x", "scene": "%016x%016x"}\n' 2 1 1 1 >>"$T/cover.jsonl"
grep -o '"[0-9a-f]\{32\}"' "$T/cover.jsonl" | tr -d '"' | sort -u >"$T/cover_ok.txt"
fails_with 1 "scene 00000000000000010000000000000000: paired with all 3 products" \
    "a scene covering the catalog fails naming the scene" \
    "$TRIP" --pairs "$T/cover.jsonl" --crops "$T/cover_ok.txt" --out "$T/cover.msgpack"
check "no output after a data error" [ ! -e "$T/cover.msgpack" ]
: >"$T/empty_ok.txt"
fails_with 1 "no usable pairs" "nothing decoded fails" \
    "$TRIP" --pairs "$T/pairs.jsonl" --crops "$T/empty_ok.txt" --out "$T/none.msgpack"

# --- with real crops, when the stages that make them are built ---
if [ -x "$STL_BIN/stl-synth" ] && [ -x "$STL_BIN/stl-decode" ]; then
    "$STL_BIN/stl-synth" --out "$T/syn" --scenes 40 --products 30 --seed 3 >/dev/null 2>&1
    "$STL_BIN/stl-decode" --keys "$T/syn/pairs.jsonl" --images "$T/syn/images" --out "$T/crops" \
        --size 32 >/dev/null 2>&1
    ok "runs on a crop directory from stl-decode" \
        "$TRIP" --pairs "$T/syn/pairs.jsonl" --crops "$T/crops" --out "$T/syn.msgpack" --test-fraction 0.3
    grep -o '"[0-9a-f]\{32\}"' "$T/syn/pairs.jsonl" | tr -d '"' | sort -u >"$T/syn_ok.txt"
    ok "same pairs with --crops KEYLIST" \
        "$TRIP" --pairs "$T/syn/pairs.jsonl" --crops "$T/syn_ok.txt" --out "$T/syn2.msgpack" --test-fraction 0.3
    check "a crop directory and the equivalent key list give the same file" cmp -s "$T/syn.msgpack" "$T/syn2.msgpack"
    check "synthetic-data file keeps every promise" "$PY" "$T/verify.py" "$T/syn.msgpack" \
        "$T/syn/pairs.jsonl" "$T/syn_ok.txt" scene 5
fi
finish
