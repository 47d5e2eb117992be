"""bench_learning_jax.py — stl-train's run, replayed in JAX/Flax/Optax.

The JAX half of bench/bench_learning_jax.sh (issue 15: is stl-train's test
accuracy plateau a learning bug or a limit of the model and data?). It trains
the model of docs/model.md (tests/parity/flax_model.py, the Flax twin that the
parity test proves step-for-step equal to stlrec's) on exactly what stl-train
would see with the same flags, and writes a metrics file in stl-train's own
format (docs/formats.md, "Training metrics") so the two curves compare point
for point:

  model     the initial model file (tests/tools/parity_step init: model_init,
            which is what a fresh stl-train --seed N starts from), loaded
            with flax.serialization.from_bytes;
  data      the triplets file's `train` blob in stl-train's order: an endless
            stream of epochs, each a Fisher-Yates permutation (rng_shuffle_u32)
            drawn from xoshiro256** seeded with --seed through splitmix64, the
            generator carried from epoch to epoch; batch k is stream entries
            [kB, (k+1)B) (common/train/loader.c, common/base/rng.c, both
            re-implemented below bit for bit);
  pixels    the crop shards' uint8 pixels, normalised p/255 - 0.5 in float32
            (common/model/pixel.h);
  step      the triplet loss with the norm penalty `reg`, grads, optax.adam(lr)
            (constant, or optax's warmup_cosine_decay_schedule(0, lr, W,
            steps, 0) as stl-train --lr-schedule warmup-cosine --warmup-steps
            W), BatchNorm running averages kept (flax_model.py);
  eval      at step 0, every --eval-every steps and the last: every distinct
            test image embedded once in inference mode (running averages),
            float64 dot products, test_loss = mean relu(1 + s.n - s.p),
            test_accuracy = fraction with s.p > s.n (common/train/train_eval.c);
  train     every --log-every steps, the mean training loss of the interval;
  position  after the last step, the data position (epoch, offset, generator
            state at the epoch's start), as stl-train's checkpoint records it.

`compare` reads the metrics files of both sides (one per seed each, and
optionally stl-train's float-order twin and final checkpoint states, whose
data position must equal the JAX stream's), prints the tables and the
verdict (exit 0: agree within noise, 1: not); the noise is defined in its
output.

usage: .venv/bin/python bench/bench_learning_jax.py train --triplets T
           --crops DIR --init MODEL --metrics OUT.jsonl [--seed 1]
           [--steps 1000] [--batch 16] [--lr 1.6e-4] [--reg 0.2]
           [--lr-schedule constant|warmup-cosine] [--warmup-steps W]
           [--eval-every 100] [--log-every 10]
       .venv/bin/python bench/bench_learning_jax.py compare --c C1.jsonl ...
           --jax J1.jsonl ... [--c-float CB1.jsonl] [--c-state S1.state ...]
JAX runs on the CPU (JAX_PLATFORMS=cpu unless set).
"""
import argparse
import glob
import json
import os
import sys
import time

os.environ.setdefault("JAX_PLATFORMS", "cpu")

import msgpack  # noqa: E402
import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from flax import serialization  # noqa: E402
from flax.training import train_state  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
import flax_model as fm  # noqa: E402

M64 = (1 << 64) - 1


# ---- stlrec's generator (common/base/rng.c) ----

def mix64(x):
    x = ((x ^ (x >> 30)) * 0xbf58476d1ce4e5b9) & M64
    x = ((x ^ (x >> 27)) * 0x94d049bb133111eb) & M64
    return x ^ (x >> 31)


class Xoshiro:
    """xoshiro256** seeded through splitmix64, as rng_seed/rng_next."""

    def __init__(self, seed):
        x, self.s = seed & M64, []
        for _ in range(4):
            x = (x + 0x9e3779b97f4a7c15) & M64
            self.s.append(mix64(x))

    def next(self):
        s = self.s
        rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & M64  # noqa: E731
        result = (rotl((s[1] * 5) & M64, 7) * 9) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def uniform(self, n):
        """[0, n) without bias, Lemire's method exactly as rng_uniform."""
        if n <= 1:
            return 0
        m = self.next() * n
        low = m & M64
        if low < n:
            threshold = (1 << 64) % n
            while low < threshold:
                m = self.next() * n
                low = m & M64
        return m >> 64


