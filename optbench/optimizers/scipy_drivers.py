"""Reference methods from scipy.optimize, run as drivers.

Each factory calls :func:`scipy.optimize.minimize` on the runner's
:class:`~optbench.runner.DriverTask`: ``task.fun`` returns ``(f, grad f)`` in float64 NumPy
(one counted evaluation), ``task.hess`` / ``task.hessp`` one counted Hessian evaluation,
and ``task.callback`` records each iteration and raises ``StopIteration`` when the run's
budget or target is reached. scipy's own stopping tolerances default to tight values here so
that the runner's budget and target, not scipy's defaults, end a benchmark run; scipy's
iteration limit is the run's step budget (``task.max_iter``).

scipy's line searches warn (``RuntimeWarning: invalid value encountered in dot``) when a trial
point's gradient is not finite; :func:`minimize` here silences those numerical warnings: the
run's record says what happened (a non-finite value makes it ``diverged``, scipy's message is
kept), and a library warning on the terminal says nothing more.
"""
from __future__ import annotations

import sys
import warnings

import numpy as np
from scipy import optimize

from ..optimizer import Choice, LogUniform
from ..registry import register_optimizer


def minimize(*args, **kwargs):
    """:func:`scipy.optimize.minimize` with its numerical ``RuntimeWarning`` s silenced (see the
    module docstring)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return optimize.minimize(*args, **kwargs)


@register_optimizer("scipy-lbfgsb", tags=("quasi-newton", "line-search", "scipy", "reference"), driver=True,
                    family="quasi-Newton", search_space={"maxcor": Choice((5, 10, 20, 50))})
def scipy_lbfgsb(task, maxcor=10, ftol=1e-15, gtol=1e-12, maxls=20):
    r"""scipy.optimize L-BFGS-B (no bounds): limited-memory BFGS, the Fortran/C reference code.

    ``d_k = -H_k \nabla f(x_k)`` from the ``maxcor`` most recent pairs
    ``(s_i, y_i)`` (compact representation), step by the Moré-Thuente line search (at most
    ``maxls`` evaluations). Stops when ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= ftol``
    or ``max_i |g_i| <= gtol``; scipy's evaluation limit ``maxfun`` is lifted (the run's
    budget applies).

    References: R. H. Byrd, P. Lu, J. Nocedal, C. Zhu (1995), "A limited memory algorithm for
    bound constrained optimization", SIAM J. Sci. Comput. 16(5):1190-1208; J. L. Morales,
    J. Nocedal (2011), "Remark on Algorithm 778", ACM TOMS 38(1).
    """
    return minimize(task.fun, task.x0, jac=True, method="L-BFGS-B", callback=task.callback,
                    options={"maxcor": maxcor, "ftol": ftol, "gtol": gtol, "maxls": maxls,
                             "maxiter": task.max_iter, "maxfun": sys.maxsize})


@register_optimizer("scipy-bfgs", tags=("quasi-newton", "line-search", "scipy", "reference", "dense"), driver=True,
                    family="quasi-Newton", search_space={"gtol": LogUniform(1e-12, 1e-5)})
def scipy_bfgs(task, gtol=1e-12, c1=1e-4, c2=0.9):
    r"""scipy.optimize BFGS: dense inverse-Hessian BFGS with a strong-Wolfe line search.

    .. math:: H_{k+1} = (I - \rho_k s_k y_k^\top) H_k (I - \rho_k y_k s_k^\top) + \rho_k s_k s_k^\top,
              \quad \rho_k = 1 / (y_k^\top s_k)

    Line search: Minpack-2 ``dcsrch`` with Wolfe constants ``c1``, ``c2``. Stops when
    ``max_i |g_i| <= gtol``.

    References: J. Nocedal, S. J. Wright (2006), "Numerical Optimization", 2nd ed., Alg. 6.1.
    """
    return minimize(task.fun, task.x0, jac=True, method="BFGS", callback=task.callback,
                    options={"gtol": gtol, "c1": c1, "c2": c2, "maxiter": task.max_iter})


@register_optimizer("scipy-cg", tags=("first-order", "line-search", "scipy", "reference"), driver=True,
                    family="conjugate gradient", search_space={"c2": Choice((0.1, 0.2, 0.4))})
def scipy_cg(task, gtol=1e-12, c1=1e-4, c2=0.4):
    r"""scipy.optimize CG: nonlinear conjugate gradients (Polak-Ribière+).

    .. math:: d_{k+1} = -\nabla f(x_{k+1}) + \beta_{k+1} d_k, \quad
              \beta_{k+1} = \max\left(0,
              \frac{\nabla f_{k+1}^\top(\nabla f_{k+1} - \nabla f_k)}{\|\nabla f_k\|^2}\right)

    with a strong-Wolfe line search (``c1``, ``c2 < 1/2``). Stops when ``max_i |g_i| <= gtol``.

    References: E. Polak, G. Ribière (1969); Nocedal & Wright (2006), Sec. 5.2, eq. (5.45).
    """
    return minimize(task.fun, task.x0, jac=True, method="CG", callback=task.callback,
                    options={"gtol": gtol, "c1": c1, "c2": c2, "maxiter": task.max_iter})


@register_optimizer("scipy-newton-cg", tags=("second-order", "hessian-free", "line-search", "scipy", "reference"),
                    driver=True, family="Newton", search_space={"xtol": LogUniform(1e-14, 1e-6)})
def scipy_newton_cg(task, xtol=1e-14, c1=1e-4, c2=0.9):
    r"""scipy.optimize Newton-CG with Hessian-vector products from the runner (``task.hessp``).

    Truncated CG on ``\nabla^2 f(x_k) d = -\nabla f(x_k)`` (residual tolerance
    ``min(0.5, sqrt(||g||_1)) ||g||_1``, negative-curvature exit), then a Wolfe line search.
    Stops when the mean absolute step is below ``xtol``. Each HVP is one ``nhev``.

    References: Nocedal & Wright (2006), "Numerical Optimization", 2nd ed., Alg. 7.1.
    """
    return minimize(task.fun, task.x0, jac=True, hessp=task.hessp, method="Newton-CG", callback=task.callback,
                    options={"xtol": xtol, "c1": c1, "c2": c2, "maxiter": task.max_iter})


@register_optimizer("scipy-trust-exact", tags=("second-order", "trust-region", "scipy", "reference", "dense"),
                    driver=True, family="Newton", search_space={"initial_trust_radius": LogUniform(1e-2, 1e2)})
def scipy_trust_exact(task, gtol=1e-10, initial_trust_radius=1.0, max_trust_radius=1000.0, eta=0.15):
    r"""scipy.optimize trust-exact: trust-region Newton with a nearly exact subproblem solution.

    .. math:: d_k = \arg\min_{\|d\| \le \Delta_k} \nabla f_k^\top d + \tfrac12 d^\top \nabla^2 f_k\, d

    solved by the Moré-Sorensen iteration on ``(\nabla^2 f_k + \lambda I) d = -\nabla f_k``;
    the step is accepted when the actual/predicted reduction exceeds ``eta``, and
    ``\Delta_k`` grows or shrinks with it (up to ``max_trust_radius``). The dense Hessian
    comes from ``task.hess`` (one ``nhev`` each). Stops when ``||g||_2 < gtol``.

    References: J. J. Moré, D. C. Sorensen (1983), "Computing a trust region step", SIAM J.
    Sci. Stat. Comput. 4(3):553-572; Conn, Gould & Toint (2000), "Trust-Region Methods",
    Alg. 7.3.6.
    """
    return minimize(task.fun, task.x0, jac=True, hess=task.hess, method="trust-exact", callback=task.callback,
                    options={"gtol": gtol, "initial_trust_radius": initial_trust_radius,
                             "max_trust_radius": max_trust_radius, "eta": eta, "maxiter": task.max_iter})
