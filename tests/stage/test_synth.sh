#!/bin/bash
# test_synth.sh — stl-synth: determinism (any --threads), output shape and
# usage errors. The data set's learnability is checked by the training stage.
. "$(dirname "$0")/lib.sh"
S="$STL_BIN/stl-synth"
PY=/usr/bin/python3
small=(--scenes 60 --products 40 --seed 7 --scene-size 96 --product-size 64)

ok "help exits 0" "$S" --help
ok "small set, 1 thread" "$S" --out "$T/a" "${small[@]}" --threads 1
ok "small set, 3 threads" "$S" --out "$T/b" "${small[@]}" --threads 3
check "byte-identical whatever --threads" diff -r "$T/a" "$T/b"
ok "rerun over an existing set" "$S" --out "$T/b" "${small[@]}" --threads 2
check "rerun is byte-identical" diff -r "$T/a" "$T/b"
ok "another seed" "$S" --out "$T/c" --scenes 60 --products 40 --seed 8 --scene-size 96 --product-size 64
check "another seed gives other data" bash -c "! cmp -s '$T/a/pairs.jsonl' '$T/c/pairs.jsonl'"
check "no temporary files left" bash -c "[ -z \"\$(find '$T/a' -name '.*tmp*')\" ]"

# The shape of the data set, checked line by line.
cat >"$T/shape.py" <<'PYEOF'
import json, os, re, sys, collections
d, n_scenes, n_products, scene_px, product_px = sys.argv[1], *map(int, sys.argv[2:])
key = re.compile(r'^[0-9a-f]{32}$')
cats = {"Apparel & Accessories|Shoes", "Apparel & Accessories|Clothing|Shirts & Tops",
        "Apparel & Accessories|Clothing|Pants", "Apparel & Accessories|Handbags, Wallets & Cases",
        "Apparel & Accessories|Clothing|Outerwear|Coats & Jackets",
        "Apparel & Accessories|Clothing Accessories|Sunglasses", "Apparel & Accessories|Clothing|Shorts",
        "Apparel & Accessories|Clothing|Skirts", "Apparel & Accessories|Jewelry|Earrings",
        "Apparel & Accessories|Jewelry|Necklaces"}
bad = []
def need(cond, what):
    if not cond: bad.append(what)
cat = json.load(open(os.path.join(d, 'catalog.json')))
need(isinstance(cat, dict) and len(cat) == n_products, 'catalog has %d products' % len(cat))
need(all(key.match(k) for k in cat), 'catalog keys valid')
need(set(cat.values()) <= cats, 'categories are real STL ones: %s' % (set(cat.values()) - cats))
need(len(set(cat.values())) >= min(5, n_products // 4), 'several categories used')
scenes = collections.defaultdict(list)
for i, line in enumerate(open(os.path.join(d, 'pairs.jsonl')), 1):
    p = json.loads(line)
    need(sorted(p) == ['bbox', 'product', 'scene'], 'line %d fields' % i)
    need(key.match(p['product']) and key.match(p['scene']), 'line %d keys' % i)
    need(p['product'] in cat, 'line %d product in the catalog' % i)
    l, t, r, b = p['bbox']
    need(0 <= l < r <= 1 and 0 <= t < b <= 1, 'line %d bbox %s' % (i, p['bbox']))
    need(r - l >= 0.25 and b - t >= 0.25, 'line %d bbox large enough' % i)
    scenes[p['scene']].append(p['product'])
need(len(scenes) == n_scenes, '%d scenes' % len(scenes))
need(not set(scenes) & set(cat), 'scene and product keys disjoint')
need(all(1 <= len(v) <= 4 and len(set(v)) == len(v) for v in scenes.values()),
     '1-4 distinct products per scene')
counts = collections.Counter(k for v in scenes.values() for k in v)
need(len(counts) < n_products, 'some catalog products are in no scene')
mean = sum(counts.values()) / len(counts)
need(max(counts.values()) >= 3 * mean, 'popularity skewed (max %d, mean %.1f)' % (max(counts.values()), mean))
def jpeg_size(path):
    if not os.path.isfile(path): return None
    b = open(path, 'rb').read()
    if b[:3] != b'\xff\xd8\xff': return None
    i = 2
    while i + 9 < len(b):
        if b[i] != 0xff: return None
        m, n = b[i + 1], int.from_bytes(b[i + 2:i + 4], 'big')
        if m in (0xc0, 0xc1, 0xc2): return int.from_bytes(b[i + 7:i + 9], 'big'), int.from_bytes(b[i + 5:i + 7], 'big')
        i += 2 + n
    return None
imgs = os.listdir(os.path.join(d, 'images'))
need(len(imgs) == n_scenes + n_products, '%d images' % len(imgs))
for k in cat:
    need(jpeg_size(os.path.join(d, 'images', k + '.jpg')) == (product_px, product_px), 'product image %s' % k)
for k in scenes:
    need(jpeg_size(os.path.join(d, 'images', k + '.jpg')) == (scene_px, scene_px), 'scene image %s' % k)
for b in bad[:10]: print('shape: ' + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF
ok "shape: counts, keys, bboxes, catalog, images, popularity" "$PY" "$T/shape.py" "$T/a" 60 40 96 64
one=$(ls "$T/a/images" | head -1)
if command -v djpeg >/dev/null; then
    ok "djpeg decodes an image" djpeg -outfile "$T/one.ppm" "$T/a/images/$one"
fi

ok "default sizes (scene 160 px, product 128 px)" "$S" --out "$T/d" --scenes 30 --products 20
ok "default-size shape" "$PY" "$T/shape.py" "$T/d" 30 20 160 128

fails_with 2 "stl-synth: .*out" "missing --out" "$S" --scenes 5
fails_with 2 "stl-synth: .*scenes" "--scenes 0" "$S" --out "$T/e" --scenes 0
fails_with 2 "stl-synth: .*quality" "--quality 101" "$S" --out "$T/e" --quality 101
fails_with 2 "stl-synth: " "unknown flag" "$S" --out "$T/e" --colour red
touch "$T/file"
fails_with 1 "stl-synth: .*$T/file" "output under a plain file" "$S" --out "$T/file/x" --scenes 2 --products 2
finish
