#!/usr/bin/env bash
# test_sweep.sh — scripts/sweep on a 2×2 grid (crop size × learning rate) of a
# tiny synthetic set: four trials, each a pipeline with its metrics; the
# shared stages made once per configuration (one data set, two decodes, not
# four); results.jsonl and results.md ranked by validation accuracy (the
# expected order computed here with jq from the trials' own metrics.jsonl);
# the best link; a rerun that trains nothing; test metrics shown but never
# used to rank, validation ones used (each shown by editing a trial's files);
# a changed grid on the same directory that reuses no stale model; --jobs 2
# giving the same results; failed trials and shared stages recorded, the
# others going on; bad configs refused with file:line; --random drawing
# distinct trials deterministically.
. "$(dirname "$0")/lib.sh"
cd "$STL_ROOT"
SWEEP=$STL_ROOT/scripts/sweep
S=$T/sweep
# One thread per trainer, so that --jobs 2 computes what --jobs 1 does.
export STL_THREADS=1

grid() { # grid SIZE-VALUES
    cat <<EOF
# the test's 2x2 grid
SCENES = 40
PRODUCTS = 30
STEPS = 30
BATCH = 8
THREADS = 1
BIN = $STL_BIN

SIZE = $1
TRAIN_FLAGS = --lr 1e-3 | --lr 3e-4
EOF
}
grid "32 | 64" > "$T/grid.conf"
logs() { cat "$S"/shared/*/sweep.log "$S"/trial-*/pipeline.log; }
runs() { logs | grep -c -- "/stl-$1 --"; }
# The trials' directories in results.md's order, and in descending
# validation accuracy from results.jsonl (ties: lower trial first).
md_order() { grep -oE '^\| [0-9]* *\| trial-[0-9]{3}' "$S/results.md" | grep -oE 'trial-[0-9]{3}' | tr '\n' ' '; }
val_order() { jq -rs 'sort_by(-.val_accuracy, .trial) | map(.dir) | join(" ")' "$S/results.jsonl" | sed 's/$/ /'; }
argmax_val() { jq -rs 'sort_by(-.val_accuracy, .trial) | .[0].dir' "$S/results.jsonl"; }

# ---- the grid ----
ok "a 2x2 grid" "$SWEEP" --dir "$S" "$T/grid.conf"
cp "$T/.out" "$T/first.out"
cp "$T/.err" "$T/first.err"
cp "$S/results.jsonl" "$T/first.jsonl"
check "4 trial directories" [ "$(ls -d "$S"/trial-* | wc -l)" = 4 ]
check "a progress line per trial" [ "$(grep -cE '^sweep: trial [1-4]/4 .* done in [0-9.]+ s, val_accuracy 0\.[0-9]{4}$' "$T/first.err")" = 4 ]
check "results.jsonl: 4 lines, each a JSON object" \
    sh -c "[ \$(wc -l < '$S/results.jsonl') = 4 ] && jq -e 'type == \"object\"' '$S/results.jsonl' > /dev/null"
check "with the grid's 4 parameter pairs" [ "$(jq -r '.params.SIZE + " " + .params.TRAIN_FLAGS' "$S/results.jsonl" | sort)" = \
    "$(printf '32 --lr 1e-3\n32 --lr 3e-4\n64 --lr 1e-3\n64 --lr 3e-4')" ]
check "every trial ok, with a validation accuracy, test Recall@10, MRR, AUC, test accuracy and wall time" \
    jq -se 'all(.status == "ok" and ([.val_accuracy, .recall["10"], .mrr, .auc, .test_accuracy, .wall_s]
        | all(type == "number")))' "$S/results.jsonl"
for d in "$S"/trial-*; do
    n=$(basename "$d")
    check "$n has metrics.json and a report" [ -s "$d/metrics.json" -a -s "$d/report/index.html" ]
    want=$(jq -s 'map(select(.kind == "eval")) | last | .val_accuracy' "$d/model.mpk.work/metrics.jsonl")
    got=$(jq -s --arg n "$n" '.[] | select(.dir == $n) | .val_accuracy' "$S/results.jsonl")
    check "$n's val_accuracy is its final evaluation's ($want)" [ "$want" = "$got" ]
    want=$(jq '.model.recall["10"]' "$d/metrics.json")
    got=$(jq -s --arg n "$n" '.[] | select(.dir == $n) | .recall["10"]' "$S/results.jsonl")
    check "$n's Recall@10 is its metrics.json's ($want)" [ "$want" = "$got" ]
done
check "on a validation split (stl-triplets --val-fraction 0.1)" \
    [ "$(logs | grep -c -- '/stl-triplets --.*--val-fraction 0.1')" = 2 ]
check "results.md lists the trials by validation accuracy ($(val_order))" [ "$(md_order)" = "$(val_order)" ]
check "results.md has the rank and the parameters" grep -qE '^\| 1 \| trial-[0-9]{3} \| (32|64) \| --lr ' "$S/results.md"
check "the best link points to the report of the top val_accuracy ($(argmax_val))" \
    [ "$(readlink "$S/best")" = "$(argmax_val)/report" -a -s "$S/best/index.html" ]
