#!/usr/bin/env bash
# test_decode.sh — stl-decode against libjpeg-turbo's own djpeg, bad inputs,
# thread-count independence, sharding and the shard reader.
#
# Test JPEGs are made here with cjpeg (baseline 4:2:0/4:2:2/4:4:4/4:4:0,
# progressive, grayscale, arithmetic; sizes below, at and above S in each
# axis, odd and even) by tests/tools/decode_ref.py, which is also the peer:
# `djpeg -dct fast` + crop-or-pad must equal every stored pixel, and the
# --resize crops must be within 1 of a float64 reference.
source "$(dirname "$0")/lib.sh"
: "${STL_BUILD:?STL_BUILD must point at the build directory}"
PY=/usr/bin/python3
REF="$STL_ROOT/tests/tools/decode_ref.py"
DUMP="$STL_BUILD/tools/crops_dump"
DEC="$STL_BIN/stl-decode"
G=$T/g
mkdir -p "$G"
ok "generate test JPEGs with cjpeg" $PY "$REF" gen "$G"
ok "generate bad inputs" $PY "$REF" bad "$G"

# --- parity with djpeg -dct fast, crop-or-pad ----------------------------------
ok "decode S=32 (crop-or-pad)" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/c32" --size 32
ok "dump S=32 crops" "$DUMP" "$T/c32" "$T/d32"
check "all 64 test JPEGs stored" [ "$(cat "$T/.out")" = "64 32" ]
ok "S=32: every pixel equals djpeg -dct fast + crop/pad" $PY "$REF" parity "$G/images" "$T/d32" 32
ok "decode S=41 (odd S)" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/c41" --size 41
ok "dump S=41" "$DUMP" "$T/c41" "$T/d41"
ok "S=41: every pixel equals djpeg -dct fast + crop/pad" $PY "$REF" parity "$G/images" "$T/d41" 41

# --- resize mode against the float reference ------------------------------------
for S in 16 32 48; do
    ok "decode --resize S=$S" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/r$S" --size $S --resize
    ok "dump --resize S=$S" "$DUMP" "$T/r$S" "$T/rd$S"
    ok "--resize S=$S within 1 of the float64 reference" $PY "$REF" resize "$G/images" "$T/rd$S" $S
done

# --- bad inputs -----------------------------------------------------------------
cut -f1 "$G/bad.tsv" > "$G/badkeys.txt"
ok "bad inputs: exit 0 while good images decode" env -u STL_QUIET "$DEC" --keys "$G/badkeys.txt" --images "$G/bad" --out "$T/bad" --size 32 --threads 1
check "summary counts every reason" grep -q "rejected 10 (missing 1, empty 1, not_jpeg 2, truncated 3, corrupt 1, too_large 1, colorspace 1)" "$T/.err"
ok "dump bad-input crops" "$DUMP" "$T/bad" "$T/badd"
check "only the two good images stored (one after every bad one)" [ "$(cat "$T/.out")" = "2 32" ]
grep -v $'\tok\t' "$G/bad.tsv" | cut -f1,2 > "$T/want_rejects.tsv"
check "index lists each bad key with its reason" cmp -s "$T/want_rejects.tsv" "$T/badd/rejects.tsv"
ok "bad inputs in batches of 2" "$DEC" --keys "$G/badkeys.txt" --images "$G/bad" --out "$T/bad2" --size 32 --images-per-shard 2 --threads 2
check "a shard per batch, all-rejected ones empty" [ "$(ls "$T/bad2" | grep -c shard)" -eq 6 ]
ok "dump batches of 2" "$DUMP" "$T/bad2" "$T/bad2d"
check "same rejects" cmp -s "$T/badd/rejects.tsv" "$T/bad2d/rejects.tsv"
# A part where nothing decodes is a failure, and leaves no index (the part's
# finished output: pipeline.mk's target), not even an earlier run's.
ok "a good run first, in the same directory" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/big" --size 32
check "the good run's index is there" [ -f "$T/big/part-00000-of-00001.index.mpk" ]
fails_with 1 "none of the 64 images decoded" "max-pixels: everything rejected exits 1" \
    env -u STL_QUIET "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/big" --size 32 --max-pixels 399
check "over --max-pixels: every key rejected as too_large" grep -q "rejected 64 (too_large 64)" "$T/.err"
check "the failed run leaves no index" [ ! -e "$T/big/part-00000-of-00001.index.mpk" ]
check "nor any shard (its own or the earlier run's)" [ -z "$(ls -A "$T/big")" ]
fails_with 1 "no crop index" "so the reader refuses the directory" "$DUMP" "$T/big" "$T/bigd"
# make must see the part as not done: pipeline.mk's rule for the index.
mkdir -p "$T/mk/crops" && cp "$G/keys.txt" "$T/mk/pairs.jsonl" && echo '{}' > "$T/mk/catalog.json"
"$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/mk/crops" --size 32 --max-pixels 399 2>/dev/null
make -n -s -f "$STL_ROOT/pipeline.mk" DATA="$T/mk" WORK="$T/mk" BIN="$STL_BIN" \
    "$T/mk/crops/part-00000-of-00001.index.mpk" > "$T/mk.plan" 2>/dev/null
