#!/usr/bin/env bash
# test_inspect.sh — stl-inspect on a generic stlrec file, a Flax-style file
# without header, and bad input.
. "$(dirname "$0")/lib.sh"

# A minimal stlrec-headed file, written with /usr/bin/python3 struct packing
# (msgpack by hand: fixmap of 3, "format", "version", "n").
printf '\x83\xa6format\xabstlrec-demo\xa7version\x01\xa1n\x2a' >"$T/demo.bin"
ok "inspect a headed file" "$STL_BIN/stl-inspect" "$T/demo.bin"
check "summary names format and version" grep -q "stlrec-demo version 1" "$T/.out"
check "summary lists the field n=42" grep -qE "^  n +42" "$T/.out"
ok "inspect --json" "$STL_BIN/stl-inspect" "$T/demo.bin" --json
check "--json is valid JSON with the field" /usr/bin/python3 -c "import json,sys; d=json.load(open('$T/.out')); sys.exit(0 if d['n']==42 and d['format']=='stlrec-demo' else 1)"
printf '<html>nope</html>' >"$T/bad.bin"
fails_with 1 "^stl-inspect: .*bad.bin" "garbage refused with exit 1" "$STL_BIN/stl-inspect" "$T/bad.bin"
fails_with 1 "^stl-inspect: .*missing.bin" "missing file exit 1" "$STL_BIN/stl-inspect" "$T/missing.bin"
mkfifo "$T/fifo.bin"
fails_with 1 "^stl-inspect: .*fifo.bin: not a regular file \(a FIFO\)" \
    "a FIFO is refused at once, not waited on" timeout 20 "$STL_BIN/stl-inspect" "$T/fifo.bin"
fails_with 1 "^stl-inspect: .*fifo.bin: not a regular file \(a FIFO\)" \
    "a FIFO given as the book's JSON is refused too" timeout 20 "$STL_BIN/stl-inspect" "$T/fifo.bin" --json
printf '\x83\xa6format\xabstlrec-demo\xa7version\x01\xa1n' >"$T/trunc.bin"
fails_with 1 "truncated" "truncated file refused" "$STL_BIN/stl-inspect" "$T/trunc.bin"
fails_with 2 "^stl-inspect: --crop and --out go together" "--crop without --out" "$STL_BIN/stl-inspect" "$T" --crop 0123456789abcdef0123456789abcdef
printf '{"0123456789abcdef0123456789abcdef": [3, 4]}\n' >"$T/emb.json"
ok "inspect the book's JSON embeddings" "$STL_BIN/stl-inspect" "$T/emb.json"
check "JSON embeddings: 1 item of dim 2, norm 5" grep -q "max 5" "$T/.out"
# The JSON files users meet are told apart by their content, not misread as
# embeddings: pairs JSONL, a catalog, a model sidecar; an unknown object is
# an error naming what stlrec reads.
"$STL_BIN/stl-synth" --out "$T/syn" --scenes 12 --products 10 --seed 3 >/dev/null 2>&1
cp "$T/syn/pairs.jsonl" "$T/fashion.json"  # the real data set's name for its pairs
ok "inspect a pairs file" "$STL_BIN/stl-inspect" "$T/fashion.json"
check "reads it as pairs with its counts" sh -c "grep -q 'pairs (JSON lines' '$T/.out' &&
    grep -qE '^  pairs +$(grep -c . "$T/syn/pairs.jsonl")$' '$T/.out' &&
    grep -qE '^  distinct scenes +12$' '$T/.out'"
ok "inspect a catalog" "$STL_BIN/stl-inspect" "$T/syn/catalog.json" --json
check "reads it as a catalog of 10 products" grep -q '"products": 10' "$T/.out"
printf '{"stage": "stl-train", "step": 7, "config": {"lr": 0.001}}\n' > "$T/m.mpk.json"
ok "inspect a model sidecar" "$STL_BIN/stl-inspect" "$T/m.mpk.json"
check "reads it as a sidecar with its step and config" sh -c \
    "grep -q 'model sidecar (written by stl-train)' '$T/.out' && grep -qE '^  step +7$' '$T/.out' &&
     grep -qE '^  lr +0.001$' '$T/.out'"
printf '{"a": 1, "b": [2]}\n' > "$T/other.json"
fails_with 1 "other.json: a JSON object stlrec does not know" \
    "an unknown JSON object is an error, not embeddings" "$STL_BIN/stl-inspect" "$T/other.json"
finish
