"""The regression gate: planted slowdowns and convergence regressions are caught, noise is not."""
from __future__ import annotations

import copy
import json
import shutil
import sqlite3
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import optbench
from optbench.compare import compare
from optbench.errors import ConfigError


def run_suite(path, configs, seeds=(0, 1, 2), max_steps=60):
    store = optbench.Store(path)
    for problem, params, opt, hp in configs:
        for seed in seeds:
            store.add(optbench.run(problem, opt, hyperparameters=hp, seed=seed, problem_params=params,
                                   budget=optbench.Budget(max_steps=max_steps, target_gap=1e-8)))
    store.close()
    return optbench.load(path)


CONFIGS = [("sphere", {"start": "random"}, "gd", {"lr": 0.1}),
           ("sphere", {"start": "random"}, "lbfgs", {}),
           ("rosenbrock", {}, "lbfgs", {})]


@pytest.fixture(scope="module")
def base_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cmp") / "base.sqlite"
    run_suite(path, CONFIGS)
    return path


@pytest.fixture(scope="module")
def base(base_path):
    return optbench.load(base_path)


def clone(results):
    """An in-memory copy with the frames compare() reads."""
    return SimpleNamespace(runs=results.runs.copy(deep=True), traces=results.traces.copy(deep=True))


def stored_copy(src, dst, rng, noise=0.3, slow=None, factor=3.0, cpu=None):
    """A copy of a store whose runs took 1 ms per step times U(1 - noise, 1 + noise) (the
    times measured on a loaded machine vary by more than that: the test checks the gate, not
    the machine), the runs of optimizer ``slow`` ``factor`` times slower, and (optionally)
    another CPU model recorded."""
    shutil.copy(src, dst)
    conn = sqlite3.connect(dst)
    rows = conn.execute("SELECT key, optimizer, steps, environment FROM runs").fetchall()
    for key, optimizer, steps, env in rows:
        seconds = 1e-3 * steps * rng.uniform(1 - noise, 1 + noise) * (factor if optimizer == slow else 1.0)
        env = json.loads(env)
        if cpu is not None:
            env["cpu"] = cpu
        conn.execute("UPDATE runs SET seconds = ?, environment = ? WHERE key = ?", (seconds, json.dumps(env), key))
    conn.commit()
    conn.close()
    return str(dst)


def gate(capsys, a, b) -> tuple[int, str]:
    from optbench.cli import main

    code = main(["compare", a, b])
    return code, capsys.readouterr().out


def test_identical_sets_pass(base):
    result = compare(base, base)
    assert not result.regressed
    assert set(result.table["verdict"]) == {"same"}
    assert set(result.table["convergence"]) == {"same"} and set(result.table["timing"]) == {"within noise"}
    assert (result.table["ratio_seconds_per_step"] == 1.0).all()
    assert "0 regressions" in result.format_table()


def test_timings_perturbed_by_30_percent_are_noise(base_path, tmp_path, capsys):
    """The same suite stored twice, every run's seconds times a random factor in [0.7, 1.3]."""
    rng = np.random.default_rng(0)
    a = stored_copy(base_path, tmp_path / "a.sqlite", rng)
    b = stored_copy(base_path, tmp_path / "b.sqlite", rng)
    code, out = gate(capsys, a, b)
    assert code == 0 and "0 regressions in 3 problem x optimizer pairs" in out
    assert "within noise" in out and "sd(log s/step) = " in out


def test_planted_3x_slowdown_is_named(base_path, tmp_path, capsys):
    rng = np.random.default_rng(1)
    a = stored_copy(base_path, tmp_path / "a.sqlite", rng)
    b = stored_copy(base_path, tmp_path / "b.sqlite", rng, slow="lbfgs")
    code, out = gate(capsys, a, b)
    assert code == 1, out
    table = compare(optbench.load(a), optbench.load(b)).table.set_index("optimizer_id")
    assert set(table.loc["lbfgs", "timing"]) == {"slower"} and table.loc["gd[lr=0.1]", "timing"] == "within noise"
    assert (table["convergence"] == "same").all()
    assert "2 timing regressions" in out and "2 regressions in 3" in out


def test_slowdown_on_another_machine_is_not_compared(base_path, tmp_path, capsys):
    rng = np.random.default_rng(2)
    a = stored_copy(base_path, tmp_path / "a.sqlite", rng)
    b = stored_copy(base_path, tmp_path / "b.sqlite", rng, slow="lbfgs", cpu="Another CPU 9000")
    code, out = gate(capsys, a, b)
    assert code == 0 and "0 regressions" in out
    assert out.count("not comparable: different machine") == 3


def test_changed_evaluation_count_is_a_regression(base):
    new = clone(base)
    key = new.runs.loc[(new.runs["optimizer"] == "lbfgs") & (new.runs["problem"] == "rosenbrock")
                       & (new.runs["seed"] == 1), "key"].item()
    new.traces.loc[new.traces["key"] == key, "nfev"] += 2  # two more evaluations on the way
    result = compare(base, new)
    assert result.regressed
    row = result.table.set_index(["problem_id", "optimizer_id"]).loc[("rosenbrock", "lbfgs")]
    assert row["convergence"] == "converges worse" and "seed 1: nfev@" in row["changes"]
    assert (result.table["convergence"] == "same").sum() == 2
    text = result.format_table()
    assert "1 convergence regression." in text and "seed 1: nfev@" in text


