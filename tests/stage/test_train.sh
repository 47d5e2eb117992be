# test_train.sh — stl-train on a tiny synthetic data set (S = 32): learning,
# bit-identical resume after kill -9 at any moment (the STL_TEST_DIE_AT crash
# points of docs/training.md and a kill from outside), a corrupt newest
# checkpoint, 1 rank vs 2 MPI ranks on the same global batch and 1 vs 3
# ranks, bit-identical replicas, non-finite loss, and bad inputs. Runs in
# well under a minute on 2 cores; every mpirun is under timeout(1) so a hang
# fails instead of stalling CI.
. "$(dirname "$0")/lib.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_btl=self,vader
unset STL_TEST_DIE_AT STL_TEST_NAN_AT STL_TEST_PERTURB
TRAIN=$STL_BIN/stl-train
CMP=$STL_BUILD/tools/model_cmp
PY=/usr/bin/python3
MPI="timeout 120 mpirun -np 2"

# ---- data: 80 scenes, 40 products, 32x32 crops ----
"$STL_BIN/stl-synth" --out "$T/syn" --scenes 80 --products 40 --scene-size 64 --product-size 64 \
    --threads 2 >/dev/null 2>&1 &&
"$STL_BIN/stl-decode" --keys "$T/syn/pairs.jsonl" --images "$T/syn/images" --out "$T/crops" \
    --size 32 --resize --threads 2 >/dev/null 2>&1 &&
"$STL_BIN/stl-triplets" --pairs "$T/syn/pairs.jsonl" --crops "$T/crops" --out "$T/tri.mpk" \
    --test-fraction 0.2 >/dev/null 2>&1
check "the synthetic data set is built" [ -s "$T/tri.mpk" ]

# outputs are checked before any work: a directory as --model, an input as --model
mkdir -p "$T/adir"
fails_with 2 "--model .*adir: is a directory" "--model naming a directory is refused at once" \
    "$TRAIN" --triplets "$T/tri.mpk" --crops "$T/crops" --model "$T/adir" --max-steps 2
check "no sidecar left beside it" [ ! -e "$T/adir.json" ]
fails_with 2 "--model .*: is also the input --triplets" "--model naming the triplets file is refused" \
    "$TRAIN" --triplets "$T/tri.mpk" --crops "$T/crops" --model "$T/tri.mpk" --max-steps 2

# Train steps in run directory $1 (relative paths: the metadata sidecars of
# two runs are then comparable byte for byte). Extra flags follow.
BASE="--triplets ../tri.mpk --crops ../crops --model model.msgpack --workdir work --threads 1"
R="--batch-size 8 --max-steps 12 --lr 1e-3 --log-every 1 --eval-every 6 --checkpoint-every 4"
train_in() {
    local d=$1
    shift
    mkdir -p "$T/$d" && (cd "$T/$d" && "$TRAIN" $BASE "$@")
}
# The metrics of a run without the timing fields, one line per record.
metrics_core() {
    $PY -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    for k in ("wall_s", "triplets_per_s", "eval_s"): r.pop(k, None)
    print(json.dumps(r, sort_keys=True))' "$1"
}
same_run() { # same_run DIR: model, sidecar and metrics equal to the reference's
    cmp -s "$T/ref/model.msgpack" "$T/$1/model.msgpack" &&
    cmp -s "$T/ref/model.msgpack.json" "$T/$1/model.msgpack.json" &&
    diff -q <(metrics_core "$T/ref/work/metrics.jsonl") <(metrics_core "$T/$1/work/metrics.jsonl") >/dev/null
}

# ---- learning ----
ok "trains 60 steps" train_in learn --batch-size 16 --max-steps 60 --lr 1e-3 --log-every 10 \
    --eval-every 30 --checkpoint-every 0
