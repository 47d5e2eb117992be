#!/usr/bin/env bash
# bench_train_mpi.sh — stl-train's training throughput (triplets/s) at S = 128
# on 1 process and on 2 MPI ranks, side by side with PyTorch CPU in the same
# invocation, and the scaling efficiency.
#
# Data: a synthetic data set (stl-synth, 300 scenes / 150 products) decoded
# to 128x128 crops (--resize) and its triplets; global batch 16. Runs, in
# this order, each for STEPS steps (default 40) with --log-every 5 and the
# first interval dropped as warm-up (the throughput is the mean of the other
# log intervals, which cover the whole step: loader wait, forward, backward,
# all-reduces, Adam; no eval, no checkpoint until the end):
#   A  stl-train, 1 process, 1 thread           (the per-rank baseline)
#   B  stl-train, 1 process, 2 threads          (threads instead of ranks)
#   C  mpirun -np 2 stl-train, 1 thread per rank (data-parallel, batch 8+8)
#   P1 PyTorch CPU, 1 thread, and P2, 2 threads (bench/bench_model_peers.py:
#      the same model and step on random tensors in memory, no data loading;
#      the faster of its NCHW and channels_last layouts)
#   then the whole round again; the summary is the mean of the two rounds,
#   to even out the load of other jobs on a shared machine.
# Prints each figure, the ratios against PyTorch, and the scaling efficiency
# of 2 ranks: C / (2 x A) (1.0 = perfect), plus C / B.
#   usage: bench/bench_train_mpi.sh     (STEPS=40 SCENES=300 to override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${STL_BIN:-$root/bin}
for b in stl-synth stl-decode stl-triplets stl-train; do
    [ -x "$bin/$b" ] || { echo "bench_train_mpi.sh: $bin/$b missing: run make" >&2; exit 1; }
done
steps=${STEPS:-40}
scenes=${SCENES:-300}
base=${BENCH_DIR:-/dev/shm}
[ -d "$base" ] || base=${TMPDIR:-/tmp}
tmp=$(mktemp -d "$base/bench_train.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export STL_QUIET=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_oob_tcp_if_include=lo OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_btl=self,vader
echo "bench_train_mpi: $(date -u +%FT%TZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load $(cut -d' ' -f1-3 /proc/loadavg)"

"$bin/stl-synth" --out "$tmp/syn" --scenes "$scenes" --products $((scenes / 2)) --threads 2 >/dev/null
"$bin/stl-decode" --keys "$tmp/syn/pairs.jsonl" --images "$tmp/syn/images" --out "$tmp/crops" \
    --size 128 --resize --threads 2 >/dev/null
"$bin/stl-triplets" --pairs "$tmp/syn/pairs.jsonl" --crops "$tmp/crops" --out "$tmp/tri.mpk" >/dev/null

# Mean triplets/s over the log intervals after the first (warm-up).
tput() {
    /usr/bin/python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
t = [x["triplets_per_s"] for x in r if x.get("kind") == "train"][1:]
print(f"{sum(t) / len(t):.2f}")' "$1"
}
train() { # train NAME LAUNCHER... -- THREADS
    local name=$1 threads=$2
    shift 2
    rm -rf "$tmp/$name"
    "$@" "$bin/stl-train" --triplets "$tmp/tri.mpk" --crops "$tmp/crops" --model "$tmp/$name/model" \
        --workdir "$tmp/$name" --batch-size 16 --max-steps "$steps" --log-every 5 --eval-every 0 \
        --checkpoint-every 0 --threads "$threads" >/dev/null
    tput "$tmp/$name/metrics.jsonl"
}
torch() { # torch THREADS
    /usr/bin/python3 "$root/bench/bench_model_peers.py" torch 128 16 "$1" "$steps" 16 |
        awk '/ train / { for (i = 1; i <= NF; i++)
             if ($i ~ /^triplets_per_s=/) { split($i, a, "="); if (a[2] > best) best = a[2] } }
             END { printf "%.2f\n", best }'
}

declare -A r
for round in 1 2; do
    r[A$round]=$(train A 1)
    echo "A  stl-train 1 process x 1 thread:   ${r[A$round]} triplets/s"
    r[B$round]=$(train B 2)
    echo "B  stl-train 1 process x 2 threads:  ${r[B$round]} triplets/s"
    r[C$round]=$(train C 1 timeout 900 mpirun -np 2)
    echo "C  stl-train 2 MPI ranks x 1 thread: ${r[C$round]} triplets/s"
    r[P1$round]=$(torch 1)
    echo "P1 PyTorch CPU 1 thread:             ${r[P1$round]} triplets/s"
    r[P2$round]=$(torch 2)
    echo "P2 PyTorch CPU 2 threads:            ${r[P2$round]} triplets/s"
done
/usr/bin/python3 - "${r[A1]}" "${r[A2]}" "${r[B1]}" "${r[B2]}" "${r[C1]}" "${r[C2]}" \
    "${r[P11]}" "${r[P12]}" "${r[P21]}" "${r[P22]}" <<'EOF2'
import sys
v = list(map(float, sys.argv[1:]))
a, b, c, p1, p2 = ((v[i] + v[i + 1]) / 2 for i in range(0, 10, 2))
print("summary (S=128, global batch 16, triplets/s, mean of the two rounds):")
print(f"  A  stl-train 1 process x 1 thread   {a:8.2f}")
print(f"  B  stl-train 1 process x 2 threads  {b:8.2f}")
print(f"  C  stl-train 2 MPI ranks x 1 thread {c:8.2f}")
print(f"  P1 PyTorch CPU 1 thread             {p1:8.2f}")
print(f"  P2 PyTorch CPU 2 threads            {p2:8.2f}")
print(f"  ratios: A/P1 {a / p1:.2f}x   B/P2 {b / p2:.2f}x   C/P2 {c / p2:.2f}x")
print(f"  scaling efficiency of 2 ranks: C / (2 A) = {c / (2 * a):.2f}; C / B = {c / b:.2f}")
EOF2
