"""The report's "Theory" section: measured rates beside the textbook bounds.

For every run a :class:`optbench.theory.Guarantee` covers (its optimizer declares one, its
hyperparameters are the theory setting for its problem's constants ``L`` and ``mu``), the
section lists the measured average contraction of ``f - f*`` per step, the bound's
asymptotic contraction and the bound's own average over the same steps, and flags a run
whose gap ever exceeded its worst-case bound (beyond the rounding tolerance of
:mod:`optbench.theory`) as a violation: a bug in the optimizer, the problem or the harness.
When a problem family was run at three or more condition numbers, a figure shows the steps
to ``f - f* <= 1e-8`` against ``kappa`` on log-log axes with the slopes 1 (gradient
descent's ``O(kappa log 1/eps)``) and 1/2 (the accelerated methods' ``O(sqrt(kappa) log 1/eps)``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import theory, theory_checks
from .content import Bullets, Figure, Paragraph, Section, Table

SWEEP_TARGET = 1e-8


def theory_section(runs: pd.DataFrame, traces: pd.DataFrame, checks: pd.DataFrame, palette: dict[str, str]) -> Section | None:
    """The section, or ``None`` when no run is covered by a guarantee and nothing was swept over kappa."""
    sweep = theory_checks.kappa_sweep(runs, traces, checks, SWEEP_TARGET)
    if checks.empty and sweep.empty:
        return None
    blocks: list = [Paragraph(
        "Where a problem knows its smoothness L and strong convexity μ (optbench info PROBLEM; κ = L/μ), the "
        "textbooks give worst-case rates and the hyperparameters that attain them. A run is checked against its "
        "bound when its optimizer declares one and its hyperparameters are that theory setting for the problem's "
        "constants (gd[lr=1/L], momentum[lr=theory], nesterov[lr=theory], newton), however they were written. "
        "Every bound here is of the form f(x_k) − f* ≤ B_k (f(x_0) − f*), in the units the convergence figure "
        "draws (its dashed lines, from each run's own start), for the iterate the optimizer holds; on a quadratic "
        "f − f* = ½‖x − x*‖²_A, so there they are bounds on the A-norm of the error. Conjugate gradients have no "
        "bound here: the built-in scipy-cg is nonlinear CG with an inexact line search, and newton-cg stops its "
        "inner CG at a tolerance.")]
    if not checks.empty:
        blocks += _check_blocks(checks)
    unproven = theory_checks.beyond_proof(runs)
    if unproven:
        blocks.append(Paragraph(
            "Not checked, because their bound is proven on quadratics only (heavy ball can even fail to converge on "
            "a smooth strongly convex function at these settings: Lessard, Recht & Packard 2016): "
            + "; ".join(f"{o} on {p}" for p, o, _ in unproven) + "."))
    if not sweep.empty:
        blocks += _sweep_blocks(sweep, palette)
    return Section("theory", "Theory", blocks)


def _verdict(row) -> str:
    return "VIOLATION" if row.violation else "respects the bound"


def _lecture_order(method: str) -> int:
    """Gradient descent, heavy ball, Nesterov, Newton (the built-ins), then the rest."""
    names = [g.name for g in theory.BUILTIN_GUARANTEES]
    return names.index(method) if method in names else len(names)


def _readings(checks: pd.DataFrame) -> list[str]:
    """One sentence per method: how its measured contraction compares with the asymptotic one
    and with the bound's own average, read off the checks."""
    out = []
    for method, g in sorted(checks.groupby("method"), key=lambda item: (_lecture_order(item[0]), item[0])):
        g = g[np.isfinite(g["measured"].astype(float))]
        if g.empty:
            out.append(f"{method}: every run reached the rounding floor at its first step, as the theory says.")
            continue
        slower = g[g["measured"] > g["theoretical"]]
        text = (f"{method}: measured contraction {g['measured'].min():.4g}…{g['measured'].max():.4g} per step over "
                f"{len(g)} run{'s' if len(g) != 1 else ''}, against the asymptotic {g['theoretical'].min():.4g}…"
                f"{g['theoretical'].max():.4g}.")
        if slower.empty:
            text += (" Faster than the worst case everywhere: the worst case is a start along the most unfavourable "
                     "eigenvector, and a random start puts little weight there (where κ is only a bound, the "
                     "function is also better conditioned than the bound assumes).")
        else:
            within = slower[slower["measured"] <= slower["bound_average"] * (1 + theory.RTOL)]
            text += (f" Slower than the asymptotic rate in {len(slower)} run{'s' if len(slower) != 1 else ''}"
                     + (f", all within the bound's own average over the same steps ({len(within)}/{len(slower)}): "
                        "the constant in front of the rate is part of the bound, and for the first hundreds of steps "
                        "it matters." if len(within) == len(slower) else
                        f"; {len(slower) - len(within)} of them beyond the bound's own average too."))
        out.append(text)
    return out


