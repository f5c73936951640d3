"""The regression gate: did an optimizer get slower, or converge worse, between two result sets?

:func:`compare` matches runs of ``base`` and ``new`` by configuration (problem, its
parameters, optimizer, its hyperparameters; labelled with ids computed over both sets, so a
configuration gets the same label on both sides) and compares, per (problem_id,
optimizer_id), three medians over seeds, each "lower is better":

``seconds/step``   optimizer wall time per step (``seconds / steps`` of each run);
``nfev@target``    evaluations to the target ``f - f_ref <= t``, with ``t`` the finest gap
                   of :data:`optbench.metrics.GAP_TARGETS` that the base's median run
                   reaches (``inf`` for a run that never reaches it; not compared when the
                   base reaches none);
``final gap``      ``f - f_ref`` of the final iterate, clipped below at ``gap_floor`` so that
                   runs that both reached it tie; ``inf`` for a diverged or failed run.

``f_ref`` is ``f_star``, or where it is unknown the best value reached on the same problem
and seed by any run of *either* set, so both sides are measured against one reference.

Rule
----
A metric *regresses* when ``new_median / base_median > factor`` **and** the change is
larger than the seed noise: with at least ``min_seeds_test`` runs on each side, a one-sided
Mann–Whitney U test (new > base) gives ``p < alpha``; with fewer, the new median lies above
the largest base value (outside the base's seed range). It *improves* under the mirror
rule (ratio ``< 1/factor`` and new < base beyond noise). Verdicts: ``slower`` (seconds/step
regressed), ``converges worse`` (final gap or nfev@target regressed), both joined by a
comma, else ``better`` if any metric improved, else ``same``; ``only in base`` / ``only in
new`` for configurations on one side (reported, not a regression).

References: H. B. Mann, D. R. Whitney (1947), "On a test of whether one of two random
variables is stochastically larger than the other", Ann. Math. Statist. 18(1):50-60.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .metrics import GAP_TARGETS, hitting_times, seconds_per_step, with_reference
from .labels import configuration_labels

METRICS = ("seconds_per_step", "nfev_to_target", "final_gap")


@dataclass
class CompareResult:
    """The comparison table (one row per problem_id x optimizer_id) and the gate's verdict.

    ``table`` columns: ``problem_id, optimizer_id, base_runs, new_runs, target`` and for each
    metric ``m`` in :data:`METRICS`: ``base_m``, ``new_m`` (medians), ``ratio_m`` (new/base),
    ``p_m`` (one-sided p-value, NaN where the range rule was used), ``change_m``
    (``worse`` / ``better`` / ``same``), then ``verdict``.
    """

    table: pd.DataFrame
    regressed: bool
    rule: str
    factors: dict = field(default_factory=dict)

    def regressions(self) -> pd.DataFrame:
        return self.table[self.table["verdict"].str.contains("slower|worse", regex=True)]

    def format_table(self) -> str:
        """A plain-text table: medians base -> new (ratio) for each metric, and the verdict."""
        if self.table.empty:
            return "no runs to compare"
        t = self.table

        def cell(m, fmt):
            out = []
            for b, n, r in zip(t[f"base_{m}"], t[f"new_{m}"], t[f"ratio_{m}"]):
                if pd.isna(b) and pd.isna(n):
                    out.append("-")
                else:
                    ratio = f" (x{r:.2f})" if np.isfinite(r) else (" (x inf)" if r == np.inf else "")
                    out.append(f"{_fmt(b, fmt)} -> {_fmt(n, fmt)}{ratio}")
            return out

        view = pd.DataFrame({
            "problem": t["problem_id"], "optimizer": t["optimizer_id"],
            "s/step": cell("seconds_per_step", ".3g"),
            "nfev@target": [f"{c} @{g:.0e}" if pd.notna(g) and c != "-" else c
                            for c, g in zip(cell("nfev_to_target", ".0f"), t["target"])],
            "final gap": cell("final_gap", ".2e"),
            "verdict": t["verdict"],
        })
        lines = [view.to_string(index=False)]
        n_reg = int(t["verdict"].str.contains("slower|worse", regex=True).sum())
        lines.append(f"{n_reg} regression(s) in {len(t)} problem x optimizer pairs. Rule: {self.rule}")
        return "\n".join(lines)


def _fmt(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    if value == np.inf:
        return "inf"
    return format(value, fmt)


def _pvalue(base: np.ndarray, new: np.ndarray, alternative: str) -> float:
    from scipy.stats import mannwhitneyu

    return float(mannwhitneyu(new, base, alternative=alternative).pvalue)


def _change(base: np.ndarray, new: np.ndarray, factor: float, alpha: float, min_seeds: int):
    """(ratio, p, change) of one metric under the rule in the module docstring."""
    base, new = base[~np.isnan(base)], new[~np.isnan(new)]
    if base.size == 0 or new.size == 0:
        return np.nan, np.nan, "same"
    b, n = float(np.median(base)), float(np.median(new))
    with np.errstate(all="ignore"):
        ratio = n / b if b > 0 else (np.inf if n > 0 else np.nan)
    if np.isnan(ratio):  # inf/inf, 0/0: no change measurable
        return ratio, np.nan, "same"
    use_test = base.size >= min_seeds and new.size >= min_seeds
    if ratio > factor:
        p = _pvalue(base, new, "greater") if use_test else np.nan
        beyond = p < alpha if use_test else n > base.max()
        return ratio, p, "worse" if beyond else "same"
    if ratio < 1.0 / factor:
        p = _pvalue(base, new, "less") if use_test else np.nan
        beyond = p < alpha if use_test else n < base.min()
        return ratio, p, "better" if beyond else "same"
    return ratio, np.nan, "same"


def _combined(base, new) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and traces of both sets, keys prefixed by side, ids labelled within each side."""
    runs, traces = [], []
    for side, res in (("base", base), ("new", new)):
        r = res.runs.copy()
        r["side"] = side
        # labelled per side: the two sets differ in code, not in configuration, so a budget
        # changed between them is a change to judge, not another id
        r["problem_id"], r["optimizer_id"] = configuration_labels(r)
        r["key"] = side + ":" + r["key"].astype(str)
        runs.append(r)
        t = res.traces[["key", "step", "fun", "nfev", "seconds"]].copy()
        t["key"] = side + ":" + t["key"].astype(str)
        traces.append(t)
    runs = pd.concat(runs, ignore_index=True)
    return runs, pd.concat(traces, ignore_index=True)


