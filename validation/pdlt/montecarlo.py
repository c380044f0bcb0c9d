"""Monte Carlo of finite-width MLPs and residual MLPs at initialization, against PDLT.

The empirical twin of :mod:`springblock.numerics.pdlt.recursions`: ensembles of actual
networks (Roberts, Yaida & Hanin, PDLT arXiv 2106.10165, chapters 4-5 and 8 for what is
measured), for several widths, all depths and many seeds in one compiled call.

Network (as in :mod:`springblock.theory.pdlt.criticality`): inputs x_a in R^{n_0},
z^(1) = b + W x, then z^(l+1) = gamma z^(l) + xi (b + W sigma(z^(l))) (MLP: gamma = 0,
xi = 1), W_ij ~ N(0, C_W / fan_in), b_i ~ N(0, C_b), hidden width n. Widths share one
compiled call by masking: every net has ``max(widths)`` neurons of which the first n are
live (the others are held at 0 and excluded from every statistic).

Two samplers of the same ensemble:

* ``"weights"``: draws every W and b and multiplies (the nets themselves). The NTK of
  output neuron 0, H_ab = sum over parameters of lambda_P dz_0(x_a)/dP dz_0(x_b)/dP with
  lambda_b for biases and lambda_W / fan_in for weights, is computed by reverse-mode
  autodiff of the actual forward pass (``ntk=True``).
* ``"gaussian"``: exact conditional sampling without weight matrices (derived here). Given
  layer l, the rows of W are iid N(0, (C_W/n) I), so for the two inputs the branch
  preactivations (u_ia, u_ib) are iid over i with covariance
  C_b + (C_W/n) sigma_a . sigma_b: drawing them from that 2x2 Gaussian gives exactly the
  joint law of all preactivations of the two inputs at every layer, at O(n) instead of
  O(n^2) random numbers per layer. Forward statistics only (no NTK).

Per layer and net the ensemble records neuron averages (over the n live neurons) of
z_a^2, z_b^2, z_a z_b, z^4, z, z^3 and the pair averages over i != j of z_i^2 z_j^2 and
z_i^2 z_j (input a), from which :func:`summarize` forms, with standard errors over nets
(delta method for the ratios):

    K      = E[z_i^2]                        -> K + K1/n
    K12    = E[z_ia z_ib]
    cov    = E[z_i^2 z_j^2] - E[z_i^2]^2      -> V / n      (four-point vertex)
    third  = E[z_i^2 z_j]                     -> T / n      (third cumulant)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from springblock.numerics.pdlt import recursions as pr
from springblock.params import ParameterError, check_int, check_real

SAMPLERS = ("weights", "gaussian")
#: statistics recorded per (width, net, layer), in this order
STATS = ("s2a", "s2b", "s12", "s4a", "s1a", "s3a", "pair4", "pair3", "Haa", "Hab", "Hbb")


@dataclass(frozen=True)
class EnsembleSpec:
    """One Monte Carlo experiment. Validated on construction (ParameterError names the
    field). ``q11, q12, q22``: input Gram x_a.x_b / n_0 (inputs built deterministically in
    R^{n_0}); ``nets``: networks per width; ``chunk``: nets per vectorised batch (memory;
    default :meth:`batch`)."""

    activation: object = "relu"
    widths: tuple[int, ...] = (32,)
    depth: int = 6
    nets: int = 1000
    C_b: float = 0.0
    C_W: float = 2.0
    gamma: float = 0.0
    xi: float = 1.0
    q11: float = 1.0
    q12: float = 0.5
    q22: float = 1.0
    input_dim: int = 4
    sampler: str = "gaussian"
    ntk: bool = False
    lambda_b: float = 1.0
    lambda_W: float = 1.0
    seed: int = 0
    chunk: int | None = None
    float64: bool = False
    _resolved: pr.CompiledActivation | None = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_resolved", pr.resolve(self.activation))
        widths = tuple(
            check_int("width", w, 2, 1 << 16)
            for w in np.atleast_1d(np.asarray(self.widths, dtype=object)).tolist()
        )
        if not widths:
            raise ParameterError("width", self.widths, "at least one width >= 2")
        object.__setattr__(self, "widths", widths)
        for name, lo in (("depth", 1), ("nets", 2), ("input_dim", 2)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), lo))
        if self.chunk is not None:
            object.__setattr__(self, "chunk", check_int("chunk", self.chunk, 1))
        object.__setattr__(self, "seed", check_int("seed", self.seed, 0, 2**31 - 1))
        object.__setattr__(self, "C_b", check_real("C_b", self.C_b, minimum=0.0))
        object.__setattr__(self, "C_W", check_real("C_W", self.C_W, minimum=0.0, strict=True))
        for name in ("gamma", "xi", "q12"):
            object.__setattr__(self, name, check_real(name, getattr(self, name)))
        for name in ("q11", "q22"):
            object.__setattr__(
                self, name, check_real(name, getattr(self, name), minimum=0.0, strict=True)
            )
        for name in ("lambda_b", "lambda_W"):
            object.__setattr__(self, name, check_real(name, getattr(self, name), minimum=0.0))
        if self.q12**2 > self.q11 * self.q22 * (1 + 1e-12):
            raise ParameterError("q12", self.q12, "a Gram entry with q12^2 <= q11 q22")
        if self.sampler not in SAMPLERS:
            raise ParameterError("sampler", self.sampler, f"one of {SAMPLERS}")
        if self.ntk and self.sampler != "weights":
            raise ParameterError(
                "sampler",
                self.sampler,
                "'weights' when ntk=True (the gaussian sampler draws no weights to differentiate)",
            )

    def batch(self) -> int:
        """Nets simulated side by side: all of them (up to 2^14) for the gaussian sampler,
        otherwise as many as keep one batch of weight matrices near 2^24 numbers (64 MB
        in float32; times the depth when the NTK keeps every layer for autodiff)."""
        if self.chunk is not None:
            return self.chunk
        if self.sampler == "gaussian":
            return 1 << 14
        per_net = max(self.widths) ** 2 * (self.depth if self.ntk else 1)
        return max(1, (1 << 24) // per_net)

    @property
    def compiled_activation(self) -> pr.CompiledActivation:
        assert self._resolved is not None  # set by __post_init__
        return self._resolved

    @property
    def residual(self) -> bool:
        return not (self.gamma == 0.0 and self.xi == 1.0)

    def inputs(self) -> np.ndarray:
        """Two inputs in R^{n_0} with Gram x_a.x_b / n_0 = q_ab."""
        n0 = self.input_dim
        rho = self.q12 / math.sqrt(self.q11 * self.q22)
        x = np.zeros((2, n0))
        x[0, 0] = math.sqrt(n0 * self.q11)
        x[1, 0] = math.sqrt(n0 * self.q22) * rho
        x[1, 1] = math.sqrt(n0 * self.q22) * math.sqrt(max(0.0, 1.0 - rho * rho))
        return x


# --- per-net simulation ---------------------------------------------------------------------------


def _layer_stats(z: Float[Array, "2 n"], mask: Float[Array, " n"], width) -> Array:
    """Neuron averages of one layer (``STATS`` without the NTK entries)."""
    za, zb = z[0] * mask, z[1] * mask
    s2a, s2b = jnp.sum(za**2) / width, jnp.sum(zb**2) / width
    s12 = jnp.sum(za * zb) / width
    s4a, s1a, s3a = (jnp.sum(za**p) / width for p in (4, 1, 3))
    pairs = width * (width - 1)
    pair4 = (width**2 * s2a**2 - width * s4a) / pairs  # mean over i != j of z_i^2 z_j^2
    pair3 = (width**2 * s2a * s1a - width * s3a) / pairs  # mean over i != j of z_i^2 z_j
    return jnp.stack([s2a, s2b, s12, s4a, s1a, s3a, pair4, pair3])


def _chol2(g11, g12, g22):
    """Lower Cholesky factor of a 2x2 PSD matrix, safe at rank 1."""
    l11 = jnp.sqrt(g11)
    l21 = jnp.where(l11 > 0, g12 / jnp.where(l11 > 0, l11, 1.0), 0.0)
    l22 = jnp.sqrt(jnp.maximum(g22 - l21**2, 0.0))
    return l11, l21, l22


def _gaussian_net(act, depth: int, spec_params, x, key, width, n_max: int):
    """One net by exact conditional sampling: rows of the branch are iid 2-d Gaussians."""
    c_b, c_w, gamma, xi = spec_params
    mask = (jnp.arange(n_max) < width).astype(x.dtype)[None, :]
    n0 = x.shape[1]

    def draw(k, gram):
        l11, l21, l22 = _chol2(*gram)
        e = jax.random.normal(k, (2, n_max), x.dtype)
        return jnp.stack([l11 * e[0], l21 * e[0] + l22 * e[1]]) * mask

    keys = jax.random.split(key, depth)
    xx = x @ x.T
    z = draw(
        keys[0], (c_b + c_w * xx[0, 0] / n0, c_b + c_w * xx[0, 1] / n0, c_b + c_w * xx[1, 1] / n0)
    )

    def step(z, k):
        s = act.sigma(z) * mask
        gram = (
            c_b + c_w * jnp.sum(s[0] * s[0]) / width,
            c_b + c_w * jnp.sum(s[0] * s[1]) / width,
            c_b + c_w * jnp.sum(s[1] * s[1]) / width,
        )
        new = gamma * z + xi * draw(k, gram)
        return new, _layer_stats(new, mask[0], width)

    _, rows = jax.lax.scan(step, z, keys[1:])
    first = _layer_stats(z, mask[0], width)
    stats = jnp.concatenate([first[None], rows]) if depth > 1 else first[None]
    return jnp.concatenate([stats, jnp.zeros((depth, 3), x.dtype)], axis=1)


def _weights_forward(act, depth: int, spec_params, x, key, width, n_max: int, eps):
    """Forward pass of one actual net; ``eps`` (depth, 2, n) is added to each layer's
    preactivations (zero; its cotangent gives dz_0^(l)/dz^(l'))."""
    c_b, c_w, gamma, xi = spec_params
    mask = (jnp.arange(n_max) < width).astype(x.dtype)[None, :]
    n0 = x.shape[1]
    keys = jax.random.split(key, depth)
    kw, kb = jax.random.split(keys[0])
    w1 = jax.random.normal(kw, (n_max, n0), x.dtype) * jnp.sqrt(c_w / n0)
    b1 = jax.random.normal(kb, (n_max,), x.dtype) * jnp.sqrt(c_b)
    z = ((x @ w1.T + b1[None, :]) * mask) + eps[0] * mask

    def step(z, inputs):
        k, e = inputs
        kw, kb = jax.random.split(k)
        w = jax.random.normal(kw, (n_max, n_max), x.dtype) * jnp.sqrt(c_w / width)
        b = jax.random.normal(kb, (n_max,), x.dtype) * jnp.sqrt(c_b)
        s = act.sigma(z) * mask
        new = (gamma * z + xi * (s @ w.T + b[None, :])) * mask + e * mask
        return new, (new, s)

    _, (zs, ss) = jax.lax.scan(step, z, (keys[1:], eps[1:]))
    zs = jnp.concatenate([z[None], zs])
    return zs, ss, mask[0]


def _weights_net(act, depth: int, spec_params, lambdas, x, key, width, n_max: int, ntk: bool):
    eps = jnp.zeros((depth, 2, n_max), x.dtype)
    zs, ss, mask = _weights_forward(act, depth, spec_params, x, key, width, n_max, eps)
    stats = jax.vmap(lambda z: _layer_stats(z, mask, width))(zs)
    if not ntk:
        return jnp.concatenate([stats, jnp.zeros((depth, 3), x.dtype)], axis=1)
    _, _, gamma, xi = spec_params
    lam_b, lam_w = lambdas

    def outputs(e):
        return _weights_forward(act, depth, spec_params, x, key, width, n_max, e)[0][:, :, 0]

    jac = jax.jacrev(outputs)(eps)  # (depth_out, 2, depth_in, 2, n)
    ja = jac[:, 0, :, 0, :]
    jb = jac[:, 1, :, 1, :]
    n0 = x.shape[1]
    # sigma^(l'-1) . sigma^(l'-1) / fan_in for the weights feeding layer l'
    gram_in = jnp.concatenate(
        [(x @ x.T / n0)[None], jnp.einsum("lan,lbn->lab", ss, ss)[: depth - 1] / width]
    )
    branch = jnp.concatenate([jnp.ones((1,), x.dtype), jnp.full((depth - 1,), xi**2, x.dtype)])
    weight = branch[:, None, None] * (lam_b + lam_w * gram_in)  # (depth_in, 2, 2)

    dots = {
        "aa": jnp.einsum("oin,oin->oi", ja, ja),
        "ab": jnp.einsum("oin,oin->oi", ja, jb),
        "bb": jnp.einsum("oin,oin->oi", jb, jb),
    }
    h = jnp.stack(
        [dots["aa"] @ weight[:, 0, 0], dots["ab"] @ weight[:, 0, 1], dots["bb"] @ weight[:, 1, 1]],
        axis=-1,
    )
    del gamma
    return jnp.concatenate([stats, h], axis=1)


@functools.cache
def _ensemble_fn(act, depth: int, n_max: int, sampler: str, ntk: bool, chunk: int):
    def one(args):
        key, width, params, lambdas, x = args
        if sampler == "gaussian":
            return _gaussian_net(act, depth, params, x, key, width, n_max)
        return _weights_net(act, depth, params, lambdas, x, key, width, n_max, ntk)

    def run(keys, widths, params, lambdas, x):
        count = keys.shape[0]
        if count <= chunk:
            return jax.vmap(lambda k, w: one((k, w, params, lambdas, x)))(keys, widths)

        def bcast(v):
            return jnp.broadcast_to(v, (count, *jnp.shape(v)))

        return jax.lax.map(
            one,
            (
                keys,
                widths,
                tuple(bcast(p) for p in params),
                tuple(bcast(p) for p in lambdas),
                bcast(x),
            ),
            batch_size=chunk,
        )

    return jax.jit(run)


@dataclass(frozen=True)
class Ensemble:
    """Raw per-net statistics, ``data[name]`` of shape (widths, nets, depth)."""

    spec: EnsembleSpec
    data: dict

    @property
    def widths(self) -> np.ndarray:
        return np.asarray(self.spec.widths)


def simulate(spec: EnsembleSpec) -> Ensemble:
    """Run the ensemble: every width, every net, every layer in one compiled call."""
    x64 = jax.config.jax_enable_x64  # type: ignore[attr-defined]  # dynamic jax config attribute
    dt = jnp.float64 if (spec.float64 and x64) else jnp.float32
    n_max = max(spec.widths)
    count = len(spec.widths) * spec.nets
    keys = jax.random.split(jax.random.key(spec.seed), count)
    widths = jnp.repeat(jnp.asarray(spec.widths, dt), spec.nets)
    params = tuple(jnp.asarray(v, dt) for v in (spec.C_b, spec.C_W, spec.gamma, spec.xi))
    lambdas = tuple(jnp.asarray(v, dt) for v in (spec.lambda_b, spec.lambda_W))
    fn = _ensemble_fn(
        spec.compiled_activation, spec.depth, n_max, spec.sampler, spec.ntk, spec.batch()
    )
    out = np.asarray(
        fn(keys, widths, params, lambdas, jnp.asarray(spec.inputs(), dt)), dtype=np.float64
    )
    out = out.reshape(len(spec.widths), spec.nets, spec.depth, len(STATS))
    return Ensemble(spec, {name: out[..., i] for i, name in enumerate(STATS)})


# --- estimators -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """Mean and standard error, arrays of shape (widths, depth)."""

    mean: np.ndarray
    se: np.ndarray

    def to_json(self) -> dict:
        return {"mean": self.mean.tolist(), "se": self.se.tolist()}


def _mean(x: np.ndarray) -> Estimate:
    return Estimate(x.mean(axis=1), x.std(axis=1, ddof=1) / math.sqrt(x.shape[1]))


def covariance(ens: Ensemble) -> Estimate:
    """Cov(z_i^2, z_j^2), i != j: E[pair4] - E[s2]^2 with an unbiased product over
    distinct nets; standard error by the delta method (influence pair4 - 2 E[s2] s2)."""
    p, s = ens.data["pair4"], ens.data["s2a"]
    n = s.shape[1]
    prod = (s.sum(axis=1) ** 2 - (s**2).sum(axis=1)) / (n * (n - 1))
    influence = p - 2 * s.mean(axis=1, keepdims=True) * s
    return Estimate(p.mean(axis=1) - prod, influence.std(axis=1, ddof=1) / math.sqrt(n))


def normalized_four_point(ens: Ensemble) -> Estimate:
    """n Cov(z_i^2, z_j^2) / E[z^2]^2 (-> V/K^2 at large n), delta-method error."""
    p, s = ens.data["pair4"], ens.data["s2a"]
    n_nets = s.shape[1]
    m, ep = s.mean(axis=1, keepdims=True), p.mean(axis=1, keepdims=True)
    cov = covariance(ens).mean
    influence = p / m**2 - 2 * ep * s / m**3
    width = ens.widths[:, None]
    return Estimate(
        width * cov / m[:, 0, :] ** 2, width * influence.std(axis=1, ddof=1) / math.sqrt(n_nets)
    )


def summarize(ens: Ensemble) -> dict[str, Estimate]:
    """Every measured quantity with its standard error, shape (widths, depth)."""
    d = ens.data
    out = {
        "K": _mean(d["s2a"]),
        "K22": _mean(d["s2b"]),
        "K12": _mean(d["s12"]),
        "cov": covariance(ens),
        "nV_over_K2": normalized_four_point(ens),
        "third": _mean(d["pair3"]),
        "cube": _mean(d["s3a"]),
    }
    if ens.spec.ntk:
        out.update({"H": _mean(d["Haa"]), "H12": _mean(d["Hab"]), "H22": _mean(d["Hbb"])})
    return out


# --- theory for the same ensemble --------------------------------------------------------------


def theory(spec: EnsembleSpec, *, nodes: int = 100) -> dict:
    """PDLT predictions for ``spec``, arrays of shape (depth,) (K, V, T, K1, H) and the
    pair kernel/NTK; the four-point V without the third-cumulant term as ``V_reference``."""
    act = spec.compiled_activation
    kw: dict[str, Any] = dict(
        C_b=spec.C_b,
        C_W=spec.C_W,
        gamma=spec.gamma,
        xi=spec.xi,
        lambda_b=spec.lambda_b,
        lambda_W=spec.lambda_W,
        nodes=nodes,
    )
    single = pr.profile(act, spec.depth, q=spec.q11, **kw)
    pair = pr.pair_profile(act, spec.depth, q11=spec.q11, q12=spec.q12, q22=spec.q22, **kw)
    return {
        "K": np.asarray(single.K),
        "V": np.asarray(single.V),
        "T": np.asarray(single.T),
        "K1": np.asarray(single.K1),
        "H": np.asarray(single.H),
        "V_reference": np.asarray(single.V_reference),
        "K12": np.asarray(pair.K12),
        "H12": np.asarray(pair.H12),
        "K22": np.asarray(pair.K22),
        "H22": np.asarray(pair.H22),
    }


def compare(spec: EnsembleSpec, ens: Ensemble | None = None, *, nodes: int = 100) -> dict:
    """Measured vs predicted, per width and layer: mean, SE, prediction and z-score
    (measured - predicted) / SE (NaN where SE = 0) for K (with its 1/n correction), K12,
    n Cov (vs V), n E[z_i^2 z_j] and n E[z^3] / 3 (both vs T), and the NTK when measured."""
    ens = simulate(spec) if ens is None else ens
    est = summarize(ens)
    th = theory(spec, nodes=nodes)
    n = ens.widths[:, None].astype(float)
    rows = {
        "K": (est["K"], th["K"] + th["K1"] / n),
        "K12": (est["K12"], np.broadcast_to(th["K12"], est["K12"].mean.shape)),
        "nCov": (
            Estimate(n * est["cov"].mean, n * est["cov"].se),
            np.broadcast_to(th["V"], est["cov"].mean.shape),
        ),
        "nCov_reference": (
            Estimate(n * est["cov"].mean, n * est["cov"].se),
            np.broadcast_to(th["V_reference"], est["cov"].mean.shape),
        ),
        "nT": (
            Estimate(n * est["third"].mean, n * est["third"].se),
            np.broadcast_to(th["T"], est["third"].mean.shape),
        ),
        # E[z^3] = 3 T / n: the same third cumulant from one neuron
        "nCube_over_3": (
            Estimate(n * est["cube"].mean / 3, n * est["cube"].se / 3),
            np.broadcast_to(th["T"], est["cube"].mean.shape),
        ),
    }
    if spec.ntk:
        rows["H"] = (est["H"], np.broadcast_to(th["H"], est["H"].mean.shape))
        rows["H12"] = (est["H12"], np.broadcast_to(th["H12"], est["H12"].mean.shape))
    out: dict[str, Any] = {}
    for name, (e, pred) in rows.items():
        with np.errstate(divide="ignore", invalid="ignore"):
            # SE = 0: a deterministic quantity (ReLU's layer-1 NTK), no z-score
            zscore = np.where(e.se > 0, (e.mean - pred) / e.se, np.nan)
        out[name] = {"mean": e.mean, "se": e.se, "theory": np.asarray(pred), "z": zscore}
    out["theory"] = th
    out["widths"] = ens.widths
    return out