def test_gaps_are_shown_unclipped(base):
    text = compare(base, base).format_table()
    gaps = base.runs.loc[base.runs["optimizer"] == "lbfgs", "fun"].to_numpy() - 0.0
    assert any(f"{g:.3e}" in text for g in np.sort(gaps)[1:2]) and "1.000e-08" not in text


def test_planted_convergence_regression_real_runs(base, tmp_path):
    # the same configurations with a tenth of the steps: gd on the sphere stops far from x*
    new = run_suite(tmp_path / "new.sqlite", CONFIGS[:1], max_steps=6)
    result = compare(base, new)
    assert result.regressed
    t = result.table.set_index(["problem_id", "optimizer_id"])
    row = t.loc[("sphere[start=random]", "gd[lr=0.1]")]
    assert row["convergence"] == "converges worse" and "converges worse" in row["verdict"]
    assert "status converged -> budget" in row["changes"] and "final gap" in row["changes"]
    assert row["new_nfev_to_target"] == np.inf
    assert t.loc[("sphere[start=random]", "lbfgs"), "verdict"] == "only in base"  # reported, not a regression


def test_improvement_is_better_not_a_regression():
    result = compare(synthetic({"p": {"o": [1.0, 1.1, 0.9]}}), synthetic({"p": {"o": [0.5, 0.5, 0.6]}}))
    assert not result.regressed and result.table["verdict"].tolist() == ["better"]
    assert result.table["timing"].tolist() == ["faster"]


def test_change_within_the_measured_noise_is_not_flagged():
    # one of three base seeds is slow: the spread of the timings covers the 1.5x change
    base = synthetic({"p": {"o": [1.0, 1.0, 3.0]}})
    new = synthetic({"p": {"o": [1.5, 1.5, 1.5]}})
    result = compare(base, new)
    assert result.table["timing"].iloc[0] == "within noise" and not result.regressed
    # the same ratio with tight seeds is a regression
    assert compare(synthetic({"p": {"o": [1.0, 1.0, 1.0]}}), new).regressed


def test_noise_is_pooled_over_configurations():
    noisy = {"q": {"o": [1.0, 2.0, 0.5]}}
    base = synthetic({"p": {"o": [1.0, 1.0, 1.0]}, **noisy})
    new = synthetic({"p": {"o": [1.5, 1.5, 1.5]}, **noisy})
    result = compare(base, new)
    assert result.noise > 0.4 and result.table.set_index("problem_id").loc["p", "timing"] == "within noise"


def test_single_runs_give_no_timing_verdict():
    result = compare(synthetic({"p": {"o": [1.0]}}), synthetic({"p": {"o": [5.0]}}))
    assert result.table["timing"].tolist() == ["not comparable: no repeated runs"] and not result.regressed


def test_labels_are_matched_over_both_sets(base, tmp_path):
    # the new set adds a second learning rate: each id names what differs from the defaults
    new = run_suite(tmp_path / "grid.sqlite", CONFIGS[:1] + [("sphere", {"start": "random"}, "gd", {"lr": 0.2})])
    table = compare(base, new).table.set_index(["problem_id", "optimizer_id"])
    # same configuration, same seeds: identical convergence
    row = table.loc[("sphere[start=random]", "gd[lr=0.1]")]
    assert row["convergence"] == "same" and row["changes"] == ""
    assert table.loc[("sphere[start=random]", "gd[lr=0.2]"), "verdict"] == "only in new"


def test_factors_below_one_are_rejected(base):
    with pytest.raises(ConfigError, match="time_factor"):
        compare(base, base, time_factor=0.9)


def synthetic(spec: dict[str, dict[str, list[float]]]):
    """Results whose runs (one per seed) take the given seconds for 10 steps and reach f = 0."""
    runs, traces = [], []
    for problem, opts in spec.items():
        for opt, seconds in opts.items():
            for seed, s in enumerate(seconds):
                key = f"{problem}-{opt}-{seed}"
                runs.append(dict(key=key, suite="", problem=problem, problem_params={}, optimizer=opt,
                                 hyperparameters={}, seed=seed, status="converged", fun=0.0, best=0.0, f0=1.0,
                                 f_star=0.0, steps=10, nfev=11, seconds=s, environment={"cpu": "CPU"},
                                 budget={"target_gap": 1e-8}))
                traces.append(pd.DataFrame({"key": key, "step": np.arange(11), "fun": np.linspace(1, 0, 11),
                                            "nfev": np.arange(1, 12), "seconds": np.linspace(0, s, 11)}))
    return SimpleNamespace(runs=pd.DataFrame(runs), traces=pd.concat(traces, ignore_index=True))


def test_compare_does_not_modify_its_inputs(base):
    before = copy.deepcopy(base.runs)
    compare(base, base)
    pd.testing.assert_frame_equal(base.runs, before)


def test_status_change_within_its_rank_is_reported_not_failed():
    base = synthetic({"p": {"o": [1.0, 1.0, 1.0]}})
    new = synthetic({"p": {"o": [1.0, 1.0, 1.0]}})
    base.runs["status"] = "budget"
    new.runs["status"] = "stopped"  # e.g. a stall now ends the run where the budget used to
    result = compare(base, new)
    row = result.table.iloc[0]
    assert row["convergence"] == "changed" and "seed 0: status budget -> stopped" in row["changes"]
    assert not result.regressed
