"""The optional adapters (optbench[zoo]): Schedule-Free, Lion, heavyball's SOAP/PSGD, the pytorch-optimizer bridge.

Each test needs its library and skips, saying which, when it is not installed
(``pip install "optbench[zoo]"``); CI installs the extra, so they run there.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util

import numpy as np
import pytest
import torch

import optbench
from optbench import Budget
from optbench.conformance import check_optimizer
from optbench.errors import UnknownNameError
from optbench.zoo import EXTRAS, Extra


def needs(module: str):
    return pytest.mark.skipif(importlib.util.find_spec(module) is None,
                              reason=f"{module} is not installed (pip install \"optbench[zoo]\")")


def bare_loop(problem, make, steps, seed=0, modes=False, final_eval=False):
    """A bare loop: f at the training iterates x_0..x_{steps-1}, then f at the final iterate
    (with ``final_eval``: after ``eval()``) and that iterate. ``modes``: ``train()`` first."""
    x = problem.start_point(seed, torch.float64).clone().requires_grad_(True)
    opt = make([x])
    if modes:
        opt.train()
    funs = []
    for _ in range(steps):
        def closure():
            opt.zero_grad()
            f = problem.f(x)
            f.backward()
            return f
        funs.append(float(opt.step(closure).detach()))
    if final_eval:
        opt.eval()
    with torch.no_grad():
        funs.append(float(problem.f(x)))
    return np.array(funs), x.detach().numpy()


@pytest.mark.parametrize("extra_", EXTRAS, ids=[e.module for e in EXTRAS])
def test_installed_versions_are_the_pins(extra_):
    if not extra_.installed:
        pytest.skip(f"{extra_.module} is not installed (pip install \"optbench[zoo]\")")
    name, version = extra_.requirement.split("==")
    assert importlib.metadata.version(name) == version


def test_an_extra_registers_only_when_installed(monkeypatch, capsys):
    """`list optimizers --installable` names what a missing library would provide and how to get it."""
    from optbench.cli import main

    monkeypatch.setattr(Extra, "installed", property(lambda self: self.module != "heavyball"))
    assert main(["list", "optimizers", "--installable"]) == 0
    out = capsys.readouterr().out
    assert "soap, psgd-kron" in out and "heavyball==3.2.1" in out and 'pip install "optbench[zoo]"' in out
    assert "sf-adamw" not in out


@needs("schedulefree")
def test_sf_adamw_is_the_bare_schedule_free_loop_and_is_measured_at_its_evaluation_iterate():
    import schedulefree

    steps = 30
    rec = optbench.run("rosenbrock", "sf-adamw", hyperparameters={"lr": 0.01}, seed=1, budget=Budget(max_steps=steps),
                       problem_params={"start": "random"})
    assert rec.status == "budget", rec.message
    problem = optbench.get_problem("rosenbrock", start="random")
    funs, x = bare_loop(problem, lambda p: schedulefree.AdamWScheduleFree(p, lr=0.01), steps, seed=1, modes=True,
                        final_eval=True)
    assert np.array_equal(rec.trace["fun"], funs)  # training losses at y, then f at x
    assert np.array_equal(rec.x, x)
    _, y = bare_loop(problem, lambda p: schedulefree.AdamWScheduleFree(p, lr=0.01), steps, seed=1, modes=True)
    assert not np.array_equal(x, y)  # the evaluation iterate is not the training iterate


@needs("schedulefree")
@pytest.mark.parametrize("name", ["sf-adamw", "sf-sgd"])
def test_schedule_free_passes_the_conformance_kit(name):
    assert optbench.get_optimizer(name).train_eval
    assert all(r.passed for r in check_optimizer(name)), check_optimizer(name)


@needs("lion_pytorch")
def test_lion_is_the_bare_lion_pytorch_loop_and_passes_the_kit():
    from lion_pytorch import Lion

    rec = optbench.run("rosenbrock", "lion", hyperparameters={"lr": 1e-3}, budget=Budget(max_steps=25))
    funs, x = bare_loop(optbench.get_problem("rosenbrock"), lambda p: Lion(p, lr=1e-3), 25)
    assert np.array_equal(rec.trace["fun"], funs) and np.array_equal(rec.x, x)
    assert all(r.passed for r in check_optimizer("lion"))


@needs("heavyball")
@pytest.mark.parametrize("name", ["soap", "psgd-kron"])
def test_heavyball_methods_pass_the_kit(name):
    assert all(r.passed for r in check_optimizer(name)), check_optimizer(name)


@needs("heavyball")
@pytest.mark.parametrize("name", ["soap", "psgd-kron"])
def test_heavyball_methods_precondition_the_weight_matrices_of_a_network_in_float64(name):
    """On matrices heavyball's float32 state failed in float64; the state follows the parameters."""
    rec = optbench.run("mlp-mixture", name, problem_params={"samples": 64, "width": 8}, budget=Budget(max_steps=3),
                       dtype="float64", spectrum=False)
    assert rec.status == "budget" and rec.fun < rec.f0, rec.message


@needs("pytorch_optimizer")
def test_the_bridge_takes_hyperparameters_from_the_signature_and_runs_the_bare_loop():
    import pytorch_optimizer

    spec = optbench.get_optimizer("pytorch-optimizer:Adan")
    assert spec.name == "pytorch-optimizer:adan"
    assert spec.hyperparameters == {"lr": 0.001, "betas": (0.98, 0.92, 0.99), "weight_decay": 0.0,
                                    "weight_decouple": False, "max_grad_norm": 0.0, "eps": 1e-08}
    assert set(spec.search_space) == {"lr"} and not spec.train_eval and spec.closure
    assert optbench.get_optimizer("pytorch-optimizer:schedulefreeadamw").train_eval
    rec = optbench.run("rosenbrock", "pytorch-optimizer:adan", hyperparameters={"lr": 1e-2},
                       budget=Budget(max_steps=20))
    funs, x = bare_loop(optbench.get_problem("rosenbrock"), lambda p: pytorch_optimizer.Adan(p, lr=1e-2), 20)
    assert np.array_equal(rec.trace["fun"], funs) and np.array_equal(rec.x, x)


@needs("pytorch_optimizer")
def test_the_bridge_names_the_closest_names_for_an_unknown_one():
    with pytest.raises(UnknownNameError, match=r"unknown pytorch-optimizer optimizer 'adma'; did you mean 'adam'"):
        optbench.get_optimizer("pytorch-optimizer:adma")


@needs("pytorch_optimizer")
@pytest.mark.parametrize("name", ["adan", "lion", "schedulefreeadamw", "prodigy", "soap"])
def test_bridged_optimizers_pass_the_kit(name):
    results = check_optimizer(f"pytorch-optimizer:{name}")
    assert all(r.passed for r in results), results


@needs("pytorch_optimizer")
def test_info_and_check_optimizer_take_a_bridged_name(capsys):
    from optbench.cli import main

    assert main(["info", "pytorch-optimizer:adan"]) == 0
    out = capsys.readouterr().out
    assert "optimizer pytorch-optimizer:adan" in out and "betas = (0.98, 0.92, 0.99)" in out
    assert main(["check-optimizer", "pytorch-optimizer:adan"]) == 0
    assert "8/8 checks passed" in capsys.readouterr().out
