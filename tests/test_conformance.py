"""The conformance kit passes every built-in and catches broken plugins at the right check."""
from __future__ import annotations

import dataclasses
import random

import pytest
import torch

import optbench
from optbench.conformance import CheckResult, check_optimizer, format_report
from optbench.optimizer import LogUniform, OptimizerSpec
from optbench.registry import factory_defaults

BUILTINS = [s.name for s in optbench.OPTIMIZERS.specs() if s.origin.startswith("module optbench.optimizers")]


def spec_of(factory, **flags) -> OptimizerSpec:
    """An unregistered spec (the kit takes specs as well as names), so the broken examples
    below never enter the global registry."""
    return OptimizerSpec(name=factory.__name__, factory=factory,
                         hyperparameters=factory_defaults(factory, driver=False),
                         search_space={"lr": LogUniform(1e-3, 1.0)}, **flags)


def failed(results: list[CheckResult]) -> set[str]:
    return {r.name for r in results if not r.passed}


def test_builtins_are_all_known():
    assert {"gd", "gd-armijo", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "amsgrad", "lbfgs",
            "bfgs", "newton", "newton-cg", "scipy-lbfgsb", "scipy-bfgs", "scipy-newton-cg",
            "scipy-trust-exact"} <= set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_passes(name):
    results = check_optimizer(name)
    assert not failed(results), format_report(results, name)
    expected = {"docstring", "search-space", "closure", "evaluation-count", "deterministic", "convex-quadratic",
                "float32"}
    spec = optbench.get_optimizer(name)
    assert {r.name for r in results} == expected | (set() if spec.driver else {"device"})


# -- broken plugins ----------------------------------------------------------------------
class _Sign(torch.optim.Optimizer):
    """Sign descent, optionally with additive noise."""

    def __init__(self, params, lr, noise=None):
        super().__init__(params, dict(lr=lr))
        self.noise = noise

    @torch.no_grad()
    def step(self, closure):
        with torch.enable_grad():
            loss = closure()
        for p in self.param_groups[0]["params"]:
            if p.grad is not None:
                step = p.grad.sign() if self.noise is None else p.grad.sign() + self.noise()
                p.add_(step, alpha=-self.param_groups[0]["lr"])
        return loss


def ignores_closure(params, lr=0.1):
    """Sign descent that expects someone else to have computed the gradients."""

    class Lazy(_Sign):
        @torch.no_grad()
        def step(self, closure):
            for p in self.param_groups[0]["params"]:
                if p.grad is not None:
                    p.sub_(p.grad.sign(), alpha=self.param_groups[0]["lr"])

    return Lazy(params, lr)


def unseeded_noise(params, lr=0.1):
    """Sign descent with noise from Python's global `random`, which the runner does not seed."""
    return _Sign(params, lr, noise=lambda: random.gauss(0.0, 0.1))


def seeded_noise(params, lr=0.1):
    """Sign descent with noise from torch's global generator, which the runner seeds per run."""
    return _Sign(params, lr, noise=lambda: torch.randn(()).item() * 0.1)


def line_search_behind_the_closure(params, objective, lr=0.1):
    """Takes a step only if `objective.f` says it helps: an evaluation the runner never sees."""

    class Sneaky(_Sign):
        hessian_evaluations = 0

        @torch.no_grad()
        def step(self, closure):
            before = objective.x()
            loss = super().step(closure)
            if float(objective.f(objective.x())) > float(loss):
                objective.assign(before)
            return loss

    return Sneaky(params, lr)


def default_device_buffer(params, lr=0.1):
    """Keeps a momentum buffer made with torch.zeros(n): on the default device, not the parameters'."""

    class Buffered(_Sign):
        @torch.no_grad()
        def step(self, closure):
            with torch.enable_grad():
                loss = closure()
            for p in self.param_groups[0]["params"]:
                buf = self.state[p].setdefault("buf", torch.zeros(p.numel(), dtype=p.dtype))
                buf.mul_(0.5).add_(p.grad.reshape(-1))
                p.sub_(buf.view_as(p), alpha=self.param_groups[0]["lr"])
            return loss

    return Buffered(params, lr)


def rejects_float32(params, lr=0.1):
    """Builds a float64 preconditioner and multiplies it into float32 gradients."""

    class Mixed(_Sign):
        @torch.no_grad()
        def step(self, closure):
            with torch.enable_grad():
                loss = closure()
            for p in self.param_groups[0]["params"]:
                scale = torch.ones(p.shape, dtype=torch.float64, device=p.device)
                p.sub_(torch.mv(torch.diag(scale), p.grad), alpha=self.param_groups[0]["lr"])
            return loss

    return Mixed(params, lr)


def no_docstring(params, lr=0.1):
    return _Sign(params, lr)


def test_an_optimizer_that_ignores_the_closure_fails_the_closure_check():
    results = check_optimizer(spec_of(ignores_closure))
    assert "closure" in failed(results)
    assert "did not call the closure" in next(r.detail for r in results if r.name == "closure")
    assert {"docstring", "search-space"}.isdisjoint(failed(results))


def test_unseeded_randomness_fails_only_the_determinism_check():
    assert failed(check_optimizer(spec_of(unseeded_noise))) == {"deterministic"}


def test_randomness_from_the_seeded_torch_generator_is_deterministic():
    assert failed(check_optimizer(spec_of(seeded_noise))) == set()


def test_evaluations_behind_the_closure_fail_the_count_check():
    results = check_optimizer(spec_of(line_search_behind_the_closure, needs_objective=True))
    assert failed(results) == {"evaluation-count"}
    assert "hessian_evaluations = 0" in next(r.detail for r in results if r.name == "evaluation-count")


def test_a_tensor_on_the_default_device_fails_the_device_check():
    results = check_optimizer(spec_of(default_device_buffer))
    assert failed(results) == {"device"}
    assert "torch.zeros" in next(r.detail for r in results if r.name == "device")


def test_a_dtype_mixup_fails_the_float32_check():
    assert failed(check_optimizer(spec_of(rejects_float32))) == {"float32"}


def test_missing_docstring_and_search_space_are_reported():
    spec = OptimizerSpec(name="bare", factory=no_docstring, hyperparameters={"lr": 0.1})
    assert failed(check_optimizer(spec)) == {"docstring", "search-space"}


def test_an_invalid_search_space_point_is_reported():
    nesterov = optbench.get_optimizer("nesterov")  # torch rejects Nesterov momentum 0
    broken = dataclasses.replace(nesterov, search_space={"momentum": optbench.Uniform(0.0, 0.9)})
    results = check_optimizer(broken)
    assert failed(results) == {"search-space"}
    assert "momentum=0.0" in next(r.detail for r in results if r.name == "search-space")


def test_format_report_lists_every_check_and_the_tally():
    results = [CheckResult("closure", True, "ok"), CheckResult("deterministic", False, "trace differs")]
    text = format_report(results, "mine")
    assert text.splitlines() == ["PASS  closure        ok", "FAIL  deterministic  trace differs",
                                 "optimizer 'mine': 1/2 checks passed"]
