#!/usr/bin/env bash
# bench_model.sh — stlrec's CPU model against PyTorch (Debian python3-torch,
# NCHW and channels_last, the better counts) and JAX/Flax (the parity test's
# model, jitted; .venv), side by side in one invocation: training steps
# (batch 16 triplets: 3 tower calls forward + backward + Adam) and
# forward-only embedding, at S = 128 and 256 (SIZES="128 256 512" for more),
# all with THREADS threads (default 2). Prints triplets/s, images/s and
# GFLOP/s per peer, then stlrec's speed over each peer's (above 1: stlrec is
# faster).
# On a shared machine ROUNDS=n repeats the whole sequence n times, peers
# interleaved so that changing load hits all alike; the best round counts.
#   usage: bench/bench_model.sh     (THREADS=2 STEPS=10 SIZES="128 256" PEERS="torch jax" ROUNDS=1)
# Needs build/rel/bench/bench_model (make build/rel/bench/bench_model),
# python3-torch (scripts/install-deps --bench) and .venv (--test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${STL_BUILD:-$root/build/rel}
bin=$build/bench/bench_model
[ -x "$bin" ] || { echo "bench_model.sh: $bin missing: run 'make $bin'" >&2; exit 1; }
threads=${THREADS:-2}
steps=${STEPS:-10}
sizes=${SIZES:-128 256}
peers=${PEERS:-torch jax}
# Every peer gets the same cores: taskset to the first THREADS cores when the
# machine has more, and each its own thread setting (stlrec: its threads
# calling a one-thread OpenBLAS; torch: set_num_threads; XLA: the cores it is
# pinned to).
pin=()
if [ "$threads" -lt "$(nproc)" ]; then pin=(taskset -c "0-$((threads - 1))"); fi
export OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=$threads
export XLA_FLAGS="--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads=$threads"
echo "bench_model: $(date -u +%FT%TZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), threads $threads, load $(cut -d' ' -f1-3 /proc/loadavg)"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
rounds=${ROUNDS:-1}
for round in $(seq "$rounds"); do
for s in $sizes; do
    n_embed=$(( s >= 512 ? 32 : 64 ))
    st=$(( s >= 512 ? (steps + 3) / 4 : (s >= 256 ? (steps + 1) / 2 : steps) ))
    "${pin[@]}" "$bin" "$s" 16 "$threads" "$st" "$n_embed" | tee -a "$out"
    for p in $peers; do
        case $p in
            torch) "${pin[@]}" /usr/bin/python3 "$root/bench/bench_model_peers.py" torch "$s" 16 "$threads" "$st" "$n_embed" | tee -a "$out" ;;
            jax) "${pin[@]}" "$root/.venv/bin/python" "$root/bench/bench_model_peers.py" jax "$s" 16 "$threads" "$st" "$n_embed" 2>/dev/null | tee -a "$out" ;;
            *) echo "bench_model.sh: unknown peer $p" >&2; exit 2 ;;
        esac
    done
done
done
echo
awk '
function val(line, key,   i, n, a, kv) {
    n = split(line, a, " ")
    for (i = 1; i <= n; i++) { split(a[i], kv, "="); if (kv[1] == key) return kv[2] }
    return ""
}
{
    peer = $1; kind = $2; s = val($0, "size")
    sub(/-(nchw|channels_last)$/, "", peer)
    v = (kind == "train") ? val($0, "triplets_per_s") : val($0, "images_per_s")
    if (!((peer, kind, s) in best) || v + 0 > best[peer, kind, s] + 0) {
        best[peer, kind, s] = v
        if (peer == "stlrec") gf[kind, s] = val($0, "gflops")
    }
    if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
    if (!(peer in pseen)) { pseen[peer] = 1; porder[++np] = peer }
}
END {
    printf "%-6s %-8s %12s %12s %10s  %s\n", "size", "peer", "triplets/s", "images/s", "GFLOP/s", "stlrec speed-up (train, embed)"
    for (i = 1; i <= ns; i++) {
        s = order[i]
        for (j = 1; j <= np; j++) {
            p = porder[j]
            if (!((p, "train", s) in best)) continue
            line = sprintf("%-6s %-8s %12.1f %12.1f %10s", s, p, best[p, "train", s], best[p, "embed", s], p == "stlrec" ? gf["train", s] : "")
            if (p != "stlrec" && best[p, "train", s] > 0)
                line = line sprintf("  %.2fx, %.2fx", best["stlrec", "train", s] / best[p, "train", s], best["stlrec", "embed", s] / best[p, "embed", s])
            print line
        }
    }
}' "$out"
