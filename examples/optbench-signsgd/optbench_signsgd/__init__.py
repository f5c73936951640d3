"""Sign gradient descent for optbench, registered through the ``optbench.optimizers`` entry point."""
from __future__ import annotations

import torch

import optbench

__version__ = "0.1.0"


class SignSGD(torch.optim.Optimizer):
    """``x <- x - lr * sign(grad f(x))``, coordinate by coordinate."""

    def __init__(self, params, lr: float = 0.01):
        if not lr > 0:
            raise ValueError(f"invalid learning rate lr={lr!r}: must be > 0")
        super().__init__(params, dict(lr=lr))

    @torch.no_grad()
    def step(self, closure):
        """One sign step; returns ``f`` before the step."""
        with torch.enable_grad():
            loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad.sign(), alpha=-group["lr"])
        return loss


@optbench.register_optimizer("signsgd", tags=("first-order", "sign"), elementwise=True, family="sign methods",
                             search_space={"lr": optbench.LogUniform(1e-5, 1.0)})
def signsgd(params, lr=0.01):
    r"""signSGD: gradient descent on the sign of the gradient.

    .. math:: x_{k+1} = x_k - lr\, \mathrm{sign}(\nabla f(x_k))

    Every coordinate moves by exactly ``lr`` (or not at all where its partial derivative is
    zero), so the method ends in a cycle of width ``lr`` around a minimizer.

    References: J. Bernstein, Y.-X. Wang, K. Azizzadenesheli, A. Anandkumar (2018),
    "signSGD: Compressed Optimisation for Non-Convex Problems", ICML.
    """
    return SignSGD(params, lr=lr)