def compare(base, new, *, time_factor: float = 1.2, gap_factor: float = 10.0, evals_factor: float = 1.2,
            gap_floor: float = 1e-8, alpha: float = 0.05, min_seeds_test: int = 5) -> CompareResult:
    """Compare two :class:`~optbench.store.Results` (see the module docstring for the rule).

    ``time_factor``, ``evals_factor`` and ``gap_factor`` are the ratios new/base beyond
    which seconds/step, nfev@target and the final gap count as changed.
    """
    for name, value in (("time_factor", time_factor), ("gap_factor", gap_factor), ("evals_factor", evals_factor)):
        if not value >= 1.0:
            from .errors import ConfigError

            raise ConfigError(f"{name}={value!r} must be >= 1 (a ratio new/base beyond which a change counts)")
    runs, traces = _combined(base, new)
    runs = with_reference(runs)
    runs["seconds_per_step"] = seconds_per_step(runs)
    runs["final_gap"] = np.maximum(runs["final_gap"].astype(float), gap_floor)
    hits = hitting_times(runs.drop(columns=["f_ref", "reference", "final_gap"]), traces, gaps=GAP_TARGETS, taus=())
    factors = {"seconds_per_step": time_factor, "nfev_to_target": evals_factor, "final_gap": gap_factor}
    rows = []
    for (problem_id, optimizer_id), grp in runs.groupby(["problem_id", "optimizer_id"], sort=True):
        b, n = grp[grp["side"] == "base"], grp[grp["side"] == "new"]
        row = {"problem_id": problem_id, "optimizer_id": optimizer_id, "base_runs": len(b), "new_runs": len(n),
               "target": np.nan}
        h = hits[hits["key"].isin(grp["key"])]
        base_hits = h[h["key"].isin(b["key"])]
        reached = base_hits.groupby("target")["nfev"].median()
        reached = reached[np.isfinite(reached)]
        if len(reached):
            row["target"] = float(reached.index.min())
        values = {
            "seconds_per_step": (b["seconds_per_step"].to_numpy(float), n["seconds_per_step"].to_numpy(float)),
            "final_gap": (b["final_gap"].to_numpy(float), n["final_gap"].to_numpy(float)),
        }
        if np.isfinite(row["target"]):
            at = h[np.isclose(h["target"], row["target"])].set_index("key")["nfev"]
            values["nfev_to_target"] = (b["key"].map(at).to_numpy(float), n["key"].map(at).to_numpy(float))
        else:
            values["nfev_to_target"] = (np.full(len(b), np.nan), np.full(len(n), np.nan))
        changes = {}
        for m in METRICS:
            bv, nv = values[m]
            row[f"base_{m}"] = float(np.median(bv[~np.isnan(bv)])) if (~np.isnan(bv)).any() else np.nan
            row[f"new_{m}"] = float(np.median(nv[~np.isnan(nv)])) if (~np.isnan(nv)).any() else np.nan
            ratio, p, change = _change(bv, nv, factors[m], alpha, min_seeds_test)
            row[f"ratio_{m}"], row[f"p_{m}"], row[f"change_{m}"] = ratio, p, change
            changes[m] = change
        if not len(b) or not len(n):
            verdict = "only in base" if len(b) else "only in new"
        else:
            worse = []
            if changes["seconds_per_step"] == "worse":
                worse.append("slower")
            if changes["final_gap"] == "worse" or changes["nfev_to_target"] == "worse":
                worse.append("converges worse")
            verdict = ", ".join(worse) if worse else ("better" if "better" in changes.values() else "same")
        row["verdict"] = verdict
        rows.append(row)
    columns = ["problem_id", "optimizer_id", "base_runs", "new_runs", "target"] + [
        f"{k}_{m}" for m in METRICS for k in ("base", "new", "ratio", "p", "change")] + ["verdict"]
    table = pd.DataFrame(rows, columns=columns)
    rule = (f"a metric regresses when new/base > its factor (time {time_factor:g}, evaluations {evals_factor:g}, "
            f"final gap {gap_factor:g}) and the change exceeds seed noise: one-sided Mann-Whitney U p < {alpha:g} "
            f"with >= {min_seeds_test} runs per side, else the new median lies outside the base's seed range")
    regressed = bool(table["verdict"].str.contains("slower|worse", regex=True).any())
    return CompareResult(table=table, regressed=regressed, rule=rule, factors=factors)