class TrainingStream:
    """The training triplet indices in stl-train's order, forever: epoch
    after epoch, each a rng_shuffle_u32 permutation of 0..n-1 drawn from
    one generator seeded with `seed` (loader.c). position() is what
    stl-train's checkpoint records: (epoch, offset, the generator's state
    before this epoch's shuffle)."""

    def __init__(self, n, seed):
        self.n, self.rng, self.epoch, self.offset = n, Xoshiro(seed), 0, 0
        self._shuffle()

    def _shuffle(self):
        self.start = list(self.rng.s)
        self.perm = list(range(self.n))
        for i in range(self.n, 1, -1):
            j = self.rng.uniform(i)
            self.perm[j], self.perm[i - 1] = self.perm[i - 1], self.perm[j]

    def take(self):
        it = self.perm[self.offset]
        self.offset += 1
        if self.offset == self.n:
            self.epoch, self.offset = self.epoch + 1, 0
            self._shuffle()
        return it

    def position(self):
        return {"epoch": self.epoch, "offset": self.offset, "rng": self.start}


# ---- inputs ----

def read_triplets(path):
    with open(path, "rb") as f:
        t = msgpack.unpackb(f.read(), raw=False, strict_map_key=False)
    if t.get("format") != "stlrec-triplets":
        sys.exit(f"{path}: not a stlrec-triplets file")
    keys = lambda blob: [blob[i:i + 32].decode() for i in range(0, len(blob), 32)]  # noqa: E731
    tri = lambda blob: np.frombuffer(blob, "<u4").reshape(-1, 3)  # noqa: E731
    return keys(t["scenes"]), keys(t["products"]), tri(t["train"]), tri(t["test"])


def read_crops(cdir):
    """key -> (S, S, 3) uint8, from every part's index and its shards."""
    images, size = {}, None
    for index in sorted(glob.glob(os.path.join(cdir, "part-*-of-*.index.mpk"))):
        with open(index, "rb") as f:
            ix = msgpack.unpackb(f.read(), raw=False)
        size = ix["size"]
        for sh in ix["shards"]:
            with open(os.path.join(cdir, sh["file"]), "rb") as f:
                s = msgpack.unpackb(f.read(), raw=False)
            px = np.frombuffer(s["pixels"], np.uint8).reshape(s["count"], size, size, 3)
            for k, key in enumerate(s["keys"]):
                images[key] = px[k]
    if not images:
        sys.exit(f"{cdir}: no crops")
    return images, size


def normalise(u8):
    """common/model/pixel.h: (float)v / 255.0f - 0.5f."""
    return u8.astype(np.float32) / np.float32(255) - np.float32(0.5)


# ---- evaluation (common/train/train_eval.c) ----

class TestSet:
    def __init__(self, test, scene_px, product_px):
        self.s_rows, s_inv = np.unique(test[:, 0], return_inverse=True)
        self.p_rows, p_inv = np.unique(test[:, 1:].ravel(), return_inverse=True)
        self.ts = s_inv.ravel()
        self.tp, self.tn = p_inv.reshape(-1, 2)[:, 0], p_inv.reshape(-1, 2)[:, 1]
        self.scenes = normalise(np.stack([scene_px[i] for i in self.s_rows]))
        self.products = normalise(np.stack([product_px[i] for i in self.p_rows]))


