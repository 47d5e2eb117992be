"""test_flax_parity.py — stlrec's model against the same model in Flax.

Both directions of the model-file interop, and the numbers of a training
step, on a fixed batch of B = 4 triplets of random S = 64 images:

  forward   stlrec initialises a model (parity_step init) and writes a model
            file; Flax loads it with flax.serialization.from_bytes (the
            interop proof) and checks the initialisers' distributions. The
            Dense kernels are scaled so that the norm penalty is active for
            half the embeddings; from that state (written by Flax, read by
            stlrec) both run 5 training steps on the batch (loss, grads,
            optax.adam, BatchNorm running averages kept). Compared:
            step 1's loss, 3 embeddings, every gradient tensor, the running
            averages and the parameters after step 1, and after 5 steps the
            losses, parameters, running averages and (through stlrec's final
            model file, loaded by Flax) the Adam moments. Flax re-serialising
            the loaded file must reproduce stlrec's bytes exactly.
  reverse   Flax initialises its own model (JAX PRNG), trains 2 steps (so the
            running averages are not 0/1), writes to_bytes; stlrec reads it
            and its inference embeddings (running averages) must equal
            Flax's get_scene_embed / get_product_embed (train=False), and
            stlrec rewriting the file must reproduce Flax's bytes exactly.

The training and inference checks run once per kernel variant named on the
command line (--isa, each run with STL_ISA set; isa.h), against one Flax
reference, so an AVX-512 machine also checks the AVX2 and baseline kernels.
Every check's name starts with its variant, e.g. "[avx2] grad/params/...".

Mutants (--mutant NAME TOOL): a parity_step built with one planted bug
(tests/parity/mutants.txt says which and which checks must catch it). Under
every variant the training checks run on it silently, and the test passes
when the checks named in mutants.txt fail (and, for a bug marked "only:",
no other check does). This is what shows that the tolerances, the
multi-step ones above all, still catch real bugs.

Every comparison is |a - b| <= atol + rtol*|b| (b: Flax) per element, the
worst element reported. Prints "ok ..."/"not ok ..." per check and a closing
"N passed, N failed"; exits 1 on any failure.

usage: .venv/bin/python tests/parity/test_flax_parity.py PARITY_STEP WORKDIR
           [--isa NAME]... [--mutant NAME TOOL]...
"""
import os
import sys

os.environ["JAX_PLATFORMS"] = "cpu"

import subprocess  # noqa: E402

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import serialization, traverse_util  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import flax_model as fm  # noqa: E402

B, S, OUT = 4, 64, 8      # small, so that the test (jit compile included) is quick
LR, REG, STEPS = 1.6e-4, 0.2, 5
C_SEED, JAX_SEED, BATCH_SEED, NOISE_SEED = 11, 42, 7, 3

# The unit of float32 agreement at step 1. XLA's convolutions and stlrec's
# im2col GEMMs sum in different orders, so every value carries rounding error
# proportional to the magnitudes summed, i.e. to the scale of the tensor (or
# of the layer, for a gradient), not to the element itself: elements near
# zero come out of cancellation. Measured: about 1e-5 of the scale (2e-5 in
# the product tower, which runs twice), under every stlrec kernel variant
# and every XLA ISA limit (--xla_cpu_max_isa). REL = 1e-4 leaves a 5-10x
# margin for other BLAS kernels and thread counts. So a tensor passes when
# |a-b| <= REL*scale + REL*|b| elementwise.
REL = 1e-4

# The error budget of the checks after 5 steps (see ensemble() below):
# MEMBERS perturbed Flax runs, each with gradient errors of the full step-1
# budget injected at every step; a 5-step value may differ from Flax's by
# SPREAD_FACTOR times the largest deviation any member shows there.
MEMBERS = 6
SPREAD_FACTOR = 2.0


