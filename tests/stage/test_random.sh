#!/bin/bash
# test_random.sh — stl-random: the real 38,111-product catalog (skipped when
# absent), the synthetic one, local image links, HTML escaping and every bad
# input with its exit code.
. "$(dirname "$0")/lib.sh"
R="$STL_BIN/stl-random"
PY=/usr/bin/python3

# check_page PAGE CATALOG N: N distinct figures, each a catalog key with its
# category, image from the CDN (or, with a 4th argument DIR, DIR/<key>.jpg
# relative to the page, existing).
cat >"$T/page.py" <<'PYEOF'
import html, json, os, re, sys
page, catalog, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
local = sys.argv[4] if len(sys.argv) > 4 else None
cat = json.load(open(catalog))
text = open(page).read()
figs = re.findall(r'<figure><img src="([^"]*)" alt="([^"]*)" loading="lazy"><figcaption><code>([^<]*)</code><br>([^<]*)</figcaption></figure>', text)
bad = []
if len(figs) != n: bad.append('%d figures, want %d' % (len(figs), n))
keys = [f[2] for f in figs]
if len(set(keys)) != len(keys): bad.append('keys not distinct')
for src, alt, k, c in figs:
    if not re.fullmatch(r'[0-9a-f]{32}', k) or k not in cat: bad.append('key %s not in the catalog' % k); continue
    if html.unescape(c) != cat[k]: bad.append('category of %s: %r' % (k, c))
    if alt != k: bad.append('alt of %s' % k)
    if local is None:
        want = 'http://i.pinimg.com/400x/%s/%s/%s/%s.jpg' % (k[0:2], k[2:4], k[4:6], k)
        if src != want: bad.append('src %s, want %s' % (src, want))
    else:
        target = os.path.normpath(os.path.join(os.path.dirname(page), html.unescape(src)))
        if src.startswith('/') or target != os.path.normpath(os.path.join(local, k + '.jpg')) or not os.path.isfile(target):
            bad.append('src %s does not lead to %s/%s.jpg' % (src, local, k))
