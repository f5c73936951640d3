"""The summary ``optbench run`` prints: one line per problem x optimizer that fits a terminal.

:func:`compact_summary` turns :func:`optbench.report.summary_table` into a table of at most
``width`` (default 100) columns: the configuration labels (truncated with ``…`` only when
they cannot fit), converged/runs, the median final gap (``*``: to the best value any run
reached, the problem's ``f*`` being unknown), the median evaluations and the median
optimizer time per run, then one line of status totals. ``optbench run --verbose`` prints the
full table instead.
"""
from __future__ import annotations

import math

import pandas as pd

from . import STATUSES

HEADERS = ("problem", "optimizer", "conv/runs", "median gap", "evals", "time")
GAP = "  "


def _gap(value: float, best_observed: bool) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = "inf" if math.isinf(value) else f"{value:.2e}"
    return text + ("*" if best_observed else "")


def _seconds(value: float) -> str:
    if value is None or math.isnan(value):
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:.0f} us"
    if value < 1:
        return f"{value * 1e3:.0f} ms"
    return f"{value:.3g} s" if value < 100 else f"{value:.0f} s"


def _evals(value: float) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.0f}"


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def compact_summary(table: pd.DataFrame, width: int = 100) -> str:
    """The terminal summary of a :func:`~optbench.report.summary_table` frame (see the module
    docstring); every line is at most ``width`` characters."""
    best = table.get("reference", pd.Series("", index=table.index)).astype(str).str.contains("best")
    rows = [(str(r.problem_id), str(r.optimizer_id), f"{int(r.converged)}/{int(r.runs)}",
             _gap(float(r.median_final_gap), bool(b)), _evals(float(r.median_nfev)), _seconds(float(r.median_seconds)))
            for r, b in zip(table.itertuples(index=False), best)]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    fixed = sum(widths[2:]) + len(GAP) * (len(HEADERS) - 1)
    room = max(width - fixed, 20)
    if widths[0] + widths[1] > room:  # shorten the longer label column first, keep both >= 10
        problem = max(10, min(widths[0], room - min(widths[1], room // 2)))
        widths[0], widths[1] = problem, max(10, room - problem)
    lines = []
    for cells in [HEADERS, *rows]:
        parts = [_fit(cells[0], widths[0]).ljust(widths[0]), _fit(cells[1], widths[1]).ljust(widths[1])]
        parts += [c.rjust(w) for c, w in zip(cells[2:], widths[2:])]
        lines.append(GAP.join(parts).rstrip())
    totals = {s: int(table[s].sum()) for s in STATUSES if s in table.columns and int(table[s].sum())}
    lines.append(f"{int(table['runs'].sum())} runs: " + ", ".join(f"{n} {s}" for s, n in totals.items()) + ".")
    if best.any():
        lines.append("* gap to the best value any run reached on that problem and seed (f* unknown)")
    lines.append("Medians over seeds; time: optimizer wall time per run. --verbose: every status and column.")
    return "\n".join(_fit(line, width) for line in lines)