class Checks:
    """Collects check results; prints them as they come unless quiet."""

    def __init__(self, prefix="", quiet=False):
        self.prefix, self.quiet = prefix, quiet
        self.results = []   # (ok, name, detail)

    def report(self, ok, name, detail=""):
        name = self.prefix + name
        self.results.append((bool(ok), name, detail))
        if not self.quiet:
            print(f"{'ok' if ok else 'not ok'} {name}{' (' + detail + ')' if detail else ''}")
            sys.stdout.flush()
        return ok

    def close(self, name, a, b, atol, rtol):
        ok, detail = compare(a, b, atol, rtol)
        return self.report(ok, name, detail)

    def failed(self):
        return [r for r in self.results if not r[0]]


def compare(a, b, atol, rtol):
    """|a-b| <= atol + rtol*|b| elementwise: (ok, description of the worst element)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs {b.shape}"
    if a.size == 0:
        return True, "empty"
    if not np.all(np.isfinite(a)):
        return False, "stlrec has non-finite values"
    allowed = np.broadcast_to(atol + rtol * np.abs(b), a.shape)
    excess = np.abs(a - b) - allowed
    i = np.unravel_index(np.argmax(excess), a.shape)
    return bool(np.all(excess <= 0)), (
        f"worst at {tuple(int(x) for x in i)}: stlrec {a[i]:.9g} flax {b[i]:.9g} "
        f"|diff| {abs(a[i] - b[i]):.3g} allowed {allowed[i]:.3g}")


def layer_scales(grads):
    """Largest |value| per layer (kernel and bias together): the scale that
    float32 rounding in a layer's sums is proportional to."""
    scales = {}
    for k, v in grads.items():
        layer = k.rsplit("/", 1)[0]
        scales[layer] = max(scales.get(layer, 0.0), float(np.max(np.abs(v))))
    return lambda k: scales[k.rsplit("/", 1)[0]]


def run(checks, *args, env=None):
    r = subprocess.run([str(x) for x in args], capture_output=True, text=True,
                       env=None if env is None else {**os.environ, **env})
    if r.returncode != 0:
        checks.report(False, "run " + " ".join(str(x) for x in args[:2]), r.stderr.strip()[:400])
        return None
    return r.stdout


def flat(tree):
    return {k: np.asarray(v) for k, v in traverse_util.flatten_dict(tree, sep="/").items()}


def load(path):
    with open(path, "rb") as f:
        return f.read()


def trajectory(step_fn, state, x, noise_for_step=None):
    """STEPS training steps from `state`: what the checks compare, from Flax.
    noise_for_step(s) gives the gradient perturbation of step s (None: none)."""
    t = {"losses": []}
    for s in range(1, STEPS + 1):
        noise = noise_for_step(s) if noise_for_step else None
        state, loss, emb, grads = step_fn(state, x["scene"], x["pos"], x["neg"], noise)
        t["losses"].append(float(loss))
        if s == 1:
            t["emb"] = tuple(np.asarray(e) for e in emb)
            t["grads"] = flat(grads)
            t["stats_1"] = flat(state.params["batch_stats"])
            t["params_1"] = flat(state.params["params"])
    t["losses"] = np.array(t["losses"])
    t["params_n"] = flat(state.params["params"])
    t["stats_n"] = flat(state.params["batch_stats"])
    t["mu"] = flat(state.opt_state[0].mu)
    t["nu"] = flat(state.opt_state[0].nu)
    t["state"] = state
    return t


