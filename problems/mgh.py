"""The Moré–Garbow–Hillstrom test set of unconstrained least-squares problems.

J. J. Moré, B. S. Garbow, K. E. Hillstrom (1981), "Testing Unconstrained Optimization
Software", ACM Transactions on Mathematical Software 7(1):17-41. Each problem is a sum of
squares ``f(x) = sum_{i=1}^m r_i(x)^2`` (the paper's convention, no 1/2), with the paper's
``n``, ``m``, standard start ``x0`` and minimum value ``f*``; problem numbers follow the paper.
"""
from __future__ import annotations

import torch

from optbench import LeastSquaresProblem, register_problem

MGH_TAGS = ("mgh", "least-squares")


@register_problem("mgh01-rosenbrock", tags=MGH_TAGS + ("unimodal",))
class MGH01Rosenbrock(LeastSquaresProblem):
    r"""MGH problem 1, Rosenbrock: ``n = 2, m = 2``.

    .. math:: r_1 = 10 (x_2 - x_1^2), \quad r_2 = 1 - x_1

    ``x0 = (-1.2, 1)``, ``f* = 0`` at ``(1, 1)``.
    """

    dim, m = 2, 2
    x0 = [-1.2, 1.0]
    x_star = [[1.0, 1.0]]
    f_star = 0.0

    def residuals(self, x):
        return torch.stack([10.0 * (x[..., 1] - x[..., 0] ** 2), 1.0 - x[..., 0]], -1)
