"""First-order methods, backed by torch.optim so users benchmark the code they train with."""
from __future__ import annotations

import torch

from ..optimizer import LogUniform, Uniform
from ..registry import register_optimizer

LR = LogUniform(1e-5, 1.0)


@register_optimizer("gd", tags=("first-order", "deterministic-step"), elementwise=True, family="gradient descent",
                    search_space={"lr": LR})
def gd(params, lr=0.01):
    r"""Gradient descent with a fixed step: ``x_{k+1} = x_k - lr * grad f(x_k)``.

    torch.optim.SGD with momentum 0. Converges for ``lr < 2/L`` on an L-smooth convex
    function; ``lr = 1/L`` is the classical choice (Nesterov 2004, Sec. 2.1.5).

    References: A. Cauchy (1847), "Méthode générale pour la résolution des systèmes
    d'équations simultanées".
    """
    return torch.optim.SGD(params, lr=lr)


@register_optimizer("adam", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "beta1": Uniform(0.5, 0.999), "beta2": Uniform(0.9, 0.9999)})
def adam(params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    r"""Adam: bias-corrected moment estimates of the gradient and its square.

    .. math::
        m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2,\\
        x_{k+1} = x_k - lr\, \frac{m_k / (1-\beta_1^k)}{\sqrt{v_k / (1-\beta_2^k)} + \epsilon}

    torch.optim.Adam. References: D. P. Kingma, J. Ba (2015), "Adam: A Method for
    Stochastic Optimization", ICLR.
    """
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)
