"""``springblock pdlt {criticality,kernel,finite-width}``: deep MLPs at initialization (PDLT).

Roberts, Yaida & Hanin, *The Principles of Deep Learning Theory* (arXiv 2106.10165): the
universality class and critical initialization of an activation, the depth profile of the
infinite-width kernel, its perturbations and the NTK, and the leading finite-width
(four-point) correction checked against a Monte Carlo ensemble of actual networks.
Library: springblock.theory.pdlt_*, springblock.numerics.pdlt_*,
springblock.validation.pdlt.montecarlo.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from springblock.cli.common import add_output, clean, emit, parse_float, parse_int, write_results
from springblock.params import ParameterError, check_int, check_real

if TYPE_CHECKING:
    from springblock.theory.pdlt.criticality import Criticality

ACTIVATION_HELP = (
    "activation: relu, leaky_relu[:SLOPE], linear, tanh, erf, sin, gelu, swish, softplus, sigmoid"
)


def register(groups) -> None:
    """Add the ``pdlt`` command group to the top-level subparsers ``groups``."""
    pdlt = groups.add_parser(
        "pdlt",
        help="effective theory of deep MLPs at initialization "
        "(PDLT): criticality, kernels, finite-width corrections",
    )
    sub = pdlt.add_subparsers(
        dest="command", required=True, metavar="{criticality,kernel,finite-width}"
    )

    cr = sub.add_parser(
        "criticality",
        help="universality class and critical initialization",
        description="Universality class (scale-invariant, K*=0, half-stable or none), "
        "critical (C_b, C_W), fixed point K*, exponents and four-point slope of an "
        "activation, with the (C_b, C_W) order-to-chaos phase diagram as figure.",
    )
    cr.add_argument("--activation", required=True, help=ACTIVATION_HELP)
    cr.add_argument(
        "--grid", type=parse_int, default=96, help="phase-diagram points per axis (default 96)"
    )
    cr.add_argument(
        "--phase-depth",
        type=parse_int,
        default=100,
        help="layers iterated for the phase diagram (default 100)",
    )
    add_output(cr)

    kn = sub.add_parser(
        "kernel",
        help="infinite-width kernel, its perturbations and the NTK through depth",
        description="Depth profile of the kernel of one input and of an input pair (full "
        "2x2 kernel), the susceptibilities, the gamma-basis perturbation K_[2] and the NTK, "
        "with fitted power-law exponents. Default initialization: the critical one.",
    )
    kn.add_argument("--activation", required=True, help=ACTIVATION_HELP)
    kn.add_argument("--depth", "-L", type=parse_int, required=True, help="layers (>= 2)")
    _add_init(kn)
    for name, default, text in (
        ("q11", 1.0, "x_a.x_a/n_0"),
        ("q12", 0.5, "x_a.x_b/n_0"),
        ("q22", 1.0, "x_b.x_b/n_0"),
    ):
        kn.add_argument(
            f"--{name}",
            type=parse_float,
            default=default,
            help=f"input Gram entry {text} (default {default:g})",
        )
    add_output(kn)

    fw = sub.add_parser(
        "finite-width",
        help="four-point correction: theory vs Monte Carlo of actual nets",
        description="Monte Carlo of finite-width networks (widths N/4, N/2, N) against "
        "the 1/n theory: mean kernel, Cov(z_i^2, z_j^2) = V/n, third cumulant, pair "
        "kernel (and NTK with --ntk), with standard errors and z-scores.",
    )
    fw.add_argument("--activation", required=True, help=ACTIVATION_HELP)
    fw.add_argument("--width", "-n", type=parse_int, required=True, help="largest width N")
    fw.add_argument("--depth", "-L", type=parse_int, required=True, help="layers (>= 2)")
    fw.add_argument(
        "--mc-samples", type=parse_int, default=2000, help="networks per width (>= 2; default 2000)"
    )
    _add_init(fw)
    fw.add_argument(
        "--sampler",
        choices=("gaussian", "weights"),
        default="gaussian",
        help="gaussian: exact conditional sampling (fast); weights: draw every "
        "weight matrix (needed for --ntk)",
    )
    fw.add_argument("--ntk", action="store_true", help="also measure the NTK (weights)")
    fw.add_argument("--seed", type=parse_int, default=0, help="random seed (default 0)")
    add_output(fw)
    for parser, func in ((cr, cmd_criticality), (kn, cmd_kernel), (fw, cmd_finite_width)):
        parser.set_defaults(func=func)


def _add_init(p) -> None:
    p.add_argument("--cb", type=parse_float, help="bias variance C_b (>= 0; default: critical)")
    p.add_argument("--cw", type=parse_float, help="weight variance C_W (> 0; default: critical)")
    p.add_argument(
        "--gamma",
        type=parse_float,
        default=0.0,
        help="residual shortcut weight (default 0: plain MLP)",
    )
    p.add_argument("--xi", type=parse_float, default=1.0, help="residual branch weight (default 1)")


# --- validation -------------------------------------------------------------------------------


def _activation(args):
    from springblock.numerics.pdlt import recursions as pr

    return pr.resolve(args.activation)


def _initialization(args, act) -> tuple[float, float, Criticality]:
    """(C_b, C_W, criticality): the given values, else the critical ones."""
    from springblock.numerics.pdlt import recursions as pr

    cb = None if args.cb is None else check_real("cb", args.cb, minimum=0.0)
    cw = None if args.cw is None else check_real("cw", args.cw, minimum=0.0, strict=True)
    check_real("gamma", args.gamma)
    check_real("xi", args.xi)
    crit = pr.criticality(act)
    if cb is None or cw is None:
        if crit.universality_class == "none":
            raise ParameterError(
                "cw", None, f"given with --cb: {act.name} has no critical initialization"
            )
        cb = crit.C_b if cb is None else cb
        cw = crit.C_W if cw is None else cw
    assert cb is not None and cw is not None  # only the class "none" has no C_b, C_W
    return cb, cw, crit


# --- criticality -------------------------------------------------------------------------------


def cmd_criticality(args) -> int:
    grid = check_int("grid", args.grid, 4, 1024)
    depth = check_int("phase_depth", args.phase_depth, 1, 10_000)
    act = _activation(args)
    from springblock.numerics.pdlt import phase as pdlt_phase
    from springblock.numerics.pdlt import recursions as pr

    crit = pr.criticality(act)
    payload = clean(_jsonable(crit.to_json()))
    text = [f"activation {act.name}: universality class {crit.universality_class}"]
    if crit.universality_class != "none":
        k_star = "any (marginal line)" if crit.K_star is None else f"{crit.K_star:.10g}"
        text.append(f"critical C_b = {crit.C_b:.10g}, C_W = {crit.C_W:.10g}, K* = {k_star}")
    if crit.four_point_slope is not None:
        text.append(f"four-point slope d(V/K^2)/dl = {crit.four_point_slope:.6g}")
    for key, value in crit.exponents.items():
        text.append(f"  {key} ~ l^({-value:g})")
    if args.out:
        from springblock import figures

        cw_max = 4.0 if crit.C_W is None else max(4.0, 2 * crit.C_W)
        cb_max = 1.0 if not crit.C_b else max(1.0, 2 * crit.C_b)
        diagram = pdlt_phase.phase_diagram(
            act,
            C_b=[cb_max * i / (grid - 1) for i in range(grid)],
            C_W=[0.25 + (cw_max - 0.25) * i / (grid - 1) for i in range(grid)],
            depth=depth,
            classify=False,
        )
        diagram = type(diagram)(
            diagram.C_b,
            diagram.C_W,
            diagram.K,
            diagram.chi_par,
            diagram.chi_perp,
            diagram.depth,
            crit,
        )
        payload["phase_diagram"] = clean(diagram.to_json())
        payload["figures"] = figures.save(
            phase_figure(diagram, act.name), args.out, "phase_diagram"
        )
        write_results(args.out, "criticality", payload)
    emit(args, payload, "\n".join(text))
    return 0


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


# --- kernel ------------------------------------------------------------------------------


def fit_exponent(layers, values) -> float | None:
    """p in |values| ~ l^(-p), least squares on log-log over the deeper half of layers."""
    import numpy as np

    layers, values = np.asarray(layers, float), np.abs(np.asarray(values, float))
    keep = (layers >= layers[-1] / 2) & (values > 0) & np.isfinite(values)
    if keep.sum() < 3:
        return None
    slope = np.polyfit(np.log(layers[keep]), np.log(values[keep]), 1)[0]
    return float(-slope)


def cmd_kernel(args) -> int:
    depth = check_int("depth", args.depth, 2, 100_000)
    q11 = check_real("q11", args.q11, minimum=0.0, strict=True)
    q22 = check_real("q22", args.q22, minimum=0.0, strict=True)
    q12 = check_real("q12", args.q12)
    if q12**2 > q11 * q22:
        raise ParameterError("q12", q12, "a Gram entry with q12^2 <= q11 q22")
    act = _activation(args)
    cb, cw, crit = _initialization(args, act)
    import numpy as np

    from springblock.numerics.pdlt import recursions as pr

    kw = dict(C_b=cb, C_W=cw, gamma=args.gamma, xi=args.xi)
    single = pr.profile(act, depth, q=q11, **kw)
    pair = pr.pair_profile(act, depth, q11=q11, q12=q12, q22=q22, **kw)
    k0 = float(single.K[0])
    _, k1, k2 = pr.perturbation_profile(act, depth, K0=k0, K1=0.0, K2=1e-3 * k0, **kw)
    layers = np.arange(1, depth + 1)
    angle = np.arccos(np.clip(np.asarray(pair.cos_angle), -1.0, 1.0))
    k_star = crit.K_star if crit.K_star is not None else 0.0
    fits = {
        "K - K*": fit_exponent(layers, np.asarray(single.K) - k_star),
        "angle": fit_exponent(layers, angle),
        "K_[2]": fit_exponent(layers, np.asarray(k2)),
        "H": fit_exponent(layers, np.asarray(single.H)),
    }
    payload = clean(
        {
            "activation": act.name,
            "universality_class": crit.universality_class,
            "C_b": cb,
            "C_W": cw,
            "gamma": args.gamma,
            "xi": args.xi,
            "depth": depth,
            "q": {"q11": q11, "q12": q12, "q22": q22},
            "layers": layers.tolist(),
            "K": np.asarray(single.K).tolist(),
            "K12": np.asarray(pair.K12).tolist(),
            "K22": np.asarray(pair.K22).tolist(),
            "angle": angle.tolist(),
            "chi_par": np.asarray(single.chi_par).tolist(),
            "chi_perp": np.asarray(single.chi_perp).tolist(),
            "h": np.asarray(single.h).tolist(),
            "K_2": np.asarray(k2).tolist(),
            "H": np.asarray(single.H).tolist(),
            "H12": np.asarray(pair.H12).tolist(),
            "fitted_exponents": fits,
            "predicted_exponents": crit.exponents,
            "exponent_convention": "X ~ l^(-p): p listed",
        }
    )
    text = [
        f"{act.name} ({crit.universality_class}), C_b = {cb:.6g}, C_W = {cw:.6g}, "
        f"gamma = {args.gamma:g}, xi = {args.xi:g}, {depth} layers",
        f"{'l':>6} {'K':>12} {'K12':>12} {'angle':>10} {'chi_par':>9} {'chi_perp':>9} "
        f"{'NTK H':>12}",
    ]
    for i in sorted({0, 1, 2, 4, 9, 19, 49, 99, 199, 499, 999, depth - 1}):
        if i < depth:
            text.append(
                f"{i + 1:>6} {float(single.K[i]):>12.6g} {float(pair.K12[i]):>12.6g} "
                f"{angle[i]:>10.4g} {float(single.chi_par[i]):>9.5g} "
                f"{float(single.chi_perp[i]):>9.5g} {float(single.H[i]):>12.6g}"
            )
    text.append(
        "fitted exponents (X ~ l^-p): "
        + ", ".join(f"{k} {v:.3g}" if v is not None else f"{k} -" for k, v in fits.items())
    )
    if args.out:
        from springblock import figures

        payload["figures"] = figures.save(kernel_figure(payload), args.out, "kernel")
        write_results(args.out, "kernel", payload)
    emit(args, payload, "\n".join(text))
    return 0


# --- finite width -----------------------------------------------------------------------------


def cmd_finite_width(args) -> int:
    width = check_int("width", args.width, 2, 1 << 14)
    depth = check_int("depth", args.depth, 2, 10_000)
    nets = check_int("mc_samples", args.mc_samples, 2, 10_000_000)
    check_int("seed", args.seed, 0, 2**31 - 1)
    if args.ntk and args.sampler != "weights":
        raise ParameterError("sampler", args.sampler, "'weights' with --ntk")
    act = _activation(args)
    cb, cw, crit = _initialization(args, act)
    import numpy as np

    from springblock.validation.pdlt import montecarlo as mc

    widths = tuple(sorted({w for w in (width // 4, width // 2, width) if w >= 2}))
    spec = mc.EnsembleSpec(
        act,
        widths=widths,
        depth=depth,
        nets=nets,
        C_b=cb,
        C_W=cw,
        gamma=args.gamma,
        xi=args.xi,
        sampler=args.sampler,
        ntk=args.ntk,
        seed=args.seed,
    )
    result = mc.compare(spec)
    th = result["theory"]
    n = np.asarray(widths, float)
    # 1/n scaling at the last layer: n Cov - V should shrink like 1/n
    gap = result["nCov"]["mean"][:, -1] - th["V"][-1]
    payload = clean(
        {
            "activation": act.name,
            "universality_class": crit.universality_class,
            "C_b": cb,
            "C_W": cw,
            "gamma": args.gamma,
            "xi": args.xi,
            "depth": depth,
            "widths": list(widths),
            "mc_samples": nets,
            "sampler": args.sampler,
            "seed": args.seed,
            "layers": list(range(1, depth + 1)),
            "theory": {k: np.asarray(v).tolist() for k, v in th.items()},
            "measured": {
                k: {f: np.asarray(v[f]).tolist() for f in ("mean", "se", "theory", "z")}
                for k, v in result.items()
                if k not in ("theory", "widths")
            },
            "max_abs_z": {
                k: float(np.max(np.abs(v["z"])))
                for k, v in result.items()
                if k not in ("theory", "widths")
            },
            "last_layer_gap_nCov_minus_V": gap.tolist(),
            "gap_times_n": (gap * n).tolist(),
            "note": "z = (measured - theory)/SE per width and layer; nCov = n Cov(z_i^2, z_j^2) "
            "-> V; nCov_reference compares with the recursion without the "
            "third-cumulant term",
        }
    )
    text = [
        f"{act.name}, C_b = {cb:.6g}, C_W = {cw:.6g}, gamma = {args.gamma:g}, "
        f"xi = {args.xi:g}; {nets} nets per width, widths {list(widths)}, {depth} layers",
        f"{'n':>6} {'l':>4} {'n Cov/K^2 (MC)':>20} {'V/K^2 (theory)':>15} {'z':>6}",
    ]
    k_mc = result["K"]["mean"]
    for i, w in enumerate(widths):
        for l in sorted({1, depth // 2, depth - 1}):
            mean = result["nCov"]["mean"][i, l] / k_mc[i, l] ** 2
            se = result["nCov"]["se"][i, l] / k_mc[i, l] ** 2
            text.append(
                f"{w:>6} {l + 1:>4} {mean:>12.4g} +- {se:<6.2g} "
                f"{th['V'][l] / th['K'][l] ** 2:>15.4g} {result['nCov']['z'][i, l]:>6.2f}"
            )
    text.append("max |z|: " + ", ".join(f"{k} {v:.2f}" for k, v in payload["max_abs_z"].items()))
    if args.out:
        from springblock import figures

        payload["figures"] = figures.save(
            finite_width_figure(result, spec), args.out, "finite_width"
        )
        write_results(args.out, "finite_width", payload)
    emit(args, payload, "\n".join(text))
    return 0


# --- figures -------------------------------------------------------------------------------------


def phase_figure(diagram, name: str):
    """log chi_perp over (C_b, C_W) with the order-to-chaos boundary and critical point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm

    fig, ax = plt.subplots(figsize=(6, 4.5))
    lyap = np.clip(np.log(np.clip(diagram.chi_perp, 1e-12, None)), -2.0, 2.0)
    lim = float(np.nanmax(np.abs(lyap))) or 1.0
    mesh = ax.pcolormesh(
        diagram.C_b,
        diagram.C_W,
        lyap,
        cmap="RdBu_r",
        norm=TwoSlopeNorm(0.0, -lim, lim),
        shading="auto",
    )
    fig.colorbar(mesh, ax=ax, label=r"$\log\chi_\perp$ at $K^{(L)}$ (clipped to $\pm 2$)")
    if np.nanmin(lyap) < 0 < np.nanmax(lyap):
        ax.contour(diagram.C_b, diagram.C_W, lyap, levels=[0.0], colors="k", linewidths=1.2)
    crit = diagram.critical
    if crit is not None and crit.C_W is not None:
        ax.plot(
            [crit.C_b],
            [crit.C_W],
            "*",
            color="gold",
            ms=14,
            mec="k",
            label=f"critical ({crit.universality_class})",
        )
        ax.legend(loc="upper right", fontsize=8)
    ax.text(0.02, 0.95, "chaotic", transform=ax.transAxes, va="top", fontsize=9)
    ax.text(0.70, 0.05, "ordered", transform=ax.transAxes, fontsize=9)
    ax.set_xlabel(r"$C_b$")
    ax.set_ylabel(r"$C_W$")
    ax.set_title(f"{name}: order-to-chaos, {diagram.depth} layers")
    fig.tight_layout()
    return fig


