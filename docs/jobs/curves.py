"""Learning curves: every number and figure of docs/curves.md and the README's curves lines.

The figures are drawn by the documented commands (``springblock curves ... --out DIR``;
the PNG is copied to docs/img) and their numbers read back from each ``results.json``;
the rest comes from the library (exact Funk-Hecke integrals in sympy, default harmonic
cut-offs, the README's Python example) and from ``benchmarks/curves.py`` (timings, with
the machine's load average: the times depend on what else runs). About ten minutes on
2 cores, most of it kernel regression on 200 datasets per N and the trained nets.

Literature values (the companion reference, ../shared/reference/companion-theories.md,
section B) are quoted next to ours as baselines; they are the only numbers typed here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: The reference kernel of section B: ReLU NNGP on S^2, C_in = 1, readout bias 0.1.
REFERENCE = ["--input-weight", "1", "--readout-bias", "0.1"]
ERF = ["--activation", "erf", "--kernel", "ntk", "--depth", "2", "--weight", "1.5"]
ERF += ["--bias", "0.1", "--target", "1:0.5,2:1,3:0.3", "--ridge", "0.02"]
RELU_NTK = ["--kernel", "ntk", "--bias", "0.1", "--target", "1:0.5,2:1"]
#: The tables that quote only the mean test error: no averaged predictor, 100 datasets.
ERRORS_ONLY = ["--common-points", "0", "--datasets", "100"]

#: figure (docs/img/NAME.png, or None) -> (the command that computes it, the PNG it writes)
COMMANDS: dict[str, tuple[list[str], str | None]] = {
    "predict": (["predict", *REFERENCE], "curves_predict"),
    "reference": (
        ["compare", *REFERENCE, "--n", "40 80 160 320 640", "--posterior-points", "100"],
        "curves_compare",
    ),
    "erf_s11": (
        ["compare", *ERF, "--noise", "0.01", "--dim", "12", "--n", "40 80 160 320", *ERRORS_ONLY],
        "curves_compare",
    ),
    "erf_s4": (
        ["compare", *ERF, "--dim", "5", "--n", "40 120 400", *ERRORS_ONLY],
        "curves_compare",
    ),
    "relu_ntk_s2": (
        ["compare", *RELU_NTK, "--ridge", "0.1", "--n", "40 80 160", *ERRORS_ONLY],
        None,
    ),
    "relu_ntk_s2_ridge1": (
        ["compare", *RELU_NTK, "--ridge", "1", "--n", "40 80 160", *ERRORS_ONLY],
        None,
    ),
    "relu_ntk_s7": (
        ["compare", *RELU_NTK, "--ridge", "0.1", "--dim", "8", "--n", "40 80 160", *ERRORS_ONLY],
        None,
    ),
    "relu_nngp_s2": (
        ["compare", "--bias", "0.1", "--target", "1:0.5,2:1", "--ridge", "0.1"]
        + ["--n", "40 80 160", *ERRORS_ONLY],
        None,
    ),
    "nets": (
        ["compare", *RELU_NTK, "--ridge", "0.1", "--n", "20 40 80 160", *ERRORS_ONLY]
        + ["--nets", "--width", "2048", "--net-datasets", "10"],
        "curves_compare",
    ),
    "tune": (["tune"], "curves_tune"),
}
#: docs/img names of the figures (the commands' PNGs are renamed on the way).
FIGURE_NAMES = {
    "predict": "curves_predict",
    "reference": "curves_reference",
    "erf_s11": "curves_erf_s11",
    "erf_s4": "curves_erf_s4",
    "nets": "curves_nets",
    "tune": "curves_tune",
}
FIGURES = (*(f"{name}.png" for name in FIGURE_NAMES.values()), "curves_spectrum.png")
#: The rows of the "where the theory is off" table, in order.
OFF_ROWS = ("erf_s4", "relu_ntk_s2", "relu_ntk_s2_ridge1", "relu_ntk_s7", "relu_nngp_s2")
#: Dimensions whose default harmonic cut-off the page quotes.
L_MAX_DIMENSIONS = (3, 4, 5, 6, 7, 8, 12, 50)
#: Literature values, companion reference section B (reference kernel, 200 datasets).
LITERATURE = {
    "eigenvalues": ["0.475", "0.16667", "0.02344", "0", "6.5e-4", "0", "9e-5"],
    "measured": {"40": 7.06e-3, "80": 1.22e-3, "160": 2.44e-4, "320": 5.46e-5},
    "self_consistent": {"40": 6.48e-3, "80": 1.18e-3, "160": 2.44e-4, "320": 5.43e-5},
}


# --------------------------------------------------------------------------- computing


def _commands(img: Path) -> dict[str, dict]:
    from springblock import cli

    found = {}
    with tempfile.TemporaryDirectory() as tmp:
        for key, (argv, png) in COMMANDS.items():
            out = Path(tmp) / key
            with contextlib.redirect_stdout(io.StringIO()):
                assert cli.main(["curves", *argv, "--out", str(out)]) == 0, argv
            if png is not None:
                shutil.copyfile(out / f"{png}.png", img / f"{FIGURE_NAMES[key]}.png")
            if key == "predict":
                shutil.copyfile(out / "curves_spectrum.png", img / "curves_spectrum.png")
            found[key] = json.loads((out / "results.json").read_text())
            if key == "predict":  # the whole spectrum (the JSON lists 12 eigenvalues)
                from springblock import open_results

                found[key]["eigenvalues_all"] = open_results(out).eigenvalue.values.tolist()
    return found


def _exact_spectrum(count: int = 7) -> list[str]:
    """sympy's exact Funk-Hecke integrals of the reference kernel, l = 0..count-1."""
    import sympy as sp

    from springblock.theory.curves import spectrum as cs

    kernel = cs.LayerMap("relu").kernel_of_angle(
        1, weight=2, bias=0, input_weight=1, readout_bias=sp.Rational(1, 10)
    )
    return [str(cs.funk_hecke(kernel, l, 3)) for l in range(count)]


