"""The calibration figure (optbench.calibration): in every run's environment, timed once per
process, and invisible to the runs' numerics."""
import math

import numpy as np
import pandas as pd
import pytest
import torch

import optbench
from optbench import calibration as cal
from optbench.environment import environment
from optbench.runner import Budget


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


def test_every_run_carries_a_positive_finite_calibration():
    rec = optbench.run("sphere", "gd", budget=Budget(max_steps=2))
    seconds = rec.environment["calibration_seconds"]
    assert isinstance(seconds, float) and math.isfinite(seconds) and seconds > 0
    assert rec.environment["calibration_workload"] == cal.WORKLOAD


def test_timed_once_per_process_and_thread_count(monkeypatch):
    calls = []

    def counting(device="cpu"):
        calls.append((device, torch.get_num_threads()))
        return [0.01] * cal.BLOCKS

    monkeypatch.setattr(cal, "block_times", counting)
    cal.calibration_seconds.cache_clear()
    threads = torch.get_num_threads()
    try:
        first = environment("cpu")["calibration_seconds"]
        assert environment(torch.device("cpu"))["calibration_seconds"] == first == pytest.approx(0.05)
        assert calls == [("cpu", threads)]
        torch.set_num_threads(threads + 1)  # another thread count is another machine speed: timed anew
        environment("cpu")
        assert calls == [("cpu", threads), ("cpu", threads + 1)]
    finally:
        torch.set_num_threads(threads)
        cal.calibration_seconds.cache_clear()  # the next caller times the real workload


def test_workload_leaves_the_global_rng_threads_and_grad_mode_alone():
    state = torch.get_rng_state()
    with torch.no_grad():
        times = cal.block_times("cpu")
        assert not torch.is_grad_enabled()
    assert len(times) == cal.BLOCKS and all(t > 0 for t in times)
    assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == 1


def _numbers(rec) -> dict:
    """Everything a record computed, not when, where or with how much memory (the process's peak):
    its trace (but the clock), counts, values."""
    skip = {"environment", "started_at", "seconds", "peak_memory", "trace", "evals"}
    out = {k: v for k, v in vars(rec).items() if k not in skip}
    out["trace"] = {k: v.tobytes() for k, v in rec.trace.items() if k != "seconds"}
    out["evals"] = {k: (s.tobytes(), v.tobytes()) for k, (s, v) in rec.evals.items()}
    return out


@pytest.mark.parametrize("problem, params, optimizer", [
    ("rosenbrock", {"start": "random", "dim": 5}, "adam"),
    ("digits-mlp", {"batch_size": 64}, "gd"),  # a minibatch stream drawn from the seed
])
def test_record_is_bitwise_the_same_with_and_without_calibration(monkeypatch, problem, params, optimizer):
    budget = Budget(max_steps=15)
    with monkeypatch.context() as m:  # no calibration at all: a fixed figure, nothing timed
        m.setattr(cal, "calibration", lambda device="cpu": {"calibration_seconds": 1.0,
                                                            "calibration_workload": "none"})
        without = optbench.run(problem, optimizer, problem_params=params, seed=3, budget=budget)
    cal.calibration_seconds.cache_clear()  # the workload now runs inside this run's environment(), first
    with_cal = optbench.run(problem, optimizer, problem_params=params, seed=3, budget=budget)
    assert with_cal.environment["calibration_workload"] == cal.WORKLOAD
    assert without.environment["calibration_workload"] == "none"
    assert _numbers(with_cal) == _numbers(without)
    assert np.array_equal(with_cal.trace["fun"], without.trace["fun"])


