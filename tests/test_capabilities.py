"""Capabilities the runner honours: train/eval modes, parameter shapes (not-applicable), no closure; Muon."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

import optbench
from optbench import Budget, metrics
from optbench.conformance import check_optimizer
from optbench.report import _status_section
from optbench.store import Store, load


class ZeroEvalGD(torch.optim.Optimizer):
    """Gradient descent whose evaluation iterate is the origin: ``eval()`` stashes the training
    iterate and zeroes the parameters, ``train()`` restores it. Starts in eval mode and refuses
    to step outside train mode, as Schedule-Free does."""

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))
        self.training = False
        self.modes: list[str] = []

    @torch.no_grad()
    def eval(self):
        self.modes.append("eval")
        if self.training:
            for group in self.param_groups:
                for p in group["params"]:
                    self.state[p]["y"] = p.clone()
                    p.zero_()
            self.training = False

    @torch.no_grad()
    def train(self):
        self.modes.append("train")
        if not self.training:
            for group in self.param_groups:
                for p in group["params"]:
                    if "y" in self.state[p]:
                        p.copy_(self.state[p].pop("y"))
            self.training = True

    @torch.no_grad()
    def step(self, closure):
        if not self.training:
            raise RuntimeError("step() outside train mode")
        with torch.enable_grad():
            loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                p.add_(p.grad, alpha=-group["lr"])
        return loss


@optbench.register_optimizer("test-zero-eval-gd", train_eval=True, search_space={"lr": optbench.LogUniform(1e-3, 1)})
def zero_eval_gd(params, lr=0.1):
    """Gradient descent whose evaluation iterate is the origin (a test of train/eval modes)."""
    return ZeroEvalGD(params, lr)


class NoClosureGD(torch.optim.Optimizer):
    """Gradient descent whose ``step()`` takes no closure (it reads ``.grad``)."""

    def __init__(self, params, lr):
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            for p in group["params"]:
                p.add_(p.grad, alpha=-group["lr"])


@optbench.register_optimizer("test-no-closure-gd", closure=False, search_space={"lr": optbench.LogUniform(1e-3, 1)})
def no_closure_gd(params, lr=0.01):
    """Gradient descent without a closure in step() (a test of closure-less optimizers)."""
    return NoClosureGD(params, lr)


# -- train/eval ------------------------------------------------------------------------------
def test_records_measure_the_evaluation_iterate_of_an_analytic_run():
    rec = optbench.run("sphere", "test-zero-eval-gd", problem_params={"dim": 3}, seed=1, budget=Budget(max_steps=5))
    gd = optbench.run("sphere", "gd", hyperparameters={"lr": 0.1}, problem_params={"dim": 3}, seed=1,
                      budget=Budget(max_steps=5))
    assert rec.status == "budget", rec.message
    assert np.array_equal(rec.trace["fun"][:-1], gd.trace["fun"][:-1])  # training: plain gd at the training iterate
    assert rec.fun == 0.0 and rec.trace["fun"][-1] == 0.0  # the final objective: at the evaluation iterate (0)
    assert rec.x == [0.0, 0.0, 0.0] and np.array_equal(rec.trace["x"][-1], [0.0, 0.0, 0.0])
    assert rec.gap == 0.0 and gd.fun > 0


def test_every_evaluation_point_is_at_the_evaluation_iterate_and_training_resumes():
    budget = Budget(max_steps=6, eval_every=2)
    made = []

    def factory(params, lr=0.5):
        made.append(ZeroEvalGD(params, lr))
        return made[-1]

    import dataclasses
    spec = dataclasses.replace(optbench.get_optimizer("test-zero-eval-gd"), factory=factory)
    rec = optbench.run("logreg-binary", spec, hyperparameters={"lr": 0.5}, budget=budget, spectrum=False)
    gd = optbench.run("logreg-binary", "gd", hyperparameters={"lr": 0.5}, budget=budget, spectrum=False)
    assert rec.status == "budget", rec.message
    steps, values = rec.evals["train_loss"]
    assert steps.tolist() == [0, 2, 4, 6]
    np.testing.assert_allclose(values, math.log(2), rtol=1e-6)  # logistic loss at w = 0, every time
    assert gd.evals["train_loss"][1][-1] < 0.9 * math.log(2)
    assert np.array_equal(rec.trace["fun"][:-1], gd.trace["fun"][:-1])  # train() restored the iterate each time
    assert made[0].modes == ["train"] + ["eval", "train"] * 4 + ["eval"]  # steps 0, 2, 4, 6, then the final point
    assert math.isclose(rec.fun, math.log(2), rel_tol=1e-6)


def test_train_eval_optimizers_are_not_batched_and_pass_the_conformance_kit():
    from optbench.batched import batchable
    from optbench.suite import Suite, parse_selections

    suite = Suite("t", parse_selections(["sphere[dim=2,start=random]"]), parse_selections(["test-zero-eval-gd"]),
                  seeds=[0, 1], budget={"max_steps": 3}, device="cpu")
    assert not any(batchable(j) for j in suite.jobs())
    results = check_optimizer("test-zero-eval-gd")
    assert all(r.passed for r in results if r.name != "convex-quadratic"), results  # it ends at 0, not at x* = 1


# -- closure-less ----------------------------------------------------------------------------
def test_a_closure_less_optimizer_is_driven_with_honest_counts():
    rec = optbench.run("rosenbrock", "test-no-closure-gd", hyperparameters={"lr": 1e-3}, budget=Budget(max_steps=20))
    gd = optbench.run("rosenbrock", "gd", hyperparameters={"lr": 1e-3}, budget=Budget(max_steps=20))
    assert rec.status == "budget", rec.message
    assert np.array_equal(rec.trace["fun"], gd.trace["fun"]) and np.array_equal(rec.trace["x"], gd.trace["x"])
    assert np.array_equal(rec.trace["nfev"], np.arange(1, 22)) and rec.nfev == 21
    assert all(r.passed for r in check_optimizer("test-no-closure-gd"))


# -- parameter shapes: Muon ------------------------------------------------------------------
def test_muon_on_a_problem_without_matrices_is_not_applicable_and_stored_so(tmp_path):
    rec = optbench.run("rosenbrock", "muon")
    assert rec.status == "not-applicable" and rec.traceback is None
    assert "2-D parameters" in rec.message and "(2,)" in rec.message
    other = optbench.run("rosenbrock", "adam", budget=Budget(max_steps=5))
    with Store(tmp_path / "r.sqlite") as store:
        store.add(rec)
        store.add(other)
    runs = load(tmp_path / "r.sqlite").runs
    assert sorted(runs["status"]) == ["budget", "not-applicable"]
    ref = metrics.with_reference(runs)
    assert ref.loc[ref["status"] == "not-applicable", "final_gap"].isna().all()  # no gap, not an infinite one
    assert metrics.applicable(runs)["optimizer"].tolist() == ["adam"]
    section = _status_section(ref.assign(problem_id=ref["problem"], optimizer_id=ref["optimizer"]))
    text = repr(section)
    assert "1 not-applicable" in text and "muon on rosenbrock: muon updates 2-D parameters" in text


def test_muon_is_bitwise_torch_muon_on_matrices_plus_adamw_on_the_rest():
    problem = optbench.get_problem("mlp-mixture", samples=64, width=8)
    steps = 8
    rec = optbench.run(problem, "muon", hyperparameters={"lr": 0.02, "adamw_lr": 0.01}, seed=2,
                       budget=Budget(max_steps=steps), spectrum=False)
    assert rec.status == "budget", rec.message
    torch.manual_seed(2)
    inst = problem.instantiate(seed=2, device=torch.device("cpu"), dtype=torch.float32)
    matrices = [p for p in inst.params if p.dim() == 2]
    others = [p for p in inst.params if p.dim() != 2]
    assert matrices and others
    muon = torch.optim.Muon(matrices, lr=0.02)
    adamw = torch.optim.AdamW(others, lr=0.01, weight_decay=0.01)
    funs = []
    for _ in range(steps):
        muon.zero_grad()
        adamw.zero_grad()
        loss = inst.objective()
        loss.backward()
        funs.append(float(loss.detach()))
        muon.step()
        adamw.step()
    with torch.no_grad():
        funs.append(float(inst.objective()))
    assert np.array_equal(rec.trace["fun"], np.array(funs, dtype=np.float32).astype(np.float64))
    assert np.array_equal(rec.trace["nfev"], np.arange(1, steps + 2))


def test_info_states_what_muon_applies_to(capsys):
    from optbench.cli import main

    assert main(["info", "muon"]) == 0
    out = capsys.readouterr().out
    assert "applies to: 2-D parameters; other parameters: adamw" in out and "not-applicable" in out


def test_summary_frames_leave_not_applicable_runs_out():
    runs = pd.DataFrame({"problem_id": ["p", "p"], "optimizer_id": ["muon", "adam"], "seed": [0, 0],
                         "status": ["not-applicable", "budget"], "f_star": [0.0, 0.0], "best": [np.nan, 1.0],
                         "fun": [np.nan, 1.0]})
    assert metrics.applicable(runs)["optimizer_id"].tolist() == ["adam"]
