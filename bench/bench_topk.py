"""bench_topk.py — stlrec's exact top-k kernel against FAISS IndexFlatIP, side by side.

Run by bench/bench_topk.sh with Debian's /usr/bin/python3 (numpy, faiss).
For each case it draws one seeded data set (standard normal float32, the
shape of real embeddings), runs FAISS IndexFlatIP.search and stlrec's
bench_topk program on the same data with the same thread count, and prints
both times (best and median of REPS interleaved rounds, each side warmed
up first) and the speed ratio (FAISS time / stlrec time: above 1, stlrec is
faster).

Results must be identical: the index lists are compared row by row. A row
that differs is accepted only when the difference is a float tie — both
lists' true scores (float64) agree rank by rank within a rounding bound, i.e.
the two sgemm blockings rounded a near-tie differently. Anything else is a
mismatch and the script exits 1.
"""
import os
import subprocess
import sys
import tempfile
import time

import faiss
import numpy as np

import topk_common


def run_case(bench_bin, tmp, n, m, d, k, threads, reps, seed):
    q, p, qf, pf, of = topk_common.draw_case(tmp, n, m, d, seed)

    faiss.omp_set_num_threads(threads)
    index = faiss.IndexFlatIP(d)
    index.add(p)
    index.search(q[:64], k)  # warm-up
    # Interleaved, one run of each per round, so that a change in the load of
    # this shared machine hits both sides alike; best of the rounds reported.
    t_faiss, t_ours = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        fd, fi = index.search(q, k)
        t_faiss.append(time.perf_counter() - t0)
        out = subprocess.run([bench_bin, qf, pf, str(d), str(k), str(threads), "1", of],
                             check=True, capture_output=True, text=True).stdout.strip()
        t_ours.append(float(dict(kv.split("=") for kv in out.split()[1:])["best_s"]))
    ours = np.fromfile(of, dtype=np.uint32).reshape(n, min(k, m)).astype(np.int64)

    differ, ties, real = topk_common.compare(q, p, ours, fi)
    for f in (qf, pf, of):
        os.remove(f)
    bf, bo = min(t_faiss), min(t_ours)
    print(f"top-k d={d} products={m} scenes={n} K={k} threads={threads}: "
          f"stlrec {bo:.3f} s ({2.0 * n * m * d / bo / 1e9:.0f} GFLOP/s, median {np.median(t_ours):.3f}), "
          f"faiss IndexFlatIP {bf:.3f} s (median {np.median(t_faiss):.3f}), "
          f"speed ratio {bf / bo:.2f}x (medians {np.median(t_faiss) / np.median(t_ours):.2f}x); "
          f"rows differing: {differ} (float ties {ties}, mismatches {len(real)})",
          flush=True)
    if real:
        print(f"  MISMATCH rows (first 10): {real[:10]}", file=sys.stderr)
    return not real


def main():
    bench_bin = sys.argv[1]
    threads = int(os.environ.get("THREADS", "2"))
    reps = int(os.environ.get("REPS", "3"))
    cases = [(10000, 40000), (1000, 1000000)]
    if os.environ.get("QUICK"):
        cases = [(2000, 8000)]
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_topk.") as tmp:
        for n, m in cases:
            ok &= run_case(bench_bin, tmp, n, m, 64, 10, threads, reps, seed=n + m)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
