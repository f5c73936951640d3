"""Second-order methods: Newton with exact Hessians and Hessian-free Newton-CG.

Both need the problem's functional objective (``needs_objective=True``): the runner passes
``objective=`` a :class:`~optbench.problem.FlatObjective`, a pure function of one flat
vector, which torch differentiates twice; with ``gradient_graph=True`` the runner's closure
also leaves the graph of each evaluation's gradient there, so second derivatives at an
evaluated point cost no second evaluation. Function values and gradients come
from the runner's closure (one counted evaluation per call, line-search trials included);
second-order work is counted separately in the optimizer's ``hessian_evaluations``
attribute: one per dense Hessian (``newton``) or per Hessian-vector product
(``newton-cg``), which the runner reports as ``nhev``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ..optimizer import LogUniform, Uniform
from ..registry import register_optimizer
from ..theory import NEWTON
from .linesearch import armijo, check_line_search, flat_grad, flat_params, with_grad
from .rowwise import RowwiseNewton, RowwiseNewtonCG

MAX_SHIFT_TRIES = 64


def cholesky_with_shift(A: Tensor, damping: float) -> tuple[Tensor, float]:
    r"""Cholesky factor of ``A + tau I`` for the smallest ``tau`` of the sequence below that works.

    Nocedal & Wright (2006), Alg. 3.3 ("Cholesky with added multiple of the identity"):
    ``beta = damping * max(1, ||A||_F)``; ``tau_0 = 0`` if ``min_i a_ii > 0`` else
    ``beta - min_i a_ii``; then ``tau_{j+1} = max(2 tau_j, beta)`` until the factorization
    succeeds. ``tau = 0`` when ``A`` is positive definite, so the Newton step is unchanged
    there. Returns ``(L, tau)``.
    """
    beta = damping * max(1.0, float(torch.linalg.matrix_norm(A)))
    min_diag = float(A.diagonal().min())
    tau = 0.0 if min_diag > 0 else beta - min_diag
    eye = torch.eye(A.shape[0], dtype=A.dtype, device=A.device)
    for _ in range(MAX_SHIFT_TRIES):
        L, info = torch.linalg.cholesky_ex(A + tau * eye if tau else A)
        if int(info) == 0:
            return L, tau
        tau = max(2.0 * tau, beta)
    raise RuntimeError(f"no shift up to tau={tau:.3g} makes the Hessian positive definite (is it finite?)")


class _SecondOrder(torch.optim.Optimizer):
    """Shared set-up: one flat parameter vector, the objective, Armijo settings, the counter."""

    def __init__(self, params, objective, defaults: dict):
        check_line_search(defaults["c"], defaults["shrink"], defaults["max_backtracks"])
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} works on one flat vector: pass a single parameter group")
        if [id(p) for p in self.param_groups[0]["params"]] != [id(p) for p in objective.params]:
            raise ValueError("the objective must be a FlatObjective over the same parameters, in the same order")
        self.objective = objective
        self.hessian_evaluations = 0

    def _line_search(self, closure, loss, g: Tensor, d: Tensor) -> None:
        group = self.param_groups[0]
        params = group["params"]
        armijo(closure, params, flat_params(params), d, float(loss), float(g.dot(d)), 1.0, group["c"],
               group["shrink"], group["max_backtracks"])


class Newton(_SecondOrder):
    """Newton's method with a shifted-Cholesky safeguard and an Armijo line search; see :func:`newton`."""

    def __init__(self, params, objective, c: float = 1e-4, shrink: float = 0.5, max_backtracks: int = 50,
                 damping: float = 1e-3):
        if not damping > 0:
            raise ValueError(f"invalid damping={damping!r}: must be > 0")
        super().__init__(params, objective,
                         dict(c=c, shrink=shrink, max_backtracks=int(max_backtracks), damping=damping))

    @torch.no_grad()
    def step(self, closure):
        """One damped Newton step; returns ``f`` at the point the step started from."""
        closure = with_grad(closure)
        group = self.param_groups[0]
        params = group["params"]
        loss = closure()
        g = flat_grad(params)
        if not bool(g.any()) or not math.isfinite(float(loss)):
            return loss
        H = self.objective.hessian(flat_params(params))
        self.hessian_evaluations += 1
        L, _ = cholesky_with_shift((H + H.T) / 2, group["damping"])
        d = -torch.cholesky_solve(g.unsqueeze(1), L).squeeze(1)
        self._line_search(closure, loss, g, d)
        return loss


class NewtonCG(_SecondOrder):
    """Truncated (Hessian-free) Newton with conjugate gradients; see :func:`newton_cg`."""

    def __init__(self, params, objective, c: float = 1e-4, shrink: float = 0.5, max_backtracks: int = 50,
                 max_cg: int = 200):
        if isinstance(max_cg, bool) or int(max_cg) != max_cg or max_cg < 1:
            raise ValueError(f"invalid max_cg={max_cg!r}: must be an integer >= 1")
        super().__init__(params, objective,
                         dict(c=c, shrink=shrink, max_backtracks=int(max_backtracks), max_cg=int(max_cg)))

    def _direction(self, x: Tensor, g: Tensor) -> Tensor:
        """Truncated CG on ``H d = -g`` (Nocedal & Wright 2006, Alg. 7.1)."""
        g_norm = float(g.norm())
        tol = min(0.5, math.sqrt(g_norm)) * g_norm
        z = torch.zeros_like(g)
        r = g.clone()
        p = -r
        rr = float(r.dot(r))
        if rr == 0.0:  # a stationary point: no direction (and CG would divide by zero)
            return z
        hvp = self.objective.hessian_vector_products(x)
        for j in range(self.param_groups[0]["max_cg"]):
            Hp = hvp(p)
            self.hessian_evaluations += 1
            curvature = float(p.dot(Hp))
            if curvature <= 0:  # negative curvature: the last iterate (steepest descent at j = 0)
                return -g if j == 0 else z
            alpha = rr / curvature
            z.add_(p, alpha=alpha)
            r.add_(Hp, alpha=alpha)
            rr_new = float(r.dot(r))
            if math.sqrt(rr_new) < tol:
                break
            p = -r + (rr_new / rr) * p
            rr = rr_new
        return z

    @torch.no_grad()
    def step(self, closure):
        """One truncated-Newton step; returns ``f`` at the point the step started from."""
        closure = with_grad(closure)
        params = self.param_groups[0]["params"]
        loss = closure()
        g = flat_grad(params)
        if not bool(g.any()) or not math.isfinite(float(loss)):
            return loss
        d = self._direction(flat_params(params), g)
        self._line_search(closure, loss, g, d)
        return loss


