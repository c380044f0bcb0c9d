"""Leading finite-width (1/n) corrections and the NTK recursion, for MLPs and residual MLPs.

PDLT (Roberts, Yaida & Hanin, arXiv 2106.10165): four-point vertex and NLO metric,
chapter 4 (in the single-input form of the reference, section A); NTK forward equation,
chapter 8. Network and notation as in :mod:`pdlt_criticality`; all layers of
equal width n; single input unless stated.

At order 1/n the preactivations of one layer have, for neurons i != j,

    E[z_i^2]              = K + K1 / n,          (mean metric and its NLO correction)
    Cov(z_i^2, z_j^2)     = V / n,   kappa_4(z_i) = 3 V / n,   (four-point vertex)
    E[z_i^2 z_j]          = T / n,   E[z_i^3]     = 3 T / n,   (third cumulant)

and the recursions below (derived here by conditioning on layer l: given it, the branch
u_i = b_i + sum_j W_ij sigma_j are iid N(0, G_hat), G_hat = C_b + (C_W/n) sum_j sigma_j^2,
and a weakly non-Gaussian expectation is expanded in its cumulants,
E[f(z)] = <f> + (K1/n) <f'> ... with <f'''> = d3, <f''''> = d4 of pdlt_gaussian):

    V'  = chi_par^2 V + xi^4 C_W^2 (<sigma^4> - <sigma^2>^2)
          + 2 gamma^2 xi^2 C_W (<sigma^2 z^2> - <sigma^2> K)
          + 2 xi^2 C_W chi_par (<sigma^2 z> / K) T,
    T'  = gamma chi_par T + gamma xi^2 C_W <sigma^2 z>,
    K1' = chi_par K1 + xi^2 C_W (<(sigma^2)'''> T / 2 + <(sigma^2)''''> V / 8),

with V = T = K1 = 0 in the first layer (z^(1) is exactly Gaussian). For the MLP
(gamma = 0, xi = 1) T stays 0 and V', K1' are PDLT's recursions. For residual nets the
reference (companion-theories.md A) has the first three terms of V' only; the last term,
fed by the third cumulant T, is ours. It vanishes when sigma^2 is even (tanh, erf, sin:
<sigma^2 z> = 0) but not for ReLU, where T^(2) != 0 and the reference recursion fails from
the second residual block on (:func:`four_point_map` with ``third_cumulant=False``
reproduces it; validation/pdlt_montecarlo.py measures both).

NTK (infinite width, learning-rate tensors lambda_b, lambda_W / n; PDLT ch. 8 forward
equation, residual form derived here): H^(1) = lambda_b + lambda_W x.x'/n_0,

    H'_ab = chi_perp^ab H_ab + xi^2 (lambda_b + lambda_W <sigma_a sigma_b>),
    chi_perp^ab = gamma^2 + xi^2 C_W <sigma'_a sigma'_b>.
"""

from __future__ import annotations

import sympy as sp

from springblock.theory.pdlt import criticality as pc
from springblock.theory.pdlt import gaussian as pg

V = sp.Symbol("V", real=True)  # four-point vertex (Cov(z_i^2, z_j^2) = V/n)
T = sp.Symbol("T", real=True)  # third cumulant (E[z_i^2 z_j] = T/n)
K1 = sp.Symbol("K^{\\{1\\}}", real=True)  # NLO mean metric (E[z^2] = K + K1/n)
H = sp.Symbol("H", real=True)  # NTK
lambda_b = sp.Symbol("lambda_b", nonnegative=True)
lambda_W = sp.Symbol("lambda_W", nonnegative=True)
n = sp.Symbol("n", positive=True)  # hidden width

M, P = pc.M, pc.P
gamma, xi, C_W, C_b = pc.gamma, pc.xi, pc.C_W, pc.C_b


def four_point_map(third_cumulant: bool = True) -> sp.Expr:
    """V^(l+1) (module docstring); ``third_cumulant=False`` drops the T term (the
    reference's residual recursion; identical for MLPs and for even sigma^2)."""
    chi = pc.chi_parallel()
    out = (
        chi**2 * V
        + xi**4 * C_W**2 * (M["s4"] - M["g"] ** 2)
        + 2 * gamma**2 * xi**2 * C_W * (M["s2z2"] - M["g"] * pg.K)
    )
    if third_cumulant:
        out += 2 * xi**2 * C_W * chi * M["s2z"] / pg.K * T
    return out


def third_cumulant_map() -> sp.Expr:
    """T^(l+1) = gamma chi_par T + gamma xi^2 C_W <sigma^2 z> (derived here)."""
    return gamma * pc.chi_parallel() * T + gamma * xi**2 * C_W * M["s2z"]


def mean_correction_map() -> sp.Expr:
    """K1^(l+1) = chi_par K1 + xi^2 C_W (<(sigma^2)'''> T/2 + <(sigma^2)''''> V/8)."""
    return pc.chi_parallel() * K1 + xi**2 * C_W * (M["d3"] * T / 2 + M["d4"] * V / 8)


def ntk_map() -> sp.Expr:
    """H^(l+1) = chi_perp H + xi^2 (lambda_b + lambda_W <sigma^2>) (single input)."""
    return pc.chi_perp() * H + xi**2 * (lambda_b + lambda_W * M["g"])


def ntk_pair_map() -> sp.Expr:
    """H^(l+1)_ab = (gamma^2 + xi^2 C_W <sigma'_a sigma'_b>) H_ab
    + xi^2 (lambda_b + lambda_W <sigma_a sigma_b>)."""
    return (gamma**2 + xi**2 * C_W * P["dpair"]) * H + xi**2 * (lambda_b + lambda_W * P["pair"])


def first_layer() -> dict[str, sp.Expr]:
    """Layer 1 from the input Gram entry q = x.x'/n_0: K = C_b + C_W q, H = lambda_b +
    lambda_W q, V = T = K1 = 0."""
    q = sp.Symbol("q", nonnegative=True)
    return {
        "q": q,
        "K": C_b + C_W * q,
        "H": lambda_b + lambda_W * q,
        "V": sp.Integer(0),
        "T": sp.Integer(0),
        "K1": sp.Integer(0),
    }


def scale_invariant_exact_covariance(slope: sp.Expr | None = None) -> sp.Expr:
    """Cov(z_i^2, z_j^2) / K^2 at layer l for any width n, positively homogeneous sigma,
    C_b = 0 (MLP), in terms of the leading-order slope s = 3 A4/A2^2 - 1 (derived here):

    given layer l, z^(l+1)_i are iid N(0, G) with G = (C_W/n) sum_j sigma(z_j)^2, and
    sigma(z_j)^2 = G_l * A2-weighted chi-square variables, so G_(l+1) = G_l Y with
    E[Y] = 1, E[Y^2] = 1 + s/n independent of G_l. Hence E[G_l^2] = K^2 (1 + s/n)^(l-1)
    and Cov = E[G^2] - K^2 = K^2 [(1 + s/n)^(l-1) - 1] = K^2 (s (l-1)/n + O(1/n^2)).
    """
    slope = sp.Symbol("s") if slope is None else slope
    return (1 + slope / n) ** (pc.l - 1) - 1