def kernel_figure(p: dict):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    layers = np.asarray(p["layers"])
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].loglog(layers, p["K"], label=r"$K^{(\ell)}$")
    axes[0].loglog(layers, np.abs(p["K_2"]), label=r"$|K_{[2]}|$ (perturbation)")
    if p["universality_class"] == "K*=0":
        axes[0].loglog(
            layers, p["K"][-1] * layers[-1] / layers, "k:", lw=1, label=r"$\propto 1/\ell$"
        )
    axes[0].set_xlabel(r"layer $\ell$")
    axes[0].legend(fontsize=8)
    axes[0].set_title("kernel and perturbation")
    angle = np.asarray(p["angle"])
    axes[1].loglog(layers, np.where(angle > 0, angle, np.nan), label=r"angle $\theta^{(\ell)}$")
    if p["activation"] == "relu":
        axes[1].loglog(layers, 3 * np.pi / layers, "k:", label=r"$3\pi/\ell$")
    axes[1].set_xlabel(r"layer $\ell$")
    axes[1].legend(fontsize=8)
    axes[1].set_title("input-pair angle")
    axes[2].semilogx(layers, p["chi_par"], label=r"$\chi_\parallel$")
    axes[2].semilogx(layers, p["chi_perp"], label=r"$\chi_\perp$")
    ax2 = axes[2].twinx()
    ax2.loglog(layers, p["H"], "g--", label="NTK H")
    ax2.set_ylabel("NTK H", color="g")
    axes[2].set_xlabel(r"layer $\ell$")
    axes[2].legend(fontsize=8, loc="center left")
    axes[2].set_title("susceptibilities and NTK")
    fig.suptitle(
        f"{p['activation']} ({p['universality_class']}), C_b = {p['C_b']:.4g}, C_W = {p['C_W']:.4g}"
    )
    fig.tight_layout()
    return fig


