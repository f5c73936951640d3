r"""The Moré–Garbow–Hillstrom test set: 35 unconstrained least-squares problems.

J. J. Moré, B. S. Garbow, K. E. Hillstrom (1981), "Testing Unconstrained Optimization
Software", ACM Transactions on Mathematical Software 7(1):17-41 -- "the paper" below. Each
problem is a sum of squares

.. math:: f(x) = \sum_{i=1}^{m} r_i(x)^2

(the paper's convention, no factor 1/2) of ``m`` residuals in ``n`` variables; problem numbers
and names follow the paper (``mghNN-<name>``). Every problem exposes its residuals publicly
(:meth:`~optbench.problem.LeastSquaresProblem.residuals`, batched ``(..., n) -> (..., m)``)
so that Gauss-Newton and Levenberg-Marquardt methods can use them.

Conventions shared by all 35 problems:

* ``x0`` is the paper's standard starting point times ``x0_scale``; the paper's tables use
  ``x0_scale = 1, 10, 100``. Where the standard start is zero (Watson) a scale ``s != 1``
  gives ``x0 = (s, ..., s)``, as the paper's own drivers do (MINPACK-1 ``initpt``).
* ``f_star`` is the minimum the paper reports: exact where the paper gives a formula (``0``,
  ``m - n``, ...), the paper's tabulated value (6 significant digits) otherwise. Where the
  paper tabulates ``f*`` only for some ``n`` or ``m``, other sizes have ``f_star = None``.
* ``x_star`` lists minimizers known exactly (or, for Powell's badly scaled function, to
  double precision); it is empty where the paper gives only ``f*``.
* ``domain`` (where random starts are drawn): the box spanned by the standard start and the
  known minimizers, widened on each side by half its width, and by at least 1.
* For variable-size problems the paper leaves ``n`` (and sometimes ``m``) free; the defaults
  here are ``n = 10`` (the size of most of the paper's and MINPACK-1's runs) unless a
  docstring says otherwise.

Data tables (Bard, Gaussian, Meyer, Kowalik-Osborne, Osborne 1 and 2) are the paper's, which
are also those of the MINPACK-1 test routine ``ssqfcn`` and of Algorithm 566.

References
----------
J. J. Moré, B. S. Garbow, K. E. Hillstrom (1981), "Testing Unconstrained Optimization
Software", ACM TOMS 7(1):17-41.
J. J. Moré, B. S. Garbow, K. E. Hillstrom (1981), "Algorithm 566: FORTRAN Subroutines for
Testing Unconstrained Optimization Software", ACM TOMS 7(1):136-140.
J. J. Moré, B. S. Garbow, K. E. Hillstrom (1980), "User Guide for MINPACK-1", Argonne
National Laboratory report ANL-80-74.
"""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import Tensor

from optbench import LeastSquaresProblem, register_problem

MGH_TAGS = ("mgh", "least-squares")
ZERO = ("zero-residual",)
SCALABLE = ("scalable",)


def _integer(name: str, value, low: int, high: int | None = None, why: str = "") -> int:
    """``value`` as an int in ``[low, high]``, else a ValueError naming what is accepted."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer()
    if ok:
        value = int(value)
        ok = value >= low and (high is None or value <= high)
    if not ok:
        accepted = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name}={value!r} must be an integer {accepted}{why}")
    return value


def _arange(x: Tensor, start: int, stop: int) -> Tensor:
    """``start, start+1, ..., stop-1`` in ``x``'s dtype and on its device."""
    return torch.arange(start, stop, dtype=x.dtype, device=x.device)


class MGHProblem(LeastSquaresProblem):
    """Base of the MGH problems: scaled standard start, domain, and a description with ``m``.

    Subclasses set ``dim``, ``m``, ``x_star`` and ``f_star`` (as class attributes, or in
    ``__init__`` before calling ``super().__init__``), give the standard start as the class
    attribute ``x0`` or by overriding :meth:`standard_start`, and implement ``residuals``.

    Parameters
    ----------
    x0_scale : float
        Start at ``x0_scale`` times the standard start (the paper uses 1, 10 and 100).
    start : {"standard", "random"}
        See :class:`~optbench.problem.AnalyticProblem`.
    """

    def __init__(self, x0_scale: float = 1.0, **common):
        super().__init__(**common)
        if not (isinstance(x0_scale, numbers.Real) and not isinstance(x0_scale, bool)
                and math.isfinite(x0_scale) and x0_scale > 0):
            raise ValueError(f"x0_scale={x0_scale!r} must be a positive finite number (the paper uses 1, 10, 100)")
        self.x0_scale = float(x0_scale)
        standard = self.standard_start()
        self.x0 = self.scale_start(standard, self.x0_scale)
        self.domain = _spanning_box([standard, *self.x_star])

    def standard_start(self) -> list[float]:
        """The paper's standard starting point (unscaled)."""
        return [float(v) for v in type(self).x0]

    def scale_start(self, standard: list[float], scale: float) -> list[float]:
        return [scale * v for v in standard]

    def describe(self) -> dict[str, str]:
        info = super().describe()
        info["residuals"] = f"m = {self.m}"
        if self.start == "standard":
            info["start"] = f"standard x0 times {self.x0_scale:g} = {self.x0}"
        else:
            info["start"] = "uniform random in the domain (seeded)"
        return info


def _spanning_box(points: list[list[float]]) -> list[tuple[float, float]]:
    box = []
    for coords in zip(*points):
        lo, hi = min(coords), max(coords)
        pad = max(1.0, 0.5 * (hi - lo))
        box.append((lo - pad, hi + pad))
    return box


# ---------------------------------------------------------------------------------------
# Problems 1-19: fixed n
# ---------------------------------------------------------------------------------------
@register_problem("mgh01-rosenbrock", tags=MGH_TAGS + ZERO + ("unimodal",))
class MGH01Rosenbrock(MGHProblem):
    r"""MGH problem 1, Rosenbrock: ``n = 2, m = 2``.

    .. math:: r_1 = 10 (x_2 - x_1^2), \quad r_2 = 1 - x_1

    ``x0 = (-1.2, 1)``; ``f* = 0`` at ``(1, 1)``. Reference: the paper, problem (1);
    H. H. Rosenbrock (1960), The Computer Journal 3:175-184.
    """

    dim, m = 2, 2
    x0 = [-1.2, 1.0]
    x_star = [[1.0, 1.0]]
    f_star = 0.0

    def residuals(self, x):
        x1, x2 = x.unbind(-1)
        return torch.stack([10.0 * (x2 - x1**2), 1.0 - x1], -1)


