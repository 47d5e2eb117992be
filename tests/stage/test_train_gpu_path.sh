#!/usr/bin/env bash
# test_train_gpu_path.sh — stl-train and stl-embed through the GPU path's
# orchestration (common/model/model_gpu.c, tower_gpu.c) on any CPU: the test
# hook STL_TEST_GPU_BACKEND=host makes the CPU workspace compute through the
# GPU step with the host backend (the GPU kernels' bodies in loops), so what
# the stages do around a GPU workspace (checkpoints, resume, evaluation, MPI
# ranks with synchronised BatchNorm, embedding batches) is exercised without
# a GPU. Against the CPU path: the same losses and parameters up to rounding
# (the tolerances test_train uses for 1 against 2 ranks, whose cause is the
# same: float sums in another order); and exactly: a killed and resumed run
# equals the uninterrupted one, bit for bit. The model lives in the
# workspace between steps: the replica check, the NaN stop and the
# checkpoints are checked to see the workspace's copy.
. "$(dirname "$0")/lib.sh"
TRAIN=$STL_BIN/stl-train
CMP=$STL_BUILD/tools/model_cmp
PY=/usr/bin/python3
MPI="timeout 120 mpirun -np 2"

"$STL_BIN/stl-synth" --out "$T/syn" --scenes 30 --products 20 --seed 5 --threads 2 >/dev/null 2>&1 &&
    "$STL_BIN/stl-decode" --keys "$T/syn/pairs.jsonl" --images "$T/syn/images" --out "$T/crops" \
        --size 64 --resize --threads 2 >/dev/null 2>&1 &&
    "$STL_BIN/stl-triplets" --pairs "$T/syn/pairs.jsonl" --crops "$T/crops" --out "$T/tri.mpk" \
        --seed 5 >/dev/null 2>&1 || fail "the fixture (synth, decode, triplets)"
BASE="--triplets $T/tri.mpk --crops $T/crops --model model.msgpack --workdir work --threads 2"
BASE+=" --batch-size 4 --max-steps 10 --log-every 1 --eval-every 5 --checkpoint-every 5 --lr 1.6e-4"
train_in() { # DIR [ENV=VALUE...] -- ARGS...
    local d=$1
    shift
    mkdir -p "$T/$d" && (cd "$T/$d" && "$TRAIN" $BASE "$@")
}
gpu() { STL_TEST_GPU_BACKEND=host "$@"; }

ok "the CPU path: 10 steps" train_in cpu
ok "the GPU path (host backend): 10 steps" gpu train_in gpu
# free-running over 10 steps: each step's loss within 1e-4 relative (the
# step's own budget is 13 * 576 * 2^-24 = 4.5e-4; test_train's 1-vs-2-rank
# comparison uses 1e-4 for the same kind of drift)
check "train and test losses agree with the CPU path's at every step (rel 1e-4)" $PY -c '
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert [r["step"] for r in a] == [r["step"] for r in b] and len(a) >= 10
for x, y in zip(a, b):
    for k in ("train_loss", "test_loss"):
        if k in x: assert abs(x[k] - y[k]) <= 1e-4 * abs(y[k]), (x, y)
' "$T/gpu/work/metrics.jsonl" "$T/cpu/work/metrics.jsonl"
check "parameters after 10 steps agree with the CPU path's (test_train's 1-vs-2-rank tolerances)" \
    "$CMP" "$T/cpu/model.msgpack" "$T/gpu/model.msgpack" 1e-5 1e-3 3.2e-3 1e-4
ok "control: the GPU path from another seed" gpu train_in gpuseed --seed 2
check "control: that model does not pass the comparison" \
    bash -c "! '$CMP' '$T/cpu/model.msgpack' '$T/gpuseed/model.msgpack' 1e-5 1e-3 3.2e-3 1e-4 >/dev/null"

# how the GPU path gets its images: the crops kept in the workspace (when
# they fit and no augmentation changes them; steps name their images by
# index), or each batch streamed by the loader thread into a slot of the
# workspace (STL_GPU_POOL=0, or augmentation), or uploaded by the step
# itself (STL_GPU_STREAM=0 too): the same model, bit for bit
ok "the default keeps the crops (as on a GPU where they fit)" \
    env -u STL_QUIET STL_TEST_GPU_BACKEND=host bash -c "mkdir -p '$T/pool' && cd '$T/pool' && exec '$TRAIN' $BASE"
check "and says so" grep -q "crops (.* GiB) kept on the GPU" "$T/.err"
ok "the GPU path with each batch streamed by the loader (STL_GPU_POOL=0)" \
    env -u STL_QUIET STL_GPU_POOL=0 STL_TEST_GPU_BACKEND=host bash -c "mkdir -p '$T/stream' && cd '$T/stream' && exec '$TRAIN' $BASE"
