"""Trained networks for the representation-dynamics theory: pairs of inputs (two-point task,
XOR, MNIST-1D pairs) with rich, intermediate and lazy initialisations, and deep linear
networks; the measured h, y, w per step are compared with
:mod:`springblock.numerics.dynamics.solve`.

Networks follow the authors' setup (van Rossem & Saxe 2024; GitHub
loekvanrossem/universality, ``source/models.py`` and ``experiments/model_settings``): an MLP
of ``hidden_layers`` hidden layers of width ``width`` with bias, weights drawn from
Xavier-normal with gain g (std g sqrt(2/(fan_in + fan_out))), zero biases, leaky ReLU
(negative slope 0.01, PyTorch's default) or tanh/linear, trained by full-batch gradient
descent on (1/2) MSE (mean over points and output units). The gain sets the regime: small
gains shrink the signal through the depth (rich: h0, y0 -> 0), large gains inflate it
(lazy). The representation is the activation (after the nonlinearity) of hidden layer
``tracked_layer`` (0-based, as the authors' ``model(x)[1][hidden_layer]``).

Measured for every pair (i, j) at every step: h = |r_i - r_j|^2, y = |f_i - f_j|^2 and
w = (f_i - f_j).((f_i - f_j) - (t_i - t_j)), the authors' ``get_h_y_w``. Training time t
counts steps, so fitted rates are per step.

Deep linear networks (Saxe, McClelland, Ganguli 2014): inputs x_i = sqrt(k) e_i (whitened:
(1/k) sum x x^T = I), targets y_i = sqrt(k) U S V^T e_i, so the input-output correlation is
U S V^T; a chain of ``depth`` square matrices initialised balanced and aligned
(W_1 = a V^T, W_l = a I, W_D = a U, a = u0^(1/D)) trained by gradient descent with rate lr
on (1/(2k)) sum |y_i - W x_i|^2. Each mode strength u_alpha = U_alpha^T W V_alpha then
follows tau du/dt = D u^(2-2/D)(s - u) with tau = 1/lr, t = steps, up to O(lr) from the
discrete steps.

The settings (:class:`NetConfig`, :data:`REGIME_GAINS`, the size limits) live in
:mod:`springblock.validation.dynamics.config`, which imports no jax, and are re-exported
here.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from springblock.numerics.compile import x64
from springblock.numerics.dynamics import solve as ds
from springblock.params import ParameterError, check_int, check_real
from springblock.validation.dynamics.config import (  # noqa: F401  # re-exported
    MAX_DEPTH,
    MAX_GAIN,
    MAX_HIDDEN_LAYERS,
    MAX_MODES,
    MAX_STEPS,
    MAX_WEIGHTS,
    MAX_WIDTH,
    NONLINEARITIES,
    REGIME_GAINS,
    NetConfig,
    default_lr,
    stability_limit,
)


def _activation(name: str):
    if name == "leaky_relu":
        return lambda z: jax.nn.leaky_relu(z, 0.01)
    if name == "tanh":
        return jnp.tanh
    return lambda z: z


def init_mlp(key: PRNGKeyArray, sizes: tuple[int, ...], gain) -> list:
    """Xavier-normal weights (std gain sqrt(2/(fan_in + fan_out))) and zero biases."""
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (
            gain * math.sqrt(2.0 / (n_in + n_out)) * jax.random.normal(k, (n_out, n_in)),
            jnp.zeros(n_out),
        )
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def forward(params, x: Float[Array, "p d"], nonlinearity: str, tracked: int):
    """(outputs, activation of hidden layer ``tracked``)."""
    sigma = _activation(nonlinearity)
    a, rep = x, None
    for i, (w, b) in enumerate(params):
        a = a @ w.T + b[None, :]
        if i < len(params) - 1:
            a = sigma(a)
            if i == tracked:
                rep = a
    return a, rep


def pair_indices(points: int) -> tuple[np.ndarray, np.ndarray]:
    pairs = np.array(list(itertools.combinations(range(points), 2)))
    return pairs[:, 0], pairs[:, 1]


def _pair_measures(rep, out, targets, first, second):
    dr = rep[first] - rep[second]
    df = out[first] - out[second]
    dt = targets[first] - targets[second]
    return (jnp.sum(dr**2, axis=-1), jnp.sum(df**2, axis=-1), jnp.sum(df * (df - dt), axis=-1))


@functools.cache
def _trainer(
    width: int,
    hidden_layers: int,
    tracked: int,
    nonlinearity: str,
    in_dim: int,
    out_dim: int,
    points: int,
    records: int,
):
    """Compiled training run measuring the pairs ``records`` + 1 times; gain, learning rate
    and the steps between measurements are traced, so one compilation serves every
    regime and every run length of an architecture."""
    first, second = pair_indices(points)
    sizes = (in_dim, *([width] * hidden_layers), out_dim)

    def loss(params, x, targets):
        out, _ = forward(params, x, nonlinearity, tracked)
        return 0.5 * jnp.mean((out - targets) ** 2)

    grad = jax.grad(loss)

    def measure(params, x, targets):
        out, rep = forward(params, x, nonlinearity, tracked)
        return (*_pair_measures(rep, out, targets, first, second), loss(params, x, targets))

    def run(key, x, targets, gain, lr, gaps):
        params = init_mlp(key, sizes, gain)

        def step(_, p):
            g = grad(p, x, targets)
            return jax.tree_util.tree_map(lambda a, b: a - lr * b, p, g)

        def block(params, gap):
            record = measure(params, x, targets)
            return jax.lax.fori_loop(0, gap, step, params), record

        params, records = jax.lax.scan(block, params, gaps)
        last = measure(params, x, targets)
        return tuple(
            jnp.concatenate([r, l[None]], axis=0) for r, l in zip(records, last, strict=True)
        )

    return jax.jit(run)


def record_steps(steps: int, records: int) -> np.ndarray:
    """``records`` + 1 measurement steps from 0 to ``steps``, as evenly spaced as integers
    allow (round(linspace(0, steps, records + 1)); distinct because records <= steps)."""
    steps = check_int("steps", steps, 1, MAX_STEPS)
    records = check_int("records", records, 1, steps)
    return np.rint(np.linspace(0, steps, records + 1)).astype(np.int64)


class PairRun(NamedTuple):
    """Measured pair trajectories (pairs, times) of one trained net; ``times`` are steps."""

    times: np.ndarray
    h: np.ndarray
    y: np.ndarray
    w: np.ndarray
    loss: np.ndarray
    dx2: np.ndarray
    dy2: np.ndarray
    pairs: np.ndarray  # (pairs, 2) point indices


@x64
def train_pairs(
    config: NetConfig,
    inputs,
    targets,
    *,
    seed: int = 0,
    every: int = 1,
    records: int | None = None,
) -> PairRun:
    """Train one net on ``inputs`` (P, d) -> ``targets`` (P, k) and record h, y, w of every
    pair of points at ``records`` + 1 evenly spaced steps (:func:`record_steps`), or, when
    ``records`` is None, every ``every`` steps (a divisor of the steps) and after the last.
    Raises :class:`~springblock.params.ParameterError` naming ``lr`` if training diverged
    (a non-finite loss or measurement), so no non-finite trajectory is returned."""
    seed = check_int("seed", seed, 0, 2**31 - 1)
    if records is None:
        every = check_int("every", every, 1, config.steps)
        if config.steps % every:
            raise ParameterError("every", every, f"a divisor of steps={config.steps}")
        records = config.steps // every
    when = record_steps(config.steps, records)
    x = np.asarray(inputs, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    if x.ndim != 2 or t.ndim != 2 or x.shape[0] != t.shape[0] or x.shape[0] < 2:
        raise ParameterError("inputs", x.shape, "(P >= 2, d) with targets (P, k)")
    fn = _trainer(
        config.width,
        config.hidden_layers,
        config.tracked_layer,
        config.nonlinearity,
        x.shape[1],
        t.shape[1],
        x.shape[0],
        records,
    )
    h, y, w, loss = (
        np.asarray(v)
        for v in fn(
            jax.random.PRNGKey(seed),
            jnp.asarray(x),
            jnp.asarray(t),
            config.gain,
            config.lr,
            jnp.asarray(np.diff(when)),
        )
    )
    bad = ~(
        np.isfinite(loss) & np.isfinite(h).all(1) & np.isfinite(y).all(1) & np.isfinite(w).all(1)
    )
    if bad.any():
        raise ParameterError(
            "lr",
            config.lr,
            f"small enough for gradient descent to stay finite (gain {config.gain:g}: "
            f"non-finite loss or h, y, w from step {int(when[np.argmax(bad)])})",
        )
    first, second = pair_indices(x.shape[0])
    return PairRun(
        when.astype(np.float64),
        h.T,
        y.T,
        w.T,
        loss,
        np.sum((x[first] - x[second]) ** 2, axis=1),
        np.sum((t[first] - t[second]) ** 2, axis=1),
        np.stack([first, second], 1),
    )


# --- tasks ---------------------------------------------------------------------------------


def two_point_task(
    dx2: float = 1.0, dy2: float = 0.5, in_dim: int = 1, out_dim: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The authors' two points (``source/two_points.py``): inputs -1 and -1 + sqrt(dx2) in
    every coordinate, targets 0.6 and 0.6 + sqrt(dy2), scaled by 1/sqrt(dim)."""
    dx2 = check_real("dx2", dx2, minimum=0.0, strict=True)
    dy2 = check_real("dy2", dy2, minimum=0.0)
    x = np.array([[-1.0] * in_dim, [-1.0 + math.sqrt(dx2)] * in_dim]) / math.sqrt(in_dim)
    t = np.array([[0.6] * out_dim, [0.6 + math.sqrt(dy2)] * out_dim]) / math.sqrt(out_dim)
    return x, t


