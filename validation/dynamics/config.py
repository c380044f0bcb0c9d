"""Validated settings of the representation-dynamics experiments (frozen dataclasses; the
defaults live here and nowhere else). Imports no jax, so the CLI validates options before
any work starts.

* :class:`NetConfig`: one MLP and its training (:mod:`~springblock.validation.dynamics.train`).
* :class:`TwoPointTask` (inputs :class:`SyntheticPair` or :class:`Mnist1dPair`) and
  :class:`XorTask`: nets at several gains on a set of points (:class:`PairNets`).
* :class:`DeepLinearTask`: gradient descent on a deep linear net.

The size limits keep every run within the memory and time of one machine; the gains of
:data:`REGIME_GAINS` are calibrated for width 64 and 6 hidden layers.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from springblock.params import ParameterError, check_int, check_real
from springblock.theory.dynamics.representation import PERTURBATIONS

NONLINEARITIES = ("leaky_relu", "tanh", "linear")
#: Initialisation gains of the three regimes for width 64 and 6 hidden layers (h0/dx2 at
#: the middle layer: ~1e-2 rich, ~0.3 intermediate, ~20 lazy; docs/dynamics.md).
REGIME_GAINS = {"rich": 0.8, "intermediate": 1.2, "lazy": 2.0}
#: Size limits: beyond them a run would not fit in memory or time on one machine
#: (MAX_WEIGHTS floats of weights, 400 MB in float64, plus as much for the gradients).
MAX_WIDTH = 4096
MAX_HIDDEN_LAYERS = 100
MAX_WEIGHTS = 50_000_000
MAX_STEPS = 1_000_000
#: Larger gains overflow the signal through the depth (the variance grows like (g^2/2)^L).
MAX_GAIN = 10.0


def default_lr(gain: float, hidden_layers: int, base: float = 0.02) -> float:
    """base / max(1, (g^2/2)^L): with leaky ReLU each Xavier layer of gain g multiplies the
    signal's variance by about g^2/2, so the output (and the NTK) of a large-gain net grows
    by (g^2/2)^L; dividing the rate by it keeps gradient descent stable (heuristic, as the
    authors' hand-tuned rates in ``experiments/model_settings``)."""
    return base / max(1.0, (gain * gain / 2) ** hidden_layers)


@dataclass(frozen=True)
class NetConfig:
    """MLP and training settings (module docstring); validated on construction. The
    defaults are the two-point setup that :data:`REGIME_GAINS` is calibrated for (and the
    CLI's ``dynamics two-point``)."""

    width: int = 64
    hidden_layers: int = 6
    tracked_layer: int = 3
    nonlinearity: str = "leaky_relu"
    gain: float = 1.0
    lr: float = 0.02
    steps: int = 1500

    def __post_init__(self):
        object.__setattr__(self, "width", check_int("width", self.width, 1, MAX_WIDTH))
        object.__setattr__(
            self,
            "hidden_layers",
            check_int("hidden_layers", self.hidden_layers, 1, MAX_HIDDEN_LAYERS),
        )
        if self.width**2 * self.hidden_layers > MAX_WEIGHTS:
            raise ParameterError(
                "width",
                self.width,
                f"width^2 x hidden_layers <= {MAX_WEIGHTS:.0e} (memory), i.e. <= "
                f"{int((MAX_WEIGHTS / self.hidden_layers) ** 0.5)} for {self.hidden_layers} layers",
            )
        object.__setattr__(
            self,
            "tracked_layer",
            check_int("tracked_layer", self.tracked_layer, 0, self.hidden_layers - 1),
        )
        if self.nonlinearity not in NONLINEARITIES:
            raise ParameterError(
                "nonlinearity", self.nonlinearity, f"one of {', '.join(NONLINEARITIES)}"
            )
        object.__setattr__(
            self, "gain", check_real("gain", self.gain, minimum=0.0, strict=True, maximum=MAX_GAIN)
        )
        object.__setattr__(self, "lr", check_real("lr", self.lr, minimum=0.0, strict=True))
        object.__setattr__(self, "steps", check_int("steps", self.steps, 1, MAX_STEPS))


#: Most modes (k x k matrices) and weight matrices of a deep linear net.
MAX_MODES = 512
MAX_DEPTH = 100


def stability_limit(singular_values, depth: int) -> float:
    """Largest stable learning rate: near u = s each factor a = u^(1/D) follows
    a <- a + lr a^(D-1) (s - a^D), whose slope at a = s^(1/D) is 1 - lr D s^(2-2/D), so
    gradient descent converges only for lr < 2 / (D s_max^(2-2/D))."""
    s_max = float(np.max(np.asarray(singular_values, dtype=np.float64)))
    return 2.0 / (depth * s_max ** (2.0 - 2.0 / depth))


#: Negative controls: every perturbation of the w equation but the theory itself.
CONTROLS = tuple(name for name in PERTURBATIONS if name != "none")
#: Most gains per command and most measurements per run (the fit integrates every one).
MAX_GAINS = 16
MAX_SAMPLES = 10_000
#: Largest squared input or target distance of the synthetic pair (inputs ~ sqrt(dx2)).
MAX_DISTANCE2 = 1e4


def regime(gain: float) -> str:
    """The name of a calibrated gain (:data:`REGIME_GAINS`)
    or "custom"."""
    return next((name for name, g in REGIME_GAINS.items() if g == gain), "custom")


def _distinct(name: str, values: tuple, allowed: str) -> tuple:
    if len(set(values)) != len(values):
        raise ParameterError(name, list(values), f"distinct {allowed} (one run each)")
    return values


# --- configs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticPair:
    """The authors' two points (:func:`~springblock.validation.dynamics.train.two_point_task`)
    at squared input distance ``dx2`` with targets at squared distance ``dy2``."""

    dx2: float = 1.0
    dy2: float = 0.5
    kind: str = field(default="synthetic", init=False)

    def __post_init__(self):
        check_real("dx2", self.dx2, minimum=0.0, strict=True, maximum=MAX_DISTANCE2)
        check_real("dy2", self.dy2, minimum=0.0, maximum=MAX_DISTANCE2)

    def points(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        from springblock.validation.dynamics.train import two_point_task

        return two_point_task(self.dx2, self.dy2)

    @property
    def title(self) -> str:
        return f"two-point task, dx2={self.dx2:g}, dy2={self.dy2:g}"


@dataclass(frozen=True)
class Mnist1dPair:
    """Two MNIST-1D training samples (:func:`~springblock.validation.dynamics.train.mnist1d_pair`)
    of different classes (dy2 = 2) or of one class (dy2 = 0); the dataset is drawn with the
    task's seed."""

    same_class: bool = False
    kind: str = field(default="mnist1d", init=False)

    def points(self, seed: int) -> tuple[np.ndarray, np.ndarray]:
        from springblock.validation.dynamics.train import mnist1d_pair

        return mnist1d_pair(self.same_class, seed)

    @property
    def title(self) -> str:
        return f"MNIST-1D pair ({'same class' if self.same_class else 'different classes'})"


@dataclass(frozen=True)
class PairNets(abc.ABC):
    """Nets trained on a set of points at each of ``gains`` (validated on construction);
    the subclasses name the points.

    ``tracked_layer`` None means the middle hidden layer, ``hidden_layers // 2`` (resolved
    on construction); ``lr`` None means
    :func:`default_lr` of each gain. ``samples``
    measurements of h, y, w are taken at evenly spaced steps and all enter the fit;
    ``controls`` name the perturbed equations fitted as negative controls
    (:data:`CONTROLS`). ``nets`` holds the resolved per-gain settings."""

    gains: tuple[float, ...] = tuple(REGIME_GAINS.values())
    width: int = 64
    hidden_layers: int = 6
    tracked_layer: int | None = None
    nonlinearity: str = "leaky_relu"
    lr: float | None = None
    steps: int = 1500
    samples: int = 100
    seed: int = 0
    controls: tuple[str, ...] = CONTROLS
    nets: tuple[NetConfig, ...] = field(init=False, compare=False)

    def __post_init__(self):
        gains = tuple(self.gains)
        if not 1 <= len(gains) <= MAX_GAINS:
            raise ParameterError("gains", list(gains), f"1 to {MAX_GAINS} gains")
        for g in gains:
            check_real("gains", g, minimum=0.0, strict=True, maximum=MAX_GAIN)
        object.__setattr__(self, "gains", _distinct("gains", tuple(map(float, gains)), "gains"))
        controls = tuple(self.controls)
        for name in controls:
            if name not in CONTROLS:
                raise ParameterError("controls", name, f"names among {', '.join(CONTROLS)}")
        object.__setattr__(self, "controls", _distinct("controls", controls, "names"))
        layers = check_int("hidden_layers", self.hidden_layers, 1, MAX_HIDDEN_LAYERS)
        tracked = layers // 2 if self.tracked_layer is None else self.tracked_layer
        object.__setattr__(self, "tracked_layer", tracked)
        if self.lr is not None:
            check_real("lr", self.lr, minimum=0.0, strict=True)
        check_int("steps", self.steps, 1, MAX_STEPS)
        check_int("samples", self.samples, 2, min(self.steps, MAX_SAMPLES))
        check_int("seed", self.seed, 0, 2**31 - 1)
        nets = tuple(
            NetConfig(
                width=self.width,
                hidden_layers=layers,
                tracked_layer=tracked,
                nonlinearity=self.nonlinearity,
                gain=g,
                lr=self.lr if self.lr is not None else default_lr(g, layers),
                steps=self.steps,
            )
            for g in self.gains
        )
        object.__setattr__(self, "nets", nets)

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """Short name: results kind and figure names."""

    @property
    @abc.abstractmethod
    def title(self) -> str:
        """One line for figures and the printed summary."""

    @abc.abstractmethod
    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Inputs (P, d) and targets (P, k)."""


@dataclass(frozen=True)
class TwoPointTask(PairNets):
    """Two inputs: the synthetic pair or two MNIST-1D samples (``inputs``)."""

    inputs: SyntheticPair | Mnist1dPair = field(default_factory=SyntheticPair)

    @property
    def name(self) -> str:
        if isinstance(self.inputs, SyntheticPair):
            return "two_point"
        return "mnist1d_same_class" if self.inputs.same_class else "mnist1d_pair"

    @property
    def title(self) -> str:
        return self.inputs.title

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        return self.inputs.points(self.seed)


@dataclass(frozen=True)
class XorTask(PairNets):
    """XOR's four points and six pairs; a deeper net (10 hidden layers, layer 5 tracked)
    trained twice as long, the authors' XOR setting."""

    hidden_layers: int = 10
    steps: int = 3000

    @property
    def name(self) -> str:
        return "xor"

    @property
    def title(self) -> str:
        return "XOR"

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        from springblock.validation.dynamics.train import xor_task

        return xor_task()


@dataclass(frozen=True)
class DeepLinearTask:
    """Gradient descent on a deep linear net vs the Saxe et al. solution (validated on
    construction): singular values s of the input-output map, initial strength ``u0``
    (below every s), ``depth`` weight matrices, learning rate ``lr`` (tau = 1/lr; below
    the stability limit :func:`stability_limit`),
    ``steps`` steps measured at ``records`` + 1 evenly spaced steps (at most ``steps``)."""

    singular_values: tuple[float, ...] = (3.0, 2.0, 1.0, 0.5)
    u0: float = 1e-3
    depth: int = 2
    lr: float = 1e-3
    steps: int = 8000
    seed: int = 0
    records: int = 200

    def __post_init__(self):
        s = tuple(self.singular_values)
        if not 1 <= len(s) <= MAX_MODES:
            raise ParameterError("singular_values", list(s), f"1 to {MAX_MODES} values")
        for v in s:
            check_real("singular_values", v, minimum=0.0, strict=True, maximum=1e6)
        object.__setattr__(self, "singular_values", tuple(map(float, s)))
        check_real("u0", self.u0, minimum=0.0, strict=True)
        if self.u0 >= min(s):
            raise ParameterError("u0", self.u0, f"< the smallest singular value {min(s):g}")
        check_int("depth", self.depth, 1, MAX_DEPTH)
        check_real("lr", self.lr, minimum=0.0, strict=True)
        limit = stability_limit(s, self.depth)
        if self.lr >= limit:
            raise ParameterError(
                "lr", self.lr, f"< {limit:.4g}, the stability limit 2/(D s_max^(2-2/D))"
            )
        check_int("steps", self.steps, 1, MAX_STEPS)
        check_int("seed", self.seed, 0, 2**32 - 1)
        check_int("records", self.records, 1, MAX_SAMPLES)
        object.__setattr__(self, "records", min(self.records, self.steps))
