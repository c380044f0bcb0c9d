"""MkDocs hooks: pages generated from the code at build time, so text and code cannot drift.

Loaded by ``mkdocs.yml`` (``hooks: [docs/hooks.py]``); not a page of the site.

* ``<!-- sympy:NAME -->`` in a page becomes a display equation, ``sympy.latex`` of the
  sympy object that :func:`equations` names (from ``springblock.theory``), with a link to
  the function or class it comes from. An unknown NAME stops the build.
* ``<!-- cli-help -->`` becomes the command-line reference: the ``--help`` text of
  ``springblock`` and of every group and command, found by walking the subparsers of
  :func:`springblock.cli.build_parser`.
* ``javascripts/mathjax.js`` (MathJax's configuration for pymdownx.arithmatex) is added to
  the site as a generated file.
* The API reference reads the source statically (Griffe). ``pyproject.toml`` maps
  ``theory/``, ``numerics/`` and ``validation/`` into the package, which Griffe cannot
  follow in an editable install; :func:`package_tree` lays out the package as installed (a
  tree of symbolic links in a temporary folder) for mkdocstrings' search path.
* :class:`Docstrings` is a Griffe extension (``mkdocs.yml``, mkdocstrings ``extensions``)
  that turns the Sphinx roles of the docstrings (``:func:`name```) into cross-references
  and keeps plain brackets from being read as Markdown reference links.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import griffe
from mkdocs.plugins import event_priority

MARKER = re.compile(r"<!--\s*sympy:([\w.]+)\s*-->")
CLI_MARKER = re.compile(r"<!--\s*cli-help\s*-->")
HELP_WIDTH = 80

MATHJAX = r"""window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};