def xor_task() -> tuple[np.ndarray, np.ndarray]:
    """XOR: inputs (0,0), (0,1), (1,0), (1,1), targets 0, 1, 1, 0 (the authors' notebook)."""
    return (
        np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]),
        np.array([[0.0], [1.0], [1.0], [0.0]]),
    )


def mnist1d_pair(same_class: bool = False, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two MNIST-1D training inputs (40 features, standardised by the training set's
    feature scale) with one-hot targets: different classes (dy2 = 2) or the same (0)."""
    from springblock.validation.nets.data import load_dataset

    data = load_dataset("mnist1d", seed=seed)
    x, labels = np.asarray(data.x_train, np.float64), np.asarray(data.y_train)
    x = x / x.std()
    i = 0
    j = next(k for k in range(1, len(labels)) if (labels[k] == labels[i]) == same_class)
    targets = np.eye(int(labels.max()) + 1)[[labels[i], labels[j]]]
    return x[[i, j]], targets


# --- comparison with the theory --------------------------------------------------------------


class PairComparison(NamedTuple):
    """Fit of the pair equations to one run (on the pairs ``fitted``), the fits of the
    perturbed equations (negative controls, by name), and every pair's final distance,
    measured and predicted by the closed form from its initial state."""

    run: PairRun
    fit: ds.RateFit
    controls: dict[str, ds.RateFit]
    fitted: np.ndarray
    final_measured: np.ndarray
    final_predicted: np.ndarray


def compare_pairs(
    run: PairRun,
    points: int | None = None,
    controls=("decoder",),
    fit_pairs: np.ndarray | None = None,
) -> PairComparison:
    """Fit (eta_h, eta_y) on ``points`` evenly spaced samples of the measured trajectories
    (default: every measurement) of the pairs ``fit_pairs`` (default: those with dy2 > 0,
    since same-target pairs carry no information on eta_y; all pairs if none has), fit the
    perturbed equations the same way, and predict every pair's final distance from its
    initial state with the closed form."""
    points = len(run.times) if points is None else check_int("points", points, 3, len(run.times))
    index = np.unique(np.linspace(0, len(run.times) - 1, points).round().astype(int))
    chosen = np.flatnonzero(run.dy2 > 0) if fit_pairs is None else np.asarray(fit_pairs)
    if chosen.size == 0:
        chosen = np.arange(len(run.dx2))
    args = (
        run.times[index],
        run.h[chosen][:, index],
        run.y[chosen][:, index],
        run.w[chosen][:, index],
        run.dx2[chosen],
        run.dy2[chosen],
    )
    fit = ds.fit_rates(*args)
    others = {name: ds.fit_rates(*args, perturbation=name) for name in controls}
    predicted = ds.final_distance(run.h[:, 0], run.y[:, 0], fit.eta_h, fit.eta_y, run.dx2, run.dy2)
    return PairComparison(run, fit, others, chosen, run.h[:, -1], predicted)


# --- deep linear networks ------------------------------------------------------------------


class LinearRun(NamedTuple):
    """Mode strengths u_alpha(step) (modes, steps + 1) of a trained deep linear net."""

    times: np.ndarray
    strengths: np.ndarray
    singular_values: np.ndarray


@functools.cache
def _linear_trainer(depth: int, k: int, records: int):
    """Compiled run recording ``records`` + 1 snapshots; the steps between snapshots and the
    learning rate are traced, so runs of different lengths share the compilation."""

    def loss(ws, x, y):
        w = functools.reduce(lambda acc, m: m @ acc, ws)
        return 0.5 * jnp.mean(jnp.sum((y - x @ w.T) ** 2, axis=-1))

    grad = jax.grad(loss)

    def run(ws, x, y, u, v, lr, gaps):
        def strengths(ws):
            w = functools.reduce(lambda acc, m: m @ acc, ws)
            return jnp.einsum("ia,ij,ja->a", u, w, v)

        def step(_, ws):
            g = grad(ws, x, y)
            return [a - lr * b for a, b in zip(ws, g, strict=True)]

        def block(ws, gap):
            return jax.lax.fori_loop(0, gap, step, ws), strengths(ws)

        ws, record = jax.lax.scan(block, ws, gaps)
        return jnp.concatenate([record, strengths(ws)[None]], axis=0)

    return jax.jit(run)


@x64
def train_deep_linear(
    singular_values,
    u0: float = 1e-3,
    depth: int = 2,
    lr: float = 1e-3,
    steps: int = 5000,
    seed: int = 0,
    records: int = 100,
) -> LinearRun:
    """Gradient descent on a balanced, aligned deep linear net (module docstring); random
    orthogonal U, V from ``seed``; mode strengths recorded at ``records`` + 1 evenly spaced
    steps (:func:`record_steps`). ``lr`` must be below :func:`stability_limit`."""
    s = np.asarray(singular_values, dtype=np.float64)
    if s.ndim != 1 or s.size < 1 or np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ParameterError("singular_values", s.tolist(), "positive numbers")
    if s.size > MAX_MODES:
        raise ParameterError("singular_values", f"{s.size} values", f"at most {MAX_MODES}")
    u0 = check_real("u0", u0, minimum=0.0, strict=True)
    depth = check_int("depth", depth, 1, MAX_DEPTH)
    limit = stability_limit(s, depth)
    lr = check_real("lr", lr, minimum=0.0, strict=True)
    if lr >= limit:
        raise ParameterError("lr", lr, f"< {limit:.4g}, the stability limit 2/(D s_max^(2-2/D))")
    when = record_steps(steps, records)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    k = s.size
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((k, k)))
    v, _ = np.linalg.qr(rng.standard_normal((k, k)))
    x = math.sqrt(k) * np.eye(k)
    y = x @ (u @ np.diag(s) @ v.T).T
    a = u0 ** (1.0 / depth)
    if depth == 1:
        ws = [a * u @ v.T]
    else:
        ws = [a * v.T] + [a * np.eye(k)] * (depth - 2) + [a * u]
    strengths = np.asarray(
        _linear_trainer(depth, k, records)(
            [jnp.asarray(m) for m in ws],
            jnp.asarray(x),
            jnp.asarray(y),
            jnp.asarray(u),
            jnp.asarray(v),
            lr,
            jnp.asarray(np.diff(when)),
        )
    ).T
    if not np.all(np.isfinite(strengths)):
        raise ParameterError("lr", lr, "small enough for gradient descent to stay finite")
    return LinearRun(when.astype(np.float64), strengths, s)