@register_problem("mgh02-freudenstein-roth", tags=MGH_TAGS + ZERO)
class MGH02FreudensteinRoth(MGHProblem):
    r"""MGH problem 2, Freudenstein and Roth: ``n = 2, m = 2``.

    .. math::
        r_1 = -13 + x_1 + ((5 - x_2) x_2 - 2) x_2, \quad
        r_2 = -29 + x_1 + ((x_2 + 1) x_2 - 14) x_2

    ``x0 = (0.5, -2)``; ``f* = 0`` at ``(5, 4)``; a local minimum ``f = 48.9842...`` at
    ``(11.41..., -0.8968...)`` attracts most methods. Reference: the paper, problem (2);
    F. Freudenstein, B. Roth (1963), J. ACM 10:550-556.
    """

    dim, m = 2, 2
    x0 = [0.5, -2.0]
    x_star = [[5.0, 4.0]]
    f_star = 0.0

    def residuals(self, x):
        x1, x2 = x.unbind(-1)
        return torch.stack([-13.0 + x1 + ((5.0 - x2) * x2 - 2.0) * x2, -29.0 + x1 + ((x2 + 1.0) * x2 - 14.0) * x2], -1)


@register_problem("mgh03-powell-badly-scaled", tags=MGH_TAGS + ZERO + ("badly-scaled",))
class MGH03PowellBadlyScaled(MGHProblem):
    r"""MGH problem 3, Powell badly scaled: ``n = 2, m = 2``.

    .. math:: r_1 = 10^4 x_1 x_2 - 1, \quad r_2 = e^{-x_1} + e^{-x_2} - 1.0001

    ``x0 = (0, 1)``; ``f* = 0`` at ``(1.098...e-5, 9.106...)`` (and its mirror image); the
    minimizers here solve ``r = 0`` to double precision. Reference: the paper, problem (3);
    M. J. D. Powell (1970), in Numerical Methods for Nonlinear Algebraic Equations.
    """

    dim, m = 2, 2
    x0 = [0.0, 1.0]
    x_star = [[1.0981593296998175e-05, 9.106146739866524], [9.106146739866524, 1.0981593296998175e-05]]
    f_star = 0.0

    def residuals(self, x):
        x1, x2 = x.unbind(-1)
        return torch.stack([1e4 * x1 * x2 - 1.0, torch.exp(-x1) + torch.exp(-x2) - 1.0001], -1)


@register_problem("mgh04-brown-badly-scaled", tags=MGH_TAGS + ZERO + ("badly-scaled",))
class MGH04BrownBadlyScaled(MGHProblem):
    r"""MGH problem 4, Brown badly scaled: ``n = 2, m = 3``.

    .. math:: r_1 = x_1 - 10^6, \quad r_2 = x_2 - 2 \cdot 10^{-6}, \quad r_3 = x_1 x_2 - 2

    ``x0 = (1, 1)``; ``f* = 0`` at ``(10^6, 2 \cdot 10^{-6})``. Reference: the paper,
    problem (4); K. M. Brown, unpublished.
    """

    dim, m = 2, 3
    x0 = [1.0, 1.0]
    x_star = [[1e6, 2e-6]]
    f_star = 0.0

    def residuals(self, x):
        x1, x2 = x.unbind(-1)
        return torch.stack([x1 - 1e6, x2 - 2e-6, x1 * x2 - 2.0], -1)


@register_problem("mgh05-beale", tags=MGH_TAGS + ZERO)
class MGH05Beale(MGHProblem):
    r"""MGH problem 5, Beale: ``n = 2, m = 3``.

    .. math:: r_i = y_i - x_1 (1 - x_2^i), \qquad y = (1.5,\ 2.25,\ 2.625)

    ``x0 = (1, 1)``; ``f* = 0`` at ``(3, 0.5)``. Reference: the paper, problem (5);
    E. M. L. Beale (1958), Statistical Techniques Research Group report 25, Princeton.
    """

    dim, m = 2, 3
    x0 = [1.0, 1.0]
    x_star = [[3.0, 0.5]]
    f_star = 0.0

    def residuals(self, x):
        x1, x2 = x.unbind(-1)
        powers = torch.stack([x2, x2**2, x2**3], -1)
        return x.new_tensor([1.5, 2.25, 2.625]) - x1.unsqueeze(-1) * (1.0 - powers)


@register_problem("mgh06-jennrich-sampson", tags=MGH_TAGS)
class MGH06JennrichSampson(MGHProblem):
    r"""MGH problem 6, Jennrich and Sampson: ``n = 2``, ``m >= n`` (default ``m = 10``).

    .. math:: r_i = 2 + 2i - \left(e^{i x_1} + e^{i x_2}\right), \quad i = 1..m

    ``x0 = (0.3, 0.4)``; ``f* = 124.362`` at ``x_1 = x_2 = 0.2578`` for ``m = 10`` (the only
    ``m`` the paper tabulates; ``f_star = None`` otherwise). At ``100 x0`` the value
    overflows float64 (``e^{400}`` squared). Reference: the paper, problem (6);
    R. I. Jennrich, P. F. Sampson (1968), Technometrics 10:63-72.
    """

    dim = 2
    x0 = [0.3, 0.4]

    def __init__(self, m: int = 10, **common):
        self.m = _integer("m", m, 2, why=" (m >= n = 2)")
        self.f_star = 124.362 if self.m == 10 else None
        super().__init__(**common)

    def residuals(self, x):
        i = _arange(x, 1, self.m + 1)
        x1, x2 = x[..., :1], x[..., 1:2]
        return 2.0 + 2.0 * i - (torch.exp(i * x1) + torch.exp(i * x2))


@register_problem("mgh07-helical-valley", tags=MGH_TAGS + ZERO)
class MGH07HelicalValley(MGHProblem):
    r"""MGH problem 7, helical valley: ``n = 3, m = 3``.

    .. math::
        r_1 = 10 (x_3 - 10\,\theta(x_1, x_2)), \quad
        r_2 = 10 \left(\sqrt{x_1^2 + x_2^2} - 1\right), \quad r_3 = x_3

    with ``theta = arctan(x2/x1) / (2 pi)`` for ``x1 > 0`` and ``arctan(x2/x1)/(2 pi) + 0.5``
    for ``x1 < 0`` (``+-0.25`` on ``x1 = 0``, the limit, as in MINPACK-1), i.e. a branch of
    ``atan2`` with values in ``(-1/4, 3/4]``. ``x0 = (-1, 0, 0)``; ``f* = 0`` at ``(1, 0, 0)``.
    Reference: the paper, problem (7); R. Fletcher, M. J. D. Powell (1963), The Computer
    Journal 6:163-168.
    """

    dim, m = 3, 3
    x0 = [-1.0, 0.0, 0.0]
    x_star = [[1.0, 0.0, 0.0]]
    f_star = 0.0

    def residuals(self, x):
        x1, x2, x3 = x.unbind(-1)
        angle = torch.atan2(x2, x1)
        angle = torch.where((x1 < 0) & (angle < 0), angle + 2.0 * math.pi, angle)
        theta = angle / (2.0 * math.pi)
        radius = torch.sqrt(x1**2 + x2**2)
        return torch.stack([10.0 * (x3 - 10.0 * theta), 10.0 * (radius - 1.0), x3], -1)


BARD_Y = (0.14, 0.18, 0.22, 0.25, 0.29, 0.32, 0.35, 0.39, 0.37, 0.58, 0.73, 0.96, 1.34, 2.10, 4.39)


