"""Measured learning curves: kernel ridge regression / GP posterior on sampled sphere data,
and trained wide networks, to compare with :mod:`springblock.numerics.curves.solve`.

Kernel regression (the empirical twin of the learning-curve theory, companion reference
section B): for each of ``datasets`` independent draws, N inputs uniform on S^(d-1), labels
y = g(x) + eps xi, predictor f = k(x, X)(K + sigma^2 I)^(-1) y, test error
E_x (f(x) - g(x))^2 estimated on ``test_points`` fresh uniform points per dataset. All
datasets of one N go through one compiled call (``jax.lax.map`` over batches of vmapped
datasets: Cholesky solve, kernel blocks, errors).

Also measured, for the finer comparisons of the docs:

* the error of the dataset-averaged predictor fbar (what the equivalent kernel predicts),
  on one common set of points. With B datasets, E (fbar_B - g)^2 = (fbar - g)^2 +
  Var f / B, so the sample variance over datasets divided by B is subtracted;
* the GP posterior variance k(x, x) - k_x^T (K + sigma^2 I)^(-1) k_x averaged over
  ``posterior_points`` test points (Sollich's approximation predicts kappa - sigma^2).

The target g = sum_i sqrt(p_i N(d, l_i)) P_(l_i)(x . u_i) is a sum of zonal harmonics with
random unit axes u_i: the degree-l_i component has squared norm p_i under the uniform
measure (E P_l(x.u)^2 = 1/N(d, l), addition theorem), as the theory's g_l^2 = p_i.

Wide nets: NTK-parametrised MLPs (:mod:`springblock.theory.curves.spectrum` convention)
trained by full-batch gradient descent on (1/2) sum_mu (f(x_mu) - y_mu)^2 + (sigma^2/2)
|theta - theta_0|^2, with the output f = (g(theta_a) - g(theta_b))/sqrt 2 of two copies of
the net started from the same weights, so f = 0 at initialisation with the NTK unchanged
(the antisymmetric trick of Chizat, Oyallon, Bach 2019). In the infinite-width limit the
linearised dynamics converge to kernel ridge regression with the NTK and ridge sigma^2
(Jacot et al. 2018; Lee et al. 2019), so the measured test error approaches the
self-consistent prediction for the NTK.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from springblock.numerics.compile import x64
from springblock.numerics.curves import solve as cv
from springblock.numerics.curves.solve import KernelSpec
from springblock.params import ParameterError, check_int, check_real
from springblock.theory.curves import spectrum as cs


def sample_sphere(key: PRNGKeyArray, shape: tuple[int, ...], dim: int) -> Float[Array, "..."]:
    """Points uniform on the unit sphere S^(dim-1): normalised standard Gaussians."""
    z = jax.random.normal(key, (*shape, dim))
    return z / jnp.linalg.norm(z, axis=-1, keepdims=True)


def target_axes(seed: int, count: int, dim: int) -> np.ndarray:
    """``count`` random unit axes u_i of the zonal target (seeded numpy stream)."""
    z = np.random.default_rng([seed, 7]).standard_normal((count, dim))
    return z / np.linalg.norm(z, axis=-1, keepdims=True)


def target_function(
    x: Float[Array, "... d"], degrees: tuple[int, ...], amplitudes, axes, dim: int
) -> Float[Array, "..."]:
    """g(x) = sum_i a_i P_(l_i)(x . u_i) with a_i = sqrt(p_i N(d, l_i)) (module docstring)."""
    l_max = max(max(degrees), 1)
    cosines = x @ jnp.asarray(axes).T  # (..., terms)
    table = cv.gegenbauer_table(cosines, l_max, dim)  # (l, ..., terms)
    picked = jnp.stack([table[l, ..., i] for i, l in enumerate(degrees)], axis=-1)
    return picked @ jnp.asarray(amplitudes)


def zonal_amplitudes(pairs, dim: int) -> tuple[tuple[int, ...], np.ndarray]:
    """(degrees, a_i = sqrt(p_i N(d, l_i))) of the target pairs (degree, power)."""
    degrees = tuple(int(l) for l, _ in pairs)
    amplitudes = np.array([math.sqrt(p * cs.degeneracy(l, dim)) for l, p in pairs])
    return degrees, amplitudes


def _gram(spec_static, params, a, b):
    activation, kind, depth = spec_static
    w, bias, cin, bout = params
    cosines = jnp.clip(a @ b.T, -1.0, 1.0)
    values = cv.kernel_values(
        cosines.reshape(-1), activation, kind, depth, w, bias, cin, bout, depth
    )
    return values.reshape(cosines.shape)


@functools.cache
def _krr_compiled(spec_static, dim, n, test_points, common, posterior, batch, degrees):
    """One compiled call for every dataset of size ``n`` (static). The number of points
    actually used, ``used`` <= n, is traced: the other rows are padding, masked out of the
    system exactly (their block of K + sigma^2 I is the identity and their labels are 0,
    so their weights alpha are 0), which lets several N share one compilation."""

    def one(key, used, params, amplitudes, axes, ridge, noise, common_x):
        kx, kt, kn = jax.random.split(key, 3)
        x = sample_sphere(kx, (n,), dim)
        xt = sample_sphere(kt, (test_points,), dim)
        mask = (jnp.arange(n) < used).astype(x.dtype)
        y = target_function(x, degrees, amplitudes, axes, dim)
        y = mask * (y + jnp.sqrt(noise) * jax.random.normal(kn, (n,)))
        gram = _gram(spec_static, params, x, x) * mask[:, None] * mask[None, :]
        system = gram + jnp.diag(ridge * mask + (1.0 - mask))
        chol = jnp.linalg.cholesky(system)
        kt_block = _gram(spec_static, params, xt, x) * mask[None, :]
        # One forward substitution for the labels and the posterior columns together, then
        # the back substitution: the triangular solves run one after the other. Two
        # independent batched solves in one step deadlock jaxlib's CPU LAPACK kernels
        # (each blocks an XLA pool thread waiting for work queued behind the other; seen
        # with jax 0.10 on 2 cores).
        rhs = jnp.concatenate([y[:, None], kt_block[:posterior].T], axis=1)
        forward = jax.scipy.linalg.solve_triangular(chol, rhs, lower=True)
        alpha = jax.scipy.linalg.solve_triangular(chol, forward[:, 0], lower=True, trans=1)
        error = jnp.mean(
            (kt_block @ alpha - target_function(xt, degrees, amplitudes, axes, dim)) ** 2
        )
        fc = _gram(spec_static, params, common_x, x) @ alpha if common else jnp.zeros(1)
        if posterior:
            prior = _gram(spec_static, params, xt[:1], xt[:1])[0, 0]
            variance = prior - jnp.mean(jnp.sum(forward[:, 1:] ** 2, axis=0))
        else:
            variance = jnp.nan
        return error, fc, variance

    def run(keys, used, params, amplitudes, axes, ridge, noise, common_x):
        return jax.lax.map(
            lambda k: one(k, used, params, amplitudes, axes, ridge, noise, common_x),
            keys,
            batch_size=batch,
        )

    return jax.jit(run)


def _divisor_below(total: int, cap: int) -> int:
    """The largest divisor of ``total`` that is <= max(cap, 1). Batches that divide the
    number of datasets avoid ``lax.map``'s separately compiled remainder body."""
    return max(b for b in range(1, max(min(cap, total), 1) + 1) if total % b == 0)


