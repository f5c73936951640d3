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
from ..schedules import SCHEDULES
from ..theory import GRADIENT_DESCENT, HEAVY_BALL, NESTEROV
from .linesearch import armijo, check_line_search, flat_grad, flat_params, with_grad
from .rowwise import RowwiseArmijoGD

LR = LogUniform(1e-5, 1.0)
MOMENTUM = Uniform(0.5, 0.99)
BETA1 = Uniform(0.5, 0.999)
BETA2 = Uniform(0.9, 0.9999)
SCHEDULE = Choice(SCHEDULES)  # searched where a decaying step helps: momentum methods and Adam


@register_optimizer("gd", tags=("first-order", "deterministic-step"), elementwise=True, family="gradient descent",
                    search_space={"lr": LR}, theory=GRADIENT_DESCENT, schedulable=True)
def gd(params, lr=0.01):
    r"""Gradient descent with a fixed step: ``x_{k+1} = x_k - lr * grad f(x_k)``.

    torch.optim.SGD with momentum 0. Converges for ``lr < 2/L`` on an L-smooth convex
    function; ``lr = 1/L`` is the classical choice (Nesterov 2004, Sec. 2.1.5) and its theory
    setting (``gd[lr=theory]`` or ``gd[lr=1/L]``): ``f(x_k) - f* <= (1 - mu/L)^k (f(x_0) - f*)``
    on an L-smooth mu-strongly convex function (:data:`optbench.theory.GRADIENT_DESCENT`).

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
        closure = with_grad(closure)
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
                    batched=RowwiseArmijoGD, family="gradient descent",
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
                    search_space={"lr": LR, "momentum": MOMENTUM, "schedule": SCHEDULE}, theory=HEAVY_BALL,
                    schedulable=True)
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
    gives the rate ``(sqrt(kappa)-1)/(sqrt(kappa)+1)`` -- ``momentum[lr=theory]`` sets both
    (the bound, with its polynomial factor: :data:`optbench.theory.HEAVY_BALL`).

    References: B. T. Polyak (1964), "Some methods of speeding up the convergence of
    iteration methods", USSR Comput. Math. Math. Phys. 4(5):1-17.
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum)


@register_optimizer("nesterov", tags=("first-order", "momentum"), elementwise=True, family="momentum",
                    search_space={"lr": LR, "momentum": MOMENTUM, "schedule": SCHEDULE}, theory=NESTEROV,
                    schedulable=True)
def nesterov(params, lr=0.01, momentum=0.9):
    r"""Nesterov momentum (torch.optim.SGD with ``nesterov=True``).

    .. math:: v_{k+1} = \mu v_k + \nabla f(x_k), \quad
              x_{k+1} = x_k - lr\,(\nabla f(x_k) + \mu v_{k+1})

    This is Sutskever et al.'s reformulation of Nesterov's accelerated gradient, written for
    the look-ahead variable, with a constant momentum ``mu`` (Nesterov's schedule
    ``mu_k = (k-1)/(k+2)`` is not used). ``nesterov[lr=theory]`` is Nesterov's scheme for
    strongly convex functions: ``lr = 1/L``, ``mu = (sqrt(kappa)-1)/(sqrt(kappa)+1)``
    (:data:`optbench.theory.NESTEROV`).

    References: Y. Nesterov (1983), "A method for solving the convex programming problem with
    convergence rate O(1/k^2)", Soviet Math. Dokl. 27:372-376; I. Sutskever, J. Martens,
    G. Dahl, G. Hinton (2013), "On the importance of initialization and momentum in deep
    learning", ICML.
    """
    return torch.optim.SGD(params, lr=lr, momentum=momentum, nesterov=True)


@register_optimizer("adagrad", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR}, schedulable=True)
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
                    search_space={"lr": LR, "alpha": Uniform(0.9, 0.999), "momentum": Uniform(0.0, 0.95)},
                    schedulable=True)
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
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2, "schedule": SCHEDULE}, schedulable=True)
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
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2, "weight_decay": LogUniform(1e-5, 1e-1),
                                  "schedule": SCHEDULE}, schedulable=True)
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
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2}, schedulable=True)
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


@register_optimizer("nadam", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2})
def nadam(params, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, momentum_decay=0.004):
    r"""NAdam: Adam with Nesterov momentum and Dozat's momentum schedule.

    .. math::
        \mu_k = \beta_1 (1 - \tfrac12\, 0.96^{k\,\psi}),\quad
        m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2,\\
        x_{k+1} = x_k - lr \Big(\frac{\mu_{k+1} m_k}{1 - \prod_{i\le k+1}\mu_i}
                  + \frac{(1-\mu_k) g_k}{1 - \prod_{i\le k}\mu_i}\Big) \Big/ \Big(\sqrt{v_k/(1-\beta_2^k)} + \epsilon\Big)

    with ``psi = momentum_decay``. torch.optim.NAdam (``weight_decay`` enters the gradient,
    L2 style). References: T. Dozat (2016), "Incorporating Nesterov Momentum into Adam",
    ICLR workshop.
    """
    return torch.optim.NAdam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                             momentum_decay=momentum_decay)


@register_optimizer("radam", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2})
def radam(params, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    r"""RAdam: Adam whose adaptive step is switched on only once its variance is tractable.

    .. math::
        \rho_\infty = \frac{2}{1-\beta_2} - 1,\quad
        \rho_k = \rho_\infty - \frac{2k\beta_2^k}{1-\beta_2^k},\quad \hat m_k = \frac{m_k}{1-\beta_1^k},\\
        x_{k+1} = x_k - lr\,\hat m_k\, r_k \frac{\sqrt{1-\beta_2^k}}{\sqrt{v_k} + \epsilon}
        \ \text{ if } \rho_k > 5, \quad x_{k+1} = x_k - lr\,\hat m_k \text{ otherwise},\\
        r_k = \sqrt{\frac{(\rho_k-4)(\rho_k-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_k}}

    with Adam's moments ``m_k``, ``v_k``. torch.optim.RAdam. References: L. Liu, H. Jiang,
    P. He, W. Chen, X. Liu, J. Gao, J. Han (2020), "On the Variance of the Adaptive Learning
    Rate and Beyond", ICLR.
    """
    return torch.optim.RAdam(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)


@register_optimizer("adamax", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "beta1": BETA1, "beta2": BETA2})
def adamax(params, lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    r"""Adamax: Adam with the infinity norm in place of the second moment.

    .. math:: m_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad
              u_k = \max(\beta_2 u_{k-1}, |g_k| + \epsilon),\quad
              x_{k+1} = x_k - \frac{lr}{1-\beta_1^k}\,\frac{m_k}{u_k}

    torch.optim.Adamax (``eps`` inside the maximum, as torch does). References: D. P.
    Kingma, J. Ba (2015), "Adam: A Method for Stochastic Optimization", ICLR, Sec. 7.1.
    """
    return torch.optim.Adamax(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay)


@register_optimizer("adadelta", tags=("first-order", "adaptive"), elementwise=True, family="adaptive",
                    search_space={"lr": LogUniform(1e-2, 10.0), "rho": Uniform(0.8, 0.99)})
def adadelta(params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0):
    r"""Adadelta: steps in units of the parameters, from two running averages.

    .. math:: v_k = \rho v_{k-1} + (1-\rho) g_k^2,\quad
              \Delta_k = \frac{\sqrt{u_{k-1} + \epsilon}}{\sqrt{v_k + \epsilon}}\, g_k,\quad
              u_k = \rho u_{k-1} + (1-\rho) \Delta_k^2,\quad x_{k+1} = x_k - lr\,\Delta_k

    torch.optim.Adadelta (``lr = 1`` is Zeiler's method). References: M. D. Zeiler (2012),
    "ADADELTA: An Adaptive Learning Rate Method", arXiv:1212.5701.
    """
    return torch.optim.Adadelta(params, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay)


@register_optimizer("adafactor", tags=("first-order", "adaptive"), family="adaptive",
                    search_space={"lr": LogUniform(1e-4, 1.0)})
def adafactor(params, lr=0.01, beta2_decay=-0.8, eps2=1e-3, d=1.0, weight_decay=0.0):
    r"""Adafactor: a factored second-moment estimate (row and column means for matrices).

    With ``beta_k = 1 - k^{beta2_decay}`` and ``rho_k = min(lr, 1/sqrt(k))``: for a matrix
    parameter the row means ``R_k = beta_k R_{k-1} + (1-beta_k) mean_j G_k^2`` and column
    means ``C_k`` likewise give ``V_k = R_k C_k^T / mean(R_k)``; for a vector ``V_k = beta_k
    V_{k-1} + (1-beta_k) g_k^2``. Then

    .. math:: U_k = \frac{G_k}{\sqrt{V_k}},\quad
              x_{k+1} = x_k - \alpha_k \frac{U_k}{\max(1, \mathrm{RMS}(U_k)/d)},\quad
              \alpha_k = \max(\epsilon_2, \mathrm{RMS}(x_k))\,\rho_k

    torch.optim.Adafactor with ``eps=(None, eps2)`` (``eps1`` is the dtype's machine
    epsilon, torch's default) and no first moment. The update clipping takes the RMS over the
    whole tensor, so coordinates interact: not elementwise. References: N. Shazeer,
    M. Stern (2018), "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost", ICML.
    """
    return torch.optim.Adafactor(params, lr=lr, beta2_decay=beta2_decay, eps=(None, eps2), d=d,
                                 weight_decay=weight_decay)


@register_optimizer("asgd", tags=("first-order", "averaging"), elementwise=True, family="gradient descent",
                    search_space={"lr": LR, "t0": LogUniform(1.0, 1e6)})
def asgd(params, lr=0.01, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0):
    r"""Averaged SGD: decaying gradient steps plus a Polyak-Ruppert average of the iterates.

    .. math:: x_{k+1} = (1 - \lambda\eta_k)\, x_k - \eta_k g_k,\quad
              \eta_k = \frac{lr}{(1 + \lambda\, lr\, k)^{\alpha}},\quad
              \bar x_{k+1} = \bar x_k + \mu_k (x_{k+1} - \bar x_k),\quad \mu_k = \frac{1}{\max(1, k - t_0)}

    torch.optim.ASGD. The runner measures the iterate ``x_k``; torch keeps the average
    ``bar x_k`` in the optimizer's state (``ax``) without exposing an evaluation mode, and
    averaging starts only after ``t0`` steps. References: B. T. Polyak, A. B. Juditsky
    (1992), "Acceleration of Stochastic Approximation by Averaging", SIAM J. Control Optim.
    30(4):838-855.
    """
    return torch.optim.ASGD(params, lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay)


@register_optimizer("rprop", tags=("first-order", "sign"), elementwise=True, family="adaptive",
                    search_space={"lr": LR, "eta_plus": Uniform(1.05, 1.5)})
def rprop(params, lr=0.01, eta_minus=0.5, eta_plus=1.2, step_min=1e-6, step_max=50.0):
    r"""Rprop: per-coordinate step sizes adapted from the sign of successive gradients.

    .. math:: \delta_k = \mathrm{clip}\big(\delta_{k-1} \cdot
              \{\eta_+ \text{ if } g_k g_{k-1} > 0,\ \eta_- \text{ if } g_k g_{k-1} < 0,\ 1\},
              \ \text{step\_min},\ \text{step\_max}\big),\quad
              x_{k+1} = x_k - \delta_k\, \mathrm{sign}(g_k)

    with ``delta_0 = lr``; after a sign change the gradient is taken as 0 for that step (so
    the coordinate does not move and the next step compares against 0). torch.optim.Rprop
    (the iRprop- variant); a full-batch method. References: M. Riedmiller, H. Braun (1993),
    "A direct adaptive method for faster backpropagation learning: the RPROP algorithm",
    IEEE ICNN.
    """
    return torch.optim.Rprop(params, lr=lr, etas=(eta_minus, eta_plus), step_sizes=(step_min, step_max))