@register_problem("mgh08-bard", tags=MGH_TAGS)
class MGH08Bard(MGHProblem):
    r"""MGH problem 8, Bard: ``n = 3, m = 15``.

    .. math::
        r_i = y_i - \left(x_1 + \frac{u_i}{v_i x_2 + w_i x_3}\right), \quad
        u_i = i,\ v_i = 16 - i,\ w_i = \min(u_i, v_i)

    with the paper's ``y_i`` (:data:`BARD_Y`). ``x0 = (1, 1, 1)``; ``f* = 8.21487e-3``
    (the paper; also ``f = 17.4286...`` at ``(0.8406..., -inf, -inf)``). Reference: the
    paper, problem (8); Y. Bard (1970), SIAM J. Numer. Anal. 7:157-186.
    """

    dim, m = 3, 15
    x0 = [1.0, 1.0, 1.0]
    f_star = 8.21487e-3
    _u = tuple(float(i) for i in range(1, 16))
    _v = tuple(16.0 - i for i in range(1, 16))
    _w = tuple(min(float(i), 16.0 - i) for i in range(1, 16))

    def residuals(self, x):
        x1, x2, x3 = (x[..., k : k + 1] for k in range(3))
        u, v, w = x.new_tensor(self._u), x.new_tensor(self._v), x.new_tensor(self._w)
        return x.new_tensor(BARD_Y) - (x1 + u / (v * x2 + w * x3))


GAUSSIAN_Y = (0.0009, 0.0044, 0.0175, 0.0540, 0.1295, 0.2420, 0.3521, 0.3989,
              0.3521, 0.2420, 0.1295, 0.0540, 0.0175, 0.0044, 0.0009)


@register_problem("mgh09-gaussian", tags=MGH_TAGS)
class MGH09Gaussian(MGHProblem):
    r"""MGH problem 9, Gaussian: ``n = 3, m = 15``.

    .. math:: r_i = x_1 \exp\!\left(-\tfrac{x_2 (t_i - x_3)^2}{2}\right) - y_i, \quad t_i = (8 - i)/2

    with the paper's ``y_i`` (:data:`GAUSSIAN_Y`). ``x0 = (0.4, 1, 0)``; ``f* = 1.12793e-8``.
    Reference: the paper, problem (9).
    """

    dim, m = 3, 15
    x0 = [0.4, 1.0, 0.0]
    f_star = 1.12793e-8

    def residuals(self, x):
        t = (8.0 - _arange(x, 1, 16)) / 2.0
        x1, x2, x3 = (x[..., k : k + 1] for k in range(3))
        return x1 * torch.exp(-0.5 * x2 * (t - x3) ** 2) - x.new_tensor(GAUSSIAN_Y)


MEYER_Y = (34780.0, 28610.0, 23650.0, 19630.0, 16370.0, 13720.0, 11540.0, 9744.0,
           8261.0, 7030.0, 6005.0, 5147.0, 4427.0, 3820.0, 3307.0, 2872.0)


@register_problem("mgh10-meyer", tags=MGH_TAGS + ("badly-scaled",))
class MGH10Meyer(MGHProblem):
    r"""MGH problem 10, Meyer: ``n = 3, m = 16``.

    .. math:: r_i = x_1 \exp\!\left(\frac{x_2}{t_i + x_3}\right) - y_i, \quad t_i = 45 + 5i

    with the paper's ``y_i`` (:data:`MEYER_Y`). ``x0 = (0.02, 4000, 250)``;
    ``f* = 87.9458``. Reference: the paper, problem (10); R. R. Meyer (1970), in Nonlinear
    Programming, Academic Press, pp. 465-486.
    """

    dim, m = 3, 16
    x0 = [0.02, 4000.0, 250.0]
    f_star = 87.9458

    def residuals(self, x):
        t = 45.0 + 5.0 * _arange(x, 1, 17)
        x1, x2, x3 = (x[..., k : k + 1] for k in range(3))
        return x1 * torch.exp(x2 / (t + x3)) - x.new_tensor(MEYER_Y)


@register_problem("mgh11-gulf", tags=MGH_TAGS + ZERO)
class MGH11Gulf(MGHProblem):
    r"""MGH problem 11, Gulf research and development: ``n = 3``, ``n <= m <= 100``.

    .. math::
        r_i = \exp\!\left(-\frac{|y_i - x_2|^{x_3}}{x_1}\right) - t_i, \quad
        t_i = i/100, \quad y_i = 25 + (-50 \ln t_i)^{2/3}

    (the paper prints the minus sign in ``|y_i - x_2|`` as "mi"; Algorithm 566 has the form
    above). Default ``m = 99``, the value of Algorithm 566. ``x0 = (5, 2.5, 0.15)``;
    ``f* = 0`` at ``(50, 25, 1.5)`` for every ``m``. With ``m = 100`` the last term has
    ``y_100 = 25``, and autograd's second derivative in ``x2`` is NaN at ``x2 = 25``.
    Reference: the paper, problem (11); R. A. Cox (1969), Gulf Research and Development Co.
    report.
    """

    dim = 3
    x0 = [5.0, 2.5, 0.15]
    x_star = [[50.0, 25.0, 1.5]]
    f_star = 0.0

    def __init__(self, m: int = 99, **common):
        self.m = _integer("m", m, 3, 100, why=" (n = 3 <= m <= 100)")
        self._t = tuple(i / 100.0 for i in range(1, self.m + 1))
        self._y = tuple(25.0 + (-50.0 * math.log(t)) ** (2.0 / 3.0) for t in self._t)
        super().__init__(**common)
        # the model exp(-|y - x2|^x3 / x1) needs x1 > 0 (it overflows for x1 < 0) and
        # x3 > 0 (|0|^x3 is inf for x3 < 0): random starts are drawn where f is finite
        (lo1, hi1), box2, (lo3, hi3) = self.domain
        self.domain = [(max(lo1, 0.5), hi1), box2, (max(lo3, 0.05), hi3)]

    def residuals(self, x):
        x1, x2, x3 = (x[..., k : k + 1] for k in range(3))
        t, y = x.new_tensor(self._t), x.new_tensor(self._y)
        return torch.exp(-torch.abs(y - x2) ** x3 / x1) - t


@register_problem("mgh12-box-3d", tags=MGH_TAGS + ZERO)
class MGH12Box3D(MGHProblem):
    r"""MGH problem 12, Box three-dimensional: ``n = 3``, ``m >= n`` (default ``m = 10``).

    .. math:: r_i = e^{-t_i x_1} - e^{-t_i x_2} - x_3 \left(e^{-t_i} - e^{-10 t_i}\right), \quad t_i = 0.1 i

    ``x0 = (0, 10, 20)``; ``f* = 0`` at ``(1, 10, 1)``, ``(10, 1, -1)`` and on the line
    ``x1 = x2, x3 = 0``. Reference: the paper, problem (12); M. J. Box (1966), The Computer
    Journal 9:67-77.
    """

    dim = 3
    x0 = [0.0, 10.0, 20.0]
    x_star = [[1.0, 10.0, 1.0], [10.0, 1.0, -1.0]]
    f_star = 0.0

    def __init__(self, m: int = 10, **common):
        self.m = _integer("m", m, 3, why=" (m >= n = 3)")
        super().__init__(**common)

    def residuals(self, x):
        t = 0.1 * _arange(x, 1, self.m + 1)
        x1, x2, x3 = (x[..., k : k + 1] for k in range(3))
        return torch.exp(-t * x1) - torch.exp(-t * x2) - x3 * (torch.exp(-t) - torch.exp(-10.0 * t))


