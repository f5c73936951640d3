"""Quasi-Newton methods."""
from __future__ import annotations

import torch

from ..optimizer import Choice, LogUniform
from ..registry import register_optimizer


@register_optimizer("lbfgs", tags=("quasi-newton", "line-search", "deterministic"), reuses_evaluations=True,
                    family="quasi-Newton", search_space={"history_size": Choice((5, 10, 20, 50)), "lr": LogUniform(0.1, 1.0)})
def lbfgs(params, lr=1.0, history_size=10, max_ls=25, tolerance_grad=1e-12, tolerance_change=1e-16):
    r"""Limited-memory BFGS with a strong-Wolfe line search (torch.optim.LBFGS).

    Two-loop recursion on the last ``history_size`` pairs ``(s_k, y_k)`` gives
    ``d_k = -H_k grad f(x_k)``; the step ``x_{k+1} = x_k + t_k d_k`` satisfies the strong Wolfe
    conditions (Nocedal & Wright 2006, Alg. 7.4 and 3.5). One harness step is one L-BFGS
    iteration (``max_iter=1``, and ``max_eval = 1 + max_ls`` so each iteration's line search
    may take up to ``max_ls`` evaluations); the re-evaluation torch.optim.LBFGS makes at the start of
    each ``step()`` is served from the runner's cache and not counted.

    References: D. C. Liu, J. Nocedal (1989), "On the limited memory BFGS method for large
    scale optimization", Math. Programming 45:503-528.
    """
    return torch.optim.LBFGS(params, lr=lr, max_iter=1, max_eval=1 + max_ls, history_size=history_size, line_search_fn="strong_wolfe",
                             tolerance_grad=tolerance_grad, tolerance_change=tolerance_change)
