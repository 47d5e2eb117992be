#!/usr/bin/env bash
# test_report.sh — stl-report's site, rendered in real headless Chromium.
#
# A small synthetic run (synth → decode → triplets → a fixture model → embed
# → topk → eval, plus a hand-made metrics.jsonl and stl-random's page) is
# turned into a site; then: every page and thumbnail exists, the site is
# byte-identical when made again, the catalog's hostile category
# (<script>…) appears only escaped, and Chromium renders the index and a
# scene page to screenshots that are not blank, with every <img> of the
# rendered DOM a relative link to an existing file and no image failing to
# load (a probe copy of each page counts images with naturalWidth 0).
. "$(dirname "$0")/lib.sh"
: "${STL_BUILD:?STL_BUILD must point at the build directory (make test sets it)}"
PY=/usr/bin/python3
CHK="$PY $(dirname "$0")/report_check.py"

"$STL_BIN/stl-synth" --out "$T/d" --scenes 60 --products 40 --seed 9 --threads 2 >/dev/null 2>&1
"$STL_BIN/stl-decode" --keys "$T/d/pairs.jsonl" --images "$T/d/images" --out "$T/crops" \
    --size 64 --resize --threads 2 >/dev/null 2>&1
# every category becomes hostile markup: whatever product a page shows, it must be escaped
$PY - "$T/d/catalog.json" "$T/cat.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
json.dump({k: '<script>alert(1)</script> & "' + v + '"' for k, v in c.items()}, open(sys.argv[2], "w"))
EOF
"$STL_BIN/stl-triplets" --pairs "$T/d/pairs.jsonl" --crops "$T/crops" --out "$T/t.mpk" \
    --test-fraction 0.3 >/dev/null 2>&1
"$STL_BUILD/tools/embed_fixture" model "$T/m.mpk" 4 16
"$STL_BIN/stl-embed" --model "$T/m.mpk" --crops "$T/crops" --kind scene --keys "$T/d/pairs.jsonl" --out "$T/s.emb" 2>/dev/null
"$STL_BIN/stl-embed" --model "$T/m.mpk" --crops "$T/crops" --kind product --keys "$T/d/pairs.jsonl" --out "$T/p.emb" 2>/dev/null
"$STL_BIN/stl-topk" --scenes "$T/s.emb" --products "$T/p.emb" --out "$T/tk.mpk" --k 5 >/dev/null 2>&1
"$STL_BIN/stl-eval" --topk "$T/tk.mpk" --triplets "$T/t.mpk" --scenes "$T/s.emb" --products "$T/p.emb" \
    --out "$T/metrics.json" >/dev/null 2>&1
"$STL_BIN/stl-random" --catalog "$T/cat.json" --out "$T/random.html" --images "$T/d/images" >/dev/null 2>&1
$PY - "$T/train.jsonl" <<'EOF'
import json, math, sys
with open(sys.argv[1], "w") as f:
    for s in range(0, 201, 10):
        r = {"step": s, "train_loss": 1.0 * math.exp(-s / 80) + 0.1, "wall_s": s * 0.5}
        if s % 50 == 0:
            r.update({"test_loss": 1.1 * math.exp(-s / 90) + 0.15, "test_accuracy": 0.5 + 0.4 * s / 200,
                      "odd<b>loss": 0.5})
        f.write(json.dumps(r) + "\n")
EOF
for f in t.mpk m.mpk s.emb p.emb tk.mpk metrics.json random.html train.jsonl; do
    check "fixture $f" [ -s "$T/$f" ]
done

rep() {
    "$STL_BIN/stl-report" --metrics "$T/metrics.json" --train-metrics "$T/train.jsonl" \
        --topk "$T/tk.mpk" --triplets "$T/t.mpk" --images "$T/d/images" --random "$T/random.html" \
        --model "$T/m.mpk" --catalog "$T/cat.json" --max-scenes 4 "$@"
}
ok "stl-report writes the site" rep --out "$T/site"
check "prints the index path" grep -qx "$T/site/index.html" "$T/.out"
S="$T/site"
check "index, random page and 4 scene pages" [ -s "$S/index.html" -a -s "$S/random.html" -a "$(ls "$S/scene" | wc -l)" -eq 4 ]
check "thumbnails are JPEGs" sh -c "ls '$S'/img/*.jpg >/dev/null && head -c 3 \"\$(ls '$S'/img/*.jpg | head -1)\" | od -An -tx1 | grep -q 'ff d8 ff'"
check "the index has the metrics table, two charts and the configuration" \
    sh -c "grep -q 'id=\"metrics\"' '$S/index.html' && [ \$(grep -o '<svg' '$S/index.html' | wc -l) -eq 2 ] && grep -q 'id=\"config-triplets\"' '$S/index.html' && grep -q 'id=\"config-model\"' '$S/index.html'"
