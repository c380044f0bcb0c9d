"""Representation-learning dynamics: the van Rossem-Saxe pair equations and the exact
learning curves of deep linear networks (Saxe, McClelland, Ganguli).

Sources: companion reference ../shared/reference/companion-theories.md, section C;
L. van Rossem, A. Saxe, "When representations align: universality in representation
learning dynamics", ICML 2024 (arXiv 2402.09142), the two-point system, and the authors'
code (GitHub loekvanrossem/universality, ``source/simulate.py``, function ``der``);
A. Saxe, J. McClelland, S. Ganguli, ICLR 2014 (arXiv 1312.6120), section 2 (two layers)
and section 3 (deep nets, balanced initialisation).

Pair of inputs (van Rossem & Saxe). For two inputs at squared distance dx2 with targets at
squared distance dy2, let h be the squared distance of their hidden representations, y the
squared distance of the outputs and w = (output difference).(output difference - target
difference). With effective learning rates eta_h (encoder) and eta_y (decoder),

  dh/dt = -eta_h dx2 w,
  dy/dt = -w (eta_y h + eta_h dx2 y/h),
  dw/dt = -(1/2) eta_y h (3w - y + dy2) - (1/2) eta_h dx2 (y + w) w/h.

Derived here (and checked symbolically by the functions below and the tests):

* C = eta_y h - eta_h dx2 y/h is conserved: dC/dt = eta_y h' - eta_h dx2 (y' h - y h')/h^2
  = -eta_y eta_h dx2 w + eta_h dx2 w (eta_y + eta_h dx2 y/h^2) - eta_h^2 dx2^2 y w/h^2 = 0
  (only the h and y equations enter, so any w equation keeps C).
* The fixed points with h > 0 are w = 0, y = dy2 (w = 0 stops h and y; then dw/dt = 0 needs
  y = dy2). Conservation of C between the start (h0, y0) and the fixed point (h_inf, dy2)
  gives h_inf^2 - A h_inf - r dx2 dy2 = 0 with r = eta_h/eta_y and A = h0 - r dx2 y0/h0:
  h_inf = (A + sqrt(A^2 + 4 r dx2 dy2))/2, the positive root.
* Rich limit (small initialisation, y0/h0 -> 0 and h0 -> 0): A -> 0 and
  h_inf -> sqrt(r dx2 dy2) = sqrt(eta_h/eta_y) |dx| |dy|, independent of the start; pairs
  with the same target (dy2 = 0) merge (h_inf = max(A, 0)). Lazy limit (large h0 with y0/h0
  bounded): h_inf = h0 + O(1/h0).
* Solving the same quadratic for r gives the ratio that a measured final distance implies:
  r = h_inf (h_inf - h0) / (dx2 (dy2 - y0 h_inf/h0)) (:func:`ratio_from_final_state`).

Deep linear network (Saxe et al.). Whitened inputs, input-output correlation with singular
value s on one mode, a chain of D weight matrices initialised balanced and aligned with
that mode, product strength u = prod_l a_l, each a_l = u^(1/D). Gradient flow with time
constant tau (tau = 1/learning rate for the loss (1/2) E |y - W x|^2) gives

  tau du/dt = D u^(2 - 2/D) (s - u),

and for D = 2 the logistic solution u(t) = s e^(2st/tau) / (e^(2st/tau) - 1 + s/u0) with
learning time t(u0 -> u_f) = (tau/(2s)) ln[u_f (s - u0) / (u0 (s - u_f))].
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp

# --- the pair equations ------------------------------------------------------------------

h = sp.Symbol("h", positive=True)  # squared distance of the hidden representations
y = sp.Symbol("y", nonnegative=True)  # squared distance of the outputs
w = sp.Symbol("w", real=True)  # output difference . (output difference - target difference)
eta_h = sp.Symbol("eta_h", positive=True)
eta_y = sp.Symbol("eta_y", positive=True)
dx2 = sp.Symbol("dx2", positive=True)
dy2 = sp.Symbol("dy2", nonnegative=True)
h0 = sp.Symbol("h_0", positive=True)
y0 = sp.Symbol("y_0", nonnegative=True)
ratio = sp.Symbol("r", positive=True)  # eta_h / eta_y
h_final = sp.Symbol("h_inf", positive=True)

#: Coefficients of the w equation: dw/dt = -(1/2) eta_y h (a w - y + dy2)
#: - b (1/2) eta_h dx2 (y + w) w/h; the theory has a = 3, b = 1.
a_w = sp.Symbol("a_w", real=True)
b_w = sp.Symbol("b_w", real=True)

#: Perturbations of the w equation used as negative controls, as (a, b): "decoder" replaces
#: 3w by w, "encoder" drops the encoder's term. Every choice of (a, b) conserves C (only
#: the h and y equations enter dC/dt), so only the trajectories tell them apart.
PERTURBATIONS = {"none": (3, 1), "decoder": (1, 1), "encoder": (3, 0)}


def check_perturbation(name: str) -> tuple[int, int]:
    """(a, b) of a named perturbation; raises ParameterError naming ``perturbation``."""
    if name not in PERTURBATIONS:
        from springblock.params import ParameterError

        raise ParameterError("perturbation", name, f"one of {', '.join(PERTURBATIONS)}")
    return PERTURBATIONS[name]


@dataclass(frozen=True)
class PairModel:
    """The van Rossem-Saxe equations for one pair (module docstring).

    :attr:`rhs` keeps the w-equation coefficients (a, b) as symbols (:attr:`parameters`
    ends with them), so one compiled function serves the theory and its perturbations;
    :attr:`equations` substitutes the values of ``perturbation``.
    """

    perturbation: str = "none"

    def __post_init__(self):
        check_perturbation(self.perturbation)

    @property
    def state(self) -> tuple[sp.Symbol, sp.Symbol, sp.Symbol]:
        return (h, y, w)

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        return (eta_h, eta_y, dx2, dy2, a_w, b_w)

    @property
    def coefficients(self) -> tuple[int, int]:
        return PERTURBATIONS[self.perturbation]

    @cached_property
    def rhs(self) -> list[sp.Expr]:
        """(dh/dt, dy/dt, dw/dt) with symbolic w-equation coefficients (a_w, b_w)."""
        return [
            -eta_h * dx2 * w,
            -w * (eta_y * h + eta_h * dx2 * y / h),
            -sp.Rational(1, 2) * eta_y * h * (a_w * w - y + dy2)
            - b_w * sp.Rational(1, 2) * eta_h * dx2 * (y + w) * w / h,
        ]

    @cached_property
    def equations(self) -> list[sp.Expr]:
        """:attr:`rhs` with the coefficients of ``perturbation`` substituted."""
        a, b = self.coefficients
        return [f.subs({a_w: a, b_w: b}) for f in self.rhs]

    @cached_property
    def conserved(self) -> sp.Expr:
        """C = eta_y h - eta_h dx2 y / h."""
        return eta_y * h - eta_h * dx2 * y / h

    def conservation_residual(self) -> sp.Expr:
        """dC/dt along the flow, for symbolic (a_w, b_w); simplifies to 0."""
        grad = [sp.diff(self.conserved, v) for v in self.state]
        return sp.simplify(sum(g * f for g, f in zip(grad, self.rhs, strict=True)))

    def fixed_point_residual(self) -> list[sp.Expr]:
        """The right-hand side at (h, dy2, 0): all zero for every h > 0 and (a, b)."""
        return [sp.simplify(f.subs({y: dy2, w: 0})) for f in self.rhs]

    def latex(self) -> str:
        names = (r"\dot h", r"\dot y", r"\dot w")
        return r",\quad ".join(
            f"{n} = {sp.latex(f)}" for n, f in zip(names, self.equations, strict=True)
        )


def final_distance(h_start=h0, y_start=y0, r=ratio, dx=dx2, dy=dy2) -> sp.Expr:
    """h_inf = (A + sqrt(A^2 + 4 r dx2 dy2))/2, A = h0 - r dx2 y0/h0 (module docstring)."""
    a = h_start - r * dx * y_start / h_start
    return (a + sp.sqrt(a**2 + 4 * r * dx * dy)) / 2


def final_distance_residual() -> sp.Expr:
    """C(h_inf, dy2) - C(h0, y0) with r = eta_h/eta_y; simplifies to 0."""
    model = PairModel()
    final = final_distance(r=eta_h / eta_y)
    start = model.conserved.subs({h: h0, y: y0})
    end = model.conserved.subs({h: final, y: dy2})
    return sp.simplify(sp.expand(end - start))


def rich_limit() -> sp.Expr:
    """lim h_inf for h0 -> 0 with y0 = h0^2 (two small layers): sqrt(r dx2 dy2)."""
    eps = sp.Symbol("epsilon", positive=True)
    return sp.limit(final_distance(h_start=eps, y_start=eps**2), eps, 0, "+")


def ratio_from_final_state() -> sp.Expr:
    """eta_h/eta_y implied by a measured h_inf: the root r of h_inf = final_distance(r)."""
    a = h0 - ratio * dx2 * y0 / h0
    (solution,) = sp.solve(sp.Eq(h_final**2 - a * h_final - ratio * dx2 * dy2, 0), ratio)
    return sp.simplify(solution)


# --- deep linear networks ----------------------------------------------------------------

u = sp.Symbol("u", positive=True)  # mode strength (product of the aligned weights)
s = sp.Symbol("s", positive=True)  # singular value of the input-output correlation
tau = sp.Symbol("tau", positive=True)  # time constant (1 / learning rate)
u0 = sp.Symbol("u_0", positive=True)
u_f = sp.Symbol("u_f", positive=True)
t = sp.Symbol("t", nonnegative=True)


@dataclass(frozen=True)
class DeepLinearMode:
    """One mode of a depth-``depth`` linear net from a balanced aligned start (Saxe et al.)."""

    depth: int = 2

    def __post_init__(self):
        from springblock.params import check_int

        object.__setattr__(self, "depth", check_int("depth", self.depth, 1, 1000))

    @property
    def state(self) -> tuple[sp.Symbol]:
        return (u,)

    @property
    def parameters(self) -> tuple[sp.Symbol, sp.Symbol]:
        return (s, tau)

    @cached_property
    def rhs(self) -> list[sp.Expr]:
        """du/dt = D u^(2 - 2/D) (s - u) / tau."""
        D = self.depth
        return [D * u ** (2 - sp.Rational(2, D)) * (s - u) / tau]

    def layer_flow_residual(self) -> sp.Expr:
        """Derivation check: with every layer a = u^(1/D) and tau da/dt = a^(D-1) (s - a^D)
        (gradient of (1/2)(s - prod a)^2 with respect to one factor), d(a^D)/dt equals
        :attr:`rhs`; returns the difference (0)."""
        a = sp.Symbol("a", positive=True)
        D = self.depth
        da = a ** (D - 1) * (s - a**D) / tau
        du = sp.diff(a**D, a) * da
        return sp.simplify(du.subs(a, u ** sp.Rational(1, D)) - self.rhs[0])

    def closed_form(self) -> sp.Expr:
        """u(t) for D = 2 (logistic); D = 1 relaxes exponentially: u = s + (u0 - s) e^(-t/tau)."""
        if self.depth == 1:
            return s + (u0 - s) * sp.exp(-t / tau)
        if self.depth != 2:
            raise NotImplementedError("closed form only for depth 1 and 2; solve the ODE")
        e = sp.exp(2 * s * t / tau)
        return s * e / (e - 1 + s / u0)

    def closed_form_residual(self) -> tuple[sp.Expr, sp.Expr]:
        """(du/dt - rhs, u(0) - u0) for the closed form; both simplify to 0."""
        sol = self.closed_form()
        return (
            sp.simplify(sp.diff(sol, t) - self.rhs[0].subs(u, sol)),
            sp.simplify(sol.subs(t, 0) - u0),
        )

    def learning_time(self) -> sp.Expr:
        """Time from u0 to u_f (D = 2): (tau/(2s)) ln[u_f (s - u0) / (u0 (s - u_f))]."""
        if self.depth != 2:
            raise NotImplementedError("learning time in closed form only for depth 2")
        return tau / (2 * s) * sp.log(u_f * (s - u0) / (u0 * (s - u_f)))

    def learning_time_residual(self) -> sp.Expr:
        """u(learning_time) - u_f; simplifies to 0."""
        return sp.simplify(self.closed_form().subs(t, self.learning_time()) - u_f)