@register_problem("mgh13-powell-singular", tags=MGH_TAGS + ZERO + ("singular",))
class MGH13PowellSingular(MGHProblem):
    r"""MGH problem 13, Powell singular: ``n = 4, m = 4``.

    .. math::
        r_1 = x_1 + 10 x_2, \quad r_2 = \sqrt5 (x_3 - x_4), \quad
        r_3 = (x_2 - 2 x_3)^2, \quad r_4 = \sqrt{10} (x_1 - x_4)^2

    ``x0 = (3, -1, 0, 1)``; ``f* = 0`` at the origin, where the Hessian is singular.
    Reference: the paper, problem (13); M. J. D. Powell (1962), The Computer Journal 5:147-151.
    """

    dim, m = 4, 4
    x0 = [3.0, -1.0, 0.0, 1.0]
    x_star = [[0.0, 0.0, 0.0, 0.0]]
    f_star = 0.0

    def residuals(self, x):
        return _powell_block(*x.unbind(-1))


def _powell_block(a: Tensor, b: Tensor, c: Tensor, d: Tensor) -> Tensor:
    return torch.stack([a + 10.0 * b, math.sqrt(5.0) * (c - d), (b - 2.0 * c) ** 2, math.sqrt(10.0) * (a - d) ** 2], -1)


@register_problem("mgh14-wood", tags=MGH_TAGS + ZERO)
class MGH14Wood(MGHProblem):
    r"""MGH problem 14, Wood: ``n = 4, m = 6``.

    .. math::
        r_1 = 10 (x_2 - x_1^2),\ r_2 = 1 - x_1,\ r_3 = \sqrt{90} (x_4 - x_3^2),\
        r_4 = 1 - x_3,\ r_5 = \sqrt{10} (x_2 + x_4 - 2),\ r_6 = 10^{-1/2} (x_2 - x_4)

    ``x0 = (-3, -1, -3, -1)``; ``f* = 0`` at ``(1, 1, 1, 1)``. Reference: the paper,
    problem (14); A. R. Colville (1968), IBM New York Scientific Center report 320-2949.
    """

    dim, m = 4, 6
    x0 = [-3.0, -1.0, -3.0, -1.0]
    x_star = [[1.0, 1.0, 1.0, 1.0]]
    f_star = 0.0

    def residuals(self, x):
        x1, x2, x3, x4 = x.unbind(-1)
        return torch.stack(
            [
                10.0 * (x2 - x1**2),
                1.0 - x1,
                math.sqrt(90.0) * (x4 - x3**2),
                1.0 - x3,
                math.sqrt(10.0) * (x2 + x4 - 2.0),
                (x2 - x4) / math.sqrt(10.0),
            ],
            -1,
        )


KOWALIK_OSBORNE_Y = (0.1957, 0.1947, 0.1735, 0.1600, 0.0844, 0.0627, 0.0456, 0.0342, 0.0323, 0.0235, 0.0246)
KOWALIK_OSBORNE_U = (4.0, 2.0, 1.0, 0.5, 0.25, 0.167, 0.125, 0.1, 0.0833, 0.0714, 0.0625)


@register_problem("mgh15-kowalik-osborne", tags=MGH_TAGS)
class MGH15KowalikOsborne(MGHProblem):
    r"""MGH problem 15, Kowalik and Osborne: ``n = 4, m = 11``.

    .. math:: r_i = y_i - \frac{x_1 (u_i^2 + u_i x_2)}{u_i^2 + u_i x_3 + x_4}

    with the paper's ``y_i`` and ``u_i`` (:data:`KOWALIK_OSBORNE_Y`,
    :data:`KOWALIK_OSBORNE_U`). ``x0 = (0.25, 0.39, 0.415, 0.39)``; ``f* = 3.07505e-4``
    (also ``f = 1.02734e-3`` at ``(+inf, -14.07..., -inf, -inf)``). Reference: the paper,
    problem (15); J. Kowalik, M. R. Osborne (1968), Methods for Unconstrained Optimization
    Problems, Elsevier.
    """

    dim, m = 4, 11
    x0 = [0.25, 0.39, 0.415, 0.39]
    f_star = 3.07505e-4

    def residuals(self, x):
        u = x.new_tensor(KOWALIK_OSBORNE_U)
        x1, x2, x3, x4 = (x[..., k : k + 1] for k in range(4))
        return x.new_tensor(KOWALIK_OSBORNE_Y) - x1 * (u**2 + u * x2) / (u**2 + u * x3 + x4)


@register_problem("mgh16-brown-dennis", tags=MGH_TAGS)
class MGH16BrownDennis(MGHProblem):
    r"""MGH problem 16, Brown and Dennis: ``n = 4``, ``m >= n`` (default ``m = 20``).

    .. math:: r_i = (x_1 + t_i x_2 - e^{t_i})^2 + (x_3 + x_4 \sin t_i - \cos t_i)^2, \quad t_i = i/5

    ``x0 = (25, 5, -5, -1)``; ``f* = 85822.2`` for ``m = 20`` (the only ``m`` the paper
    tabulates; ``f_star = None`` otherwise). Reference: the paper, problem (16);
    K. M. Brown, J. E. Dennis (1971), Numer. Math. 18:289-297.
    """

    dim = 4
    x0 = [25.0, 5.0, -5.0, -1.0]

    def __init__(self, m: int = 20, **common):
        self.m = _integer("m", m, 4, why=" (m >= n = 4)")
        self.f_star = 85822.2 if self.m == 20 else None
        super().__init__(**common)

    def residuals(self, x):
        t = _arange(x, 1, self.m + 1) / 5.0
        x1, x2, x3, x4 = (x[..., k : k + 1] for k in range(4))
        return (x1 + t * x2 - torch.exp(t)) ** 2 + (x3 + x4 * torch.sin(t) - torch.cos(t)) ** 2


OSBORNE1_Y = (0.844, 0.908, 0.932, 0.936, 0.925, 0.908, 0.881, 0.850, 0.818, 0.784, 0.751,
              0.718, 0.685, 0.658, 0.628, 0.603, 0.580, 0.558, 0.538, 0.522, 0.506, 0.490,
              0.478, 0.467, 0.457, 0.448, 0.438, 0.431, 0.424, 0.420, 0.414, 0.411, 0.406)


