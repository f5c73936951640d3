"""First-order methods, backed by torch.optim so users benchmark the code they train with.

Every method here except ``gd-armijo`` is a thin factory over a torch.optim class; its
trajectory is bit-identical to a bare torch.optim loop at the same seed (tested).
``gd-armijo`` is a small :class:`torch.optim.Optimizer` of our own: torch.optim has no
backtracking line search.
"""
from __future__ import annotations

import torch

from ..optimizer import Choice, LogUniform, Uniform
from ..registry import register_optimizer
from .linesearch import armijo, check_line_search, flat_grad, flat_params

LR = LogUniform(1e-5, 1.0)
MOMENTUM = Uniform(0.5, 0.99)
BETA1 = Uniform(0.5, 0.999)
BETA2 = Uniform(0.9, 0.9999)


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


class ArmijoGD(torch.optim.Optimizer):
    r"""Gradient descent with a backtracking (Armijo) line search.

    Each step evaluates ``f`` and ``g = grad f`` at ``x`` (the first closure call), then tries
    ``x - t g`` for ``t = t_0, shrink t_0, shrink^2 t_0, ...`` (one closure call each) and takes
    the first ``t`` with ``f(x - t g) <= f(x) - c t ||g||^2``. ``t_0 = lr``, or with
    ``regrow`` ``t_0 = min(lr, t_{k-1} / shrink)`` (one step longer than the last accepted
    one). After ``max_backtracks`` rejections the step is abandoned and ``x`` is left
    unchanged. All parameters share one step size. Each trial reads ``f`` on the host (a line
    search must compare).
    """

    def __init__(self, params, lr: float = 1.0, c: float = 1e-4, shrink: float = 0.5, regrow: bool = False,
                 max_backtracks: int = 50):
        if not lr > 0:
            raise ValueError(f"invalid initial step lr={lr!r}: must be > 0")
        check_line_search(c, shrink, max_backtracks)
        super().__init__(params, dict(lr=lr, c=c, shrink=shrink, regrow=bool(regrow),
                                      max_backtracks=int(max_backtracks)))
        if len(self.param_groups) != 1:
            raise ValueError("ArmijoGD uses one step size for all parameters: pass a single parameter group")

    @torch.no_grad()
    def step(self, closure):
        """One gradient step with backtracking; returns ``f`` at the point the step started from."""
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        params = group["params"]
        loss = closure()
        g = flat_grad(params)
        gtd = -float(g.dot(g))
        if gtd == 0.0:
            return loss
        state = self.state[params[0]]
        t0 = group["lr"]
        if group["regrow"] and "t" in state:
            t0 = min(t0, state["t"] / group["shrink"])
        t = armijo(closure, params, flat_params(params), -g, float(loss), gtd, t0, group["c"], group["shrink"],
                   group["max_backtracks"])
        state["t"] = t0 * group["shrink"] ** group["max_backtracks"] if t is None else t
        return loss


@register_optimizer("gd-armijo", tags=("first-order", "line-search", "deterministic"), reuses_evaluations=True,
                    family="gradient descent",
                    search_space={"lr": LogUniform(1e-2, 1e2), "shrink": Uniform(0.1, 0.9),
                                  "regrow": Choice((False, True))})
def gd_armijo(params, lr=1.0, c=1e-4, shrink=0.5, regrow=False, max_backtracks=50):
    r"""Gradient descent with a backtracking Armijo line search.

    .. math:: x_{k+1} = x_k - t_k \nabla f(x_k), \quad
              t_k = \max\{t_0\,\mathrm{shrink}^i : f(x_k - t\nabla f(x_k)) \le f(x_k) - c\,t\,\|\nabla f(x_k)\|^2\}

    ``t_0 = lr`` every step, or with ``regrow=True`` ``t_0 = min(lr, t_{k-1}/shrink)``
    (the step grows back after a short one). Every trial point is one closure call (one
    evaluation); the next step's evaluation at the accepted point repeats the last trial
    and is served from the runner's cache (``reuses_evaluations``), so it is not counted.
    One step size for all coordinates: not elementwise.

    References: L. Armijo (1966), "Minimization of functions having Lipschitz continuous
    first partial derivatives", Pacific J. Math. 16(1):1-3; Nocedal & Wright (2006),
    "Numerical Optimization", 2nd ed., Alg. 3.1.
    """
    return ArmijoGD(params, lr=lr, c=c, shrink=shrink, regrow=regrow, max_backtracks=max_backtracks)


@register_optimizer("momentum", tags=("first-order", "momentum"), elementwise=True, family="momentum",
                    search_space={"lr": LR, "momentum": MOMENTUM})
