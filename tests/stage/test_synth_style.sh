#!/bin/bash
# test_synth_style.sh — stl-synth --style: style 1 is the default drawing;
# style 2 is deterministic whatever --threads, draws every image differently
# from style 1 on the same data set structure (same keys, catalog, pairs and
# boxes), writes JPEGs djpeg decodes, and draws other silhouettes: each
# category's mean silhouette moves further between the styles than between
# two seeds of one style. Usage errors for --style.
. "$(dirname "$0")/lib.sh"
S="$STL_BIN/stl-synth"
PY=/usr/bin/python3
small=(--scenes 40 --products 30 --seed 7 --scene-size 96 --product-size 64)

ok "no --style" "$S" --out "$T/d" "${small[@]}" --threads 2
ok "--style 1" "$S" --out "$T/one" "${small[@]}" --threads 1 --style 1
check "--style 1 is the default, byte for byte" diff -r "$T/d" "$T/one"

ok "--style 2, 1 thread" "$S" --out "$T/a" "${small[@]}" --style 2 --threads 1
ok "--style 2, 3 threads" "$S" --out "$T/b" "${small[@]}" --style 2 --threads 3
check "style 2 byte-identical whatever --threads" diff -r "$T/a" "$T/b"
ok "--style 2 rerun over an existing set" "$S" --out "$T/b" "${small[@]}" --style 2 --threads 2
check "style 2 rerun is byte-identical" diff -r "$T/a" "$T/b"
check "style 2: same pairs as style 1 (keys, boxes)" cmp "$T/a/pairs.jsonl" "$T/d/pairs.jsonl"
check "style 2: same catalog as style 1 (keys, categories)" cmp "$T/a/catalog.json" "$T/d/catalog.json"
same_images() { # DIR1 DIR2: how many images are byte-identical in both
    local n=0 f
    for f in "$1"/images/*.jpg; do cmp -s "$f" "$2/images/${f##*/}" && n=$((n + 1)); done
    echo "$n"
}
check "style 2: the same image files as style 1" \
    diff <(ls "$T/a/images") <(ls "$T/d/images")
check "style 2: every image differs from style 1's" [ "$(same_images "$T/a" "$T/d")" = 0 ]
ok "style 2: another seed" "$S" --out "$T/c" --scenes 40 --products 30 --seed 8 --scene-size 96 \
    --product-size 64 --style 2
check "style 2: another seed gives other data" bash -c "! cmp -s '$T/a/pairs.jsonl' '$T/c/pairs.jsonl'"
if command -v djpeg >/dev/null; then
    decodes() {
        local f
        for f in "$1"/images/*.jpg; do djpeg -outfile /dev/null "$f" || return 1; done
    }
    ok "style 2: djpeg decodes every image" decodes "$T/a"
fi

# Other silhouettes, not other random numbers: per category, the mean
# foreground mask of the catalog photos (16x16 cells; a pixel is foreground
# when it differs from its row's first pixel, the backdrop, by more than 48;
# the bottom fifth is left out, where style 2's photos have a shadow) moves
# between the styles (same seed) by more than 1.5x what it moves between
# seeds 7 and 8 within either style.
cat >"$T/silhouette.py" <<'PYEOF'
import collections, json, os, subprocess, sys
G = 16
def mask(path):
    b = subprocess.run(['djpeg', '-pnm', path], capture_output=True, check=True).stdout
    hdr = b.split(maxsplit=4)
    w, h = int(hdr[1]), int(hdr[2])
    px = hdr[4][-w * h * 3:]
    m = [0.0] * (G * G)
    for y in range(h * 4 // 5):
        bg = px[y * w * 3:y * w * 3 + 3]
        for x in range(w):
            o = (y * w + x) * 3
            if max(abs(px[o + c] - bg[c]) for c in range(3)) > 48:
                m[(y * G // h) * G + x * G // w] += 1.0
    return [v / ((w / G) * (h / G)) for v in m]
def means(d):
    cat = json.load(open(os.path.join(d, 'catalog.json')))
    acc = collections.defaultdict(lambda: [0.0] * (G * G))
    n = collections.Counter()
    for k, c in cat.items():
        for i, v in enumerate(mask(os.path.join(d, 'images', k + '.jpg'))): acc[c][i] += v
        n[c] += 1
    return {c: [v / n[c] for v in acc[c]] for c in acc}
def dist(p, q): return sum(abs(a - b) for a, b in zip(p, q)) / (G * G)
s1, s1b, s2, s2b = (means(d) for d in sys.argv[1:5])
bad = 0
for c in sorted(s1):
    seed = max(dist(s1[c], s1b[c]), dist(s2[c], s2b[c]))
    style = dist(s1[c], s2[c])
    good = style > 1.5 * seed
    bad += not good
    print('%-28s seed %.3f style %.3f %s' % (c.split('|')[-1], seed, style, 'ok' if good else 'TOO CLOSE'))
sys.exit(1 if bad else 0)
PYEOF
if command -v djpeg >/dev/null; then
    many=(--scenes 1 --products 600 --product-size 32 --threads 2)
    ok "600 products, style 1, seed 7" "$S" --out "$T/m17" "${many[@]}" --seed 7
    ok "600 products, style 1, seed 8" "$S" --out "$T/m18" "${many[@]}" --seed 8
    ok "600 products, style 2, seed 7" "$S" --out "$T/m27" "${many[@]}" --seed 7 --style 2
    ok "600 products, style 2, seed 8" "$S" --out "$T/m28" "${many[@]}" --seed 8 --style 2
    if "$PY" "$T/silhouette.py" "$T/m17" "$T/m18" "$T/m27" "$T/m28" >"$T/silhouette.out" 2>&1; then
        pass "style 2 silhouettes: every category's mean mask moves > 1.5x a seed change"
    else
        fail "style 2 silhouettes: $(grep -v ' ok$' "$T/silhouette.out" | head -c 600)"
    fi
    cat "$T/silhouette.out"
fi

fails_with 2 "stl-synth: .*--style.*3.*out of range" "--style 3" "$S" --out "$T/e" --style 3
fails_with 2 "stl-synth: .*--style.*0.*out of range" "--style 0" "$S" --out "$T/e" --style 0
check "a refused --style writes nothing" [ ! -e "$T/e" ]
finish
