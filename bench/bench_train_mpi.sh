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
#      the same model and step on random tensors in memory, no data loading)
#   A and P1 again at the end, averaged with the first runs, to even out the
#   load of other jobs on a shared machine.
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
    /usr/bin/python3 "$root/bench/bench_model_peers.py" torch 128 16 "$1" "$((steps / 2))" 16 |
        awk '/ train / { for (i = 1; i <= NF; i++)
             if ($i ~ /^triplets_per_s=/) { split($i, a, "="); if (a[2] > best) best = a[2] } }
             END { printf "%.2f\n", best }'
}

a1=$(train A 1)
echo "A  stl-train 1 process x 1 thread:   $a1 triplets/s"
b=$(train B 2)
echo "B  stl-train 1 process x 2 threads:  $b triplets/s"
c=$(train C 1 timeout 900 mpirun -np 2)
echo "C  stl-train 2 MPI ranks x 1 thread: $c triplets/s"
p1a=$(torch 1)
echo "P1 PyTorch CPU 1 thread:             $p1a triplets/s"
p2=$(torch 2)
echo "P2 PyTorch CPU 2 threads:            $p2 triplets/s"
a2=$(train A2 1)
p1b=$(torch 1)
echo "A  again: $a2, P1 again: $p1b triplets/s"
/usr/bin/python3 - "$a1" "$a2" "$b" "$c" "$p1a" "$p1b" "$p2" <<'EOF'
import sys
a1, a2, b, c, p1a, p1b, p2 = map(float, sys.argv[1:])
a, p1 = (a1 + a2) / 2, (p1a + p1b) / 2
print(f"summary (S=128, global batch 16, triplets/s; A and P1 averaged over two runs):")
print(f"  stl-train 1 thread {a:.2f}   PyTorch 1 thread {p1:.2f}   ratio {a / p1:.2f}x")
print(f"  stl-train 2 threads {b:.2f}  PyTorch 2 threads {p2:.2f}  ratio {b / p2:.2f}x")
print(f"  stl-train 2 ranks {c:.2f}    vs PyTorch 2 threads     ratio {c / p2:.2f}x")
print(f"  scaling efficiency of 2 ranks: C / (2 A) = {c / (2 * a):.2f}; 2 ranks / 2 threads: {c / b:.2f}")
EOF