def _check_blocks(checks: pd.DataFrame) -> list:
    bad = checks[checks["violation"]]
    checks = checks.assign(order=checks["method"].map(_lecture_order)).sort_values(
        ["order", "method", "kappa", "problem_id", "seed"], kind="stable")
    table = pd.DataFrame({
        "problem_id": checks["problem_id"], "optimizer_id": checks["optimizer_id"], "setting": checks["setting"],
        "seed": checks["seed"],
        "kappa": [f"{k:.4g}" + ("" if exact else " (bound)") for k, exact in zip(checks["kappa"], checks["exact"])],
        "steps": checks["steps"],
        "measured": checks["measured"], "theoretical": checks["theoretical"], "bound_average": checks["bound_average"],
        "worst_gap/bound": checks["worst"], "verdict": [_verdict(r) for r in checks.itertuples(index=False)],
    })
    tol = (f"a gap counts as above its bound when f(x_k) − f* > B_k (f(x_0) − f*)(1 + {theory.RTOL:g}) + "
           f"{theory.ULPS} ε max(1, |f*|), ε the machine epsilon of the run's dtype (the rounding floor of a "
           "computed gap)")
    summary = (f"{len(bad)} of {len(checks)} checked runs VIOLATE their bound: "
               + "; ".join(f"{r.problem_id} / {r.optimizer_id} seed {r.seed} (gap {r.worst:.3g}x the bound at step "
                           f"{r.worst_step})" for r in bad.itertuples(index=False))
               + ". A violated worst-case bound is a bug in the optimizer, the problem or the harness."
               if len(bad) else f"All {len(checks)} checked runs respect their bounds.")
    statements = checks.drop_duplicates(["method", "bound"])
    items = [f"{r.method}: {r.bound}. {r.reference}." for r in statements.itertuples(index=False)]
    return [
        Paragraph(summary + " Tolerance: " + tol + "."),
        Paragraph("What the measurements say, method by method:"),
        Bullets(_readings(checks)),
        Table.from_frame(
            "Measured against theoretical contraction of f − f* per step", table,
            "steps: K, the steps until the gap last exceeded the rounding tolerance; measured: (gap_K / gap_0)^(1/K); "
            "theoretical: the bound's asymptotic contraction per step (1 − 1/κ for gradient descent, q² = "
            "((√κ−1)/(√κ+1))² for heavy ball, (1 − 1/√κ)² for Nesterov on quadratics, 1 − 1/√κ beyond); "
            "bound_average: B_K^(1/K), the bound's own average over the same K steps (its constant in front "
            "included: a measured factor above the asymptotic one but below this one is no violation); "
            "worst_gap/bound: the largest ratio of the gap to its allowed value over the steps k ≥ 1 (above 1: "
            "violation); kappa '(bound)': the constants are bounds (logistic regression), so the bound is "
            "pessimistic.", digits=6),
        Paragraph("The bounds, the quantity each one bounds, and where they come from:"),
        Bullets(items),
    ]


def _sweep_blocks(sweep: pd.DataFrame, palette: dict[str, str]) -> list:
    slopes = theory_checks.sweep_slopes(sweep)
    text = ("How the condition number sets the price: gradient descent needs O(κ log 1/ε) steps, the "
            "accelerated methods (heavy ball on quadratics, Nesterov) O(√κ log 1/ε) -- on log-log axes, slopes 1 "
            "and 1/2. Newton's method does not care about κ on a quadratic (one step).")
    if not slopes.empty:
        text += " Fitted slopes of log(steps) against log(κ): " + "; ".join(
            f"{r.method} on {r.family}: {r.slope:.2f} ({r.points} condition numbers)"
            for r in slopes.itertuples(index=False)) + "."
    return [Paragraph(text), *_sweep_figure(sweep, palette)]


def _sweep_figure(sweep: pd.DataFrame, palette: dict[str, str]) -> list[Figure]:
    from . import figures

    families = sorted(sweep["family"].unique())[: figures.MAX_PANELS]
    methods = sorted(sweep["method"].unique())
    colors = {m: palette.get(m) or palette.get(m.replace(" (theory)", "")) for m in methods}
    fallback = figures.make_palette([m for m in methods if colors[m] is None])
    colors = {m: colors[m] or fallback[m] for m in methods}
    guides = [(figures.Line2D([0], [0], color="0.35", lw=1, ls=ls), f"slope {name}")
              for ls, name in ((":", "1"), ("--", "1/2"))]
    entries = figures._entries(colors, methods, guides)
    fig, axes, anchor = figures._grid(len(families), min(2, len(families)), entries[1], aw=3.2, ah=2.4)
    for ax, family in zip(axes, families):
        sub = sweep[sweep["family"] == family].dropna(subset=["steps"])
        sub = sub[sub["steps"] > 0]
        for method, g in sub.groupby("method"):
            g = g.sort_values("kappa")
            ax.plot(g["kappa"], g["steps"], marker="o", ms=4, lw=1.5, color=colors[method])
        if len(sub):
            k = np.geomspace(sub["kappa"].min(), sub["kappa"].max(), 20)
            first = sub[sub["kappa"] == sub["kappa"].min()]["steps"]
            iterative = first[first > 2]  # a method that needs a step or two whatever kappa (Newton) sets no scale
            ax.plot(k, first.max() * (k / k[0]), color="0.35", lw=1, ls=":")
            ax.plot(k, (iterative.min() if len(iterative) else first.min()) * np.sqrt(k / k[0]), color="0.35", lw=1,
                    ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        figures._log_ticks(ax)
        ax.set_title(figures._label(family, 40))
        ax.set_xlabel("κ = L/μ")
        ax.set_ylabel(f"steps to f − f* ≤ {SWEEP_TARGET:g}")
    figures._legend(fig, entries, anchor, title="method")
    return [Figure("theory-kappa-sweep", "Steps to 1e-8 against the condition number",
                   "Median over seeds of the first step with f − f* ≤ 1e-8, against κ = L/μ of the problem, log-log. "
                   "Guides: slope 1 (dotted, through the slowest method's first point) and slope 1/2 (dashed, "
                   "through the fastest method's first point that took more than two steps). Missing points: fewer than half the seeds "
                   "reached the target within the budget.", fig)]