if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    MathJax.startup.output.clearCache();
    MathJax.typesetClear();
    MathJax.texReset();
    MathJax.typesetPromise();
  });
}
"""


# --------------------------------------------------------------------------------------
# Equations from the sympy objects
# --------------------------------------------------------------------------------------


class Equation:
    """One generated equation: ``latex()`` builds it, ``source`` is what it comes from."""

    def __init__(self, source: str, latex: Callable[[], str]):
        self.source = source  # dotted path below springblock.theory, e.g. "drift.mean_drift"
        self.latex = latex


def _equations() -> dict[str, Equation]:
    import sympy as sp

    from springblock.theory.curves import generalization as curves_theory
    from springblock.theory.dynamics import representation as dynamics_repr
    from springblock.theory.pdlt import criticality as pdlt_criticality
    from springblock.theory.pdlt import finite_width as pdlt_finite_width
    from springblock.theory.pdlt import gaussian as pdlt_gaussian
    from springblock.theory.spring import (
        chain,
        drift,
        equilibrium,
        friction,
        overdamped,
        phases,
        underdamped,
    )

    def eq(lhs: str, rhs) -> str:
        return f"{lhs} = {rhs if isinstance(rhs, str) else sp.latex(rhs)}"

    def column(items) -> str:
        return sp.latex(sp.Matrix(list(items)))

    def names(template: str, labels) -> str:
        """A column of LaTeX names, e.g. x_1', x_2' (primes outside the subscript)."""
        rows = r" \\ ".join(template.format(label) for label in labels)
        return rf"\left[\begin{{matrix}}{rows}\end{{matrix}}\right]"

    def lines(text: str, separator: str = r",\quad ") -> str:
        """One equation per line: split a model's one-line ``latex()`` at its separators."""
        return r"\begin{gathered}" + ",\\\\ ".join(text.split(separator)) + r"\end{gathered}"

    def static_conditions(x) -> str:
        """The 2L inequalities, one block (upper and lower bound) per line."""
        c = [sp.latex(r) for r in equilibrium.static_equilibrium_conditions(x)]
        return lines(
            r",\quad ".join(f"{a},\\qquad {b}" for a, b in zip(c[::2], c[1::2], strict=True))
        )

    L = phases.L_sym
    f, v, s = sp.Symbol("f"), sp.Symbol("v"), sp.Symbol("s", integer=True, positive=True)
    small = 3  # chain length of the explicit (fixed-L) examples
    ex_a = overdamped.OverdampedModel(small)
    ex_b = underdamped.UnderdampedModel(2)
    d_sym = sp.symbols(f"d_1:{small + 2}", real=True)
    d_vec = sp.Matrix(d_sym).T

    def modes(term):
        """sum over the Mercer modes k of a per-mode term."""
        return sp.Sum(term, (sp.Symbol("k"), 1, sp.oo))

    def cl(expr) -> str:
        """LaTeX of a learning-curve expression with the per-mode symbols indexed by k."""
        ct = curves_theory
        names = {
            ct.ridge: r"\sigma^2",
            ct.noise: r"\varepsilon^2",
            ct.lam: r"\lambda_k",
            ct.g2: "g_k^2",
        }
        return sp.latex(expr, symbol_names=names)

    moment_names = {
        m.symbol: m.symbol.name
        for m in (*pdlt_gaussian.MOMENT.values(), *pdlt_gaussian.PAIR_MOMENT.values())
    }

    def pl(expr) -> str:
        """LaTeX of a PDLT expression; the moment symbols are named by their LaTeX."""
        return sp.latex(expr, symbol_names=moment_names)

    table = {
        # chain.py
        "chain.geometry": (
            "chain.ChainGeometry",
            lambda: lines(chain.ChainGeometry(small).latex()),
        ),
        "chain.forces": (
            "chain.spring_forces",
            lambda: eq(names("F_{}", range(1, small + 1)), column(chain.spring_forces(ex_a.x))),
        ),
        "chain.elongations": (
            "chain.elongations",
            lambda: eq(sp.latex(sp.Matrix(d_sym)), column(chain.elongations(ex_a.x))),
        ),
        "chain.load_curve": (
            "chain.load_curve",
            lambda: eq(names("D_{}", range(small + 1)), column(chain.load_curve(ex_a.x))),
        ),
        "chain.curvature": ("chain.curvature", lambda: eq("c", chain.curvature(d_sym))),
        "chain.spread": ("chain.spread", lambda: eq("v", chain.spread(d_sym))),
        # friction.py
        "friction.static_cases": (
            "friction.static_friction_cases",
            lambda: eq("S(f)", friction.static_friction_cases(f)),
        ),
        "friction.static": (
            "friction.static_friction",
            lambda: eq("S(f)", friction.static_friction(f)),
        ),
        "friction.kinetic": (
            "friction.kinetic_friction",
            lambda: eq("f(v)", friction.kinetic_friction(v)),
        ),
        "friction.smoothed": (
            "friction.smoothed_kinetic_friction",
            lambda: eq(r"f_\delta(v)", friction.smoothed_kinetic_friction(v)),
        ),
        # overdamped.py: model (a)
        "overdamped.model": (
            "overdamped.OverdampedModel",
            lambda: lines(overdamped.OverdampedModel(small).latex()),
        ),
        "overdamped.model_shared": (
            "overdamped.OverdampedModel",
            lambda: lines(overdamped.OverdampedModel(small, shared_noise=True).latex()),
        ),
        "overdamped.update": (
            "overdamped.OverdampedModel",
            lambda: eq(names("x_{}'", range(1, small + 1)), column(ex_a.update)),
        ),
        "overdamped.noiseless_flow": (
            "overdamped.OverdampedModel",
            lambda: eq(r"\frac{d}{dt}" + sp.latex(sp.Matrix(ex_a.x)), column(ex_a.noiseless_flow)),
        ),
        "overdamped.mean_field_flow": (
            "overdamped.OverdampedModel",
            lambda: eq(r"\frac{dx_1}{dt}", ex_a.mean_field_flow[0]),
        ),
        # underdamped.py: model (b)
        "underdamped.model": (
            "underdamped.UnderdampedModel",
            lambda: lines(underdamped.UnderdampedModel(small).latex()),
        ),
        "underdamped.model_independent": (
            "underdamped.UnderdampedModel",
            lambda: lines(underdamped.UnderdampedModel(small, shared_noise=False).latex()),
        ),
        "underdamped.drift": (
            "underdamped.UnderdampedModel",
            lambda: eq(r"\frac{d}{dt}" + sp.latex(sp.Matrix(ex_b.state)), column(ex_b.drift)),
        ),
        "underdamped.smoothed_drift": (
            "underdamped.UnderdampedModel",
            lambda: eq(
                r"\frac{d}{dt}" + sp.latex(sp.Matrix(ex_b.v)), column(ex_b.smoothed_drift[2:])
            ),
        ),
        "underdamped.diffusion": (
            "underdamped.UnderdampedModel",
            lambda: eq(r"\Sigma", ex_b.diffusion),
        ),
        "underdamped.stick_slip": (
            "underdamped.UnderdampedModel",
            lambda: eq(
                names("{}'", [sp.latex(q) for q in ex_b.state]), column(ex_b.stick_slip_update)
            ),
        ),
        # equilibrium.py
        "equilibrium.static_conditions": (
            "equilibrium.static_equilibrium_conditions",
            lambda: static_conditions(ex_b.x),
        ),
        "equilibrium.moving_count": (
            "equilibrium.moving_count_expr",
            lambda: eq("n", equilibrium.moving_count_expr(L)),
        ),
        "equilibrium.stuck_blocks": (
            "equilibrium.stuck_blocks_expr",
            lambda: eq(r"n_\mathrm{stuck}", equilibrium.stuck_blocks_expr(L)),
        ),
        "equilibrium.lazy_threshold": (
            "equilibrium.lazy_threshold",
            lambda: eq(r"\mu_R^{(s)}", equilibrium.lazy_threshold(L, s)),
        ),
        "equilibrium.pulled_elongations": (
            "equilibrium.pulled_elongations",
            lambda: eq(sp.latex(d_vec), sp.Matrix(equilibrium.pulled_elongations(small, 2)).T),
        ),
        "equilibrium.zero_friction": (
            "equilibrium.zero_friction_elongations",
            lambda: eq(sp.latex(d_vec), sp.Matrix(equilibrium.zero_friction_elongations(small)).T),
        ),
        # drift.py
        "drift.mean_drift": ("drift.mean_drift", lambda: eq("g(F)", drift.mean_drift())),
        "drift.mobility": ("drift.mobility", lambda: eq("g'(F)", drift.mobility())),
        "drift.mobility_check": (
            "drift.mobility",
            lambda: eq(
                r"\frac{d g}{dF} - g'(F)",
                sp.simplify(drift.mean_drift().diff(drift.F) - drift.mobility()),
            ),
        ),
        "drift.stationary_force": (
            "drift.stationary_force",
            lambda: eq("F^*", drift.stationary_force()),
        ),
        "drift.stationary_mobility": (
            "drift.stationary_mobility",
            lambda: eq("g'(F^*)", drift.stationary_mobility()),
        ),
        "drift.slowest_rate": (
            "drift.laplacian_slowest_rate",
            lambda: eq(r"\lambda_1", drift.laplacian_slowest_rate(L)),
        ),
        "drift.relaxation_time": (
            "phases.relaxation_time_expr",
            lambda: eq(r"\tau", phases.relaxation_time_expr()),
        ),
        # phases.py
        "phases.stationary_elongations": (
            "phases.stationary_elongations",
            lambda: eq(sp.latex(d_vec), sp.Matrix(phases.stationary_elongations(small)).T),
        ),
        "phases.stationary_curvature": (
            "phases.stationary_curvature",
            lambda: eq(r"c_\infty", phases.stationary_curvature()),
        ),
        "phases.stationary_spread": (
            "phases.stationary_spread",
            lambda: eq(r"v_\infty", phases.stationary_spread()),
        ),
        "phases.curvature": ("phases.curvature_expr", lambda: eq("c(T)", phases.curvature_expr())),
        "phases.boundary": (
            "phases.boundary_expr",
            lambda: eq(r"\sigma_b", phases.boundary_expr()),
        ),
        # curves_theory.py: per-mode terms of the learning-curve predictions
        "curves.ek_filter": (
            "curves_theory.ek_filter",
            lambda: eq(r"\text{gain}_{\mathrm{EK}}", cl(curves_theory.ek_filter())),
        ),
        "curves.correction_term": (
            "curves_theory.correction_term",
            lambda: eq(r"S = \sum_k s_k,\quad s_k", cl(curves_theory.correction_term())),
        ),
        "curves.corrected_filter": (
            "curves_theory.corrected_filter",
            lambda: eq(r"\text{gain}_{\mathrm{EK}+1/N}", cl(curves_theory.corrected_filter())),
        ),
        "curves.kappa_equation": (
            "curves_theory.kappa_residual_total",
            lambda: eq(
                "0",
                cl(curves_theory.kappa_residual_total(modes(curves_theory.kappa_term()))),
            ),
        ),
        "curves.gamma": (
            "curves_theory.gamma_term",
            lambda: eq(r"\gamma", cl(modes(curves_theory.gamma_term()))),
        ),
        "curves.sc_error": (
            "curves_theory.sc_error",
            lambda: eq(
                r"E_g",
                cl(
                    curves_theory.sc_error().subs(
                        curves_theory.bias_sum, modes(curves_theory.sc_bias_term())
                    )
                ),
            ),
        ),
        "curves.gp_variance": (
            "curves_theory.gp_posterior_variance",
            lambda: eq(r"\langle\mathrm{Var}\,f\rangle", cl(curves_theory.gp_posterior_variance())),
        ),
        # pdlt_*.py: recursions at initialization (Roberts, Yaida & Hanin)
        "pdlt.kernel_map": (
            "pdlt_criticality.kernel_map",
            lambda: eq("K^{(\\ell+1)}", pl(pdlt_criticality.kernel_map())),
        ),
        "pdlt.chi_parallel": (
            "pdlt_criticality.chi_parallel",
            lambda: eq("\\chi_\\parallel", pl(pdlt_criticality.chi_parallel())),
        ),
        "pdlt.chi_perp": (
            "pdlt_criticality.chi_perp",
            lambda: eq("\\chi_\\perp", pl(pdlt_criticality.chi_perp())),
        ),
        "pdlt.critical_initialization": (
            "pdlt_criticality.critical_initialization",
            lambda: eq("(C_b, C_W)", pl(sp.Tuple(*pdlt_criticality.critical_initialization()))),
        ),
        "pdlt.ntk_map": (
            "pdlt_finite_width.ntk_map",
            lambda: eq("H^{(\\ell+1)}", pl(pdlt_finite_width.ntk_map())),
        ),
        "pdlt.four_point_map": (
            "pdlt_finite_width.four_point_map",
            lambda: eq("V^{(\\ell+1)}", pl(pdlt_finite_width.four_point_map())),
        ),
        "pdlt.third_cumulant_map": (
            "pdlt_finite_width.third_cumulant_map",
            lambda: eq("T^{(\\ell+1)}", pl(pdlt_finite_width.third_cumulant_map())),
        ),
        "pdlt.scale_invariant_covariance": (
            "pdlt_finite_width.scale_invariant_exact_covariance",
            lambda: eq(
                "\\mathrm{Cov}(z_i^2, z_j^2)/K^2",
                pl(pdlt_finite_width.scale_invariant_exact_covariance()),
            ),
        ),
        # dynamics_repr.py: van Rossem-Saxe pair equations, Saxe et al. deep linear nets
        "dynamics.pair_equations": (
            "dynamics_repr.PairModel",
            lambda: lines(dynamics_repr.PairModel().latex()),
        ),
        "dynamics.conserved": (
            "dynamics_repr.PairModel",
            lambda: eq("C", dynamics_repr.PairModel().conserved),
        ),
        "dynamics.final_distance": (
            "dynamics_repr.final_distance",
            lambda: eq(r"h_\infty", dynamics_repr.final_distance()),
        ),
        "dynamics.rich_limit": (
            "dynamics_repr.rich_limit",
            lambda: eq(r"h_\infty^{\mathrm{rich}}", dynamics_repr.rich_limit()),
        ),
        "dynamics.deep_linear": (
            "dynamics_repr.DeepLinearMode",
            lambda: eq(r"\frac{du}{dt}", dynamics_repr.DeepLinearMode(3).rhs[0]),
        ),
        "dynamics.deep_linear_closed_form": (
            "dynamics_repr.DeepLinearMode",
            lambda: eq("u(t)", dynamics_repr.DeepLinearMode(2).closed_form()),
        ),
    }
    return {name: Equation(source, latex) for name, (source, latex) in table.items()}