check "the train loss falls (first vs last log interval, by 10% or more)" $PY -c '
import json, sys
tr = [json.loads(l) for l in open(sys.argv[1])]
tl = [r["train_loss"] for r in tr if r["kind"] == "train"]
ev = [r for r in tr if r["kind"] == "eval"]
assert len(tl) == 6 and tl[-1] < 0.9 * tl[0], tl
assert [r["step"] for r in ev] == [0, 30, 60], ev
assert all(0 <= r["test_accuracy"] <= 1 and r["test_triplets"] > 0 for r in ev)
' "$T/learn/work/metrics.jsonl"
check "the model file and its metadata sidecar are written" $PY -c '
import json, sys
m = json.load(open(sys.argv[1]))
assert m["stage"] == "stl-train" and m["step"] == 60, m
c = m["config"]
assert c["batch_size"] == 16 and c["lr"] == 1e-3 and c["output_size"] == 64 and c["ranks"] == 1, c
' "$T/learn/model.msgpack.json"

# ---- kill -9 and resume: bit-identical to the uninterrupted run ----
ok "reference run, 12 steps" train_in ref $R
check "the reference keeps the newest 3 checkpoints" [ "$(ls "$T/ref/work/checkpoints" | tr '\n' ' ')" = \
    "ckpt-0000000004.msgpack ckpt-0000000004.state ckpt-0000000008.msgpack ckpt-0000000008.state ckpt-0000000012.msgpack ckpt-0000000012.state " ]
for point in step:6 checkpoint-write:8 checkpoint-commit:8 metrics:5 step:12; do
    d=kill-${point/:/-}
    STL_TEST_DIE_AT=$point train_in "$d" $R >/dev/null 2>&1
    rc=$?
    check "killed at $point (exit 137)" [ "$rc" -eq 137 ]
    ok "resumed after the kill at $point" train_in "$d" $R
    check "kill at $point + resume = the uninterrupted run, bit for bit" same_run "$d"
done
check "a kill mid-checkpoint leaves no temporary behind after the resume" \
    [ -z "$(ls -A "$T/kill-checkpoint-write-8/work/checkpoints" | grep tmp)" ]
# A kill from outside at an arbitrary moment (whatever the moment, the result must match).
mkdir -p "$T/kill-ext"
(cd "$T/kill-ext" && exec "$TRAIN" $BASE $R >/dev/null 2>&1) &
pid=$!
sleep 0.$((RANDOM % 9 + 1))
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
ok "resumed after kill -9 from outside" train_in kill-ext $R
check "kill -9 from outside + resume = the uninterrupted run" same_run kill-ext

# Two runs in one work directory: the second is refused while the first
# holds it (its lock), and the first finishes untouched.
mkdir -p "$T/twice"
(cd "$T/twice" && exec "$TRAIN" $BASE --batch-size 8 --max-steps 400 --log-every 1 >/dev/null 2>&1) &
pid=$!
for _ in $(seq 300); do [ -s "$T/twice/work/lock" ] && break; sleep 0.1; done
fails_with 1 "work is in use by another run \(process $pid\)" \
    "a second run in the same work directory is refused, naming the first" \
    train_in twice --batch-size 8 --max-steps 400 --log-every 1
wait "$pid"
check "the first run finished" [ $? -eq 0 ]
check "its metrics log has every step" [ "$(grep -c '"kind": *"train"' "$T/twice/work/metrics.jsonl")" -eq 400 ]

# SIGTERM (a batch scheduler's time limit): the step in progress finishes, a
# checkpoint of it is written, the run exits 143 without a final model, and
# the same command resumes from that step.
mkdir -p "$T/term"
(cd "$T/term" && exec "$TRAIN" $BASE --batch-size 8 --max-steps 400 --log-every 1 \
    --checkpoint-every 1000 >/dev/null 2>"$T/term.err") &
pid=$!
for _ in $(seq 300); do
    [ "$(grep -c '"kind": *"train"' "$T/term/work/metrics.jsonl" 2>/dev/null)" -ge 5 ] && break
    sleep 0.1
done
kill -TERM "$pid"
wait "$pid"
check "SIGTERM ends the run with 143" [ $? -eq 143 ]
check "saying where it stopped and how to resume" \
    grep -qE "stopped by SIGTERM after step [0-9]+ of 400: checkpoint in .*; run the same command again" "$T/term.err"
