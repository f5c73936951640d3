"""No host synchronisation per step: the hot loop reads the device only at check points.

On the CPU the reads are counted by wrapping the ``torch.Tensor`` methods that would move a
value from a device to the host (``item``, ``cpu``, ``tolist``, ``to("cpu")``, ``__bool__``,
``__float__``, ...; ``numpy()`` is not one: it refuses device tensors): a run of 400 steps
must make no more reads than a run of 40 steps, plus at most one per extra check point
(every ``CHECK_EVERY`` steps). With CUDA, ``torch.cuda.set_sync_debug_mode`` counts the
synchronising operations themselves.
"""
import math
import sys
import warnings
from collections import Counter
from pathlib import Path

import pytest
import torch

import optbench
from optbench import Budget, runner
from optbench.batched import run_batched
from optbench.suite import Suite, parse_selections

HOST_READS = ("item", "cpu", "tolist", "to", "__bool__", "__float__", "__int__", "__index__", "__complex__")
ENGINE = str(Path(optbench.__file__).resolve().parent)


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py


@pytest.fixture
def reads(monkeypatch):
    """Count host reads of tensors: ``counts["optbench"]`` from the engine's own code,
    ``counts["all"]`` from anywhere (torch.optim included)."""
    counts = Counter()
    for name in HOST_READS:
        original = getattr(torch.Tensor, name)

        def counting(self, *args, _original=original, _name=name, **kwargs):
            if _name != "to" or _to_host(*args, **kwargs):
                counts["all"] += 1
                if sys._getframe(1).f_code.co_filename.startswith(ENGINE):
                    counts["optbench"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counting)
    return counts


def _to_host(*args, **kwargs) -> bool:
    return any(str(a) == "cpu" for a in (*args, kwargs.get("device")) if isinstance(a, (str, torch.device)))


def serial(problem, optimizer, steps, hp=None, params=None):
    return lambda: optbench.run(problem, optimizer, hyperparameters=hp, problem_params=params,
                                budget=Budget(max_steps=steps), device="cpu")


def batched(problem, optimizer, steps, hp=None, params=None):
    jobs = Suite("t", parse_selections([problem]), parse_selections([optimizer]), seeds=[0, 1, 2],
                 budget={"max_steps": steps}, device="cpu").jobs()
    return lambda: run_batched(jobs)


RUNS = {
    "adam-rosenbrock": (serial, "rosenbrock", "adam", {"lr": 1e-3}, None),
    "gd-rosenbrock": (serial, "rosenbrock", "gd", {"lr": 1e-4}, None),
    "momentum-mlp": (serial, "mlp-mixture", "momentum", {"lr": 1e-2}, {"samples": 64, "width": 8}),
    "batched-adam": (batched, "rosenbrock[start=random]", "adam", None, None),
}


def count(reads, steps, who, make, problem, optimizer, hp=None, params=None):
    make(problem, optimizer, 3, hp, params)()  # warm-up: lazy initialisation reads once
    reads.clear()
    rec = make(problem, optimizer, steps, hp, params)()
    recs = rec if isinstance(rec, list) else [rec]
    assert all(r.status == "budget" and r.steps == steps for r in recs), [r.message for r in recs]
    return reads[who]


@pytest.mark.parametrize("name", list(RUNS))
def test_no_host_read_per_step_between_check_points(reads, monkeypatch, name):
    monkeypatch.setattr(runner, "CHECK_EVERY", 10**9)  # only the final check
    short = count(reads, 40, "optbench", *RUNS[name])
    long = count(reads, 400, "optbench", *RUNS[name])
    rows = 3 if RUNS[name][0] is batched else 1  # each record's end (its status, spectrum) reads a few values
    assert long == short and short < 20 * rows


@pytest.mark.parametrize("name", list(RUNS))
def test_at_most_one_host_read_per_check_point(reads, monkeypatch, name):
    monkeypatch.setattr(runner, "CHECK_EVERY", 8)
    short = count(reads, 40, "optbench", *RUNS[name])
    long = count(reads, 400, "optbench", *RUNS[name])
    assert 0 < long - short <= 400 // 8 - 40 // 8


def test_plain_gradient_descent_reads_nothing_anywhere_per_step(reads, monkeypatch):
    """With torch.optim.SGD nothing at all (torch included) reads the host per step.

    (torch.optim.Adam calls ``.item()`` on its step counter, which lives on the CPU even for
    CUDA parameters: not a device synchronisation, but a host read the counter sees.)
    """
    monkeypatch.setattr(runner, "CHECK_EVERY", 10**9)
    short = count(reads, 40, "all", serial, "rosenbrock", "gd", {"lr": 1e-4})
    long = count(reads, 400, "all", serial, "rosenbrock", "gd", {"lr": 1e-4})
    assert long == short


def test_the_counter_sees_a_read_per_step(reads, monkeypatch):
    """The fixture is not blind: an objective that calls ``float()`` each step is caught."""

    @optbench.register_problem("test-no-sync-reading", tags=("test",))
    class Reading(optbench.AnalyticProblem):
        """A sphere that reads its value on the host (what the harness must never do)."""

        f_star = 0.0

        def f(self, x):
            value = x.square().sum(-1)
            math.isfinite(float(value.detach()))
            return value

    monkeypatch.setattr(runner, "CHECK_EVERY", 10**9)
    short = count(reads, 40, "all", serial, "test-no-sync-reading", "gd", {"lr": 1e-3})
    long = count(reads, 400, "all", serial, "test-no-sync-reading", "gd", {"lr": 1e-3})
    assert long - short == 360


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def synchronisations(run) -> int:
    """CUDA synchronising operations during ``run()``, counted by torch's sync debug mode."""
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            run()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


@cuda
@pytest.mark.cuda
@pytest.mark.parametrize("problem,optimizer", [("rosenbrock", "adam"), ("rosenbrock", "momentum"),
                                               ("mlp-mixture", "adam")])
def test_cuda_run_synchronises_only_at_check_points(monkeypatch, problem, optimizer):
    def go(steps):
        return lambda: optbench.run(problem, optimizer, budget=Budget(max_steps=steps), device="cuda")

    go(3)()
    monkeypatch.setattr(runner, "CHECK_EVERY", 10**9)
    assert synchronisations(go(1000)) == synchronisations(go(100))
    monkeypatch.setattr(runner, "CHECK_EVERY", 32)
    short, long = synchronisations(go(100)), synchronisations(go(1000))
    assert long - short <= 2 * (1000 // 32 - 100 // 32)  # a read and a timing anchor per check point


@cuda
@pytest.mark.cuda
def test_cuda_batched_run_synchronises_only_at_check_points(monkeypatch):
    def go(steps):
        jobs = Suite("t", parse_selections(["rosenbrock[start=random]"]), parse_selections(["adam"]),
                     seeds=[0, 1, 2], budget={"max_steps": steps}, device="cuda").jobs()
        return lambda: run_batched(jobs)

    go(3)()
    monkeypatch.setattr(runner, "CHECK_EVERY", 10**9)
    assert synchronisations(go(1000)) == synchronisations(go(100))


@cuda
@pytest.mark.cuda
def test_cuda_peak_memory_is_torch_max_memory_allocated():
    device = torch.device("cuda")
    base = torch.cuda.memory_allocated(device)
    torch.empty(64 << 20, dtype=torch.uint8, device=device)  # a peak from before the run must not count
    rec = optbench.run("rosenbrock", "adam", budget=Budget(max_steps=200), device="cuda")
    assert rec.status == "budget"
    assert rec.peak_memory == torch.cuda.max_memory_allocated(device)
    assert base < rec.peak_memory < base + (64 << 20)