check "and the output names it and shows its metrics" \
    sh -c "grep -q '^best: $(argmax_val) ' '$T/first.out' && grep -q '^Recall@10 ' '$T/first.out'"

# ---- shared stages: made once per configuration ----
check "stl-synth and stl-fetch ran once" [ "$(runs synth) $(runs fetch)" = "1 1" ]
check "stl-decode and stl-triplets twice (once per crop size), not four times" [ "$(runs decode) $(runs triplets)" = "2 2" ]
check "stl-train four times" [ "$(runs train)" = 4 ]
check "no trial ran an upstream stage" [ -z "$(cat "$S"/trial-*/pipeline.log | grep -E '/stl-(synth|fetch|decode|triplets) --')" ]
inodes() { stat -c %i "$S"/trial-*/$1 | sort -u | wc -l; }
check "the trials' crops are 2 sets of files (hard links), not 4" [ "$(inodes 'crops/*.index.mpk')" = 2 ]
check "the trials' triplets files are 2 files" [ "$(inodes triplets.mpk)" = 2 ]
check "trials of one crop size share theirs" [ "$(stat -c %i "$S/trial-001/triplets.mpk")" = "$(stat -c %i "$S/trial-002/triplets.mpk")" ]

# ---- a rerun with nothing changed ----
jq -c '[.dir, .val_accuracy, .auc]' "$S/results.jsonl" > "$T/first.vals"
ok "the same sweep again" "$SWEEP" --dir "$S" "$T/grid.conf"
check "runs no stage but the sweep's checks (no stl-* program)" [ -z "$(logs | grep -E '/stl-[a-z]+ --')" ]
check "and gives the same results" sh -c "jq -c '[.dir, .val_accuracy, .auc]' '$S/results.jsonl' | cmp -s - '$T/first.vals'"
check "the same order" [ "$(md_order)" = "$(val_order)" ]

# ---- ranking reads validation metrics, never test ones ----
best=$(argmax_val)
worst=$(jq -rs 'sort_by(-.val_accuracy, .trial) | .[-1].dir' "$S/results.jsonl")
jq '.model.auc = 1 | .model.mrr = 1 | .model.recall |= map_values(1)' "$S/$worst/metrics.json" > "$T/m.json"
mv "$T/m.json" "$S/$worst/metrics.json"
ok "$worst's test metrics made perfect" "$SWEEP" --dir "$S" "$T/grid.conf"
check "the table shows them" grep -qE "^\| 4 \| $worst \|.* 1\.0000 \| 1\.0000 \| 1\.0000 \|" "$S/results.md"
check "the best is still $best" [ "$(readlink "$S/best")" = "$best/report" ]
check "$worst is still last" [ "$(md_order | awk '{print $4}')" = "$worst" ]
mw=$S/$worst/model.mpk.work/metrics.jsonl
jq -c 'if .kind == "eval" and .step == 30 then .val_accuracy = 0.999 else . end' "$mw" > "$T/m.jsonl"
mv "$T/m.jsonl" "$mw"
ok "$worst's final validation accuracy made 0.999" "$SWEEP" --dir "$S" "$T/grid.conf"
check "makes it the best" [ "$(readlink "$S/best")" = "$worst/report" ]
check "and first in results.md" [ "$(md_order | awk '{print $1}')" = "$worst" ]

# ---- another grid on the same directory: no stale result ----
grid "64 | 32" > "$T/swapped.conf"
ok "the crop sizes swapped (trial-001 is now 64 px)" "$SWEEP" --dir "$S" "$T/swapped.conf"
check "says the trials start over" [ "$(grep -c 'its variables changed: starting it over' "$T/.err")" = 4 ]
check "no new shared stage was made" [ -z "$(cat "$S"/shared/*/sweep.log | grep -E '/stl-[a-z]+ --')" ]
for d in "$S"/trial-*; do
    n=$(basename "$d")
    size=$(jq -r --arg n "$n" 'select(.dir == $n) | .params.SIZE' "$S/results.jsonl")
    check "$n's model was trained on its crops ($size px)" grep -q "\"image_size\": $size," "$d/model.mpk.json"
done
key='[.params.SIZE, .params.TRAIN_FLAGS, .val_accuracy, .auc]'
check "each configuration's results are the first run's" \
    [ "$(jq -c "$key" "$S/results.jsonl" | sort)" = "$(jq -c "$key" "$T/first.jsonl" | sort)" ]

# ---- --jobs 2 ----
ok "the grid with --jobs 2 in another directory" "$SWEEP" --dir "$T/sweep2" --jobs 2 "$T/grid.conf"
check "gives the same validation and test metrics" \
    [ "$(jq -c "$key" "$T/sweep2/results.jsonl" | sort)" = "$(jq -c "$key" "$S/results.jsonl" | sort)" ]

# ---- failed trials ----
printf 'SCENES = 40\nPRODUCTS = 30\nSTEPS = 20\nBATCH = 8\nSIZE = 32\nBIN = %s\nTRAIN_FLAGS = --lr 1e-3 | --no-such-flag\n' \
    "$STL_BIN" > "$T/fail.conf"