def make_eval(output_size, chunk=64):
    embed = fm.make_embed(output_size)

    def tower_embed(variables, imgs, tower):
        out = []
        for i in range(0, len(imgs), chunk):
            x = imgs[i:i + chunk]
            k = len(x)
            if k < chunk:  # one compiled shape; inference is per image
                x = np.concatenate([x, np.zeros((chunk - k,) + x.shape[1:], x.dtype)])
            s, p = embed(variables, x, x)
            out.append(np.asarray(s if tower == "scene" else p)[:k])
        return np.concatenate(out)

    def evaluate(state, ts):
        variables = {"params": state.params["params"],
                     "batch_stats": state.params["batch_stats"]}
        es = tower_embed(variables, ts.scenes, "scene").astype(np.float64)
        ep = tower_embed(variables, ts.products, "product").astype(np.float64)
        s = es[ts.ts]
        sp = np.sum(s * ep[ts.tp], axis=1)
        sn = np.sum(s * ep[ts.tn], axis=1)
        loss = float(np.mean(np.maximum(1.0 + sn - sp, 0.0)))
        acc = float(np.mean(sp > sn))
        return loss, acc
    return evaluate


def train_main(argv):
    ap = argparse.ArgumentParser(prog="bench_learning_jax.py train")
    ap.add_argument("--triplets", required=True)
    ap.add_argument("--crops", required=True)
    ap.add_argument("--init", required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1.6e-4)
    ap.add_argument("--lr-schedule", choices=("constant", "warmup-cosine"), default="constant")
    ap.add_argument("--warmup-steps", type=int, default=0)
    ap.add_argument("--reg", type=float, default=0.2)
    ap.add_argument("--output-size", type=int, default=64)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--log-every", type=int, default=10)
    a = ap.parse_args(argv)

    t0 = time.time()
    scenes, products, train, test = read_triplets(a.triplets)
    images, size = read_crops(a.crops)
    missing = [k for k in scenes + products if k not in images]
    if missing:
        sys.exit(f"{a.crops}: {len(missing)} keys of the triplets have no crop, e.g. {missing[0]}")
    scene_px = np.stack([images[k] for k in scenes])
    product_px = np.stack([images[k] for k in products])
    ts = TestSet(test, scene_px, product_px)

    target = fm.create_state(a.output_size, size, a.lr)
    with open(a.init, "rb") as f:
        state = serialization.from_bytes(target, f.read())
    if int(state.step) != 0:
        sys.exit(f"{a.init}: step {int(state.step)}, expected an initial model (step 0)")
    if a.lr_schedule == "warmup-cosine":
        # stl-train --lr-schedule warmup-cosine --warmup-steps W (decay over
        # --max-steps, --lr-end 0): optax's own schedule, which stl-train's
        # lr_schedule.c reproduces. Its optimiser state differs from the
        # model file's (a schedule count instead of EmptyState), so the
        # state is made afresh from the loaded parameters: at step 0 the
        # Adam moments are zero either way.
        sched = optax.warmup_cosine_decay_schedule(0.0, a.lr, a.warmup_steps, a.steps, 0.0)
        state = train_state.TrainState.create(apply_fn=state.apply_fn, params=state.params,
                                              tx=optax.adam(sched))
    step_fn = fm.make_train_step(a.reg)
    evaluate = make_eval(a.output_size)
    stream = TrainingStream(len(train), a.seed)
    print(f"jax: {len(train)} training, {len(test)} test triplets, S={size}, "
          f"{len(ts.s_rows)} test scenes, {len(ts.p_rows)} test products; "
          f"jax {jax.__version__} on {jax.devices()[0].platform}; "
          f"inputs read in {time.time() - t0:.1f} s", file=sys.stderr)

    out = open(a.metrics, "w")

    def record(step, **kv):
        out.write(json.dumps({"step": step, **kv}) + "\n")
        out.flush()

    t_start = time.time()

    def eval_record(step):
        te = time.time()
        loss, acc = evaluate(state, ts)
        record(step, kind="eval", wall_s=time.time() - t_start, test_loss=loss,
               test_accuracy=acc, test_triplets=len(test), eval_s=time.time() - te)
        return loss, acc

    eval_record(0)
    log_loss = []
    for step in range(1, a.steps + 1):
        idx = [stream.take() for _ in range(a.batch)]
        b = train[idx]
        state, loss, _, _ = step_fn(state, normalise(scene_px[b[:, 0]]),
                                    normalise(product_px[b[:, 1]]), normalise(product_px[b[:, 2]]))
        log_loss.append(float(loss))
        if step % a.log_every == 0 or step == a.steps:
            if not np.all(np.isfinite(log_loss)):
                sys.exit(f"jax: non-finite training loss by step {step}")
            record(step, kind="train", wall_s=time.time() - t_start,
                   train_loss=float(np.mean(log_loss)))
            log_loss = []
        if step % a.eval_every == 0 or step == a.steps:
            loss_e, acc = eval_record(step)
            print(f"jax: step {step}: test loss {loss_e:.4f} accuracy {acc:.4f} "
                  f"({time.time() - t_start:.0f} s)", file=sys.stderr)
    # The data position after the last step, to compare with stl-train's
    # final checkpoint (compare --c-state): the same order to the end.
    record(a.steps, kind="position", **stream.position())
    out.close()
    print(f"jax: {a.steps} steps in {time.time() - t_start:.1f} s", file=sys.stderr)
    return 0


