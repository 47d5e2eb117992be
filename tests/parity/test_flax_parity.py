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

Every comparison is |a - b| <= atol + rtol*|b| (b: Flax) per element, the
worst element reported. Prints "ok ..."/"not ok ..." per check and a closing
"N passed, N failed"; exits 1 on any failure.

usage: .venv/bin/python tests/parity/test_flax_parity.py PARITY_STEP_BINARY WORKDIR
"""
import os
import sys

os.environ["JAX_PLATFORMS"] = "cpu"

import subprocess  # noqa: E402

import numpy as np  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax import serialization, traverse_util  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flax_model as fm  # noqa: E402

B, S, OUT = 4, 64, 8      # small, so that the test (jit compile included) is quick
LR, REG, STEPS = 1.6e-4, 0.2, 5
C_SEED, JAX_SEED, BATCH_SEED = 11, 42, 7

passed = 0
failed = 0


def report(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok {name}{' (' + detail + ')' if detail else ''}")
    else:
        failed += 1
        print(f"not ok {name}{' (' + detail + ')' if detail else ''}")
    sys.stdout.flush()


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


def close(name, a, b, atol, rtol):
    ok, detail = compare(a, b, atol, rtol)
    report(ok, name, detail)
    return ok


def layer_scales(grads):
    """Largest |value| per layer (kernel and bias together): the scale that
    float32 rounding in a layer's sums is proportional to."""
    scales = {}
    for k, v in grads.items():
        layer = k.rsplit("/", 1)[0]
        scales[layer] = max(scales.get(layer, 0.0), float(np.max(np.abs(v))))
    return lambda k: scales[k.rsplit("/", 1)[0]]


def run(*args):
    r = subprocess.run([str(x) for x in args], capture_output=True, text=True)
    if r.returncode != 0:
        report(False, "run " + " ".join(str(x) for x in args[:2]), r.stderr.strip()[:400])
        return False
    return True