for b in bad[:10]: print('page: ' + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PYEOF

ok "help exits 0" "$R" --help

real="$STL_SHARED/data/stl/fashion-cat.json"
if [ -f "$real" ]; then
    ok "real catalog, n 10" "$R" --catalog "$real" --out "$T/real.html"
    ok "real catalog: 10 distinct valid products, CDN links" "$PY" "$T/page.py" "$T/real.html" "$real" 10
    ok "real catalog, n 1000, seed 5" "$R" --catalog "$real" --out "$T/real2.html" --n 1000 --seed 5
    ok "real catalog: 1000 distinct valid products" "$PY" "$T/page.py" "$T/real2.html" "$real" 1000
else
    echo "skip: real catalog $real is absent"
fi

# A small synthetic data set with local images.
ok "synthetic data set" "$STL_BIN/stl-synth" --out "$T/syn" --scenes 5 --products 12 --scene-size 64 --product-size 64
mkdir -p "$T/site/sub"
ok "local images" "$R" --catalog "$T/syn/catalog.json" --out "$T/site/sub/page.html" --images "$T/syn/images" --n 4
ok "local images: relative links to existing files" "$PY" "$T/page.py" "$T/site/sub/page.html" "$T/syn/catalog.json" 4 "$T/syn/images"
check "local links are relative" bash -c "! grep -q 'src=\"/' '$T/site/sub/page.html'"
ok "n equal to the catalog size" "$R" --catalog "$T/syn/catalog.json" --out "$T/all.html" --n 12
ok "n = catalog: every product once" "$PY" "$T/page.py" "$T/all.html" "$T/syn/catalog.json" 12
ok "seed 3 again" "$R" --catalog "$T/syn/catalog.json" --out "$T/s3a.html" --n 5 --seed 3
ok "seed 3 once more" "$R" --catalog "$T/syn/catalog.json" --out "$T/s3b.html" --n 5 --seed 3
ok "seed 4" "$R" --catalog "$T/syn/catalog.json" --out "$T/s4.html" --n 5 --seed 4
check "same seed, same page" cmp -s "$T/s3a.html" "$T/s3b.html"
check "other seed, other page" bash -c "! cmp -s '$T/s3a.html' '$T/s4.html'"

# Escaping: categories and the catalog path are data.
k1=0123456789abcdef0123456789abcdef
k2=fedcba9876543210fedcba9876543210
printf '{"%s": "<b>\\"x\\" & '"'"'y'"'"'</b>",\n "%s": "Shoes"}\n' $k1 $k2 >"$T/x&<y>.json"
ok "catalog with markup in a category" "$R" --catalog "$T/x&<y>.json" --out "$T/esc.html" --n 2
check "category escaped" grep -qF '&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;' "$T/esc.html"
check "file name escaped" grep -qF 'x&amp;&lt;y&gt;.json' "$T/esc.html"
check "no raw markup from data" bash -c "! grep -qF '<b>' '$T/esc.html'"
ok "escaped page still lists both" "$PY" "$T/page.py" "$T/esc.html" "$T/x&<y>.json" 2

# Bad input: one line on stderr, the right exit code, no page.
printf '{"%s": "Shoes",\n' $k1 >"$T/trunc.json"
printf '["%s"]\n' $k1 >"$T/array.json"
printf '{"%s": 7}\n' $k1 >"$T/nonstring.json"
printf '{}\n' >"$T/empty.json"
printf '{"%s": "Shoes",\n "%s": "Pants",\n "NOT-A-KEY": "Shoes"}\n' $k1 $k2 >"$T/badkey.json"
: >"$T/zero.json"
fails_with 1 "^stl-random: .*missing.json: .*(No such file|cannot open)" "missing file" "$R" --catalog "$T/missing.json" --out "$T/o.html"
fails_with 1 "^stl-random: .*$T/syn: " "a directory as the catalog" "$R" --catalog "$T/syn" --out "$T/o.html"
fails_with 1 "^stl-random: .*trunc.json.*invalid JSON" "truncated JSON" "$R" --catalog "$T/trunc.json" --out "$T/o.html"
fails_with 1 "^stl-random: .*zero.json.*invalid JSON" "zero-byte file" "$R" --catalog "$T/zero.json" --out "$T/o.html"
fails_with 1 "^stl-random: .*array.json: .*object" "not an object" "$R" --catalog "$T/array.json" --out "$T/o.html"
fails_with 1 "^stl-random: .*nonstring.json:1: .*$k1.*not a string" "non-string category" "$R" --catalog "$T/nonstring.json" --out "$T/o.html"
fails_with 1 "^stl-random: .*empty.json: .*empty" "empty catalog" "$R" --catalog "$T/empty.json" --out "$T/o.html"
fails_with 1 "^stl-random: .*badkey.json:3: .*NOT-A-KEY" "bad key, named with its line" "$R" --catalog "$T/badkey.json" --out "$T/o.html"
fails_with 1 "^stl-random: .*13 distinct.*holds 12" "n larger than the catalog" "$R" --catalog "$T/syn/catalog.json" --out "$T/o.html" --n 13
fails_with 2 "^stl-random: .*n" "n 0" "$R" --catalog "$T/syn/catalog.json" --out "$T/o.html" --n 0
fails_with 2 "^stl-random: .*n" "n -3" "$R" --catalog "$T/syn/catalog.json" --out "$T/o.html" --n -3
fails_with 2 "^stl-random: .*catalog" "missing --catalog" "$R" --out "$T/o.html"
fails_with 2 "^stl-random: " "unknown flag" "$R" --catalog "$T/syn/catalog.json" --out "$T/o.html" --k 3
fails_with 1 "^stl-random: .*$T/nodir/o.html" "unwritable output" "$R" --catalog "$T/syn/catalog.json" --out "$T/nodir/o.html"
check "no page written by a failed run" bash -c "[ ! -e '$T/o.html' ]"
finish