class EmpiricalCurve(NamedTuple):
    """Measured kernel-regression learning curve; arrays over ``n`` (per_dataset: (N, B))."""

    n: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    mean_predictor: np.ndarray
    posterior_variance: np.ndarray
    per_dataset: np.ndarray


@x64
def krr_learning_curve(
    spec: KernelSpec,
    target,
    n,
    ridge: float,
    *,
    noise: float = 0.0,
    datasets: int = 200,
    test_points: int = 1000,
    common_points: int = 1000,
    posterior_points: int = 0,
    seed: int = 0,
    batch: int | None = None,
    pad: bool | int = False,
) -> EmpiricalCurve:
    """Kernel ridge regression on ``datasets`` sampled datasets for every N in ``n``.

    One compiled call per N (cached on the static configuration). ``pad`` = True runs every
    N in the compiled function of the largest; an integer P does so for the sizes <= P only
    (padded to the largest of them). Padding is exact (masking) and saves compilations where
    they cost more than the padded arithmetic, i.e. for small N. Errors against
    the clean target; ``noise`` is the label-noise variance. ``batch`` datasets are vmapped
    together (default: the largest divisor of ``datasets`` with about 64 MB of Gram
    matrices per batch); it must divide ``datasets``.
    """
    pairs = cv.check_target(target)
    ridge = check_real("ridge", ridge, minimum=0.0, strict=True)
    noise = check_real("noise", noise, minimum=0.0)
    datasets = check_int("datasets", datasets, 2, 1_000_000)
    test_points = check_int("test_points", test_points, 1, 10_000_000)
    common_points = check_int("common_points", common_points, 0, 10_000_000)
    posterior_points = check_int("posterior_points", posterior_points, 0, test_points)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    sizes = [check_int("n", v, 1, 100_000) for v in np.atleast_1d(n).tolist()]
    if batch is not None and (check_int("batch", batch, 1, datasets) and datasets % batch):
        raise ParameterError("batch", batch, f"a divisor of datasets={datasets}")
    degrees, amplitudes = zonal_amplitudes(pairs, spec.dim)
    axes = target_axes(seed, len(degrees), spec.dim)
    static = (spec.activation, spec.kind, spec.depth)
    params = tuple(jnp.float64(v) for v in spec.values)
    common_x = sample_sphere(jax.random.PRNGKey(seed + 1), (common_points,), spec.dim)
    g_common = target_function(common_x, degrees, amplitudes, axes, spec.dim)
    rows = []
    limit = max(sizes) if pad is True else (int(pad) if pad else 0)
    padded_to = max((v for v in sizes if v <= limit), default=0)
    for i, used in enumerate(sizes):
        size = padded_to if used <= limit else used
        b = batch or _divisor_below(datasets, int(8e6 // (size * size + size * test_points)))
        fn = _krr_compiled(
            static, spec.dim, size, test_points, common_points, posterior_points, b, degrees
        )
        keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed), i), datasets)
        errors, fc, variance = fn(
            keys, used, params, jnp.asarray(amplitudes), jnp.asarray(axes), ridge, noise, common_x
        )
        errors, fc = np.asarray(errors), np.asarray(fc)
        if common_points:
            fbar = fc.mean(axis=0)
            spread = fc.var(axis=0, ddof=1).mean() / datasets
            mean_pred = float(np.mean((fbar - np.asarray(g_common)) ** 2) - spread)
        else:
            mean_pred = math.nan
        rows.append((errors, mean_pred, float(np.mean(np.asarray(variance)))))
    per = np.stack([r[0] for r in rows])
    return EmpiricalCurve(
        n=np.asarray(sizes, dtype=np.float64),
        mean=per.mean(axis=1),
        sem=per.std(axis=1, ddof=1) / math.sqrt(datasets),
        mean_predictor=np.array([r[1] for r in rows]),
        posterior_variance=np.array([r[2] for r in rows]),
        per_dataset=per,
    )


