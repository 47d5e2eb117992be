#!/usr/bin/env bash
# test_pipeline.sh — pipeline.mk as a user runs it: a second run does
# nothing; a changed parameter reruns its stage and everything downstream
# and nothing upstream (train, top-k, the data set); a rebuilt program and a
# deleted output rerun their stage; a finished run's checkpoints are not
# taken for a shorter one (the work directory starts over and the sidecar
# says what was trained); user data (DATA=) is never written, a missing
# input is refused before anything runs, and the real set's file names
# work; missing and undecodable images end as counts, not a failed run.
. "$(dirname "$0")/lib.sh"
cd "$STL_ROOT"
W=$T/w
P() { make --no-print-directory -f pipeline.mk pipeline BIN="$STL_BIN" WORK="$W" SCENES=50 PRODUCTS=30 \
    SIZE=32 STEPS=20 BATCH=8 THREADS=2 "$@"; }
ran() { grep -oE 'stl-[a-z]+ --' "$T/.out" | sed 's/ --//' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

ok "the pipeline runs" P
check "and ends with the metrics" grep -q '^Recall@10 ' "$T/.out"
check "the synthetic set is the pipeline's own, under WORK" [ -s "$W/synth/pairs.jsonl" ]
ok "a second run" P
check "does nothing" [ -z "$(ran)" ]
ok "STEPS=30" P STEPS=30
check "reruns train and what follows it, nothing before it" \
    [ "$(ran)" = "stl-embed stl-eval stl-report stl-topk stl-train" ]
check "the model's sidecar says 30 steps" grep -q '"max_steps": 30' "$W/model.mpk.json"
ok "back to STEPS=20 (the work directory has a step-30 checkpoint)" P
check "trains again, from the start" grep -q "starts over" "$T/.out"
check "and the sidecar says 20 steps, at step 20" \
    sh -c "grep -q '\"max_steps\": 20' '$W/model.mpk.json' && grep -q '\"step\": 20,' '$W/model.mpk.json'"
ok "K=5" P K=5
check "reruns top-k and what follows it only" [ "$(ran)" = "stl-eval stl-report stl-topk" ]
ok "SCENES=40" P SCENES=40 K=5
check "remakes the data set and everything" \
    [ "$(ran)" = "stl-decode stl-embed stl-eval stl-fetch stl-random stl-report stl-synth stl-topk stl-train stl-triplets" ]
rm -f "$W/metrics.txt"
ok "metrics.txt deleted" P SCENES=40 K=5
check "reruns eval (and the report)" [ "$(ran)" = "stl-eval stl-report" ]
touch -d '+1 minute' "$STL_BIN/stl-topk" 2>/dev/null || touch "$STL_BIN/stl-topk"
ok "a rebuilt stl-topk" P SCENES=40 K=5
check "reruns top-k and what follows it" [ "$(ran)" = "stl-eval stl-report stl-topk" ]
touch "$STL_BIN/stl-topk" # back to an ordinary time for the runs below

# SHARDS=2 with make -j2: fetch, decode, embed and top-k in 2 parts each, the
# same metrics.
ok "SHARDS=2, make -j2" make --no-print-directory -j2 -f pipeline.mk pipeline BIN="$STL_BIN" \
    WORK="$T/ws" SCENES=40 PRODUCTS=30 SIZE=32 STEPS=20 BATCH=8 THREADS=2 K=5 SHARDS=2
check "ran each sharded stage as parts" sh -c "ls '$T/ws/crops' | grep -q 'part-00001-of-00002.index.mpk' &&
    ls '$T/ws' | grep -q 'topk.part-00001-of-00002.mpk' && ls '$T/ws' | grep -q 'scenes.part-00000-of-00002.emb'"
check "the same metrics as in one part" cmp -s "$T/ws/metrics.txt" "$W/metrics.txt"

# User data: read only; a missing input is refused before anything runs.
U=$T/user
mkdir -p "$U"
cp "$W/synth/pairs.jsonl" "$U/pairs.jsonl"
(cd "$U" && find . -type f | sort | xargs md5sum) > "$T/user.md5"
fails_with 2 "catalog.json is missing" "DATA= without a catalog is refused" \
    make --no-print-directory -f pipeline.mk pipeline BIN="$STL_BIN" WORK="$T/wu" DATA="$U"
check "before anything ran" [ ! -e "$T/wu" ]
fails_with 2 "^pipeline.mk: $T/nobin/stl-synth is missing: build it with make CUDA=1 all" \
    "a missing program names the build that makes it (CUDA=1)" \
    make --no-print-directory -f pipeline.mk pipeline CUDA=1 BIN="$T/nobin" WORK="$T/wn"
check "and the user's directory is untouched" sh -c "cd '$U' && find . -type f | sort | xargs md5sum | cmp -s - '$T/user.md5'"
# The real set's names, one image missing and one broken.
R=$T/real
mkdir -p "$R/images"
cp "$W/synth/pairs.jsonl" "$R/fashion.json"
cp "$W/synth/catalog.json" "$R/fashion-cat.json"
cp "$W"/synth/images/*.jpg "$R/images/"
k1=$(grep -oE '"scene": "[0-9a-f]{32}"' "$R/fashion.json" | head -1 | grep -oE '[0-9a-f]{32}')
k2=$(grep -oE '"product": "[0-9a-f]{32}"' "$R/fashion.json" | head -1 | grep -oE '[0-9a-f]{32}')
rm "$R/images/$k1.jpg"
printf 'not a jpeg' > "$R/images/$k2.jpg"
(cd "$R" && find . -type f | sort | xargs md5sum) > "$T/real.md5"
ok "DATA= with fashion.json, fashion-cat.json and images/, one missing, one broken" \
    env -u STL_QUIET make --no-print-directory -f pipeline.mk pipeline BIN="$STL_BIN" WORK="$T/wr" \
    DATA="$R" SIZE=32 STEPS=20 BATCH=8 THREADS=2 FETCH_FLAGS="--max-retries 0"
check "the two images end as counts" sh -c "grep -q 'stl-fetch: fetched .*1 gone, 1 failed' '$T/.err' &&
    grep -q 'rejected 2 (missing 2)' '$T/.err'"
check "the pipeline reaches the metrics" grep -q '^Recall@10 ' "$T/.out"
check "the scene without an image is left out of the embeddings" \
    sh -c "! '$STL_BIN/stl-inspect' --json '$T/wr/scenes.emb' | grep -q '$k1'"
check "the user's files are untouched" sh -c "cd '$R' && find . -type f | sort | xargs md5sum | cmp -s - '$T/real.md5'"
# A changed image: fetched again, and what follows redone.
k3=$(grep -oE '"product": "[0-9a-f]{32}"' "$R/fashion.json" | sed -n 5p | grep -oE '[0-9a-f]{32}')
other=$(ls "$R/images" | grep -v "$k3" | head -1)
cp "$R/images/$other" "$R/images/$k3.jpg"
ok "the same run after one image changed" make --no-print-directory -f pipeline.mk pipeline \
    BIN="$STL_BIN" WORK="$T/wr" DATA="$R" SIZE=32 STEPS=20 BATCH=8 THREADS=2 FETCH_FLAGS="--max-retries 0"
check "fetches, decodes and trains again" \
    sh -c "echo '$(ran)' | grep -q 'stl-decode stl-embed stl-eval stl-fetch stl-random stl-report stl-topk stl-train stl-triplets'"
check "the stored copy is the new image" \
    cmp -s "$R/images/$k3.jpg" "$T/wr/images/${k3:0:2}/${k3:2:2}/${k3:4:2}/$k3.jpg"
ok "clean-train" make --no-print-directory -f pipeline.mk clean-train WORK="$W"
check "removes the model and its work directory" [ ! -e "$W/model.mpk" -a ! -e "$W/model.mpk.work" ]
ok "the stage alone: make train" make --no-print-directory -f pipeline.mk train BIN="$STL_BIN" WORK="$W" \
    SCENES=40 PRODUCTS=30 SIZE=32 STEPS=20 BATCH=8
check "trains again and stops there" [ "$(ran)" = "stl-train" ]
finish