stopped=$(grep -oE 'after step [0-9]+' "$T/term.err" | grep -oE '[0-9]+')
check "a checkpoint of the step it stopped at (not a multiple of --checkpoint-every)" \
    [ -n "$stopped" ] && [ -e "$T/term/work/checkpoints/ckpt-$(printf %010d "${stopped:-0}").state" ]
check "no final model for an unfinished run" [ ! -e "$T/term/model.msgpack" ]
ok "the same command resumes" env -u STL_QUIET sh -c "cd '$T/term' && exec '$TRAIN' $BASE \
    --batch-size 8 --max-steps 400 --log-every 1 --checkpoint-every 1000"
check "from the step it stopped at" grep -q "resuming from the checkpoint of step ${stopped:-x} " "$T/.err"

# ---- a corrupt newest checkpoint: reported, the previous one used ----
cp -r "$T/ref" "$T/corrupt"
printf 'garbage' | dd of="$T/corrupt/work/checkpoints/ckpt-0000000012.msgpack" bs=1 seek=4096 \
    conv=notrunc 2>/dev/null
rm "$T/corrupt/model.msgpack"
(cd "$T/corrupt" && "$TRAIN" $BASE $R) >/dev/null 2>"$T/corrupt.err"
check "corrupt newest checkpoint: run succeeds" [ $? -eq 0 ]
check "corrupt newest checkpoint: reported" grep -q "checkpoint of step 12 is unusable.*hash" "$T/corrupt.err"
check "corrupt newest checkpoint: resumed from step 8, same final model" \
    cmp -s "$T/ref/model.msgpack" "$T/corrupt/model.msgpack"

# ---- 1 rank vs 2 ranks, global batch 8, 10 steps ----
D2="--batch-size 8 --max-steps 10 --log-every 1 --eval-every 5 --checkpoint-every 5"
ok "1 rank, batch 8" train_in r1 $D2
mkdir -p "$T/r2"
ok "2 MPI ranks, batch 8 (4 each)" $MPI bash -c "cd '$T/r2' && exec '$TRAIN' $BASE $D2"
# Per-step loss: the same computation up to the order of float sums
# (BatchNorm statistics and gradients summed over 2 ranks): ~1e-6 relative
# differences seen; 1e-4 leaves room.
check "1 vs 2 ranks: train and test loss agree at every step (rel 1e-4)" $PY -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [r["step"] for r in a] == [r["step"] for r in b]
for x, y in zip(a, b):
    for k in ("train_loss", "test_loss"):
        if k in x: assert abs(x[k] - y[k]) <= 1e-4 * abs(y[k]), (x, y)
' "$T/r1/work/metrics.jsonl" "$T/r2/work/metrics.jsonl"
# Parameters: kernels, scales, dense and residual biases within 1e-5 + 1e-3|b|;
# the zero-gradient tensors (biases feeding a BatchNorm, running means) within
# 2*lr*steps = 2*1.6e-4*10 = 3.2e-3 (Adam turns their rounding noise into
# ~lr steps; tests/tools/model_cmp.c explains), and at most 0.01% of the other
# elements beyond the tight bound (same cause, near-zero gradients).
check "1 vs 2 ranks: parameters after 10 steps agree (stated tolerances)" \
    "$CMP" "$T/r1/model.msgpack" "$T/r2/model.msgpack" 1e-5 1e-3 3.2e-3 1e-4
ok "control: another seed" train_in r1seed $D2 --seed 2
check "control: a model from another seed does not pass that comparison" \
    bash -c "! '$CMP' '$T/r1/model.msgpack' '$T/r1seed/model.msgpack' 1e-5 1e-3 3.2e-3 1e-4 >/dev/null"
check "2 ranks: rank 0 alone wrote the metrics (no duplicate steps)" \
    [ "$(wc -l <"$T/r2/work/metrics.jsonl")" -eq "$(wc -l <"$T/r1/work/metrics.jsonl")" ]
