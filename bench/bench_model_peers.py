"""bench_model_peers.py — the peers of stlrec's model benchmark
(bench/bench_model.sh): the same two-tower model and training step (docs/model.md:
batch of triplets, three tower calls, triplet loss, Adam) in PyTorch (Debian's
python3-torch, under /usr/bin/python3; NCHW and channels_last) or in JAX/Flax
(the parity test's Flax model, jitted; under .venv/bin/python).

  bench_model_peers.py torch|jax SIZE BATCH THREADS STEPS EMBED_IMAGES [cpu|cuda [float32|default]]

Prints lines in bench_model.c's format: `<peer> train ... triplets_per_s=X`
and `<peer> embed ... images_per_s=Y`. Warm-up (and JAX compilation) is
excluded from the timings.

The device (default cpu) and, on cuda, the precision: float32 keeps every
matrix product and convolution in float32 (PyTorch: TF32 off for cuBLAS and
cuDNN; JAX: default matmul precision "highest"); default is each framework's
own choice (TF32 for convolutions in both on Hopper), labelled as such.
On cuda the step does not copy the loss to the host, and the timings wait
for the device (torch.cuda.synchronize, jax.block_until_ready). For JAX the
device is chosen with JAX_PLATFORMS, which this script sets before importing
JAX. A device that is not there is an error (exit 1), never a silent CPU run.
"""
import os
import sys
import time