@register_problem("mgh17-osborne1", tags=MGH_TAGS)
class MGH17Osborne1(MGHProblem):
    r"""MGH problem 17, Osborne 1: ``n = 5, m = 33``.

    .. math:: r_i = y_i - \left(x_1 + x_2 e^{-t_i x_4} + x_3 e^{-t_i x_5}\right), \quad t_i = 10 (i - 1)

    with the paper's ``y_i`` (:data:`OSBORNE1_Y`). ``x0 = (0.5, 1.5, -1, 0.01, 0.02)``;
    ``f* = 5.46489e-5``. Reference: the paper, problem (17); M. R. Osborne (1972), in
    Numerical Methods for Nonlinear Optimization, Academic Press, pp. 171-189.
    """

    dim, m = 5, 33
    x0 = [0.5, 1.5, -1.0, 0.01, 0.02]
    f_star = 5.46489e-5

    def residuals(self, x):
        t = 10.0 * _arange(x, 0, 33)
        x1, x2, x3, x4, x5 = (x[..., k : k + 1] for k in range(5))
        return x.new_tensor(OSBORNE1_Y) - (x1 + x2 * torch.exp(-t * x4) + x3 * torch.exp(-t * x5))


@register_problem("mgh18-biggs-exp6", tags=MGH_TAGS + ZERO)
class MGH18BiggsExp6(MGHProblem):
    r"""MGH problem 18, Biggs EXP6: ``n = 6``, ``m >= n`` (default ``m = 13``).

    .. math::
        r_i = x_3 e^{-t_i x_1} - x_4 e^{-t_i x_2} + x_6 e^{-t_i x_5} - y_i, \quad
        t_i = 0.1 i, \quad y_i = e^{-t_i} - 5 e^{-10 t_i} + 3 e^{-4 t_i}

    ``x0 = (1, 2, 1, 1, 1, 1)``; ``f* = 0`` at ``(1, 10, 1, 5, 4, 3)`` (and at
    ``(4, 10, 3, 5, 1, 1)``, the same model with the two positive terms swapped) for every
    ``m``; the paper also reports the local minimum ``f = 5.65565e-3`` for ``m = 13``, where
    many methods stop. Reference: the paper, problem (18); M. C. Biggs (1971), J. Inst. Math.
    Appl. 8:315-327.
    """

    dim = 6
    x0 = [1.0, 2.0, 1.0, 1.0, 1.0, 1.0]
    x_star = [[1.0, 10.0, 1.0, 5.0, 4.0, 3.0], [4.0, 10.0, 3.0, 5.0, 1.0, 1.0]]
    f_star = 0.0

    def __init__(self, m: int = 13, **common):
        self.m = _integer("m", m, 6, why=" (m >= n = 6)")
        super().__init__(**common)

    def residuals(self, x):
        t = 0.1 * _arange(x, 1, self.m + 1)
        y = torch.exp(-t) - 5.0 * torch.exp(-10.0 * t) + 3.0 * torch.exp(-4.0 * t)
        x1, x2, x3, x4, x5, x6 = (x[..., k : k + 1] for k in range(6))
        return x3 * torch.exp(-t * x1) - x4 * torch.exp(-t * x2) + x6 * torch.exp(-t * x5) - y


OSBORNE2_Y = (1.366, 1.191, 1.112, 1.013, 0.991, 0.885, 0.831, 0.847, 0.786, 0.725, 0.746,
              0.679, 0.608, 0.655, 0.616, 0.606, 0.602, 0.626, 0.651, 0.724, 0.649, 0.649,
              0.694, 0.644, 0.624, 0.661, 0.612, 0.558, 0.533, 0.495, 0.500, 0.423, 0.395,
              0.375, 0.372, 0.391, 0.396, 0.405, 0.428, 0.429, 0.523, 0.562, 0.607, 0.653,
              0.672, 0.708, 0.633, 0.668, 0.645, 0.632, 0.591, 0.559, 0.597, 0.625, 0.739,
              0.710, 0.729, 0.720, 0.636, 0.581, 0.428, 0.292, 0.162, 0.098, 0.054)


@register_problem("mgh19-osborne2", tags=MGH_TAGS)
class MGH19Osborne2(MGHProblem):
    r"""MGH problem 19, Osborne 2: ``n = 11, m = 65``.

    .. math::
        r_i = y_i - \left(x_1 e^{-t_i x_5} + x_2 e^{-(t_i - x_9)^2 x_6}
              + x_3 e^{-(t_i - x_{10})^2 x_7} + x_4 e^{-(t_i - x_{11})^2 x_8}\right),
        \quad t_i = (i - 1)/10

    with the paper's ``y_i`` (:data:`OSBORNE2_Y`).
    ``x0 = (1.3, 0.65, 0.65, 0.7, 0.6, 3, 5, 7, 2, 4.5, 5.5)``; ``f* = 4.01377e-2``.
    Reference: the paper, problem (19); M. R. Osborne (1972), see problem 17.
    """

    dim, m = 11, 65
    x0 = [1.3, 0.65, 0.65, 0.7, 0.6, 3.0, 5.0, 7.0, 2.0, 4.5, 5.5]
    f_star = 4.01377e-2

    def residuals(self, x):
        t = _arange(x, 0, 65) / 10.0
        c = [x[..., k : k + 1] for k in range(11)]
        model = c[0] * torch.exp(-t * c[4])
        for amp, width, centre in ((c[1], c[5], c[8]), (c[2], c[6], c[9]), (c[3], c[7], c[10])):
            model = model + amp * torch.exp(-((t - centre) ** 2) * width)
        return x.new_tensor(OSBORNE2_Y) - model


# ---------------------------------------------------------------------------------------
# Problems 20-35: variable n
# ---------------------------------------------------------------------------------------
@register_problem("mgh20-watson", tags=MGH_TAGS + SCALABLE)
class MGH20Watson(MGHProblem):
    r"""MGH problem 20, Watson: ``2 <= n <= 31``, ``m = 31`` (default ``n = 6``).

    .. math::
        r_i = \sum_{j=2}^{n} (j - 1) x_j t_i^{j-2} - \Big(\sum_{j=1}^{n} x_j t_i^{j-1}\Big)^2 - 1,
        \quad t_i = i/29,\ i = 1..29; \qquad r_{30} = x_1, \quad r_{31} = x_2 - x_1^2 - 1

    ``x0 = 0`` (a scale ``s != 1`` starts at ``(s, ..., s)``, as in the paper's drivers);
    ``f* = 2.28767e-3`` (n = 6), ``1.39976e-6`` (n = 9), ``4.72238e-10`` (n = 12), the sizes
    the paper tabulates; ``f_star = None`` for other ``n``. Reference: the paper,
    problem (20); J. Kowalik, M. R. Osborne (1968), see problem 15.
    """

    m = 31

    def __init__(self, dim: int = 6, **common):
        self.dim = _integer("dim", dim, 2, 31)
        self.f_star = {6: 2.28767e-3, 9: 1.39976e-6, 12: 4.72238e-10}.get(self.dim)
        t = [i / 29.0 for i in range(1, 30)]
        self._derivative = tuple(tuple(j * ti ** (j - 1) if j else 0.0 for j in range(self.dim)) for ti in t)
        self._vandermonde = tuple(tuple(ti**j for j in range(self.dim)) for ti in t)
        super().__init__(**common)

    def standard_start(self):
        return [0.0] * self.dim

    def scale_start(self, standard, scale):
        return list(standard) if scale == 1.0 else [scale] * self.dim

    def residuals(self, x):
        a, v = x.new_tensor(self._derivative), x.new_tensor(self._vandermonde)
        head = x @ a.mT - (x @ v.mT) ** 2 - 1.0
        x1, x2 = x[..., :1], x[..., 1:2]
        return torch.cat([head, x1, x2 - x1**2 - 1.0], -1)


