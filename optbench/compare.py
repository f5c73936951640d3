r"""The regression gate: two verdicts, convergence (exact) and timing (only where comparable).

:func:`compare` matches the runs of ``base`` and ``new`` by configuration (problem, its
parameters, optimizer, its hyperparameters: ids labelled within each side, so a changed
budget is a change to judge, not another id) and seed, and gives each (problem_id,
optimizer_id) two verdicts.

Convergence (exact)
-------------------
Statuses, evaluations to target and final gaps are deterministic on CPU (same seed, same
code => the same trajectory bit for bit), so every change is real and is reported as it is,
per seed, with no factor and no noise test. For each seed present on both sides:

``status``       ranked ``converged`` < ``budget``/``stopped``/``not-applicable`` <
                 ``diverged``/``failed``/``timeout``: a higher rank is worse;
``nfev@target``  evaluations to ``f - f_ref <= t``, ``t`` the finest gap of
                 :data:`optbench.metrics.GAP_TARGETS` the base run reaches (``inf`` when the
                 new run does not reach it): more is worse;
``final gap``    ``f - f_ref`` of the final iterate, unclipped: larger is worse, except that
                 two runs that both reached their budget's ``target_gap`` tie (they stopped
                 at the first iterate below it; where below is not a result).

A configuration *converges worse* if any seed got worse in any of the three, *better* if
some got better and none worse, *changed* if only a status changed within its rank
(``budget`` -> ``stopped``: reported, not a regression), else *same*. ``f_ref`` is ``f_star``, or where it is
unknown the best value reached on the same problem and seed by any run of either set.

Timing (only where comparable)
------------------------------
Seconds per step are compared only between runs measured the same way on the same machine:
the **fingerprint** of a run is its CPU model, torch version (with its build tag) and CUDA
version, torch's intra-op thread count, its device, and the number of seeds batched with it
(a batched row's seconds are the whole batch's). A configuration whose runs do not share
one fingerprint on both sides is ``not comparable: different machine`` (or ``not
comparable: machine not recorded`` for runs stored before the CPU model was recorded).

Where comparable, the noise is measured from the timings themselves: the run-to-run spread
``s`` is the pooled within-configuration standard deviation of ``log(seconds/step)`` over
the seeds of every comparable configuration of both sides (repeated measurements of the
same work on the same machine, ``d`` degrees of freedom). A configuration is ``slower`` when
the ratio of the geometric means new/base exceeds both ``time_factor`` and
``exp(z s sqrt(1/n_base + 1/n_new))``: a pooled two-sample t-test of the mean logs at level
``alpha / m`` (Bonferroni over the ``m`` comparable configurations, ``alpha = 0.01``:
``z`` is the ``1 - alpha/m`` quantile of Student's t with ``d`` degrees of freedom), so
that noise alone flags any of the ``m`` with probability at most ``alpha``. ``faster``
under the mirror rule, else ``within noise``. Without repeated measurements (one run per
configuration everywhere) the spread is unknown and timings are ``not comparable: no
repeated runs``. The output states ``s``, ``z`` and the rule.

Exit status of ``optbench compare``: 1 if any configuration converges worse or is slower
(on a comparable machine), else 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .labels import configuration_labels
from .metrics import GAP_TARGETS, hitting_times, seconds_per_step, with_reference

STATUS_RANK = {"converged": 0, "budget": 1, "stopped": 1, "not-applicable": 1, "diverged": 2, "failed": 2,
               "timeout": 2}
FINGERPRINT = ("cpu", "torch", "cuda", "torch_threads", "device_name", "batched_seeds")
"""The environment entries two runs must share for their timings to be compared."""
NOISE_ALPHA = 0.01


@dataclass
class CompareResult:
    """One row per problem_id x optimizer_id in ``table`` and the gate's verdict.

    ``table`` columns: ``problem_id, optimizer_id, base_runs, new_runs, seeds`` (on both
    sides), ``target``, ``base_/new_`` medians of ``status`` (the statuses, joined),
    ``nfev_to_target``, ``final_gap`` and ``seconds_per_step``, ``ratio_seconds_per_step``
    (geometric means new/base), ``changes`` (what changed, per seed), ``convergence``
    (``converges worse`` / ``better`` / ``changed`` / ``same`` / ``only in base`` / ``only in new``),
    ``timing`` (``slower`` / ``faster`` / ``within noise`` / ``not comparable: ...``) and
    ``verdict`` (the regressions, joined, else ``same``/``better``/``only in ...``).
    """

    table: pd.DataFrame
    regressed: bool
    rule: str
    noise: float | None = None
    factors: dict = field(default_factory=dict)

    def regressions(self) -> pd.DataFrame:
        return self.table[self.table["verdict"].str.contains("slower|worse", regex=True)]

    def format_table(self) -> str:
        """Two plain-text tables, convergence then timing, each with its count and rule."""
        if self.table.empty:
            return "no runs to compare"
        t = self.table
        conv = pd.DataFrame({
            "problem": t["problem_id"], "optimizer": t["optimizer_id"], "seeds": t["seeds"],
            "status": [_arrow(b, n) for b, n in zip(t["base_status"], t["new_status"])],
            "nfev@target": [_arrow(_fmt(b, ".0f"), _fmt(n, ".0f")) + (f" @{g:.0e}" if pd.notna(g) else "")
                            for b, n, g in zip(t["base_nfev_to_target"], t["new_nfev_to_target"], t["target"])],
            "final gap (median)": [_arrow(_fmt(b, ".3e"), _fmt(n, ".3e"))
                                   for b, n in zip(t["base_final_gap"], t["new_final_gap"])],
            "convergence": [v + (f": {c}" if c else "") for v, c in zip(t["convergence"], t["changes"])],
        })
        timing = pd.DataFrame({
            "problem": t["problem_id"], "optimizer": t["optimizer_id"],
            "s/step (median)": [_arrow(_fmt(b, ".3g"), _fmt(n, ".3g")) + (f" (x{r:.2f})" if np.isfinite(r) else "")
                                for b, n, r in zip(t["base_seconds_per_step"], t["new_seconds_per_step"],
                                                   t["ratio_seconds_per_step"])],
            "timing": t["timing"],
        })
        n_conv = int((t["convergence"] == "converges worse").sum())
        n_time = int((t["timing"] == "slower").sum())
        n_all = len(self.regressions())
        return "\n".join([
            "Convergence (exact: deterministic on CPU, every change is real)",
            conv.to_string(index=False),
            f"{_count(n_conv, 'convergence regression')}.",
            "",
            "Timing",
            timing.to_string(index=False),
            f"{_count(n_time, 'timing regression')}.",
            "",
            f"{_count(n_all, 'regression')} in {len(t)} problem x optimizer pairs. Rule: {self.rule}",
        ])


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _arrow(base, new) -> str:
    base, new = str(base), str(new)
    return base if base == new else f"{base} -> {new}"


def _fmt(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if value == np.inf:
        return "inf"
    return format(value, fmt)


def fingerprint(environment) -> tuple | None:
    """The :data:`FINGERPRINT` of a run's environment, ``None`` if the CPU model is not recorded."""
    env = environment if isinstance(environment, dict) else {}
    if not env.get("cpu"):
        return None
    return tuple(str(env.get(k) or "") for k in FINGERPRINT)


