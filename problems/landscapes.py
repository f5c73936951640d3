"""Analytic loss landscapes (test functions of global and local optimisation).

Definitions follow Surjanovic & Bingham, "Virtual Library of Simulation Experiments: Test
Functions and Datasets" (SFU, https://www.sfu.ca/~ssurjano/optimization.html) unless a
docstring says otherwise, and Jamil & Yang (2013), "A literature survey of benchmark
functions for global optimisation problems", Int. J. Math. Modelling and Numerical
Optimisation 4(2).

Every ``f`` is batched (``(..., dim) -> (...)``) and uses only operations on ``x`` and
Python scalars, so it runs on any device and dtype.
"""
from __future__ import annotations

from optbench import AnalyticProblem, register_problem


@register_problem("rosenbrock", tags=("landscape", "unimodal", "ill-conditioned", "non-convex", "scalable"))
class Rosenbrock(AnalyticProblem):
    r"""Rosenbrock's valley, n-dimensional (the chained form used by scipy.optimize.rosen).

    .. math:: f(x) = \sum_{i=1}^{n-1} \left[100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2\right]

    Domain ``[-5, 10]^n`` (Surjanovic & Bingham); ``f* = 0`` at ``x* = (1, ..., 1)``.
    Standard start ``(-1.2, 1, -1.2, 1, ...)`` (Rosenbrock 1960; Moré, Garbow & Hillstrom
    1981, problem 1 for n = 2). For n >= 4 there is also a local minimum near
    ``(-1, 1, ..., 1)``.

    References: H. H. Rosenbrock (1960), "An automatic method for finding the greatest or
    least value of a function", The Computer Journal 3(3):175-184.
    """

    domain = (-5.0, 10.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        if int(dim) != dim or dim < 2:
            raise ValueError(f"dim={dim!r} must be an integer >= 2")
        self.dim = int(dim)
        self.x0 = [-1.2 if i % 2 == 0 else 1.0 for i in range(self.dim)]
        self.x_star = [[1.0] * self.dim]

    def f(self, x):
        return (100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2).sum(-1)


@register_problem("sphere", tags=("landscape", "convex", "unimodal", "separable", "scalable"))
class Sphere(AnalyticProblem):
    r"""The sphere function, the simplest convex bowl.

    .. math:: f(x) = \sum_{i=1}^{n} x_i^2

    Domain ``[-5.12, 5.12]^n``; ``f* = 0`` at ``x* = 0``; random start in the domain.
    Reference: Surjanovic & Bingham, "Sphere Function"; De Jong (1975) F1.
    """

    domain = (-5.12, 5.12)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim={dim!r} must be an integer >= 1")
        self.dim = int(dim)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        return (x**2).sum(-1)