def check_spec_for_nets(spec: KernelSpec) -> None:
    """Wide nets are trained for the NTK (gradient descent follows the NTK, not the NNGP)."""
    if spec.kind != "ntk":
        raise ParameterError(
            "kind", spec.kind, "'ntk' for trained nets (gradient descent follows the NTK)"
        )


# --- wide NTK-parametrised nets ------------------------------------------------------------


@functools.cache
def activation_callable(activation: str):
    """sigma as a jax function, lambdified from the theory's sympy definition."""
    import sympy as sp

    from springblock.numerics.compile import _JAX_SPECIAL

    return sp.lambdify(cs.z, cs.activation_function(activation), modules=[_JAX_SPECIAL, "jax"])


def init_net(key: PRNGKeyArray, dim: int, width: int, depth: int) -> list:
    """Standard-normal weights and biases [(W_1, b_1), ..., (W_readout, b_readout)]; the
    variances C_in, C_W, C_b enter as multipliers in :func:`net_apply` (NTK
    parametrisation)."""
    sizes = [dim] + [width] * depth + [1]
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (
            jax.random.normal(k, (fan_out, fan_in)),
            jax.random.normal(jax.random.fold_in(k, 1), (fan_out,)),
        )
        for k, fan_in, fan_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def last_hidden(params, x: Float[Array, "n d"], activation: str, values) -> Float[Array, "n h"]:
    """sigma(z^(L)), the last hidden layer's activations: z^(1) = sqrt(C_b) b + sqrt(C_in) W x,
    z^(l+1) = sqrt(C_b) b + sqrt(C_W/n) W sigma(z^(l))
    (:mod:`springblock.theory.curves.spectrum`)."""
    weight, bias, input_weight, _ = values
    sigma = activation_callable(activation)
    (w, b), *rest = params
    z = x @ w.T * jnp.sqrt(input_weight) + jnp.sqrt(bias) * b[None, :]
    for w, b in rest[:-1]:
        z = sigma(z) @ w.T * jnp.sqrt(weight / w.shape[1]) + jnp.sqrt(bias) * b[None, :]
    return sigma(z)


