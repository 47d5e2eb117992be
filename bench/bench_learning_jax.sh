#!/usr/bin/env bash
# bench_learning_jax.sh — stl-train's learning curve against the same training
# in JAX/Flax/Optax (issue 15: is the test-accuracy plateau at ~0.70 a
# learning bug in stl-train, or a limit of the model and the data?).
#
# Data: make pipeline's stages up to the triplets in a temporary WORK
# (stl-synth SCENES=1000 scenes / 600 products, 64 px crops --resize, scene
# split, 5 negatives per positive). For each seed in SEEDS (default 1 2 3):
#   init   tests/tools/parity_step init: model_init(seed) written as a model
#          file, the state a fresh `stl-train --seed N` starts from;
#   C      stl-train --init that file --seed N (N also orders the data),
#          STEPS steps (default 1000), its defaults otherwise (batch 16, lr
#          1.6e-4 constant, reg 0.2, output size 64), eval every 100 steps,
#          2 threads;
#   JAX    bench/bench_learning_jax.py train: the same model file, the same
#          triplets in the same order, the same pixels, the same step and
#          evaluation, in Flax (tests/parity/flax_model.py) on the CPU.
# and once more stl-train for the first seed with STL_ISA=baseline (the
# x86-64-v2 kernels, which round differently in the last bits): a float-order
# twin that shows how far two correct runs of one configuration drift apart.
# Then `bench_learning_jax.py compare` prints the training-loss check of the
# first 100 steps, the data position after the last step (stl-train's final
# checkpoint against the JAX stream), the side-by-side table of the first
# seed, the table over the seeds and the verdict (the noise it uses is
# defined in its output and in docs/benchmarks.md, "Learning: stl-train
# against JAX"); the exit status is 0 when the curves agree, 1 when not.
#   usage: bench/bench_learning_jax.sh     (SEEDS="1 2 3" STEPS=1000 SCENES=1000
#          to override; LR=1e-3 SCHEDULE=warmup-cosine WARMUP=100 for the
#          best configuration of docs/training.md; KEEP=DIR keeps the
#          metrics files there)
# Needs make (bin/ and build/rel/tools/parity_step) and the project venv
# (.venv: JAX, Flax, Optax; scripts/install-deps --test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${STL_BIN:-$root/bin}
tool=${STL_BUILD:-$root/build/rel}/tools/parity_step
py=$root/.venv/bin/python
for b in "$bin/stl-synth" "$bin/stl-decode" "$bin/stl-triplets" "$bin/stl-train" "$tool"; do
    [ -x "$b" ] || { echo "bench_learning_jax.sh: $b missing: run make all" >&2; exit 1; }
done
[ -x "$py" ] || { echo "bench_learning_jax.sh: $py missing: scripts/install-deps --test" >&2; exit 1; }
seeds=${SEEDS:-1 2 3}
lr=${LR:-1.6e-4}
schedule=${SCHEDULE:-constant}
warmup=${WARMUP:-100}
sched=() # the same flags for stl-train and the JAX side
if [ "$schedule" = warmup-cosine ]; then
    sched=(--lr-schedule warmup-cosine --warmup-steps "$warmup")
    schedule="warmup-cosine, warmup $warmup"
elif [ "$schedule" != constant ]; then
    echo "bench_learning_jax.sh: SCHEDULE is constant or warmup-cosine" >&2; exit 2
fi
steps=${STEPS:-1000}
scenes=${SCENES:-1000}
threads=${THREADS:-2}
base=${BENCH_DIR:-/dev/shm}
[ -d "$base" ] && [ -w "$base" ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$base/bench_learning.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export STL_QUIET=1
t_all=$(date +%s)
echo "bench_learning_jax: $(date -u +%FT%TZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "data: stl-synth $scenes scenes, 64 px crops; seeds $seeds; $steps steps, batch 16, lr $lr ($schedule), reg 0.2"

make --no-print-directory -C "$root" -f pipeline.mk triplets WORK="$tmp/work" BIN="$bin" \
    SCENES="$scenes" PRODUCTS=$((scenes * 3 / 5)) SIZE=64 THREADS="$threads" >"$tmp/make.log" 2>&1 ||
    { cat "$tmp/make.log" >&2; exit 1; }
tri=$tmp/work/triplets.mpk
crops=$tmp/work/crops

ctrain() { # ctrain NAME SEED [ENV=VALUE...]: stl-train from init-SEED
    local name=$1 seed=$2
    shift 2
    local t0
    t0=$(date +%s)
    env "$@" "$bin/stl-train" --triplets "$tri" --crops "$crops" --init "$tmp/init-$seed.msgpack" \
        --seed "$seed" --lr "$lr" ${sched[@]+"${sched[@]}"} \
        --model "$tmp/$name/model.msgpack" --workdir "$tmp/$name" \
        --max-steps "$steps" --eval-every 100 --log-every 10 --checkpoint-every 0 \
        --threads "$threads" >"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; exit 1; }
    echo "  stl-train $name: $(( $(date +%s) - t0 )) s"
}

c_files=() j_files=() c_states=()
for seed in $seeds; do
    "$tool" init "$tmp/init-$seed.msgpack" 64 "$seed"
    ctrain "c$seed" "$seed"
    t0=$(date +%s)
    "$py" "$root/bench/bench_learning_jax.py" train --triplets "$tri" --crops "$crops" \
        --init "$tmp/init-$seed.msgpack" --seed "$seed" --steps "$steps" \
        --lr "$lr" ${sched[@]+"${sched[@]}"} \
        --metrics "$tmp/j$seed.jsonl" 2>"$tmp/j$seed.log" || { cat "$tmp/j$seed.log" >&2; exit 1; }
    echo "  jax seed $seed: $(( $(date +%s) - t0 )) s"
    c_files+=("$tmp/c$seed/metrics.jsonl")
    j_files+=("$tmp/j$seed.jsonl")
    c_states+=("$tmp/c$seed/checkpoints/ckpt-$(printf %010d "$steps").state") # the final one
done
first=${seeds%% *}
ctrain "cb$first" "$first" STL_ISA=baseline
echo "total: $(( $(date +%s) - t_all )) s"
if [ -n "${KEEP:-}" ]; then
    mkdir -p "$KEEP"
    cp "$tmp"/j*.jsonl "$KEEP/"
    for d in "$tmp"/c*/; do cp "$d/metrics.jsonl" "$KEEP/$(basename "$d").jsonl"; done
fi
"$py" "$root/bench/bench_learning_jax.py" compare --c "${c_files[@]}" --jax "${j_files[@]}" \
    --c-float "$tmp/cb$first/metrics.jsonl" --c-state "${c_states[@]}"
