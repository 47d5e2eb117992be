"""topk_common.py — what the two top-k benchmarks share: their data and the rule
by which two exact top-k results agree.

bench_topk.py (stlrec against FAISS on the CPU) and bench_topk_gpu.py
(stlrec's GPU search against a cuBLAS brute force) draw the same kind of
data set (draw_case: seeded standard normal float32, the shape of real
embeddings, also written as raw files for stlrec's bench_topk) and compare
index lists row by row (compare). A row that differs is accepted only when the difference is a
float tie: both lists' true scores (float64) agree rank by rank within the
float32 rounding bound of a d-term dot product of these rows, i.e. the two
GEMMs rounded a near-tie differently. Anything else is a mismatch.
"""
import os

import numpy as np


def draw_case(tmp, n, m, d, seed):
    """Queries q (n, d) and base p (m, d), and the paths of their raw files in
    tmp and of stlrec's output there: (q, p, q file, p file, out file)."""
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, d), dtype=np.float32)
    p = rng.standard_normal((m, d), dtype=np.float32)
    qf, pf, of = (os.path.join(tmp, x) for x in ("q.f32", "p.f32", "out.u32"))
    q.tofile(qf)
    p.tofile(pf)
    return q, p, qf, pf, of


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
