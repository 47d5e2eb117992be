#!/usr/bin/env bash
# run-all.sh — every stlrec benchmark, each side by side with its peer in one
# invocation (`make bench` installs the peers and builds first). Each script
# prints its own table of figures and ratios; docs/benchmarks.md records them.
# Run one alone for its options (see the top of each script).
set -u
cd "$(dirname "$0")/.."
rc=0
# bench_recommend uses make pipeline's model and products (out/run)
[ -e out/run/products.emb ] || make --no-print-directory -f pipeline.mk pipeline >/dev/null
for b in bench_model bench_train_mpi bench_learning_jax bench_decode bench_triplets bench_topk bench_recommend bench_fetch; do
    echo "== bench/$b.sh ($(date -u +%H:%M:%S))"
    bash "bench/$b.sh" || { echo "bench/$b.sh failed"; rc=1; }
done
exit $rc