_EQUATIONS: dict[str, Equation] | None = None


def equations() -> dict[str, Equation]:
    """NAME -> equation, built once per process (importing sympy models takes a moment)."""
    global _EQUATIONS
    if _EQUATIONS is None:
        _EQUATIONS = _equations()
    return _EQUATIONS


def render_equation(name: str) -> str:
    """The Markdown of marker ``<!-- sympy:NAME -->``: a display equation and its source."""
    from mkdocs.exceptions import PluginError

    table = equations()
    if name not in table:
        raise PluginError(f"unknown equation marker 'sympy:{name}'; known: {sorted(table)}")
    item = table[name]
    identifier = f"springblock.theory.{item.source}"
    return (
        f"$$\n{item.latex()}\n$$\n\n<small>generated from [`{item.source}`][{identifier}]</small>\n"
    )


# --------------------------------------------------------------------------------------
# CLI reference from the argparse parser
# --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _columns(width: int) -> Iterator[None]:
    """argparse wraps help at $COLUMNS: fix it so the page does not depend on the shell."""
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def _subcommands(parser: argparse.ArgumentParser):
    """(name, help, subparser) of each subcommand of ``parser``, aliases skipped."""
    seen = set()
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        for name, sub in action.choices.items():
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            yield name, helps.get(name), sub