@register_problem("mgh21-extended-rosenbrock", tags=MGH_TAGS + ZERO + SCALABLE)
class MGH21ExtendedRosenbrock(MGHProblem):
    r"""MGH problem 21, extended Rosenbrock: ``n`` even, ``m = n`` (default ``n = 10``).

    .. math:: r_{2i-1} = 10 (x_{2i} - x_{2i-1}^2), \quad r_{2i} = 1 - x_{2i-1}

    ``x0 = (-1.2, 1, ..., -1.2, 1)``; ``f* = 0`` at ``(1, ..., 1)``. Reference: the paper,
    problem (21); P. L. Toint (1978), in Sparse Matrices and Their Uses.
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 2)
        if self.dim % 2:
            raise ValueError(f"dim={dim!r} must be even (the extended Rosenbrock function pairs the variables)")
        self.m = self.dim
        self.x_star = [[1.0] * self.dim]
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [-1.2, 1.0] * (self.dim // 2)

    def residuals(self, x):
        odd, even = x.unflatten(-1, (self.dim // 2, 2)).unbind(-1)
        return torch.stack([10.0 * (even - odd**2), 1.0 - odd], -1).flatten(-2)


@register_problem("mgh22-extended-powell-singular", tags=MGH_TAGS + ZERO + SCALABLE + ("singular",))
class MGH22ExtendedPowellSingular(MGHProblem):
    r"""MGH problem 22, extended Powell singular: ``n`` a multiple of 4, ``m = n`` (default ``n = 12``).

    .. math::
        r_{4i-3} = x_{4i-3} + 10 x_{4i-2},\
        r_{4i-2} = \sqrt5 (x_{4i-1} - x_{4i}),\
        r_{4i-1} = (x_{4i-2} - 2 x_{4i-1})^2,\
        r_{4i} = \sqrt{10} (x_{4i-3} - x_{4i})^2

    ``x0 = (3, -1, 0, 1, ...)``; ``f* = 0`` at the origin. Reference: the paper,
    problem (22); R. Spedicato (1975), CISE report N-175.
    """

    def __init__(self, dim: int = 12, **common):
        self.dim = _integer("dim", dim, 4)
        if self.dim % 4:
            raise ValueError(f"dim={dim!r} must be a multiple of 4 (the function is built from blocks of 4)")
        self.m = self.dim
        self.x_star = [[0.0] * self.dim]
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [3.0, -1.0, 0.0, 1.0] * (self.dim // 4)

    def residuals(self, x):
        return _powell_block(*x.unflatten(-1, (self.dim // 4, 4)).unbind(-1)).flatten(-2)


@register_problem("mgh23-penalty1", tags=MGH_TAGS + SCALABLE)
class MGH23Penalty1(MGHProblem):
    r"""MGH problem 23, penalty function I: ``n`` variable, ``m = n + 1`` (default ``n = 10``).

    .. math:: r_i = \sqrt{10^{-5}}\,(x_i - 1),\ i = 1..n; \qquad r_{n+1} = \sum_{j=1}^n x_j^2 - \tfrac14

    ``x0 = (1, 2, ..., n)``; ``f* = 2.24997e-5`` (n = 4), ``7.08765e-5`` (n = 10), the sizes
    the paper tabulates; ``f_star = None`` for other ``n``. Reference: the paper,
    problem (23); P. E. Gill, W. Murray, R. A. Pitfield (1972), NPL report NAC 11.
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim + 1
        self.f_star = {4: 2.24997e-5, 10: 7.08765e-5}.get(self.dim)
        super().__init__(**common)

    def standard_start(self):
        return [float(j) for j in range(1, self.dim + 1)]

    def residuals(self, x):
        return torch.cat([math.sqrt(1e-5) * (x - 1.0), (x**2).sum(-1, keepdim=True) - 0.25], -1)


@register_problem("mgh24-penalty2", tags=MGH_TAGS + SCALABLE)
class MGH24Penalty2(MGHProblem):
    r"""MGH problem 24, penalty function II: ``n`` variable, ``m = 2n`` (default ``n = 10``).

    .. math::
        r_1 = x_1 - 0.2; \quad
        r_i = \sqrt a \left(e^{x_i/10} + e^{x_{i-1}/10} - y_i\right),\ 2 \le i \le n; \quad
        r_i = \sqrt a \left(e^{x_{i-n+1}/10} - e^{-1/10}\right),\ n < i < 2n; \quad
        r_{2n} = \sum_{j=1}^n (n - j + 1) x_j^2 - 1

    with ``a = 1e-5`` and ``y_i = e^{i/10} + e^{(i-1)/10}``. ``x0 = (1/2, ..., 1/2)``;
    ``f* = 9.37629e-6`` (n = 4), ``2.93660e-4`` (n = 10), the sizes the paper tabulates;
    ``f_star = None`` for other ``n``. Reference: the paper, problem (24); Gill, Murray and
    Pitfield (1972), see problem 23.
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = 2 * self.dim
        self.f_star = {4: 9.37629e-6, 10: 2.93660e-4}.get(self.dim)
        super().__init__(**common)

    def standard_start(self):
        return [0.5] * self.dim

    def residuals(self, x):
        n, root_a = self.dim, math.sqrt(1e-5)
        i = _arange(x, 2, n + 1)
        y = torch.exp(i / 10.0) + torch.exp((i - 1.0) / 10.0)
        e = torch.exp(x / 10.0)
        weights = _arange(x, 1, n + 1).flip(0)  # n - j + 1
        return torch.cat(
            [
                x[..., :1] - 0.2,
                root_a * (e[..., 1:] + e[..., :-1] - y),
                root_a * (e[..., 1:] - math.exp(-0.1)),
                (weights * x**2).sum(-1, keepdim=True) - 1.0,
            ],
            -1,
        )


@register_problem("mgh25-variably-dimensioned", tags=MGH_TAGS + ZERO + SCALABLE)
class MGH25VariablyDimensioned(MGHProblem):
    r"""MGH problem 25, variably dimensioned: ``n`` variable, ``m = n + 2`` (default ``n = 10``).

    .. math::
        r_i = x_i - 1,\ i = 1..n; \quad
        r_{n+1} = \sum_{j=1}^n j (x_j - 1); \quad
        r_{n+2} = \Big(\sum_{j=1}^n j (x_j - 1)\Big)^2

    ``x0_j = 1 - j/n``; ``f* = 0`` at ``(1, ..., 1)``. Reference: the paper, problem (25).
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim + 2
        self.x_star = [[1.0] * self.dim]
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [1.0 - j / self.dim for j in range(1, self.dim + 1)]

    def residuals(self, x):
        d = x - 1.0
        s = (_arange(x, 1, self.dim + 1) * d).sum(-1, keepdim=True)
        return torch.cat([d, s, s**2], -1)


