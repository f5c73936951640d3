"""Analytic loss landscapes (test functions of global and local optimisation).

Definitions follow Surjanovic & Bingham, "Virtual Library of Simulation Experiments: Test
Functions and Datasets" (SFU, https://www.sfu.ca/~ssurjano/optimization.html) unless a
docstring says otherwise, and Jamil & Yang (2013), "A literature survey of benchmark
functions for global optimisation problems", Int. J. Math. Modelling and Numerical
Optimisation 4(2):150-194.

Every ``f`` is batched (``(..., dim) -> (...)``) and uses only operations on ``x`` and
Python scalars (index and weight vectors are built with ``x``'s dtype and device), so it
runs on any device and dtype. The one exception, ``rotated-ellipsoid``, holds a fixed
rotation matrix and casts it to ``x``'s dtype and device on first use.

Minimizers and minimum values
-----------------------------
Where the published minimizer is irrational and printed rounded (Himmelblau, six-hump
camel, cross-in-tray, holder table, eggholder, Styblinski-Tang), it was refined by solving
``grad f = 0`` with Newton's method in 50-digit arithmetic (``mpmath.findroot``) from the
published point; ``x_star`` holds the refined point correctly rounded to float64 and
``f_star`` the high-precision value of ``f`` there, correctly rounded. Where a closed form
exists (Branin, McCormick, Dixon-Price, Trid) the docstring gives it and the stored values
are its correctly rounded float64 values. ``tests/test_landscapes.py`` redoes the
refinement in 40 digits and checks both, and checks that the float64 ``f`` reproduces
``f_star`` at ``x_star`` to a few ulps. Published values are rounded (or truncated) to 4-6
digits; the docstrings quote them for comparison.

Tags: ``landscape`` on all; ``convex`` / ``non-convex``; ``unimodal`` (a single local
minimum, up to symmetric copies of the global one) / ``multimodal``; ``separable`` (a sum of
one-variable terms); ``ill-conditioned``; ``scalable`` (a ``dim`` parameter); ``plateau``
(large nearly flat regions); ``non-smooth`` (kinks in the domain; each docstring says
where); ``unbounded-below`` (the stated minimum holds on the domain only: ``f`` decreases
without bound outside it, so an unconstrained method may run away).
"""
from __future__ import annotations

import math

import torch

from optbench import AnalyticProblem, register_problem

from .quadratics import random_rotation

PI = math.pi


def _dimension(dim, minimum: int) -> int:
    """``dim`` as an int, or a ValueError saying what is accepted."""
    if isinstance(dim, bool) or not isinstance(dim, (int, float)) or int(dim) != dim or dim < minimum:
        raise ValueError(f"dim={dim!r} must be an integer >= {minimum}")
    return int(dim)


def _index(x: torch.Tensor, start: int = 1) -> torch.Tensor:
    """``(start, start + 1, ..., start + n - 1)`` in ``x``'s dtype and device (``n = x.shape[-1]``)."""
    n = x.shape[-1]
    return torch.arange(start, start + n, dtype=x.dtype, device=x.device)


def _log_spaced(x: torch.Tensor, kappa: float) -> torch.Tensor:
    """Weights ``kappa^((i-1)/(n-1))``, ``i = 1..n``, in ``x``'s dtype and device."""
    n = x.shape[-1]
    return kappa ** (_index(x, 0) / (n - 1))


# ---------------------------------------------------------------------------------------
# Scalable (n-dimensional) landscapes
# ---------------------------------------------------------------------------------------
@register_problem("sphere", tags=("landscape", "convex", "unimodal", "separable", "scalable"))
class Sphere(AnalyticProblem):
    r"""The sphere function, the simplest convex bowl.

    .. math:: f(x) = \sum_{i=1}^{n} x_i^2

    Domain ``[-5.12, 5.12]^n``; ``f* = 0`` at ``x* = 0``; random start in the domain.
    Hessian ``2 I`` (condition number 1).

    References: Surjanovic & Bingham, "Sphere Function"; K. A. De Jong (1975), "An analysis
    of the behavior of a class of genetic adaptive systems", PhD thesis, Univ. Michigan (F1).
    """

    domain = (-5.12, 5.12)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        return (x**2).sum(-1)


@register_problem("ellipsoid", tags=("landscape", "convex", "unimodal", "ill-conditioned", "separable", "scalable"))
class Ellipsoid(AnalyticProblem):
    r"""The axis-aligned ellipsoid with condition number ``kappa``.

    .. math:: f(x) = \sum_{i=1}^{n} \kappa^{\frac{i-1}{n-1}} x_i^2

    The weights are log-spaced from 1 to ``kappa``, so the Hessian is
    ``2 diag(kappa^((i-1)/(n-1)))`` with condition number ``kappa``. The default
    ``kappa = 1e6`` is the separable ellipsoid ``f2`` of BBOB (Hansen et al. 2009), without
    its random shift of the optimum. Domain ``[-5, 5]^n`` (BBOB's); ``f* = 0`` at ``x* = 0``;
    random start. ``dim >= 2`` (with one variable there is no conditioning to set).

    Not to be confused with Surjanovic & Bingham's "rotated hyper-ellipsoid"
    :math:`\sum_i \sum_{j \le i} x_j^2`, a different function.

    Reference: N. Hansen, S. Finck, R. Ros, A. Auger (2009), "Real-parameter black-box
    optimization benchmarking 2009: noiseless functions definitions", INRIA RR-6829, f2.
    """

    domain = (-5.0, 5.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, kappa: float = 1e6, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 2)
        if not kappa >= 1:
            raise ValueError(f"kappa={kappa!r} must be >= 1")
        self.kappa = float(kappa)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        return (_log_spaced(x, self.kappa) * x**2).sum(-1)