def flat(tree):
    return {k: np.asarray(v) for k, v in traverse_util.flatten_dict(tree, sep="/").items()}


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    tool, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    p = lambda n: os.path.join(work, n)  # noqa: E731

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
    if not run(tool, "init", p("c_init.msgpack"), OUT, C_SEED):
        return finish()
    with open(p("c_init.msgpack"), "rb") as f:
        c_init = f.read()
    try:
        state = serialization.from_bytes(target, c_init)
        report(True, "flax from_bytes loads stlrec's initial model file")
    except Exception as e:  # noqa: BLE001
        report(False, "flax from_bytes loads stlrec's initial model file", repr(e)[:400])
        return finish()
    report(int(state.step) == 0, "initial step is 0", f"step {int(state.step)}")
    check_init(flat(state.params))

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
    state = state.replace(params=pp)
    with open(p("start.msgpack"), "wb") as f:
        f.write(serialization.to_bytes(state))

    if not run(tool, "train", p("start.msgpack"), p("batch.msgpack"), p("c_dump.msgpack"),
               STEPS, LR, REG, p("c_final.msgpack")):
        return finish()
    with open(p("c_dump.msgpack"), "rb") as f:
        c = serialization.msgpack_restore(f.read())

    losses = []
    for s in range(1, STEPS + 1):
        state, loss, (es, ep, en), grads = step_fn(state, x["scene"], x["pos"], x["neg"])
        losses.append(float(loss))
        if s == 1:
            f_emb = (np.asarray(es), np.asarray(ep), np.asarray(en))
            f_grads = flat(grads)
            f_stats1 = flat(state.params["batch_stats"])
            f_params1 = flat(state.params["params"])
    f_params5 = flat(state.params["params"])
    f_stats5 = flat(state.params["batch_stats"])
    # Flax's side under the dump's names, for looking into a failure.
    fd = {"loss_1": np.float32(losses[0]), "losses": np.array(losses, np.float32),
          "emb_scene": f_emb[0], "emb_pos": f_emb[1], "emb_neg": f_emb[2]}
    fd.update({"grad/" + k: v for k, v in f_grads.items()})
    for tag, t in (("stats_1", f_stats1), ("params_1", f_params1),
                   (f"params_{STEPS}", f_params5), (f"stats_{STEPS}", f_stats5)):
        fd.update({f"{tag}/{k}": v for k, v in t.items()})
    with open(p("f_dump.msgpack"), "wb") as f:
        f.write(serialization.msgpack_serialize(fd))

    # The unit of float32 agreement. XLA's convolutions and stlrec's im2col
    # GEMMs sum in different orders, so every value carries rounding error
    # proportional to the magnitudes summed, i.e. to the scale of the tensor
    # (or of the layer, for a gradient), not to the element itself: elements
    # near zero come out of cancellation. Measured here: about 1e-5 of the
    # scale (2e-5 in the product tower, which runs twice); REL = 1e-4 leaves a
    # 5-10x margin for other BLAS kernels and thread counts. So a tensor
    # passes when |a-b| <= REL*scale + REL*|b| elementwise.
    REL = 1e-4

    # Both branches of each relu in the loss are exercised (or the gradient
    # comparison below would miss one).
    s_, p_, n_ = f_emb
    hinge = 1 + np.sum(s_ * n_, axis=1) - np.sum(s_ * p_, axis=1)
    norms = np.linalg.norm(np.concatenate(f_emb), axis=1)
    n_hinge, n_norm = int(np.sum(hinge > 0)), int(np.sum(norms > 1))
    report(0 < n_norm < 3 * B, "the batch exercises both branches of the norm penalty",
           f"{n_norm} of {3 * B} norms above 1; {n_hinge} of {B} hinges active")

    # The loss sums terms of size about 1 (1 + score differences, norms), so
    # its rounding is relative to 1, not to the loss, which falls to ~0.06 by
    # step 5: measured 2.4e-7, allowed 2e-5 absolute plus 2e-5 relative.
    close("loss step 1", c["loss_1"], losses[0], 2e-5, 2e-5)
    close(f"losses 1..{STEPS}", c["losses"], np.array(losses), 2e-5, 2e-5)
    for i, k in enumerate(("emb_scene", "emb_pos", "emb_neg")):
        close(k + " step 1", c[k], f_emb[i], REL * np.max(np.abs(f_emb[i])), REL)

    # Gradients, on each layer's scale (kernel and bias together). Conv biases
    # feeding a BatchNorm have a true gradient of exactly 0 (BatchNorm
    # subtracts the mean): both sides give rounding noise there, which the
    # layer's scale bounds. The batch statistics get no gradient at all.
    zero_stats = all(np.all(v == 0) for k, v in f_grads.items() if k.startswith("batch_stats/"))
    report(zero_stats, "flax batch_stats gradients are exactly zero (so Adam's mu/nu there are 0)")
    names = sorted(k for k in f_grads if k.startswith("params/"))
    report(len(names) == 2 * (16 * 2 + 12 + 2), "gradient tensor count", f"{len(names)}")
    gscale = layer_scales({k: f_grads[k] for k in names})
    for k in names:
        ck = "grad/" + k
        if ck not in c:
            report(False, ck, "missing from stlrec's dump")
            continue
        close(ck, c[ck], f_grads[k], REL * gscale(k), REL)

    # Running averages after step 1: 0.99*init + 0.01*batch statistic, so the
    # forward's error shrinks 100-fold; the statistics are O(0.01..1):
    # 1e-6 absolute and relative is 10x what we measure.
    for k in sorted(f_stats1):
        close("stats_1/" + k, c["stats_1/" + k], f_stats1[k], 1e-6, 1e-6)

    # Parameters. Adam's update is lr * m/(sqrt(v)+eps): about lr in size
    # whatever the gradient's size, so a gradient's relative error u/|g|
    # (u = REL * layer scale, its allowed error) becomes an update error of
    # about lr * 2u/|g|, capped at 2*lr where the sign itself is uncertain --
    # which is the case for the conv biases before a BatchNorm, whose
    # gradient is pure rounding noise and whose parameters therefore drift by
    # up to +-lr per step differently on each side. Per element and step:
    # lr * (0.01 + min(2, 4u/|g|)); rtol 1e-6 for the values themselves.
    for tag, fp, nsteps in (("params_1", f_params1, 1), (f"params_{STEPS}", f_params5, STEPS)):
        for k in sorted(fp):
            g = np.abs(f_grads["params/" + k]).astype(np.float64)
            u = REL * gscale("params/" + k)
            per_step = LR * (0.01 + np.minimum(2.0, 4 * u / np.maximum(g, 1e-30)))
            close(f"{tag}/{k}", c[f"{tag}/{k}"], fp[k], nsteps * per_step, 1e-6)

    # Running averages after 5 steps. Variances: as after step 1 (a conv bias
    # does not change a variance), 1e-5. Means: each step adds 0.01 * the
    # batch mean of a conv output, which includes that conv's bias, and those
    # biases may differ by 2*lr per step taken (above): after 5 steps the
    # means may differ by 0.01 * 2*lr * (0+1+2+3+4), twice that in the product
    # tower (two updates per step); 1e-5 for the rest.
    drift = 2 * 0.01 * 2 * LR * (STEPS * (STEPS - 1) / 2)
    for k in sorted(f_stats5):
        atol = 1e-5 + (drift if k.endswith("/mean") else 0.0)
        close(f"stats_{STEPS}/{k}", c[f"stats_{STEPS}/{k}"], f_stats5[k], atol, 1e-5)

    # stlrec's trained model file loads in Flax: step, params, Adam moments.
    with open(p("c_final.msgpack"), "rb") as f:
        c_final = f.read()
    try:
        loaded = serialization.from_bytes(state, c_final)
    except Exception as e:  # noqa: BLE001
        report(False, "flax from_bytes loads stlrec's trained model file", repr(e)[:400])
        loaded = None
    if loaded is not None:
        report(True, "flax from_bytes loads stlrec's trained model file")
        report(int(loaded.step) == STEPS and int(loaded.opt_state[0].count) == STEPS,
               "trained step and adam count", f"{int(loaded.step)}, {int(loaded.opt_state[0].count)}")
        lp = flat(loaded.params["params"])
        report(all(np.array_equal(lp[k], c[f"params_{STEPS}/{k}"]) for k in lp),
               "model file params equal the dump's bit for bit")
        # Adam moments after 5 steps: mu averages the gradients (their
        # tolerance, on the layer's mu scale), nu averages squared gradients
        # (twice the relative error, on the layer's nu scale). The batch
        # statistics' moments are exactly zero on both sides.
        for kind, rel in (("mu", REL), ("nu", 2 * REL)):
            mc = flat(getattr(loaded.opt_state[0], kind))
            mf = flat(getattr(state.opt_state[0], kind))
            mscale = layer_scales(mf)
            bad = []
            for k in sorted(mf):
                if k.startswith("batch_stats/"):
                    ok, detail = bool(np.all(mc[k] == 0)), "not zero"
                else:
                    ok, detail = compare(mc[k], mf[k], rel * mscale(k), rel)
                if not ok:
                    bad.append(f"{k}: {detail}")
            report(not bad, f"adam {kind} after {STEPS} steps ({len(mf)} tensors)", "; ".join(bad[:3]))
        # Re-serialised by Flax into a target of the same key order, the bytes
        # are stlrec's: the layout is Flax's own, byte for byte.
        report(serialization.to_bytes(loaded) == c_final,
               "flax to_bytes(from_bytes(stlrec file)) == stlrec file")

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
    if run(tool, "embed", p("f_trained.msgpack"), p("batch.msgpack"), p("c_embed.msgpack")):
        with open(p("c_embed.msgpack"), "rb") as f:
            ce = serialization.msgpack_restore(f.read())
        variables = {"params": fstate.params["params"], "batch_stats": fstate.params["batch_stats"]}
        fs, fpos = embed_fn(variables, x["scene"], x["pos"])
        _, fneg = embed_fn(variables, x["scene"], x["neg"])
        # Inference: the training forward with the running averages instead
        # of batch statistics: the same tolerance as the embeddings above.
        for name, a, b in (("scene", ce["scene"], fs), ("pos", ce["pos"], fpos),
                           ("neg", ce["neg"], fneg)):
            b = np.asarray(b)
            close(f"reverse: inference embeddings of {name}", a, b, REL * np.max(np.abs(b)), REL)
    if run(tool, "rewrite", p("f_trained.msgpack"), p("f_rewritten.msgpack")):
        with open(p("f_rewritten.msgpack"), "rb") as f:
            report(f.read() == f_bytes, "stlrec rewrites Flax's trained file byte for byte")
    # Flax's untrained file (step a plain int 0, keys in creation order) reads too.
    with open(p("f_init.msgpack"), "wb") as f:
        f.write(f_init_bytes)
    if run(tool, "rewrite", p("f_init.msgpack"), p("f_init_re.msgpack")):
        with open(p("f_init_re.msgpack"), "rb") as f:
            back = serialization.from_bytes(target, f.read())
        a, b = flat(back.params), flat(target.params)
        report(all(np.array_equal(a[k], b[k]) for k in b), "Flax's initial file round-trips through stlrec")
    return finish()


def check_init(params):
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
    report(not bad, "stlrec init matches Flax's initialisers", ", ".join(bad[:4]))


def finish():
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