LINE_SEARCH_SPACE = {"c": LogUniform(1e-6, 0.3), "shrink": Uniform(0.1, 0.9)}


@register_optimizer("newton", tags=("second-order", "line-search", "deterministic", "dense"), needs_objective=True,
                    reuses_evaluations=True, gradient_graph=True, batched=RowwiseNewton, family="Newton",
                    search_space={**LINE_SEARCH_SPACE, "damping": LogUniform(1e-6, 1e-1)}, theory=NEWTON)
def newton(params, objective, c=1e-4, shrink=0.5, max_backtracks=50, damping=1e-3):
    r"""Newton's method: exact Hessian, shifted Cholesky for indefinite Hessians, Armijo backtracking.

    .. math::
        d_k = -(\nabla^2 f(x_k) + \tau_k I)^{-1} \nabla f(x_k), \quad x_{k+1} = x_k + t_k d_k

    The Hessian is ``n`` reverse-over-reverse Hessian-vector products in one batched backward
    pass through the gradient graph of the closure's own evaluation of ``x_k``
    (``gradient_graph``: :meth:`optbench.problem.FlatObjective.hessian`; where the runner keeps
    no graph, :func:`optbench.problem.dense_hessian` of the flat objective builds one); one
    Hessian evaluation per step, counted in ``hessian_evaluations``. Safeguard: "Cholesky with added
    multiple of the identity" (Nocedal & Wright 2006, Alg. 3.3, a Levenberg-Marquardt-style
    shift): ``tau_k = 0`` when the Hessian is positive definite, else the smallest of
    ``beta - min_i h_ii, 2(...), 4(...)...`` with ``beta = damping * max(1, ||H||_F)`` that
    makes the Cholesky factorization succeed, so ``d_k`` is always a descent direction. Step
    length: backtracking Armijo with sufficient-decrease constant ``c``, full step ``t = 1``
    tried first (so the method converges quadratically near a nondegenerate minimizer),
    shrinking by ``shrink`` at most ``max_backtracks`` times. Every trial is a counted closure
    call; the next step's evaluation of the accepted point is served from the runner's cache.
    Dense ``n x n`` Hessian: small problems only. On a strictly convex quadratic the first
    (full) step lands on the minimizer (:data:`optbench.theory.NEWTON`).

    References: J. Nocedal, S. J. Wright (2006), "Numerical Optimization", 2nd ed., Sec. 3.4
    and Alg. 3.3.
    """
    return Newton(params, objective, c=c, shrink=shrink, max_backtracks=max_backtracks, damping=damping)


@register_optimizer("newton-cg", tags=("second-order", "hessian-free", "line-search", "deterministic"),
                    needs_objective=True, reuses_evaluations=True, gradient_graph=True, batched=RowwiseNewtonCG,
                    family="Newton", search_space=dict(LINE_SEARCH_SPACE))
def newton_cg(params, objective, c=1e-4, shrink=0.5, max_backtracks=50, max_cg=200):
    r"""Line-search Newton-CG (truncated Newton), Hessian-free.

    The direction ``d_k`` approximately solves ``\nabla^2 f(x_k)\, d = -\nabla f(x_k)`` by
    conjugate gradients started at ``d = 0``, stopped at the first iterate with

    .. math:: \|\nabla^2 f(x_k)\, d + \nabla f(x_k)\| \le \eta_k \|\nabla f(x_k)\|, \quad
              \eta_k = \min(0.5, \sqrt{\|\nabla f(x_k)\|})

    (superlinear convergence), at the first direction ``p`` of negative or zero curvature
    ``p^T \nabla^2 f\, p \le 0`` (returning the current CG iterate, or ``-\nabla f(x_k)`` if
    that happens at the first iteration), or after ``max_cg`` iterations. Each CG iteration
    uses one Hessian-vector product, counted in ``hessian_evaluations``: reverse-over-reverse
    through the gradient graph of the closure's evaluation of ``x_k`` (``gradient_graph``:
    :meth:`optbench.problem.FlatObjective.hessian_vector_products`; else one graph of the flat
    objective built per step). Then ``x_{k+1} = x_k + t_k d_k`` with backtracking Armijo from
    ``t = 1`` as in :func:`newton`.

    References: J. Nocedal, S. J. Wright (2006), "Numerical Optimization", 2nd ed., Alg. 7.1;
    R. S. Dembo, T. Steihaug (1983), "Truncated-Newton algorithms for large-scale
    unconstrained optimization", Math. Programming 26:190-212.
    """
    return NewtonCG(params, objective, c=c, shrink=shrink, max_backtracks=max_backtracks, max_cg=max_cg)