def cli_reference(parser: argparse.ArgumentParser | None = None) -> str:
    """Markdown: one section per command with its ``--help`` text, depth first."""
    if parser is None:
        from springblock.cli import build_parser

        parser = build_parser()
    parts: list[str] = []

    def walk(p: argparse.ArgumentParser, depth: int, summary: str | None) -> None:
        heading = "#" * min(depth + 2, 6)
        parts.append(f"{heading} `{p.prog}`\n")
        if summary:
            parts.append(f"{summary[0].upper()}{summary[1:]}.\n")
        with _columns(HELP_WIDTH):
            text = p.format_help().rstrip()
        parts.append(f"```text\n$ {p.prog} --help\n{text}\n```\n")
        for _name, help_text, sub in _subcommands(p):
            walk(sub, depth + 1, help_text)

    walk(parser, 0, None)
    return "\n".join(parts)


# --------------------------------------------------------------------------------------
# The package as installed, for Griffe
# --------------------------------------------------------------------------------------

#: Subpackages that pyproject.toml's ``package-dir`` may place outside ``src/springblock``.
SUBPACKAGES = ("cli", "theory", "numerics", "validation")
_TREES: list[Path] = []


def package_tree() -> Path:
    """A folder holding ``springblock/`` with every subpackage where Python imports it from.

    Entries are symbolic links to the real files, so Griffe reads (and reports) the sources.
    """
    root = Path(importlib.util.find_spec("springblock").submodule_search_locations[0])
    tree = Path(tempfile.mkdtemp(prefix="springblock-docs-"))
    _TREES.append(tree)
    package = tree / "springblock"
    package.mkdir()
    for entry in root.iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry.resolve())
    for name in SUBPACKAGES:
        link = package / name
        if not link.exists():
            spec = importlib.util.find_spec(f"springblock.{name}")
            link.symlink_to(Path(spec.submodule_search_locations[0]).resolve())
    return tree


