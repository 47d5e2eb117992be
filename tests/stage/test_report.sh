#!/usr/bin/env bash
# test_report.sh — stl-report's site, rendered in real headless Chromium.
#
# A small synthetic run (synth → decode → triplets → a fixture model → embed
# → topk → eval, plus a hand-made metrics.jsonl to step 2000, a model
# sidecar with reals and stl-random's page) is turned into a site; then:
# every page and thumbnail exists, the site is byte-identical when made
# again, self-contained (every src/href resolves to a file inside the site,
# the rewritten random page included), the catalog's hostile category
# (<script>…) appears only escaped, reals print in their shortest form,
# scores with 3 decimals, every held-out product has its rank among all
# products (checked against numpy on the JSON embeddings), no thumbnail is
# larger than its source; and Chromium renders the index, a scene page and
# the random page: screenshots not blank, every <img> of the rendered DOM a
# relative link to an existing file, and a probe copy of each page counts
# images that fail to load (naturalWidth 0) or are shown larger than their
# natural size, and SVG texts whose box leaves the SVG's viewBox: none.
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
"$STL_BIN/stl-embed" --model "$T/m.mpk" --crops "$T/crops" --kind scene --keys "$T/d/pairs.jsonl" --out "$T/s.emb" --json "$T/s.json" 2>/dev/null
"$STL_BIN/stl-embed" --model "$T/m.mpk" --crops "$T/crops" --kind product --keys "$T/d/pairs.jsonl" --out "$T/p.emb" --json "$T/p.json" 2>/dev/null
# the sidecar as stl-train writes it: reals whose %.17g form is noisy
$PY - "$T/m.mpk.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
m["config"] = {"lr": 0.00016, "reg": 0.2, "betas": [0.9, 0.999], "steps": 2000}
json.dump(m, open(sys.argv[1], "w"))
EOF
"$STL_BIN/stl-topk" --scenes "$T/s.emb" --products "$T/p.emb" --out "$T/tk.mpk" --k 5 >/dev/null 2>&1
"$STL_BIN/stl-eval" --topk "$T/tk.mpk" --triplets "$T/t.mpk" --scenes "$T/s.emb" --products "$T/p.emb" \
    --out "$T/metrics.json" >/dev/null 2>&1
"$STL_BIN/stl-random" --catalog "$T/cat.json" --out "$T/random.html" --images "$T/d/images" >/dev/null 2>&1
$PY - "$T/train.jsonl" <<'EOF'
import json, math, sys
with open(sys.argv[1], "w") as f:
    for s in range(0, 2001, 100):  # a right-edge x tick "2000", as in a real run
        r = {"step": s, "train_loss": 1.0 * math.exp(-s / 800) + 0.1, "wall_s": s * 0.5}
        if s % 500 == 0:
            r.update({"test_loss": 1.1 * math.exp(-s / 900) + 0.15, "test_accuracy": 0.5 + 0.4 * s / 2000,
                      "odd<b>loss": 0.5})
        f.write(json.dumps(r) + "\n")
EOF
for f in t.mpk m.mpk s.emb p.emb s.json p.json tk.mpk metrics.json random.html train.jsonl; do
    check "fixture $f" [ -s "$T/$f" ]
done

rep() {
    "$STL_BIN/stl-report" --metrics "$T/metrics.json" --train-metrics "$T/train.jsonl" \
        --topk "$T/tk.mpk" --triplets "$T/t.mpk" --images "$T/d/images" --random "$T/random.html" \
        --model "$T/m.mpk" --catalog "$T/cat.json" --max-scenes 4 --scenes "$T/s.emb" \
        --products "$T/p.emb" --pairs "$T/d/pairs.jsonl" "$@"
}
ok "stl-report writes the site" rep --out "$T/site"
check "prints the index path" grep -qx "$T/site/index.html" "$T/.out"
repfull() { rep "$@" > /dev/full; }
fails_with 1 "^stl-report: standard output: " "stl-report with its stdout on a full disk exits 1" \
    repfull --out "$T/site-full"
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
ok "self-contained: every src/href of every page resolves to a file inside the site" \
    $PY "$(dirname "$0")/report_site_check.py" links "$S"
check "the random page is rewritten: thumbnails in img/, a link back to the index" \
    sh -c "grep -q '<img src=\"img/[0-9a-f]*-[0-9]*.jpg\"' '$S/random.html' && grep -q 'href=\"index.html\"' '$S/random.html' && ! grep -q '\.\./' '$S/random.html'"
