"""The report's figures, drawn with matplotlib's object API on an Agg canvas (no pyplot
figure manager and no global backend switch, so a user's interactive session is left
alone) and seaborn for styling, heatmaps and strip plots.

Every function returns :class:`Figure` objects (PNG bytes plus title and caption) or an
empty list when its data is absent. Colours: one palette, built once by
:func:`make_palette` from the sorted optimizer ids, is passed to every figure, so an
optimizer has the same colour everywhere. Text drawn in figures goes through
:func:`_label`, which wraps/truncates long names and escapes ``$`` (matplotlib's mathtext).
"""
from __future__ import annotations

import functools
import io
import json
import math
import textwrap
from typing import Callable

import matplotlib
import matplotlib.patches
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure as MplFigure
from matplotlib.lines import Line2D
from matplotlib.ticker import (AutoLocator, FixedFormatter, FixedLocator, FuncFormatter, LogLocator, MaxNLocator,
                               NullLocator)

from .. import metrics
from .content import Figure

DPI = 100
MAX_PANELS = 9  # per figure, for grids of problems (3 columns)
RC = {
    **sns.axes_style("whitegrid"),
    "font.size": 9, "axes.titlesize": 9.5, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
    "legend.fontsize": 8.5, "legend.title_fontsize": 9, "figure.titlesize": 11, "axes.titleweight": "bold",
    "grid.linewidth": 0.5, "grid.color": "#dddddd",
    # a fixed title height: matplotlib's automatic placement measures every tick label of
    # the axes again before drawing each title (a third of the drawing time)
    "axes.titley": 1.0, "axes.titlepad": 5.0,
}
END_POINT_COLORS = {"minimum": "#4c9a2a", "saddle": "#d1495b", "flat/singular": "#edae49", "not stationary": "#6f8fb8",
                    "unknown": "#9e9e9e"}  # the labels of optbench.endpoint.END_POINTS


def make_palette(optimizer_ids) -> dict[str, str]:
    """One colour per optimizer id (hex), assigned in sorted order: tab10 for up to ten
    optimizers, evenly spaced husl hues beyond."""
    ids = sorted(set(map(str, optimizer_ids)))
    colors = sns.color_palette("tab10" if len(ids) <= 10 else "husl", max(len(ids), 1))
    return {o: matplotlib.colors.to_hex(c) for o, c in zip(ids, colors)}


def _label(text, width: int = 28, lines: int = 2) -> str:
    """A name fit for a figure: wrapped at ``width`` characters, at most ``lines`` lines
    (shortened with an ellipsis), ``$`` escaped so matplotlib does not parse mathtext."""
    text = str(text)
    wrapped = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]
    if len(wrapped) > lines:
        wrapped = wrapped[:lines]
        wrapped[-1] = wrapped[-1][: max(width - 1, 1)] + "…"
    return "\n".join(wrapped).replace("$", r"\$")


def _figure(width: float, height: float) -> MplFigure:
    """A figure laid out by matplotlib's constrained layout (for single-axes figures whose
    labels have unpredictable sizes: heatmaps, strip plots)."""
    with matplotlib.rc_context(RC):
        fig = MplFigure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: MplFigure) -> bytes:
    """``fig`` rendered as PNG at the report's resolution and style (:func:`readable_ticks` first)."""
    readable_ticks(fig)
    buf = io.BytesIO()
    with matplotlib.rc_context(RC):
        fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _entries(palette: dict[str, str], ids, extra=()) -> tuple[list, list[str]]:
    """Legend handles and labels: the optimizers in ``ids`` in palette order, then ``extra``."""
    present = set(ids)
    ids = [o for o in palette if o in present]
    handles = [Line2D([0], [0], color=palette[o], lw=2.2) for o in ids] + [h for h, _ in extra]
    return handles, [_label(o, 34) for o in ids] + [lab for _, lab in extra]


def _grid(n: int, ncols: int, labels: list[str], *, aw: float = 2.7, ah: float = 1.9):
    """A figure with ``n`` axes of ``aw x ah`` inches on a grid, margins fixed in inches, and
    a legend column on the right sized for ``labels``.

    No layout engine: every cell reserves room for a two-line title, tick labels and axis
    labels, which is what constrained layout found anyway, at half the rendering time (it
    measures every text of the figure before drawing it). Returns the figure, its axes and
    the legend's anchor (figure coordinates of its upper-left corner).
    """
    nrows = math.ceil(n / ncols)
    left, right, top, bottom = 0.8, 0.3, 0.6, 0.5
    longest = max((len(line) for lab in labels for line in lab.split("\n")), default=8)
    legend_w = 0.9 + 0.068 * max(longest, 9)
    cw, ch = left + aw + right, top + ah + bottom
    width, height = ncols * cw + legend_w, nrows * ch
    with matplotlib.rc_context(RC):
        fig = MplFigure(figsize=(width, height), dpi=DPI)
        FigureCanvasAgg(fig)
        axes = []
        for k in range(n):
            i, j = divmod(k, ncols)
            axes.append(fig.add_axes((
                (j * cw + left) / width, (height - (i + 1) * ch + bottom) / height, aw / width, ah / height)))
    return fig, axes, ((ncols * cw + 0.05) / width, 1 - 0.25 / height)


def _legend(fig: MplFigure, entries: tuple[list, list[str]], anchor=None, title: str = "optimizer") -> None:
    """The figure's legend, outside the panels: at ``anchor`` (from :func:`_grid`) or, for a
    constrained-layout figure, in a column on the right."""
    handles, labels = entries
    with matplotlib.rc_context(RC):
        if anchor is None:
            fig.legend(handles, labels, loc="outside right upper", title=title, frameon=False)
        else:
            fig.legend(handles, labels, loc="upper left", bbox_to_anchor=anchor, title=title, frameon=False,
                       alignment="left")


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


MIN_TICKS = 4  # labelled ticks on every numeric axis of every panel
MIN_LOG_FACTOR = 5.0  # a log axis spans at least this factor (mantissas 1..9 then give >= 4 ticks)


def _power_of_ten(value: float, _pos=None, plain: bool = False) -> str:
    """A log-axis label in plain Unicode, short enough for the panel's margin: ``10⁻³``,
    ``2×10⁻³``, or with ``plain`` ``%g`` (``0.02``; for axes whose ticks all lie between 0.01
    and 1000). matplotlib's default log labels go through mathtext, whose parser was a
    noticeable share of the rendering time, and grow wider than the margin."""
    if value == 0:
        return "0"
    if value < 0:
        return "−" + _power_of_ten(-value, plain=plain)
    if plain:
        return f"{value:g}"
    exponent = math.floor(math.log10(value) + 1e-9)
    mantissa = value / 10.0**exponent
    if abs(mantissa - round(mantissa)) < 1e-6:
        mantissa = round(mantissa)
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    return power if mantissa == 1 else f"{mantissa:.2g}×{power}"


def _log_tick_values(lo: float, hi: float) -> list[float]:
    """At least :data:`MIN_TICKS` ticks in ``[lo, hi]`` (a span of at least :data:`MIN_LOG_FACTOR`):
    the first of decades, 1-3, 1-2-5 and 1..9 times the decades that gives 4 or more, thinned
    to every k-th (through the decades) where there are more than 6 and thinning leaves 4."""
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    ticks: list[float] = []
    for mantissas in ((1,), (1, 3), (1, 2, 5), range(1, 10)):
        ticks = [m * 10.0**k for k in range(first, last + 1) for m in mantissas
                 if lo * (1 - 1e-12) <= m * 10.0**k <= hi * (1 + 1e-12)]
        if len(ticks) >= MIN_TICKS:
            break
    if len(ticks) <= 6:
        return ticks
    stride = math.ceil(len(ticks) / 6)
    decade = next((i for i, t in enumerate(ticks) if abs(math.log10(t) - round(math.log10(t))) < 1e-9), 0)
    thinned = ticks[decade % stride:: stride]  # every k-th tick, through the decades
    return thinned if len(thinned) >= MIN_TICKS else ticks


