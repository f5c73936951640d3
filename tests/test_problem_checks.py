"""The problem conformance kit finds what a broken problem plugin gets wrong."""
from __future__ import annotations

import torch

import optbench
from optbench.cli import main
from optbench.problem_checks import check_problem
from optbench.registry import PROBLEMS


class _Broken(optbench.AnalyticProblem):
    """A landscape with a wrong gradient (a detached term), no batching, float64 constants
    and a wrong f*."""

    dim = 2
    domain = (-1.0, 1.0)
    x_star = [[0.0, 0.0]]
    f_star = 1.0

    def f(self, x):
        scale = torch.tensor([1.0, 2.0], dtype=torch.float64)  # float64 whatever x's dtype
        total = (x * scale).square().sum()                    # sums over the batch too
        return total + (x[..., 0].detach() ** 2).double()     # a term autograd does not see


def test_broken_landscape_fails_the_right_checks(monkeypatch, capsys):
    PROBLEMS.names()
    monkeypatch.setattr(PROBLEMS, "_specs", dict(PROBLEMS._specs))
    optbench.register_problem("broken-landscape")(_Broken)
    failed = {r.name for r in check_problem("broken-landscape") if not r.passed}
    assert failed == {"gradient", "batching", "dtype", "f-star"}
    assert main(["check-problem", "broken-landscape"]) == 1
    assert "problem 'broken-landscape': 4/8 checks passed" in capsys.readouterr().out


def test_builtin_training_problem_passes(capsys):
    assert main(["check-problem", "mlp-mixture[samples=64,width=4]"]) == 0
    out = capsys.readouterr().out
    assert "PASS  batching" in out and "7/7 checks passed" in out


def test_a_grid_is_refused(capsys):
    assert main(["check-problem", "quadratic[dim=[2,3]]"]) == 2
    assert "one value per parameter" in capsys.readouterr().err