@register_problem("rotated-ellipsoid", tags=("landscape", "convex", "unimodal", "ill-conditioned", "scalable"))
class RotatedEllipsoid(AnalyticProblem):
    r"""The ellipsoid in a random orthonormal basis: same spectrum, not separable.

    .. math:: f(x) = \sum_{i=1}^{n} \kappa^{\frac{i-1}{n-1}} z_i^2, \qquad z = Q^\top x

    ``Q`` is a Haar-random rotation drawn from ``rotation_seed`` (Mezzadri 2007, via
    :func:`problems.quadratics.random_rotation`), fixed for every run seed. The Hessian
    ``2 Q diag(kappa^((i-1)/(n-1))) Q^T`` has condition number ``kappa``; the default
    ``kappa = 1e6`` is BBOB's rotated ellipsoid ``f10`` (Hansen et al. 2009) without its
    shift of the optimum and with a Haar rotation in place of BBOB's. Domain ``[-5, 5]^n``;
    ``f* = 0`` at ``x* = 0``; random start. ``dim >= 2``.

    Reference: N. Hansen, S. Finck, R. Ros, A. Auger (2009), "Real-parameter black-box
    optimization benchmarking 2009: noiseless functions definitions", INRIA RR-6829, f10.
    """

    domain = (-5.0, 5.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, kappa: float = 1e6, rotation_seed: int = 0, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 2)
        if not kappa >= 1:
            raise ValueError(f"kappa={kappa!r} must be >= 1")
        self.kappa = float(kappa)
        self.rotation = random_rotation(self.dim, rotation_seed)
        self.x_star = [[0.0] * self.dim]
        self._cache: dict = {}

    def _rotation(self, like: torch.Tensor) -> torch.Tensor:
        key = (like.device, like.dtype)
        if key not in self._cache:
            self._cache[key] = self.rotation.to(device=like.device, dtype=like.dtype)
        return self._cache[key]

    def f(self, x):
        z = x @ self._rotation(x)
        return (_log_spaced(x, self.kappa) * z**2).sum(-1)


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
        self.dim = _dimension(dim, 2)
        self.x0 = [-1.2 if i % 2 == 0 else 1.0 for i in range(self.dim)]
        self.x_star = [[1.0] * self.dim]

    def f(self, x):
        return (100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2 + (1.0 - x[..., :-1]) ** 2).sum(-1)


@register_problem("rastrigin", tags=("landscape", "multimodal", "non-convex", "separable", "scalable"))
class Rastrigin(AnalyticProblem):
    r"""Rastrigin's function: a bowl covered in a regular lattice of local minima.

    .. math:: f(x) = 10 n + \sum_{i=1}^{n} \left[x_i^2 - 10 \cos(2\pi x_i)\right]

    Domain ``[-5.12, 5.12]^n``; ``f* = 0`` at ``x* = 0``; a local minimum near every integer
    point; random start. Implemented as ``sum(x_i^2 - 10 cos(2 pi x_i) + 10)``, which is
    exactly 0 at ``x*`` in floating point.

    References: L. A. Rastrigin (1974), "Systems of Extremal Control", Nauka, Moscow;
    Surjanovic & Bingham, "Rastrigin Function".
    """

    domain = (-5.12, 5.12)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        return (x**2 - 10.0 * torch.cos(2.0 * PI * x) + 10.0).sum(-1)


@register_problem("ackley", tags=("landscape", "multimodal", "non-convex", "non-smooth", "plateau", "scalable"))
class Ackley(AnalyticProblem):
    r"""Ackley's function: a nearly flat, rippled outer region around a sharp central funnel.

    .. math:: f(x) = -a \exp\!\Big(-b \sqrt{\tfrac1n \textstyle\sum_i x_i^2}\Big)
              - \exp\!\Big(\tfrac1n \textstyle\sum_i \cos(c x_i)\Big) + a + e

    with ``a = 20, b = 0.2, c = 2 pi`` (Surjanovic & Bingham's recommended values). Domain
    ``[-32.768, 32.768]^n``; ``f* = 0`` at ``x* = 0``; random start.

    Non-smooth at ``x* = 0`` (the norm makes a cone point, ``f ~ (a b / sqrt(n)) ||x||``
    near 0): torch returns the zero subgradient there. Smooth elsewhere.

    References: D. H. Ackley (1987), "A Connectionist Machine for Genetic Hillclimbing",
    Kluwer; Surjanovic & Bingham, "Ackley Function".
    """

    domain = (-32.768, 32.768)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        n = x.shape[-1]
        rms = torch.linalg.vector_norm(x, dim=-1) / math.sqrt(n)
        # a - a exp(-b rms) + (e - exp(mean cos)): exactly 0 at x = 0 in floating point.
        return (20.0 - 20.0 * torch.exp(-0.2 * rms)) + (math.e - torch.exp(torch.cos(2.0 * PI * x).mean(-1)))


