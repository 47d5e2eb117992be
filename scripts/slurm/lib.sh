# shellcheck shell=bash
# lib.sh — what every scripts/slurm/<stage>.sbatch shares (sourced, not run).
#
# The job scripts take their paths and parameters from the environment (sbatch
# passes the submitting shell's environment by default, or --export=...):
#   STL_BIN       the stage binaries           (default: $SLURM_SUBMIT_DIR/bin)
#   STL_WORK      the run's work directory     (required)
#   STL_DATA      the data set: pairs.jsonl, catalog.json, images/
#                                              (default: $STL_WORK/synth, written by synth.sbatch)
#   STL_PAIRS, STL_CATALOG, STL_IMAGES         (defaults: $STL_DATA/pairs.jsonl, catalog.json, images)
#   STL_IMAGES_URL, STL_IMAGES_URL_LAYOUT      where fetch gets the images (default:
#                 file://$STL_IMAGES flat when local, else the CDN)
#   STL_SEED 1, STL_SCENES 20000, STL_PRODUCTS 1000, STL_SIZE 64, STL_STEPS 24000,
#   STL_BATCH 16, STL_K 10, STL_RANDOM_N 10, STL_MAX_SCENES 24,
#   STL_LR 1e-3, STL_LR_SCHEDULE warmup-cosine, STL_WARMUP_STEPS 100 (or a tenth
#   of a shorter run)                                (pipeline.mk's defaults)
#   STL_BOOK=1    the book's configuration, as pipeline.mk's BOOK=1: 1000 scenes,
#                 600 products, 2000 steps, --lr 1.6e-4 constant
#   STL_SHARDS    parts of decode, embed, top-k (default 2, as the #SBATCH --array
#                 lines of decode, embed and topk.sbatch)
#   STL_<STAGE>_FLAGS  extra flags for that stage's program, e.g. STL_TRAIN_FLAGS="--lr 1e-4"
#   STL_THREADS   threads per process, read by the programs themselves (default:
#                 the CPUs Slurm gives the task)
# Output paths under STL_WORK: images/ (fetch, CDN layout), crops/, triplets.mpk, model.mpk (+ model.mpk.work/),
# emb/{scene,product}.I-of-N.emb, topk/part.I-of-N.mpk, metrics.json,
# metrics.txt, random.html, report/.
set -euo pipefail

die() { echo "stl-slurm[${SLURM_JOB_NAME:-job}]: $*" >&2; exit 1; }

: "${STL_WORK:?stl-slurm: set STL_WORK (the run directory), e.g. sbatch --export=ALL,STL_WORK=/scratch/run1}"
STL_BIN=${STL_BIN:-${SLURM_SUBMIT_DIR:-.}/bin}
STL_DATA=${STL_DATA:-$STL_WORK/synth}
STL_PAIRS=${STL_PAIRS:-$STL_DATA/pairs.jsonl}
STL_CATALOG=${STL_CATALOG:-$STL_DATA/catalog.json}
STL_IMAGES=${STL_IMAGES:-$STL_DATA/images}
# Where fetch.sbatch gets the images: the local images (flat) when they are
# there or will be (the synthetic set), else the CDN in its layout.
if [ -z "${STL_IMAGES_URL:-}" ]; then
    if [ -d "$STL_IMAGES" ] || [ "$STL_DATA" = "$STL_WORK/synth" ]; then
        STL_IMAGES_URL=file://$STL_IMAGES STL_IMAGES_URL_LAYOUT=${STL_IMAGES_URL_LAYOUT:-flat}
    else
        STL_IMAGES_URL=http://i.pinimg.com/400x STL_IMAGES_URL_LAYOUT=${STL_IMAGES_URL_LAYOUT:-cdn}
    fi
fi
STL_IMAGES_URL_LAYOUT=${STL_IMAGES_URL_LAYOUT:-cdn}
STL_SEED=${STL_SEED:-1}
if [ "${STL_BOOK:-0}" = 1 ]; then
    STL_SCENES=${STL_SCENES:-1000} STL_PRODUCTS=${STL_PRODUCTS:-600} STL_STEPS=${STL_STEPS:-2000}
    STL_LR=${STL_LR:-1.6e-4} STL_LR_SCHEDULE=${STL_LR_SCHEDULE:-constant}
fi
STL_SCENES=${STL_SCENES:-20000}
STL_PRODUCTS=${STL_PRODUCTS:-1000}
STL_SIZE=${STL_SIZE:-64}
STL_STEPS=${STL_STEPS:-24000}
STL_LR=${STL_LR:-1e-3}
STL_LR_SCHEDULE=${STL_LR_SCHEDULE:-warmup-cosine}
if [ -z "${STL_WARMUP_STEPS:-}" ]; then
    STL_WARMUP_STEPS=$((STL_STEPS / 10))
    [ "$STL_WARMUP_STEPS" -gt 100 ] && STL_WARMUP_STEPS=100
fi
STL_BATCH=${STL_BATCH:-16}
STL_K=${STL_K:-10}
STL_RANDOM_N=${STL_RANDOM_N:-10}
STL_MAX_SCENES=${STL_MAX_SCENES:-24}
STL_SHARDS=${STL_SHARDS:-2}
[[ $STL_SHARDS =~ ^[1-9][0-9]*$ ]] || die "STL_SHARDS must be a positive number, not '$STL_SHARDS'"
[ -x "$STL_BIN/stl-train" ] || die "$STL_BIN/stl-train: not found (set STL_BIN to the stage binaries)"

# stl-train's learning-rate flags, as pipeline.mk's: --lr, --lr-schedule and
# (warmup-cosine) --warmup-steps, each unless STL_TRAIN_FLAGS gives it.
train_lr_flags() {
    local f=" ${STL_TRAIN_FLAGS:-} " out=()
    [[ $f == *" --lr "* || $f == *" --lr="* ]] || out+=(--lr "$STL_LR")
    if [[ $f != *" --lr-schedule "* && $f != *" --lr-schedule="* ]]; then
        out+=(--lr-schedule "$STL_LR_SCHEDULE")
        [ "$STL_LR_SCHEDULE" = warmup-cosine ] && [[ $f != *" --warmup-steps "* && $f != *" --warmup-steps="* ]] &&
            out+=(--warmup-steps "$STL_WARMUP_STEPS")
    fi
    echo "${out[*]}"
}

# The array element, checked against the number of parts (a by-hand
# `sbatch --array=0-3` with STL_SHARDS=2 would otherwise write parts of a run
# that does not exist).
task_id() {
    local n=$1 i=${SLURM_ARRAY_TASK_ID:-}
    [ -n "$i" ] || die "not an array job: submit with --array=0-$((n - 1))"
    [ "$i" -lt "$n" ] || die "array element $i is out of range: $n parts (array 0-$((n - 1)))"
    echo "$i"
}

# The comma-separated list of the N part files of one kind, as readers take it.
emb_parts() {
    local kind=$1 i list=
    for ((i = 0; i < STL_SHARDS; i++)); do list+="${list:+,}$STL_WORK/emb/$kind.$i-of-$STL_SHARDS.emb"; done
    echo "$list"
}
topk_parts() {
    local i list=
    for ((i = 0; i < STL_SHARDS; i++)); do list+="${list:+,}$STL_WORK/topk/part.$i-of-$STL_SHARDS.mpk"; done
    echo "$list"
}

# run CMD...: print the command (the job log is the record of what ran), run it.
run() {
    echo "+ $*" >&2
    "$@"
}