def _python_api() -> dict:
    """The README's example, run as printed there."""
    from springblock.numerics.curves import solve as cv

    spec = cv.KernelSpec(
        "relu", "nngp", depth=1, weight=2.0, input_weight=1.0, readout_bias=0.1, dim=3
    )
    pred = cv.predict(spec, ((2, 1.0),), [40, 80, 160], 0.05)
    return {
        "self_consistent": pred.self_consistent.tolist(),
        "equivalent_kernel": pred.equivalent_kernel.tolist(),
    }


def _benchmark() -> dict:
    spec = importlib.util.spec_from_file_location(
        "curves_benchmark", ROOT / "benchmarks" / "curves.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.measure(datasets=200)


def run(img: Path) -> dict:
    from springblock import results
    from springblock.numerics.curves.config import default_l_max

    runs = _commands(img)
    result = {
        "commands": {k: "springblock curves " + " ".join(v[0]) for k, v in COMMANDS.items()},
        "runs": runs,
        "exact_spectrum": _exact_spectrum(),
        "default_l_max": {str(d): default_l_max(d) for d in L_MAX_DIMENSIONS},
        "python_api": _python_api(),
        "benchmark": _benchmark(),
    }
    return json.loads(results.dumps(result))


# --------------------------------------------------------------------------- rendering


def sig(x: float, digits: int = 3) -> str:
    """x to ``digits`` significant digits, in e-notation below 1e-2."""
    if x == 0:
        return "0"
    if abs(x) < 1e-2 or abs(x) >= 1e4:
        mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{x:.{digits}g}"


def pm(mean: float, se: float) -> str:
    """mean ± se with the mean to the precision of its error (2 significant digits of it)."""
    if not se or not math.isfinite(se):
        return sig(mean)
    exponent = math.floor(math.log10(abs(mean))) if mean else 0
    if abs(mean) < 1e-2:
        scale = 10.0**exponent
        digits = max(0, exponent - math.floor(math.log10(se)) + 1)
        return f"{mean / scale:.{digits}f}e{exponent} ± {se / scale:.{digits}f}e{exponent}"
    digits = max(0, 1 - math.floor(math.log10(se)))
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


def pct(x: float, digits: int = 1) -> str:
    return f"{x * 100:+.{digits}f}%".replace("-", "−")


def ratio(row: dict) -> tuple[float, float]:
    """measured / self-consistent and its standard error."""
    return row["empirical_mean"] / row["self_consistent"], row["sc_relative_error_sem"]


def command(r: dict, key: str) -> str:
    return f"`{r['commands'][key]}`"


def _curve(r: dict, key: str) -> list[dict]:
    return r["runs"][key]["curve"]


def block_commands(r: dict) -> str:
    lines = [
        (r["commands"]["predict"], "# spectrum + three theories"),
        (
            r["commands"]["reference"],
            f"# + kernel regression, {r['runs']['reference']['datasets']} datasets",
        ),
        (r["commands"]["nets"], "# + trained wide nets"),
        (r["commands"]["tune"], "# best depth, C_W, C_b, ridge"),
    ]
    body = "\n".join(f"{c} --out DIR   {comment}" for c, comment in lines)
    return f"```\n{body}\n```"


def block_quadrature(r: dict) -> str:
    cuts = r["default_l_max"]
    same = [d for d in cuts if cuts[d] == cuts["3"]]
    rest = ", ".join(f"{cuts[d]} at d = {d}" for d in cuts if d not in same)
    return (
        "`funk_hecke` integrates exactly in sympy (the arc-cosine kernels are trigonometric\n"
        "polynomials times (π − θ) in the angle); `numerics/curves/solve.py`'s `spectrum` uses\n"
        "Gauss–Legendre in θ with 2 l_max + 200 nodes, all l at once as one matrix product. In "
        "the\nangle the ReLU/erf kernels are analytic, so the rule converges exponentially (in t "
        "they\nhave (1 − t)^(3/2) (ReLU NNGP) and (1 − t)^(1/2) (ReLU NTK) singularities). The "
        "modes\nabove l_max enter through their trace T_tail = k(1) − Σ N λ. Eigenvalues are "
        "clipped at\n0 (Schoenberg: they are ≥ 0), and the default l_max falls with the "
        f"dimension ({cuts['3']} up to\nd = {max(same, key=int)}, {rest}) because rounding of "
        "λ_l is multiplied by N(d,l) ~ l^(d−2)\n(`default_l_max`)."
    )


def block_spectrum_table(r: dict) -> str:
    exact = r["exact_spectrum"]
    quad = r["runs"]["predict"]["eigenvalues_all"][: len(exact)]
    head = " | ".join(f"λ_{l}" for l in range(len(exact)))
    rows = [
        f"| reference kernel (ReLU NNGP + 0.1 on S², d = 3) | {head} |",
        "|---|" + "---|" * len(exact),
        "| literature (companion reference, section B) | "
        + " | ".join(LITERATURE["eigenvalues"])
        + " |",
        "| sympy, exact | " + " | ".join(exact) + " |",
        "| quadrature (`curves predict`, l_max = "
        f"{r['runs']['predict']['l_max']}) | "
        + " | ".join(f"{v:.14g}" if v > 1e-14 else f"{v:.0e}" for v in quad)
        + " |",
        "| quadrature − exact | "
        + " | ".join(
            f"{q - _fraction(e):.1e}".replace("0.0e+00", "0")
            for q, e in zip(quad, exact, strict=True)
        )
        + " |",
    ]
    return "\n".join(rows)


def _fraction(text: str) -> float:
    num, _, den = text.partition("/")
    return float(num) / float(den or 1)


def block_correction(r: dict) -> str:
    row = _curve(r, "erf_s11")[0]
    ridge = r["runs"]["erf_s11"]["ridge"]
    return (
        "* **First 1/N correction**: gains λ/(λ + σ²/N)[1 − S/(N(λ + σ²/N))],\n"
        "  S = Σ_k λ_k (σ²/N)/(λ_k + σ²/N). We could not read Cohen et al.; derived here, the "
        "formula\n  is exactly the first-order Taylor expansion of the self-consistent gain "
        "Nλ/(Nλ + κ) in\n  κ − σ² = S, the first iterate of the κ equation "
        "(`correction_is_first_order_expansion`,\n  sympy = 0). It is therefore valid only "
        "while κ − σ² ≪ σ²: for the erf NTK on S¹¹ below, at\n"
        f"  N = {row['n']}, κ = {row['kappa'] / ridge:.0f} σ² and the corrected EK predicts "
        f"{sig(row['ek_corrected'])} where the self-consistent\n  theory predicts "
        f"{sig(row['self_consistent'])} and kernel regression measures "
        f"{pm(row['empirical_mean'], row['empirical_sem'])}."
    )


def block_reference_setup(r: dict) -> str:
    ref = r["runs"]["reference"]
    return (
        f"Kernel ridge regression on {ref['datasets']} sampled datasets per N "
        "(`validation/curves/empirical.py`,\none compiled call per N (the sizes up to "
        f"{ref['pad']} share one, by exact masked padding), Cholesky in float64),\ntest "
        f"error on {ref['test_points']} fresh points per dataset; the averaged predictor on "
        f"{ref['common_points']} common points (its\nfinite-B variance Var f/B subtracted); "
        f"the GP posterior variance on {ref['posterior_points']} points. Target: zonal\n"
        "harmonics with random axes, g = Σ √(p N(d,l)) P_l(x·u). Scores are measured/predicted "
        "with\nthe standard error of the mean over datasets; the equivalent kernel alone is the "
        "baseline.\n\n"
        "**Reference case** (ReLU NNGP + 0.1 on S², ridge 0.05, unit degree-2 target;\n"
        f"{command(r, 'reference')}):"
    )


def block_reference_table(r: dict) -> str:
    lines = [
        "| N | measured (± SEM) | self-consistent | measured / SC | EK | EK + 1/N "
        "| averaged predictor: measured / SC | posterior variance: measured / κ − σ² |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in _curve(r, "reference"):
        q, se = ratio(row)
        lines.append(
            f"| {row['n']} | {pm(row['empirical_mean'], row['empirical_sem'])} "
            f"| {sig(row['self_consistent'])} | {pm(q, se)} | {sig(row['equivalent_kernel'])} "
            f"| {sig(row['ek_corrected'])} "
            f"| {sig(row['empirical_mean_predictor'])} / {sig(row['sc_mean_predictor'])} "
            f"| {sig(row['empirical_posterior_variance'], 4)} / {sig(row['gp_variance'], 4)} |"
        )
    lit_m, lit_sc = LITERATURE["measured"], LITERATURE["self_consistent"]
    ours = {str(row["n"]): row for row in _curve(r, "reference")}
    sc_gap = max(abs(ours[n]["self_consistent"] / lit_sc[n] - 1) for n in lit_sc)
    lines += [
        "",
        "The literature (companion reference, section B; other seeds) measured "
        + ", ".join(sig(lit_m[n]) for n in lit_m)
        + f" at N = {', '.join(lit_m)}\nand predicted the self-consistent values within "
        f"{sc_gap:.1%} of ours (its rounding).",
    ]
    return "\n".join(lines)


def _ratio_row(label: str, runs: dict, key: str) -> str:
    rows = runs[key]["curve"]
    ns = " / ".join(str(row["n"]) for row in rows)
    qs = " / ".join(pm(*ratio(row)) for row in rows)
    ek = " / ".join(f"{row['empirical_mean'] / row['equivalent_kernel']:.3g}" for row in rows)
    return f"| {label} | {ns} | {qs} | {ek} |"


def _target(pairs) -> str:
    return ", ".join(f"{degree}:{power:g}" for degree, power in pairs)


def block_erf_s11(r: dict) -> str:
    run = r["runs"]["erf_s11"]
    rows = run["curve"]
    lines = [
        "**erf NTK, depth 2, on S¹¹** (C_W = 1.5, C_b = 0.1, target "
        f"{_target(run['target'])}, ridge {run['ridge']:g},\nlabel noise {run['noise']:g}, "
        f"{run['datasets']} datasets; {command(r, 'erf_s11')}):",
        "",
        "| N | " + " | ".join(str(row["n"]) for row in rows) + " |",
        "|---|" + "---|" * len(rows),
        "| measured | "
        + " | ".join(pm(row["empirical_mean"], row["empirical_sem"]) for row in rows)
        + " |",
        "| self-consistent | " + " | ".join(sig(row["self_consistent"], 4) for row in rows) + " |",
        "| measured / SC | " + " | ".join(pm(*ratio(row)) for row in rows) + " |",
        "| EK (baseline) | " + " | ".join(sig(row["equivalent_kernel"]) for row in rows) + " |",
    ]
    return "\n".join(lines)


OFF_LABELS = {
    "erf_s4": "erf NTK depth 2, S⁴, 0.02 (target as on S¹¹, no label noise)",
    "relu_ntk_s2": "ReLU NTK depth 1 (C_b 0.1), S², 0.1",
    "relu_ntk_s2_ridge1": "same, ridge 1.0",
    "relu_ntk_s7": "same, ridge 0.1, on S⁷",
    "relu_nngp_s2": "ReLU NNGP (C_b 0.1), S², 0.1",
}


def block_off_table(r: dict) -> str:
    runs = r["runs"]
    lines = [
        "| kernel, sphere, ridge | N | measured / SC (± SEM) | measured / EK |",
        "|---|---|---|---|",
        *(_ratio_row(OFF_LABELS[key], runs, key) for key in OFF_ROWS),
    ]
    sems = [
        row["empirical_sem"] / row["empirical_mean"] for key in OFF_ROWS for row in _curve(r, key)
    ]
    datasets = sorted({runs[key]["datasets"] for key in OFF_ROWS})
    lines += [
        "",
        f"({' or '.join(map(str, datasets))} datasets each, relative SEM "
        f"{min(sems):.0%}–{max(sems):.0%}; the ReLU rows use the target 1:0.5, 2:1;\n"
        f"{command(r, 'relu_ntk_s2')} and its variations.)",
    ]
    return "\n".join(lines)


def block_nets(r: dict) -> str:
    run = r["runs"]["nets"]
    nets = run["nets"]
    lines = [
        "**Trained wide nets** (ReLU NTK, depth 1, C_W = 2, C_b = 0.1, target 1:0.5, 2:1, "
        f"ridge\n0.1; width {nets['width']}, {nets['datasets']} nets per N, "
        f"{nets['steps']} steps; {command(r, 'nets')}: an\nantisymmetric pair "
        "f = (g(θ_a) − g(θ_b))/√2 started equal, so f = 0 at initialisation, trained by "
        "heavy-ball\ngradient descent on ½Σ(f − y)² + (σ²/2)|θ − θ_0|², whose linearisation is "
        "kernel ridge\nregression with the NTK):",
        "",
        "| N | nets (± SEM) | NTK regression, same data | NTK regression, "
        f"{run['datasets']} datasets (± SEM) | self-consistent | mean (f_net − f_NTK)² |",
        "|---|---|---|---|---|---|",
    ]
    for row in run["curve"]:
        lines.append(
            f"| {row['n']} | {pm(row['nets_mean'], row['nets_sem'])} "
            f"| {sig(row['nets_kernel_regression_mean'])} "
            f"| {pm(row['empirical_mean'], row['empirical_sem'])} | {sig(row['self_consistent'])} "
            f"| {sig(row['nets_function_gap'], 2)} |"
        )
    return "\n".join(lines)


def block_tune(r: dict) -> str:
    run = r["runs"]["tune"]
    best = [b["settings"][0] for b in run["best"]]
    depths = ", ".join(
        f"depth {s['depth']} at N = {b['n']}" for s, b in zip(best, run["best"], strict=True)
    )
    settings = ",\n".join(
        f"N = {b['n']}: depth {s['depth']}, C_W {s['weight']:g}, C_b {s['bias']:g}, "
        f"ridge {s['ridge']:g} (E_g = {sig(s['self_consistent'])})"
        for s, b in zip(best, run["best"], strict=True)
    )
    target = _target(run["target"])
    return (
        "`springblock curves tune` evaluates E_g on the grid depths × C_W × C_b × ridges in "
        "one\ncompiled, vmapped call (the depth is traced below a static maximum) and lists the "
        f"best\nsettings per N. For the default grid ({run['settings']} settings, "
        f"{run['activation']} {run['kernel'].upper()} on S^{run['dim'] - 1},\ntarget {target}) "
        f"it takes {run['wall_time_s']:.1f} s including compilation and chooses\n{settings};\n"
        f"in short {depths}."
    )


def block_performance(r: dict) -> str:
    b = r["benchmark"]
    p, e, f, a = b["predicted"], b["empirical"], b["fit"], b["acos"]
    load = b["load_average_1min"]
    n = e["n"]
    lines = [
        f"One run of `python3 benchmarks/curves.py` while the docs were regenerated "
        f"({b['cores']} cores, jax {b['jax']},\nfloat64; 1-minute load average "
        f"{load[0]:.1f} before, {load[1]:.1f} after: other work shares the cores):",
        "",
        "| target | measured | goal |",
        "|---|---|---|",
        f"| predicted curves, {p['settings']} settings × {p['n_values']} values of N, one "
        f"vmapped call, after compilation | {p['after_compilation_s'] * 1e3:.0f} ms (first call "
        f"{p['first_call_s']:.1f} s) | < {p['target_s']:g} s |",
        f"| kernel regression, {e['datasets']} datasets × {len(n)} N ({n[0]} … {n[-1]}), "
        f"compilations included | {e['total_s']:.1f} s | < {e['target_s']:g} s |",
        f"| Cholesky rate in that run / a lone jitted float64 Cholesky at N = {n[-1]} "
        f"| {e['cholesky_gflops_achieved']:.1f} / {e['cholesky_gflops_reference']:.1f} GFLOP/s "
        f"({e['fraction_of_reference']:.0%}) | — |",
        f"| one fit of (η_h, η_y) to a two-point run, after compilation "
        f"| {f['fit_after_compilation_s']:.2f} s (first call {f['fit_first_call_s']:.1f} s) | — |",
    ]
    lone = n[-1] ** 3 / 3 / (e["cholesky_gflops_reference"] * 1e9)
    lines += [
        "",
        "* The Gram matrices of the arc-cosine kernels were dominated by XLA's float64 acos; "
        "the\n  layer maps compile acos to a Cephes-style rational atan (`fast_acos`: largest "
        f"error\n  {a['max_abs_error']:.1e} on {a['points']} points of [−1, 1], "
        f"{a['speedup']:.1f}× faster than XLA's acos in this run).",
        "* The sizes N ≤ 256 share one compilation by exact masked padding (`pad=256`): the "
        "padded\n  rows of K + σ²I are the identity and their labels 0, so their weights vanish "
        "(*test:*\n  30 used points in the N = 160 compilation reproduce a plain 30-point "
        "regression to 1e-9).",
        f"* The {e['datasets']} factorisations at N = {n[-1]} alone take about "
        f"{e['datasets'] * lone:.0f} s at the lone rate (one\n  float64 Cholesky of that size "
        f"takes {lone:.2f} s on these cores), so the target leaves little room on\n  "
        f"{b['cores']} cores.",
        "* The two triangular solves of each dataset (labels and posterior-variance columns) "
        "are\n  one forward substitution on stacked right-hand sides followed by the back "
        "substitution:\n  two independent batched solves in one step deadlocked jaxlib 0.10's "
        "CPU LAPACK kernels\n  on 2 cores (each held an XLA pool thread waiting for work "
        "queued behind the other).",
    ]
    return "\n".join(lines)


def block_readme(r: dict) -> str:
    rows = _curve(r, "reference")[:4]
    ns = ", ".join(str(row["n"]) for row in rows)
    ratios = ", ".join(pm(*ratio(row)) for row in rows)
    ek = ", ".join(f"{row['empirical_mean'] / row['equivalent_kernel']:.2f}" for row in rows)
    datasets = r["runs"]["reference"]["datasets"]
    return (
        "- **Learning curves** (equivalent kernel of Cohen, Malka & Ringel; self-consistent "
        "theory\n  of Canatar, Bordelon & Pehlevan): Funk–Hecke spectra on the sphere, three "
        f"predictions,\n  kernel regression on {datasets} datasets per N, trained wide nets "
        "([docs/curves.md](docs/curves.md)).\n"
        f"  Reference case: measured/predicted error {ratios}\n"
        f"  at N = {ns} (± SEM over datasets; measured/equivalent kernel: {ek})."
    )


def block_python_api(r: dict) -> str:
    api = r["python_api"]

    def short(values):
        return "[" + " ".join(f"{v:.1e}".replace("e-0", "e-") for v in values) + "]"

    printed = f"{short(api['self_consistent'])} {short(api['equivalent_kernel'])}"
    return (
        "```python\n"
        "from springblock.numerics.curves import solve as cv\n\n"
        "# ReLU NNGP on the sphere S^2, target = degree-2 harmonic, ridge 0.05\n"
        'spec = cv.KernelSpec("relu", "nngp", depth=1, weight=2.0, input_weight=1.0, '
        "readout_bias=0.1, dim=3)\n"
        "pred = cv.predict(spec, ((2, 1.0),), [40, 80, 160], 0.05)\n"
        f"print(pred.self_consistent, pred.equivalent_kernel)  # {printed}\n"
        "```"
    )


BLOCKS = {
    "commands": block_commands,
    "quadrature": block_quadrature,
    "spectrum_table": block_spectrum_table,
    "correction": block_correction,
    "reference_setup": block_reference_setup,
    "reference_table": block_reference_table,
    "erf_s11": block_erf_s11,
    "off_table": block_off_table,
    "nets": block_nets,
    "tune": block_tune,
    "performance": block_performance,
    "readme": block_readme,
    "python_api": block_python_api,
}