@register_problem("griewank", tags=("landscape", "multimodal", "non-convex", "scalable"))
class Griewank(AnalyticProblem):
    r"""Griewank's function: a wide bowl with a product of cosines for ripples.

    .. math:: f(x) = 1 + \frac{1}{4000} \sum_{i=1}^{n} x_i^2
              - \prod_{i=1}^{n} \cos\!\left(\frac{x_i}{\sqrt{i}}\right)

    Domain ``[-600, 600]^n``; ``f* = 0`` at ``x* = 0``; random start.

    References: A. O. Griewank (1981), "Generalized descent for global optimization",
    J. Optimization Theory and Applications 34(1):11-39; Surjanovic & Bingham.
    """

    domain = (-600.0, 600.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        return (x**2).sum(-1) / 4000.0 - torch.cos(x / _index(x).sqrt()).prod(-1) + 1.0


@register_problem("levy", tags=("landscape", "multimodal", "non-convex", "separable", "scalable"))
class Levy(AnalyticProblem):
    r"""Levy's function (the n-dimensional form of Surjanovic & Bingham).

    .. math:: f(x) = \sin^2(\pi w_1) + \sum_{i=1}^{n-1} (w_i - 1)^2 \left[1 + 10\sin^2(\pi w_i + 1)\right]
              + (w_n - 1)^2 \left[1 + \sin^2(2\pi w_n)\right],
              \qquad w_i = 1 + \frac{x_i - 1}{4}

    Domain ``[-10, 10]^n``; ``f* = 0`` at ``x* = (1, ..., 1)``; random start.

    References: Surjanovic & Bingham, "Levy Function"; M. Laguna, R. Martí (2005),
    "Experimental testing of advanced scatter search designs for global optimization of
    multimodal functions", J. Global Optimization 33:235-255.
    """

    domain = (-10.0, 10.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        self.x_star = [[1.0] * self.dim]

    def f(self, x):
        w = 1.0 + (x - 1.0) / 4.0
        head = torch.sin(PI * w[..., 0]) ** 2
        body = ((w[..., :-1] - 1.0) ** 2 * (1.0 + 10.0 * torch.sin(PI * w[..., :-1] + 1.0) ** 2)).sum(-1)
        tail = (w[..., -1] - 1.0) ** 2 * (1.0 + torch.sin(2.0 * PI * w[..., -1]) ** 2)
        return head + body + tail


# Styblinski-Tang: the minimizer of the one-variable term (t^4 - 16 t^2 + 5 t) / 2 is the
# most negative root of 4 t^3 - 32 t + 5 = 0 (50-digit Newton, rounded to float64).
_ST_T = -2.903534027771177
_ST_G = -39.16616570377141  # (t^4 - 16 t^2 + 5 t) / 2 at the root, 50-digit value rounded


@register_problem("styblinski-tang", tags=("landscape", "multimodal", "non-convex", "separable", "scalable"))
class StyblinskiTang(AnalyticProblem):
    r"""The Styblinski-Tang function: ``2^n`` local minima, one global.

    .. math:: f(x) = \frac12 \sum_{i=1}^{n} \left(x_i^4 - 16 x_i^2 + 5 x_i\right)

    Domain ``[-5, 5]^n``; random start. Each coordinate of ``x*`` is the most negative root
    ``t* = -2.903534027771177...`` of ``4 t^3 - 32 t + 5 = 0`` and
    ``f* = -39.16616570377141546... * n`` -- not a round number; Surjanovic & Bingham print
    ``-39.16599 n`` and ``t* = -2.903534``. Here ``t*`` and the per-coordinate minimum
    were computed to 50 digits and rounded to float64.

    References: M. A. Styblinski, T.-S. Tang (1990), "Experiments in nonconvex optimization:
    stochastic approximation with function smoothing and simulated annealing", Neural
    Networks 3(4):467-483; Surjanovic & Bingham, "Styblinski-Tang Function".
    """

    domain = (-5.0, 5.0)

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        self.x_star = [[_ST_T] * self.dim]
        self.f_star = _ST_G * self.dim

    def f(self, x):
        return 0.5 * (x**4 - 16.0 * x**2 + 5.0 * x).sum(-1)


@register_problem("zakharov", tags=("landscape", "convex", "unimodal", "scalable"))
class Zakharov(AnalyticProblem):
    r"""Zakharov's function: a convex bowl plus a quartic in one oblique direction.

    .. math:: f(x) = \sum_{i=1}^{n} x_i^2 + \Big(\sum_{i=1}^{n} \tfrac12 i x_i\Big)^2
              + \Big(\sum_{i=1}^{n} \tfrac12 i x_i\Big)^4

    Convex (a sum of convex functions of ``x`` and of a linear form). Domain
    ``[-5, 10]^n``; ``f* = 0`` at ``x* = 0``; random start.

    References: Surjanovic & Bingham, "Zakharov Function"; Jamil & Yang (2013).
    """

    domain = (-5.0, 10.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        s = (0.5 * _index(x) * x).sum(-1)
        return (x**2).sum(-1) + s**2 + s**4


@register_problem("dixon-price", tags=("landscape", "unimodal", "non-convex", "scalable"))
class DixonPrice(AnalyticProblem):
    r"""The Dixon-Price function: a curved valley.

    .. math:: f(x) = (x_1 - 1)^2 + \sum_{i=2}^{n} i \left(2 x_i^2 - x_{i-1}\right)^2

    Domain ``[-10, 10]^n``; ``f* = 0`` at :math:`x_i = 2^{-(2^i - 2)/2^i}`, ``i = 1..n``
    (Surjanovic & Bingham), and at its mirror image with the sign of the *last* coordinate
    flipped: the terms force ``x_1 = 1`` and ``x_{i-1} = 2 x_i^2``, which fixes the sign of
    every coordinate but ``x_n`` (``x_1..x_{n-1}`` are non-negative). So there are two global
    minimizers for ``n >= 2`` and one for ``n = 1``; Jamil & Yang class the function as
    unimodal. Random start.

    References: L. C. W. Dixon, R. C. Price (1989), "Truncated Newton method for sparse
    unconstrained optimization using automatic differentiation", J. Optimization Theory and
    Applications 60(2):261-275; Surjanovic & Bingham, "Dixon-Price Function".
    """

    domain = (-10.0, 10.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        point = [2.0 ** (-(2.0**i - 2.0) / 2.0**i) for i in range(1, self.dim + 1)]
        self.x_star = [point] if self.dim == 1 else [point, point[:-1] + [-point[-1]]]

    def f(self, x):
        i = _index(x)[1:]  # 2, ..., n
        return (x[..., 0] - 1.0) ** 2 + (i * (2.0 * x[..., 1:] ** 2 - x[..., :-1]) ** 2).sum(-1)


@register_problem("trid", tags=("landscape", "convex", "unimodal", "scalable"))
class Trid(AnalyticProblem):
    r"""The Trid function: a convex quadratic with a tridiagonal Hessian.

    .. math:: f(x) = \sum_{i=1}^{n} (x_i - 1)^2 - \sum_{i=2}^{n} x_i x_{i-1}

    Hessian ``2 I`` minus ones on the off-diagonals, eigenvalues ``2 - 2 cos(k pi/(n+1))``, so
    the condition number grows like ``4 (n+1)^2 / pi^2``. Domain ``[-n^2, n^2]^n``;
    ``f* = -n (n+4) (n-1) / 6`` at ``x_i = i (n + 1 - i)``; random start. ``dim >= 2``.

    References: Surjanovic & Bingham, "Trid Function"; Jamil & Yang (2013).
    """

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        n = self.dim = _dimension(dim, 2)
        self.domain = (-float(n * n), float(n * n))
        self.x_star = [[float(i * (n + 1 - i)) for i in range(1, n + 1)]]
        self.f_star = -n * (n + 4) * (n - 1) / 6.0

    def f(self, x):
        return ((x - 1.0) ** 2).sum(-1) - (x[..., 1:] * x[..., :-1]).sum(-1)


@register_problem("sum-of-different-powers", tags=("landscape", "convex", "unimodal", "separable", "scalable"))
class SumOfDifferentPowers(AnalyticProblem):
    r"""The sum of different powers: each coordinate flatter than the last near 0.

    .. math:: f(x) = \sum_{i=1}^{n} |x_i|^{i+1}

    Domain ``[-1, 1]^n``; ``f* = 0`` at ``x* = 0``; random start. Convex and continuously
    differentiable (every exponent is >= 2), but the Hessian at ``x*`` is singular for
    ``n >= 2`` (``diag(2, 0, ..., 0)``): convergence in ``x_2, ..., x_n`` is sublinear.

    References: Surjanovic & Bingham, "Sum of Different Powers Function"; Jamil & Yang (2013).
    """

    domain = (-1.0, 1.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = _dimension(dim, 1)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        # |x_1|^2 written x_1^2: autograd then gives the right second derivative (2) at x_1 = 0
        return x[..., 0] ** 2 + (x[..., 1:].abs() ** _index(x, 2)[1:]).sum(-1)


# ---------------------------------------------------------------------------------------
# Two-dimensional landscapes
# ---------------------------------------------------------------------------------------
@register_problem("beale", tags=("landscape", "unimodal", "non-convex"))
class Beale(AnalyticProblem):
    r"""Beale's function: flat valleys and steep walls (sharp peaks at the domain's corners).

    .. math:: f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2

    Domain ``[-4.5, 4.5]^2``; ``f* = 0`` at ``(3, 0.5)``; standard start ``(1, 1)`` (Moré,
    Garbow & Hillstrom 1981, problem 5). Jamil & Yang class it unimodal, Surjanovic &
    Bingham multimodal: its only interior local minimum is the global one (a multistart
    check finds the others only on the domain's boundary).

    References: E. M. L. Beale (1958), "On an iterative method for finding a local minimum
    of a function of more than one variable", Tech. Rep. 25, Statistical Techniques Research
    Group, Princeton Univ.; Surjanovic & Bingham, "Beale Function".
    """

    domain = (-4.5, 4.5)
    x0 = [1.0, 1.0]
    x_star = [[3.0, 0.5]]
    f_star = 0.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return (1.5 - u + u * v) ** 2 + (2.25 - u + u * v**2) ** 2 + (2.625 - u + u * v**3) ** 2


@register_problem("booth", tags=("landscape", "convex", "unimodal"))
class Booth(AnalyticProblem):
    r"""Booth's function: a convex quadratic (Hessian eigenvalues 2 and 18).

    .. math:: f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2

    Domain ``[-10, 10]^2``; ``f* = 0`` at ``(1, 3)``; random start.

    References: Surjanovic & Bingham, "Booth Function"; Jamil & Yang (2013).
    """

    domain = (-10.0, 10.0)
    x_star = [[1.0, 3.0]]
    f_star = 0.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return (u + 2.0 * v - 7.0) ** 2 + (2.0 * u + v - 5.0) ** 2


@register_problem("matyas", tags=("landscape", "convex", "unimodal"))
class Matyas(AnalyticProblem):
    r"""Matyas' function: a flat, plate-shaped convex quadratic (Hessian eigenvalues 0.04, 1).

    .. math:: f(x, y) = 0.26 (x^2 + y^2) - 0.48 x y

    Domain ``[-10, 10]^2``; ``f* = 0`` at ``(0, 0)``; random start; condition number 25.

    References: Surjanovic & Bingham, "Matyas Function"; Jamil & Yang (2013).
    """

    domain = (-10.0, 10.0)
    x_star = [[0.0, 0.0]]
    f_star = 0.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return 0.26 * (u**2 + v**2) - 0.48 * u * v


@register_problem("himmelblau", tags=("landscape", "multimodal", "non-convex"))
class Himmelblau(AnalyticProblem):
    r"""Himmelblau's function: four global minima, one local maximum, four saddles.

    .. math:: f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2

    Domain ``[-5, 5]^2``; ``f* = 0`` at ``(3, 2)`` and at three irrational points, printed
    as ``(-2.805118, 3.131312)``, ``(-3.779310, -3.283186)``, ``(3.584428, -1.848126)`` and
    refined here (50-digit Newton) to float64. Random start.

    Reference: D. M. Himmelblau (1972), "Applied Nonlinear Programming", McGraw-Hill.
    """

    domain = (-5.0, 5.0)
    x_star = [
        [3.0, 2.0],
        [-2.805118086952745, 3.131312518250573],
        [-3.779310253377747, -3.2831859912861696],
        [3.5844283403304917, -1.8481265269644036],
    ]
    f_star = 0.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return (u**2 + v - 11.0) ** 2 + (u + v**2 - 7.0) ** 2


@register_problem("three-hump-camel", tags=("landscape", "multimodal", "non-convex"))
class ThreeHumpCamel(AnalyticProblem):
    r"""The three-hump camel: three local minima, the global one at the origin.

    .. math:: f(x, y) = 2x^2 - 1.05x^4 + \frac{x^6}{6} + xy + y^2

    Domain ``[-5, 5]^2``; ``f* = 0`` at ``(0, 0)``; local minima ``f ~ 0.2986`` near
    ``+-(1.748, -0.874)``. Random start.

    References: Surjanovic & Bingham, "Three-Hump Camel Function"; Jamil & Yang (2013).
    """

    domain = (-5.0, 5.0)
    x_star = [[0.0, 0.0]]
    f_star = 0.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return 2.0 * u**2 - 1.05 * u**4 + u**6 / 6.0 + u * v + v**2


@register_problem("six-hump-camel", tags=("landscape", "multimodal", "non-convex"))
class SixHumpCamel(AnalyticProblem):
    r"""The six-hump camel: six local minima, two of them global.

    .. math:: f(x, y) = \left(4 - 2.1x^2 + \frac{x^4}{3}\right) x^2 + xy + (-4 + 4y^2)\, y^2

    Domain ``x in [-3, 3], y in [-2, 2]`` (Surjanovic & Bingham); random start.
    ``f* = -1.0316`` at ``+-(0.0898, -0.7126)`` as published (digits truncated); refined (50-digit Newton) to
    ``f* = -1.0316284534898774`` at ``+-(0.08984201310031806, -0.7126564030207396)``.

    References: L. C. W. Dixon, G. P. Szegő (1978), "The global optimization problem: an
    introduction", in Towards Global Optimisation 2, North-Holland, pp. 1-15; Surjanovic &
    Bingham, "Six-Hump Camel Function".
    """

    domain = [(-3.0, 3.0), (-2.0, 2.0)]
    x_star = [[0.08984201310031806, -0.7126564030207396], [-0.08984201310031806, 0.7126564030207396]]
    f_star = -1.0316284534898774

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return (4.0 - 2.1 * u**2 + u**4 / 3.0) * u**2 + u * v + (-4.0 + 4.0 * v**2) * v**2


@register_problem("goldstein-price", tags=("landscape", "multimodal", "non-convex"))
class GoldsteinPrice(AnalyticProblem):
    r"""The Goldstein-Price function: several local minima and a large dynamic range.

    .. math:: f(x, y) = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]
              \left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]

    Domain ``[-2, 2]^2``; ``f* = 3`` at ``(0, -1)``; random start. (Surjanovic & Bingham
    also give a log-scaled variant; this is the original.)

    References: A. A. Goldstein, J. F. Price (1971), "On descent from local minima",
    Mathematics of Computation 25(115):569-574; Surjanovic & Bingham.
    """

    domain = (-2.0, 2.0)
    x_star = [[0.0, -1.0]]
    f_star = 3.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        a = 1.0 + (u + v + 1.0) ** 2 * (19.0 - 14.0 * u + 3.0 * u**2 - 14.0 * v + 6.0 * u * v + 3.0 * v**2)
        b = 30.0 + (2.0 * u - 3.0 * v) ** 2 * (18.0 - 32.0 * u + 12.0 * u**2 + 48.0 * v - 36.0 * u * v + 27.0 * v**2)
        return a * b


_BRANIN_B = 5.1 / (4.0 * PI**2)
_BRANIN_C = 5.0 / PI
_BRANIN_T = 1.0 / (8.0 * PI)


@register_problem("branin", tags=("landscape", "multimodal", "non-convex"))
class Branin(AnalyticProblem):
    r"""The Branin (Branin-Hoo) function: three global minima in the domain.

    .. math:: f(x, y) = a (y - b x^2 + c x - r)^2 + s (1 - t) \cos x + s

    with ``a = 1, b = 5.1/(4 pi^2), c = 5/pi, r = 6, s = 10, t = 1/(8 pi)`` (Surjanovic &
    Bingham's recommended values). Domain ``x in [-5, 10], y in [0, 15]``; random start.

    Closed form of the minimum: ``f >= s - s (1 - t) = s t``, with equality where
    ``cos x = -1`` and ``y = b x^2 - c x + r``, i.e. ``f* = 10 t = 5 / (4 pi) =
    0.3978873577297383`` (published: 0.397887) at ``(-pi, 12.275)``, ``(pi, 2.275)``,
    ``(3 pi, 2.475)`` (published: ``(9.42478, 2.475)``). Outside the domain every
    ``x = (2k+1) pi`` gives another global minimizer.

    References: F. H. Branin (1972), "Widely convergent method for finding multiple
    solutions of simultaneous nonlinear equations", IBM J. Research and Development
    16(5):504-522; Dixon & Szegő (1978); Surjanovic & Bingham, "Branin Function".
    """

    domain = [(-5.0, 10.0), (0.0, 15.0)]
    x_star = [[-PI, 12.275], [PI, 2.275], [3.0 * PI, 2.475]]
    f_star = 0.3978873577297383  # 5 / (4 pi) correctly rounded (5.0 / (4.0 * math.pi) is 1 ulp above)

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return (v - _BRANIN_B * u**2 + _BRANIN_C * u - 6.0) ** 2 + 10.0 * (1.0 - _BRANIN_T) * torch.cos(u) + 10.0


@register_problem("mccormick", tags=("landscape", "multimodal", "non-convex", "unbounded-below"))
class McCormick(AnalyticProblem):
    r"""McCormick's function.

    .. math:: f(x, y) = \sin(x + y) + (x - y)^2 - 1.5x + 2.5y + 1

    Domain ``x in [-1.5, 4], y in [-3, 4]``; random start. Closed form of the minimum (from
    ``grad f = 0``: ``x - y = 1``, ``cos(x + y) = -1/2``): ``x* = (1/2 - pi/3, -1/2 - pi/3)``,
    ``f* = -sqrt(3)/2 - pi/3 = -1.9132229549810364`` (published, truncated or off by one in
    the last digit: ``-1.9133`` at ``(-0.54719, -1.54719)``). A second local minimum lies at ``x + y = 4 pi / 3``.
    In ``s = x + y`` the function has the term ``sin(s) + s/2``: it is unbounded below as
    ``s -> -inf``, so the minimum holds on the domain only.

    References: G. P. McCormick (1976), "Computability of global solutions to factorable
    nonconvex programs: Part I", Mathematical Programming 10:147-175; Surjanovic & Bingham,
    "McCormick Function"; Jamil & Yang (2013).
    """

    domain = [(-1.5, 4.0), (-3.0, 4.0)]
    x_star = [[-0.5471975511965977, -1.5471975511965979]]  # (1/2 - pi/3, -1/2 - pi/3) correctly rounded
    f_star = -1.9132229549810364  # -sqrt(3)/2 - pi/3 correctly rounded (the float expression is 1 ulp above)

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return torch.sin(u + v) + (u - v) ** 2 - 1.5 * u + 2.5 * v + 1.0


@register_problem("bohachevsky", tags=("landscape", "multimodal", "non-convex", "separable"))
class Bohachevsky(AnalyticProblem):
    r"""Bohachevsky's function, variant 1 (of the three in Surjanovic & Bingham).

    .. math:: f(x, y) = x^2 + 2y^2 - 0.3\cos(3\pi x) - 0.4\cos(4\pi y) + 0.7

    A bowl with cosine ripples deep enough (curvature ``2 - 0.3 (3 pi)^2 < 0`` at the ridges)
    to make many local minima. Domain ``[-100, 100]^2``; ``f* = 0`` at ``(0, 0)``; random
    start. Variants 2 and 3 replace the two cosines by a product, or by the cosine of a sum.
    Evaluated as ``x^2 + 2y^2 + 0.3 (1 - cos 3 pi x) + 0.4 (1 - cos 4 pi y)`` (the same
    function, with no rounding below 0 near ``x*`` in float32).

    References: I. O. Bohachevsky, M. E. Johnson, M. L. Stein (1986), "Generalized simulated
    annealing for function optimization", Technometrics 28(3):209-217; Surjanovic &
    Bingham, "Bohachevsky Functions".
    """

    domain = (-100.0, 100.0)
    x_star = [[0.0, 0.0]]
    f_star = 0.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return u**2 + 2.0 * v**2 + 0.3 * (1.0 - torch.cos(3.0 * PI * u)) + 0.4 * (1.0 - torch.cos(4.0 * PI * v))


@register_problem("schaffer2", tags=("landscape", "multimodal", "non-convex"))
class Schaffer2(AnalyticProblem):
    r"""Schaffer's function N. 2: concentric-ish ripples of decaying amplitude.

    .. math:: f(x, y) = 0.5 + \frac{\sin^2(x^2 - y^2) - 0.5}{\left[1 + 0.001 (x^2 + y^2)\right]^2}

    Domain ``[-100, 100]^2``; ``f* = 0`` at ``(0, 0)`` (unique: elsewhere
    ``f >= 0.5 - 0.5 / (1 + 0.001 r^2)^2 > 0``); random start.

    References: Surjanovic & Bingham, "Schaffer Function N. 2"; Jamil & Yang (2013);
    S. K. Mishra (2006), "Some new test functions for global optimization and performance of
    repulsive particle swarm method", MPRA Paper 2718.
    """

    domain = (-100.0, 100.0)
    x_star = [[0.0, 0.0]]
    f_star = 0.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return 0.5 + (torch.sin(u**2 - v**2) ** 2 - 0.5) / (1.0 + 0.001 * (u**2 + v**2)) ** 2


@register_problem("easom", tags=("landscape", "multimodal", "non-convex", "plateau"))
class Easom(AnalyticProblem):
    r"""Easom's function: a single narrow well in a plateau at ``f ~ 0``.

    .. math:: f(x, y) = -\cos x \cos y \exp\!\left(-(x - \pi)^2 - (y - \pi)^2\right)

    Domain ``[-100, 100]^2``; ``f* = -1`` at ``(pi, pi)``; random start (almost surely on the
    plateau, where the gradient underflows to 0).

    References: E. E. Easom (1990), "A survey of global optimization techniques", M. Eng.
    thesis, Univ. Louisville; Surjanovic & Bingham, "Easom Function".
    """

    domain = (-100.0, 100.0)
    x_star = [[PI, PI]]
    f_star = -1.0

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return -torch.cos(u) * torch.cos(v) * torch.exp(-((u - PI) ** 2) - (v - PI) ** 2)


_CROSS_T = 1.3494066171539107  # 50-digit Newton from the published (1.3491, 1.3491)


@register_problem("cross-in-tray", tags=("landscape", "multimodal", "non-convex", "non-smooth", "unbounded-below"))
class CrossInTray(AnalyticProblem):
    r"""The cross-in-tray function: four global minima between the ridges along the axes.

    .. math:: f(x, y) = -10^{-4} \left(\left|\sin x \sin y \,
              \exp\!\left(\left|100 - \frac{\sqrt{x^2 + y^2}}{\pi}\right|\right)\right| + 1\right)^{0.1}

    Domain ``[-10, 10]^2``; random start. Published: ``f* = -2.06261`` at
    ``(+-1.3491, +-1.3491)`` (Surjanovic & Bingham; 3e-4 off, the minimizer is at 1.34941)
    and ``f* = -2.062611870822739`` at ``(+-1.349406685353340, +-1.349406608602084)``
    (Jamil & Yang, good to about 1e-7). Refined (50-digit Newton; the minimizers lie on the
    diagonals by symmetry) to ``f* = -2.062611870822737`` at ``(+-t, +-t)``,
    ``t = 1.3494066171539107``.

    Non-smooth on the lines ``x = k pi`` and ``y = k pi`` (the outer ``|.|``, where the
    maxima ridges are) and on the circle ``sqrt(x^2 + y^2) = 100 pi`` (outside the domain);
    smooth at the minimizers. Beyond that circle ``f`` decreases without bound. Evaluated as
    ``-1e-4 exp(a/10) (|sin x sin y| + exp(-a))^0.1`` with ``a = |100 - r/pi|``, equal to the
    formula but free of the overflow of ``exp(a) ~ e^100`` in float32.

    References: S. K. Mishra (2006), "Some new test functions for global optimization and
    performance of repulsive particle swarm method", MPRA Paper 2718; Surjanovic & Bingham,
    "Cross-in-Tray Function"; Jamil & Yang (2013).
    """

    domain = (-10.0, 10.0)
    x_star = [[_CROSS_T, _CROSS_T], [_CROSS_T, -_CROSS_T], [-_CROSS_T, _CROSS_T], [-_CROSS_T, -_CROSS_T]]
    f_star = -2.062611870822737

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        a = (100.0 - torch.linalg.vector_norm(x, dim=-1) / PI).abs()
        # (|s| e^a + 1)^0.1 = e^(a/10) (|s| + e^-a)^0.1: no overflow of e^a ~ e^100 in float32.
        return -1e-4 * torch.exp(0.1 * a) * ((torch.sin(u) * torch.sin(v)).abs() + torch.exp(-a)) ** 0.1


_EGG_Y = 404.2318051137578  # argmin over y of f(512, y), 50-digit Newton from 404.2319


@register_problem("eggholder", tags=("landscape", "multimodal", "non-convex", "non-smooth", "unbounded-below"))
class Eggholder(AnalyticProblem):
    r"""The eggholder function: many deep local minima; the global one on the domain's edge.

    .. math:: f(x, y) = -(y + 47) \sin\sqrt{\left|y + \frac{x}{2} + 47\right|}
              - x \sin\sqrt{\left|x - (y + 47)\right|}

    Domain ``[-512, 512]^2``; random start. Published: ``f* = -959.6407`` at
    ``(512, 404.2319)`` (the last digit of ``y*`` one unit high). The minimizer lies on the boundary ``x = 512`` (a box-constrained
    minimum: ``df/dx ~ -3.39 < 0`` there, ``df/dy = 0``); minimizing over ``y`` at
    ``x = 512`` to 50 digits gives ``y* = 404.2318051137578`` and
    ``f* = -959.64066272085080...``. Outside the domain ``f`` is unbounded below, so an
    unconstrained method can pass the minimum by.

    Non-smooth where ``y + x/2 + 47 = 0`` or ``x - y - 47 = 0`` (square roots of ``|.|``:
    infinite slopes); smooth at the minimizer.

    References: Surjanovic & Bingham, "Eggholder Function"; Jamil & Yang (2013).
    """

    domain = (-512.0, 512.0)
    x_star = [[512.0, _EGG_Y]]
    f_star = -959.6406627208509  # the 50-digit value -959.640662720850802... rounded

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        return -(v + 47.0) * torch.sin((v + u / 2.0 + 47.0).abs().sqrt()) - u * torch.sin((u - (v + 47.0)).abs().sqrt())


_HOLDER_X, _HOLDER_Y = 8.055023475736563, 9.664590019241272  # 50-digit Newton from (8.05502, 9.66459)


@register_problem("holder-table", tags=("landscape", "multimodal", "non-convex", "non-smooth", "unbounded-below"))
class HolderTable(AnalyticProblem):
    r"""The Hölder table function: four global minima near the corners of the domain.

    .. math:: f(x, y) = -\left|\sin x \cos y \,
              \exp\!\left(\left|1 - \frac{\sqrt{x^2 + y^2}}{\pi}\right|\right)\right|

    Domain ``[-10, 10]^2``; random start. Published: ``f* = -19.2085`` at
    ``(+-8.05502, +-9.66459)``; refined (50-digit Newton) to ``f* = -19.208502567886732``
    at ``(+-8.055023475736563, +-9.664590019241272)``, interior points. Outside the domain
    the exponential grows and ``f`` is unbounded below.

    Non-smooth where ``sin x cos y = 0`` (the outer ``|.|``) and on the circle
    ``sqrt(x^2 + y^2) = pi``; smooth at the minimizers.

    References: S. K. Mishra (2006), "Some new test functions for global optimization and
    performance of repulsive particle swarm method", MPRA Paper 2718; Surjanovic & Bingham,
    "Holder Table Function"; Jamil & Yang (2013).
    """

    domain = (-10.0, 10.0)
    x_star = [[_HOLDER_X, _HOLDER_Y], [_HOLDER_X, -_HOLDER_Y], [-_HOLDER_X, _HOLDER_Y], [-_HOLDER_X, -_HOLDER_Y]]
    f_star = -19.208502567886732

    def f(self, x):
        u, v = x[..., 0], x[..., 1]
        r = torch.linalg.vector_norm(x, dim=-1)
        return -(torch.sin(u) * torch.cos(v) * torch.exp((1.0 - r / PI).abs())).abs()