check "after a failed decode, make -n -f pipeline.mk plans to run stl-decode again" \
    grep -q 'stl-decode --keys' "$T/mk.plan"

# A file that is only the start of a JPEG (FF D8, or FF D8 FF) is a truncated
# JPEG, not "no SOI marker (starts ff d8)".
mkdir -p "$T/soi"
ka=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; kb=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
printf '\377\330' > "$T/soi/$ka.jpg"
printf '\377\330\377' > "$T/soi/$kb.jpg"
printf '%s\n%s\n' "$ka" "$kb" > "$T/soi/keys"
fails_with 1 "$ka: truncated: only 2 bytes: the file ends inside the JPEG header" \
    "a file of FF D8 alone is reported truncated" \
    env -u STL_QUIET "$DEC" --keys "$T/soi/keys" --images "$T/soi" --out "$T/soic" --size 16
check "and so is FF D8 FF" grep -q "$kb: truncated" "$T/.err"

# Extreme shapes and a decompression bomb: a 1x1 and a 60000x1 image decode
# (padded or resized, no crash); a JPEG whose header claims 50000 x 50000
# pixels in a few hundred bytes is refused as too_large from its header,
# before any pixel is decoded.
mkdir -p "$T/odd"
k1=11111111111111111111111111111111; k2=22222222222222222222222222222222
k3=33333333333333333333333333333333
printf 'P6\n1 1\n255\n\377\0\0' | cjpeg > "$T/odd/$k1.jpg"
$PY -c 'import sys; sys.stdout.buffer.write(b"P6\n60000 1\n255\n" + bytes(range(256)) * 703 + bytes(32))' \
    | cjpeg > "$T/odd/$k2.jpg"
$PY - "$T/odd/$k1.jpg" "$T/odd/$k3.jpg" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
i = 2
while data[i] == 0xFF and data[i + 1] not in (0xC0, 0xC1, 0xC2):
    i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
data[i + 5:i + 9] = (50000).to_bytes(2, "big") + (50000).to_bytes(2, "big")
open(sys.argv[2], "wb").write(bytes(data))
EOF
printf '%s\n%s\n%s\n' "$k1" "$k2" "$k3" > "$T/odd/keys"
for mode in "" --resize; do
    ok "1x1, 60000x1 and a 50000x50000 bomb ${mode:-crop-or-pad}" \
        env -u STL_QUIET "$DEC" --keys "$T/odd/keys" --images "$T/odd" --out "$T/oddc$mode" --size 32 $mode
    check "the bomb is too_large from its header (${mode:-crop-or-pad})" \
        grep -qE "$k3: too_large: .*50000" "$T/.err"
    ok "dump them (${mode:-crop-or-pad})" "$DUMP" "$T/oddc$mode" "$T/oddd$mode"
    check "the 1x1 and the 60000x1 image are stored (${mode:-crop-or-pad})" \
        [ "$(cat "$T/.out")" = "2 32" ]
done
# Keys are checked before they touch a path: a traversal is a bad key.
printf '../../../../etc/passwd\n' > "$T/odd/evil"
fails_with 1 "evil:1: bad key '../../../../etc/passwd'" "a path-traversal key is refused, naming its line" \
    "$DEC" --keys "$T/odd/evil" --images "$T/odd" --out "$T/evilc" --size 32
check "and nothing is written" [ ! -e "$T/evilc" ] || [ -z "$(ls -A "$T/evilc")" ]

# An image that is a FIFO (or a directory) is refused as an io error at once:
# opening a FIFO used to wait forever for a writer.
mkdir -p "$T/fifo"
cp -r "$G/images/." "$T/fifo/"
k1=$(sed -n 1p "$G/keys.txt"); k2=$(sed -n 2p "$G/keys.txt")
rm -f "$T/fifo/$k1.jpg" "$T/fifo/$k2.jpg"
mkfifo "$T/fifo/$k1.jpg"
mkdir "$T/fifo/$k2.jpg"
ok "an image that is a FIFO or a directory does not hang the decoder" \
    timeout 60 "$DEC" --keys "$G/keys.txt" --images "$T/fifo" --out "$T/fifoc" --size 16 --threads 2
