r"""What the trials say: the expected best result after ``k`` trials (how easy an optimizer is to tune).

Sivaprasad et al. (2020) measure how easy an optimizer is to tune by the expected best result
of ``k`` trials drawn from its search space, against ``k``. From ``n`` observed trials with
values ``v_(1) <= ... <= v_(n)`` (lower is better; a diverged or failed trial is ``+inf``),
the best of ``k`` trials drawn **without replacement** is ``v_(i)`` exactly when the ``k``
draws include the ``i``-th smallest and ``k - 1`` of the ``n - i`` larger ones, so

.. math:: E\left[\min_{k}\right] = \sum_{i=1}^{n-k+1} v_{(i)} \binom{n-i}{k-1} \Big/ \binom{n}{k},

exact (no Monte Carlo), with ties handled by the sort (tied values share their weight). The
expectation is ``+inf`` while ``k`` draws can all be bad (``k <=`` the number of bad trials).

References: P. T. Sivaprasad, F. Mai, T. Vogels, M. Jaggi, F. Fleuret (2020), "Optimizer
Benchmarking Needs to Account for Hyperparameter Tuning", ICML. J. Dodge, S. Gururangan,
D. Card, R. Schwartz, N. A. Smith (2019), "Show Your Work: Improved Reporting of Experimental
Results", EMNLP (the same curve, with replacement).
"""
from __future__ import annotations

import math


def expected_best(values, k: int) -> float:
    """The expected minimum of ``k`` values drawn without replacement from ``values`` (module
    docstring); ``+inf`` entries are bad trials. ``1 <= k <= len(values)``."""
    v = sorted(float(x) for x in values)
    n = len(v)
    if not 1 <= k <= n:
        raise ValueError(f"k = {k} must lie in 1..{n} (the number of trials)")
    total, count = 0.0, math.comb(n, k)
    for i, value in enumerate(v[: n - k + 1], start=1):
        weight = math.comb(n - i, k - 1) / count
        if weight > 0:
            total += weight * value
    return total


def expected_best_curve(values) -> list[float]:
    """:func:`expected_best` for ``k = 1 .. len(values)``."""
    return [expected_best(values, k) for k in range(1, len(values) + 1)]


def expected_best_frame(trials):
    """One row per ``(suite, problem_id, optimizer, k)`` with ``expected_best``: the expected best
    metric of ``k`` of the optimizer's trials on the problem. ``trials`` is
    :func:`optbench.tuning.frames.sensitivity_frame` with ``metric`` (inf where a trial has no
    finite result) and ``metric_name`` columns, as the report prepares it."""
    import numpy as np
    import pandas as pd

    rows = []
    for (suite, problem, optimizer), g in trials.groupby(["suite", "problem_id", "optimizer"], sort=True):
        values = np.where(np.isfinite(g["metric"].to_numpy(float)), g["metric"].to_numpy(float), np.inf)
        for k, best in enumerate(expected_best_curve(values), start=1):
            rows.append({"suite": suite, "problem_id": problem, "optimizer": optimizer, "k": k,
                         "expected_best": best, "metric_name": g["metric_name"].iloc[0]})
    return pd.DataFrame(rows, columns=["suite", "problem_id", "optimizer", "k", "expected_best", "metric_name"])


def trial_order(trials):
    """The position of each tuning trial in its sequence (a pandas Series of ints, ``-1`` where
    unknown), recovered from the stored trials: the trials of one problem x optimizer on one
    tuning seed are the first ``n`` configurations of a nested design (:mod:`.search`), so the
    design that reproduces their configurations exactly (sobol, else random) gives their order.
    Grids, and optimizers not registered now, stay unordered. ``trials`` is
    :func:`optbench.tuning.frames.sensitivity_frame`."""
    import pandas as pd

    from ..errors import UnknownNameError
    from ..registry import get_optimizer
    from .search import trial_configs
    from .settings import canonical

    order = pd.Series(-1, index=trials.index, dtype=int)
    keys = ["suite", "problem_id", "optimizer", "seed"]
    for (_, _, optimizer, seed), g in trials.groupby(keys, sort=False):
        try:
            spec = get_optimizer(optimizer)
        except UnknownNameError:
            continue
        stored = [canonical(h) for h in g["hyperparameters"]]
        for method in ("sobol", "random"):
            configs = trial_configs(spec.search_space, spec.hyperparameters, len(g), method, int(seed), spec.name)
            position = {canonical(spec.resolve(c)): i for i, c in enumerate(configs)}
            if set(stored) == set(position):
                order[g.index] = [position[s] for s in stored]
                break
    return order


def budget_frame(trials):
    """Tuned performance against the budget, from the trials: one row per ``(suite, problem_id,
    optimizer, seed, budget)`` with ``best``, the best metric of the first ``budget`` trials of
    the tuning seed's sequence (budget 1: the registered defaults). ``trials`` as for
    :func:`expected_best_frame`; trials whose order is unknown (:func:`trial_order`) are left out."""
    import numpy as np
    import pandas as pd

    trials = trials.assign(order=trial_order(trials))
    trials = trials[trials["order"] >= 0]
    rows = []
    for (suite, problem, optimizer, seed), g in trials.groupby(["suite", "problem_id", "optimizer", "seed"]):
        values = g.sort_values("order")["metric"].to_numpy(float)
        best = np.minimum.accumulate(np.where(np.isfinite(values), values, np.inf))
        rows += [{"suite": suite, "problem_id": problem, "optimizer": optimizer, "seed": seed, "budget": b,
                  "best": v, "metric_name": g["metric_name"].iloc[0]} for b, v in enumerate(best, start=1)]
    return pd.DataFrame(rows, columns=["suite", "problem_id", "optimizer", "seed", "budget", "best", "metric_name"])
