"""Verdicts that compare like with like (issue 13): configuration labels, experiments, rankings on
common instances, test-loss verdicts, one counting convention, fair axes, seed-noise claims."""
from __future__ import annotations

import math

import numpy as np
import pytest

import optbench
from optbench.labels import configuration_labels, format_value
from optbench.report import summary_table
from optbench.runner import RunRecord


def record(key, problem, optimizer, seed, fun, *, nfev=None, status="budget", f_star=0.0, params=None, hp=None,
           budget=None, dtype="float64", device="cpu", suite="s"):
    """A hand-made run record: ``fun`` is the trace, row ``k`` the iterate after ``k`` steps."""
    fun = np.asarray(fun, dtype=float)
    n = fun.size
    nfev = np.arange(1, n + 1) if nfev is None else np.asarray(nfev)
    trace = {"step": np.arange(n), "fun": fun, "nfev": nfev, "seconds": np.linspace(0, 1e-3 * n, n)}
    finite = fun[np.isfinite(fun)]
    return RunRecord(key=key, problem=problem, problem_params=params or {}, optimizer=optimizer,
                     hyperparameters=hp or {}, seed=seed, device=device, dtype=dtype, budget=budget or {},
                     status=status, message="", fun=float(fun[-1]), best=float(finite.min()) if finite.size else math.nan,
                     f0=float(fun[0]), f_star=f_star, steps=n - 1, nfev=int(nfev[-1]), njev=int(nfev[-1]),
                     seconds=1e-3 * n, trace=trace, suite=suite)


def store_of(tmp_path, records, name="results.sqlite"):
    store = optbench.Store(tmp_path / name)
    for r in records:
        store.add(r)
    store.close()
    return optbench.load(tmp_path / name)


# ---------------------------------------------------------------------------------------
# 3. Configurations never merge silently
# ---------------------------------------------------------------------------------------
def test_format_value_reads_like_the_issue():
    assert [format_value(v) for v in (1e-3, 0.01, 3e-4, 0.9, 1e-8, 2.0, 64, [0.9, 0.999])] == [
        "1e-3", "0.01", "3e-4", "0.9", "1e-8", "2", "64", "[0.9,0.999]"]


def test_configurations_that_differ_in_hyperparameters_budget_dtype_or_device_are_distinct_ids(tmp_path):
    ros = {"dim": 2, "start": "standard"}
    gd_default = optbench.get_optimizer("gd").resolve({})
    runs = [
        record("a", "rosenbrock", "gd", 0, [3.0, 2.0], params=ros, hp=gd_default, budget={"max_steps": 1}),
        record("b", "rosenbrock", "gd", 0, [3.0, 2.5], params=ros, hp={**gd_default, "lr": 1e-3},
               budget={"max_steps": 1}),
        record("c", "rosenbrock", "gd", 0, [3.0, 2.0], params=ros, hp=gd_default, budget={"max_steps": 1},
               dtype="float32"),
        record("d", "rosenbrock", "gd", 0, [3.0, 2.0, 1.0], params=ros, hp=gd_default, budget={"max_steps": 2}),
        record("e", "rosenbrock", "gd", 0, [3.0, 2.0], params={**ros, "dim": 10}, hp=gd_default,
               budget={"max_steps": 1}),
    ]
    results = store_of(tmp_path, runs)
    ids = set(zip(results.runs["problem_id"], results.runs["optimizer_id"]))
    assert ids == {("rosenbrock[max_steps=1]", "gd"), ("rosenbrock[max_steps=1]", "gd[lr=1e-3]"),
                   ("rosenbrock[float32]", "gd"), ("rosenbrock[max_steps=2]", "gd"), ("rosenbrock[dim=10]", "gd")}
    table = summary_table(results)  # the terminal summary: one row per configuration
    assert len(table) == 5 and set(table["runs"]) == {1}
    assert set(zip(table["problem_id"], table["optimizer_id"])) == ids


def test_labels_fall_back_to_what_varies_for_names_the_registry_does_not_know():
    import pandas as pd

    runs = pd.DataFrame({"problem": ["mine", "mine"], "problem_params": [{"n": 1}, {"n": 2}],
                         "optimizer": ["myopt", "myopt"], "hyperparameters": [{"lr": 0.5, "b": 1}, {"lr": 0.5, "b": 2}],
                         "budget": [{}, {}], "dtype": ["float64"] * 2, "device": ["cpu", "cuda:0"]})
    assert configuration_labels(runs) == (["mine[n=1]", "mine[n=2]"], ["myopt[b=1]", "myopt[b=2]"])
    runs["problem_params"] = [{"n": 1}, {"n": 1}]
    assert configuration_labels(runs)[0] == ["mine[cpu]", "mine[cuda:0]"]