def momentum(params, lr=0.01, momentum=0.9):
    r"""Heavy-ball momentum (torch.optim.SGD with ``momentum``, ``dampening=0``).

    torch.optim uses the "PyTorch form"

    .. math:: v_{k+1} = \mu v_k + \nabla f(x_k), \quad x_{k+1} = x_k - lr\, v_{k+1}, \quad v_0 = 0 .

    Eliminating ``v`` gives Polyak's heavy ball
    ``x_{k+1} = x_k - \alpha \nabla f(x_k) + \beta (x_k - x_{k-1})`` with ``alpha = lr`` and
    ``beta = mu``: the two forms produce the same iterates while ``lr`` is constant (they
    differ under a learning-rate schedule, where Polyak's form -- and Sutskever et al.'s
    ``v <- mu v - lr g`` -- scale only the new gradient, not the accumulated velocity).
    On a quadratic with Hessian spectrum in ``[mu_f, L]``, Polyak's optimal
    ``alpha = 4/(sqrt(L)+sqrt(mu_f))^2``, ``beta = ((sqrt(kappa)-1)/(sqrt(kappa)+1))^2``
    gives the rate ``(sqrt(kappa)-1)/(sqrt(kappa)+1)``.

    References: B. T. Polyak (1964), "Some methods of speeding up the convergence of
    iteration methods", USSR Comput. Math. Math. Phys. 4(5):1-17.
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum)


@register_optimizer("nesterov", tags=("first-order", "momentum"), elementwise=True, family="momentum",
                    search_space={"lr": LR, "momentum": MOMENTUM})
def nesterov(params, lr=0.01, momentum=0.9):
    r"""Nesterov momentum (torch.optim.SGD with ``nesterov=True``).

    .. math:: v_{k+1} = \mu v_k + \nabla f(x_k), \quad
              x_{k+1} = x_k - lr\,(\nabla f(x_k) + \mu v_{k+1})

    This is Sutskever et al.'s reformulation of Nesterov's accelerated gradient, written for
    the look-ahead variable, with a constant momentum ``mu`` (Nesterov's schedule
    ``mu_k = (k-1)/(k+2)`` is not used).

    References: Y. Nesterov (1983), "A method for solving the convex programming problem with
    convergence rate O(1/k^2)", Soviet Math. Dokl. 27:372-376; I. Sutskever, J. Martens,
    G. Dahl, G. Hinton (2013), "On the importance of initialization and momentum in deep
    learning", ICML.
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True)


@register_optimizer("adagrad", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR})
def adagrad(params, lr=0.01, eps=1e-10, initial_accumulator_value=0.0):
    r"""AdaGrad: per-coordinate steps scaled by the accumulated squared gradients.

    .. math:: G_k = G_{k-1} + g_k^2, \quad x_{k+1} = x_k - lr\, \frac{g_k}{\sqrt{G_k} + \epsilon},
              \quad G_0 = \text{initial\_accumulator\_value}

    torch.optim.Adagrad (no learning-rate decay, no weight decay).

    References: J. Duchi, E. Hazan, Y. Singer (2011), "Adaptive subgradient methods for
    online learning and stochastic optimization", JMLR 12:2121-2159.
    """
    return torch.optim.Adagrad(params, lr=lr, eps=eps, initial_accumulator_value=initial_accumulator_value)


@register_optimizer("rmsprop", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "alpha": Uniform(0.9, 0.999), "momentum": Uniform(0.0, 0.95)})
def rmsprop(params, lr=0.01, alpha=0.99, eps=1e-8, momentum=0.0, centered=False):
    r"""RMSprop: steps scaled by a moving average of squared gradients.

    .. math:: v_k = \alpha v_{k-1} + (1-\alpha) g_k^2, \quad
              b_k = \mu b_{k-1} + \frac{g_k}{\sqrt{v_k} + \epsilon}, \quad x_{k+1} = x_k - lr\, b_k

    (``b_k = g_k/(sqrt(v_k)+eps)`` when ``momentum = 0``; ``centered`` subtracts the squared
    moving mean of ``g`` from ``v``). torch.optim.RMSprop; note that torch adds ``eps``
    outside the square root.

    References: T. Tieleman, G. Hinton (2012), "Lecture 6.5 - RMSProp", COURSERA: Neural
    Networks for Machine Learning; A. Graves (2013), "Generating sequences with recurrent
    neural networks", arXiv:1308.0850 (the centered form).
    """
    return torch.optim.RMSprop(params, lr=lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered)


@register_optimizer("adam", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2})
def adam(params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    r"""Adam: bias-corrected moment estimates of the gradient and its square.

    .. math::
        m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2,\\
        x_{k+1} = x_k - lr\, \frac{m_k / (1-\beta_1^k)}{\sqrt{v_k / (1-\beta_2^k)} + \epsilon}

    torch.optim.Adam. References: D. P. Kingma, J. Ba (2015), "Adam: A Method for
    Stochastic Optimization", ICLR.
    """
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)


@register_optimizer("adamw", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2, "weight_decay": LogUniform(1e-5, 1e-1)})
def adamw(params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01):
    r"""AdamW: Adam with decoupled weight decay.

    .. math:: x_{k+1} = (1 - lr\,\lambda)\, x_k - lr\, \frac{\hat m_k}{\sqrt{\hat v_k} + \epsilon}

    with Adam's bias-corrected moments ``hat m_k``, ``hat v_k``; the decay ``lambda``
    (``weight_decay``) acts on the parameters directly, not through the gradient, so the
    minimizer is that of ``f`` only when ``weight_decay = 0``. torch.optim.AdamW.

    References: I. Loshchilov, F. Hutter (2019), "Decoupled Weight Decay Regularization", ICLR.
    """
    return torch.optim.AdamW(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)


@register_optimizer("amsgrad", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2})
def amsgrad(params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    r"""AMSGrad: Adam with a non-decreasing second-moment estimate.

    .. math:: \hat v^{\max}_k = \max(\hat v^{\max}_{k-1}, v_k), \quad
              x_{k+1} = x_k - lr\, \frac{m_k/(1-\beta_1^k)}{\sqrt{\hat v^{\max}_k/(1-\beta_2^k)} + \epsilon}

    torch.optim.Adam with ``amsgrad=True`` (torch keeps the running maximum of the raw
    ``v_k`` and bias-corrects it, as above).

    References: S. J. Reddi, S. Kale, S. Kumar (2018), "On the Convergence of Adam and
    Beyond", ICLR.
    """
    return torch.optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, amsgrad=True)