@register_problem("mgh26-trigonometric", tags=MGH_TAGS + ZERO + SCALABLE)
class MGH26Trigonometric(MGHProblem):
    r"""MGH problem 26, trigonometric: ``n`` variable, ``m = n`` (default ``n = 10``).

    .. math:: r_i = n - \sum_{j=1}^n \cos x_j + i (1 - \cos x_i) - \sin x_i

    ``x0 = (1/n, ..., 1/n)``; ``f* = 0`` (the paper gives no minimizer in closed form).
    Reference: the paper, problem (26); E. Spedicato (1975), see problem 22.
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [1.0 / self.dim] * self.dim

    def residuals(self, x):
        cos = torch.cos(x)
        i = _arange(x, 1, self.dim + 1)
        return self.dim - cos.sum(-1, keepdim=True) + i * (1.0 - cos) - torch.sin(x)


@register_problem("mgh27-brown-almost-linear", tags=MGH_TAGS + ZERO + SCALABLE)
class MGH27BrownAlmostLinear(MGHProblem):
    r"""MGH problem 27, Brown almost-linear: ``n`` variable, ``m = n`` (default ``n = 10``).

    .. math:: r_i = x_i + \sum_{j=1}^n x_j - (n + 1),\ 1 \le i < n; \qquad r_n = \prod_{j=1}^n x_j - 1

    ``x0 = (1/2, ..., 1/2)``; ``f* = 0`` at ``(a, ..., a, a^{1-n})`` for each root ``a`` of
    ``n a^n - (n + 1) a^{n-1} + 1 = 0`` (``a = 1`` among them); also ``f = 1`` at
    ``(0, ..., 0, n + 1)``. Reference: the paper, problem (27); K. M. Brown (1969), SIAM J.
    Numer. Anal. 6:560-569.
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim
        self.x_star = [[1.0] * self.dim]
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [0.5] * self.dim

    def residuals(self, x):
        total = x.sum(-1, keepdim=True)
        return torch.cat([x[..., :-1] + total - (self.dim + 1.0), x.prod(-1, keepdim=True) - 1.0], -1)


def _grid(n: int) -> list[float]:
    """``t_j = j h``, ``h = 1/(n+1)``, ``j = 1..n``: the interior grid of problems 28 and 29."""
    return [j / (n + 1.0) for j in range(1, n + 1)]


@register_problem("mgh28-discrete-boundary-value", tags=MGH_TAGS + ZERO + SCALABLE)
class MGH28DiscreteBoundaryValue(MGHProblem):
    r"""MGH problem 28, discrete boundary value: ``n`` variable, ``m = n`` (default ``n = 10``).

    .. math:: r_i = 2 x_i - x_{i-1} - x_{i+1} + \tfrac{h^2}{2} (x_i + t_i + 1)^3

    with ``h = 1/(n+1)``, ``t_i = i h`` and ``x_0 = x_{n+1} = 0``. ``x0_j = t_j (t_j - 1)``;
    ``f* = 0`` (the solution of the discretised two-point boundary value problem, not in
    closed form). Reference: the paper, problem (28); J. J. Moré, M. Y. Cosnard (1979), ACM
    TOMS 5:64-85.
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [t * (t - 1.0) for t in _grid(self.dim)]

    def residuals(self, x):
        h = 1.0 / (self.dim + 1.0)
        t = x.new_tensor(_grid(self.dim))
        padded = F.pad(x, (1, 1))
        return 2.0 * x - padded[..., :-2] - padded[..., 2:] + 0.5 * h**2 * (x + t + 1.0) ** 3


@register_problem("mgh29-discrete-integral-equation", tags=MGH_TAGS + ZERO + SCALABLE)
class MGH29DiscreteIntegralEquation(MGHProblem):
    r"""MGH problem 29, discrete integral equation: ``n`` variable, ``m = n`` (default ``n = 10``).

    .. math::
        r_i = x_i + \frac h2 \Big[(1 - t_i) \sum_{j=1}^{i} t_j (x_j + t_j + 1)^3
              + t_i \sum_{j=i+1}^{n} (1 - t_j) (x_j + t_j + 1)^3\Big]

    with ``h = 1/(n+1)``, ``t_i = i h``. ``x0_j = t_j (t_j - 1)``; ``f* = 0`` (not in closed
    form). Reference: the paper, problem (29); Moré and Cosnard (1979), see problem 28.
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [t * (t - 1.0) for t in _grid(self.dim)]

    def residuals(self, x):
        h = 1.0 / (self.dim + 1.0)
        t = x.new_tensor(_grid(self.dim))
        cube = (x + t + 1.0) ** 3
        lower = torch.cumsum(t * cube, -1)  # sum over j <= i
        tail = torch.flip(torch.cumsum(torch.flip((1.0 - t) * cube, (-1,)), -1), (-1,))  # sum over j >= i
        upper = F.pad(tail[..., 1:], (0, 1))  # sum over j > i
        return x + 0.5 * h * ((1.0 - t) * lower + t * upper)


@register_problem("mgh30-broyden-tridiagonal", tags=MGH_TAGS + ZERO + SCALABLE)
class MGH30BroydenTridiagonal(MGHProblem):
    r"""MGH problem 30, Broyden tridiagonal: ``n`` variable, ``m = n`` (default ``n = 10``).

    .. math:: r_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1, \quad x_0 = x_{n+1} = 0

    ``x0 = (-1, ..., -1)``; ``f* = 0`` (not in closed form). Reference: the paper,
    problem (30); C. G. Broyden (1965), Math. Comp. 19:577-593.
    """

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [-1.0] * self.dim

    def residuals(self, x):
        padded = F.pad(x, (1, 1))
        return (3.0 - 2.0 * x) * x - padded[..., :-2] - 2.0 * padded[..., 2:] + 1.0


