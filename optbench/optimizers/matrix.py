"""Matrix optimizers: methods that update a weight matrix as a matrix, not coordinate by coordinate.

Such a method applies only to 2-D parameters (``param_ndim=2`` on its registration); on a
problem with no weight matrix the runner records the run as ``not-applicable``. The other
parameters of a network (biases, gains) go to the method's declared ``fallback``, as in
every published use of Muon; :class:`Partitioned` steps the two optimizers as one.
"""
from __future__ import annotations

import torch

from ..optimizer import LogUniform, Uniform
from ..registry import register_optimizer
from .first_order import LR


class Partitioned:
    """Optimizers over disjoint parameter sets, stepped as one torch.optim-style optimizer.

    ``step(closure)`` evaluates the closure once (one counted evaluation: every parameter's
    gradient comes from it), then steps each optimizer on those gradients.
    """

    def __init__(self, *optimizers):
        self.optimizers = [o for o in optimizers if o is not None]

    @property
    def param_groups(self) -> list[dict]:
        return [g for o in self.optimizers for g in o.param_groups]

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for optimizer in self.optimizers:
            optimizer.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=set_to_none)


def split_by_ndim(params, ndim: int) -> tuple[list, list]:
    """``params`` split into those with ``ndim`` dimensions and the rest (order kept)."""
    params = list(params)
    return [p for p in params if p.dim() == ndim], [p for p in params if p.dim() != ndim]


@register_optimizer("muon", tags=("first-order", "matrix", "momentum"), family="matrix", param_ndim=2,
                    fallback="adamw",
                    search_space={"lr": LogUniform(1e-4, 1e-1), "momentum": Uniform(0.8, 0.99), "adamw_lr": LR})
def muon(params, lr=0.001, weight_decay=0.1, momentum=0.95, nesterov=True, ns_steps=5, adjust_lr_fn="original",
         adamw_lr=0.001, adamw_weight_decay=0.01):
    r"""Muon: momentum, orthogonalized by Newton-Schulz, for 2-D weight matrices; AdamW for the rest.

    For every weight matrix ``W`` (shape ``A x B``) with gradient ``G_k``:

    .. math::
        M_k = \mu M_{k-1} + G_k,\quad U_k = G_k + \mu M_k \ (\text{nesterov}) \text{ or } M_k,\\
        O_k = \mathrm{NS}_5(U_k) \approx U V^\top \ (U_k = U S V^\top),\quad
        W_{k+1} = (1 - lr\,\lambda) W_k - lr\,\sqrt{\max(1, A/B)}\; O_k

    where ``NS_5`` is five steps of the quintic Newton-Schulz iteration
    ``X <- aX + (bXX^T + c(XX^T)^2)X``, ``(a, b, c) = (3.4445, -4.775, 2.0315)``, in bfloat16
    on ``U_k / ||U_k||_F`` (torch.optim.Muon; ``adjust_lr_fn="match_rms_adamw"`` scales by
    ``0.2 sqrt(max(A, B))`` instead). ``lambda = weight_decay``. Defaults are torch's.

    Applies to 2-D parameters only: on a problem without a weight matrix (every analytic
    landscape) the run is ``not-applicable``. Every other parameter (biases) is updated by
    the declared fallback, AdamW (torch.optim.AdamW, betas (0.9, 0.999), eps 1e-8) with
    ``lr = adamw_lr`` and ``weight_decay = adamw_weight_decay`` -- the ``adamw`` built-in's
    defaults -- as in Jordan et al.'s use of Muon.

    References: K. Jordan, Y. Jin, V. Boza, J. You, F. Cesista, L. Newhouse, J. Bernstein
    (2024), "Muon: An optimizer for hidden layers in neural networks",
    kellerjordan.github.io/posts/muon; J. Liu et al. (2025), "Muon is Scalable for LLM
    Training", arXiv:2502.16982 (``match_rms_adamw``).
    """
    matrices, others = split_by_ndim(params, 2)
    if not matrices:
        raise ValueError("muon needs at least one 2-D parameter (a weight matrix)")
    fn = None if adjust_lr_fn == "original" else adjust_lr_fn
    return Partitioned(
        torch.optim.Muon(matrices, lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                         ns_steps=ns_steps, adjust_lr_fn=fn),
        torch.optim.AdamW(others, lr=adamw_lr, weight_decay=adamw_weight_decay) if others else None,
    )