def _log_ticks(ax, which: str = "xy") -> None:
    """Readable, cheap log axes: 4 to 6 labelled ticks (:func:`_log_tick_values`), short
    Unicode labels (:func:`_power_of_ten`: plain numbers when every tick lies in
    [0.01, 1000)), no minor ticks (each tick is several artists: hundreds of them made
    rendering slow). An axis spanning less than a factor :data:`MIN_LOG_FACTOR` (one value,
    or values close together) is widened about its geometric centre to that factor, so that
    its ticks say where the values lie. Only base-10 axes: others keep their own ticks."""
    for name in which:
        axis = ax.xaxis if name == "x" else ax.yaxis
        if axis.get_scale() != "log" or getattr(axis.get_transform(), "base", 10) != 10:
            continue
        lo, hi = ax.get_xlim() if name == "x" else ax.get_ylim()
        if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
            continue
        flipped = lo > hi
        lo, hi = sorted((lo, hi))
        if hi / lo < MIN_LOG_FACTOR:
            centre, half = math.sqrt(lo * hi), math.sqrt(MIN_LOG_FACTOR)
            lo, hi = centre / half, centre * half
            limits = (hi, lo) if flipped else (lo, hi)
            ax.set_xlim(*limits) if name == "x" else ax.set_ylim(*limits)
        ticks = _log_tick_values(lo, hi)
        plain = all(0.01 <= t < 1000 for t in ticks)
        axis.set_major_locator(FixedLocator(ticks))
        axis.set_major_formatter(FuncFormatter(functools.partial(_power_of_ten, plain=plain)))
        axis.set_minor_locator(NullLocator())


def readable_ticks(fig: MplFigure) -> MplFigure:
    """Every numeric axis of ``fig`` with at least :data:`MIN_TICKS` labelled ticks: log axes
    through :func:`_log_ticks`, linear axes left to matplotlib's default locator asked for
    at least that many. Axes with ticks placed on purpose (categories, fixed positions) and
    colour bars are left alone. Returns ``fig``."""
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            continue
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            locator = axis.get_major_locator()
            if axis.get_scale() == "log" and isinstance(locator, (LogLocator, FixedLocator)) and not isinstance(
                    axis.get_major_formatter(), FixedFormatter):
                _log_ticks(ax, name)
            elif axis.get_scale() == "linear" and type(locator) is AutoLocator:
                axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], min_n_ticks=MIN_TICKS))
    return fig


def _chunks(items: list, size: int) -> list[list]:
    return [items[i: i + size] for i in range(0, len(items), size)] or [[]]


def _ylabel(reference: str) -> str:
    return "f − f* (log)" if reference == "f_star" else "f − best observed (log)"


# ---------------------------------------------------------------------------------------
# Convergence
# ---------------------------------------------------------------------------------------
def convergence(runs_ref: pd.DataFrame, traces: pd.DataFrame, palette: dict[str, str], x: str,
                bounds: pd.DataFrame | None = None) -> list[Figure]:
    """One panel per problem: median gap over seeds (line) and interquartile band vs ``x``;
    dashed, the textbook bound of each run in ``bounds`` (:func:`optbench.theory.bound_curves`)."""
    bands = metrics.convergence_bands(runs_ref, traces, x=x)
    if bands.empty:
        return []
    col = metrics.measure_column(x)
    refs = runs_ref.groupby("problem_id")["reference"].agg(lambda s: "f_star" if (s == "f_star").all() else "best")
    problems = sorted(bands["problem_id"].unique())
    exits = _divergence_exits(runs_ref, traces, col)
    out = []
    chunks = _chunks(problems, MAX_PANELS)
    for part, chunk in enumerate(chunks, 1):
        drawn = bounds is not None and bounds["problem_id"].isin(chunk).any()
        bound_entry = [(Line2D([0], [0], color="0.3", lw=1, ls="--"), "textbook bound")] if drawn else []
        n_diverged = int(exits["problem_id"].isin(chunk).sum())
        if n_diverged:
            bound_entry.append((Line2D([0], [0], marker="x", ls="", color="0.2", mew=2),
                                f"diverged: {n_diverged} run{'s' if n_diverged != 1 else ''}\n(× where it left)"))
        entries = _entries(palette, bands["optimizer_id"].unique(), bound_entry)
        fig, axes, anchor = _grid(len(chunk), min(3, len(chunk)), entries[1])
        for ax, problem in zip(axes, chunk):
            sub = bands[bands["problem_id"] == problem]
            vals = sub[["median", "q25", "q75"]].to_numpy(float)
            positive = vals[np.isfinite(vals) & (vals > 0)]
            floor = positive.min() if positive.size else 1e-16
            start = sub.groupby("optimizer_id")["median"].first()
            start = start[np.isfinite(start)]
            top = max(float(start.max()) * 10 if len(start) else 1.0, floor * 100)
            for opt, g in sub.groupby("optimizer_id", sort=True):
                xs = g["x"].to_numpy(float)
                # above the panel (a diverged median) drawn just past its top: it leaves the panel there
                med, q25, q75 = (np.clip(g[c].to_numpy(float), floor, top * 1e3) for c in ("median", "q25", "q75"))
                ax.plot(xs, med, color=palette[opt], lw=1.6)
                ax.fill_between(xs, q25, q75, color=palette[opt], alpha=0.18, lw=0)
            if bounds is not None:
                for (opt, _), b in bounds[bounds["problem_id"] == problem].groupby(["optimizer_id", "key"]):
                    ax.plot(b[col].to_numpy(float), b["bound"].to_numpy(float), color=palette[opt], lw=1, ls="--")
            ax.set_yscale("log")
            ax.set_ylim(floor / 3, top)
            for e in exits[exits["problem_id"] == problem].itertuples(index=False):
                ax.plot([e.x], [1.0], marker="x", ms=7, mew=2, color=palette[e.optimizer_id],
                        transform=ax.get_xaxis_transform(), clip_on=False, scalex=False, scaley=False)
            _log_ticks(ax, "y")
            ax.set_title(_label(problem, 40))
            ax.set_xlabel(metrics.MEASURE_LABELS[col])
            ax.set_ylabel(_ylabel(refs.get(problem, "best")))
            if col in metrics.TIMES:
                ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 3))
        _legend(fig, entries, anchor)
        suffix = f" ({part}/{len(chunks)})" if len(chunks) > 1 else ""
        out.append(Figure(
            f"convergence-{part}", f"Convergence{suffix}",
            "Median over seeds (line) and interquartile range (band) of the gap f(x) − f_ref against "
            f"{metrics.MEASURE_LABELS[col]}. f_ref is f* where known, else the best value any run reached on "
            "that problem and seed (y label f − best observed); a run that stopped keeps its last value; a "
            "diverged run leaves the panel at the top, marked × in its colour at the cost where it left (the "
            "legend counts them); gaps of 0 are drawn at the panel's floor."
            + (" Dashed: the textbook worst-case bound on f − f* of each run at a theory setting, from that run's "
               "own start, in the same units (see the Theory section)." if drawn else ""),
            fig))
    return out