# Replicas: every checkpoint and the end compare each rank's parameter hash
# with rank 0's (the run above passed it); a perturbed rank must be caught.
mkdir -p "$T/perturb"
STL_TEST_PERTURB=3 fails_with 1 "step 5: the parameters of 1 rank differ from rank 0's" \
    "2 ranks: a rank whose parameters drift is caught" \
    $MPI bash -c "cd '$T/perturb' && exec '$TRAIN' $BASE $D2"
# kill -9 of both ranks mid-run, resume under mpirun: identical to the 2-rank run.
mkdir -p "$T/r2kill"
STL_TEST_DIE_AT=step:7 $MPI bash -c "cd '$T/r2kill' && exec '$TRAIN' $BASE $D2" >/dev/null 2>&1
check "2 ranks killed at step 7" [ ! -e "$T/r2kill/model.msgpack" ]
ok "2 ranks resumed" $MPI bash -c "cd '$T/r2kill' && exec '$TRAIN' $BASE $D2"
check "2 ranks: kill + resume = the uninterrupted 2-rank run, bit for bit" \
    cmp -s "$T/r2/model.msgpack" "$T/r2kill/model.msgpack"

# 3 ranks (oversubscribed): the reduce + broadcast all-reduce path; the run
# ends with the replica check, and its losses match 1 rank's.
D3="--batch-size 6 --max-steps 4 --log-every 1 --eval-every 0 --checkpoint-every 0"
ok "1 rank, batch 6" train_in r1b6 $D3
mkdir -p "$T/r3"
ok "3 MPI ranks, batch 6 (2 each; replicas checked at the end)" \
    timeout 120 mpirun --oversubscribe -np 3 bash -c "cd '$T/r3' && exec '$TRAIN' $BASE $D3"
check "1 vs 3 ranks: train loss agrees at every step (rel 1e-4)" $PY -c '
import json, sys
a = [json.loads(l)["train_loss"] for l in open(sys.argv[1])]
b = [json.loads(l)["train_loss"] for l in open(sys.argv[2])]
assert len(a) == len(b) == 4 and all(abs(x - y) <= 1e-4 * abs(y) for x, y in zip(a, b)), (a, b)
' "$T/r1b6/work/metrics.jsonl" "$T/r3/work/metrics.jsonl"

# A rank that fails alone never leaves the other waiting (MPMD launches give
# the two ranks different arguments / environments).
F="--triplets $T/tri.mpk --batch-size 8 --max-steps 6 --eval-every 0 --threads 1 --model $T/mpmd.msgpack"
fails_with 1 "rank 1/2 on .*nonexistent: cannot open" "2 ranks: inputs failing on rank 1 alone end the job" \
    timeout 60 mpirun -np 1 "$TRAIN" $F --crops "$T/crops" : -np 1 "$TRAIN" $F --crops "$T/nonexistent"
timeout 60 mpirun -np 1 env STL_TEST_DIE_AT=step:3 "$TRAIN" $F --crops "$T/crops" : \
    -np 1 "$TRAIN" $F --crops "$T/crops" >/dev/null 2>&1
rc=$?
check "2 ranks: rank 0 killed mid-run ends the job, no hang (exit $rc)" [ "$rc" -ne 0 -a "$rc" -ne 124 ]

# ---- failures ----
mkdir -p "$T/nan"
STL_TEST_NAN_AT=6 fails_with 1 "step 6: non-finite gradient of .*last good checkpoint .* step 4" \
    "a NaN at step 6 stops training, naming the step" train_in nan $R
check "NaN: checkpoint 4 is kept and no model is written" \
    [ -e "$T/nan/work/checkpoints/ckpt-0000000004.state" -a ! -e "$T/nan/model.msgpack" ]
fails_with 1 "has output size 64, --output-size is 32" "a checkpoint of another output size" \
    train_in ref $R --output-size 32
fails_with 1 "belongs to a run with --seed 1 --batch-size 8, not --seed 3" \
    "a checkpoint of another seed (another run)" train_in ref $R --seed 3