# --- the report: calibrated time beside raw seconds --------------------------------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two optimizers x 2 seeds on a random-start sphere (every run converges), stored; then each run's
    calibration figure is set to a known value: adam's runs 0.5 s and 0.25 s, gd's none (an older store)."""
    import json
    import sqlite3

    db = tmp_path_factory.mktemp("cal") / "cal.sqlite"
    optbench.run_suite(problems="sphere[dim=3,start=random]", optimizers="adam[lr=0.1],gd", seeds=2, max_steps=200,
                       target_gap=1e-6, db=db)
    conn = sqlite3.connect(db)
    for key, optimizer, seed, env in conn.execute("SELECT key, optimizer, seed, environment FROM runs").fetchall():
        env = json.loads(env)
        if optimizer == "adam":
            env["calibration_seconds"] = 0.5 if seed == 0 else 0.25
        else:
            del env["calibration_seconds"], env["calibration_workload"]
        conn.execute("UPDATE runs SET environment = ? WHERE key = ?", (json.dumps(env), key))
    conn.commit()
    conn.close()
    return db


def test_calibrated_time_is_seconds_over_each_runs_calibration(store):
    from optbench import metrics
    from optbench.report import summary_table

    results = optbench.load(store)
    runs, traces = metrics.with_calibrated_time(results.runs, results.traces)
    adam = runs[runs["optimizer"] == "adam"].set_index("seed")
    assert adam.loc[0, "calibrated"] == adam.loc[0, "seconds"] / 0.5
    assert adam.loc[1, "calibrated"] == adam.loc[1, "seconds"] / 0.25
    rows = traces[traces["key"] == adam.loc[1, "key"]]
    assert np.array_equal(rows["calibrated"].to_numpy(), rows["seconds"].to_numpy() / 0.25)
    table = summary_table(results).set_index("optimizer_id")
    assert table.loc["adam[lr=0.1]", "median_calibrated"] == pytest.approx(
        np.median(adam["seconds"].to_numpy() / np.array([0.5, 0.25])), rel=1e-12)
    assert math.isnan(table.loc["gd", "median_calibrated"])  # no figure: unknown, not 0 and not a guess
    assert math.isfinite(table.loc["gd", "median_seconds"])


def test_a_figure_of_another_workload_is_never_divided():
    from optbench import metrics

    runs = pd.DataFrame({"environment": [{"calibration_seconds": 0.2, "calibration_workload": cal.WORKLOAD},
                                         {"calibration_seconds": 0.2, "calibration_workload": "other-v0"},
                                         {"calibration_seconds": "nan", "calibration_workload": cal.WORKLOAD},
                                         {}, None]})
    assert metrics.calibration_figures(runs).tolist()[:1] == [0.2]
    assert metrics.calibration_figures(runs).isna().tolist() == [False, True, True, True, True]


def test_report_on_calibrated_axis_with_runs_lacking_a_figure(store):
    from optbench import metrics
    from optbench.report import build_report

    results = optbench.load(store)
    report, tables = build_report(results, x="calibrated")
    ttt = tables["time_to_target"].set_index("optimizer_id")
    adam, gd = ttt.loc["adam[lr=0.1]"], ttt.loc["gd"]
    reached = np.isfinite(adam["median_seconds"])  # the targets more than half the seeds reached
    assert reached.any() and np.isfinite(adam["median_calibrated"][reached]).all()
    assert np.isinf(adam["median_calibrated"][~reached]).all()
    assert np.isfinite(gd["median_seconds"]).any() and gd["median_calibrated"][np.isfinite(gd["median_seconds"])].isna().all()
    labels = {ax.get_xlabel() for fig in report.figures() for ax in fig.figure.axes}
    assert metrics.MEASURE_LABELS["calibrated"] in labels
    assert "calibrated time units (seconds / calibration workload) (log)" in labels  # the ECDF
    notes = " ".join(str(b) for s in report.sections if s.id == "notes" for b in s.blocks)
    assert "2 runs carry no calibration figure" in notes and "leave them out" in notes
    assert "Calibration figures of these runs: median 0.375 s, range 0.25–0.5 s" in notes
    score = " ".join(str(b) for s in report.sections if s.id == "score" for b in s.blocks)
    assert "no score on calibrated time" in score  # gd's runs have no figure: no calibrated ratios


def test_score_on_calibrated_time_when_every_run_has_a_figure(store):
    from optbench import metrics
    from optbench.report import build_report

    results = optbench.load(store)
    results = results.subset(set(results.runs.loc[results.runs["optimizer"] == "adam", "key"]))
    report, _ = build_report(results)
    table = next(b for s in report.sections if s.id == "score" for b in s.blocks).frame
    assert set(table["cost"]) == {metrics.MEASURE_LABELS[m] for m in ("nfev", "seconds", "calibrated")}
    assert not any("carry no calibration figure" in str(b) for s in report.sections if s.id == "notes"
                   for b in s.blocks)


def test_report_x_choices_include_calibrated():
    from optbench.cli import build_parser
    from optbench.errors import ConfigError
    from optbench.report import build_report

    assert build_parser().parse_args(["report", "--x", "calibrated"]).x == "calibrated"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["report", "--x", "calibration"])
    with pytest.raises(ConfigError, match="calibrated"):
        build_report(None, x="wallclock")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_a_cuda_run_is_calibrated_on_its_device(monkeypatch):
    entry = cal.calibration("cuda")  # the workload on the GPU, synchronised around each block
    assert math.isfinite(entry["calibration_seconds"]) and entry["calibration_seconds"] > 0
    index = torch.cuda.current_device()
    assert cal.calibration(torch.device("cuda", index)) == entry  # "cuda" and "cuda:N": one device, one figure
    calls = []
    monkeypatch.setattr(cal, "block_times", lambda device="cpu": calls.append(device) or [0.01] * cal.BLOCKS)
    cal.calibration_seconds.cache_clear()
    try:
        cal.calibration("cuda")
        assert calls == [f"cuda:{index}"]
    finally:
        cal.calibration_seconds.cache_clear()