def net_apply(params, x: Float[Array, "n d"], activation: str, values) -> Float[Array, " n"]:
    """The readout sqrt(C_b,out) b + sqrt(C_W/n) W sigma(z^(L)) on :func:`last_hidden`; the
    readout uses its own bias variance."""
    weight, _, _, readout_bias = values
    w, b = params[-1]
    features = last_hidden(params, x, activation, values)
    return (features @ w.T * jnp.sqrt(weight / w.shape[1]) + jnp.sqrt(readout_bias) * b[None, :])[
        :, 0
    ]


def empirical_ntk(params, x1, x2, activation: str, values) -> Float[Array, "n m"]:
    """Theta(x, x') = sum_p df(x)/dp df(x')/dp of one finite net (jax.jacrev)."""

    def flat(x):
        jac = jax.jacrev(lambda p: net_apply(p, x, activation, values))(params)
        return jnp.concatenate(
            [j.reshape(x.shape[0], -1) for j in jax.tree_util.tree_leaves(jac)], axis=1
        )

    return flat(x1) @ flat(x2).T


class NetCurve(NamedTuple):
    """Test errors of trained wide nets (n, datasets), of kernel regression with the
    analytic NTK on the same data, and the mean squared difference of the two predictors
    on the test points (``function_gap``, O(1/width))."""

    n: np.ndarray
    net_errors: np.ndarray
    kernel_errors: np.ndarray
    function_gap: np.ndarray
    train_residual: np.ndarray

    @property
    def mean(self) -> np.ndarray:
        return self.net_errors.mean(axis=1)

    @property
    def sem(self) -> np.ndarray:
        return self.net_errors.std(axis=1, ddof=1) / math.sqrt(self.net_errors.shape[1])


