"""bench_topk_gpu.py — stlrec's GPU top-k against a cuBLAS brute force, side by side.

Run by scripts/gpu-check on a GPU machine (its Python has PyTorch with CUDA):
    python3 bench_topk_gpu.py BENCH_TOPK [QUICK]
For each case it draws one seeded data set (standard normal float32, d 64,
K 10), then times, interleaved round by round, PyTorch's brute force on the
GPU (torch.mm through cuBLAS with TF32 off, then torch.topk; the upload and
the download of the lists included) and stlrec's GPU search as stl-topk runs
it (bench_topk ... cuda: cuBLAS GEMMs over tiles, stlrec's selection
kernel, the host's rescoring; upload included). It prints both times (best
of the rounds), the speed ratio (PyTorch time / stlrec time: above 1,
stlrec is faster) and the comparison of the lists (topk_common.py: rows may
differ only by float ties); exit 1 on a mismatch.
"""
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import topk_common


def brute_force(q, p, k):
    """The k best products of every query: cuBLAS GEMM and torch.topk on the GPU."""
    qd = torch.from_numpy(q).cuda()
    pd = torch.from_numpy(p).cuda()
    out = torch.topk(qd @ pd.T, k, dim=1).indices.cpu().numpy()
    torch.cuda.synchronize()
    return out


def run_case(bench_bin, tmp, n, m, d, k, reps, seed):
    q, p, qf, pf, of = topk_common.draw_case(tmp, n, m, d, seed)
    brute_force(q[:64], p, k)  # warm-up: context, cuBLAS handle
    t_torch, t_ours = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        theirs = brute_force(q, p, k)
        t_torch.append(time.perf_counter() - t0)
        out = subprocess.run([bench_bin, qf, pf, str(d), str(k), "1", "1", of, "cuda"],
                             check=True, capture_output=True, text=True).stdout.strip()
        t_ours.append(float(dict(kv.split("=") for kv in out.split()[1:])["best_s"]))
    ours = np.fromfile(of, dtype=np.uint32).reshape(n, min(k, m)).astype(np.int64)
    differ, ties, real = topk_common.compare(q, p, ours, theirs)
    bt, bo = min(t_torch), min(t_ours)
    print(f"top-k on the GPU d={d} products={m} scenes={n} K={k}: stlrec {bo:.4f} s "
          f"({2.0 * n * m * d / bo / 1e9:.0f} GFLOP/s), torch mm+topk (cuBLAS, TF32 off) "
          f"{bt:.4f} s, speed ratio {bt / bo:.2f}x; rows differing: {differ} "
          f"(float ties {ties}, mismatches {len(real)})", flush=True)
    if real:
        print(f"  MISMATCH rows (first 10): {real[:10]}", file=sys.stderr)
    return not real


def main():
    torch.backends.cuda.matmul.allow_tf32 = False
    bench_bin = sys.argv[1]
    cases = [(10000, 40000), (1000, 1000000)]
    if len(sys.argv) > 2 and sys.argv[2] == "QUICK":
        cases = [(2000, 8000)]
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench_topk_gpu.") as tmp:
        for n, m in cases:
            ok &= run_case(bench_bin, tmp, n, m, 64, 10, 3, seed=n + m)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