def _divergence_exits(runs_ref: pd.DataFrame, traces: pd.DataFrame, col: str) -> pd.DataFrame:
    """Where each diverged run left: ``problem_id, optimizer_id, x`` -- the cost (``col``) at
    its last row with a finite value, the last point its curve could be drawn."""
    bad = runs_ref[runs_ref["status"] == "diverged"]
    by_key = dict(tuple(traces[traces["key"].isin(set(bad["key"]))].groupby("key", sort=False)))
    rows = []
    for run in bad.itertuples(index=False):
        tr = by_key.get(run.key)
        if tr is None or tr.empty:
            continue
        tr = tr.sort_values("step")
        finite = np.isfinite(tr["fun"].to_numpy(float))
        at = tr[col].to_numpy(float)[np.flatnonzero(finite)[-1] if finite.any() else 0]
        rows.append({"problem_id": run.problem_id, "optimizer_id": run.optimizer_id, "x": at})
    return pd.DataFrame(rows, columns=["problem_id", "optimizer_id", "x"])


# ---------------------------------------------------------------------------------------
# Profiles and ECDFs
# ---------------------------------------------------------------------------------------
def _step_plot(ax, xs, ys, color, x_end):
    xs, ys = np.append(xs, x_end), np.append(ys, ys[-1] if len(ys) else 0.0)
    ax.step(xs, ys, where="post", color=color, lw=1.7)


def performance_profiles(hits: pd.DataFrame, palette: dict[str, str], measure: str = "nfev",
                         taus=metrics.REDUCTION_TAUS) -> list[Figure]:
    """Dolan–Moré performance profiles, one panel per reduction tolerance ``tau``."""
    taus = [t for t in taus if ((hits["kind"] == "reduction") & np.isclose(hits["target"], t)).any()]
    if not taus:
        return []
    entries = _entries(palette, hits["optimizer_id"].unique())
    fig, axes, anchor = _grid(len(taus), 2, entries[1], aw=2.8)
    for ax, tau in zip(axes, taus):
        prof = metrics.performance_profile(hits, kind="reduction", target=tau, measure=measure)
        finite = prof["tau"][np.isfinite(prof["tau"])]
        x_end = max(float(finite.max()) * 1.3 if len(finite) else 8.0, 8.0)  # 1, 2, 4, 8: at least 4 ticks
        for opt, g in prof.groupby("optimizer_id", sort=True):
            _step_plot(ax, g["tau"].to_numpy(float), g["rho"].to_numpy(float), palette[opt], x_end)
        ax.set_xscale("log", base=2)
        ax.set_xlim(1, x_end)
        ax.xaxis.set_major_locator(LogLocator(base=2, numticks=8))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"τ = {tau:g}")
        ax.set_xlabel(f"ratio to the best {metrics.MEASURE_LABELS[measure]}")
        ax.set_ylabel("fraction of instances")
    _legend(fig, entries, anchor)
    return [Figure("performance-profile", "Performance profiles (Dolan & Moré 2002)",
                   f"ρ_s(r): fraction of instances (problem × seed) that optimizer s solved within r times the "
                   f"{metrics.MEASURE_LABELS[measure]} of the best optimizer on that instance. Solved = the "
                   "reduction test f(x0) − f(x) ≥ (1 − τ)(f(x0) − f_ref) of Moré & Wild (2009). The value at "
                   "r = 1 is the share of wins, the right end the share solved at all.", fig)]


def data_profiles(hits: pd.DataFrame, dims: dict[str, float], palette: dict[str, str],
                  taus=metrics.REDUCTION_TAUS) -> list[Figure]:
    """Moré–Wild data profiles, one panel per ``tau``; budgets in units of ``n + 1`` evaluations."""
    taus = [t for t in taus if ((hits["kind"] == "reduction") & np.isclose(hits["target"], t)).any()]
    known = [p for p in hits["problem_id"].unique() if np.isfinite(dims.get(p, np.nan))]
    if not taus or not known:
        return []
    missing = sorted(set(hits["problem_id"]) - set(known))
    entries = _entries(palette, hits["optimizer_id"].unique())
    fig, axes, anchor = _grid(len(taus), 2, entries[1], aw=2.8)
    for ax, tau in zip(axes, taus):
        prof = metrics.data_profile(hits, dims, tau=tau)
        finite = prof["alpha"][np.isfinite(prof["alpha"])]
        x_end = float(finite.max()) * 1.05 if len(finite) and finite.max() > 0 else 1.0
        for opt, g in prof.groupby("optimizer_id", sort=True):
            _step_plot(ax, g["alpha"].to_numpy(float), g["d"].to_numpy(float), palette[opt], x_end)
        ax.set_xlim(0, x_end)
        ax.set_ylim(-0.02, 1.02)
        ax.set_title(f"τ = {tau:g}")
        ax.set_xlabel("evaluations / (n + 1)")
        ax.set_ylabel("fraction of instances")
    _legend(fig, entries, anchor)
    note = (" Left out (dimension unknown to the report): " + ", ".join(missing) + ".") if missing else ""
    return [Figure("data-profile", "Data profiles (Moré & Wild 2009)",
                   "d_s(α): fraction of instances (problem × seed) solved by optimizer s within α·(n + 1) "
                   "function evaluations (α simplex gradients, n = dimension), solved = the reduction test "
                   "with tolerance τ." + note, fig)]


def ecdfs(hits: pd.DataFrame, runs: pd.DataFrame, palette: dict[str, str], measure: str = "nfev",
          dims: dict[str, float] | None = None, ladder: str = "short") -> list[Figure]:
    """COCO-style runtime ECDFs over (instance, target) pairs: gap ladder and reduction test.
    With ``dims`` (problems of several dimensions pooled) evaluations are divided by the
    dimension, as in COCO, and the axis says so."""
    kinds = [k for k in ("gap", "reduction") if (hits["kind"] == k).any()]
    if not kinds:
        return []
    per_dim = dims is not None and measure == "nfev"
    spent = metrics.budget_spent(runs, measure, dims if per_dim else None)
    entries = _entries(palette, hits["optimizer_id"].unique())
    fig, axes, anchor = _grid(len(kinds), len(kinds), entries[1], aw=3.6, ah=2.3)
    unit = metrics.MEASURE_LABELS[measure] + (" / dimension" if per_dim else "")
    for ax, kind in zip(axes, kinds):
        ecdf = metrics.runtime_ecdf(hits, kind=kind, measure=measure, dims=dims if per_dim else None)
        finite = ecdf["runtime"][np.isfinite(ecdf["runtime"]) & (ecdf["runtime"] > 0)]
        hi = max(float(np.nanmax(spent.to_numpy(float))) if len(spent) else 1.0,
                 float(finite.max()) if len(finite) else 1.0) * 1.5
        for opt, g in ecdf.groupby("optimizer_id", sort=True):
            end = float(spent.get(opt, np.nan))
            xs, ys = g["runtime"].to_numpy(float), g["fraction"].to_numpy(float)
            keep = (xs <= end if np.isfinite(end) else np.ones_like(xs, bool)) & (xs > 0)  # 0 steps: not on a log axis
            _step_plot(ax, xs[keep], ys[keep], palette[opt], end if np.isfinite(end) else hi)
            if np.isfinite(end):
                ax.plot([end], [ys[xs <= end][-1] if (xs <= end).any() else 0.0], marker="x", ms=7, mew=2,
                        color=palette[opt])
        ax.set_xscale("log")
        ax.set_xlim(left=max(float(finite.min()) / 1.5, 1e-9) if len(finite) else None, right=hi)
        _log_ticks(ax, "x")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(unit + " (log)")
        ax.set_ylabel("fraction of (instance, target) pairs")
        ladder_targets = metrics.TARGET_LADDERS[ladder]
        ax.set_title(f"gap f − f_ref ≤ {max(ladder_targets):g}…{min(ladder_targets):g} ({len(ladder_targets)} "
                     "targets)" if kind == "gap"
                     else "reduction test, τ = " + ", ".join(f"{t:g}" for t in metrics.REDUCTION_TAUS))
    _legend(fig, entries, anchor)
    return [Figure("ecdf", "Runtime ECDFs (COCO style)",
                   f"Fraction of (instance, target) pairs reached within a budget of {unit}, over all problems and "
                   f"seeds; gap targets: the {metrics.LADDER_NAMES[ladder]}."
                   + (" Evaluations are divided by each problem's dimension (COCO's convention), since problems of "
                      "several dimensions are pooled." if per_dim else "")
                   + " A cross marks the largest budget the optimizer spent: pairs not reached by then never count "
                   "(no simulated restarts; the restart-based average runtime aRT is in the time-to-target table).",
                   fig)]


