"""flax_model.py — the model of docs/model.md in Flax linen: the parity reference.

Written for stlrec's parity test (tests/parity/test_flax_parity.py) after the
book's Flax code, with one deliberate difference: a training step keeps the
BatchNorm running averages it computes (the book throws them away). The train
state's `params` holds both the `params` and the `batch_stats` subtrees, as
the book's code stores them, so `flax.serialization.to_bytes(state)` writes
exactly the layout of stlrec's model files (docs/formats.md).

Run with the project venv (.venv/bin/python), JAX on the CPU.
"""
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from typing import Sequence  # noqa: E402

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402
from flax.training import train_state  # noqa: E402

FILTERS = (16, 32, 64, 128)


class CNN(nn.Module):
    """One tower: four residual blocks, global mean, Dense."""
    filters: Sequence[int]
    output_size: int

    @nn.compact
    def __call__(self, x, train: bool):
        def bn(y):
            return nn.BatchNorm(use_running_average=not train, use_bias=False,
                                momentum=0.99, epsilon=1e-5)(y)
        for f in self.filters:
            residual = nn.Conv(f, (3, 3), (2, 2))(x)
            x = nn.Conv(f, (3, 3), (2, 2))(x)
            x = nn.swish(bn(x))
            x = nn.Conv(f, (1, 1), (1, 1))(x)
            x = nn.swish(bn(x))
            x = nn.Conv(f, (1, 1), (1, 1))(x)
            x = bn(x)
            x = x + residual
            x = nn.avg_pool(x, (3, 3), strides=(2, 2), padding="SAME")
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(self.output_size)(x)


class STLModel(nn.Module):
    """Two towers; the product tower runs once on positives, once on negatives."""
    output_size: int

    def setup(self):
        self.scene_cnn = CNN(FILTERS, self.output_size)
        self.product_cnn = CNN(FILTERS, self.output_size)

    def get_scene_embed(self, scene, train: bool = False):
        return self.scene_cnn(scene, train)

    def get_product_embed(self, product, train: bool = False):
        return self.product_cnn(product, train)

    def __call__(self, scene, pos, neg, train: bool):
        scene_embed = self.scene_cnn(scene, train)
        pos_embed = self.product_cnn(pos, train)
        neg_embed = self.product_cnn(neg, train)
        pos_score = jnp.sum(scene_embed * pos_embed, axis=-1)
        neg_score = jnp.sum(scene_embed * neg_embed, axis=-1)
        return pos_score, neg_score, scene_embed, pos_embed, neg_embed


def create_state(output_size, size, lr, seed=0):
    """A TrainState with params = {params, batch_stats}, as the book builds it."""
    model = STLModel(output_size)
    x = jnp.zeros((1, size, size, 3), jnp.float32)
    variables = model.init(jax.random.PRNGKey(seed), x, x, x, train=False)
    variables = {"params": variables["params"], "batch_stats": variables["batch_stats"]}
    return train_state.TrainState.create(apply_fn=model.apply, params=variables,
                                         tx=optax.adam(lr))


def loss_fn(params, apply_fn, scene, pos, neg, reg):
    """The triplet loss of docs/model.md; also returns embeddings and new stats."""
    (pos_score, neg_score, s, p, n), updates = apply_fn(
        params, scene, pos, neg, train=True, mutable=["batch_stats"])
    batch = scene.shape[0]
    hinge = jnp.sum(jax.nn.relu(1.0 + neg_score - pos_score))
    norms = sum(jnp.sum(jax.nn.relu(jnp.linalg.norm(e, axis=-1) - 1.0)) for e in (s, p, n))
    loss = (hinge + reg * norms) / batch
    return loss, (s, p, n, updates["batch_stats"])


def make_train_step(reg):
    """One step: grads w.r.t. the whole params tree (batch_stats grads are
    zero), optax.adam over it, then the new running averages replace
    params['batch_stats'] (stlrec keeps them; the book did not).

    step(state, scene, pos, neg, noise=None): `noise`, a tree shaped like
    the params, is added to the gradients before Adam sees them (the
    parity test's perturbation ensemble); the returned grads are the
    unperturbed ones. No noise is a tree of zeros (x + 0 is x), so both
    kinds of call share one compiled step."""
    @jax.jit
    def step(state, scene, pos, neg, noise):
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, (s, p, n, stats)), grads = grad_fn(state.params, state.apply_fn,
                                                  scene, pos, neg, reg)
        state = state.apply_gradients(grads=jax.tree_util.tree_map(jnp.add, grads, noise))
        new_params = dict(state.params)
        new_params["batch_stats"] = stats
        state = state.replace(params=new_params)
        return state, loss, (s, p, n), grads

    def call(state, scene, pos, neg, noise=None):
        if noise is None:
            noise = jax.tree_util.tree_map(jnp.zeros_like, state.params)
        return step(state, scene, pos, neg, noise)
    return call


def make_embed(output_size):
    model = STLModel(output_size)

    @jax.jit
    def embed(variables, scene, product):
        s = model.apply(variables, scene, method=STLModel.get_scene_embed)
        p = model.apply(variables, product, method=STLModel.get_product_embed)
        return s, p
    return embed
