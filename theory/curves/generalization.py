"""Learning curves of kernel (ridge) regression: equivalent kernel, its 1/N correction, and
the self-consistent (kappa, gamma) theory.

Sources: companion reference ../shared/reference/companion-theories.md, section B;
O. Cohen, O. Malka, Z. Ringel, Phys. Rev. Research 3, 023034 (2021), arXiv 1906.05301
("equivalent kernel" and its first correction; full text not read, see below);
A. Canatar, B. Bordelon, C. Pehlevan, Nat. Commun. 12, 2914 (2021), eqs. (3)-(5) and
Methods (self-consistent theory); P. Sollich, NIPS 11 (1999) (GP learning curve).

Setting. Kernel k with Mercer eigenvalues lambda_k and eigenfunctions phi_k, orthonormal
under the data measure; target g = sum_k g_k phi_k; N training points with labels
g(x) + noise of variance eps^2; predictor f = k(x, X) (K + sigma^2 I)^(-1) y (kernel ridge
regression with ridge sigma^2 = the GP posterior mean with noise variance sigma^2). Errors
are against the clean target, E = E_x (f(x) - g(x))^2. Every formula below is per mode;
the numerics sum the modes with their multiplicities.

Equivalent kernel (leading order in 1/N; Cohen et al.): the dataset-averaged predictor is
  f_k = lambda_k / (lambda_k + sigma^2/N) g_k,
  E_EK = sum_k [(sigma^2/N) / (lambda_k + sigma^2/N)]^2 g_k^2 (error of that predictor).

First 1/N correction (reference, "derived, check against Cohen et al."):
  f_k = g_k lambda_k/(lambda_k + sigma^2/N) [1 - S / (N (lambda_k + sigma^2/N))],
  S = sum_k lambda_k (sigma^2/N) / (lambda_k + sigma^2/N).
Derived here: this is the first-order expansion of the self-consistent mean predictor
N lambda/(N lambda + kappa) in kappa - sigma^2 = S, the first iterate of the kappa equation
from kappa = sigma^2 (:func:`correction_is_first_order_expansion` checks it with sympy).

Self-consistent theory (Canatar et al. eqs. 3-4):
  kappa = sigma^2 + kappa sum_k lambda_k / (N lambda_k + kappa),
  gamma = sum_k N lambda_k^2 / (N lambda_k + kappa)^2,
  E_g = [sum_k kappa^2 g_k^2 / (N lambda_k + kappa)^2 + eps^2 gamma] / (1 - gamma);
the dataset-averaged predictor has coefficients N lambda_k/(N lambda_k + kappa) g_k, so its
error is the bracket's first sum (without the 1/(1 - gamma) variance factor).

Uniqueness of kappa (derived here; used by the solver and the tests). Divide by kappa:
  H(kappa) = sigma^2/kappa + sum_k lambda_k / (N lambda_k + kappa) = 1.
Each term of H is strictly decreasing in kappa > 0 and H -> 0 as kappa -> infinity; for
sigma^2 > 0, H -> infinity as kappa -> 0+. So the root exists and is unique. It lies in
[sigma^2, sigma^2 + sum_k lambda_k]: H(sigma^2) >= 1, and at kappa = sigma^2 + T
(T = sum_k lambda_k, the trace) H <= sigma^2/kappa + T/kappa = 1. At the root
1 - gamma = -kappa H'(kappa) = sigma^2/kappa + sum_k kappa lambda_k/(N lambda_k + kappa)^2
> 0, so E_g is finite and positive (:func:`one_minus_gamma_identity`).
kappa is increasing in sigma^2 and decreasing in N (H is increasing in sigma^2, decreasing
in N, decreasing in kappa).

GP learning curve (Sollich 1999; derived here in this notation): the data-averaged posterior
variance E_x Var[f(x) | data] is approximated by eps_GP = sum_k lambda_k kappa/(N lambda_k
+ kappa) = kappa - sigma^2, by the kappa equation itself.
"""

from __future__ import annotations

import sympy as sp

lam = sp.Symbol("lambda", positive=True)  # one Mercer eigenvalue
N = sp.Symbol("N", positive=True)  # number of training samples
ridge = sp.Symbol("sigma2", positive=True)  # ridge = GP noise variance sigma^2
kappa = sp.Symbol("kappa", positive=True)
gamma = sp.Symbol("gamma", nonnegative=True)
# squared target coefficient g_k^2 (summed over a degenerate block)
g2 = sp.Symbol("g2", nonnegative=True)
noise = sp.Symbol("epsilon2", nonnegative=True)  # label-noise variance eps^2
S = sp.Symbol("S", nonnegative=True)  # the 1/N-correction sum
bias_sum = sp.Symbol("B", nonnegative=True)  # sum_k kappa^2 g_k^2/(N lambda_k + kappa)^2


