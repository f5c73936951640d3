"""The metric of each trial and the choice of the best trial (see :mod:`optbench.tune`)."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConfigError
from .search import edges
from .settings import BAD_STATUSES, METRICS, canonical

def last_eval(evals, metric: str = "test_loss"):
    """``key -> value`` of ``metric`` at each run's last evaluation point (a pandas Series)."""
    rows = evals[evals["metric"] == metric]
    return rows.sort_values("step").groupby("key")["value"].last()


def final_loss(runs):
    """The final objective of each run: the gap ``f - f*`` where ``f*`` is known, else ``f``."""
    import numpy as np
    import pandas as pd

    fun = pd.to_numeric(runs["fun"], errors="coerce").astype(float)
    f_star = pd.to_numeric(runs["f_star"], errors="coerce").astype(float)
    return (fun - f_star.fillna(0.0)).where(np.isfinite(fun))


def scores(runs, evals, metric: str):
    """Sort keys of runs for ``metric`` (lower is better): columns ``rank_class`` (0 good,
    1 target not reached, 2 diverged/failed/no finite metric), ``value`` and ``tiebreak``."""
    import numpy as np
    import pandas as pd

    loss = final_loss(runs)
    bad = runs["status"].isin(BAD_STATUSES).to_numpy()
    steps = pd.to_numeric(runs["steps"], errors="coerce").astype(float).to_numpy()
    tiebreak = np.zeros(len(runs))
    rank_class = np.zeros(len(runs), dtype=int)
    if metric == "final-loss":
        targets = runs["budget"].map(lambda b: (b or {}).get("target_gap")).astype(float).to_numpy()
        known = np.isfinite(pd.to_numeric(runs["f_star"], errors="coerce").astype(float).to_numpy())
        floor = np.where(known & np.isfinite(targets), targets, -np.inf)
        value = np.maximum(loss.to_numpy(), floor)
        tiebreak = steps
    elif metric == "test-loss":
        value = runs["key"].map(last_eval(evals)).astype(float).to_numpy()
    elif metric == "verdict":
        from ..metrics import verdict_metric

        value = verdict_metric(runs, evals)["value"].to_numpy(float)
    elif metric == "time-to-target":
        reached = (runs["status"] == "converged").to_numpy()
        value = np.where(reached, steps, loss.to_numpy())
        rank_class = np.where(reached, 0, 1)
    else:
        raise ConfigError(f"tuning metric {metric!r} is not one of {', '.join(METRICS)}")
    rank_class = np.where(bad | ~np.isfinite(value), 2, rank_class)
    value = np.where(rank_class == 2, np.inf, value)
    return pd.DataFrame({"key": runs["key"].to_numpy(), "rank_class": rank_class, "value": value,
                         "tiebreak": tiebreak}, index=runs.index)


@dataclass
class TunedEntry:
    """The chosen configuration of one problem x optimizer."""

    problem: str
    params: dict
    optimizer: str
    hyperparameters: dict
    metric: str
    value: float
    trials: int
    status: str = ""
    edges: dict = field(default_factory=dict)  # hyperparameter -> "low" | "high" (tuning.search.edges)
    diverged: int = 0  # trials that diverged
    failed: int = 0  # trials that failed or timed out
    study: int = 0  # which independent study (its own tuning seed) chose it


def choose(cells, results, first: int | None = None) -> list[TunedEntry]:
    """The best trial of every cell (an :class:`optbench.tune.Cell`) by its metric (ties: the earlier
    trial), with the hyperparameters on an edge of the optimizer's search space flagged and the
    diverged and the failed trials counted apart. With ``first = b``, the best of the first ``b``
    trials of each cell: the choice of a budget-``b`` tuning from the same sequence of trials.

    ``test-loss`` raises a :class:`ConfigError` when a trial that ran without fault recorded
    no test loss (a training problem without a test set).
    """
    from ..registry import get_optimizer

    runs = results.runs.set_index("key", drop=False)
    out = []
    for cell in cells:
        keys = [j.key for j in cell.jobs][:first]
        missing = [k for k in keys if k not in runs.index]
        if missing:
            raise RuntimeError(f"{len(missing)} trial(s) of {cell.problem} x {cell.optimizer} are not in the store")
        these = runs.loc[keys].reset_index(drop=True)
        s = scores(these, results.evals, cell.metric)
        if cell.metric == "test-loss":
            ran = ~these["status"].isin(BAD_STATUSES) & ~these["key"].isin(last_eval(results.evals).index)
            if ran.any():
                raise ConfigError(f"metric test-loss: {cell.problem!r} recorded no test_loss (no test set); "
                                  "use --metric final-loss")
        order = sorted(range(len(keys)), key=lambda i: (s["rank_class"][i], s["value"][i], s["tiebreak"][i], i))
        best = order[0]
        status = these["status"]
        out.append(TunedEntry(cell.problem, cell.params, cell.optimizer, cell.configs[best], cell.metric,
                              float(s["value"][best]), len(keys), str(status[best]),
                              edges(cell.configs[best], get_optimizer(cell.optimizer).search_space),
                              int((status == "diverged").sum()), int(status.isin(("failed", "timeout")).sum()),
                              getattr(cell, "study", 0)))
    return out


def median_study(entries: list[TunedEntry]) -> list[TunedEntry]:
    """One entry per problem x optimizer from the entries of several studies: the study whose
    chosen value is the median (the lower one of an even count; ties: the earlier study), as
    AlgoPerf takes the median over its studies."""
    groups: dict[tuple, list[TunedEntry]] = {}
    for e in entries:
        groups.setdefault((e.problem, canonical(e.params), e.optimizer), []).append(e)
    out = []
    for studies in groups.values():
        ranked = sorted(studies, key=lambda e: (e.value, e.study))
        out.append(ranked[(len(ranked) - 1) // 2])
    return out