def bench_torch(size, batch, threads, steps, n_embed, device="cpu", precision="float32"):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    if device == "cuda":
        if not torch.cuda.is_available():
            sys.exit("bench_model_peers.py: torch: no CUDA device")
        tf32 = precision == "default"
        if not tf32:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    torch.manual_seed(0)

    def same_pad(x, k=3, s=2):
        # TensorFlow SAME: total max((ceil(n/s)-1)s+k-n, 0), smaller half first
        n = x.shape[-1]
        total = max((-(-n // s) - 1) * s + k - n, 0)
        return F.pad(x, (total // 2, total - total // 2, total // 2, total - total // 2))

    class Block(nn.Module):
        def __init__(self, cin, f):
            super().__init__()
            self.res = nn.Conv2d(cin, f, 3, 2)
            self.c1 = nn.Conv2d(cin, f, 3, 2)
            self.b1 = nn.BatchNorm2d(f, eps=1e-5, momentum=0.01)
            self.c2 = nn.Conv2d(f, f, 1)
            self.b2 = nn.BatchNorm2d(f, eps=1e-5, momentum=0.01)
            self.c3 = nn.Conv2d(f, f, 1)
            self.b3 = nn.BatchNorm2d(f, eps=1e-5, momentum=0.01)
            for b in (self.b1, self.b2, self.b3):
                b.bias.requires_grad_(False)  # scale only

        def forward(self, x):
            xp = same_pad(x)
            r = self.res(xp)
            x = F.silu(self.b1(self.c1(xp)))
            x = F.silu(self.b2(self.c2(x)))
            x = self.b3(self.c3(x)) + r
            # avg pool 3x3 stride 2 SAME, padded zeros counted (divide by 9)
            return F.avg_pool2d(same_pad(x), 3, 2, count_include_pad=True)

    class Tower(nn.Module):
        def __init__(self, out=64):
            super().__init__()
            fs = [16, 32, 64, 128]
            self.blocks = nn.Sequential(*[Block(c, f) for c, f in zip([3] + fs[:-1], fs)])
            self.dense = nn.Linear(128, out)

        def forward(self, x):
            return self.dense(self.blocks(x).mean(dim=(2, 3)))

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    label = "torch" if device == "cpu" else f"torch-cuda-{precision}"
    results = []
    for layout in ("nchw", "channels_last"):
        fmt = torch.channels_last if layout == "channels_last" else torch.contiguous_format
        scene_t = Tower().to(device=device, memory_format=fmt)
        prod_t = Tower().to(device=device, memory_format=fmt)
        params = [p for p in list(scene_t.parameters()) + list(prod_t.parameters()) if p.requires_grad]
        opt = torch.optim.Adam(params, lr=1.6e-4)
        g = torch.Generator().manual_seed(1)
        imgs = [torch.rand(batch, 3, size, size, generator=g).sub_(0.5)
                .to(device).contiguous(memory_format=fmt) for _ in range(3)]

        def step():
            s, p, n = scene_t(imgs[0]), prod_t(imgs[1]), prod_t(imgs[2])
            hinge = F.relu(1 + (s * n).sum(-1) - (s * p).sum(-1)).sum()
            norms = sum(F.relu(e.norm(dim=-1) - 1).sum() for e in (s, p, n))
            loss = (hinge + 0.2 * norms) / batch
            opt.zero_grad(set_to_none=False)
            loss.backward()
            opt.step()
            return loss if device == "cuda" else float(loss)

        for _ in range(2):
            step()
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        dt = (time.perf_counter() - t0) / steps
        prod_t.eval()
        with torch.no_grad():
            prod_t(imgs[1])
            sync()
            done, t0 = 0, time.perf_counter()
            while done < n_embed:
                k = min(batch, n_embed - done)
                prod_t(imgs[1][:k])
                done += k
            sync()
            edt = time.perf_counter() - t0
        results.append((layout, batch / dt, n_embed / edt))
        print(f"{label}-{layout} train size={size} batch={batch} threads={threads} "
              f"ms_per_step={dt * 1e3:.2f} triplets_per_s={batch / dt:.2f}", flush=True)
        print(f"{label}-{layout} embed size={size} batch={batch} threads={threads} "
              f"images_per_s={n_embed / edt:.2f}", flush=True)
    return results


def bench_jax(size, batch, threads, steps, n_embed, device="cpu", precision="float32"):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))
    os.environ["JAX_PLATFORMS"] = device
    import jax
    if device == "cuda":
        try:  # without a CUDA backend JAX raises RuntimeError or AssertionError
            if not jax.devices("cuda"):
                raise RuntimeError("no devices")
        except Exception as e:  # noqa: BLE001
            sys.exit(f"bench_model_peers.py: jax: no CUDA device ({type(e).__name__}: {e})")
        if precision == "float32":
            jax.config.update("jax_default_matmul_precision", "highest")
    label = "jax" if device == "cpu" else f"jax-cuda-{precision}"
    import numpy as np
    import flax_model as fm
    state = fm.create_state(64, size, 1.6e-4, seed=0)
    step = fm.make_train_step(0.2)
    embed = fm.make_embed(64)
    rng = np.random.default_rng(1)
    imgs = [jax.numpy.asarray(rng.random((batch, size, size, 3), dtype=np.float32) - 0.5)
            for _ in range(3)]
    for _ in range(2):
        state, loss, _, _ = step(state, *imgs)
    jax.block_until_ready(state)
    t0 = time.perf_counter()
    for _ in range(steps):
        state, loss, _, _ = step(state, *imgs)
    jax.block_until_ready(state)
    dt = (time.perf_counter() - t0) / steps
    print(f"{label} train size={size} batch={batch} threads={threads} "
          f"ms_per_step={dt * 1e3:.2f} triplets_per_s={batch / dt:.2f}", flush=True)
    # embed: the scene and product towers in one jitted call -> 2*batch images
    jax.block_until_ready(embed(state.params, imgs[0], imgs[1]))
    done, t0 = 0, time.perf_counter()
    while done < n_embed:
        jax.block_until_ready(embed(state.params, imgs[0], imgs[1]))
        done += 2 * batch
    edt = time.perf_counter() - t0
    print(f"{label} embed size={size} batch={batch} threads={threads} "
          f"images_per_s={done / edt:.2f}", flush=True)


def main():
    if not 7 <= len(sys.argv) <= 9:
        sys.exit(__doc__)
    peer = sys.argv[1]
    size, batch, threads, steps, n_embed = (int(a) for a in sys.argv[2:7])
    device = sys.argv[7] if len(sys.argv) > 7 else "cpu"
    precision = sys.argv[8] if len(sys.argv) > 8 else "float32"
    if device not in ("cpu", "cuda") or precision not in ("float32", "default"):
        sys.exit(__doc__)
    if peer == "torch":
        bench_torch(size, batch, threads, steps, n_embed, device, precision)
    elif peer == "jax":
        bench_jax(size, batch, threads, steps, n_embed, device, precision)
    else:
        sys.exit(f"bench_model_peers.py: unknown peer {peer!r}")


if __name__ == "__main__":
    main()