@register_problem("mgh31-broyden-banded", tags=MGH_TAGS + ZERO + SCALABLE)
class MGH31BroydenBanded(MGHProblem):
    r"""MGH problem 31, Broyden banded: ``n`` variable, ``m = n`` (default ``n = 10``).

    .. math::
        r_i = x_i (2 + 5 x_i^2) + 1 - \sum_{j \in J_i} x_j (1 + x_j), \quad
        J_i = \{j \ne i : \max(1, i - 5) \le j \le \min(n, i + 1)\}

    ``x0 = (-1, ..., -1)``; ``f* = 0`` (not in closed form). Reference: the paper,
    problem (31); Broyden (1971), Math. Comp. 25:285-294.
    """

    lower_band, upper_band = 5, 1

    def __init__(self, dim: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim
        self.f_star = 0.0
        super().__init__(**common)

    def standard_start(self):
        return [-1.0] * self.dim

    def residuals(self, x):
        lo, up, n = self.lower_band, self.upper_band, self.dim
        g = F.pad(x * (1.0 + x), (lo, up))  # g_j = x_j (1 + x_j), zero outside 1..n
        band = sum(g[..., k : k + n] for k in range(lo + up + 1) if k != lo)
        return x * (2.0 + 5.0 * x**2) + 1.0 - band


@register_problem("mgh32-linear-full-rank", tags=MGH_TAGS + SCALABLE + ("linear",))
class MGH32LinearFullRank(MGHProblem):
    r"""MGH problem 32, linear function -- full rank: ``n`` variable, ``m >= n`` (default ``n = 5, m = 10``).

    .. math::
        r_i = x_i - \frac2m \sum_{j=1}^n x_j - 1,\ 1 \le i \le n; \qquad
        r_i = -\frac2m \sum_{j=1}^n x_j - 1,\ n < i \le m

    ``x0 = (1, ..., 1)``; ``f* = m - n`` at ``(-1, ..., -1)``. Defaults are MINPACK-1's test
    sizes. Reference: the paper, problem (32).
    """

    def __init__(self, dim: int = 5, m: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = _integer("m", m, self.dim, why=f" (m >= n = {self.dim})")
        self.x_star = [[-1.0] * self.dim]
        self.f_star = float(self.m - self.dim)
        super().__init__(**common)

    def standard_start(self):
        return [1.0] * self.dim

    def residuals(self, x):
        total = x.sum(-1, keepdim=True)
        return F.pad(x, (0, self.m - self.dim)) - 2.0 * total / self.m - 1.0


@register_problem("mgh33-linear-rank1", tags=MGH_TAGS + SCALABLE + ("linear",))
class MGH33LinearRank1(MGHProblem):
    r"""MGH problem 33, linear function -- rank 1: ``n`` variable, ``m >= n`` (default ``n = 5, m = 10``).

    .. math:: r_i = i \sum_{j=1}^n j x_j - 1

    ``x0 = (1, ..., 1)``; ``f* = m (m - 1) / (2 (2m + 1))`` on the hyperplane
    ``sum_j j x_j = 3/(2m + 1)``; ``x_star`` lists its point with equal coordinates.
    Reference: the paper, problem (33).
    """

    def __init__(self, dim: int = 5, m: int = 10, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = _integer("m", m, self.dim, why=f" (m >= n = {self.dim})")
        level = 3.0 / (2 * self.m + 1)
        self.x_star = [[level / (self.dim * (self.dim + 1) / 2)] * self.dim]
        self.f_star = self.m * (self.m - 1) / (2.0 * (2 * self.m + 1))
        super().__init__(**common)

    def standard_start(self):
        return [1.0] * self.dim

    def residuals(self, x):
        s = (_arange(x, 1, self.dim + 1) * x).sum(-1, keepdim=True)
        return _arange(x, 1, self.m + 1) * s - 1.0


@register_problem("mgh34-linear-rank1-zero-cols", tags=MGH_TAGS + SCALABLE + ("linear",))
class MGH34LinearRank1ZeroCols(MGHProblem):
    r"""MGH problem 34, linear function -- rank 1 with zero columns and rows: ``n >= 3``, ``m >= n``
    (default ``n = 5, m = 10``).

    .. math::
        r_1 = -1; \quad r_i = (i - 1) \sum_{j=2}^{n-1} j x_j - 1,\ 2 \le i < m; \quad r_m = -1

    ``x0 = (1, ..., 1)``; ``f* = (m^2 + 3m - 6) / (2 (2m - 3))`` on the hyperplane
    ``sum_{j=2}^{n-1} j x_j = 3/(2m - 3)``; ``x_star`` lists its point with ``x_1 = x_n = 1``
    and equal middle coordinates. ``n >= 3`` because for ``n < 3`` no variable enters and
    ``f`` is constant. Reference: the paper, problem (34).
    """

    def __init__(self, dim: int = 5, m: int = 10, **common):
        self.dim = _integer("dim", dim, 3, why=" (for n < 3 the function is constant)")
        self.m = _integer("m", m, self.dim, why=f" (m >= n = {self.dim})")
        level = 3.0 / (2 * self.m - 3)
        middle = level / (self.dim * (self.dim - 1) / 2 - 1)  # sum_{j=2}^{n-1} j
        self.x_star = [[1.0] + [middle] * (self.dim - 2) + [1.0]]
        self.f_star = (self.m**2 + 3 * self.m - 6) / (2.0 * (2 * self.m - 3))
        super().__init__(**common)

    def standard_start(self):
        return [1.0] * self.dim

    def residuals(self, x):
        cols = F.pad(_arange(x, 2, self.dim), (1, 1))  # (0, 2, 3, ..., n-1, 0)
        rows = F.pad(_arange(x, 0, self.m - 1), (0, 1))  # (0, 1, ..., m-2, 0)
        return rows * (cols * x).sum(-1, keepdim=True) - 1.0


@register_problem("mgh35-chebyquad", tags=MGH_TAGS + SCALABLE)
class MGH35Chebyquad(MGHProblem):
    r"""MGH problem 35, Chebyquad: ``n`` variable, ``m >= n`` (default ``n = 10``, ``m = n``).

    .. math::
        r_i = \frac1n \sum_{j=1}^n T_i(x_j) - \int_0^1 T_i(t)\,dt, \qquad
        \int_0^1 T_i = 0 \text{ for odd } i, \quad -\frac{1}{i^2 - 1} \text{ for even } i

    where ``T_i`` is the ``i``-th Chebyshev polynomial shifted to ``[0, 1]``
    (``T_i(t) = \cos(i \arccos(2t - 1))``). ``x0_j = j/(n + 1)``. ``f* = 0`` for
    ``m = n``, ``1 <= n <= 7`` and ``n = 9``; ``3.51687e-3`` for ``m = n = 8``;
    ``6.50395e-3`` for ``m = n = 10``; ``f_star = None`` for other sizes (not tabulated).
    ``m = None`` means ``m = n``. Reference: the paper, problem (35); R. Fletcher (1965), The
    Computer Journal 8:33-41.
    """

    def __init__(self, dim: int = 10, m: int | None = None, **common):
        self.dim = _integer("dim", dim, 1)
        self.m = self.dim if m is None else _integer("m", m, self.dim, why=f" (m >= n = {self.dim})")
        if self.m == self.dim:
            self.f_star = {8: 3.51687e-3, 10: 6.50395e-3}.get(self.dim, 0.0 if self.dim <= 9 else None)
        else:
            self.f_star = None
        super().__init__(**common)

    def standard_start(self):
        return [j / (self.dim + 1.0) for j in range(1, self.dim + 1)]

    def residuals(self, x):
        y = 2.0 * x - 1.0
        previous, current = torch.ones_like(y), y
        out = []
        for i in range(1, self.m + 1):
            integral = -1.0 / (i * i - 1.0) if i % 2 == 0 else 0.0
            out.append(current.mean(-1) - integral)
            previous, current = current, 2.0 * y * current - previous
        return torch.stack(out, -1)
