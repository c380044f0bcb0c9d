"""Fitting the spring-block model to trained nets: bounded monotone maps, weighted least
squares, many fits in one compiled call.

The claim checked (reference section 5) is that the model, with friction set by the
nonlinearity and noise set by the knob, reproduces the nets' phase diagram. A cell of
panel k at LeakyReLU slope alpha, knob coordinate u and protocol time factor f
(:mod:`~springblock.validation.compare.cells`) gets the model of the tabulated grid
(:mod:`springblock.numerics.spring.table`) at

    mu_R = m [g + (1 - g) (1 - alpha)^p]          friction: one map for every panel
    log sigma = a_k + b_k (log sigma_max - a_k) u^(q_k)   noise: one map per knob
    mu_L / mu_R = r,   T = T0 f                    asymmetry and time scale: shared

with every parameter confined to a box by the transform lo + (hi - lo) sigmoid(theta), so
the maps are monotone (friction falls with alpha from m at ReLU to the floor g m at the
linear net, noise rises with u) and stay inside the tabulated domain by construction:
nothing is clipped inside the loss. The floor g in [0, 1] is fitted, not set to 0: a chain
without friction relaxes to the linear profile whatever its asymmetry (reference section
4), while linear nets have the most convex load curves of a panel (docs/validation.md), so
a map forced to zero friction at alpha = 1 could not fit them. The boxes: m in
[0, mu_max], p and q in [1/4, 4], r over the table's asymmetries, a over the table's log
noise, b in [0, 1], and log T0 such that T0 f stays inside the table's times for every f
of the panels. A fitted parameter within 1e-3 (in sigmoid units) of its box's edge is
reported as *on its bound*.

Structural knobs (width, depth) are not noise: a structural panel's cells share one noise
level, log sigma = a_k (its rise b_k and exponent q_k are unused, and never reported on
their bounds). The cells of a depth panel differ in chain length instead: a net of depth
D is compared with the tabulated chain of L = D - 2 blocks (:class:`TableStack`, one
table per chain length on one grid), so leaving a depth column out asks the model to
predict nets of a depth the fit never saw from a chain it never fitted.

The loss is the sum over the training cells of squared residuals of the normalised
curvature and spread, each divided by sqrt(se^2 + s0^2): se the cell's standard error over
seeds and s0 the median standard error over the training cells (so a cell with one seed
or a tiny standard error does not dominate; nothing about held-out cells enters). The loss is
multimodal (the table saturates at its edges), so each problem is first *screened*: its
loss is evaluated at :data:`SCREEN` fixed points spread over the boxes (a scrambled Sobol
set, uniform in sigmoid units, plus the centre), and Levenberg-Marquardt (optimistix) runs
from the :data:`STARTS` best of them; the lowest end point is the fit. Screening and
solving are each one compiled call vmapped over every (fold, permutation) problem.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from springblock.params import ParameterError

#: Knobs that are not noise: their cells share one noise level (the noise map's rise and
#: exponent unused); a depth panel's columns differ in chain length instead.
STRUCTURAL_KNOBS = ("width", "depth")
SHARED = ("friction", "friction_floor", "friction_exponent", "asymmetry", "log_time_scale")
PER_PANEL = ("log_noise_low", "noise_rise", "noise_exponent")
EXPONENT_RANGE = (0.25, 4.0)
ON_BOUND = 1e-3
STARTS = 4
#: Points of the boxes at which every problem's loss is evaluated to pick its starts (a
#: multiple of SCREEN_BLOCK, the points evaluated at once).
SCREEN = 4096
SCREEN_BLOCK = 512
MAX_STEPS = 60
#: Problems per compiled call (the last chunk is padded by repeating problems). 16, not 64:
#: a chunk's cost grows with its size even when it is mostly padding, and a panel's full fit
#: is one problem. Measured after compiling (benchmarks/compare_fit.py, a 6 x 5 panel on the
#: default grid): M = 1 problem 1.01 s with chunks of 64, 0.15 s with 16; M = 24: 0.90 s
#: against 0.32 s; M = 256: 3.53 s against 3.09 s; chunks of 8 were no faster at M <= 24
#: and slower at M = 256 (3.41 s). A 5 x 5 panel on the tests' coarse grid: 0.68 / 0.11,
#: 0.67 / 0.22, 2.44 / 2.55 s.
CHUNK = 16


@dataclass(frozen=True)
class Flat:
    """Every cell of every panel in one flat array (length n)."""

    panel: np.ndarray
    row: np.ndarray
    col: np.ndarray
    alpha: np.ndarray
    u: np.ndarray
    noise_u: np.ndarray  # the noise map's coordinate: u for a noise knob, 0 for a structural one
    blocks: np.ndarray  # the model chain's blocks for the cell's nets: depth - 2
    log_f: np.ndarray
    c: np.ndarray
    c_se: np.ndarray
    v: np.ndarray
    v_se: np.ndarray
    defined: np.ndarray

    @property
    def n(self) -> int:
        return int(self.panel.size)


def flatten(panels) -> Flat:
    parts: dict[str, list] = {name: [] for name in Flat.__dataclass_fields__}
    for k, cells in enumerate(panels):
        rows, cols = np.indices(cells.grid)
        parts["panel"].append(np.full(rows.size, k))
        parts["row"].append(rows.ravel())
        parts["col"].append(cols.ravel())
        parts["alpha"].append(cells.alphas[rows].ravel())
        parts["u"].append(cells.u[cols].ravel())
        noisy = cells.knob not in STRUCTURAL_KNOBS
        parts["noise_u"].append(cells.u[cols].ravel() * noisy)
        parts["blocks"].append(cells.column_depths[cols].ravel() - 2)
        parts["log_f"].append(cells.log_time_factor[cols].ravel())
        for name in ("c", "c_se", "v", "v_se"):
            parts[name].append(getattr(cells, name).ravel())
        parts["defined"].append(cells.defined.ravel())
    return Flat(**{k: np.concatenate(v) for k, v in parts.items()})


@dataclass(frozen=True)
class Layout:
    """Names and boxes of the parameters: the shared ones, then three per panel.
    ``unused``: the parameters no cell's prediction depends on (a structural panel's noise
    rise and exponent), never reported on their bounds."""

    knobs: tuple[str, ...]
    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    unused: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return len(self.names)

    def shared(self) -> np.ndarray:
        return np.array(
            [not any(name.endswith(f"[{k}]") for k in self.knobs) for name in self.names]
        )

    def of_panel(self, k: int) -> np.ndarray:
        return np.array([name.endswith(f"[{self.knobs[k]}]") for name in self.names])

    def values(self, theta: np.ndarray) -> np.ndarray:
        """Bounded parameter values of unconstrained ``theta`` (..., size)."""
        return self.lower + (self.upper - self.lower) / (1.0 + np.exp(-np.asarray(theta)))

    def on_bound(self, theta: np.ndarray) -> list[str]:
        s = 1.0 / (1.0 + np.exp(-np.asarray(theta)))
        return [
            n
            for n, x in zip(self.names, s, strict=True)
            if (x < ON_BOUND or x > 1 - ON_BOUND) and n not in self.unused
        ]


def layout(table, panels, log_f=None) -> Layout:
    """The parameter boxes for these panels on this table (module docstring). ``log_f``:
    every log time factor the fitted model must reach (default the panels' own; a
    comparison through training adds its checkpoints' earlier times)."""
    s = table.spec
    if log_f is None:
        log_f = np.concatenate([p.log_time_factor for p in panels])
    lo_t = np.log(s.time_min) - log_f.min()
    hi_t = np.log(s.time_max) - log_f.max()
    if not lo_t < hi_t:
        raise ParameterError(
            "time_max",
            s.time_max,
            "a table spanning the protocol's time factors "
            f"(x{np.exp(log_f.max() - log_f.min()):.3g})",
        )
    names = list(SHARED)
    lower = [0.0, 0.0, EXPONENT_RANGE[0], s.asymmetry_min, lo_t]
    upper = [s.mu_max, 1.0, EXPONENT_RANGE[1], s.asymmetry_max, hi_t]
    unused = []
    for cells in panels:
        names += [f"{n}[{cells.knob}]" for n in PER_PANEL]
        lower += [np.log(s.noise_min), 0.0, EXPONENT_RANGE[0]]
        upper += [np.log(s.noise_max), 1.0, EXPONENT_RANGE[1]]
        if cells.knob in STRUCTURAL_KNOBS:
            unused += [f"{n}[{cells.knob}]" for n in PER_PANEL[1:]]
    return Layout(
        tuple(p.knob for p in panels),
        tuple(names),
        np.array(lower),
        np.array(upper),
        tuple(unused),
    )


def _safe_power(base, exponent):
    """base^exponent for base >= 0 with a finite gradient at base = 0 (where it is 0)."""
    import jax.numpy as jnp

    positive = base > 0
    return jnp.where(positive, jnp.power(jnp.where(positive, base, 1.0), exponent), 0.0)


def friction_map(alpha, friction, floor, exponent, power=None):
    """mu_R(alpha) = m [g + (1 - g) (1 - alpha)^p] (module docstring); ``power`` computes
    base^exponent (default numpy's; the fit passes a jax one with a finite gradient at 0)."""
    power = np.power if power is None else power
    return friction * (floor + (1.0 - floor) * power(1.0 - alpha, exponent))


def noise_map(u, log_noise_low, rise, exponent, log_noise_max, power=None):
    """log sigma(u) = a + b (log sigma_max - a) u^q (module docstring)."""
    power = np.power if power is None else power
    return log_noise_low + rise * (log_noise_max - log_noise_low) * power(u, exponent)


@dataclass(frozen=True)
class TableStack:
    """Model tables of one grid (friction, noise, asymmetry, time) on chains of different
    lengths, for panels whose nets differ in depth: a net of depth D is compared with the
    chain of L = D - 2 blocks, whose L + 1 elongations match its D - 1 layer loads. A single
    :class:`~springblock.numerics.spring.table.ModelTable` is a stack of one
    (:func:`stack_of`)."""

    tables: tuple

    def __post_init__(self):
        import dataclasses

        blocks = [t.spec.blocks for t in self.tables]
        if not blocks or len(set(blocks)) != len(blocks):
            raise ParameterError("tables", blocks, "tables of distinct chain lengths")
        grids = {
            tuple(sorted(dataclasses.replace(t.spec, blocks=1).to_json().items()))
            for t in self.tables
        }
        if len(grids) != 1:
            raise ParameterError("tables", blocks, "tables on one grid (only blocks differ)")
        object.__setattr__(self, "tables", tuple(sorted(self.tables, key=lambda t: t.spec.blocks)))

    @property
    def spec(self):
        """The shared grid (the spec of the shortest chain's table)."""
        return self.tables[0].spec

    @property
    def grid(self) -> tuple[np.ndarray, np.ndarray]:
        return self.tables[0].grid

    @property
    def blocks(self) -> tuple[int, ...]:
        return tuple(t.spec.blocks for t in self.tables)

    def values(self) -> np.ndarray:
        """Elongation fractions of every table, (tables, mu, noise, asymmetry, time, Lmax + 1),
        zero beyond a table's L + 1 (masked by the elongation count in :func:`_predict`)."""
        longest = max(self.blocks) + 1
        out = np.zeros((len(self.tables), *self.tables[0].elongations.shape[:-1], longest))
        for k, t in enumerate(self.tables):
            out[k, ..., : t.spec.blocks + 1] = t.elongations
        return out

    def index(self, blocks: np.ndarray) -> np.ndarray:
        """The table of each cell's chain length (ParameterError if one is missing)."""
        blocks = np.asarray(blocks, int)
        missing = sorted(set(blocks.tolist()) - set(self.blocks))
        if missing:
            raise ParameterError(
                "blocks", list(self.blocks), f"tables for every chain length needed {missing}"
            )
        return np.searchsorted(np.array(self.blocks), blocks)


def stack_of(table) -> TableStack:
    return table if isinstance(table, TableStack) else TableStack((table,))


@dataclass(frozen=True)
class Problem:
    """The arrays every fit of one comparison shares, passed to compiled code as arguments
    (not baked in as constants), so one compilation serves every call of the same shape."""

    geometry: tuple  # panel index, alpha, noise u, log f, table index, elongations: (n,) each
    lower: np.ndarray
    upper: np.ndarray
    values: np.ndarray  # the tables' elongation fractions (TableStack.values)
    origin: np.ndarray
    step: np.ndarray
    log_noise_max: float
    panels: int


def problem(flat: Flat, lay: Layout, table) -> Problem:
    """``table``: a ModelTable, or a :class:`TableStack` with a table for every cell's chain."""
    stack = stack_of(table)
    origin, step = stack.grid
    which = stack.index(flat.blocks)
    return Problem(
        (flat.panel, flat.alpha, flat.noise_u, flat.log_f, which, flat.blocks + 1),
        lay.lower,
        lay.upper,
        stack.values(),
        origin,
        step,
        float(np.log(stack.spec.noise_max)),
        len(lay.knobs),
    )


def _predict(theta, geometry, lower, upper, values, origin, step, log_noise_max, panels):
    """(c, v, elongation fractions (n, Lmax + 1), NaN beyond a cell's chain) of every cell."""
    import jax
    import jax.numpy as jnp

    from springblock.numerics.spring.table import interpolate

    panel, alpha, u, log_f, which, count = geometry
    p = lower + (upper - lower) * jax.nn.sigmoid(theta)
    shared = len(SHARED)
    m, floor, exponent, r, log_t0 = (p[i] for i in range(shared))
    per = p[shared:].reshape(panels, len(PER_PANEL))[panel]
    a, b, q = per[:, 0], per[:, 1], per[:, 2]
    mu = friction_map(alpha, m, floor, exponent, _safe_power)
    log_sigma = noise_map(u, a, b, q, log_noise_max, _safe_power)
    d = interpolate(values, origin, step, mu, log_sigma, r, log_t0 + log_f, which)
    # each cell's own chain: its first count elongations (the stack's padding is zero)
    valid = jnp.arange(d.shape[-1])[None, :] < count[:, None]
    last = jnp.take_along_axis(d, (count - 1)[:, None], axis=-1)[:, 0]
    mean = jnp.sum(d, axis=-1) / count
    spread = jnp.sqrt(jnp.sum(jnp.where(valid, d - mean[:, None], 0.0) ** 2, axis=-1) / count)
    return d[:, 0] - last, spread, jnp.where(valid, d, jnp.nan)


def predict(theta, flat: Flat, lay: Layout, table):
    """(normalised c, normalised v, elongation fractions (n, L+1)) of every cell (jax)."""
    pr = problem(flat, lay, table)
    return _predict(theta, *_arguments(pr), panels=pr.panels)


def _arguments(pr: Problem) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
    import jax.numpy as jnp

    return (
        tuple(jnp.asarray(g) for g in pr.geometry),  # the table index and count stay integers
        jnp.asarray(pr.lower),
        jnp.asarray(pr.upper),
        jnp.asarray(pr.values),
        jnp.asarray(pr.origin),
        jnp.asarray(pr.step),
        pr.log_noise_max,
    )


def _floor(se, mask):
    """The median standard error over the training cells (NaN ones left out); 1 when none
    is finite and positive."""
    import jax.numpy as jnp

    usable = mask & jnp.isfinite(se)
    median = jnp.nanmedian(jnp.where(usable, se, jnp.nan))
    return jnp.where(usable.any() & (median > 0), median, 1.0)


def _residuals(theta, c, v, c_se, v_se, mask, args, panels):
    import jax.numpy as jnp

    c_hat, v_hat, _ = _predict(theta, *args, panels=panels)
    parts = []
    for pred, obs, se in ((c_hat, c, c_se), (v_hat, v, v_se)):
        floor = _floor(se, mask)
        scale = jnp.sqrt(jnp.where(jnp.isfinite(se), se, 0.0) ** 2 + floor**2)
        parts.append(jnp.where(mask, (pred - jnp.where(mask, obs, 0.0)) / scale, 0.0))
    return jnp.concatenate(parts)


def _pair_solve(panels: int, max_steps: int):
    """The fit of one (problem, start) pair, not jitted: ``solve(theta0, fixed_row, free,
    mask, c, v, c_se, v_se, args) -> (theta, loss, converged)``; ``free`` marks the fitted
    parameters, the others keep ``fixed_row``."""
    import jax.numpy as jnp
    import optimistix as optx

    def solve(theta0, fixed_row, free, mask, cc, vv, cs, vs, args):
        def fn(theta, _):
            full = jnp.where(free, theta, fixed_row)
            return _residuals(full, cc, vv, cs, vs, mask, args, panels)

        start = jnp.where(free, theta0, fixed_row)
        sol = optx.least_squares(
            fn,
            optx.LevenbergMarquardt(rtol=1e-6, atol=1e-8),
            start,
            max_steps=max_steps,
            throw=False,
        )
        theta = jnp.where(free, sol.value, fixed_row)
        r = fn(theta, None)
        return theta, jnp.sum(r**2), sol.result == optx.RESULTS.successful

    return solve


@functools.cache
def _compiled(panels: int, max_steps: int):
    """One jitted solver of a batch of (problem, start) pairs (compiled once per shape)."""
    import jax

    solve = _pair_solve(panels, max_steps)
    # one vmap over (problem, start) pairs: nesting a vmap over starts inside one over
    # problems took twice as long to trace and compile (benchmarks/compare_fit.py)
    return jax.jit(jax.vmap(solve, in_axes=(0, 0, None, 0, 0, 0, 0, 0, None)))


@functools.cache
def _compiled_screen(panels: int):
    """One jitted loss evaluation of a batch of problems at a shared set of points:
    ``(points (C, P), fixed (B, P), free, masks (B, n), data (B, n) x 4, args) -> (B, C)``."""
    import jax
    import jax.numpy as jnp

    def loss(theta, fixed_row, free, mask, cc, vv, cs, vs, args):
        full = jnp.where(free, theta, fixed_row)
        r = _residuals(full, cc, vv, cs, vs, mask, args, panels)
        total = jnp.sum(r**2)
        return jnp.where(jnp.isfinite(total), total, jnp.inf)

    over_points = jax.vmap(loss, in_axes=(0, None, None, None, None, None, None, None, None))
    over_problems = jax.vmap(over_points, in_axes=(None, 0, None, 0, 0, 0, 0, 0, None))

    def screen(points, *rest):
        # points in blocks of SCREEN_BLOCK, one after another: the interpolation's corner
        # values of every (problem, point, cell) at once would not fit in memory
        blocks = points.reshape(-1, SCREEN_BLOCK, points.shape[-1])
        losses = jax.lax.map(lambda block: over_problems(block, *rest), blocks)
        return jnp.moveaxis(losses, 0, 1).reshape(rest[0].shape[0], -1)

    return jax.jit(screen)


def screen_points(size: int, count: int = SCREEN, seed: int = 0) -> np.ndarray:
    """(count, size) unconstrained points: the centre of the boxes, then the first
    count - 1 points of a scrambled Sobol set (drawn in a power of two) uniform in sigmoid
    units within (0.01, 0.99) of every box."""
    from scipy.stats import qmc

    sobol = qmc.Sobol(size, scramble=True, seed=np.random.default_rng([seed, 4242]))
    u = 0.01 + 0.98 * sobol.random_base2(int(np.ceil(np.log2(max(count, 2)))))[: count - 1]
    return np.concatenate([np.zeros((1, size)), np.log(u / (1 - u))])


@dataclass(frozen=True)
class Fits:
    """Best fits of M problems: unconstrained parameters (M, P), loss (M,), whether the
    optimiser converged (M,)."""

    theta: np.ndarray
    loss: np.ndarray
    converged: np.ndarray


def fit_many(
    flat: Flat,
    lay: Layout,
    table,
    masks: np.ndarray,
    c: np.ndarray | None = None,
    v: np.ndarray | None = None,
    c_se: np.ndarray | None = None,
    v_se: np.ndarray | None = None,
    fixed: np.ndarray | None = None,
    free: np.ndarray | None = None,
    starts: int = STARTS,
    seed: int = 0,
) -> Fits:
    """Fit M problems at once: ``masks`` (M, n) picks each problem's training cells;
    ``c``, ``v``, ``c_se``, ``v_se`` (M, n) their data (default: the panels' own, for every
    problem). ``free`` (P,) marks the parameters fitted; the others keep ``fixed`` (M, P).
    Problems are solved in chunks of :data:`CHUNK` (the last one padded): each problem's
    ``starts`` best of the :func:`screen_points` (module docstring), then every start of
    every problem in one compiled, vmapped Levenberg-Marquardt call."""
    import jax
    import jax.numpy as jnp

    masks = np.asarray(masks, bool)
    M = masks.shape[0]

    def stack(x, default):
        return np.broadcast_to(default if x is None else x, (M, flat.n)).astype(float)

    data = [
        stack(x, d) for x, d in ((c, flat.c), (v, flat.v), (c_se, flat.c_se), (v_se, flat.v_se))
    ]
    masks = masks & np.isfinite(data[0]) & np.isfinite(data[1]) & flat.defined[None]
    P = lay.size
    fixed_ = np.zeros((M, P)) if fixed is None else np.asarray(fixed, float)
    free_ = np.ones(P, bool) if free is None else np.asarray(free, bool)
    points = screen_points(P, SCREEN, seed)
    pr = problem(flat, lay, table)
    thetas, losses, oks = [], [], []
    with jax.enable_x64(True):
        screen = _compiled_screen(pr.panels)
        solver = _compiled(pr.panels, MAX_STEPS)
        args = _arguments(pr)
        for begin in range(0, M, CHUNK):
            # the last chunk repeats problems
            problems = np.arange(begin, begin + CHUNK) % M
            screened = np.asarray(
                screen(
                    jnp.asarray(points),
                    jnp.asarray(fixed_[problems]),
                    jnp.asarray(free_),
                    jnp.asarray(masks[problems]),
                    *(jnp.asarray(x[problems]) for x in data),
                    args,
                )
            )
            # each problem once per start, from its best screened points
            best = np.argsort(screened, axis=1, kind="stable")[:, :starts]
            theta0 = points[best].reshape(CHUNK * starts, P)
            index = np.repeat(problems, starts)
            theta, loss, ok = solver(
                jnp.asarray(theta0),
                jnp.asarray(fixed_[index]),
                jnp.asarray(free_),
                jnp.asarray(masks[index]),
                *(jnp.asarray(x[index]) for x in data),
                args,
            )
            keep = min(CHUNK, M - begin)
            thetas.append(np.asarray(theta).reshape(CHUNK, starts, P)[:keep])
            losses.append(np.asarray(loss).reshape(CHUNK, starts)[:keep])
            oks.append(np.asarray(ok).reshape(CHUNK, starts)[:keep])
    theta, loss, ok = np.concatenate(thetas), np.concatenate(losses), np.concatenate(oks)
    loss = np.where(np.isfinite(loss), loss, np.inf)
    best = np.argmin(loss, axis=1)
    pick = np.arange(M)
    return Fits(theta[pick, best], loss[pick, best], ok[pick, best])


@functools.cache
def _compiled_predictions(panels: int):
    import jax

    def one(theta, args: tuple[Any, Any, Any, Any, Any, Any, Any]):
        return _predict(theta, *args, panels=panels)

    return jax.jit(jax.vmap(one, in_axes=(0, None)))


def predictions(theta: np.ndarray, flat: Flat, lay: Layout, table):
    """Predicted (c, v, elongation fractions) of every cell under each of M parameter sets
    (M padded to a multiple of :data:`CHUNK`, so that one compilation serves every M)."""
    import jax
    import jax.numpy as jnp

    theta = np.atleast_2d(theta)
    M = theta.shape[0]
    pr = problem(flat, lay, table)
    theta = np.pad(theta, ((0, -(-M // CHUNK) * CHUNK - M), (0, 0)))
    with jax.enable_x64(True):
        c, v, d = _compiled_predictions(pr.panels)(jnp.asarray(theta), _arguments(pr))
        return tuple(np.asarray(x)[:M, : flat.n] for x in (c, v, d))