def finite_width_figure(result: dict, spec):
    """Theory vs Monte Carlo against depth, and the 1/n scaling of the four-point gap."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    th = result["theory"]
    widths = np.asarray(result["widths"])
    layers = np.arange(1, spec.depth + 1)
    ntk = "H" in result
    fig, axes = plt.subplots(1, 4 if ntk else 3, figsize=(20 if ntk else 15, 4.2))
    for i, w in enumerate(widths):
        axes[0].errorbar(
            layers,
            result["K"]["mean"][i],
            yerr=result["K"]["se"][i],
            fmt="o",
            ms=3,
            capsize=2,
            label=f"MC n={w}",
        )
        axes[1].errorbar(
            layers,
            result["nCov"]["mean"][i],
            yerr=result["nCov"]["se"][i],
            fmt="o",
            ms=3,
            capsize=2,
            label=f"MC n={w}",
        )
    axes[0].plot(layers, th["K"], "k-", label="theory K (n = inf)")
    axes[0].set_ylabel(r"$E[z_i^2]$")
    axes[1].plot(layers, th["V"], "k-", label="theory V")
    if not np.allclose(th["V"], th["V_reference"]):
        axes[1].plot(layers, th["V_reference"], "k--", label="reference V (no T term)")
    axes[1].set_ylabel(r"$n\,\mathrm{Cov}(z_i^2, z_j^2)$")
    for ax in axes[:2]:
        ax.set_xlabel(r"layer $\ell$")
        ax.legend(fontsize=7)
    gap = result["nCov"]["mean"][:, -1] - th["V"][-1]
    err = result["nCov"]["se"][:, -1]
    axes[2].errorbar(1 / widths, gap, yerr=err, fmt="o", capsize=3, label="MC")
    if len(widths) >= 2:
        slope = np.sum(gap / widths / err**2) / np.sum(1 / widths**2 / err**2)
        xs = np.linspace(0, 1 / widths.min(), 20)
        axes[2].plot(xs, slope * xs, "k:", label=f"fit c/n, c = {slope:.3g}")
    axes[2].axhline(0, color="0.5", lw=0.8)
    axes[2].set_xlabel("1/n")
    axes[2].set_ylabel(r"$n\,\mathrm{Cov} - V$ at the last layer")
    axes[2].legend(fontsize=7)
    if ntk:
        for i, w in enumerate(widths):
            for key, marker in (("H", "o"), ("H12", "s")):
                axes[3].errorbar(
                    layers,
                    result[key]["mean"][i],
                    yerr=result[key]["se"][i],
                    fmt=marker,
                    ms=3,
                    capsize=2,
                    label=f"MC {key}, n={w}" if key == "H" or i == 0 else None,
                )
        axes[3].plot(layers, th["H"], "k-", label=r"theory $H_{aa}$")
        axes[3].plot(layers, th["H12"], "k--", label=r"theory $H_{ab}$")
        axes[3].set_xlabel(r"layer $\ell$")
        axes[3].set_ylabel("NTK of output neuron 0")
        axes[3].legend(fontsize=7)
    act = spec.compiled_activation.name
    fig.suptitle(
        f"{act}: C_b = {spec.C_b:.4g}, C_W = {spec.C_W:.4g}, gamma = {spec.gamma:g}, "
        f"xi = {spec.xi:g}, {spec.nets} nets per width ({spec.sampler})"
    )
    fig.tight_layout()
    return fig
