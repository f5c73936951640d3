r"""Metrics on the tidy frames of :class:`optbench.store.Results`: targets, time-to-target,
success rates, performance and data profiles, runtime ECDFs and ranks with bootstrap CIs.

Every function takes and returns pandas frames; nothing here plots or reads the store.
The columns used are those of ``results.runs`` (one row per run) and ``results.traces``
(one row per run and iterate, see :mod:`optbench.runner` for the trace convention: row
``j`` is the iterate ``x_j``, ``nfev`` the evaluations needed to know ``f(x_j)``,
``seconds`` the optimizer's wall time when ``x_j`` was reached).

Calibrated time
---------------
:func:`with_calibrated_time` adds ``calibrated = seconds / calibration_seconds`` to both
frames, each run divided by the calibration figure of its own process
(:mod:`optbench.calibration`): "calibrated time units", roughly comparable between machines.
It is a cost beside steps, evaluations and seconds (the report's ``--x calibrated``); a run
whose environment has no calibration figure of the current workload (recorded before
optbench had one) has ``calibrated = NaN`` and is left out of calibrated axes, never guessed.

Counting
--------
One convention everywhere (time-to-target tables, ECDFs, profiles, convergence plots and
budget markers): the trace row ``k`` is the iterate after ``k`` steps, so a target first
met at row ``k`` cost ``k`` steps and the ``nfev`` (and ``seconds``) recorded at row ``k``.
A target met at the start costs 0 steps (and the one evaluation of the start); a run of
``N`` steps spent ``N``. Performance ratios divide these costs as they are (3 steps against
1 step is a ratio of 3); a cost of 0 against a best of 0 is a ratio of 1.

Reference value
---------------
Gaps are measured against ``f_ref``: the problem's ``f_star`` where it is known, otherwise
the best value any run reached on the same problem **and seed** (each seed may define a
different instance: data, initialisation, start), column ``reference`` says which
(``"f_star"`` or ``"best_observed"``). With a best-observed reference the best run has
gap 0 by construction, so such gaps compare the runs with each other, not with the optimum.

Instances
---------
Profiles and ECDFs count *instances* ``(problem_id, seed)``: with a seeded random start (or
seeded data) each seed is a separate test problem, the same for every optimizer. An
optimizer that has no run on an instance counts as failing it.

Targets
-------
``fun`` along a trace is not monotone (Adam, SGD); a target counts as reached at the first
iterate whose value is at or below its threshold (equivalently: the best-so-far value
reaches it), as in COCO. Two families of thresholds:

* gap targets ``f(x) - f_ref <= t`` on a ladder of ``t``: the short default ladder
  ``1e-1, ..., 1e-8`` (:data:`GAP_TARGETS`, eight targets, one per decade), or COCO's
  51-target bbob ladder ``10^2, 10^1.8, ..., 10^-8`` (:data:`COCO_TARGETS`, five per decade,
  Hansen et al. 2021); :data:`TARGET_LADDERS` names them;
* the relative reduction test (convergence test) of Moré & Wild (2009),
  ``f(x_0) - f(x) >= (1 - tau) (f(x_0) - f_L)``, i.e. ``f(x) <= f_L + tau (f(x_0) - f_L)``,
  with ``f_L = f_ref`` (Moré and Wild take the best value found by any solver; where
  ``f_star`` is known we use it, which is stricter) and ``tau`` in :data:`REDUCTION_TAUS`.

A target never reached has an infinite time to target (``inf``, not NaN), so medians,
ratios and comparisons need no special cases.

References
----------
* E. D. Dolan, J. J. Moré (2002), "Benchmarking optimization software with performance
  profiles", Mathematical Programming 91:201-213.
* J. J. Moré, S. M. Wild (2009), "Benchmarking derivative-free optimization algorithms",
  SIAM Journal on Optimization 20(1):172-191.
* N. Hansen, A. Auger, R. Ros, O. Mersmann, T. Tušar, D. Brockhoff (2021), "COCO: a
  platform for comparing continuous optimizers in a black-box setting", Optimization
  Methods and Software 36(1):114-144.
* K. V. Price (1997), "Differential evolution vs. the functions of the 2nd ICEO", Proc.
  IEEE ICEC, 153-157 (the expected running time, COCO's aRT).
* B. Efron, R. J. Tibshirani (1993), "An Introduction to the Bootstrap", Chapman & Hall
  (percentile intervals).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

GAP_TARGETS: tuple[float, ...] = tuple(10.0 ** -k for k in range(1, 9))
"""The short default gap ladder: 1e-1 ... 1e-8, one target per decade."""
COCO_TARGETS: tuple[float, ...] = tuple(float(f"{10.0 ** (2 - k / 5):.12g}") for k in range(51))
"""COCO's bbob target ladder: 51 targets from 1e2 to 1e-8, five per decade (Hansen et al. 2021)."""
TARGET_LADDERS = {"short": GAP_TARGETS, "coco": COCO_TARGETS}
LADDER_NAMES = {"short": "short ladder 1e-1…1e-8 (8 targets, one per decade)",
                "coco": "COCO's bbob ladder 1e2…1e-8 (51 targets, five per decade)"}
REDUCTION_TAUS: tuple[float, ...] = (1e-1, 1e-3, 1e-5, 1e-7)
MEASURES = {"steps": "step", "evals": "nfev", "seconds": "seconds", "calibrated": "calibrated"}
"""Report x-axis names -> trace columns."""
MEASURE_LABELS = {"step": "steps", "nfev": "function+gradient evaluations", "seconds": "optimizer time (s)",
                  "calibrated": "calibrated time units (seconds / calibration workload)"}
TIMES = ("seconds", "calibrated")
"""The measures that are wall times (floored at 1 ns as costs, see :func:`_cost`)."""
INSTANCE = ["problem_id", "seed"]
FAILED_STATUSES = ("diverged", "failed")
NOT_APPLICABLE = "not-applicable"
"""The status of a run whose optimizer is not for the problem's parameters (nothing ran)."""


def measure_column(x: str) -> str:
    """``"steps" | "evals" | "seconds" | "calibrated"`` (or a trace column name) -> the trace column."""
    if x in MEASURES:
        return MEASURES[x]
    if x in MEASURES.values():
        return x
    raise ValueError(f"x={x!r} is not one of {', '.join(MEASURES)}")