def ensemble(step_fn, start, x, ref):
    """The error budget of the 5-step checks, measured on the reference.

    A legitimate implementation differs from Flax at step 1 by rounding, at
    most REL * the layer's scale per gradient element (the step-1 budget).
    Through 5 Adam steps that difference grows, and not in proportion:
    Adam's update is lr * m/(sqrt(v)+eps), about lr in size whatever the
    gradient's size, so an element whose gradient is within rounding of zero
    (the conv biases before a BatchNorm, whose true gradient is 0; small
    BatchNorm scales) takes a step of +-lr whose sign is the rounding's. The
    rounding of a computation whose inputs barely change is nearly the same
    at every step, so such an element walks the same way 5 times: the two
    sides may differ by up to 2*5*lr there, every later gradient is taken at
    other parameters, and the moments, losses and running averages after 5
    steps inherit that. How far, depends on this model's curvature on this
    batch: nothing a per-element rule can bound.

    So the budget is measured: MEMBERS runs of Flax itself from the same
    start, each with an error of the full step-1 budget (REL * layer scale,
    5-10x the rounding actually measured, random sign) added to every
    gradient element, the same error at every step (rounding is systematic).
    The members come in antithetic pairs (+e, -e), so every element has a
    member whose error opposes the reference's own rounding: where the sign
    of a step is at stake, some member flips it. spread[k] is, per element,
    the largest |member - reference|. stlrec's kernels (and Flax on another
    CPU, which picks other XLA kernels: the AVX2-only failure of issue 10
    was Flax moving, not stlrec) are one more such member, so a 5-step
    value may differ by SPREAD_FACTOR * spread: 2, because both sides of the
    comparison carry their own rounding and a few members sample each
    element's worst case only roughly.
    """
    gscale = layer_scales({k: v for k, v in ref["grads"].items() if k.startswith("params/")})
    rng = np.random.default_rng(NOISE_SEED)
    template = ref["state"].params

    def signed_budget(sign_of):
        def leaf(path, v):
            k = "/".join(p.key for p in path)
            if not k.startswith("params/"):
                return jnp.zeros_like(v)
            return jnp.asarray(sign_of(k, v.shape) * np.float32(REL * gscale(k)))
        return jax.tree_util.tree_map_with_path(leaf, template)

    spread = {}
    for i in range(MEMBERS // 2):
        if i == 0:
            plus = signed_budget(lambda k, shape: np.ones(shape, np.float32))
        else:
            plus = signed_budget(lambda k, shape: rng.choice(np.array([-1.0, 1.0], np.float32), size=shape))
        minus = jax.tree_util.tree_map(jnp.negative, plus)
        for e in (plus, minus):
            m = trajectory(step_fn, start, x, lambda _s: e)
            for tag in ("losses", "params_n", "stats_n", "mu", "nu"):
                if tag == "losses":
                    d = {"": np.abs(m[tag] - ref[tag])}
                else:
                    d = {k: np.abs(m[tag][k].astype(np.float64) - ref[tag][k]) for k in ref[tag]}
                for k, v in d.items():
                    key = (tag, k)
                    spread[key] = v if key not in spread else np.maximum(spread[key], v)
    return spread


def check_train(chk, tool, work, env, x_u8_path, start_path, ref, spread):
    """stlrec's side of the forward direction under one kernel variant
    (env), compared with the Flax reference `ref`."""
    os.makedirs(work, exist_ok=True)
    p = lambda n: os.path.join(work, n)  # noqa: E731
    if run(chk, tool, "train", start_path, x_u8_path, p("c_dump.msgpack"),
           STEPS, LR, REG, p("c_final.msgpack"), env=env) is None:
        return
    c = serialization.msgpack_restore(load(p("c_dump.msgpack")))
    f_emb, f_grads = ref["emb"], ref["grads"]

    # ---- step 1: both sides start from the same state ----
    # Both branches of each relu in the loss are exercised (or the gradient
    # comparison below would miss one).
    s_, p_, n_ = f_emb
    hinge = 1 + np.sum(s_ * n_, axis=1) - np.sum(s_ * p_, axis=1)
    norms = np.linalg.norm(np.concatenate(f_emb), axis=1)
    n_hinge, n_norm = int(np.sum(hinge > 0)), int(np.sum(norms > 1))
    chk.report(0 < n_norm < 3 * B, "the batch exercises both branches of the norm penalty",
               f"{n_norm} of {3 * B} norms above 1; {n_hinge} of {B} hinges active")

    # The loss sums terms of size about 1 (1 + score differences, norms), so
    # its rounding is relative to 1, not to the loss: measured 3e-7 at step
    # 1, allowed 2e-5 absolute plus 2e-5 relative.
    chk.close("loss step 1", c["loss_1"], ref["losses"][0], 2e-5, 2e-5)
    for i, k in enumerate(("emb_scene", "emb_pos", "emb_neg")):
        chk.close(k + " step 1", c[k], f_emb[i], REL * np.max(np.abs(f_emb[i])), REL)

    # Gradients, on each layer's scale (kernel and bias together). Conv biases
    # feeding a BatchNorm have a true gradient of exactly 0 (BatchNorm
    # subtracts the mean): both sides give rounding noise there, which the
    # layer's scale bounds. The batch statistics get no gradient at all.
    zero_stats = all(np.all(v == 0) for k, v in f_grads.items() if k.startswith("batch_stats/"))
    chk.report(zero_stats, "flax batch_stats gradients are exactly zero (so Adam's mu/nu there are 0)")
    names = sorted(k for k in f_grads if k.startswith("params/"))
    chk.report(len(names) == 2 * (16 * 2 + 12 + 2), "gradient tensor count", f"{len(names)}")
    gscale = layer_scales({k: f_grads[k] for k in names})
    for k in names:
        ck = "grad/" + k
        if ck not in c:
            chk.report(False, ck, "missing from stlrec's dump")
            continue
        chk.close(ck, c[ck], f_grads[k], REL * gscale(k), REL)

    # Running averages after step 1: 0.99*init + 0.01*batch statistic, so the
    # forward's error shrinks 100-fold; the statistics are O(0.01..1):
    # 1e-6 absolute and relative is 10x what we measure.
    for k in sorted(ref["stats_1"]):
        chk.close("stats_1/" + k, c["stats_1/" + k], ref["stats_1"][k], 1e-6, 1e-6)

    # Parameters after step 1. Adam's first update is lr * g/(|g|+eps): a
    # gradient's relative error u/|g| (u = REL * layer scale, its allowed
    # error) becomes an update error of about lr * 2u/|g|, capped at 2*lr
    # where the sign itself is uncertain -- the conv biases before a
    # BatchNorm, whose gradient is pure rounding noise. Per element:
    # lr * (0.01 + min(2, 4u/|g|)); rtol 1e-6 for the values themselves.
    for k in sorted(ref["params_1"]):
        g = np.abs(f_grads["params/" + k]).astype(np.float64)
        u = REL * gscale("params/" + k)
        allowed = LR * (0.01 + np.minimum(2.0, 4 * u / np.maximum(g, 1e-30)))
        chk.close(f"params_1/{k}", c[f"params_1/{k}"], ref["params_1"][k], allowed, 1e-6)

    # ---- after 5 steps: the measured budget of ensemble() ----
    # On top of the spread, each value's own rounding: the losses' 2e-5 (as
    # at step 1); parameters rtol 1e-6 plus 0.01 lr per step (the update
    # error of an element with a well-determined gradient, as at step 1);
    # running averages 1e-5 absolute and relative (10x step 1's, for 5
    # updates, two per step in the product tower); Adam's mu the gradients'
    # REL on the layer's mu scale, nu twice that (squared gradients).
    def spread_of(tag, k=""):
        return SPREAD_FACTOR * spread[(tag, k)]

    chk.close(f"losses 1..{STEPS}", c["losses"], ref["losses"], 2e-5 + spread_of("losses"), 2e-5)
    for k in sorted(ref["params_n"]):
        chk.close(f"params_{STEPS}/{k}", c[f"params_{STEPS}/{k}"], ref["params_n"][k],
                  0.01 * LR * STEPS + spread_of("params_n", k), 1e-6)
    for k in sorted(ref["stats_n"]):
        chk.close(f"stats_{STEPS}/{k}", c[f"stats_{STEPS}/{k}"], ref["stats_n"][k],
                  1e-5 + spread_of("stats_n", k), 1e-5)

    # stlrec's trained model file loads in Flax: step, params, Adam moments.
    c_final = load(p("c_final.msgpack"))
    try:
        loaded = serialization.from_bytes(ref["state"], c_final)
    except Exception as e:  # noqa: BLE001
        chk.report(False, "flax from_bytes loads stlrec's trained model file", repr(e)[:400])
        return
    chk.report(True, "flax from_bytes loads stlrec's trained model file")
    chk.report(int(loaded.step) == STEPS and int(loaded.opt_state[0].count) == STEPS,
               "trained step and adam count", f"{int(loaded.step)}, {int(loaded.opt_state[0].count)}")
    lp = flat(loaded.params["params"])
    chk.report(all(np.array_equal(lp[k], c[f"params_{STEPS}/{k}"]) for k in lp),
               "model file params equal the dump's bit for bit")
    for kind, rel in (("mu", REL), ("nu", 2 * REL)):
        mc = flat(getattr(loaded.opt_state[0], kind))
        mf = ref[kind]
        mscale = layer_scales(mf)
        bad = []
        for k in sorted(mf):
            if k.startswith("batch_stats/"):
                ok, detail = bool(np.all(mc[k] == 0)), "not zero"
            else:
                ok, detail = compare(mc[k], mf[k], rel * mscale(k) + spread_of(kind, k), rel)
            if not ok:
                bad.append(f"{k}: {detail}")
        chk.report(not bad, f"adam {kind} after {STEPS} steps ({len(mf)} tensors)", "; ".join(bad[:3]))
    # Re-serialised by Flax into a target of the same key order, the bytes
    # are stlrec's: the layout is Flax's own, byte for byte.
    chk.report(serialization.to_bytes(loaded) == c_final,
               "flax to_bytes(from_bytes(stlrec file)) == stlrec file")


def check_inference(chk, tool, work, env, f_trained_path, x_u8_path, expected):
    """stlrec's inference embeddings of a Flax-trained file (reverse)."""
    out = os.path.join(work, "c_embed.msgpack")
    if run(chk, tool, "embed", f_trained_path, x_u8_path, out, env=env) is None:
        return
    ce = serialization.msgpack_restore(load(out))
    # Inference: the training forward with the running averages instead of
    # batch statistics: the same tolerance as the embeddings at step 1.
    for name in ("scene", "pos", "neg"):
        b = expected[name]
        chk.close(f"reverse: inference embeddings of {name}", ce[name], b,
                  REL * np.max(np.abs(b)), REL)


def read_mutants():
    """tests/parity/mutants.txt: name -> (caught_by prefixes, only)."""
    out = {}
    with open(os.path.join(HERE, "mutants.txt")) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            fields = [x.strip() for x in line.split("|")]
            caught = fields[4]
            only = caught.startswith("only:")
            out[fields[0]] = ([x.strip() for x in caught.removeprefix("only:").split(",")], only)
    return out


def judge_mutant(chk, name, isa, caught_by, only, results):
    failed = [n for ok, n, _ in results if not ok]
    hit = [n for n in failed if any(n.startswith(pfx) for pfx in caught_by)]
    stray = [n for n in failed if n not in hit]
    ok = bool(hit) and not (only and stray)
    detail = (f"{len(hit)} of {len(results)} checks fail as they must, e.g. {hit[0]}" if hit
              else f"no check among {', '.join(caught_by)} fails")
    if only and stray:
        detail += f"; but also {len(stray)} others, e.g. {stray[0]}"
    chk.report(ok, f"[mutant {name}, {isa}] caught", detail)


def parse_args(argv):
    if len(argv) < 3:
        return None
    tool, work, isas, mutants = argv[1], argv[2], [], []
    i = 3
    while i < len(argv):
        if argv[i] == "--isa" and i + 1 < len(argv):
            isas.append(argv[i + 1])
            i += 2
        elif argv[i] == "--mutant" and i + 2 < len(argv):
            mutants.append((argv[i + 1], argv[i + 2]))
            i += 3
        else:
            return None
    return tool, work, isas or [None], mutants


def main():
    args = parse_args(sys.argv)
    if args is None:
        print(__doc__.strip().splitlines()[-2] + "\n" + __doc__.strip().splitlines()[-1],
              file=sys.stderr)
        return 2
    tool, work, isas, mutants = args
    os.makedirs(work, exist_ok=True)
    p = lambda n: os.path.join(work, n)  # noqa: E731
    chk = Checks()

    # The fixed batch: uint8 pixels; both sides normalise p/255 - 0.5.
    rng = np.random.default_rng(BATCH_SEED)
    u8 = {k: rng.integers(0, 256, size=(B, S, S, 3), dtype=np.uint8) for k in ("scene", "pos", "neg")}
    with open(p("batch.msgpack"), "wb") as f:
        f.write(serialization.msgpack_serialize(u8))
    x = {k: jnp.asarray(v.astype(np.float32) / np.float32(255) - np.float32(0.5)) for k, v in u8.items()}

    step_fn = fm.make_train_step(REG)
    embed_fn = fm.make_embed(OUT)
    target = fm.create_state(OUT, S, LR, seed=JAX_SEED)

    # ---------------- forward: stlrec's model file into Flax ----------------
    if run(chk, tool, "init", p("c_init.msgpack"), OUT, C_SEED) is None:
        return finish(chk)
    try:
        state = serialization.from_bytes(target, load(p("c_init.msgpack")))
        chk.report(True, "flax from_bytes loads stlrec's initial model file")
    except Exception as e:  # noqa: BLE001
        chk.report(False, "flax from_bytes loads stlrec's initial model file", repr(e)[:400])
        return finish(chk)
    chk.report(int(state.step) == 0, "initial step is 0", f"step {int(state.step)}")
    check_init(chk, flat(state.params))

    # At initialisation every embedding norm is far below 1, so the norm
    # penalty (and its gradient) would never be exercised. Scale both Dense
    # kernels (biases are 0) so that the median of the 3B embedding norms is
    # 1: about half the penalties are active, and the scores spread so that
    # hinges may be active or not. Both sides start from this state, which
    # Flax writes and stlrec reads.
    _, _, (es, ep, en), _ = step_fn(state, x["scene"], x["pos"], x["neg"])
    e_all = np.concatenate([np.asarray(es), np.asarray(ep), np.asarray(en)])
    k = np.float32(1.0 / np.median(np.linalg.norm(e_all, axis=1)))
    pp = jax.tree_util.tree_map(lambda v: v, state.params)
    for tower in ("scene_cnn", "product_cnn"):
        pp["params"][tower]["Dense_0"]["kernel"] = pp["params"][tower]["Dense_0"]["kernel"] * k
    start = state.replace(params=pp)
    with open(p("start.msgpack"), "wb") as f:
        f.write(serialization.to_bytes(start))

    ref = trajectory(step_fn, start, x)
    spread = ensemble(step_fn, start, x, ref)
    # Flax's side under the dump's names, for looking into a failure.
    fd = {"loss_1": np.float32(ref["losses"][0]), "losses": ref["losses"].astype(np.float32),
          "emb_scene": ref["emb"][0], "emb_pos": ref["emb"][1], "emb_neg": ref["emb"][2]}
    fd.update({"grad/" + k: v for k, v in ref["grads"].items()})
    for tag, name in (("stats_1", "stats_1"), ("params_1", "params_1"),
                      ("params_n", f"params_{STEPS}"), ("stats_n", f"stats_{STEPS}")):
        fd.update({f"{name}/{k}": v for k, v in ref[tag].items()})
    with open(p("f_dump.msgpack"), "wb") as f:
        f.write(serialization.msgpack_serialize(fd))

    # ---------------- reverse: Flax's model file into stlrec ----------------
    # Flax's own initialisation (JAX PRNG), 2 training steps, and running
    # averages set to random values so that inference visibly depends on them
    # (after 2 steps they are still near 0/1).
    f_init_bytes = serialization.to_bytes(target)
    fstate = target
    for _ in range(2):
        fstate, _, _, _ = step_fn(fstate, x["scene"], x["pos"], x["neg"])
    srng = np.random.default_rng(BATCH_SEED + 1)
    stats = jax.tree_util.tree_map_with_path(
        lambda path, v: (srng.uniform(0.5, 2.0, v.shape) if path[-1].key == "var"
                         else srng.normal(0.0, 0.2, v.shape)).astype(np.float32),
        fstate.params["batch_stats"])
    fstate = fstate.replace(params={"batch_stats": stats, "params": fstate.params["params"]})
    f_bytes = serialization.to_bytes(fstate)
    with open(p("f_trained.msgpack"), "wb") as f:
        f.write(f_bytes)
    variables = {"params": fstate.params["params"], "batch_stats": fstate.params["batch_stats"]}
    fs, fpos = embed_fn(variables, x["scene"], x["pos"])
    _, fneg = embed_fn(variables, x["scene"], x["neg"])
    expected = {"scene": np.asarray(fs), "pos": np.asarray(fpos), "neg": np.asarray(fneg)}

    # ---------------- each kernel variant against the one reference ----------------
    for isa in isas:
        env = {} if isa is None else {"STL_ISA": isa}
        vchk = Checks(prefix="" if isa is None else f"[{isa}] ")
        if isa is not None:
            active = run(vchk, tool, "isa", "--active", env=env)
            vchk.report(active is not None and active.strip() == isa, f"the {isa} kernels run",
                        f"parity_step isa --active says {(active or '').strip()}")
        sub = p(isa or "default")
        check_train(vchk, tool, sub, env, p("batch.msgpack"), p("start.msgpack"), ref, spread)
        check_inference(vchk, tool, sub, env, p("f_trained.msgpack"), p("batch.msgpack"), expected)
        chk.results += vchk.results

    # The file interop does not depend on the kernels: once.
    if run(chk, tool, "rewrite", p("f_trained.msgpack"), p("f_rewritten.msgpack")) is not None:
        chk.report(load(p("f_rewritten.msgpack")) == f_bytes,
                   "stlrec rewrites Flax's trained file byte for byte")
    # Flax's untrained file (step a plain int 0, keys in creation order) reads too.
    with open(p("f_init.msgpack"), "wb") as f:
        f.write(f_init_bytes)
    if run(chk, tool, "rewrite", p("f_init.msgpack"), p("f_init_re.msgpack")) is not None:
        back = serialization.from_bytes(target, load(p("f_init_re.msgpack")))
        a, b = flat(back.params), flat(target.params)
        chk.report(all(np.array_equal(a[k], b[k]) for k in b), "Flax's initial file round-trips through stlrec")

    # ---------------- planted bugs must be caught under every variant ----------------
    known = read_mutants() if mutants else {}
    for name, mtool in mutants:
        if name not in known:
            chk.report(False, f"[mutant {name}] is listed in tests/parity/mutants.txt")
            continue
        caught_by, only = known[name]
        for isa in isas:
            env = {} if isa is None else {"STL_ISA": isa}
            mchk = Checks(quiet=True)
            check_train(mchk, mtool, p(f"mutant-{name}-{isa}"), env, p("batch.msgpack"),
                        p("start.msgpack"), ref, spread)
            judge_mutant(chk, name, isa or "default", caught_by, only, mchk.results)
    return finish(chk)


def check_init(chk, params):
    """stlrec's initialisation has Flax's distribution: kernels LeCun normal
    (truncated at 2 sigma, rescaled to std sqrt(1/fan_in)), biases 0, scales
    1, running mean 0, var 1."""
    bad = []
    for k, v in params.items():
        if k.endswith("/bias") or k.endswith("/mean"):
            if np.any(v != 0):
                bad.append(k)
        elif k.endswith("/scale") or k.endswith("/var"):
            if np.any(v != 1):
                bad.append(k)
        elif k.endswith("/kernel"):
            fan_in = int(np.prod(v.shape[:-1]))
            std = np.sqrt(1.0 / fan_in)
            # Truncation at 2 sigma of the unscaled normal (sigma = std/0.8796).
            if np.max(np.abs(v)) > 2 * std / 0.87962566 * (1 + 1e-5):
                bad.append(k + " (beyond 2 sigma)")
            # Sample std within 5 standard errors of the target.
            if v.size >= 1000 and abs(np.std(v) / std - 1) > 5 / np.sqrt(2 * v.size) + 0.01:
                bad.append(f"{k} (std {np.std(v):.4g} vs {std:.4g})")
    chk.report(not bad, "stlrec init matches Flax's initialisers", ", ".join(bad[:4]))


def finish(chk):
    failed = len(chk.failed())
    print(f"{len(chk.results) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
