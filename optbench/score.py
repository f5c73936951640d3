r"""One number per optimizer: the AlgoPerf benchmark score (Dahl et al. 2023).

From the Dolan–Moré performance ratios ``r_{p,s} = t_{p,s} / min_s t_{p,s}`` of the cost ``t``
(evaluations or seconds) to reach a target on each instance ``p`` (:func:`optbench.metrics.performance_ratios`;
a failure has ``r = inf``), the performance profile is ``rho_s(tau) = |{p : r_{p,s} <= tau}| / |P|``
and the score integrates it up to ``r_max``:

.. math:: B_s = \frac{1}{r_{\max} - 1} \int_1^{r_{\max}} \rho_s(\tau)\, d\tau
          = \frac{1}{|P|} \sum_{p \in P} \frac{\max(0,\ r_{\max} - r_{p,s})}{r_{\max} - 1},

exact, because ``rho_s`` is a step function: instance ``p`` counts from ``tau = r_{p,s}`` on
(``r >= 1`` always), so it contributes ``r_max - r_{p,s}`` to the integral when
``r_{p,s} <= r_max`` and nothing otherwise. ``B = 1``: fastest on every instance (ties
included: two optimizers equally fast both have ``r = 1``); ``B = 0``: never within a factor
``r_max`` of the fastest. AlgoPerf uses ``r_max = 4``.

The interval is a percentile bootstrap over the evaluation seeds (Efron & Tibshirani 1993):
the seeds are resampled with replacement, the same draw for every optimizer (the instances
``(problem, seed)`` of a drawn seed come along with their ratios), 1000 times.

Reference: G. E. Dahl, F. Schneider, Z. Nado, et al. (2023), "Benchmarking Neural Network
Training Algorithms", arXiv:2306.07179, section 4.3.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

R_MAX = 4.0


def instance_scores(ratios: pd.DataFrame, r_max: float = R_MAX) -> pd.DataFrame:
    """Each instance's share of the score: ``max(0, r_max - r) / (r_max - 1)`` per cell of an
    instances x optimizers frame of performance ratios (inf, a failure, gives 0)."""
    r = ratios.to_numpy(float)
    return pd.DataFrame(np.where(r <= r_max, (r_max - r) / (r_max - 1.0), 0.0), index=ratios.index,
                        columns=ratios.columns)


def benchmark_score(ratios: pd.DataFrame, r_max: float = R_MAX) -> pd.Series:
    """``B_s`` of every optimizer (column) from performance ratios (module docstring)."""
    return instance_scores(ratios, r_max).mean(axis=0)


def benchmark_scores(ratios: pd.DataFrame, *, r_max: float = R_MAX, resamples: int = 1000, level: float = 0.95,
                     seed: int = 0) -> pd.DataFrame:
    """``B_s`` with its percentile bootstrap interval over seeds: columns ``optimizer_id``,
    ``score``, ``low``, ``high``, ``instances``. ``ratios`` is indexed by ``(problem_id, seed)``
    (as :func:`optbench.metrics.performance_ratios` returns it)."""
    shares = instance_scores(ratios, r_max)
    seeds = np.asarray(shares.index.get_level_values("seed"))
    labels = np.unique(seeds)
    per_seed = np.stack([shares.to_numpy(float)[seeds == s].sum(axis=0) for s in labels])  # seeds x optimizers
    counts = np.array([(seeds == s).sum() for s in labels], dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(len(labels), size=(resamples, len(labels)))
    boot = per_seed[draws].sum(axis=1) / counts[draws].sum(axis=1)[:, None]
    alpha = (1.0 - level) / 2
    return pd.DataFrame({"optimizer_id": shares.columns, "score": shares.mean(axis=0).to_numpy(),
                         "low": np.quantile(boot, alpha, axis=0), "high": np.quantile(boot, 1 - alpha, axis=0),
                         "instances": len(shares)}).reset_index(drop=True)