# ---- the comparison ----

def read_metrics(path):
    """(evals {step: (loss, acc)}, trains {step: loss}, test triplets)."""
    ev, tr, n = {}, {}, 0
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "eval":
                ev[r["step"]] = (r["test_loss"], r["test_accuracy"])
                n = r["test_triplets"]
            elif r["kind"] == "train":
                tr[r["step"]] = r["train_loss"]
            elif r["kind"] == "position":
                tr["position"] = (r["step"], r["epoch"], r["offset"], list(r["rng"]))
    return ev, tr, n


def read_position(state_path):
    """stl-train's data position after its last step, from the final
    checkpoint's state file (docs/formats.md, "Checkpoints")."""
    with open(state_path, "rb") as f:
        st = msgpack.unpackb(f.read(), raw=False)
    return st["step"], st["epoch"], st["offset"], list(st["rng"])


PLATEAU_FROM = 500  # the plateau: evaluations from this step on (or the last half)


def compare_main(argv):
    ap = argparse.ArgumentParser(prog="bench_learning_jax.py compare")
    ap.add_argument("--c", nargs="+", required=True, help="stl-train metrics, one per seed")
    ap.add_argument("--jax", nargs="+", required=True, help="JAX metrics, the same seeds")
    ap.add_argument("--c-float", help="stl-train of the first seed, other kernels (STL_ISA)")
    ap.add_argument("--c-state", nargs="*", default=[],
                    help="stl-train's final checkpoint state files, one per seed")
    a = ap.parse_args(argv)
    if len(a.c) != len(a.jax):
        sys.exit("compare: as many --c files as --jax files")
    C = [read_metrics(p) for p in a.c]
    J = [read_metrics(p) for p in a.jax]
    F = read_metrics(a.c_float) if a.c_float else None
    k, n = len(C), C[0][2]
    steps = sorted(set.intersection(*(set(r[0]) for r in C + J)))
    if not steps or steps[0] != 0:
        sys.exit("compare: the metrics files share no evaluations (or none at step 0)")

    # 1. Same start, same data: step 0 and the training loss of the first steps.
    print("\n1. Same start, same data (first seed): training loss, mean of each 10 steps")
    print(f"   step 0 test loss: stl-train {C[0][0][0][0]:.7f}  JAX {J[0][0][0][0]:.7f}")
    print("   step   stl-train         JAX   rel. diff")
    first = sorted(s for s in C[0][1] if s in J[0][1])[:10]
    rel = []
    for s in first:
        c, j = C[0][1][s], J[0][1][s]
        rel.append(abs(j - c) / abs(c))
        print(f"   {s:4d}  {c:10.6f}  {j:10.6f}   {rel[-1]:.1e}")

    same_order = True
    if a.c_state:
        pos = [(read_position(sp), j[1].get("position")) for sp, j in zip(a.c_state, J)]
        same_order = all(c == j for c, j in pos)
        c0 = pos[0][0]
        print(f"   data position after the last step (epoch, offset, generator), stl-train's "
              f"final checkpoint against JAX's stream: {'equal' if same_order else 'DIFFERENT'} "
              f"for {len(pos)} seed{'s' if len(pos) > 1 else ''} (first seed: step {c0[0]}, "
              f"epoch {c0[1]}, offset {c0[2]})")

    # 2. The first seed side by side (and stl-train's float-order twin).
    acc = lambda r, s: r[0][s][1]  # noqa: E731
    los = lambda r, s: r[0][s][0]  # noqa: E731
    print(f"\n2. Test triplets (N = {n}), first seed: stl-train vs JAX"
          + (" vs stl-train with other float rounding (STL_ISA=baseline)" if F else ""))
    head = "   step | C acc  | C loss | JAX acc| JAX los| d acc  | d loss"
    print(head + (" | Cb acc | Cb-C acc" if F else ""))
    for s in steps:
        line = (f"   {s:4d} | {acc(C[0], s):.4f} | {los(C[0], s):.4f} | {acc(J[0], s):.4f} | "
                f"{los(J[0], s):.4f} | {acc(J[0], s) - acc(C[0], s):+.4f} | "
                f"{los(J[0], s) - los(C[0], s):+.4f}")
        if F and s in F[0]:
            line += f" | {acc(F, s):.4f} | {acc(F, s) - acc(C[0], s):+.4f}"
        print(line)

    # 3. Over the seeds, with the noise and the verdict.
    later = [s for s in steps if s > 0]
    ca = np.array([[acc(r, s) for s in later] for r in C])  # (k, steps)
    ja = np.array([[acc(r, s) for s in later] for r in J])
    cl = np.array([[los(r, s) for s in later] for r in C])
    jl = np.array([[los(r, s) for s in later] for r in J])
    d = ja.mean(0) - ca.mean(0)
    p = float(np.mean(np.concatenate([ca[:, -1], ja[:, -1]])))
    se_bin = float(np.sqrt(p * (1 - p) / n))
    if k >= 2:
        # sigma_seed: the spread of one run's test accuracy over seeds (init
        # and data order), pooled over the steps and both sides.
        sigma = float(np.sqrt(np.mean(np.concatenate([ca.var(0, ddof=1), ja.var(0, ddof=1)]))))
        se = sigma * np.sqrt(2.0 / k)
        noise = (f"sigma_seed = {sigma:.4f}: the standard deviation of one run's test accuracy "
                 f"over the {k} seeds (initialisation and data order), pooled over steps "
                 f"{later[0]}-{later[-1]} and both sides; the difference of two {k}-seed means has "
                 f"standard error SE = sigma_seed * sqrt(2/{k}) = {se:.4f}")
    else:
        se = se_bin * np.sqrt(2.0)
        noise = (f"one seed: SE = sqrt(2 p(1-p)/N) = {se:.4f}, the binomial standard error "
                 f"of the difference of two accuracies on N = {n} (p = {p:.3f})")
    print(f"\n3. Test accuracy and loss over {k} seed{'s' if k > 1 else ''} "
          f"(mean, and standard deviation over seeds)")
    print("   step | C acc (sd)      | JAX acc (sd)    | d acc   | |d|<=2SE | C loss | JAX loss")
    ok_steps = 0
    for i, s in enumerate(later):
        ok = abs(d[i]) <= 2 * se
        ok_steps += ok
        sd = lambda x: f"{x[:, i].std(ddof=1):.4f}" if k > 1 else "  -   "  # noqa: E731
        print(f"   {s:4d} | {ca[:, i].mean():.4f} ({sd(ca)}) | {ja[:, i].mean():.4f} ({sd(ja)}) | "
              f"{d[i]:+.4f} | {'yes' if ok else 'NO':8s} | {cl[:, i].mean():.4f} | {jl[:, i].mean():.4f}")
    pl = [i for i, s in enumerate(later) if s >= min(PLATEAU_FROM, later[-1] / 2)]
    pc, pj = float(ca[:, pl].mean()), float(ja[:, pl].mean())
    plc, plj = float(cl[:, pl].mean()), float(jl[:, pl].mean())
    print(f"\n   noise: {noise}.")
    print(f"   For scale: the binomial standard error of one accuracy near p = {p:.3f} on "
          f"N = {n} test triplets is sqrt(p(1-p)/N) = {se_bin:.4f}"
          + (f"; stl-train against its own float-order twin differs by up to "
             f"{max(abs(acc(F, s) - acc(C[0], s)) for s in later if s in F[0]):.4f}" if F else "")
          + ".")
    print(f"   plateau (steps {later[pl[0]]}-{later[-1]}, all seeds): stl-train accuracy {pc:.4f} "
          f"loss {plc:.4f}; JAX accuracy {pj:.4f} loss {plj:.4f}; difference {pj - pc:+.4f}")
    # Paired: each JAX run against the stl-train run of its own seed (same
    # start, same batches). Two correct runs then differ only by float
    # rounding amplified over the steps, which the float-order twin measures.
    rms = float(np.sqrt(np.mean((ja - ca) ** 2)))
    line = (f"   paired (each seed's JAX run against its stl-train run): RMS of d acc over "
            f"seeds and steps {later[0]}-{later[-1]} = {rms:.4f}, largest |d| = {np.abs(ja - ca).max():.4f}")
    if F:
        fd = np.array([acc(F, s) - acc(C[0], s) for s in later if s in F[0]])
        line += (f"; stl-train against its float-order twin: RMS {np.sqrt(np.mean(fd ** 2)):.4f}, "
                 f"largest {np.abs(fd).max():.4f}")
    print(line)
    same_start = rel and rel[0] < 1e-4
    # 2 SE: about 1 in 20 falls outside by chance; allow 1 in 10 (none of
    # a handful).
    allowed = max(1, len(later) // 10) if len(later) >= 5 else 0
    agree_steps = ok_steps >= len(later) - allowed
    agree_plateau = abs(pj - pc) <= 2 * se
    loss_check = "test loss not checked (needs 2 seeds or more)"
    agree_loss = True
    if k >= 2:
        # The same rule for the plateau's test loss, with the loss's own spread.
        se_l = float(np.sqrt(np.mean(np.concatenate([cl.var(0, ddof=1), jl.var(0, ddof=1)])))
                     * np.sqrt(2.0 / k))
        agree_loss = abs(plj - plc) <= 2 * se_l
        loss_check = (f"plateau test loss difference {abs(plj - plc):.4f} <= 2 SE = {2 * se_l:.4f} "
                      f"(SE from the loss's spread over seeds, as for accuracy): "
                      f"{'yes' if agree_loss else 'NO'}")
    print(f"\n   checks: first 10 steps' training loss equal to 1e-4 relative "
          f"(same model, data, order and step): {'yes' if same_start else 'NO'} "
          f"(step 10: {rel[0]:.1e}); |d acc| <= 2 SE at {ok_steps} of {len(later)} "
          f"evaluations (at least {len(later) - allowed} required): {'yes' if agree_steps else 'NO'}; "
          f"plateau difference {abs(pj - pc):.4f} <= 2 SE = {2 * se:.4f}: "
          f"{'yes' if agree_plateau else 'NO'}; {loss_check}")
    if not same_order:
        print("   the JAX side did not take stl-train's data order: the comparison is void")
    if same_start and same_order and agree_steps and agree_plateau and agree_loss:
        print(f"verdict: AGREE within noise. JAX/Flax/Optax on the same data, order and initial "
              f"model plateaus where stl-train does ({pj:.3f} vs {pc:.3f}): the plateau is a "
              f"limit of this model, data and training configuration, not a learning bug of "
              f"stl-train.")
        return 0
    print("verdict: DISAGREE beyond noise: stl-train and JAX learn differently; look for a "
          "learning bug (see the tables above for where the curves part).")
    return 1


if __name__ == "__main__":
    cmds = {"train": train_main, "compare": compare_main}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: bench_learning_jax.py train|compare ... (see the top of the file)")
    sys.exit(cmds[sys.argv[1]](sys.argv[2:]))