nprod=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["products"])' "$T/metrics.json")
ncat=$($PY -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/cat.json")
check "the index says the random page draws from the catalog ($ncat), the evaluation from the pairs ($nprod)" \
    grep -q "whole catalog ($ncat products), while the evaluation below ranks only the products that appear in the pairs ($nprod)" "$S/index.html"
check "model reals in their shortest form (0.00016, 0.2), no float noise" \
    sh -c "grep -q '>0.00016<' '$S/index.html' && grep -q '>0.2<' '$S/index.html' && grep -q '>\[0.9,0.999\]<' '$S/index.html' && ! grep -qE '0000000000|9999999999' '$S/index.html'"
check "every score on the scene pages has 3 decimals" \
    sh -c "grep -ohE 'score -?[0-9][^ <]*' '$S'/scene/*.html >'$T/scores' && [ -s '$T/scores' ] && ! grep -vqE '^score -?[0-9]+\.[0-9]{3}\$' '$T/scores'"
check "the scene pages say what the score is" grep -q 'Score: the dot product of the scene' "$S/scene/$(ls "$S/scene" | head -1)"
ok "every held-out product: its rank among all $nprod products and score, as numpy ranks them" \
    $PY "$(dirname "$0")/report_site_check.py" ranks "$S" "$T/s.json" "$T/p.json"
ok "no thumbnail is larger than its source (scenes 160 px, products 128 px): no upscaling" \
    $PY "$(dirname "$0")/report_site_check.py" sizes "$S" "$T/d/images"
check "categories break after '|' (<wbr>), never inside a word" \
    sh -c "grep -q '|<wbr>' '$S'/scene/*.html && ! grep -q 'anywhere' '$S/index.html' '$S'/scene/*.html"
ok "the ground truth's boxes on every scene page, labelled with the rank its card shows" \
    $PY - "$S" "$T/d/pairs.jsonl" <<'EOF'
import glob, json, re, sys
site, pairs = sys.argv[1], sys.argv[2]
boxes = {}
for l in open(pairs):
    p = json.loads(l)
    boxes.setdefault(p["scene"], {})[p["product"]] = p["bbox"]
pages = glob.glob(site + "/scene/*.html")
assert pages, "no scene pages"
total = 0
for page in pages:
    html = open(page).read()
    scene = page.rsplit("/", 1)[1][:-5]
    truth = html.split('id="truth"', 1)[1]
    # each held-out card: its key and the rank it shows
    cards = dict((k, r) for r, k in re.findall(
        r'rank (\d+) of \d+.*?<div class="key">([0-9a-f]{32})</div>', truth, re.S))
    got = re.findall(r'<div class="bbox" title="([0-9a-f]{32})" style="left:([\d.]+)%;'
                     r'top:([\d.]+)%;width:([\d.]+)%;height:([\d.]+)%"><span>#(\d+)</span>', html)
    assert {g[0] for g in got} == set(cards), (page, "boxes", {g[0] for g in got}, set(cards))
    for key, x, y, w, h, rank in got:
        b = boxes[scene][key]
        assert abs(float(x) - 100 * b[0]) < 0.01 and abs(float(y) - 100 * b[1]) < 0.01, page
        assert abs(float(w) - 100 * (b[2] - b[0])) < 0.02, page
        assert abs(float(h) - 100 * (b[3] - b[1])) < 0.02, page
        assert rank == cards[key], (page, key, rank, cards[key])
    total += len(got)
assert total > 0, "no boxes at all"
print(total, "boxes")
EOF
check "the index lists the best scenes first, then the worst first" $PY - "$S/index.html" <<'EOF'
import re, sys
html = open(sys.argv[1]).read()
best = html.split('id="best"', 1)[1].split("</div>\n<h3>", 1)[0]
worst = html.split('id="worst"', 1)[1]
hits = lambda part: [int(x) for x in re.findall(r"(\d+)% of \d+ held-out products", part)]
b, w = hits(best), hits(worst)
ok = b and w and b == sorted(b, reverse=True) and w == sorted(w) and min(b) >= max(w)
sys.exit(0 if ok else 1)
EOF
check "the scene key is on its own line under the h1" grep -q '<h1>Test scene<span class="key">' "$S/scene/$(ls "$S/scene" | head -1)"
ok "stl-report again" rep --out "$T/site2"
check "same inputs: a byte-identical site" diff -r "$S" "$T/site2"

# headless Chromium (shot, dom, probe: tests/stage/chromium.sh)
. "$(dirname "$0")/chromium.sh"
attr() { grep -o "data-$1=\"[0-9]*\"" "$2" | grep -o '[0-9][0-9]*'; } # NAME DOM: a probe count
scene=$(ls "$S/scene" | head -1)
for page in index.html "scene/$scene" random.html; do
    dir=$(dirname "$S/$page")
    ok "chromium: screenshot of $page" shot "file://$S/$page" "$T/shot.ppm"
    ok "chromium: $page is not blank" $CHK shot "$T/shot.ppm"
    probe "$S/$page" "$dir/.probe.html"
    ok "chromium: DOM of $page (probe copy)" dom "file://$dir/.probe.html" "$T/probe.html"
    rm -f "$dir/.probe.html"
    ok "chromium: every <img> of $page is a relative link to a file" $CHK imgs "$T/probe.html" "$dir"
    ok "chromium: no image of $page fails to load" $CHK broken "$T/probe.html"
    check "chromium: no image of $page is shown larger than its natural size" \
        [ "$(attr upscaled "$T/probe.html")" = 0 ]
    if [[ $page == scene/* ]]; then
        check "chromium: $page shows its boxes" [ "$(attr bboxes "$T/probe.html")" -gt 0 ]
        check "chromium: every box of $page lies on the scene's picture" \
            [ "$(attr bboxes-out "$T/probe.html")" = 0 ]
    fi
done
probe "$S/index.html" "$S/.probe.html"
dom "file://$S/.probe.html" "$T/probe.html"
rm -f "$S/.probe.html"
check "chromium: the index's SVG texts (tick labels \"2000\" included) stay inside the viewBox" \
    sh -c "[ '$(attr svgtexts "$T/probe.html")' -gt 10 ] && [ '$(attr clipped "$T/probe.html")' = 0 ]"

# the probe itself can fail: a missing image, an upscaled one, a clipped label
echo '<html><body><img src="nope.jpg"></body></html>' >"$T/broken.html"
probe "$T/broken.html" "$T/broken_probe.html"
dom "file://$T/broken_probe.html" "$T/probe.html"
fails_with 1 "failed to load" "the probe detects a missing image" $CHK broken "$T/probe.html"
cp "$(ls "$S"/img/*.jpg | head -1)" "$T/small.jpg"
echo '<html><body><img src="small.jpg" width="1000" height="1000"><svg width="100" height="50" viewBox="0 0 100 50"><text x="95" y="20" font-size="11">2000</text></svg></body></html>' >"$T/bad.html"
probe "$T/bad.html" "$T/bad_probe.html"
dom "file://$T/bad_probe.html" "$T/probe.html"
check "the probe detects an upscaled image and a clipped SVG label" \
    sh -c "[ '$(attr upscaled "$T/probe.html")' = 1 ] && [ '$(attr clipped "$T/probe.html")' = 1 ]"

# without the embeddings; usage and data errors
ok "without --scenes/--products" "$STL_BIN/stl-report" --out "$T/noemb" --topk "$T/tk.mpk" \
    --triplets "$T/t.mpk" --max-scenes 4
check "...held-out products keep the rank and score of the top K, the others say it is unknown" \
    sh -c "for f in '$T/noemb'/scene/*.html; do sed -n '/id=\"truth\"/,\$p' \"\$f\"; done >'$T/truth' && grep -qE '#[0-9]+ · <span class=\"sc\">score -?[0-9]+\.[0-9]{3}</span> <b class=\"gtmark' '$T/truth' && grep -q 'rank not known <b class=\"gtmark' '$T/truth' && ! grep -q 'rank [0-9]* of' '$T/truth' && grep -q 'need the embeddings' '$T/noemb'/scene/*.html"
fails_with 2 "^stl-report: --scenes and --products go together" "--scenes without --products is a usage error" \
    "$STL_BIN/stl-report" --out "$T/bad" --topk "$T/tk.mpk" --scenes "$T/s.emb"
fails_with 1 "^stl-report: .*p.emb: product embeddings given as --scenes" "swapped embeddings are refused" \
    "$STL_BIN/stl-report" --out "$T/bad" --topk "$T/tk.mpk" --scenes "$T/p.emb" --products "$T/s.emb"

# a minimal site: only the metrics; and errors
ok "a site from the metrics alone" "$STL_BIN/stl-report" --out "$T/min" --metrics "$T/metrics.json"
check "...has the table and no scene pages" sh -c "grep -q 'id=\"metrics\"' '$T/min/index.html' && [ ! -d '$T/min/scene' ]"
echo '{"not": "metrics"}' >"$T/bad.json"
fails_with 1 "^stl-report: .*bad.json: not an stl-eval metrics file" "a JSON that is not stl-eval's is refused" \
    "$STL_BIN/stl-report" --out "$T/bad" --metrics "$T/bad.json"
rm -rf "$T/d/images"
ok "missing source images: placeholders, not broken images" rep --out "$T/noimg"
check "...no <img> and a placeholder on the scene pages and the random page" \
    sh -c "! grep -q '<img' '$T/noimg'/scene/*.html '$T/noimg/random.html' && grep -q 'no image' '$T/noimg'/scene/*.html && grep -q 'no image' '$T/noimg/random.html'"
finish