check "and says so" grep -q "the loader streams each batch from pinned memory" "$T/.err"
check "the same model as with the crops kept, bit for bit" \
    cmp -s "$T/pool/model.msgpack" "$T/stream/model.msgpack"
ok "the GPU path with each batch uploaded by its step (STL_GPU_STREAM=0)" \
    env STL_GPU_POOL=0 STL_GPU_STREAM=0 STL_TEST_GPU_BACKEND=host bash -c "mkdir -p '$T/nopool' && cd '$T/nopool' && exec '$TRAIN' $BASE"
check "the same model, bit for bit" cmp -s "$T/pool/model.msgpack" "$T/nopool/model.msgpack"
check "(and the run above with the crops kept too)" cmp -s "$T/gpu/model.msgpack" "$T/pool/model.msgpack"
ok "the GPU path with augmentation (its batches streamed)" gpu train_in aug --augment flip
ok "the same, each batch uploaded by its step" \
    env STL_GPU_STREAM=0 STL_TEST_GPU_BACKEND=host bash -c "mkdir -p '$T/aug2' && cd '$T/aug2' && exec '$TRAIN' $BASE --augment flip"
check "streamed or not, the same model, bit for bit" cmp -s "$T/aug/model.msgpack" "$T/aug2/model.msgpack"
check "control: augmentation changed the model" \
    bash -c "! cmp -s '$T/gpu/model.msgpack' '$T/aug/model.msgpack'"

# --precision tf32 concerns the GPU's matrix products: the CPU computes in
# float32 either way (the same bytes), says so, and records the choice
ok "the CPU path with --precision tf32" train_in tf32 --precision tf32
check "the CPU ignores it: the same model bytes as float32" \
    cmp -s "$T/cpu/model.msgpack" "$T/tf32/model.msgpack"
check "and says so" grep -q -- "--precision tf32: no effect on the CPU" "$T/.err"
check "the sidecar records it" grep -q '"precision": "tf32"' "$T/tf32/model.msgpack.json"
fails_with 2 "precision" "--precision fp16 is refused" train_in bad --precision fp16

mkdir -p "$T/kill"
STL_TEST_DIE_AT=step:7 gpu train_in kill >/dev/null 2>&1
check "killed at step 7" [ ! -e "$T/kill/model.msgpack" ]
ok "resumed" gpu train_in kill
check "kill + resume = the uninterrupted run, bit for bit" cmp -s "$T/gpu/model.msgpack" "$T/kill/model.msgpack"

mkdir -p "$T/np2"
ok "2 MPI ranks through the GPU path (synchronised BatchNorm through the host)" \
    gpu $MPI bash -c "cd '$T/np2' && exec '$TRAIN' $BASE"
check "2 ranks against 1 (test_train's tolerances)" \
    "$CMP" "$T/gpu/model.msgpack" "$T/np2/model.msgpack" 1e-5 1e-3 3.2e-3 1e-4

# the model stays in backend memory between steps: what reads it (the
# replica check, checkpoints) must see the device's copy, and what stops a
# step (a non-finite gradient) must stop it there
mkdir -p "$T/perturb"
STL_TEST_PERTURB=3 fails_with 1 "step 5: the parameters of 1 rank differ from rank 0's" \
    "2 ranks through the GPU path: a rank whose parameters drift is caught" \
    gpu $MPI bash -c "cd '$T/perturb' && exec '$TRAIN' $BASE"
STL_TEST_NAN_AT=7 fails_with 1 "step 7: non-finite gradient of .*last good checkpoint .* step 5" \
    "the GPU path: a NaN at step 7 stops training, naming the step" gpu train_in nan
check "NaN: checkpoint 5 is kept and no model is written" \
    [ -e "$T/nan/work/checkpoints/ckpt-0000000005.state" -a ! -e "$T/nan/model.msgpack" ]
ok "the GPU path resumes from that checkpoint" gpu train_in nan
check "and ends where the uninterrupted run ends, bit for bit" \
    cmp -s "$T/gpu/model.msgpack" "$T/nan/model.msgpack"

emb() { "$STL_BIN/stl-embed" --model "$T/cpu/model.msgpack" --crops "$T/crops" --kind product \
    --keys "$T/syn/pairs.jsonl" --batch-size 8 --threads 2 "$@"; }
ok "stl-embed, the CPU path" emb --out "$T/c.emb" --npy "$T/c.npy"
ok "stl-embed, the GPU path (fixed batches of 8)" gpu emb --out "$T/g.emb" --npy "$T/g.npy"
# the forward budget: 13 ops of at most 576-term sums, 13 * 576 * 2^-24
check "the embeddings agree within the forward budget (normwise per row, 4.5e-4)" $PY -c '
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
assert a.shape == b.shape and a.shape[0] > 8
err = np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)
assert err.max() <= 13 * 576 * 2.0**-24, err.max()
' "$T/g.npy" "$T/c.npy"
finish