ok "a grid with one failing trial" "$SWEEP" --dir "$T/sf" "$T/fail.conf"
check "records it as failed, the other ok" [ "$(jq -r '.status' "$T/sf/results.jsonl" | tr '\n' ' ')" = "ok failed (exit 2) " ]
check "says so on stderr" grep -q 'trial 2/2 (trial-002, .*) failed (exit 2) after' "$T/.err"
check "and the best is the one that worked" [ "$(readlink "$T/sf/best")" = trial-001/report ]
printf 'SCENES = 40\nPRODUCTS = 30\nSTEPS = 20\nBATCH = 8\nSIZE = 32\nBIN = %s\nDECODE_FLAGS = --no-such-flag | \n' \
    "$STL_BIN" > "$T/upfail.conf"
ok "a grid whose first decode fails" "$SWEEP" --dir "$T/su" "$T/upfail.conf"
check "fails the trial that needs it, not the other" \
    [ "$(jq -r '.status' "$T/su/results.jsonl" | tr '\n' ' ')" = "upstream decode failed ok " ]
printf 'SCENES = 40\nPRODUCTS = 30\nBIN = %s\nTRAIN_FLAGS = --no-such-flag\n' "$STL_BIN" > "$T/allfail.conf"
fails_with 1 'no trial finished with a validation accuracy' "every trial failed: exit 1" \
    "$SWEEP" --dir "$T/sf" "$T/allfail.conf"
check "and no best link is left" [ ! -e "$T/sf/best" -a ! -L "$T/sf/best" ]

# ---- usage ----
printf 'SCENES = 40\n# a comment\nSTEP = 30\n' > "$T/bad.conf"
fails_with 2 "bad.conf:3: pipeline.mk has no variable STEP" "an unknown variable: exit 2, file:line" "$SWEEP" --dir "$T/sb" "$T/bad.conf"
printf 'SCENES = 40\n\nSTEPS 30\n' > "$T/bad.conf"
fails_with 2 "bad.conf:3: expected NAME = VALUE" "a line without =: exit 2, file:line" "$SWEEP" --dir "$T/sb" "$T/bad.conf"
printf 'STEPS = 30\nWORK = /tmp/x\n' > "$T/bad.conf"
fails_with 2 "bad.conf:2: WORK is set by the sweep" "WORK: exit 2" "$SWEEP" --dir "$T/sb" "$T/bad.conf"
printf 'STEPS = 30\nSTEPS = 40\n' > "$T/bad.conf"
fails_with 2 "bad.conf:2: STEPS is set again \(first on line 1\)" "a name twice: exit 2" "$SWEEP" --dir "$T/sb" "$T/bad.conf"
check "a refused config runs nothing" [ ! -e "$T/sb" ]
fails_with 2 "no-such.conf: cannot read" "a missing config: exit 2" "$SWEEP" "$T/no-such.conf"
fails_with 2 "no config file" "no arguments: exit 2" "$SWEEP"
fails_with 2 "unrecognized arguments: --frobnicate" "an unknown option: exit 2" "$SWEEP" --frobnicate "$T/grid.conf"
ok "--help" "$SWEEP" --help
check "--help names every option" sh -c "for o in --dir --jobs --random --seed --val-fraction --list --slurm --sbatch; do
    grep -q -- \"\$o\" '$T/.out' || exit 1; done"
( flock 9; sleep 3 ) 9> "$S/.lock" &
sleep 0.5
fails_with 1 "is in use by another sweep" "a directory in use is refused" "$SWEEP" --dir "$S" "$T/grid.conf"
wait

# ---- --random ----
printf 'STEPS = 10 | 20 | 30\nBATCH = 8 | 16 | 32\nTRAIN_FLAGS = --lr 1e-3 | --lr 3e-4\n' > "$T/big.conf"
ok "--list" "$SWEEP" --list "$T/big.conf"
cut -d' ' -f2- "$T/.out" > "$T/all"
check "the whole grid: 18 trials, each once" [ "$(wc -l < "$T/all") $(sort -u "$T/all" | wc -l)" = "18 18" ]
ok "--random 5 --seed 7 --list" "$SWEEP" --random 5 --seed 7 --list "$T/big.conf"
cp "$T/.out" "$T/r7"
check "5 trials" [ "$(wc -l < "$T/r7")" = 5 ]
check "distinct" [ "$(cut -d' ' -f2- "$T/r7" | sort -u | wc -l)" = 5 ]
check "each one of the grid's" [ -z "$(cut -d' ' -f2- "$T/r7" | grep -vxFf "$T/all")" ]
ok "the same draw again" "$SWEEP" --random 5 --seed 7 --list "$T/big.conf"
check "gives the same trials" cmp -s "$T/.out" "$T/r7"
for s in 1 2 3; do "$SWEEP" --random 5 --seed $s --list "$T/big.conf"; done > "$T/others"
check "other seeds draw other trials" [ "$(cut -d' ' -f2- "$T/others" | sort -u | wc -l)" -gt 5 ]
fails_with 2 "--random 19: the grid has only 18 trials" "more than the grid: exit 2" "$SWEEP" --random 19 --list "$T/big.conf"

finish
