"""The calibration figure (optbench.calibration): in every run's environment, timed once per
process, and invisible to the runs' numerics."""
import math

import numpy as np
import pytest
import torch

import optbench
from optbench import calibration as cal
from optbench.environment import environment
from optbench.runner import Budget


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
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # cheap on a loaded machine
    try:
        state = torch.get_rng_state()
        with torch.no_grad():
            times = cal.block_times("cpu")
            assert not torch.is_grad_enabled()
        assert len(times) == cal.BLOCKS and all(t > 0 for t in times)
        assert torch.equal(torch.get_rng_state(), state) and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(threads)


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
