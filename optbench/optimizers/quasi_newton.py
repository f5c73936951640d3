"""Quasi-Newton methods."""
from __future__ import annotations

import torch
from torch.optim.lbfgs import _strong_wolfe  # private in torch; stable since torch 1.4

from ..optimizer import Choice, LogUniform, Uniform
from ..registry import register_optimizer
from .linesearch import flat_grad, flat_params, set_point
from .rowwise import RowwiseBFGS, RowwiseLBFGS


@register_optimizer("lbfgs", tags=("quasi-newton", "line-search", "deterministic"), reuses_evaluations=True,
                    batched=RowwiseLBFGS, family="quasi-Newton",
                    search_space={"history_size": Choice((5, 10, 20, 50)), "lr": LogUniform(0.1, 1.0)})
def lbfgs(params, lr=1.0, history_size=10, max_ls=25, tolerance_grad=1e-12, tolerance_change=1e-16):
    r"""Limited-memory BFGS with a strong-Wolfe line search (torch.optim.LBFGS).

    Two-loop recursion on the last ``history_size`` pairs ``(s_k, y_k)`` gives
    ``d_k = -H_k grad f(x_k)``; the step ``x_{k+1} = x_k + t_k d_k`` satisfies the strong Wolfe
    conditions (Nocedal & Wright 2006, Alg. 7.4 and 3.5). One harness step is one L-BFGS
    iteration (``max_iter=1``, and ``max_eval = 1 + max_ls`` so each iteration's line search
    may take up to ``max_ls`` evaluations); the re-evaluation torch.optim.LBFGS makes at the start of
    each ``step()`` is served from the runner's cache and not counted.

    torch.optim.LBFGS stores a pair only when ``y^T s > 1e-10`` (an absolute threshold, not
    configurable), so on objectives whose curvature near the solution is that small (MGH
    Penalty II, Osborne 1) it stops updating its memory and slows to scaled steepest
    descent; ``benchmarks/lbfgs_vs_scipy.py`` shows the effect against scipy's L-BFGS-B.

    References: D. C. Liu, J. Nocedal (1989), "On the limited memory BFGS method for large
    scale optimization", Math. Programming 45:503-528.
    """
    return torch.optim.LBFGS(params, lr=lr, max_iter=1, max_eval=1 + max_ls, history_size=history_size,
                             line_search_fn="strong_wolfe", tolerance_grad=tolerance_grad,
                             tolerance_change=tolerance_change)