# ---------------------------------------------------------------------------------------
# Reference values and gaps
# ---------------------------------------------------------------------------------------
def with_reference(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` plus ``f_ref``, ``reference`` and ``final_gap = fun - f_ref``.

    ``f_ref`` is ``f_star`` where it is finite, else the smallest finite ``best`` over the
    runs of the same ``(problem_id, seed)``. A run whose status is ``diverged`` or
    ``failed`` (its last value is a blow-up or whatever the fault left), or whose final
    value is not finite, has ``final_gap = inf``: it delivered nothing. Its trace still
    counts for the targets it reached before it went wrong.

    >>> runs = pd.DataFrame({"problem_id": ["p"] * 2, "seed": [0, 0], "f_star": [None, None],
    ...                      "best": [3.0, 1.0], "fun": [3.0, 1.5]})
    >>> with_reference(runs)[["f_ref", "reference", "final_gap"]].values.tolist()
    [[1.0, 'best_observed', 2.0], [1.0, 'best_observed', 0.5]]
    """
    out = runs.copy()
    f_star = pd.to_numeric(out["f_star"], errors="coerce").astype(float)
    best = pd.to_numeric(out["best"], errors="coerce").astype(float).where(lambda s: np.isfinite(s))
    observed = best.groupby([out[c] for c in INSTANCE]).transform("min")
    known = np.isfinite(f_star)
    out["f_ref"] = f_star.where(known, observed)
    out["reference"] = np.where(known, "f_star", "best_observed")
    fun = pd.to_numeric(out["fun"], errors="coerce").astype(float)
    failed = out["status"].isin(FAILED_STATUSES) if "status" in out.columns else False
    out["final_gap"] = (fun - out["f_ref"]).where(np.isfinite(fun) & ~failed, np.inf)
    if "status" in out.columns:  # nothing ran: no gap at all, not an infinite one
        out.loc[out["status"] == NOT_APPLICABLE, "final_gap"] = np.nan
    return out


def applicable(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs that measured something: ``not-applicable`` runs (an optimizer that is not for
    the problem's parameters, such as Muon without a weight matrix) are left out of every
    comparison, as a cell that does not exist -- neither a failure nor a rank.

    >>> applicable(pd.DataFrame({"status": ["budget", "not-applicable"]}))["status"].tolist()
    ['budget']
    """
    if "status" not in runs.columns:
        return runs
    return runs[runs["status"] != NOT_APPLICABLE]


# ---------------------------------------------------------------------------------------
# The verdict's metric: held-out loss where a problem has a test split
# ---------------------------------------------------------------------------------------
TEST_METRIC = "test_loss"
VERDICT_LABELS = {"final_gap": "final f − f_ref", TEST_METRIC: "final test loss"}


def _problem_groups(runs: pd.DataFrame) -> pd.Series:
    return runs["problem_id"] if "problem_id" in runs.columns else runs["problem"]


def _test_problems(runs: pd.DataFrame, evals: pd.DataFrame | None) -> set:
    """The problems (``problem_id``, else ``problem``) on which some run recorded a test loss."""
    if evals is None or not len(evals):
        return set()
    keys = set(evals.loc[evals["metric"] == TEST_METRIC, "key"])
    groups = _problem_groups(runs)
    return set(groups[runs["key"].isin(keys)])


def _final_evals(evals: pd.DataFrame, runs: pd.DataFrame, metric: str) -> pd.Series:
    """``key -> value`` of ``metric`` at each run's final iterate (its last evaluation point, if
    that point is the run's last step; NaN otherwise: a run that diverged was not evaluated
    at its end)."""
    rows = evals[evals["metric"] == metric].sort_values("step").groupby("key").last()
    steps = pd.to_numeric(runs.set_index("key")["steps"], errors="coerce")
    last = rows["step"].astype(float)
    at_end = last.eq(steps.reindex(last.index).astype(float))
    return rows["value"].astype(float).where(at_end)


def verdict_metric(runs: pd.DataFrame, evals: pd.DataFrame | None) -> pd.DataFrame:
    """The metric a verdict judges each run by, and its value (lower is better): one row per
    run (``key, metric, value``, index aligned with ``runs``).

    * ``test_loss`` on a training problem with a test split (some run of the problem
      recorded a test loss at its evaluation points, ``eval_every``): the loss on the
      held-out data at the run's final iterate -- the training loss would reward
      overfitting (Schmidt, Schneider & Hennig 2021; Dahl et al. 2023);
    * ``final_gap`` elsewhere: ``f - f_ref`` at the final iterate (:func:`with_reference`).

    A run that diverged, failed or timed out, or has no value at its final iterate, has
    ``inf``. The report ranks by this metric and ``optbench tune`` chooses by it (its
    ``verdict`` metric), so tuning and report agree.

    >>> runs = pd.DataFrame({"key": ["a", "b"], "problem": ["net", "net"], "seed": 0, "f_star": None,
    ...                      "best": [0.1, 0.2], "fun": [0.1, 0.2], "steps": [10, 10], "status": "budget"})
    >>> evals = pd.DataFrame({"key": ["a", "a", "b", "b"], "metric": "test_loss", "step": [0, 10, 0, 10],
    ...                       "value": [0.7, 0.5, 0.7, 0.3]})
    >>> verdict_metric(runs, evals)[["metric", "value"]].values.tolist()
    [['test_loss', 0.5], ['test_loss', 0.3]]
    """
    test_problems = _test_problems(runs, evals)
    uses_test = _problem_groups(runs).isin(test_problems).to_numpy()
    if "problem_id" not in runs.columns:
        runs = runs.assign(problem_id=runs["problem"])
    gap = with_reference(runs)["final_gap"].astype(float).to_numpy()
    test = runs["key"].map(_final_evals(evals, runs, TEST_METRIC)).astype(float).to_numpy() if uses_test.any() \
        else np.full(len(runs), np.nan)
    failed = runs["status"].isin(FAILED_STATUSES + ("timeout",)).to_numpy() if "status" in runs.columns else False
    value = np.where(uses_test, test, gap)
    value = np.where(failed | ~np.isfinite(value), np.inf, value)
    return pd.DataFrame({"key": runs["key"].to_numpy(), "metric": np.where(uses_test, TEST_METRIC, "final_gap"),
                         "value": value}, index=runs.index)


def verdict_view(runs: pd.DataFrame, traces: pd.DataFrame, evals: pd.DataFrame | None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(runs, traces)`` as the verdict sees them: on the problems :func:`verdict_metric`
    judges by test loss, each run's values are its test losses -- ``fun`` the final one,
    ``best`` the lowest, ``f0`` the first, no ``f_star`` (so the reference is the best test
    loss any run reached on the instance: "best observed") -- and its trace has one row per
    evaluation point (``step``, the test loss as ``fun``, and the ``nfev`` and ``seconds``
    of the trace row of that step, and ``calibrated`` where the traces have it). Every other
    run is unchanged. Columns added to every run: ``verdict`` (the metric's name),
    ``train_fun`` (the final training objective), and ``test_loss``, ``test_accuracy`` (final
    values where recorded, else NaN).
    Everything downstream -- references, targets, profiles, ECDFs, ranks -- then judges
    held-out loss without a special case."""
    out = runs.copy()
    metric = verdict_metric(runs, evals)
    out["verdict"] = metric["metric"].to_numpy()
    out["train_fun"] = out["fun"]
    for name in (TEST_METRIC, "test_accuracy"):
        out[name] = (out["key"].map(_final_evals(evals, runs, name)).astype(float)
                     if evals is not None and len(evals) else np.nan)
    test_keys = set(out.loc[out["verdict"] == TEST_METRIC, "key"])
    if not test_keys:
        return out, traces
    ev = evals[(evals["metric"] == TEST_METRIC) & evals["key"].isin(test_keys)].sort_values(["key", "step"])
    first, lowest = ev.groupby("key")["value"].first(), ev.groupby("key")["value"].min()
    sel = out["key"].isin(test_keys)
    out.loc[sel, "fun"] = out.loc[sel, "test_loss"]
    out.loc[sel, "best"] = out.loc[sel, "key"].map(lowest).astype(float)
    out.loc[sel, "f0"] = out.loc[sel, "key"].map(first).astype(float)
    out.loc[sel, "f_star"] = np.nan
    if "gap" in out.columns:
        out.loc[sel, "gap"] = np.nan
    costs = _cost_columns(traces)
    cols, slices = _trace_slices(traces[traces["key"].isin(test_keys)], costs)
    parts = []
    for key, g in ev.groupby("key", sort=False):
        a, b = slices.get(key, (0, 0))
        steps = cols["step"][a:b]
        idx = np.searchsorted(steps, g["step"].to_numpy(float))
        ok = (idx < steps.size) & (steps[np.minimum(idx, max(steps.size - 1, 0))] == g["step"].to_numpy(float)) \
            if steps.size else np.zeros(len(g), dtype=bool)
        part = pd.DataFrame({"key": key, "step": g["step"].to_numpy(), "fun": g["value"].to_numpy(float),
                             **{c: np.where(ok, cols[c][a:b][np.minimum(idx, max(b - a - 1, 0))], np.nan)
                                if steps.size else np.nan for c in costs[1:]}})
        parts.append(part)
    ids = out.set_index("key")
    test_traces = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["key", "step", "fun"])
    for c in ("problem_id", "optimizer_id", "seed"):
        if c in traces.columns:
            test_traces[c] = test_traces["key"].map(ids[c])
    kept = traces[~traces["key"].isin(test_keys)]
    return out, pd.concat([kept, test_traces], ignore_index=True) if len(kept) else test_traces


def seconds_per_step(runs: pd.DataFrame) -> pd.Series:
    """Optimizer wall time per step of each run, ``seconds / steps`` (NaN with no step)."""
    steps = pd.to_numeric(runs["steps"], errors="coerce").astype(float)
    return pd.to_numeric(runs["seconds"], errors="coerce").astype(float) / steps.where(steps > 0)


def calibration_figures(runs: pd.DataFrame) -> pd.Series:
    """Each run's ``calibration_seconds`` from its environment (aligned with ``runs``); NaN
    where there is none, it is not a positive finite number, or it timed another workload
    than :data:`optbench.calibration.WORKLOAD` (figures of two workloads never divide).

    >>> env = {"calibration_seconds": 0.2, "calibration_workload": "adam-mlp32x64x1-b256-f32-200steps-v1"}
    >>> calibration_figures(pd.DataFrame({"environment": [env, {}, None]})).tolist()
    [0.2, nan, nan]
    """
    from .calibration import WORKLOAD

    def figure(env) -> float:
        if not isinstance(env, dict) or env.get("calibration_workload") != WORKLOAD:
            return np.nan
        try:
            value = float(env.get("calibration_seconds"))
        except (TypeError, ValueError):
            return np.nan
        return value if np.isfinite(value) and value > 0 else np.nan

    envs = runs["environment"] if "environment" in runs.columns else pd.Series(None, index=runs.index, dtype=object)
    return pd.Series([figure(e) for e in envs], index=runs.index, dtype=float)


def with_calibrated_time(runs: pd.DataFrame, traces: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``runs`` and ``traces`` with the column ``calibrated = seconds / calibration_seconds``
    (:func:`calibration_figures`; each trace row divided by its run's figure): NaN for a run
    without a calibration figure."""
    figures = calibration_figures(runs)
    by_key = pd.Series(figures.to_numpy(), index=runs["key"].to_numpy())
    by_key = by_key[~by_key.index.duplicated()]
    runs = runs.assign(calibrated=pd.to_numeric(runs["seconds"], errors="coerce").astype(float) / figures)
    per_row = traces["key"].map(by_key).astype(float) if len(traces) else pd.Series(dtype=float)
    traces = traces.assign(calibrated=pd.to_numeric(traces["seconds"], errors="coerce").astype(float) / per_row)
    return runs, traces


# ---------------------------------------------------------------------------------------
# Time to target
# ---------------------------------------------------------------------------------------
def first_hits(fun: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Index of the first entry of ``fun`` at or below each threshold, ``-1`` if none.

    The running minimum ``m_j = min_{i<=j} f_i`` is non-increasing, so the first hit of
    threshold ``c`` is the first ``j`` with ``m_j <= c``: a binary search on ``-m``.
    """
    if fun.size == 0:
        return np.full(thresholds.shape, -1)
    values = np.where(np.isnan(fun), np.inf, fun)
    neg = -np.minimum.accumulate(values)
    idx = np.searchsorted(neg, -thresholds, side="left")
    idx = np.where(np.isnan(thresholds), fun.size, idx)
    return np.where(idx < fun.size, idx, -1)


def _cost_columns(traces: pd.DataFrame) -> tuple[str, ...]:
    """The cost columns of ``traces``: step, nfev, seconds, and calibrated where present."""
    return ("step", "nfev", "seconds") + (("calibrated",) if "calibrated" in traces.columns else ())


def _trace_slices(traces: pd.DataFrame, columns: tuple[str, ...]):
    """Traces sorted by (key, step) as numpy columns, and ``key -> (start, stop)`` rows."""
    if not len(traces):
        return {c: np.empty(0) for c in columns}, {}
    tr = traces.sort_values(["key", "step"], kind="stable")
    keys = tr["key"].to_numpy(dtype=object)
    new = np.ones(keys.size, dtype=bool)
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    stops = np.append(starts[1:], keys.size)
    slices = {keys[a]: (a, b) for a, b in zip(starts, stops)}
    return {c: tr[c].to_numpy(float) for c in columns}, slices


def target_thresholds(fun: np.ndarray, f_ref: float, gaps=GAP_TARGETS, taus=REDUCTION_TAUS) -> np.ndarray:
    """The values of ``f`` that reach each target of a run whose trace values are ``fun``:
    ``f_ref + t`` for each gap target ``t``, then ``f_ref + tau (f(x_0) - f_ref)`` for each
    reduction tolerance ``tau`` (NaN when ``f(x_0)`` is not finite)."""
    f0 = fun[0] if fun.size and np.isfinite(fun[0]) else np.nan
    return np.concatenate([f_ref + np.asarray(gaps, dtype=float), f_ref + np.asarray(taus, dtype=float) * (f0 - f_ref)])


def hitting_times(runs: pd.DataFrame, traces: pd.DataFrame, *, gaps=GAP_TARGETS,
                  taus=REDUCTION_TAUS) -> pd.DataFrame:
    """First hitting of every target by every run: one row per (run, target).

    Columns: ``key, problem_id, optimizer_id, seed, kind ("gap" | "reduction"), target
    (t or tau), threshold (on f), hit, step, nfev, seconds`` (and ``calibrated`` where the
    traces have it) -- the step, evaluation count and optimizer time at the first iterate
    with ``f(x_j) <= threshold``, ``inf``
    when never reached (including runs without a trace). Thresholds:
    ``f_ref + t`` for a gap target, ``f_ref + tau (f(x_0) - f_ref)`` for the reduction test.

    >>> runs = pd.DataFrame({"key": ["a"], "problem_id": ["p"], "optimizer_id": ["o"], "seed": [0],
    ...                      "f_star": [0.0], "best": [0.001], "fun": [0.001]})
    >>> traces = pd.DataFrame({"key": "a", "step": [0, 1, 2], "fun": [1.0, 0.05, 0.001],
    ...                        "nfev": [1, 3, 4], "seconds": [0.0, 0.1, 0.2]})
    >>> h = hitting_times(runs, traces, gaps=(1e-1, 1e-2, 1e-4), taus=())
    >>> h[["target", "step", "nfev"]].values.tolist()
    [[0.1, 1.0, 3.0], [0.01, 2.0, 4.0], [0.0001, inf, inf]]
    """
    ref = with_reference(runs)
    gaps = np.asarray(list(gaps), dtype=float)
    taus = np.asarray(list(taus), dtype=float)
    costs = _cost_columns(traces)
    cols, slices = _trace_slices(traces, ("fun",) + costs)
    n_targets = gaps.size + taus.size
    keys, f_refs = ref["key"].to_numpy(dtype=object), ref["f_ref"].to_numpy(float)
    thresholds = np.empty((len(ref), n_targets))
    found = {c: np.full((len(ref), n_targets), np.inf) for c in costs}
    hit = np.zeros((len(ref), n_targets), dtype=bool)
    for i, (key, f_ref) in enumerate(zip(keys, f_refs)):
        a, b = slices.get(key, (0, 0))
        fun = cols["fun"][a:b]
        thresholds[i] = target_thresholds(fun, f_ref, gaps, taus)
        idx = first_hits(fun, thresholds[i])
        hit[i] = idx >= 0
        for c in found:
            found[c][i, hit[i]] = cols[c][a:b][idx[hit[i]]]
    n = len(ref)
    return pd.DataFrame({
        "key": np.repeat(keys, n_targets),
        "problem_id": np.repeat(ref["problem_id"].to_numpy(dtype=object), n_targets),
        "optimizer_id": np.repeat(ref["optimizer_id"].to_numpy(dtype=object), n_targets),
        "seed": np.repeat(ref["seed"].to_numpy(), n_targets),
        "kind": np.tile(np.array(["gap"] * gaps.size + ["reduction"] * taus.size, dtype=object), n),
        "target": np.tile(np.concatenate([gaps, taus]), n),
        "threshold": thresholds.reshape(-1), "hit": hit.reshape(-1),
        **{c: v.reshape(-1) for c, v in found.items()},
    })


def success_rate(hits: pd.DataFrame) -> pd.DataFrame:
    """Fraction of runs that reached each target, per (problem_id, optimizer_id, kind, target)."""
    return (hits.groupby(["problem_id", "optimizer_id", "kind", "target"])["hit"]
            .agg(runs="size", successes="sum", success_rate="mean").reset_index())


def time_to_target(hits: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    r"""Per (problem_id, optimizer_id, kind, target): success counts, the median steps /
    evaluations / seconds (and calibrated time, where ``hits`` has it) to the target over all
    runs (``inf`` when fewer than half succeeded; NaN calibrated time when a run has no
    calibration figure), and COCO's average running time in evaluations (Price 1997; Hansen et al.
    2021)

    .. math:: \mathrm{aRT} = \frac{\sum_{\text{successful}} \mathrm{nfev}_{\text{hit}}
              + \sum_{\text{unsuccessful}} \mathrm{nfev}_{\text{total}}}{\#\text{successes}}

    (``inf`` with no success): the evaluations an unsuccessful run spent count, as if the
    runs were restarted until one succeeds.
    """
    total = runs.set_index("key")["nfev"].astype(float)
    h = hits.copy()
    h["spent"] = np.where(h["hit"], h["nfev"], h["key"].map(total).fillna(0.0).to_numpy(float))
    calibrated = "calibrated" in h.columns
    if calibrated:
        h["uncalibrated"] = h["calibrated"].isna()
    g = h.groupby(["problem_id", "optimizer_id", "kind", "target"])
    out = g.agg(runs=("hit", "size"), successes=("hit", "sum"), median_steps=("step", "median"),
                median_nfev=("nfev", "median"), median_seconds=("seconds", "median"),
                **({"median_calibrated": ("calibrated", "median"), "uncalibrated": ("uncalibrated", "max")}
                   if calibrated else {}),
                spent=("spent", "sum")).reset_index()
    out["aRT_nfev"] = np.where(out["successes"] > 0, out["spent"] / out["successes"].clip(lower=1), np.inf)
    if calibrated:  # a run without a calibration figure makes the median unknown, not one run shorter
        out["median_calibrated"] = out["median_calibrated"].where(~out["uncalibrated"].astype(bool))
    return out.drop(columns=["spent", "uncalibrated"], errors="ignore")


# ---------------------------------------------------------------------------------------
# Profiles and ECDFs
# ---------------------------------------------------------------------------------------
def _cost(values: np.ndarray, measure: str) -> np.ndarray:
    """Costs as counted (see Counting in the module docstring): steps and evaluations as
    recorded at the row of the hit; times (seconds, calibrated) floored at 1 ns (a log axis
    and a ratio need a positive time, and the clock may read 0 at the first rows)."""
    if measure in TIMES:
        return np.maximum(values, 1e-9)
    return values


def _cost_matrix(hits: pd.DataFrame, kind: str, target: float, measure: str) -> pd.DataFrame:
    """Instances x optimizers matrix of the cost to reach one target (inf: not reached or not run)."""
    sel = hits[(hits["kind"] == kind) & np.isclose(hits["target"].astype(float), target, rtol=1e-9, atol=0)]
    if sel.empty:
        raise ValueError(f"no hitting times for the {kind} target {target:g}; "
                         f"known targets: {sorted(set(zip(hits['kind'], hits['target'])))}")
    cost = sel.assign(cost=_cost(sel[measure].to_numpy(float), measure))
    # several runs of one optimizer on one instance (e.g. different budgets) -> its best
    mat = cost.pivot_table(index=INSTANCE, columns="optimizer_id", values="cost", aggfunc="min")
    all_opts = sorted(hits["optimizer_id"].unique())
    return mat.reindex(columns=all_opts).fillna(np.inf)


def performance_ratios(hits: pd.DataFrame, *, kind: str = "reduction", target: float = 1e-3,
                       measure: str = "nfev") -> pd.DataFrame:
    r"""Dolan–Moré performance ratios ``r_{p,s} = t_{p,s} / min_s t_{p,s}`` per instance.

    ``t_{p,s}`` is the cost (``measure``: ``nfev``, ``step`` or ``seconds``) optimizer ``s``
    needed to reach the target on instance ``p``, counted as everywhere (the module's
    Counting: a hit after 3 steps against one after 1 step is a ratio of 3); a failure has
    ``t = inf`` and ``r = inf`` (also when no optimizer solved ``p``); a cost of 0 steps
    (the target met at the start, shared by every optimizer of the instance) is a ratio of 1.
    Returns an instances x optimizers frame.
    """
    mat = _cost_matrix(hits, kind, target, measure)
    best = mat.min(axis=1)
    ratios = mat.div(best.where(np.isfinite(best) & (best > 0)), axis=0)
    at_start = (best == 0).to_numpy()[:, None] & (mat.to_numpy() == 0)
    return ratios.mask(at_start, 1.0).fillna(np.inf)


def _step_curve(values: pd.DataFrame, grid_extra=()) -> pd.DataFrame:
    """Empirical CDFs ``F_s(a) = |{p : v_{p,s} <= a}| / |P|`` of each column, evaluated at
    every finite value (the step function's breakpoints) plus ``grid_extra``."""
    n = len(values)
    finite = values.to_numpy(float)
    finite = finite[np.isfinite(finite)]
    grid = np.unique(np.concatenate([finite, np.asarray(grid_extra, dtype=float)]))
    rows = []
    for opt in values.columns:
        v = np.sort(values[opt].to_numpy(float))
        frac = np.searchsorted(v, grid, side="right") / max(n, 1)
        rows.append(pd.DataFrame({"optimizer_id": opt, "x": grid, "fraction": frac}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["optimizer_id", "x", "fraction"])


def performance_profile(hits: pd.DataFrame, *, kind: str = "reduction", target: float = 1e-3,
                        measure: str = "nfev") -> pd.DataFrame:
    r"""Dolan–Moré performance profile of every optimizer (Dolan & Moré 2002):

    .. math:: \rho_s(\tau) = \frac{1}{|P|} \left|\{p \in P : r_{p,s} \le \tau\}\right|

    over the instances ``P`` (every ``(problem_id, seed)`` in ``hits``). ``rho_s(1)`` is the
    fraction of instances on which ``s`` was (one of) the cheapest; ``rho_s(inf)`` the
    fraction it solved at all. Returned as columns ``optimizer_id, tau, rho`` at every
    breakpoint of the step function and at ``tau = 1``.
    """
    ratios = performance_ratios(hits, kind=kind, target=target, measure=measure)
    return _step_curve(ratios, grid_extra=[1.0]).rename(columns={"x": "tau", "fraction": "rho"})


def problem_dims(runs: pd.DataFrame) -> dict[str, float]:
    """Dimension ``n`` of each problem_id from the runs: a ``dim`` column if present, else
    the length of the stored final iterate ``x``, else the problem parameter ``dim``
    (NaN when none of these is known)."""
    dims: dict[str, float] = {}
    for run in runs.itertuples(index=False):
        n = np.nan
        d = getattr(run, "dim", None)
        if d is not None and pd.notna(d):
            n = float(d)
        elif isinstance(getattr(run, "x", None), (list, tuple)) and len(run.x):
            n = float(len(run.x))
        elif isinstance(getattr(run, "problem_params", None), dict) and "dim" in run.problem_params:
            n = float(run.problem_params["dim"])
        if np.isfinite(n) or run.problem_id not in dims:
            dims[run.problem_id] = n
    return dims


def data_profile(hits: pd.DataFrame, dims: dict[str, float], *, tau: float = 1e-3) -> pd.DataFrame:
    r"""Moré–Wild data profile of every optimizer (Moré & Wild 2009):

    .. math:: d_s(\alpha) = \frac{1}{|P|} \left|\{p \in P : \frac{t_{p,s}}{n_p + 1} \le \alpha\}\right|

    with ``t_{p,s}`` the evaluations to pass the reduction test with tolerance ``tau`` and
    ``n_p`` the problem's dimension: ``alpha`` counts budgets in "simplex gradients"
    (``n_p + 1`` evaluations). Instances of a problem with unknown dimension are left out.
    Columns ``optimizer_id, alpha, d`` at every breakpoint and at ``alpha = 0``.
    """
    mat = _cost_matrix(hits, "reduction", tau, "nfev")
    n = np.array([dims.get(p, np.nan) for p in mat.index.get_level_values("problem_id")], dtype=float)
    mat = mat[np.isfinite(n)].div(n[np.isfinite(n)] + 1.0, axis=0)
    return _step_curve(mat, grid_extra=[0.0]).rename(columns={"x": "alpha", "fraction": "d"})


def pools_dimensions(dims: dict[str, float], problem_ids) -> bool:
    """Whether ``problem_ids`` span several known dimensions (then evaluation counts are
    divided by the dimension before pooling, as COCO does)."""
    known = {dims.get(p, np.nan) for p in set(problem_ids)}
    return len({n for n in known if np.isfinite(n)}) > 1


def runtime_ecdf(hits: pd.DataFrame, *, kind: str = "gap", measure: str = "nfev",
                 dims: dict[str, float] | None = None) -> pd.DataFrame:
    r"""COCO-style runtime ECDF over (instance, target) pairs (Hansen et al. 2021):

    .. math:: F_s(b) = \frac{1}{|P|\,|T|} \left|\{(p, t) : \mathrm{RT}_{s}(p, t) \le b\}\right|

    for all instances ``P`` and targets ``T`` of ``kind``. With ``dims`` (problem_id ->
    dimension ``n``) and ``measure="nfev"``, runtimes are evaluations divided by ``n``
    (COCO's convention for pooling problems of several dimensions); a problem of unknown
    dimension then keeps its raw count. Unsuccessful runs: a pair whose
    target was never reached (or whose instance the optimizer did not run) never counts, so
    the curve ends at the fraction of pairs solved; the budget each optimizer spent is
    drawn by the report as the end of its curve (:func:`budget_spent`). COCO's *simulated
    restarts* (bootstrapped runtimes that chain unsuccessful runs) are not done: they
    assume independent restarts, which a deterministic method on a seeded start is not;
    the restart-based average running time is in :func:`time_to_target` (aRT).
    Columns ``optimizer_id, runtime, fraction``.
    """
    sel = hits[hits["kind"] == kind]
    if sel.empty:
        raise ValueError(f"no hitting times of kind {kind!r}")
    cost = _cost(sel[measure].to_numpy(float), measure)
    if dims is not None and measure == "nfev":
        n = sel["problem_id"].map(lambda p: dims.get(p, np.nan)).to_numpy(float)
        cost = np.where(np.isfinite(n) & (n > 0), cost / np.where(n > 0, n, 1.0), cost)
    mat = sel.assign(cost=cost).pivot_table(index=INSTANCE + ["target"], columns="optimizer_id", values="cost",
                                            aggfunc="min")
    mat = mat.reindex(columns=sorted(hits["optimizer_id"].unique())).fillna(np.inf)
    return _step_curve(mat).rename(columns={"x": "runtime"})


def budget_spent(runs: pd.DataFrame, measure: str = "nfev", dims: dict[str, float] | None = None) -> pd.Series:
    """Largest cost any run of each optimizer spent (its steps, evaluations or seconds, as
    counted everywhere: a run of 200 steps spent 200), on the scale of :func:`runtime_ecdf`
    (evaluations divided by the dimension with ``dims``): where its ECDF ends."""
    col = {"step": "steps"}.get(measure, measure)
    values = _cost(pd.to_numeric(runs[col], errors="coerce").to_numpy(float), measure)
    if dims is not None and measure == "nfev":
        n = runs["problem_id"].map(lambda p: dims.get(p, np.nan)).to_numpy(float)
        values = np.where(np.isfinite(n) & (n > 0), values / np.where(n > 0, n, 1.0), values)
    return pd.Series(values, index=runs["optimizer_id"].to_numpy()).groupby(level=0).max()


# ---------------------------------------------------------------------------------------
# Like with like: the instances every compared optimizer ran
# ---------------------------------------------------------------------------------------
@dataclass
class CommonInstances:
    """The runs a verdict compares (``runs``: every ranked optimizer on every common instance)
    and the optimizers left apart (``apart``: ``optimizer_id, problems_run, problems,
    instances_run, instances, missing`` -- what each ran, of how many, and a sentence)."""

    runs: pd.DataFrame
    ranked: list[str]
    apart: pd.DataFrame
    instances: int
    problems: int


def common_instances(runs: pd.DataFrame) -> CommonInstances:
    """Restrict ``runs`` to instances ``(problem_id, seed)`` that every compared optimizer ran.

    Overall ranks, profiles, ECDFs and scores average over instances; an optimizer that ran
    fewer of them would be averaged over an easier or harder set than the others (an
    optimizer run on one problem, where it won, would rank first overall). The compared
    optimizers are chosen greedily: the one that ran the most instances (ties: by name),
    then every optimizer that ran all of its instances, and the instances are those. The
    others are listed apart with what they ran (``"not ranked overall: ran 1 of 37
    problems"``), never ranked against the rest. Within one experiment (a grid) every
    optimizer usually ran everything and nothing is left apart.

    >>> runs = pd.DataFrame({"key": list("abcde"), "problem_id": ["p", "q", "p", "q", "p"],
    ...                      "seed": 0, "optimizer_id": ["a", "a", "b", "b", "c"]})
    >>> common = common_instances(runs)
    >>> common.ranked, common.apart["missing"].tolist()
    (['a', 'b'], ['not ranked overall: ran 1 of 2 problems (1 of 2 instances)'])
    """
    inst = runs.groupby("optimizer_id")[INSTANCE].apply(lambda g: set(map(tuple, g.to_numpy().tolist())))
    n_problems = runs["problem_id"].nunique()
    n_instances = len(set(map(tuple, runs[INSTANCE].to_numpy().tolist())))
    order = sorted(inst.index, key=lambda o: (-len(inst[o]), str(o)))
    if not order:
        return CommonInstances(runs, [], pd.DataFrame(columns=["optimizer_id", "problems_run", "problems",
                                                               "instances_run", "instances", "missing"]), 0, 0)
    chosen = inst[order[0]]
    ranked = [o for o in order if chosen <= inst[o]]
    apart = []
    for o in order:
        if o in ranked:
            continue
        problems_run = len({p for p, _ in inst[o]})
        apart.append({"optimizer_id": o, "problems_run": problems_run, "problems": n_problems,
                      "instances_run": len(inst[o]), "instances": n_instances,
                      "missing": f"not ranked overall: ran {problems_run} of {n_problems} problem"
                                 f"{'s' if n_problems != 1 else ''} ({len(inst[o])} of {n_instances} instances)"})
    keep = runs["optimizer_id"].isin(ranked) & pd.Series(
        [tuple(x) in chosen for x in runs[INSTANCE].to_numpy().tolist()], index=runs.index)
    return CommonInstances(runs[keep], ranked, pd.DataFrame(apart, columns=["optimizer_id", "problems_run", "problems",
                                                                            "instances_run", "instances", "missing"]),
                           len(chosen), len({p for p, _ in chosen}))


REPLICATES_NOTE = ("seeds are replicates (standard start, deterministic method): no seed noise measured; "
                   "use start=random")


def seed_replicates(runs: pd.DataFrame) -> pd.DataFrame:
    """Per ``(problem_id, optimizer_id)``: ``seeds`` (runs) and ``replicates`` -- whether its
    seeds all produced the same result (the same status, final value, best value, steps and
    evaluations). With a standard start and a deterministic method every seed is the same
    run: a bootstrap over them collapses to a point and measures no seed noise at all, so no
    verdict may claim to be "beyond seed noise" from them (:data:`REPLICATES_NOTE`). A cell
    with one seed is not counted as replicates (it has no second seed to compare).

    >>> runs = pd.DataFrame({"problem_id": "p", "optimizer_id": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
    ...                      "status": "budget", "fun": [1.0, 1.0, 2.0, 3.0], "best": [1.0, 1.0, 2.0, 3.0],
    ...                      "steps": 5, "nfev": 6})
    >>> seed_replicates(runs)["replicates"].tolist()
    [True, False]
    """
    cols = [c for c in ("status", "fun", "best", "steps", "nfev") if c in runs.columns]

    def same(g: pd.DataFrame) -> bool:
        if len(g) < 2:
            return False
        values = g[cols].astype(object).where(g[cols].notna(), "nan")
        return bool((values.nunique(dropna=False) <= 1).all())

    g = runs.groupby(["problem_id", "optimizer_id"], sort=True)
    return pd.DataFrame({"seeds": g.size(), "replicates": g[cols].apply(same)}).reset_index()


def competition_places(values, *, decimals: int = 9) -> list[str]:
    """Standard competition ranking ("1224") of sorted-or-not ``values`` (lower is better):
    the place is one plus the number of strictly better values, and a place shared by
    several is written ``3=``. Values equal to ``decimals`` decimals tie.

    >>> competition_places([1.5, 3.5, 3.5, 4.0])
    ['1', '2=', '2=', '4']
    """
    v = np.round(np.asarray(values, dtype=float), decimals)
    places = [1 + int((v < x).sum()) for x in v]
    return [f"{p}=" if int((v == x).sum()) > 1 else str(p) for p, x in zip(places, v)]


# ---------------------------------------------------------------------------------------
# Ranks with bootstrap confidence intervals
# ---------------------------------------------------------------------------------------
@dataclass
class Ranks:
    """Ranks of the optimizers (1 = best; ties share the average rank).

    ``per_problem``: problem_id, optimizer_id, seeds, median_gap, median_nfev, rank,
    rank_low, rank_high. ``overall``: place (standard competition ranking of the mean rank,
    ``"3="`` where shared: :func:`competition_places`), optimizer_id, problems, mean_rank,
    rank_low, rank_high (mean over the problems the optimizer ran: give :func:`ranks` the
    runs of :func:`common_instances` so that every optimizer ran the same ones). ``level`` is the CI's coverage,
    ``resamples`` the number of bootstrap resamples, ``floor`` the gap below which runs tie.
    """

    per_problem: pd.DataFrame
    overall: pd.DataFrame
    level: float
    resamples: int
    floor: float

    def sentence(self, optimizer_id: str) -> str:
        """``"adam ranks 1.4 [1.0, 2.0]"`` for the overall rank of one optimizer."""
        row = self.overall.set_index("optimizer_id").loc[optimizer_id]
        return f"{optimizer_id} ranks {row.mean_rank:.2f} [{row.rank_low:.2f}, {row.rank_high:.2f}]"


def _rank_rows(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Average ranks along the last axis, lexicographically by (primary, secondary).

    ``rank_i = 1 + #{j : key_j < key_i} + (#{j : key_j = key_i} - 1) / 2`` by pairwise
    comparison (the number of optimizers is small); equal keys share their average rank.
    """
    p_i, p_j = primary[..., :, None], primary[..., None, :]
    s_i, s_j = secondary[..., :, None], secondary[..., None, :]
    same = p_j == p_i
    less = (p_j < p_i) | (same & (s_j < s_i))
    equal = same & (s_j == s_i)
    return 1.0 + less.sum(-1) + (equal.sum(-1) - 1) / 2.0


def _nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """Median ignoring NaN (seeds an optimizer has no run for); all-NaN -> inf."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(a, axis=axis)
    return np.where(np.isnan(med), np.inf, med)


def ranks(runs: pd.DataFrame, traces: pd.DataFrame, *, floor: float = 1e-8, resamples: int = 1000,
          level: float = 0.95, seed: int = 0) -> Ranks:
    r"""Rank the optimizers on every problem, with percentile bootstrap CIs over seeds.

    On problem ``p`` optimizer ``s`` is scored by the median over seeds of its final gap
    clipped below at ``floor`` (runs that reach ``f_ref + floor`` tie on it; a diverged or
    failed run has gap ``inf``); ties are broken by the median evaluations it needed to
    reach ``f_ref + floor`` (``inf`` if not reached). Ranks are averaged over ties.

    Uncertainty: ``resamples`` bootstrap resamples of the seeds of each problem, drawn
    with replacement from ``numpy.random.default_rng(seed)`` and shared by all optimizers
    of the problem (paired: seed ``k`` is the same start/instance for everyone; an
    optimizer that lacks some seeds resamples its own), re-score and re-rank;
    ``rank_low``/``rank_high`` are the ``(1 -/+ level)/2`` percentiles of the resampled
    ranks (Efron & Tibshirani 1993, ch. 13). The overall mean rank of an
    optimizer is its mean over the problems it ran, with the CI from the same resamples.
    With one seed the interval is the point estimate: there is no seed noise to measure.
    """
    ref = with_reference(runs)
    hits = hitting_times(ref.drop(columns=["f_ref", "reference", "final_gap"]), traces, gaps=(floor,), taus=())
    evals = hits.set_index("key")["nfev"]
    ref["evals_to_floor"] = ref["key"].map(evals).astype(float)
    ref["score"] = np.maximum(ref["final_gap"].astype(float), floor)
    rng = np.random.default_rng(seed)
    lo_q, hi_q = 100 * (1 - level) / 2, 100 * (1 + level) / 2
    score_all = ref.pivot_table(index=INSTANCE, columns="optimizer_id", values="score", aggfunc="min")
    evals_all = ref.pivot_table(index=INSTANCE, columns="optimizer_id", values="evals_to_floor", aggfunc="min",
                                dropna=False).reindex(index=score_all.index, columns=score_all.columns)
    per_problem, boot_by_opt = [], {}
    for problem_id in sorted(ref["problem_id"].unique()):
        score = score_all.loc[problem_id].dropna(axis=1, how="all")
        opts = list(score.columns)
        s, e = score.to_numpy(float), evals_all.loc[problem_id][opts].to_numpy(float)
        point = _rank_rows(_nanmedian(s, 0), _nanmedian(e, 0))
        idx = rng.integers(0, s.shape[0], size=(resamples, s.shape[0]))
        s_med, e_med = _nanmedian(s[idx], 1), _nanmedian(e[idx], 1)  # (resamples, optimizers)
        for j in np.flatnonzero(np.isnan(s).any(axis=0)):  # seeds missing: resample its own seeds
            own = np.flatnonzero(~np.isnan(s[:, j]))
            jdx = own[rng.integers(0, own.size, size=(resamples, own.size))]
            s_med[:, j], e_med[:, j] = _nanmedian(s[jdx, j], 1), _nanmedian(e[jdx, j], 1)
        boot = _rank_rows(s_med, e_med)
        for j, opt in enumerate(opts):
            per_problem.append({
                "problem_id": problem_id, "optimizer_id": opt, "seeds": int((~np.isnan(s[:, j])).sum()),
                "median_gap": float(_nanmedian(s[:, j], 0)), "median_nfev": float(_nanmedian(e[:, j], 0)),
                "rank": float(point[j]), "rank_low": float(np.percentile(boot[:, j], lo_q)),
                "rank_high": float(np.percentile(boot[:, j], hi_q)),
            })
            boot_by_opt.setdefault(opt, []).append(boot[:, j])
    pp = pd.DataFrame(per_problem, columns=["problem_id", "optimizer_id", "seeds", "median_gap", "median_nfev",
                                            "rank", "rank_low", "rank_high"])
    overall = []
    for opt, draws in sorted(boot_by_opt.items()):
        mean_draws = np.mean(draws, axis=0)
        overall.append({"optimizer_id": opt, "problems": len(draws),
                        "mean_rank": float(pp.loc[pp.optimizer_id == opt, "rank"].mean()),
                        "rank_low": float(np.percentile(mean_draws, lo_q)),
                        "rank_high": float(np.percentile(mean_draws, hi_q))})
    ov = pd.DataFrame(overall, columns=["optimizer_id", "problems", "mean_rank", "rank_low", "rank_high"])
    ov = ov.sort_values(["mean_rank", "optimizer_id"], ignore_index=True)
    ov.insert(0, "place", competition_places(ov["mean_rank"]))
    return Ranks(per_problem=pp, overall=ov, level=level, resamples=resamples, floor=floor)


# ---------------------------------------------------------------------------------------
# Convergence curves
# ---------------------------------------------------------------------------------------
def inverted_cdf_quantiles(mat: np.ndarray, qs) -> np.ndarray:
    """Quantiles ``qs`` of every column of ``mat`` over its non-NaN entries, by the inverse of
    the empirical CDF (Hyndman & Fan 1996, definition 1: the ``ceil(q n)``-th smallest of the
    ``n`` values; NaN where a column has none) -- ``np.nanpercentile(mat, 100 * qs, axis=0,
    method="inverted_cdf")``, vectorised: numpy's goes column by column, which took 17 s of a
    report of 16,000 runs.

    >>> inverted_cdf_quantiles(np.array([[1.0, np.nan], [3.0, np.nan], [2.0, 5.0], [np.inf, np.nan]]), [0.5, 1.0])
    array([[ 2.,  5.],
           [inf,  5.]])
    """
    ordered = np.sort(mat, axis=0)  # NaN sorts last, after inf
    n = (~np.isnan(mat)).sum(axis=0)
    out = np.full((len(qs), mat.shape[1]), np.nan)
    for i, q in enumerate(qs):
        index = np.maximum(np.ceil(np.asarray(q) * n - 1e-9).astype(np.int64) - 1, 0)
        picked = np.take_along_axis(ordered, np.minimum(index, max(mat.shape[0] - 1, 0))[None, :], axis=0)[0] \
            if mat.shape[0] else np.full(mat.shape[1], np.nan)
        out[i] = np.where(n > 0, picked, np.nan)
    return out


def convergence_bands(runs: pd.DataFrame, traces: pd.DataFrame, *, x: str = "steps",
                      points: int = 300) -> pd.DataFrame:
    """Median and interquartile range over seeds of the gap ``f(x_j) - f_ref`` on a grid.

    For every (problem_id, optimizer_id) the runs are put on one grid of ``points`` values of
    the x measure (steps, evaluations, seconds or calibrated time; a run without a
    calibration figure has no calibrated curve) spanning the runs' range: a run's value at
    grid point ``g`` is its value at its last iterate with ``x_j <= g`` (what is known for
    that cost), NaN before its first iterate, and its final value after its last (a run
    that stopped keeps its last iterate). Quantiles are the inverse of the empirical CDF
    (Hyndman & Fan 1996, definition 1: every quantile is one of the runs' values, no
    interpolation, which would be meaningless between a gap of 0 and a diverged ``inf``);
    negative gaps (below a known ``f_star`` by rounding) count as 0, a non-finite value
    (divergence) as ``inf``.
    Columns: ``problem_id, optimizer_id, x, median, q25, q75, runs`` (runs with a value).
    """
    col = measure_column(x)
    ref = with_reference(runs).set_index("key")
    cols, slices = _trace_slices(traces, ("step", "fun", col))
    parts = []
    for (problem_id, optimizer_id), grp in ref.groupby(["problem_id", "optimizer_id"], sort=True):
        curves = []
        for key, f_ref in zip(grp.index, grp["f_ref"].to_numpy(float)):
            a, b = slices.get(key, (0, 0))
            if a == b:
                continue
            xs = cols[col][a:b]
            if not np.isfinite(xs).any():  # no calibration figure: not on a calibrated axis
                continue
            gap = cols["fun"][a:b] - f_ref
            curves.append((xs, np.where(np.isfinite(gap), np.maximum(gap, 0.0), np.inf)))
        if not curves:
            continue
        lo = min(c[0][0] for c in curves)
        hi = max(c[0][-1] for c in curves)
        grid = np.linspace(lo, hi, points)
        if col == "step":
            grid = np.unique(np.round(grid))
        mat = np.full((len(curves), grid.size), np.nan)
        for i, (xs, gaps) in enumerate(curves):
            idx = np.searchsorted(xs, grid, side="right") - 1
            mat[i] = np.where(idx >= 0, gaps[np.clip(idx, 0, None)], np.nan)
        q25, med, q75 = inverted_cdf_quantiles(mat, (0.25, 0.5, 0.75))
        parts.append(pd.DataFrame({"problem_id": problem_id, "optimizer_id": optimizer_id, "x": grid,
                                   "median": med, "q25": q25, "q75": q75,
                                   "runs": (~np.isnan(mat)).sum(axis=0)}))
    columns = ["problem_id", "optimizer_id", "x", "median", "q25", "q75", "runs"]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