# --- equivalent kernel and its correction (per mode) --------------------------------------


def ek_filter() -> sp.Expr:
    """lambda/(lambda + sigma^2/N): the equivalent-kernel gain of one mode."""
    return lam / (lam + ridge / N)


def ek_error_term() -> sp.Expr:
    """[(sigma^2/N)/(lambda + sigma^2/N)]^2 g^2: one mode's share of E_EK."""
    return ((ridge / N) / (lam + ridge / N)) ** 2 * g2


def correction_term() -> sp.Expr:
    """lambda (sigma^2/N)/(lambda + sigma^2/N): one mode's share of S."""
    return lam * (ridge / N) / (lam + ridge / N)


def corrected_filter() -> sp.Expr:
    """lambda/(lambda + sigma^2/N) [1 - S/(N (lambda + sigma^2/N))]."""
    return ek_filter() * (1 - S / (N * (lam + ridge / N)))


def corrected_error_term() -> sp.Expr:
    """(1 - corrected gain)^2 g^2: one mode's share of the corrected E_EK."""
    return (1 - corrected_filter()) ** 2 * g2


# --- self-consistent theory (per mode) ----------------------------------------------------


def kappa_term() -> sp.Expr:
    """lambda/(N lambda + kappa): one mode's share of H(kappa) - sigma^2/kappa."""
    return lam / (N * lam + kappa)


def kappa_residual_total(mode_sum: sp.Expr) -> sp.Expr:
    """1 - H(kappa) = 1 - sigma^2/kappa - sum_k lambda_k/(N lambda_k + kappa), given the
    sum; increasing in kappa, one root (module docstring)."""
    return 1 - ridge / kappa - mode_sum


def kappa_term_derivative() -> sp.Expr:
    """d/dkappa of lambda/(N lambda + kappa) (negative)."""
    return sp.diff(kappa_term(), kappa)


def gamma_term() -> sp.Expr:
    """N lambda^2/(N lambda + kappa)^2: one mode's share of gamma."""
    return N * lam**2 / (N * lam + kappa) ** 2


def sc_filter() -> sp.Expr:
    """N lambda/(N lambda + kappa): the self-consistent mean-predictor gain."""
    return N * lam / (N * lam + kappa)


def sc_bias_term() -> sp.Expr:
    """kappa^2 g^2/(N lambda + kappa)^2 = (1 - gain)^2 g^2."""
    return kappa**2 * g2 / (N * lam + kappa) ** 2


def sc_error() -> sp.Expr:
    """E_g = (B + eps^2 gamma)/(1 - gamma) (Canatar et al. eq. 4)."""
    return (bias_sum + noise * gamma) / (1 - gamma)


def gp_posterior_variance() -> sp.Expr:
    """Sollich's approximation of the mean posterior variance: kappa - sigma^2."""
    return kappa - ridge


# --- symbolic checks of the derivations ---------------------------------------------------


def correction_is_first_order_expansion() -> sp.Expr:
    """Residual (should simplify to 0) between the corrected filter and the first-order
    Taylor expansion of the self-consistent gain N lambda/(N lambda + kappa) about
    kappa = sigma^2 with kappa - sigma^2 = S (module docstring)."""
    eps = sp.Symbol("epsilon")
    expanded = sp.series(sc_filter().subs(kappa, ridge + eps * S), eps, 0, 2).removeO()
    return sp.simplify(expanded.subs(eps, 1) - corrected_filter())


def first_iterate_of_kappa() -> sp.Expr:
    """kappa_1 - sigma^2 where kappa_1 = sigma^2 + kappa_0 lambda/(N lambda + kappa_0) at
    kappa_0 = sigma^2 (one mode): equals :func:`correction_term` (checked in the tests)."""
    return sp.simplify(ridge * kappa_term().subs(kappa, ridge))


def ek_is_sc_at_bare_ridge() -> sp.Expr:
    """EK gain minus the self-consistent gain at kappa = sigma^2 (simplifies to 0)."""
    return sp.simplify(ek_filter() - sc_filter().subs(kappa, ridge))


def one_minus_gamma_identity() -> sp.Expr:
    """For one mode plus the ridge term: (sigma^2/kappa + lambda/(N lambda + kappa)) -
    gamma_term - (-kappa dH/dkappa); simplifies to 0, so 1 - gamma = -kappa H'(kappa) at
    the root H = 1."""
    H = ridge / kappa + kappa_term()
    return sp.simplify(H - gamma_term() + kappa * sp.diff(H, kappa))
