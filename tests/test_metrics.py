"""Metrics on hand-computed examples, plus consistency with real runs."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optbench
from optbench import metrics as M

INF = math.inf


def runs_frame(rows):
    """Runs with the columns metrics need; each row: key, problem_id, optimizer_id, seed,
    f_star, fun, best (nfev/steps/seconds optional)."""
    df = pd.DataFrame(rows)
    for col, default in (("nfev", 0), ("steps", 0), ("seconds", 0.0)):
        if col not in df:
            df[col] = default
    return df


def trace_frame(key, fun, nfev=None, seconds=None):
    fun = np.asarray(fun, dtype=float)
    n = fun.size
    return pd.DataFrame({"key": key, "step": np.arange(n), "fun": fun,
                         "nfev": np.arange(1, n + 1) if nfev is None else nfev,
                         "seconds": np.linspace(0.0, 0.1 * (n - 1), n) if seconds is None else seconds})


# -- reference and gaps ----------------------------------------------------------------
def test_reference_uses_f_star_when_known_else_best_of_the_same_problem_and_seed():
    runs = runs_frame([
        dict(key="a", problem_id="known", optimizer_id="o1", seed=0, f_star=1.0, fun=3.0, best=2.0),
        dict(key="b", problem_id="net", optimizer_id="o1", seed=0, f_star=None, fun=5.0, best=4.0),
        dict(key="c", problem_id="net", optimizer_id="o2", seed=0, f_star=None, fun=2.5, best=2.5),
        dict(key="d", problem_id="net", optimizer_id="o1", seed=1, f_star=None, fun=7.0, best=7.0),
        dict(key="e", problem_id="net", optimizer_id="o2", seed=1, f_star=None, fun=math.nan, best=math.nan),
    ])
    ref = M.with_reference(runs).set_index("key")
    assert ref.loc["a", ["f_ref", "reference", "final_gap"]].tolist() == [1.0, "f_star", 2.0]
    assert ref.loc["b", "f_ref"] == 2.5 and ref.loc["b", "final_gap"] == 2.5  # best of seed 0 is o2's
    assert ref.loc["c", "final_gap"] == 0.0
    assert ref.loc["d", "f_ref"] == 7.0  # seed 1 is its own instance
    assert ref.loc["e", "final_gap"] == INF  # a run with no finite value reached nothing
    assert set(ref.loc[["b", "c", "d", "e"], "reference"]) == {"best_observed"}


def test_diverged_and_failed_runs_have_infinite_final_gap_whatever_value_they_left():
    runs = runs_frame([
        dict(key=k, problem_id="p", optimizer_id="o", seed=0, f_star=0.0, fun=f, best=1.0, status=st)
        for k, f, st in (("ok", 1.0, "budget"), ("blowup", 1e30, "diverged"), ("crash", 2.0, "failed"))
    ])
    assert M.with_reference(runs)["final_gap"].tolist() == [1.0, INF, INF]


def test_seconds_per_step_is_nan_without_steps():
    runs = pd.DataFrame({"seconds": [1.0, 2.0], "steps": [4, 0]})
    out = M.seconds_per_step(runs)
    assert out.iloc[0] == 0.25 and np.isnan(out.iloc[1])


# -- first hitting times ----------------------------------------------------------------
def test_hitting_times_hand_example_non_monotone_trace():
    # f: 10, 4, 5, 0.5, 0.05 with f* = 0; nfev 1, 3, 4, 7, 8 (a line search in step 2)
    runs = runs_frame([dict(key="r", problem_id="p", optimizer_id="o", seed=0, f_star=0.0, fun=0.05, best=0.05)])
    traces = trace_frame("r", [10, 4, 5, 0.5, 0.05], nfev=[1, 3, 4, 7, 8], seconds=[0, 0.1, 0.2, 0.3, 0.4])
    h = M.hitting_times(runs, traces, gaps=(1.0, 0.1, 0.01), taus=(0.5, 0.01))
    gap = h[h.kind == "gap"].set_index("target")
    assert gap.loc[1.0, ["step", "nfev", "seconds"]].tolist() == [3, 7, 0.3]
    assert gap.loc[0.1, ["step", "nfev"]].tolist() == [4, 8]
    assert not gap.loc[0.01, "hit"] and gap.loc[0.01, "nfev"] == INF and gap.loc[0.01, "step"] == INF
    red = h[h.kind == "reduction"].set_index("target")
    # Moré-Wild: f <= f_L + tau (f0 - f_L) = 5 for tau = 0.5 -> first at step 1 (f = 4)
    assert red.loc[0.5, "threshold"] == 5.0 and red.loc[0.5, "step"] == 1
    # tau = 0.01 -> threshold 0.1 -> step 4
    assert red.loc[0.01, "threshold"] == pytest.approx(0.1) and red.loc[0.01, "nfev"] == 8


def test_hitting_times_runs_without_trace_or_finite_start_never_hit():
    runs = runs_frame([
        dict(key="failed", problem_id="p", optimizer_id="o", seed=0, f_star=0.0, fun=math.nan, best=math.nan),
        dict(key="nan0", problem_id="p", optimizer_id="o", seed=1, f_star=0.0, fun=1.0, best=1.0),
    ])
    traces = trace_frame("nan0", [math.nan, 1.0])
    h = M.hitting_times(runs, traces, gaps=(10.0,), taus=(0.5,))
    assert h.set_index(["key", "kind"]).loc[("failed", "gap"), "hit"] == False  # noqa: E712
    assert h.set_index(["key", "kind"]).loc[("nan0", "gap"), "step"] == 1  # NaN is not a hit; 1 <= 10 is
    assert h.set_index(["key", "kind"]).loc[("nan0", "reduction"), "nfev"] == INF  # no finite f(x0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.floats(-5, 5), st.just(math.nan)), min_size=1, max_size=25),
       st.lists(st.floats(-6, 6), min_size=1, max_size=6))
def test_first_hits_matches_brute_force(fun, thresholds):
    fun, thresholds = np.array(fun), np.array(thresholds)
    expected = [next((j for j, v in enumerate(fun) if v <= c), -1) for c in thresholds]
    assert M.first_hits(fun, thresholds).tolist() == expected


def test_success_rate_and_time_to_target_with_coco_art():
    runs = runs_frame([
        dict(key=k, problem_id="p", optimizer_id="o", seed=i, f_star=0.0, fun=f, best=f, nfev=n)
        for i, (k, f, n) in enumerate([("a", 0.0, 10), ("b", 0.0, 20), ("c", 1.0, 100)])
    ])
    traces = pd.concat([
        trace_frame("a", [5.0] * 9 + [0.0]),   # reaches gap 0.5 at nfev 10
        trace_frame("b", [5.0] * 19 + [0.0]),  # ... at nfev 20
        trace_frame("c", [5.0] * 99 + [1.0]),  # never; spends 100 evaluations
    ])
    h = M.hitting_times(runs, traces, gaps=(0.5,), taus=())
    sr = M.success_rate(h)
    assert sr[["runs", "successes"]].iloc[0].tolist() == [3, 2]
    assert sr["success_rate"].iloc[0] == pytest.approx(2 / 3)
    ttt = M.time_to_target(h, runs).iloc[0]
    assert ttt["median_nfev"] == 20  # median of 10, 20, inf
    assert ttt["aRT_nfev"] == pytest.approx((10 + 20 + 100) / 2)  # Price 1997 / COCO aRT


# -- profiles and ECDFs -----------------------------------------------------------------
def hits_from_costs(costs: dict[str, list[float]], kind="reduction", target=1e-3, problem_ids=None):
    """A hitting-times frame: optimizer -> nfev per instance (inf = failed)."""
    rows = []
    for opt, values in costs.items():
        for i, v in enumerate(values):
            pid = problem_ids[i] if problem_ids else f"p{i}"
            rows.append(dict(key=f"{opt}{i}", problem_id=pid, optimizer_id=opt, seed=0, kind=kind, target=target,
                             threshold=0.0, hit=np.isfinite(v), step=v, nfev=v, seconds=v))
    return pd.DataFrame(rows)


def test_performance_ratios_and_profile_hand_example():
    hits = hits_from_costs({"A": [10, 20, INF], "B": [20, 10, 30]})
    ratios = M.performance_ratios(hits, target=1e-3)
    assert ratios["A"].tolist() == [1.0, 2.0, INF]
    assert ratios["B"].tolist() == [2.0, 1.0, 1.0]
    prof = M.performance_profile(hits, target=1e-3).set_index(["optimizer_id", "tau"])["rho"]
    assert prof[("A", 1.0)] == pytest.approx(1 / 3) and prof[("A", 2.0)] == pytest.approx(2 / 3)
    assert prof[("B", 1.0)] == pytest.approx(2 / 3) and prof[("B", 2.0)] == 1.0


def test_performance_ratio_of_an_instance_nobody_solved_is_inf_and_missing_runs_fail():
    hits = hits_from_costs({"A": [INF, 5], "B": [INF, 10]})
    hits = hits[~((hits.optimizer_id == "B") & (hits.problem_id == "p1"))]  # B never ran p1
    ratios = M.performance_ratios(hits, target=1e-3)
    assert ratios.loc[("p0", 0)].tolist() == [INF, INF]
    assert ratios.loc[("p1", 0)].tolist() == [1.0, INF]


def test_performance_ratios_divide_steps_as_counted():
    hits = hits_from_costs({"A": [0, 3], "B": [0, 1]})
    ratios = M.performance_ratios(hits, target=1e-3, measure="step")
    assert ratios["A"].tolist() == [1.0, 3.0]  # met at the start by both: 1; 3 steps against 1: 3
    assert ratios["B"].tolist() == [1.0, 1.0]


def test_data_profile_in_simplex_gradients():
    hits = hits_from_costs({"A": [6, 9, INF], "B": [3, 30, 12]}, problem_ids=["p2d", "p5d", "p2d_b"])
    dims = {"p2d": 2, "p5d": 5, "p2d_b": 2}
    prof = M.data_profile(hits, dims, tau=1e-3).set_index(["optimizer_id", "alpha"])["d"]
    # A: 6/3 = 2, 9/6 = 1.5, inf; B: 3/3 = 1, 30/6 = 5, 12/3 = 4
    assert prof[("A", 1.5)] == pytest.approx(1 / 3) and prof[("A", 2.0)] == pytest.approx(2 / 3)
    assert prof[("A", 5.0)] == pytest.approx(2 / 3)
    assert prof[("B", 0.0)] == 0.0 and prof[("B", 1.0)] == pytest.approx(1 / 3) and prof[("B", 5.0)] == 1.0


def test_data_profile_leaves_out_unknown_dimensions():
    hits = hits_from_costs({"A": [2, 2]}, problem_ids=["known", "unknown"])
    prof = M.data_profile(hits, {"known": 1, "unknown": math.nan})
    assert prof["d"].max() == 1.0  # one instance left, solved


def test_problem_dims_from_columns_x_or_params():
    runs = pd.DataFrame({"problem_id": ["a", "b", "c", "d"], "x": [[1.0, 2.0, 3.0], None, None, None],
                         "problem_params": [{}, {"dim": 7}, {}, {}], "dim": [None, None, 11, None]})
    dims = M.problem_dims(runs)
    assert dims["a"] == 3 and dims["b"] == 7 and dims["c"] == 11 and math.isnan(dims["d"])


def test_runtime_ecdf_over_instance_target_pairs():
    rows = []
    for target, costs in ((1e-1, {"A": 1, "B": 4}), (1e-2, {"A": 2, "B": INF})):
        for opt, c in costs.items():
            rows.append(dict(key=opt, problem_id="p", optimizer_id=opt, seed=0, kind="gap", target=target,
                             threshold=0.0, hit=np.isfinite(c), step=c, nfev=c, seconds=c))
    ecdf = M.runtime_ecdf(pd.DataFrame(rows)).set_index(["optimizer_id", "runtime"])["fraction"]
    assert ecdf[("A", 1.0)] == 0.5 and ecdf[("A", 2.0)] == 1.0
    assert ecdf[("B", 2.0)] == 0.0 and ecdf[("B", 4.0)] == 0.5  # the unsolved pair never counts


def test_budget_spent_is_the_largest_cost_per_optimizer():
    runs = pd.DataFrame({"optimizer_id": ["A", "A", "B"], "nfev": [10, 30, 5], "steps": [9, 29, 4]})
    assert M.budget_spent(runs, "nfev").to_dict() == {"A": 30.0, "B": 5.0}
    assert M.budget_spent(runs, "step").to_dict() == {"A": 29.0, "B": 4.0}  # the steps, as counted everywhere


# -- ranks -------------------------------------------------------------------------------
def rank_runs(gaps: dict[str, list[float]], problem="p"):
    rows = []
    for opt, values in gaps.items():
        for seed, g in enumerate(values):
            rows.append(dict(key=f"{problem}-{opt}-{seed}", problem_id=problem, optimizer_id=opt, seed=seed,
                             f_star=0.0, fun=g, best=g))
    runs = runs_frame(rows)
    traces = pd.concat([trace_frame(r.key, [10.0, r.fun], nfev=[1, 5 if "fast" in r.optimizer_id else 9])
                        for r in runs.itertuples()])
    return runs, traces


def test_ranks_clear_winner_has_degenerate_interval():
    runs, traces = rank_runs({"A": [1e-3, 2e-3, 3e-3], "B": [1.0, 2.0, 3.0]})
    r = M.ranks(runs, traces, resamples=200)
    pp = r.per_problem.set_index("optimizer_id")
    assert pp.loc["A", ["rank", "rank_low", "rank_high"]].tolist() == [1.0, 1.0, 1.0]
    assert pp.loc["B", ["rank", "rank_low", "rank_high"]].tolist() == [2.0, 2.0, 2.0]
    assert r.overall["optimizer_id"].tolist() == ["A", "B"]
    assert r.sentence("A") == "A ranks 1.00 [1.00, 1.00]"


def test_ranks_below_floor_tie_then_order_by_evaluations():
    runs, traces = rank_runs({"fast": [1e-12, 1e-10, 1e-11], "slow": [1e-14, 1e-13, 1e-15], "bad": [1, 1, 1]})
    pp = M.ranks(runs, traces, floor=1e-8, resamples=100).per_problem.set_index("optimizer_id")["rank"]
    assert pp.to_dict() == {"bad": 3.0, "fast": 1.0, "slow": 2.0}


def test_ranks_exact_ties_share_the_average_rank():
    runs, traces = rank_runs({"A": [1.0, 1.0], "B": [1.0, 1.0], "C": [5.0, 5.0]})
    pp = M.ranks(runs, traces, resamples=50).per_problem.set_index("optimizer_id")["rank"]
    assert pp.to_dict() == {"A": 1.5, "B": 1.5, "C": 3.0}


def test_ranks_bootstrap_interval_reflects_seed_noise_and_is_seeded():
    # A beats B on seeds 0 and 1, loses on seed 2: a resample of mostly seed 2 flips the order
    runs, traces = rank_runs({"A": [1.0, 1.0, 9.0], "B": [2.0, 2.0, 2.0]})
    r1 = M.ranks(runs, traces, resamples=500, seed=3)
    r2 = M.ranks(runs, traces, resamples=500, seed=3)
    pp = r1.per_problem.set_index("optimizer_id")
    assert pp.loc["A", ["rank", "rank_low", "rank_high"]].tolist() == [1.0, 1.0, 2.0]
    pd.testing.assert_frame_equal(r1.per_problem, r2.per_problem)
    pd.testing.assert_frame_equal(r1.overall, r2.overall)


def test_overall_rank_is_the_mean_over_problems():
    a_runs, a_tr = rank_runs({"A": [1.0, 1.0], "B": [2.0, 2.0]}, problem="p1")
    b_runs, b_tr = rank_runs({"A": [3.0, 3.0], "B": [2.0, 2.0]}, problem="p2")
    r = M.ranks(pd.concat([a_runs, b_runs]), pd.concat([a_tr, b_tr]), resamples=50)
    ov = r.overall.set_index("optimizer_id")
    assert ov.loc["A", "mean_rank"] == 1.5 and ov.loc["B", "mean_rank"] == 1.5
    assert ov.loc["A", "problems"] == 2


# -- convergence bands -------------------------------------------------------------------
def test_convergence_bands_forward_fill_and_empirical_quantiles():
    runs = runs_frame([
        dict(key="s0", problem_id="p", optimizer_id="o", seed=0, f_star=0.0, fun=1.0, best=1.0),
        dict(key="s1", problem_id="p", optimizer_id="o", seed=1, f_star=0.0, fun=0.0, best=0.0),
        dict(key="s2", problem_id="p", optimizer_id="o", seed=2, f_star=0.0, fun=math.inf, best=10.0),
    ])
    traces = pd.concat([trace_frame("s0", [4.0, 2.0, 1.0]), trace_frame("s1", [8.0, 0.0]),
                        trace_frame("s2", [10.0, math.inf])])
    b = M.convergence_bands(runs, traces, x="steps").set_index("x")
    assert b.index.tolist() == [0.0, 1.0, 2.0]
    assert b.loc[0.0, ["q25", "median", "q75"]].tolist() == [4.0, 8.0, 10.0]
    # step 1: 2, 0, inf; step 2: 1, 0 (kept), inf (kept)
    assert b.loc[1.0, ["q25", "median", "q75"]].tolist() == [0.0, 2.0, INF]
    assert b.loc[2.0, ["q25", "median", "q75"]].tolist() == [0.0, 1.0, INF]
    assert b["runs"].tolist() == [3, 3, 3]


def test_convergence_bands_on_evaluations_use_the_last_known_value():
    runs = runs_frame([dict(key="a", problem_id="p", optimizer_id="o", seed=0, f_star=0.0, fun=1.0, best=1.0)])
    traces = trace_frame("a", [4.0, 1.0], nfev=[1, 10])
    b = M.convergence_bands(runs, traces, x="evals", points=10)
    assert b["x"].iloc[0] == 1.0 and b["x"].iloc[-1] == 10.0
    assert (b["median"].iloc[:-1] == 4.0).all() and b["median"].iloc[-1] == 1.0


def test_measure_column_rejects_unknown_names():
    assert M.measure_column("evals") == "nfev"
    with pytest.raises(ValueError, match="steps, evals, seconds"):
        M.measure_column("walltime")


# -- consistency with real runs ----------------------------------------------------------
@pytest.fixture(scope="module")
def real_results(tmp_path_factory):
    path = tmp_path_factory.mktemp("metrics") / "r.sqlite"
    store = optbench.Store(path)
    budget = optbench.Budget(max_steps=60, target_gap=1e-8)
    for opt, hp in (("lbfgs", {}), ("gd", {"lr": 0.1})):
        for seed in (0, 1):
            store.add(optbench.run("sphere", opt, hyperparameters=hp, seed=seed, budget=budget,
                                   problem_params={"start": "random"}))
    store.close()
    return optbench.load(path)


def test_hitting_times_agree_with_the_runner_on_converged_runs(real_results):
    runs, traces = real_results.runs, real_results.traces
    h = M.hitting_times(runs, traces, gaps=(1e-8,), taus=()).set_index("key")
    for run in runs.itertuples():
        if run.status == "converged":  # the runner stopped at the first iterate with gap <= 1e-8
            assert h.loc[run.key, "step"] == run.steps and h.loc[run.key, "nfev"] == run.nfev


def test_ranks_on_real_runs_put_lbfgs_first(real_results):
    r = M.ranks(real_results.runs, real_results.traces, resamples=100)
    assert r.overall["optimizer_id"].iloc[0] == "lbfgs"