check "the index links the scene pages and the random page" \
    sh -c "[ \$(grep -o 'href=\"scene/[0-9a-f]*.html\"' '$S/index.html' | wc -l) -eq 4 ] && grep -q 'href=\"random.html\"' '$S/index.html'"
check "no raw <script> anywhere in the site" sh -c "! grep -rqi '<script' '$S'"
check "the category is shown escaped on the scene pages" grep -rq '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;' "$S/scene"
check "a chart legend is escaped" grep -q 'odd&lt;b&gt;loss' "$S/index.html"
check "ground-truth products are marked" sh -c "grep -q 'gtmark' '$S'/scene/*.html"
check "no link leaves the site except the random page's images" \
    sh -c "! grep -ohE '(src|href)=\"[^\"]*\"' '$S/index.html' '$S'/scene/*.html | grep -E '\"(/|[a-z]+:|\\.\\./\\.\\.)'"
ok "stl-report again" rep --out "$T/site2"
check "same inputs: a byte-identical site" diff -r "$S" "$T/site2"

# headless Chromium
shot() { # URL PPM: screenshot (JPEG, decoded by djpeg: numpy reads the PPM)
    local ud; ud=$(mktemp -d "$T/chrome.XXXXXX")
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --log-level=3 \
        --user-data-dir="$ud" --window-size=1000,900 --screenshot="$2.jpeg" "$1" >/dev/null 2>&1
    [ -s "$2.jpeg" ] && djpeg -pnm "$2.jpeg" >"$2"
}
dom() { # URL OUT: the DOM after load
    local ud; ud=$(mktemp -d "$T/chrome.XXXXXX")
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync --log-level=3 \
        --user-data-dir="$ud" --virtual-time-budget=10000 --dump-dom "$1" >"$2" 2>/dev/null
    [ -s "$2" ]
}
# probe: a copy of a page beside it (same relative links) that records, once
# loaded, how many images it has and how many failed (naturalWidth 0)
probe() { # PAGE PROBE
    sed 's|</body>|<script>addEventListener("load",function(){var m=document.images,b=0;for(var i=0;i<m.length;i++)if(!m[i].complete\|\|m[i].naturalWidth===0)b++;document.body.setAttribute("data-images",m.length);document.body.setAttribute("data-broken",b);});</script></body>|' "$1" >"$2"
}
scene=$(ls "$S/scene" | head -1)
for page in index.html "scene/$scene"; do
    dir=$(dirname "$S/$page")
    ok "chromium: screenshot of $page" shot "file://$S/$page" "$T/shot.ppm"
    ok "chromium: $page is not blank" $CHK shot "$T/shot.ppm"
    probe "$S/$page" "$dir/.probe.html"
    ok "chromium: DOM of $page (probe copy)" dom "file://$dir/.probe.html" "$T/probe.html"
    rm -f "$dir/.probe.html"
    ok "chromium: every <img> of $page is a relative link to a file" $CHK imgs "$T/probe.html" "$dir"
    ok "chromium: no image of $page fails to load" $CHK broken "$T/probe.html"
done
probe "$S/random.html" "$S/.probe.html"
ok "chromium: probe of the copied random page" dom "file://$S/.probe.html" "$T/probe.html"
rm -f "$S/.probe.html"
ok "chromium: the copied random page's images still load" $CHK broken "$T/probe.html"

# the probe itself can fail: a page with a missing image
echo '<html><body><img src="nope.jpg"></body></html>' >"$T/broken.html"
probe "$T/broken.html" "$T/broken_probe.html"
dom "file://$T/broken_probe.html" "$T/probe.html"
fails_with 1 "failed to load" "the probe detects a missing image" $CHK broken "$T/probe.html"

# a minimal site: only the metrics; and errors
ok "a site from the metrics alone" "$STL_BIN/stl-report" --out "$T/min" --metrics "$T/metrics.json"
check "...has the table and no scene pages" sh -c "grep -q 'id=\"metrics\"' '$T/min/index.html' && [ ! -d '$T/min/scene' ]"
echo '{"not": "metrics"}' >"$T/bad.json"
fails_with 1 "^stl-report: .*bad.json: not an stl-eval metrics file" "a JSON that is not stl-eval's is refused" \
    "$STL_BIN/stl-report" --out "$T/bad" --metrics "$T/bad.json"
rm -rf "$T/d/images"
ok "missing source images: placeholders, not broken images" rep --out "$T/noimg"
check "...no <img> and a placeholder on the scene pages" \
    sh -c "! grep -q '<img' '$T/noimg'/scene/*.html && grep -q 'no image' '$T/noimg'/scene/*.html"
finish