@functools.cache
def _net_compiled(activation, depth, dim, width, n, test_points, steps, degrees):
    static = (activation, "ntk", depth)

    def one(key, values, amplitudes, axes, ridge):
        kx, kt, kp = jax.random.split(key, 3)
        x = sample_sphere(kx, (n,), dim)
        xt = sample_sphere(kt, (test_points,), dim)
        y = target_function(x, degrees, amplitudes, axes, dim)
        yt = target_function(xt, degrees, amplitudes, axes, dim)
        start = init_net(kp, dim, width, depth)
        gram = _gram(static, values, x, x)
        top = jnp.linalg.eigvalsh(gram)[-1] + ridge
        condition = top / ridge
        lr = 1.0 / top
        beta = ((jnp.sqrt(condition) - 1) / (jnp.sqrt(condition) + 1)) ** 2

        def f(pair, inputs):
            a, b = pair
            return (
                net_apply(a, inputs, activation, values) - net_apply(b, inputs, activation, values)
            ) / jnp.sqrt(2.0)

        def loss(pair):
            drift = sum(
                jnp.sum((p - p0) ** 2)
                for p, p0 in zip(
                    jax.tree_util.tree_leaves(pair),
                    jax.tree_util.tree_leaves((start, start)),
                    strict=True,
                )
            )
            return 0.5 * jnp.sum((f(pair, x) - y) ** 2) + 0.5 * ridge * drift

        grad = jax.grad(loss)

        def step(carry, _):
            pair, velocity = carry
            g = grad(pair)
            velocity = jax.tree_util.tree_map(lambda v, gi: beta * v - lr * gi, velocity, g)
            pair = jax.tree_util.tree_map(lambda p, v: p + v, pair, velocity)
            return (pair, velocity), None

        pair0 = (start, start)
        zeros = jax.tree_util.tree_map(jnp.zeros_like, pair0)
        (pair, _), _ = jax.lax.scan(step, (pair0, zeros), None, length=steps)
        prediction = f(pair, xt)
        alpha = jnp.linalg.solve(gram + ridge * jnp.eye(n), y)
        kernel_prediction = _gram(static, values, xt, x) @ alpha
        g = grad(pair)
        residual = jnp.sqrt(sum(jnp.sum(v**2) for v in jax.tree_util.tree_leaves(g)))
        return (
            jnp.mean((prediction - yt) ** 2),
            jnp.mean((kernel_prediction - yt) ** 2),
            jnp.mean((prediction - kernel_prediction) ** 2),
            residual,
        )

    def run(keys, values, amplitudes, axes, ridge):
        return jax.lax.map(lambda k: one(k, values, amplitudes, axes, ridge), keys)

    return jax.jit(run)


@x64
def net_learning_curve(
    spec: KernelSpec,
    target,
    n,
    ridge: float,
    *,
    width: int = 1024,
    datasets: int = 20,
    test_points: int = 1000,
    steps: int = 2000,
    seed: int = 0,
) -> NetCurve:
    """Train ``datasets`` wide nets per N (antisymmetric pair, full-batch heavy-ball gradient
    descent on the ridge-regularised squared loss, module docstring) and measure their test
    error next to kernel regression with the analytic NTK on the same data.

    The step size is 1/(lambda_max(Theta(X, X)) + sigma^2) and the momentum the optimal
    heavy-ball value for the condition number of the linearised problem; ``steps`` should
    exceed a few times sqrt(condition number). ``train_residual`` is the final gradient norm.
    """
    check_spec_for_nets(spec)
    pairs = cv.check_target(target)
    ridge = check_real("ridge", ridge, minimum=0.0, strict=True)
    width = check_int("width", width, 1, 1_000_000)
    datasets = check_int("datasets", datasets, 2, 100_000)
    test_points = check_int("test_points", test_points, 1, 10_000_000)
    steps = check_int("steps", steps, 1, 10_000_000)
    seed = check_int("seed", seed, 0, 2**31 - 1)
    sizes = [check_int("n", v, 1, 100_000) for v in np.atleast_1d(n).tolist()]
    degrees, amplitudes = zonal_amplitudes(pairs, spec.dim)
    axes = target_axes(seed, len(degrees), spec.dim)
    values = tuple(jnp.float64(v) for v in spec.values)
    rows = []
    for i, size in enumerate(sizes):
        fn = _net_compiled(
            spec.activation, spec.depth, spec.dim, width, size, test_points, steps, degrees
        )
        keys = jax.random.split(jax.random.fold_in(jax.random.PRNGKey(seed + 17), i), datasets)
        rows.append(
            [
                np.asarray(v)
                for v in fn(keys, values, jnp.asarray(amplitudes), jnp.asarray(axes), ridge)
            ]
        )
    columns = [np.stack(c) for c in zip(*rows, strict=True)]
    return NetCurve(np.asarray(sizes, dtype=np.float64), *columns)


def empirical_nngp(params, x1, x2, activation: str, values) -> Float[Array, "n m"]:
    """The readout's input kernel of one finite net, C_b,out + (C_W/n) phi(x).phi(x'), with
    phi the last hidden layer's activations: the NNGP up to O(1/sqrt(n)) fluctuations."""
    weight, _, _, readout_bias = values
    f1, f2 = (last_hidden(params, x, activation, values) for x in (x1, x2))
    return readout_bias + weight * (f1 @ f2.T) / f1.shape[1]
