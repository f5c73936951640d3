"""Tidy exports: one column per hyperparameter, problem parameter and budget field, no JSON in
cells, ids on every table, and no empty files."""
from __future__ import annotations

import pandas as pd
import pytest

import optbench
from optbench.cli import main


def _no_json_cells(frame: pd.DataFrame) -> bool:
    text = frame.select_dtypes(exclude="number").astype(str)
    return not text.apply(lambda col: col.str.startswith(("{", "["))).any().any()


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "r.sqlite"
    with optbench.Store(path) as store:
        for lr in (0.01, 0.1):
            store.add(optbench.run("quadratic", "gd", hyperparameters={"lr": lr}, problem_params={"dim": 3},
                                   budget=optbench.Budget(max_steps=4)))
    return path


def test_csv_export_is_tidy_and_skips_empty_tables(store_path, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--db", str(store_path), "-o", "out"]) == 0
    out = capsys.readouterr().out
    assert "not written (no rows): evals" in out
    assert not (tmp_path / "out" / "evals.csv").exists()
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert sorted(runs["hp.lr"]) == [0.01, 0.1]
    assert set(runs["problem.dim"]) == {3} and set(runs["budget.max_steps"]) == {4}
    assert "hyperparameters" not in runs and "x" not in runs and _no_json_cells(runs)
    assert set(runs["optimizer_id"]) == {"gd", "gd[lr=0.1]"}  # ids name what differs from gd's defaults
    traces = pd.read_csv(tmp_path / "out" / "traces.csv")
    assert {"problem_id", "optimizer_id"} <= set(traces.columns) and len(traces) == 10
    final_x = pd.read_csv(tmp_path / "out" / "final_x.csv")
    assert len(final_x) == 6 and set(final_x["coordinate"]) == {0, 1, 2}


def test_evals_carry_problem_and_optimizer_ids(tmp_path):
    path = tmp_path / "r.sqlite"
    net = {"samples": 32, "features": 3, "classes": 2, "width": 4, "depth": 1}
    with optbench.Store(path) as store:
        store.add(optbench.run("mlp-mixture", "adam", problem_params=net,
                               budget=optbench.Budget(max_steps=4, eval_every=2)))
    evals = optbench.load(path).evals
    ids = optbench.load(path).runs[["problem_id", "optimizer_id"]].drop_duplicates()
    assert len(evals) and set(evals["problem_id"]) == set(ids["problem_id"]) and set(evals["optimizer_id"]) == {"adam"}
    assert main(["export", "--db", str(path), "-o", str(tmp_path / "out")]) == 0
    exported = pd.read_csv(tmp_path / "out" / "evals.csv")
    assert {"problem_id", "optimizer_id", "metric", "step", "value"} <= set(exported.columns)


def test_flatten_spreads_lists_and_dicts():
    from optbench.export import flatten

    assert flatten({"betas": (0.9, 0.99), "opt": {"a": 1}}, "hp") == {"hp.betas.0": 0.9, "hp.betas.1": 0.99,
                                                                      "hp.opt.a": 1}