def _remove_trees() -> None:
    while _TREES:
        shutil.rmtree(_TREES.pop(), ignore_errors=True)


# --------------------------------------------------------------------------------------
# MkDocs events
# --------------------------------------------------------------------------------------


@event_priority(100)  # before mkdocstrings' on_config, which creates the handlers
def on_config(config):
    plugin = config.plugins.get("mkdocstrings")
    if plugin is not None:
        python = plugin.config.handlers.setdefault("python", {})
        python["paths"] = [str(package_tree())]
    return config


def on_post_build(config):
    _remove_trees()


def on_build_error(error):
    _remove_trees()


def on_files(files, config):
    from mkdocs.structure.files import File

    files.append(File.generated(config, "javascripts/mathjax.js", content=MATHJAX))
    return files


#: ``<!-- api-reference -->`` in a page becomes one mkdocstrings entry per module of the
#: package, grouped by layer and theory, so the reference lists every module there is.
API_MARKER = re.compile(r"<!--\s*api-reference\s*-->")

#: Section titles of the API reference, in order: (package prefix, title).
API_SECTIONS = (
    ("springblock.results", "Results store"),
    ("springblock.params", "Parameters"),
    ("springblock.plotting", "Plotting"),
    ("springblock.pipeline", "The main job"),
    ("springblock.report", "The report"),
    ("springblock.theory", "Theory (sympy)"),
    ("springblock.numerics", "Numerics (jax)"),
    ("springblock.validation", "Validation"),
)