def _combined(base, new) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs and traces of both sets, keys prefixed by side, ids labelled within each side."""
    runs, traces = [], []
    for side, res in (("base", base), ("new", new)):
        r = res.runs.copy()
        r["side"] = side
        r["problem_id"], r["optimizer_id"] = configuration_labels(r)
        r["key"] = side + ":" + r["key"].astype(str)
        runs.append(r)
        t = res.traces[["key", "step", "fun", "nfev", "seconds"]].copy()
        t["key"] = side + ":" + t["key"].astype(str)
        traces.append(t)
    return pd.concat(runs, ignore_index=True), pd.concat(traces, ignore_index=True)


def _target_gap(budget) -> float:
    value = budget.get("target_gap") if isinstance(budget, dict) else None
    return float(value) if value is not None else np.nan


def _seed_changes(b: pd.Series, n: pd.Series, target: float) -> tuple[list[str], list[str], list[str]]:
    """(worse, better, neither) descriptions of what changed between two runs of one seed; a
    status of the same rank (``budget`` -> ``stopped``) is neither."""
    worse, better, neither = [], [], []

    def note(kind: bool | None, text: str) -> None:
        (neither if kind is None else worse if kind else better).append(f"seed {b['seed']}: {text}")

    rb, rn = STATUS_RANK.get(b["status"], 2), STATUS_RANK.get(n["status"], 2)
    if b["status"] != n["status"]:
        note(None if rb == rn else rn > rb, f"status {b['status']} -> {n['status']}")
    if np.isfinite(target) and b["nfev_to_target"] != n["nfev_to_target"]:
        note(n["nfev_to_target"] > b["nfev_to_target"],
             f"nfev@{target:.0e} {_fmt(b['nfev_to_target'], '.0f')} -> {_fmt(n['nfev_to_target'], '.0f')}")
    gb, gn = float(b["final_gap"]), float(n["final_gap"])
    both_at_target = all(g <= t for g, t in ((gb, b["target_gap"]), (gn, n["target_gap"])))
    if gb != gn and not (np.isnan(gb) and np.isnan(gn)) and not both_at_target:
        note(not gn < gb, f"final gap {_fmt(gb, '.3e')} -> {_fmt(gn, '.3e')}")
    return worse, better, neither


def _noise(runs: pd.DataFrame, comparable: set) -> tuple[float | None, int]:
    """Pooled within-configuration sd of log(seconds/step) over the comparable
    configurations (both sides), and its degrees of freedom."""
    squares, dof = 0.0, 0
    for (problem_id, optimizer_id, _side), grp in runs.groupby(["problem_id", "optimizer_id", "side"]):
        if (problem_id, optimizer_id) not in comparable:
            continue
        logs = np.log(grp["seconds_per_step"].to_numpy(float))
        logs = logs[np.isfinite(logs)]
        if logs.size >= 2:
            squares += float(((logs - logs.mean()) ** 2).sum())
            dof += logs.size - 1
    return (math.sqrt(squares / dof) if dof else None), dof


def compare(base, new, *, time_factor: float = 1.2) -> CompareResult:
    """Compare two :class:`~optbench.store.Results` (see the module docstring for the rules).

    ``time_factor`` is the smallest ratio of geometric-mean seconds/step new/base that can
    count as slower (on top of the noise rule).
    """
    if not time_factor >= 1.0:
        from .errors import ConfigError

        raise ConfigError(f"time_factor={time_factor!r} must be >= 1 (a ratio new/base beyond which a change counts)")
    runs, traces = _combined(base, new)
    runs = with_reference(runs)
    runs["seconds_per_step"] = seconds_per_step(runs)
    runs["target_gap"] = runs["budget"].map(_target_gap) if "budget" in runs else np.nan
    runs["fingerprint"] = runs["environment"].map(fingerprint) if "environment" in runs else None
    hits = hitting_times(runs.drop(columns=["f_ref", "reference", "final_gap"]), traces, gaps=GAP_TARGETS, taus=())
    hits = hits[hits["kind"] == "gap"]
    finest = hits[np.isfinite(hits["nfev"])].groupby("key")["target"].min()

    groups = {k: g for k, g in runs.groupby(["problem_id", "optimizer_id"], sort=True)}
    comparable, timing_note = set(), {}
    for k, grp in groups.items():
        prints = set(grp["fingerprint"])
        sides = set(grp["side"])
        if sides != {"base", "new"}:
            timing_note[k] = "-"
        elif None in prints:
            timing_note[k] = "not comparable: machine not recorded"
        elif len(prints) > 1:
            timing_note[k] = "not comparable: different machine"
        else:
            comparable.add(k)
    noise, dof = _noise(runs, comparable)
    z = None
    if noise is not None:
        from scipy.stats import t as student_t

        z = float(student_t.ppf(1.0 - NOISE_ALPHA / max(len(comparable), 1), dof))

    rows = []
    for (problem_id, optimizer_id), grp in groups.items():
        b, n = grp[grp["side"] == "base"], grp[grp["side"] == "new"]
        seeds = sorted(set(b["seed"]) & set(n["seed"]))
        bs, ns = b.set_index("seed"), n.set_index("seed")
        target = np.nan
        targets = [finest.get(key, np.nan) for key in bs.loc[seeds, "key"]] if seeds else []
        if targets and np.isfinite(targets).any():
            target = float(np.nanmax(targets))  # the finest target every base run that reached one reached
        at = hits[np.isclose(hits["target"], target)].set_index("key")["nfev"] if np.isfinite(target) else None
        for side in (bs, ns):
            side["nfev_to_target"] = side["key"].map(at).astype(float) if at is not None else np.nan
        worse, better, neither = [], [], []
        for seed in seeds:
            w, bt, nt = _seed_changes(_row(bs, seed), _row(ns, seed), target)
            worse += w
            better += bt
            neither += nt
        row = {"problem_id": problem_id, "optimizer_id": optimizer_id, "base_runs": len(b), "new_runs": len(n),
               "seeds": len(seeds), "target": target}
        for name, side in (("base", bs), ("new", ns)):
            row[f"{name}_status"] = "/".join(sorted(set(side["status"].astype(str)))) if len(side) else "-"
            for m in ("nfev_to_target", "final_gap", "seconds_per_step"):
                v = side[m].to_numpy(float) if len(side) else np.array([])
                v = v[~np.isnan(v)]
                row[f"{name}_{m}"] = float(np.median(v)) if v.size else np.nan
        ratio = np.nan
        if len(b) and len(n):
            lb, ln = (np.log(s["seconds_per_step"].to_numpy(float)) for s in (b, n))
            lb, ln = lb[np.isfinite(lb)], ln[np.isfinite(ln)]
            if lb.size and ln.size:
                ratio = float(np.exp(ln.mean() - lb.mean()))
        row["ratio_seconds_per_step"] = ratio
        if not len(b) or not len(n):
            convergence = "only in base" if len(b) else "only in new"
        else:
            convergence = "converges worse" if worse else "better" if better else "changed" if neither else "same"
        row["changes"] = "; ".join(worse + better + neither)
        row["convergence"] = convergence
        row["timing"] = _timing(ratio, len(b), len(n), time_factor, noise, z) if (problem_id, optimizer_id) in comparable \
            else timing_note[(problem_id, optimizer_id)]
        bad = [v for v in (convergence, row["timing"]) if v in ("converges worse", "slower")]
        if bad:
            row["verdict"] = ", ".join(bad)
        elif convergence.startswith("only"):
            row["verdict"] = convergence
        else:
            row["verdict"] = "better" if convergence == "better" or row["timing"] == "faster" else "same"
        rows.append(row)
    table = pd.DataFrame(rows)
    spread = ("unknown (no repeated runs)" if noise is None else
              f"{noise:.3f} (x{math.exp(noise):.2f}, {dof} dof), z = {z:.2f} (t quantile at {NOISE_ALPHA:g}/{len(comparable)})")
    rule = (f"convergence: any seed with a worse status, more evaluations to the target or a larger final gap "
            f"(exact, unclipped). timing: only between runs with one machine fingerprint ({', '.join(FINGERPRINT)}); "
            f"run-to-run spread sd(log s/step) = {spread}; slower = geometric-mean ratio new/base > max({time_factor:g}, "
            f"exp(z sd sqrt(1/n_base + 1/n_new)))")
    regressed = bool(len(table) and table["verdict"].str.contains("slower|worse", regex=True).any())
    return CompareResult(table=table, regressed=regressed, rule=rule, noise=noise, factors={"time": time_factor})


def _row(side: pd.DataFrame, seed) -> pd.Series:
    """The run of ``seed`` on one side (indexed by seed), with its seed as a field."""
    row = side.loc[seed]
    if isinstance(row, pd.DataFrame):  # two runs of one seed under one id: the first
        row = row.iloc[0]
    row = row.copy()
    row["seed"] = seed
    return row


def _timing(ratio: float, n_base: int, n_new: int, factor: float, noise: float | None, z: float | None) -> str:
    if not np.isfinite(ratio):
        return "-"
    if noise is None:
        return "not comparable: no repeated runs"
    band = max(factor, math.exp(z * noise * math.sqrt(1.0 / n_base + 1.0 / n_new)))
    if ratio > band:
        return "slower"
    if ratio < 1.0 / band:
        return "faster"
    return "within noise"
