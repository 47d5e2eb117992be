#!/usr/bin/env bash
# test_fuzz.sh — a short, deterministic run of every libFuzzer target in
# tests/fuzz/ (one per stlrec file reader; docs/formats.md "## Fuzzing").
#
# Builds the targets (`make -s fuzz`: clang + libFuzzer + ASan/UBSan, under
# build/fuzz/ whatever SAN says), makes seed corpora with the real writers
# (stl-synth, stl-fetch, stl-decode, stl-triplets, stl-embed, stl-topk and the
# embed_fixture model on a tiny data set; nothing binary is committed), then
# runs each target with a fixed seed and a fixed number of runs. A target
# passes when libFuzzer finds no crash, sanitizer report, leak or timeout.
source "$(dirname "$0")/lib.sh"
export STL_QUIET=1
: "${STL_BUILD:?STL_BUILD must point at the build dir (make test sets it)}"
RUNS=${STL_FUZZ_RUNS:-5000}

if ! command -v "${FUZZ_CC:-clang}" >/dev/null; then
    fail "clang not found: run scripts/install-deps --test"; finish; exit 1
fi
ok "make fuzz builds the targets" make -s -C "$STL_ROOT" fuzz
F=$STL_ROOT/build/fuzz

# Seeds from the real writers, on a tiny synthetic set.
S=$T/seed
"$STL_BIN/stl-synth" --out "$S/d" --scenes 6 --products 8 --seed 3 --threads 1 &&
"$STL_BIN/stl-decode" --keys "$S/d/pairs.jsonl" --images "$S/d/images" --out "$S/crops" \
    --size 32 --images-per-shard 4 &&
"$STL_BIN/stl-triplets" --pairs "$S/d/pairs.jsonl" --crops "$S/crops" --out "$S/trip.mpk" \
    --num-neg 2 --test-fraction 0.5 &&
"$STL_BUILD/tools/embed_fixture" model "$S/model.mpk" 1 8 &&
"$STL_BIN/stl-embed" --model "$S/model.mpk" --crops "$S/crops" --kind scene \
    --keys "$S/d/pairs.jsonl" --out "$S/s.emb" --json "$S/s.json" &&
"$STL_BIN/stl-embed" --model "$S/model.mpk" --crops "$S/crops" --kind product \
    --keys "$S/d/pairs.jsonl" --out "$S/p.emb" --json "$S/p.json" &&
"$STL_BIN/stl-topk" --scenes "$S/s.emb" --products "$S/p.emb" --out "$S/t.topk" --k 3 \
    >/dev/null 2>"$T/seed.err"
check "seed corpora written by the stages" [ -s "$S/t.topk" ]

C=$T/corpus
mkdir -p "$C"/{pairs,catalog,keylist,mpk,crops,triplets,embeddings,topk,modelfile,flaxmsg,eval_file,train_log,fetch_log}
cp "$S/d/pairs.jsonl" "$C/pairs/"
head -n 3 "$S/d/pairs.jsonl" >"$C/pairs/head"
cp "$S/d/catalog.json" "$C/catalog/"
cp "$S/d/pairs.jsonl" "$S/d/catalog.json" "$C/keylist/"
printf '# keys\n0123456789abcdef0123456789abcdef\n\nfedcba9876543210fedcba9876543210\n' \
    >"$C/keylist/plain"
cp "$S/trip.mpk" "$S/t.topk" "$S/s.emb" "$S/crops/part-00000-of-00001.index.mpk" "$C/mpk/"
cp "$S/trip.mpk" "$C/triplets/"
cp "$S/s.emb" "$S/s.json" "$S/p.emb" "$S/p.json" "$C/embeddings/"
cp "$S/t.topk" "$C/topk/"
cp "$S/model.mpk" "$C/modelfile/"
cp "$S/model.mpk" "$C/flaxmsg/"
# An stl-eval metrics file and a training log, written by the stages.
"$STL_BIN/stl-eval" --topk "$S/t.topk" --triplets "$S/trip.mpk" --scenes "$S/s.emb" \
    --products "$S/p.emb" --out "$C/eval_file/metrics.json" >/dev/null 2>>"$T/seed.err"
check "seed metrics file written by stl-eval" [ -s "$C/eval_file/metrics.json" ]
printf '%s\n' '{"step": 10, "kind": "train", "train_loss": 0.9, "wall_s": 1.5}' \
    '{"step": 20, "kind": "eval", "test_loss": null, "test_accuracy": 0.6}' '' 'junk' \
    >"$C/train_log/metrics.jsonl"
printf '{"step": 30, "kind": "tr' >>"$C/train_log/metrics.jsonl"
# Fetch logs by stl-fetch from the synthetic images: a complete one (with a
# gone key), and one part of three.
{ ls "$S/d/images" | sed 's/\.jpg$//'; echo 0123456789abcdef0123456789abcdef; } >"$S/extra.txt"
"$STL_BIN/stl-fetch" --keys "$S/d/catalog.json" --out "$S/f" --base-url "file://$S/d/images" \
    --url-layout flat --log "$C/fetch_log/all.mpk" 2>>"$T/seed.err" &&
"$STL_BIN/stl-fetch" --keys "$S/extra.txt" --out "$S/f" --base-url "file://$S/d/images" \
    --url-layout flat --shard 1/3 --log "$C/fetch_log/part.mpk" 2>>"$T/seed.err"
check "seed fetch logs written by stl-fetch" [ -s "$C/fetch_log/all.mpk" -a -s "$C/fetch_log/part.mpk" ]
# Small Flax arrays: a 0-d int32 (ext8, 14-byte payload) and a 0-d float32 (fixext16).
printf '\xc7\x0e\x01\x93\x90\xa5int32\xc4\x04\x07\x00\x00\x00' >"$C/flaxmsg/i32"
printf '\xd8\x01\x93\x90\xa7float32\xc4\x04\x00\x00\x80\x3f' >"$C/flaxmsg/f32"
# Crop sets: u32le index length, the index, then one shard (fuzz_crops.c).
for sh in "$S"/crops/part-00000-of-00001.shard-0000[01].mpk; do
    ix=$S/crops/part-00000-of-00001.index.mpk
    n=$(stat -c %s "$ix")
    { printf "\\x$(printf %02x $((n & 255)))\\x$(printf %02x $((n >> 8 & 255)))\\x00\\x00"
      cat "$ix" "$sh"; } >"$C/crops/$(basename "$sh")"
done

# The targets' scratch files: tmpfs when there is one (fuzz_util.h), here
# so that a crashed target leaves nothing behind.
if [ -w /dev/shm ]; then STL_FUZZ_TMP=$(mktemp -d /dev/shm/stltest.XXXXXX); else STL_FUZZ_TMP=$T; fi
export STL_FUZZ_TMP
trap 'rm -rf "$T" "$STL_FUZZ_TMP"' EXIT
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for name in pairs catalog keylist mpk crops triplets embeddings topk modelfile flaxmsg eval_file train_log fetch_log; do
    runs=$RUNS
    # A model file is 5.8 MB: fewer, slower runs.
    [ "$name" = modelfile ] || [ "$name" = flaxmsg ] && runs=$((RUNS / 10))
    mkdir -p "$T/art/$name"
    if "$F/fuzz_$name" -seed=1 -runs="$runs" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$T/art/$name/" "$C/$name" >"$T/$name.log" 2>&1; then
        pass "fuzz_$name: $runs runs, no crash"
    else
        fail "fuzz_$name: $(grep -m1 -E 'ERROR|SUMMARY|abort|runtime error' "$T/$name.log")"
        tail -n 30 "$T/$name.log" >&2
    fi
done
finish
