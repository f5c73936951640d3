"""The AlgoPerf benchmark score: the exact step-function integral, against a hand-computed case."""
import numpy as np
import pandas as pd
import pytest

from optbench import metrics
from optbench.score import benchmark_score, benchmark_scores

INF = np.inf
# cost (evaluations) to the target per instance (problem, seed) and optimizer; inf = failed
COSTS = {("p1", 0): {"A": 10, "B": 10, "C": 40},   # A and B tie: both ratio 1; C ratio 4 = r_max
         ("p1", 1): {"A": 20, "B": INF, "C": 30},  # B fails
         ("p2", 0): {"A": INF, "B": 5, "C": 15},   # A fails; C ratio 3
         ("p2", 1): {"A": 50, "B": 25, "C": INF}}  # A ratio 2; C fails


def hits() -> pd.DataFrame:
    rows = [{"key": f"{p}{s}{o}", "problem_id": p, "seed": s, "optimizer_id": o, "kind": "reduction",
             "target": 1e-3, "hit": np.isfinite(c), "nfev": float(c), "step": float(c), "seconds": float(c)}
            for (p, s), costs in COSTS.items() for o, c in costs.items()]
    return pd.DataFrame(rows)


def test_score_is_the_exact_integral_of_the_profile_with_ties_and_failures():
    r"""By hand, r_max = 4, each instance adds (4 - r)/3 when r <= 4:

    A: ratios 1, 1, inf, 2  -> (1 + 1 + 0 + 2/3) / 4 = 2/3
    B: ratios 1, inf, 1, 1  -> (1 + 0 + 1 + 1) / 4   = 3/4
    C: ratios 4, 1.5, 3, inf -> (0 + 5/6 + 1/3 + 0) / 4 = 7/24
    """
    ratios = metrics.performance_ratios(hits(), kind="reduction", target=1e-3, measure="nfev")
    score = benchmark_score(ratios)
    assert score.to_dict() == pytest.approx({"A": 2 / 3, "B": 3 / 4, "C": 7 / 24}, abs=1e-15)
    # the same as integrating the profile's step function on a very fine grid (a coarse grid is not exact)
    tau = np.linspace(1, 4, 300_001)
    rho = {o: (ratios[o].to_numpy()[None, :] <= tau[:, None]).mean(axis=1) for o in ratios.columns}
    assert {o: np.trapezoid(r, tau) / 3 for o, r in rho.items()} == pytest.approx(score.to_dict(), abs=1e-4)


def test_bootstrap_interval_resamples_seeds_paired_across_optimizers():
    ratios = metrics.performance_ratios(hits(), kind="reduction", target=1e-3, measure="nfev")
    table = benchmark_scores(ratios).set_index("optimizer_id")
    assert table.loc["A", "score"] == pytest.approx(2 / 3) and (table["instances"] == 4).all()
    # A per seed: seed 0 -> (1 + 0)/2 = 1/2, seed 1 -> (1 + 2/3)/2 = 5/6; both seeds drawn twice are the ends
    assert table.loc["A", "low"] == pytest.approx(1 / 2) and table.loc["A", "high"] == pytest.approx(5 / 6)
    assert (table["low"] <= table["score"]).all() and (table["score"] <= table["high"]).all()
    assert benchmark_scores(ratios).equals(benchmark_scores(ratios))  # seeded