class BFGS(torch.optim.Optimizer):
    r"""Dense BFGS on the inverse Hessian approximation, with a strong-Wolfe line search.

    All parameters form one flat vector of length ``n``; the ``n x n`` matrix ``H_k`` makes
    this a method for small problems (``n`` up to a few thousand). See :func:`bfgs` for the
    update. The line search is torch.optim.LBFGS's ``_strong_wolfe`` (a private torch
    function, ported from Torch7's ``lswolfe.lua``; Nocedal & Wright 2006, Alg. 3.5-3.6).
    """

    def __init__(self, params, lr: float = 1.0, c1: float = 1e-4, c2: float = 0.9, max_ls: int = 25,
                 tolerance_grad: float = 1e-12, tolerance_change: float = 1e-16):
        if not lr > 0:
            raise ValueError(f"invalid initial step lr={lr!r}: must be > 0")
        if not 0 < c1 < c2 < 1:
            raise ValueError(f"invalid Wolfe constants c1={c1!r}, c2={c2!r}: need 0 < c1 < c2 < 1")
        if isinstance(max_ls, bool) or int(max_ls) != max_ls or max_ls < 1:
            raise ValueError(f"invalid max_ls={max_ls!r}: must be an integer >= 1")
        if not tolerance_grad >= 0 or not tolerance_change >= 0:
            raise ValueError(f"invalid tolerances {tolerance_grad!r}, {tolerance_change!r}: must be >= 0")
        super().__init__(params, dict(lr=lr, c1=c1, c2=c2, max_ls=int(max_ls), tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change))
        if len(self.param_groups) != 1:
            raise ValueError("BFGS works on one flat vector: pass a single parameter group")

    @torch.no_grad()
    def step(self, closure):
        """One BFGS iteration; returns ``f`` at the point the step started from."""
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        params = group["params"]
        state = self.state[params[0]]
        loss = closure()
        g = flat_grad(params)
        if float(g.abs().max()) <= group["tolerance_grad"]:
            return loss
        H = state.get("H")
        d = -g if H is None else -(H @ g)
        gtd = float(g.dot(d))
        if H is not None and not gtd < 0:  # rounding lost positive definiteness: restart
            H, d, gtd = None, -g, -float(g.dot(g))
        # the first step (and a restart) is scaled as torch.optim.LBFGS scales its first step
        t = group["lr"] * (min(1.0, 1.0 / float(g.abs().sum())) if H is None else 1.0)
        x = flat_params(params)

        def evaluate(x, t, d):
            set_point(params, x, float(t), d)
            return float(closure()), flat_grad(params)

        _, g_new, t, _ = _strong_wolfe(evaluate, x, t, d, float(loss), g, gtd, group["c1"], group["c2"],
                                       group["tolerance_change"], group["max_ls"])
        t = float(t)
        set_point(params, x, t, d)
        s = d.mul(t)
        y = g_new - g
        ys = float(y.dot(s))
        if ys > torch.finfo(s.dtype).eps * float(s.norm() * y.norm()):
            if H is None:  # Nocedal & Wright (6.20): scale H_0 = (y's / y'y) I before the first update
                H = torch.eye(s.numel(), dtype=s.dtype, device=s.device).mul_(ys / float(y.dot(y)))
            rho = 1.0 / ys
            Hy = H @ y
            H = (H - rho * (torch.outer(s, Hy) + torch.outer(Hy, s))
                 + (rho * rho * float(y.dot(Hy)) + rho) * torch.outer(s, s))
        elif t == 0:  # the line search found no decrease along d: restart from steepest descent
            H = None
        state["H"] = H
        return loss


@register_optimizer("bfgs", tags=("quasi-newton", "line-search", "deterministic", "dense"), reuses_evaluations=True,
                    batched=RowwiseBFGS, family="quasi-Newton", search_space={"lr": LogUniform(0.1, 1.0), "c2": Uniform(0.1, 0.9)})
def bfgs(params, lr=1.0, c1=1e-4, c2=0.9, max_ls=25, tolerance_grad=1e-12, tolerance_change=1e-16):
    r"""Dense BFGS (inverse-Hessian form) with a strong-Wolfe line search, for small problems.

    .. math::
        d_k = -H_k \nabla f(x_k), \quad x_{k+1} = x_k + t_k d_k, \quad
        s_k = x_{k+1} - x_k,\ y_k = \nabla f(x_{k+1}) - \nabla f(x_k),\ \rho_k = 1/(y_k^\top s_k),\\
        H_{k+1} = (I - \rho_k s_k y_k^\top)\, H_k\, (I - \rho_k y_k s_k^\top) + \rho_k s_k s_k^\top

    ``t_k`` satisfies the strong Wolfe conditions with constants ``c1``, ``c2``, starting from
    ``lr`` (the first step from ``lr * min(1, 1/||g||_1)``, ``H_0 = I``, rescaled to
    ``(y^T s / y^T y) I`` before the first update, Nocedal & Wright eq. 6.20). The update is
    skipped when ``y^T s <= eps ||s|| ||y||`` (``eps`` the dtype's machine epsilon), which
    keeps ``H`` positive definite; a failed line search resets ``H`` to the identity.
    ``tolerance_grad`` stops moving once ``max |g_i| <= tolerance_grad``. O(n^2) memory and
    work per step. The next step's evaluation at the accepted point repeats the line search's
    last one and is served from the runner's cache when the two points agree bit for bit.

    References: C. G. Broyden, R. Fletcher, D. Goldfarb, D. F. Shanno (1970); J. Nocedal,
    S. J. Wright (2006), "Numerical Optimization", 2nd ed., Sec. 6.1, Alg. 6.1.
    """
    return BFGS(params, lr=lr, c1=c1, c2=c2, max_ls=max_ls, tolerance_grad=tolerance_grad,
                tolerance_change=tolerance_change)