def api_reference() -> str:
    """One ``::: module`` entry per Python module of the installed package (cli excluded,
    and compiled libraries such as ``_batch_norm_kernel``, which have no docstrings to
    render: their Python wrappers do)."""
    import importlib
    import pkgutil

    names = []
    # package-dir maps the layers outside src/springblock: walk each package where it is
    for top in (
        "springblock",
        "springblock.theory",
        "springblock.numerics",
        "springblock.validation",
    ):
        package = importlib.import_module(top)
        names += [
            m.name
            for m in pkgutil.walk_packages(package.__path__, top + ".")
            if not m.ispkg
            and ".cli" not in m.name
            and not m.name.rsplit(".", 1)[-1].startswith("_")
        ]
    names = sorted(set(names))
    lines = []
    for prefix, title in API_SECTIONS:
        members = [n for n in names if n == prefix or n.startswith(prefix + ".")]
        if not members:
            continue
        lines.append(f"## {title}\n")
        lines += [f"::: {name}\n" for name in members]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if API_MARKER.search(markdown):
        reference = api_reference()
        markdown = API_MARKER.sub(lambda _: reference, markdown)
    if CLI_MARKER.search(markdown):
        reference = cli_reference()
        markdown = CLI_MARKER.sub(lambda _: reference, markdown)
    return MARKER.sub(lambda m: render_equation(m.group(1)), markdown)


# --------------------------------------------------------------------------------------
# Griffe extension: plain-text docstrings -> Markdown
# --------------------------------------------------------------------------------------

ROLE = re.compile(r":(?:mod|func|class|meth|attr|data|obj|exc):`(~?)([\w.]+)`")
# [text][label] with a label that is no dotted name: plain brackets, not a Markdown
# reference link (e.g. "dims (mu, noise[, seed][, layer])").
NOT_A_REFERENCE = re.compile(r"\[([^\[\]\n]*)\]\[(?![\w.]*\])([^\[\]\n]*)\]")


def _resolve(obj: griffe.Object, name: str) -> str | None:
    """Full path of ``name`` as seen from ``obj``'s scope, or None if not in the tree."""
    if name.startswith("springblock."):
        return name
    head, *rest = name.split(".")
    scope: griffe.Object | None = obj if obj.is_module or obj.is_class else obj.parent
    while scope is not None:
        if head in scope.members:
            return ".".join([scope.path, head, *rest])
        scope = scope.parent
    return None


def _plain_brackets(text: str) -> str:
    def escape(match: re.Match) -> str:
        return "".join(f"&#91;{part}&#93;" for part in match.groups())

    lines = text.split("\n")
    for i, line in enumerate(lines):
        if not line.startswith("    ") and "`" not in line:  # not in code
            lines[i] = NOT_A_REFERENCE.sub(escape, line)
    return "\n".join(lines)


class Docstrings(griffe.Extension):
    """Make the plain-text docstrings of the package safe and linked in Markdown.

    * ``:role:`name``` (Sphinx roles) becomes a mkdocs-autorefs reference. Relative names
      are resolved from the documented object outwards (class, module, package); ``~``
      shows only the last component, as in Sphinx. The references are optional: a target
      that the API page does not render shows as plain code, without a warning.
    * ``[a][b]`` whose ``b`` is no dotted name is shown as brackets, not taken for a
      Markdown reference link (which would be an unresolved cross-reference).
    """

    def on_object(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is None:
            return

        def replace(match: re.Match) -> str:
            short, name = match.groups()
            title = name.rsplit(".", 1)[-1] if short else name
            target = _resolve(obj, name)
            if target is None:
                return f"`{title}`"
            return f'<autoref identifier="{target}" optional><code>{title}</code></autoref>'

        text = obj.docstring.value
        if "][" in text:
            text = _plain_brackets(text)
        obj.docstring.value = ROLE.sub(replace, text)
