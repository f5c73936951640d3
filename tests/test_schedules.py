"""Learning-rate schedules: torch.optim.lr_scheduler compositions over the run budget's horizon."""
import math

import numpy as np
import pytest
import torch

import optbench
from optbench.batched import run_batched
from optbench.errors import ConfigError
from optbench.runner import Budget
from optbench.schedules import SCHEDULES
from optbench.suite import Suite, parse_selections


def learning_rates(schedule: str, horizon: int, lr: float = 0.5) -> list[float]:
    """The learning rate of each of ``horizon`` steps of adam with ``schedule``."""
    spec = optbench.get_optimizer("adam")
    x = torch.zeros(2, requires_grad=True)
    opt = spec.factory([x], **{**spec.hyperparameters, "lr": lr, "schedule": schedule}, horizon=horizon)
    seen = []
    for _ in range(horizon):
        seen.append(opt.param_groups[0]["lr"])

        def closure():
            opt.zero_grad()
            loss = (x - 1.0).square().sum()
            loss.backward()
            return loss

        opt.step(closure)
    return seen


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_schedules_follow_their_closed_forms_over_the_horizon(schedule):
    T, lr, W, D = 40, 0.5, 4, 4  # warmup and decay: 10% of the horizon
    expected = {
        "constant": [lr] * T,
        "cosine": [lr * (1 + math.cos(math.pi * t / T)) / 2 for t in range(T)],
        "warmup-cosine": [lr * (1 / W + (1 - 1 / W) * t / W) if t < W
                          else lr * (1 + math.cos(math.pi * (t - W) / (T - W))) / 2 for t in range(T)],
        "trapezoidal": [lr * (1 / W + (1 - 1 / W) * t / W) if t < W else lr if t < T - D
                        else lr * (1 - (t - (T - D)) / D) for t in range(T)],
    }[schedule]
    assert learning_rates(schedule, T, lr) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_a_schedule_is_a_hyperparameter_selected_in_suites_and_spans_the_budget():
    (sel,) = parse_selections(["adam[lr=1e-1,schedule=cosine]"])
    suite = Suite("s", parse_selections(["rosenbrock"]), [sel], seeds=[0, 1], budget={"max_steps": 30},
                  device="cpu")
    jobs = suite.jobs()
    assert jobs[0].hyperparameters["schedule"] == "cosine"
    cosine = optbench.run("rosenbrock", "adam", hyperparameters={"lr": 0.1, "schedule": "cosine"}, seed=0,
                          budget=Budget(max_steps=30))
    constant = optbench.run("rosenbrock", "adam", hyperparameters={"lr": 0.1}, seed=0, budget=Budget(max_steps=30))
    assert cosine.status == constant.status == "budget"
    steps = np.abs(np.diff(cosine.trace["x"], axis=0)).max(axis=1)
    assert steps[-1] < 0.05 * steps[:5].max()  # the step shrinks to ~0 as the schedule ends with the budget
    assert not np.array_equal(cosine.trace["fun"], constant.trace["fun"])
    batched = run_batched(jobs)  # seeds as rows of one tensor: the same schedule, the same records
    assert np.array_equal(batched[0].trace["fun"], cosine.trace["fun"])
    with pytest.raises(ConfigError, match="unknown schedule 'linear'"):
        Suite("s", parse_selections(["sphere"]), parse_selections(["adam[schedule=linear]"])).jobs()
    seconds_only = optbench.run("sphere", "adam", hyperparameters={"schedule": "cosine"},
                                budget=Budget(max_steps=None, max_seconds=5.0))
    assert seconds_only.status == "failed" and "horizon" in seconds_only.message
    assert Budget(max_steps=100, max_evals=60).horizon == 60 and Budget(max_steps=None, max_seconds=1.0).horizon == 0
