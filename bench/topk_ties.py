"""topk_ties.py — whether two exact top-k results agree, for the top-k benchmarks.

bench_topk.py (stlrec against FAISS on the CPU) and bench_topk_gpu.py
(stlrec's GPU search against a cuBLAS brute force) both compare index lists
row by row. A row that differs is accepted only when the difference is a
float tie: both lists' true scores (float64) agree rank by rank within the
float32 rounding bound of a d-term dot product of these rows, i.e. the two
GEMMs rounded a near-tie differently. Anything else is a mismatch.
"""
import numpy as np


def compare(q, p, ours, theirs):
    """(rows differing, float ties among them, list of mismatching rows)."""
    d = q.shape[1]
    differ = np.nonzero((ours != theirs).any(axis=1))[0]
    ties, real = 0, []
    for i in differ:
        so = np.sort(p[ours[i]].astype(np.float64) @ q[i].astype(np.float64))[::-1]
        st = np.sort(p[theirs[i]].astype(np.float64) @ q[i].astype(np.float64))[::-1]
        bound = d * 1.2e-7 * float(np.abs(q[i]).sum() * np.abs(p).max()) * 2
        if np.all(np.abs(so - st) <= bound):
            ties += 1
        else:
            real.append(int(i))
    return len(differ), ties, real