# A checkpoint continues only its own run: not with another --lr, not past
# its --max-steps, not on other triplets or crops.
# The learning-rate schedule is applied step by step (values: test_lr_schedule.sh):
# warmup-cosine's first update has rate 0, so one step of it is one step at
# --lr 0; without a warmup its first update has the full rate.
one() { train_in "$1" --batch-size 8 --max-steps 1 --eval-every 0 "${@:2}"; }
ok "1 step of warmup-cosine (W 5)" one wc1 --lr 1e-3 --lr-schedule warmup-cosine --warmup-steps 5 --decay-steps 20
ok "1 step at --lr 0" one lr0 --lr 0
check "are the same model, byte for byte" cmp -s "$T/wc1/model.msgpack" "$T/lr0/model.msgpack"
ok "1 step of warmup-cosine without a warmup" one wc0 --lr 1e-3 --lr-schedule warmup-cosine --decay-steps 20
ok "1 step at the constant --lr" one c1 --lr 1e-3
check "are the same model, byte for byte" cmp -s "$T/wc0/model.msgpack" "$T/c1/model.msgpack"
check "and not the --lr 0 one" sh -c "! cmp -s '$T/wc0/model.msgpack' '$T/lr0/model.msgpack'"
check "the sidecar records the schedule" grep -q '"lr_schedule": "warmup-cosine(W=5, D=20, end=0)"' "$T/wc1/model.msgpack.json"
fails_with 2 "go with --lr-schedule warmup-cosine" "--warmup-steps without the schedule is a usage error" \
    one bad --warmup-steps 3
fails_with 1 "trained with --lr 0.001 --reg 0.2 \(schedule constant\), not --lr 0.001 --reg 0.2 \(schedule warmup-cosine" \
    "a checkpoint of another schedule is not resumed" \
    train_in c1 --batch-size 8 --max-steps 2 --eval-every 0 --lr 1e-3 --lr-schedule warmup-cosine
# A validation split (stl-triplets --val-fraction): every evaluation also
# reports the validation triplets, and the model of the best validation
# accuracy is kept in WORKDIR/best.msgpack, its sidecar naming step and accuracy.
"$STL_BIN/stl-triplets" --pairs "$T/syn/pairs.jsonl" --crops "$T/crops" --out "$T/triv.mpk" \
    --test-fraction 0.2 --val-fraction 0.2 >/dev/null 2>&1
ok "training with a validation split" sh -c "mkdir -p '$T/val' && cd '$T/val' &&
    '$TRAIN' --triplets ../triv.mpk --crops ../crops --model model.msgpack --workdir work \
    --threads 1 --batch-size 8 --max-steps 24 --lr 1e-3 --eval-every 4"
check "every evaluation logs the validation loss and accuracy" $PY - "$T/val/work/metrics.jsonl" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"eval"' in l]
sys.exit(0 if len(ev) == 7 and all("val_accuracy" in e and "val_loss" in e for e in ev) else 1)
EOF
check "best.msgpack is the model of the best validation accuracy (the first of equals)" \
    $PY - "$T/val/work/metrics.jsonl" "$T/val/work/best.msgpack.json" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if '"eval"' in l]
best = max(ev, key=lambda e: (e["val_accuracy"], -e["step"]))
side = json.load(open(sys.argv[2]))
sys.exit(0 if side["step"] == best["step"] and side["val_accuracy"] == best["val_accuracy"] else 1)
EOF
ok "best.msgpack is a model file" "$STL_BIN/stl-inspect" "$T/val/work/best.msgpack"
# Augmentation is part of the data stream: the same run gives the same model,
# a resumed run the uninterrupted one's, and it changes what is learned.
aug() { train_in "$1" --batch-size 8 --eval-every 0 --checkpoint-every 4 --lr 1e-3 --augment all "${@:2}"; }
ok "--augment all, 8 steps" aug aug1 --max-steps 8
ok "again" aug aug2 --max-steps 8
check "the same model, byte for byte" cmp -s "$T/aug1/model.msgpack" "$T/aug2/model.msgpack"
ok "4 steps" aug aug3 --max-steps 4
ok "then resumed to 8" aug aug3 --max-steps 8
check "is the uninterrupted run's model" cmp -s "$T/aug1/model.msgpack" "$T/aug3/model.msgpack"
ok "the same 8 steps without augmentation" train_in aug0 --batch-size 8 --eval-every 0 --checkpoint-every 4 --lr 1e-3 --max-steps 8
check "learn something else" sh -c "! cmp -s '$T/aug0/model.msgpack' '$T/aug1/model.msgpack'"
check "the sidecar records the augmentation" grep -q '"augment": "flip,shift,color"' "$T/aug1/model.msgpack.json"
fails_with 2 "'rotate' is not one of" "an unknown augmentation is a usage error" \
    train_in augx --max-steps 2 --augment flip,rotate
