#!/usr/bin/env bash
# bench_topk.sh — stl-topk's kernel against FAISS IndexFlatIP, side by side in
# one invocation, on the same seeded data (d 64, K 10; 40,000 products x
# 10,000 scenes and 1,000,000 products x 1,000 scenes), both with THREADS
# threads (default 2). Prints each time, the speed ratio (FAISS time / ours:
# above 1 means stlrec is faster) and the result comparison; exits 1 when the
# results differ by more than float ties. Needs the bench program built
# (make build/rel/bench/bench_topk) and Debian's python3-faiss.
#   usage: bench/bench_topk.sh        (THREADS=2 REPS=3 QUICK=1 to override)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${STL_BUILD:-$root/build/rel}
bin=$build/bench/bench_topk
[ -x "$bin" ] || { echo "bench_topk.sh: $bin missing: run 'make $bin'" >&2; exit 1; }
# Pin both sides to the thread count asked for: FAISS via omp_set_num_threads
# (its heaps) and OPENBLAS_NUM_THREADS (its sgemm calls, made from one thread);
# stlrec via its thread count (its own threads call a 1-thread OpenBLAS).
export OMP_NUM_THREADS=${THREADS:-2} OPENBLAS_NUM_THREADS=${THREADS:-2}
echo "bench_topk: $(date -u +%FT%TZ) on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
exec /usr/bin/python3 "$root/bench/bench_topk.py" "$bin"