ok "dump the FIFO run" "$DUMP" "$T/fifoc" "$T/fifod"
check "both rejected with reason io" \
    [ "$(grep -cE "^($k1|$k2)"$'\t'"io\$" "$T/fifod/rejects.tsv")" -eq 2 ]

# --- thread-count independence, shards ------------------------------------------
ok "threads 1" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/t1" --size 24 --threads 1 --images-per-shard 5
ok "threads 2" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/t2" --size 24 --threads 2 --images-per-shard 5
check "13 shard files" [ "$(ls "$T/t1" | grep -c shard)" -eq 13 ]
check "byte-identical output for 1 and 2 threads" diff -r "$T/t1" "$T/t2"
for i in 0 1 2; do
    ok "part $i/3" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/parts" --size 24 --threads 2 --images-per-shard 7 --shard $i/3
done
ok "dump all parts" "$DUMP" "$T/parts" "$T/partsd"
check "parts hold all 64 images" [ "$(cat "$T/.out")" = "64 24" ]
ok "dump unsharded" "$DUMP" "$T/t1" "$T/t1d"
check "parts store exactly the unsharded crops" diff -r "$T/t1d" "$T/partsd"
rm "$T/parts/part-00001-of-00003.index.mpk"
ok "any subset of parts opens" "$DUMP" "$T/parts" "$T/parts2d"
check "subset has its images only" [ "$(cut -d' ' -f1 "$T/.out")" -lt 64 ]
ok "stray part of another count" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/parts" --size 24 --shard 0/2
fails_with 1 "holds parts of 3 and of 2" "reader refuses parts of different runs" "$DUMP" "$T/parts" "$T/x"

# rerun with fewer shards: the stale shard files go
ok "rerun with bigger shards" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/t1" --size 24 --images-per-shard 100
check "stale shards removed" [ "$(ls "$T/t1" | grep -c shard)" -eq 1 ]

# --- the reader refuses damaged shards --------------------------------------------
cp -r "$T/t2" "$T/trunc"
sh0=$T/trunc/part-00000-of-00001.shard-00000.mpk
truncate -s -100 "$sh0"
fails_with 1 "shard-00000.mpk.*(truncated|corrupt)" "reader refuses a truncated shard" "$DUMP" "$T/trunc" "$T/x"
cp -r "$T/t2" "$T/hdr"
printf 'X' | dd of="$T/hdr/part-00000-of-00001.shard-00001.mpk" bs=1 seek=2 conv=notrunc 2>/dev/null
fails_with 1 "shard-00001.mpk" "reader refuses a corrupted header" "$DUMP" "$T/hdr" "$T/x"
fails_with 1 "no crop index" "reader refuses a directory without parts" "$DUMP" "$G" "$T/x"

# --- keys from a pairs file: scenes and products ------------------------------------
mapfile -t K < "$G/keys.txt"
: > "$T/pairs.jsonl"
for i in 0 1 2 3 4 5; do
    printf '{"product": "%s", "scene": "%s", "bbox": [0.1, 0.1, 0.5, 0.5]}\n' "${K[$((i + 10))]}" "${K[$((i % 3))]}" >> "$T/pairs.jsonl"
done
ok "decode keys from pairs JSONL" "$DEC" --keys "$T/pairs.jsonl" --images "$G/images" --out "$T/pairs" --size 16
ok "dump pairs crops" "$DUMP" "$T/pairs" "$T/pairsd"
check "both 3 scenes and 6 products decoded" [ "$(cat "$T/.out")" = "9 16" ]

# --- cdn layout -----------------------------------------------------------------
for k in "${K[@]:0:4}"; do
    mkdir -p "$T/cdn/${k:0:2}/${k:2:2}/${k:4:2}"
    cp "$G/images/$k.jpg" "$T/cdn/${k:0:2}/${k:2:2}/${k:4:2}/$k.jpg"
done
printf '%s\n' "${K[@]:0:4}" > "$T/cdnkeys.txt"
ok "--layout cdn" env -u STL_QUIET "$DEC" --keys "$T/cdnkeys.txt" --images "$T/cdn" --layout cdn --out "$T/cdnout" --size 16
check "cdn layout decodes all 4" grep -q "decoded 4 of 4" "$T/.err"

# --- command line -----------------------------------------------------------------
ok "--help exits 0" "$DEC" --help
fails_with 2 "keys" "missing --keys is a usage error" "$DEC" --images "$G/images" --out "$T/u"
fails_with 2 "shard" "--shard 3/2 is a usage error" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/u" --shard 3/2
fails_with 2 "size" "--size 0 is a usage error" "$DEC" --keys "$G/keys.txt" --images "$G/images" --out "$T/u" --size 0
fails_with 1 "nope" "unreadable key file exits 1" "$DEC" --keys "$T/nope" --images "$G/images" --out "$T/u"
finish