fails_with 1 "augment flip,shift,color, not none" "a checkpoint of another augmentation is not resumed" \
    train_in aug3 --batch-size 8 --eval-every 0 --checkpoint-every 4 --lr 1e-3 --max-steps 10
RB="--batch-size 8 --log-every 1 --eval-every 6 --checkpoint-every 4" # $R without --lr, --max-steps
fails_with 1 "trained with --lr 0.001 --reg 0.2 \(schedule constant\), not --lr 0.01 --reg 0.2" \
    "a checkpoint made with another --lr is not resumed" train_in ref $RB --max-steps 12 --lr 1e-2
fails_with 1 "the checkpoint of step 12 is past --max-steps 8" \
    "a finished run's checkpoint is not taken for a shorter one" \
    train_in ref $RB --max-steps 8 --lr 1e-3
"$STL_BIN/stl-triplets" --pairs "$T/syn/pairs.jsonl" --crops "$T/crops" --out "$T/tri9.mpk" \
    --test-fraction 0.2 --negatives uniform >/dev/null 2>&1
fails_with 1 "was trained on other triplets than ../tri9.mpk" \
    "a checkpoint of other triplets (same counts, other negatives) is not resumed" \
    sh -c "cd '$T/ref' && exec '$TRAIN' --triplets ../tri9.mpk --crops ../crops --model model.msgpack \
        --workdir work --threads 1 $R"
"$STL_BIN/stl-decode" --keys "$T/syn/pairs.jsonl" --images "$T/syn/images" --out "$T/crops-b" \
    --size 32 --threads 2 >/dev/null 2>&1
fails_with 1 "was trained on other crops than ../crops-b" \
    "a checkpoint of other crops (crop-or-pad instead of --resize) is not resumed" \
    sh -c "cd '$T/ref' && exec '$TRAIN' --triplets ../tri.mpk --crops ../crops-b --model model.msgpack \
        --workdir work --threads 1 $R"
ok "the same run with more steps continues" train_in ref $RB --max-steps 14 --lr 1e-3
fails_with 1 "--init .*output size 64, --output-size is 16" "--init with a model of another output size" \
    train_in init16 $R --output-size 16 --init ../ref/model.msgpack
fails_with 1 "--resume: no checkpoint in work/checkpoints" "--resume without a checkpoint" \
    train_in fresh $R --resume
fails_with 2 "--batch-size 5: not divisible by the 2 ranks" "a batch not divisible by the ranks" \
    $MPI "$TRAIN" --triplets "$T/tri.mpk" --crops "$T/crops" --model "$T/x.msgpack" --batch-size 5
device_cuda_refused train "--device cuda" \
    "$TRAIN" --triplets "$T/tri.mpk" --crops "$T/crops" --model "$T/x.msgpack" --device cuda
: >"$T/empty.mpk"
fails_with 1 "empty.mpk: empty file" "an empty triplets file" \
    "$TRAIN" --triplets "$T/empty.mpk" --crops "$T/crops" --model "$T/x.msgpack"
# Crops of the products only: every scene key of the triplets is missing.
"$STL_BIN/stl-decode" --keys "$T/syn/catalog.json" --images "$T/syn/images" --out "$T/pcrops" \
    --size 32 --resize --threads 2 >/dev/null 2>&1
fails_with 1 "scene key [0-9a-f]{32} of the triplets has no crop" "a triplet key without a crop" \
    "$TRAIN" --triplets "$T/tri.mpk" --crops "$T/pcrops" --model "$T/x.msgpack"
finish