# ---------------------------------------------------------------------------------------
# Trajectories on contour plots
# ---------------------------------------------------------------------------------------
def _landscape(problem_name: str, params: dict):
    """The registered problem, or a note saying why it cannot be drawn."""
    from .. import errors, registry

    try:
        problem = registry.get_problem(problem_name, **(params or {}))
    except errors.UnknownNameError:
        return None, f"{problem_name}: not drawn, the problem is no longer registered"
    except errors.OptbenchError as exc:
        return None, f"{problem_name}: not drawn, its parameters are no longer accepted ({exc})"
    if not hasattr(problem, "bounds") or getattr(problem, "dim", None) != 2:
        return None, f"{problem_name}: not drawn, not a 2-D analytic problem"
    return problem, None


def _view_box(problem, paths: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Plot window: the box around the trajectories' points that lie in the domain widened
    by half its size (so diverging runs do not zoom out to infinity), padded by 12%; the
    domain itself when there is no such point."""
    lo, hi = (np.asarray(b, dtype=float) for b in problem.bounds())
    width = hi - lo
    pts = np.concatenate(paths) if paths else np.empty((0, 2))
    pts = pts[np.isfinite(pts).all(1)]
    pts = pts[((pts >= lo - width / 2) & (pts <= hi + width / 2)).all(1)]
    extra = [np.asarray(x, dtype=float) for x in getattr(problem, "x_star", []) or [] if len(x) == 2]
    if pts.size == 0:
        return lo, hi
    if extra:
        near = [x for x in extra if ((x >= pts.min(0) - width / 2) & (x <= pts.max(0) + width / 2)).all()]
        if near:
            pts = np.vstack([pts, near])
    a, b = pts.min(0), pts.max(0)
    size = np.maximum(b - a, 1e-3 * width)
    return a - 0.12 * size, b + 0.12 * size


def trajectories(runs: pd.DataFrame, trajectory: Callable[[str], np.ndarray | None],
                 palette: dict[str, str]) -> tuple[list[Figure], list[str]]:
    """Each optimizer's path (its smallest seed) on the contour plot of every 2-D analytic problem.

    The landscape is evaluated with the problem's batched ``f`` on a 160 x 160 grid; contour
    levels are log-spaced in ``f - min f``.
    """
    import torch

    notes: list[str] = []
    panels = []
    for problem_id, grp in runs.groupby("problem_id", sort=True):
        first = grp.sort_values("seed").groupby("optimizer_id", sort=True).head(1)
        paths = {}
        for run in first.itertuples(index=False):
            path = trajectory(run.key)
            if path is not None and path.ndim == 2 and path.shape[1] == 2 and len(path):
                paths[run.optimizer_id] = (path, run.seed)
        if not paths:
            continue
        sample = first.iloc[0]
        problem, why = _landscape(sample["problem"], sample["problem_params"])
        if problem is None:
            notes.append(why)
            continue
        lo, hi = _view_box(problem, [p for p, _ in paths.values()])
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 160), np.linspace(lo[1], hi[1], 160))
        try:
            with torch.no_grad():
                z = problem.f(torch.from_numpy(np.stack([gx, gy], -1))).double().numpy()
        except Exception as exc:  # a plugin's f that does not broadcast: say so, draw the rest
            notes.append(f"{problem_id}: landscape not drawn, its f failed on a grid ({type(exc).__name__}: {exc})")
            continue
        panels.append((problem_id, problem, gx, gy, z, paths))
    figures = []
    chunks = _chunks(panels, 6)
    for part, chunk in enumerate(chunks, 1):
        if not chunk:
            break
        extra = [(Line2D([0], [0], marker="o", ls="", mfc="white", mec="black", ms=7), "start"),
                 (Line2D([0], [0], marker="s", ls="", mfc="white", mec="black", ms=5), "last iterate"),
                 (Line2D([0], [0], marker="*", ls="", color="gold", mec="black", ms=12), "known minimizer")]
        entries = _entries(palette, {o for c in chunk for o in c[5]}, extra)
        fig, axes, anchor = _grid(len(chunk), min(3, len(chunk)), entries[1], aw=3.1, ah=2.8)
        for ax, (problem_id, problem, gx, gy, z, paths) in zip(axes, chunk):
            finite = z[np.isfinite(z)]
            if finite.size:
                zmin, zmax = float(finite.min()), float(finite.max())
                shifted = np.where(np.isfinite(z), z - zmin, np.nan)
                span = max(zmax - zmin, 1e-12)
                levels = np.geomspace(span * 1e-5, span, 20)
                ax.contourf(gx, gy, shifted + span * 1e-6, levels=np.concatenate([[span * 1e-6], levels]),
                            norm=LogNorm(), cmap="Greys_r", alpha=0.25, extend="max")
                ax.contour(gx, gy, shifted + span * 1e-6, levels=levels, norm=LogNorm(), colors="0.45",
                           linewidths=0.5)
            seeds = set()
            for opt, (path, seed) in sorted(paths.items()):
                seeds.add(seed)
                if len(path) > 600:
                    idx = np.unique(np.concatenate([np.linspace(0, len(path) - 1, 600).astype(int), [len(path) - 1]]))
                    path = path[idx]
                ax.plot(path[:, 0], path[:, 1], color=palette[opt], lw=1.3, marker="o", ms=2.2, alpha=0.95)
                ax.plot(path[-1, 0], path[-1, 1], marker="s", ms=5, color=palette[opt], mec="black", mew=0.6)
            starts = np.array([p[0] for p, _ in paths.values()])
            ax.plot(starts[:, 0], starts[:, 1], "o", ms=7, mfc="white", mec="black", mew=1.2, zorder=5)
            for xs in getattr(problem, "x_star", []) or []:
                if len(xs) == 2:
                    ax.plot(xs[0], xs[1], marker="*", ms=13, color="gold", mec="black", mew=0.8, zorder=6)
            ax.set_xlim(gx.min(), gx.max())
            ax.set_ylim(gy.min(), gy.max())
            ax.set_xlabel("x₁")
            ax.set_ylabel("x₂")
            ax.grid(False)
            seed_txt = f"seed {min(seeds)}" if len(seeds) == 1 else "first seed of each"
            ax.set_title(_label(f"{problem_id} ({seed_txt})", 44))
        _legend(fig, entries, anchor)
        suffix = f" ({part}/{len(chunks)})" if len(chunks) > 1 else ""
        figures.append(Figure(
            f"trajectories-{part}", f"Trajectories on the landscape{suffix}",
            "Iterates of each optimizer (its smallest seed) on contour lines of f, log-spaced in f − min f "
            "over the window; the window frames the trajectories (points far outside the domain, as in "
            "divergence, are left out of the framing).", fig))
    return figures, notes


# ---------------------------------------------------------------------------------------
# Tables as pictures: heatmap, time per step, learning-rate sweeps, spectrum, evaluations
# ---------------------------------------------------------------------------------------
def final_gap_heatmap(runs_ref: pd.DataFrame) -> list[Figure]:
    """Median final gap per problem (rows) x optimizer (columns), log10 colour, annotated,
    with the count of diverged/failed/timed-out runs."""
    if runs_ref.empty:
        return []
    med = runs_ref.pivot_table(index="problem_id", columns="optimizer_id", values="final_gap", aggfunc="median")
    bad = runs_ref.assign(bad=runs_ref["status"].isin(["diverged", "failed", "timeout"])).pivot_table(
        index="problem_id", columns="optimizer_id", values="bad", aggfunc="sum").reindex_like(med)
    with np.errstate(all="ignore"):
        logs = np.log10(np.clip(med.to_numpy(float), 1e-16, None))
    logs = np.where(np.isfinite(logs), logs, np.nan)
    annot = np.empty(med.shape, dtype=object)
    for i in range(med.shape[0]):
        for j in range(med.shape[1]):
            v, b = med.iat[i, j], bad.iat[i, j]
            text = "" if pd.isna(v) else ("inf" if v == np.inf else f"{v:.0e}" if v > 0 else "0")
            if pd.notna(b) and b > 0:
                text += f"\n{int(b)} bad"
            annot[i, j] = text
    n_rows, n_cols = med.shape
    fig = _figure(1.15 * n_cols + 3.2, 0.42 * n_rows + 1.6)
    finite = logs[np.isfinite(logs)]
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    cmap = matplotlib.colormaps["viridis"]
    with matplotlib.rc_context(RC):
        ax = fig.subplots()
        ax.grid(False)
        sns.heatmap(pd.DataFrame(logs, index=[_label(p, 30, 1) + _reference_note(runs_ref, p) for p in med.index],
                                 columns=[_label(o, 16) for o in med.columns]),
                    ax=ax, annot=False, cmap=cmap, vmin=vmin, vmax=vmax if vmax > vmin else vmin + 1,
                    linewidths=0.5, linecolor="white", cbar_kws={"label": "log10 median final gap"})
        for i in range(n_rows):
            for j in range(n_cols):
                v = logs[i, j]
                if annot[i, j].startswith("inf"):
                    ax.add_patch(matplotlib.patches.Rectangle((j, i), 1, 1, color="#c8c8c8", lw=0))
                frac = (v - vmin) / (vmax - vmin) if np.isfinite(v) and vmax > vmin else 0.0
                r, g, b, _ = cmap(frac) if np.isfinite(v) else (0.85, 0.85, 0.85, 1)
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
                ax.text(j + 0.5, i + 0.5, annot[i, j], ha="center", va="center", fontsize=7.5,
                        color="white" if dark else "black")
        ax.set_xlabel("optimizer")
        ax.set_ylabel("problem")
        ax.tick_params(axis="x", rotation=30)
    return [Figure("final-gap-heatmap", "Final gap by problem and optimizer",
                   "Median over seeds of the final f − f_ref (colour: log10, clipped at 1e-16; grey: inf, at "
                   "least half the runs diverged or failed; blank: not run). 'N bad' counts runs that diverged, "
                   "failed or timed out. Under a problem's name: what its gap measures where f* is not known -- "
                   "'vs best observed' (f minus the best value any run reached on that problem and seed), or "
                   "'test loss vs best observed' (training problems are judged on held-out data).",
                   fig)]


def _reference_note(runs_ref: pd.DataFrame, problem: str) -> str:
    """A second line under a problem's name in the heatmap: what its gap measures, unless f*."""
    rows = runs_ref[runs_ref["problem_id"] == problem]
    if "verdict" in rows.columns and (rows["verdict"] == metrics.TEST_METRIC).any():
        return "\ntest loss vs best observed"
    return "" if (rows["reference"] == "f_star").all() else "\nvs best observed"


def time_per_step(runs: pd.DataFrame, palette: dict[str, str]) -> list[Figure]:
    """Seconds per step of every run, one row per problem, coloured by optimizer (log x): a
    strip plot, each optimizer's points dodged within the problem's row and jittered (seeded,
    so the same runs draw the same figure). Drawn as one scatter per optimizer:
    ``seaborn.stripplot`` draws one per problem and optimizer, which took 40 s for the 1,500
    cells of a 16,000-run campaign."""
    data = runs.assign(sps=metrics.seconds_per_step(runs))
    data = data[np.isfinite(data["sps"]) & (data["sps"] > 0)]
    if data.empty:
        return []
    problems = sorted(data["problem_id"].unique())
    opts = sorted(data["optimizer_id"].unique())
    fig = _figure(8.5, len(problems) * max(0.45, 0.11 * len(opts)) + 1.3)
    row = {p: i for i, p in enumerate(problems)}
    width = 0.8 / len(opts)
    jitter = np.random.default_rng(0)
    with matplotlib.rc_context(RC):
        ax = fig.subplots()
        for j, opt in enumerate(opts):
            d = data[data["optimizer_id"] == opt]
            y = (d["problem_id"].map(row).to_numpy(float) - 0.4 + width * (j + 0.5)
                 + jitter.uniform(-0.3, 0.3, len(d)) * width)
            ax.scatter(d["sps"].to_numpy(float), y, s=4.5 ** 2, color=palette[opt], linewidths=0)
        ax.set_xscale("log")
        ax.set_yticks(range(len(problems)), [_label(p, 30, 1) for p in problems])
        ax.set_ylim(len(problems) - 0.5, -0.5)
    _log_ticks(ax, "x")
    ax.set_xlabel("optimizer time per step (s, log)")
    ax.set_ylabel("")
    _legend(fig, _entries(palette, opts))
    return [Figure("time-per-step", "Time per step",
                   "Optimizer wall time divided by steps, one point per run (seed); evaluation-point metrics "
                   "are excluded from the clock. Line-search methods pay several evaluations per step.",
                   fig)]


MIN_SWEEP_VALUES = 3  # learning rates an optimizer needs for a curve; with 2 the report shows a table


def sweep_groups(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs of optimizers run with several learning rates, with ``lr``, ``n_lr`` (how many
    learning rates that optimizer was run with) and a ``line`` label (the name plus any
    other hyperparameter that varies)."""
    rows = runs[runs["hyperparameters"].map(lambda h: isinstance(h, dict) and "lr" in h)].copy()
    if rows.empty:
        return rows
    rows["lr"] = rows["hyperparameters"].map(lambda h: float(h["lr"]))
    rows["n_lr"] = rows.groupby("optimizer")["lr"].transform("nunique")
    rows = rows[rows["n_lr"] > 1]
    if rows.empty:
        return rows
    rows["others"] = rows["hyperparameters"].map(lambda h: json.dumps({k: v for k, v in h.items() if k != "lr"},
                                                                       sort_keys=True, default=repr))
    labels = {}
    for name, g in rows.groupby("optimizer"):
        configs = [json.loads(s) for s in sorted(g["others"].unique())]
        varying = sorted(k for k in {k for c in configs for k in c} if len({repr(c.get(k)) for c in configs}) > 1)
        for s, c in zip(sorted(g["others"].unique()), configs):
            inner = ",".join(f"{k}={c.get(k)}" for k in varying)
            labels[(name, s)] = f"{name}[{inner}]" if inner else name
    rows["line"] = [labels[(n, s)] for n, s in zip(rows["optimizer"], rows["others"])]
    return rows


def lr_sweep(runs_ref: pd.DataFrame, palette: dict[str, str]) -> list[Figure]:
    """Final gap (median, IQR bars) against the learning rate, one panel per problem; points
    coloured by optimizer id, one dashed line per optimizer name; runs that ended with
    no finite value (diverged, failed) are crosses at the top. Only optimizers run with at
    least :data:`MIN_SWEEP_VALUES` learning rates: two points make no curve."""
    rows = sweep_groups(runs_ref)
    rows = rows[rows["n_lr"] >= MIN_SWEEP_VALUES] if not rows.empty else rows
    if rows.empty:
        return []
    problems = sorted(rows["problem_id"].unique())
    lines = sorted(rows["line"].unique())
    styles = dict(zip(lines, ["-", "--", ":", "-."] * (len(lines) // 4 + 1)))
    out = []
    chunks = _chunks(problems, 8)
    extra = [(Line2D([0], [0], color="0.35", ls=styles[name]), _label(name, 30)) for name in lines]
    extra.append((Line2D([0], [0], marker="x", ls="", color="#c0392b", mew=2), "diverged / failed"))
    entries = _entries(palette, rows["optimizer_id"].unique(), extra)
    for part, chunk in enumerate(chunks, 1):
        fig, axes, anchor = _grid(len(chunk), min(3, len(chunk)), entries[1])
        for ax, problem in zip(axes, chunk):
            sub = rows[rows["problem_id"] == problem]
            ax.set_xscale("log")
            ax.set_yscale("log")
            finite_all = sub["final_gap"][np.isfinite(sub["final_gap"]) & (sub["final_gap"] > 0)]
            floor = float(finite_all.min()) / 3 if len(finite_all) else 1e-16
            for line, g in sub.groupby("line", sort=True):
                stats = pd.DataFrame([
                    (lr, opt, *np.percentile(v["final_gap"].to_numpy(float), [25, 50, 75], method="inverted_cdf"))
                    for (lr, opt), v in g.groupby(["lr", "optimizer_id"], sort=True)],
                    columns=["lr", "optimizer_id", "q25", "median", "q75"])
                ok = np.isfinite(stats["median"]).to_numpy()
                ax.plot(stats["lr"][ok], np.maximum(stats["median"][ok], floor), color="0.35", ls=styles[line], lw=1)
                for r in stats[ok].itertuples(index=False):
                    lo, med, hi = (max(v, floor) for v in (r.q25, r.median, r.q75))
                    ax.errorbar([r.lr], [med], yerr=[[med - lo], [hi - med if np.isfinite(hi) else 0.0]],
                                fmt="o", color=palette[r.optimizer_id], ms=5, capsize=2, lw=1)
                bad = g[~np.isfinite(g["final_gap"])]
                if len(bad):
                    ax.plot(bad["lr"], np.full(len(bad), 0.96), "x", color="#c0392b", ms=7, mew=2,
                            transform=ax.get_xaxis_transform(), clip_on=False)
            _log_ticks(ax)
            ax.set_title(_label(problem, 40))
            ax.set_xlabel("learning rate (log)")
            ax.set_ylabel("final f − f_ref (log)")
        _legend(fig, entries, anchor)
        suffix = f" ({part}/{len(chunks)})" if len(chunks) > 1 else ""
        out.append(Figure(f"lr-sweep-{part}", f"Final loss against learning rate{suffix}",
                          "Median final gap over seeds with interquartile bars, for every optimizer run with "
                          f"at least {MIN_SWEEP_VALUES} learning rates (point colour: the optimizer id, as "
                          "elsewhere; line style: the optimizer).", fig))
    return out


def has_spectrum(runs: pd.DataFrame) -> bool:
    return {"eig_min", "eig_max"} <= set(runs.columns) and runs["eig_min"].notna().any()


def analysed_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs whose end point was analysed (a spectrum, a reason it is unavailable, or a
    gradient norm), with their :func:`optbench.endpoint.classify_end_point` label in ``class``."""
    from ..endpoint import classify_end_point

    def column(name):
        return runs[name] if name in runs.columns else pd.Series(None, index=runs.index, dtype=object)

    data = runs[column("eig_min").notna() | column("spectrum_method").notna() | column("grad_norm").notna()].copy()
    for name in ("grad_norm", "grad_norm0"):  # all NULL (a store from before they were recorded) reads as object
        data[name] = pd.to_numeric(column(name).reindex(data.index), errors="coerce")
    dtypes = data["dtype"] if "dtype" in data.columns else pd.Series("float64", index=data.index)
    data["class"] = [classify_end_point(g, g0, lo, hi, dtype=str(d) if d else "float64") for g, g0, lo, hi, d in
                     zip(data["grad_norm"], data["grad_norm0"], data["eig_min"], data["eig_max"], dtypes)]
    return data


END_POINT_CAPTION = (
    "Stationary: the gradient norm at the final iterate |g| <= max(1e-6, sqrt(eps)) * max(|g(x0)|, 1), "
    "eps of the run's dtype (1e-6 relative to the start gradient in float64). Minimum: stationary and every "
    "Hessian eigenvalue above the noise tolerance (sqrt(eps) times the largest |eigenvalue|); saddle: "
    "stationary with an eigenvalue below -tolerance; flat/singular: stationary, the smallest eigenvalue zero "
    "within tolerance; not stationary: |g| above the tolerance, whatever the curvature; unknown: no gradient "
    "norm or no finite spectrum (stochastic problems, an analysis that was unavailable, runs stored before "
    "gradient norms were recorded).")


def _symlog_axis(ax, values: np.ndarray) -> None:
    """A symmetric-log x axis for eigenvalues: linear within ``1e-4 max|lambda|`` of zero
    (curvature that small reads as zero), at most three labelled decades on each side."""
    top = float(np.abs(values).max()) if values.size else 1.0
    top = top if top > 0 else 1.0
    linthresh = top * 1e-4
    ax.set_xscale("symlog", linthresh=linthresh, linscale=0.5)
    hi = math.ceil(math.log10(top))
    decades = np.unique(np.linspace(math.ceil(math.log10(linthresh)) + 1, hi, 3).round().astype(int))
    pos = [10.0 ** d for d in decades]
    ticks = ([-p for p in reversed(pos)] if (values < 0).any() else []) + [0.0] + pos
    ax.set_xticks(ticks, [_power_of_ten(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlim(-10.0 ** hi if (values < 0).any() else -linthresh, 10.0 ** hi)


def spectrum(runs: pd.DataFrame, palette: dict[str, str]) -> list[Figure]:
    """Where each optimizer ended: counts of end-point labels (:func:`analysed_runs`), and the
    extreme Hessian eigenvalues of every run (symlog)."""
    if not has_spectrum(runs):
        return []
    data = analysed_runs(runs)
    opts = sorted(data["optimizer_id"].unique())
    counts = data.groupby(["optimizer_id", "class"]).size().unstack(fill_value=0).reindex(
        index=opts, columns=list(END_POINT_COLORS), fill_value=0)
    fig = _figure(11.5, 0.42 * len(opts) + 1.8)
    with matplotlib.rc_context(RC):
        ax1, ax2 = fig.subplots(1, 2)
    ypos = np.arange(len(opts))
    left = np.zeros(len(opts))
    for cls, color in END_POINT_COLORS.items():
        ax1.barh(ypos, counts[cls].to_numpy(), left=left, color=color, label=cls, height=0.65)
        left += counts[cls].to_numpy()
    ax1.set_yticks(ypos, [_label(o, 24, 1) for o in opts])
    ax1.invert_yaxis()
    ax1.set_xlabel("runs")
    ax1.set_title("end point by gradient and curvature")
    ax1.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, fontsize=8, frameon=False)
    for i, opt in enumerate(opts):
        g = data[data["optimizer_id"] == opt]
        jitter = np.linspace(-0.15, 0.15, len(g)) if len(g) > 1 else np.zeros(1)
        ax2.plot(g["eig_min"], i + jitter, "v", color=palette[opt], ms=6, ls="")
        ax2.plot(g["eig_max"], i + jitter, "^", color=palette[opt], ms=6, ls="", mfc="none")
    eigs = data[["eig_min", "eig_max"]].to_numpy(float)
    eigs = eigs[np.isfinite(eigs)]
    _symlog_axis(ax2, eigs)
    ax2.axvline(0, color="0.3", lw=0.8)
    ax2.set_yticks(ypos, [_label(o, 24, 1) for o in opts])
    ax2.invert_yaxis()
    ax2.set_xlabel("Hessian eigenvalue at the final iterate (symlog)")
    ax2.set_title("▼ smallest, △ largest eigenvalue")
    return [Figure("spectrum", "Where did the runs end? Gradient and Hessian spectrum",
                   "Left: end-point labels; right: extreme Hessian eigenvalues at each run's final iterate "
                   "(dense or Lanczos). " + END_POINT_CAPTION, fig)]


EVAL_ORDER = ("train_loss", "test_loss", "train_accuracy", "test_accuracy")


def eval_metrics(runs: pd.DataFrame, evals: pd.DataFrame, palette: dict[str, str]) -> list[Figure]:
    """Evaluation-point metrics of training problems (train/test loss and accuracy) against
    steps: median over seeds and interquartile band, one row per problem."""
    if evals is None or evals.empty:
        return []
    ev = evals.drop(columns=["problem_id", "optimizer_id", "seed"], errors="ignore").merge(
        runs[["key", "problem_id", "optimizer_id"]], on="key", how="inner")  # the report's ids
    if ev.empty:
        return []
    names = sorted(ev["metric"].unique(), key=lambda m: (EVAL_ORDER.index(m) if m in EVAL_ORDER else 99, m))
    names = names[:4]
    problems = sorted(ev["problem_id"].unique())
    out = []
    chunks = _chunks(problems, 3)
    entries = _entries(palette, ev["optimizer_id"].unique())
    for part, chunk in enumerate(chunks, 1):
        fig, flat, anchor = _grid(len(chunk) * len(names), len(names), entries[1], aw=2.5)
        for r, problem in enumerate(chunk):
            for c, name in enumerate(names):
                ax = flat[r * len(names) + c]
                sub = ev[(ev["problem_id"] == problem) & (ev["metric"] == name)]
                if sub.empty:
                    ax.set_visible(False)
                    continue
                q = sub.groupby(["optimizer_id", "step"])["value"].quantile([0.25, 0.5, 0.75]).unstack()
                for opt, g in q.groupby(level=0, sort=True):
                    steps = g.index.get_level_values("step").to_numpy(float)
                    ax.plot(steps, g[0.5], color=palette[opt], lw=1.6)
                    ax.fill_between(steps, g[0.25], g[0.75], color=palette[opt], alpha=0.18, lw=0)
                if "loss" in name and (sub["value"] > 0).all():
                    ax.set_yscale("log")
                    _log_ticks(ax, "y")
                ax.set_title(_label(f"{problem}: {name.replace('_', ' ')}", 30))
                ax.set_xlabel("steps")
                ax.set_ylabel(name.replace("_", " "))
        _legend(fig, entries, anchor)
        suffix = f" ({part}/{len(chunks)})" if len(chunks) > 1 else ""
        out.append(Figure(f"evaluations-{part}", f"Training problems: evaluation metrics{suffix}",
                          "Full-batch training loss, test loss and accuracy at the evaluation points (not "
                          "counted as optimizer evaluations): median over seeds and interquartile band.",
                          fig))
    return out


# ---------------------------------------------------------------------------------------
# Tuning: sensitivity to each hyperparameter, expected best after k trials, tuned against default
# ---------------------------------------------------------------------------------------
def _tuning_color(palette: dict[str, str], optimizer: str) -> str:
    """The colour of ``optimizer``'s tuned id in the report's palette (grey if absent)."""
    return palette.get(f"{optimizer} (tuned)", palette.get(optimizer, "#7f7f7f"))


def _numeric(value) -> float:
    """A hyperparameter value as a number for an axis (``True`` is 1; NaN for a non-number)."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    return float("nan")


def sensitivity(trials: pd.DataFrame, palette: dict[str, str], log_dims=frozenset()) -> list[Figure]:
    """Each tuning trial's final metric against each searched hyperparameter: one row of panels
    per problem, one panel per hyperparameter (a multi-dimensional search varies the others
    too, so every trial is a point, not a line), colour = optimizer; the chosen configuration
    is a star, a trial without a finite result (diverged, failed) a cross at the top of the
    panel in its optimizer's colour. ``trials`` is :func:`optbench.tuning.frames.sensitivity_frame`
    with ``metric`` and ``metric_name`` columns; ``log_dims`` names the hyperparameters searched
    on a log scale (a log x axis)."""
    hps = trials["hyperparameters"].map(lambda h: {k: _numeric(v) for k, v in h.items()})
    searched = {}  # optimizer -> the numeric hyperparameters its trials vary (the others stay at their defaults)
    for optimizer, values in hps.groupby(trials["optimizer"]):
        frame = pd.DataFrame(list(values))
        searched[optimizer] = {k for k in frame.columns if frame[k].notna().all() and frame[k].nunique() > 1}
    hps = pd.Series([{k: v for k, v in h.items() if k in searched[o]} for h, o in zip(hps, trials["optimizer"])],
                    index=trials.index)
    names = sorted({k for ks in searched.values() for k in ks}, key=lambda k: (k != "lr", k))
    if trials.empty or not names:
        return []
    problems = sorted(trials["problem_id"].unique())
    optimizers = sorted(trials["optimizer"].unique())
    entries = ([Line2D([0], [0], color=_tuning_color(palette, n), lw=0, marker="o", ms=5) for n in optimizers]
               + [Line2D([0], [0], marker="*", ls="", color="0.2", ms=11),
                  Line2D([0], [0], marker="x", ls="", color="0.2", mew=2)],
               [_label(n, 34) for n in optimizers] + ["chosen", "diverged / failed (top)"])
    out = []
    rows_per_figure = max(1, MAX_PANELS // len(names)) if len(names) <= MAX_PANELS else 1
    chunks = _chunks(problems, rows_per_figure)
    for part, chunk in enumerate(chunks, 1):
        fig, axes, anchor = _grid(len(chunk) * len(names), len(names), entries[1])
        for row, problem in enumerate(chunk):
            sub = trials[trials["problem_id"] == problem]
            sub_hps = hps[sub.index]
            values = sub["metric"].to_numpy(float)
            ok = np.isfinite(values)
            positive = values[ok & (values > 0)]
            log_y = positive.size > 0 and bool((values[ok] > 0).all())
            floor = float(positive.min()) / 3 if positive.size else 1e-16
            for col, name in enumerate(names):
                ax = axes[row * len(names) + col]
                x = sub_hps.map(lambda h: h.get(name, np.nan)).to_numpy(float)
                has = np.isfinite(x)
                if not has.any():
                    ax.set_visible(False)
                    continue
                if name in log_dims:
                    ax.set_xscale("log")
                if log_y:
                    ax.set_yscale("log")
                for optimizer in optimizers:
                    mine = has & (sub["optimizer"] == optimizer).to_numpy()
                    if not mine.any():
                        continue
                    color = _tuning_color(palette, optimizer)
                    good, bad = mine & ok, mine & ~ok
                    y = np.maximum(values, floor) if log_y else values
                    ax.plot(x[good], y[good], "o", color=color, ms=4, alpha=0.85)
                    chosen = good & sub["chosen"].astype(bool).to_numpy()
                    ax.plot(x[chosen], y[chosen], "*", color=color, ms=12, mec="0.15", mew=0.6, zorder=5)
                    ax.plot(x[bad], np.full(int(bad.sum()), 0.96), "x", color=color, ms=7, mew=2,
                            transform=ax.get_xaxis_transform(), clip_on=False)
                if name in log_dims:
                    _log_ticks(ax, "x")
                if log_y:
                    _log_ticks(ax, "y")
                ax.set_title(_label(f"{problem}: {name}", 40))
                ax.set_xlabel(name + (" (log)" if name in log_dims else ""))
                label = "test loss" if sub["metric_name"].iloc[0] == "test_loss" else "final f − f_ref"
                ax.set_ylabel(label + (" (log)" if log_y else ""))
        _legend(fig, entries, anchor)
        suffix = f" ({part}/{len(chunks)})" if len(chunks) > 1 else ""
        out.append(Figure(f"sensitivity-{part}", f"Sensitivity to each hyperparameter{suffix}",
                          "One point per tuning trial (tuning seed) in every panel of its hyperparameters: the final "
                          "test loss where the problem records one, else the final gap, against one "
                          "hyperparameter while the search varied the others; the star is the configuration "
                          "chosen and evaluated on the evaluation seeds; a cross at the top is a trial that "
                          "diverged or failed, in its optimizer's colour.", fig))
    return out


def _tuning_curves(data: pd.DataFrame, value: str, palette: dict[str, str], draw, *, x_label: str,
                   y_label: str, fig_id: str, title: str, caption: str) -> list[Figure]:
    """Curves of the tuning statistics: one panel per problem, one colour per optimizer;
    ``draw(ax, rows, color)`` draws one optimizer's rows of ``data`` on a panel. The y axis is
    logarithmic where every ``value`` of the panel is positive."""
    problems = sorted(data["problem_id"].unique())
    optimizers = sorted(data["optimizer"].unique())
    entries = ([Line2D([0], [0], color=_tuning_color(palette, n), lw=2.2) for n in optimizers],
               [_label(n, 34) for n in optimizers])
    out = []
    chunks = _chunks(problems, MAX_PANELS)
    for part, chunk in enumerate(chunks, 1):
        fig, axes, anchor = _grid(len(chunk), min(3, len(chunk)), entries[1])
        for ax, problem in zip(axes, chunk):
            sub = data[data["problem_id"] == problem]
            log_y = bool((sub[value] > 0).all())
            for optimizer, g in sub.groupby("optimizer", sort=True):
                draw(ax, g, _tuning_color(palette, optimizer))
            if log_y:
                ax.set_yscale("log")
                _log_ticks(ax, "y")
            ax.set_title(_label(problem, 40))
            ax.set_xlabel(x_label)
            label = "test loss" if sub["metric_name"].iloc[0] == "test_loss" else "final f − f_ref"
            ax.set_ylabel(y_label.format(label) + (" (log)" if log_y else ""))
        _legend(fig, entries, anchor)
        suffix = f" ({part}/{len(chunks)})" if len(chunks) > 1 else ""
        out.append(Figure(f"{fig_id}-{part}", f"{title}{suffix}", caption, fig))
    return out


def expected_best(curves: pd.DataFrame, palette: dict[str, str]) -> list[Figure]:
    """The expected best metric after ``k`` trials against ``k`` (Sivaprasad et al. 2020), one panel
    per problem, one line per optimizer. ``curves`` is :func:`optbench.tuning.statistics.expected_best_frame`;
    an infinite expectation (``k`` draws can all be bad) is left out of the line."""
    data = curves[np.isfinite(curves["expected_best"].astype(float))]
    if data.empty:
        return []

    def draw(ax, g, color):
        ax.plot(g["k"], g["expected_best"], "-", color=color, lw=1.6)

    return _tuning_curves(
        data, "expected_best", palette, draw, x_label="trials k", y_label="expected best {}",
        fig_id="expected-best", title="Expected best result after k trials",
        caption="The expected best of k trials drawn without replacement from each optimizer's tuning "
                "trials, exact from the order statistics (Sivaprasad et al. 2020): a curve that drops "
                "fast belongs to an optimizer that is easy to tune. Missing points: k draws could all "
                "have diverged or failed, so the expectation is infinite.")


def budget_curves(curves: pd.DataFrame, palette: dict[str, str]) -> list[Figure]:
    """Tuned performance against the tuning budget: the best metric of the first ``b`` trials
    against ``b``, one panel per problem, one line per optimizer (the median over studies, each
    study a thin line). ``curves`` is :func:`optbench.tuning.statistics.budget_frame`."""
    data = curves[np.isfinite(curves["best"].astype(float))]
    if data.empty:
        return []

    def draw(ax, g, color):
        for _, study in g.groupby("seed"):
            ax.plot(study["budget"], study["best"], "-", color=color, lw=0.6, alpha=0.45)
        median = g.groupby("budget")["best"].median()
        ax.plot(median.index, median.to_numpy(), "-", color=color, lw=1.8)
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))

    return _tuning_curves(
        data, "best", palette, draw, x_label="tuning budget b (trials, log)", y_label="best {} of b",
        fig_id="budget", title="Tuned performance against the tuning budget",
        caption="The best result of the first b trials of each tuning sequence (b = 1: the registered "
                "defaults, one-shot; Schmidt, Schneider & Hennig 2021), on the tuning seeds: thick lines "
                "the median over independent studies, thin lines each study.")


def tuned_vs_default(table: pd.DataFrame, palette: dict[str, str]) -> list[Figure]:
    """Median final gap with the defaults (x) against the tuned hyperparameters (y), one
    point per problem x optimizer; points below the diagonal gained from tuning. ``table``
    has ``optimizer``, ``default_gap`` and ``tuned_gap``; infinite gaps sit on the top or
    right edge as crosses."""
    data = table[table["default_gap"].notna() & table["tuned_gap"].notna()]
    if data.empty:
        return []
    both = np.concatenate([data["default_gap"].to_numpy(float), data["tuned_gap"].to_numpy(float)])
    positive = both[np.isfinite(both) & (both > 0)]
    lo = float(positive.min()) / 3 if positive.size else 1e-16
    hi = float(positive.max()) * 3 if positive.size else 1.0
    top = hi * 10
    names = sorted(data["optimizer"].unique())
    fig = _figure(6.4, 4.4)
    with matplotlib.rc_context(RC):
        ax = fig.subplots()
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.plot([lo, top], [lo, top], color="0.6", lw=1, ls="--", zorder=0)
        for name in names:
            g = data[data["optimizer"] == name]
            xs = np.clip(g["default_gap"].to_numpy(float), lo, None)
            ys = np.clip(g["tuned_gap"].to_numpy(float), lo, None)
            finite = np.isfinite(xs) & np.isfinite(ys)
            color = _tuning_color(palette, name)
            ax.plot(xs[finite], ys[finite], "o", color=color, ms=6, alpha=0.9)
            if (~finite).any():
                ax.plot(np.where(np.isfinite(xs), xs, top)[~finite], np.where(np.isfinite(ys), ys, top)[~finite],
                        "x", color=color, ms=8, mew=2, clip_on=False)
        ax.set_xlim(lo, top)
        ax.set_ylim(lo, top)
        _log_ticks(ax)
        ax.set_xlabel("default hyperparameters: median final gap (log)")
        ax.set_ylabel("tuned: median final gap (log)")
    entries = ([Line2D([0], [0], marker="o", ls="", color=_tuning_color(palette, n), ms=6) for n in names]
               + [Line2D([0], [0], color="0.6", ls="--")], [_label(n, 34) for n in names] + ["no change"])
    _legend(fig, entries)
    return [Figure("tuned-vs-default", "Tuned against default hyperparameters",
                   "One point per problem x optimizer: the median over evaluation seeds of the final f − f_ref "
                   "with the registered defaults (x) and with the tuned hyperparameters (y); below the "
                   "diagonal, tuning helped. Crosses on the top or right edge: at least half the runs "
                   "diverged or failed (gap inf). Gaps are clipped at a third of the smallest positive one.",
                   fig)]
