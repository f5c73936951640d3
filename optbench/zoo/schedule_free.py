r"""Schedule-Free AdamW and SGD (the ``schedulefree`` package), registered when it is installed.

Both have an evaluation iterate ``x`` distinct from the point ``y`` where gradients are taken,
so they are registered with ``train_eval=True``: the runner calls ``eval()`` before every
evaluation point and the final objective and ``train()`` after, and the records measure ``x``.
"""
from __future__ import annotations

from ..optimizer import LogUniform, Uniform
from ..registry import register_optimizer
from . import extra

if extra("schedulefree").installed:

    @register_optimizer("sf-adamw", tags=("first-order", "adaptive", "schedule-free", "zoo"), train_eval=True,
                        family="schedule-free",
                        search_space={"lr": LogUniform(1e-4, 1e-1), "beta1": Uniform(0.8, 0.98),
                                      "weight_decay": LogUniform(1e-5, 1e-1)})
    def sf_adamw(params, lr=0.0025, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0,
                 weight_lr_power=2.0):
        r"""Schedule-Free AdamW: no learning-rate schedule; averaging and interpolation instead.

        .. math::
            y_k = (1-\beta_1) z_k + \beta_1 x_k,\quad v_k = \beta_2 v_{k-1} + (1-\beta_2) g_k^2,\
            \ g_k = \nabla f(y_k),\\
            z_{k+1} = z_k - \gamma_k \Big(\frac{g_k}{\sqrt{v_k/(1-\beta_2^{k+1})} + \epsilon} + \lambda y_k\Big),\quad
            x_{k+1} = (1 - c_{k+1}) x_k + c_{k+1} z_{k+1}

        with ``c_{k+1} = w_{k+1} / sum_{i<=k+1} w_i``, ``w_i = i^r gamma_max^{weight_lr_power}``,
        ``gamma_k = lr`` (linear warm-up over ``warmup_steps``), ``lambda = weight_decay``.
        Gradients are taken at ``y``; ``x`` is the evaluation iterate (``eval()``), and it is
        what the records measure. schedulefree.AdamWScheduleFree with its defaults.

        References: A. Defazio, X. Yang, H. Mehta, K. Mishchenko, A. Khaled, A. Cutkosky (2024),
        "The Road Less Scheduled", NeurIPS; winner of the AlgoPerf 2024 self-tuning track.
        """
        import schedulefree

        return schedulefree.AdamWScheduleFree(params, lr=lr, betas=(beta1, beta2), eps=eps,
                                              weight_decay=weight_decay, warmup_steps=warmup_steps, r=r,
                                              weight_lr_power=weight_lr_power)

    @register_optimizer("sf-sgd", tags=("first-order", "momentum", "schedule-free", "zoo"), train_eval=True,
                        family="schedule-free",
                        search_space={"lr": LogUniform(1e-3, 10.0), "momentum": Uniform(0.5, 0.98)})
    def sf_sgd(params, lr=1.0, momentum=0.9, weight_decay=0.0, warmup_steps=0, r=0.0, weight_lr_power=2.0):
        r"""Schedule-Free SGD: gradient steps on ``z``, averaged into the evaluation iterate ``x``.

        .. math:: y_k = (1-\beta) z_k + \beta x_k,\quad z_{k+1} = z_k - \gamma_k \nabla f(y_k),\quad
                  x_{k+1} = (1 - c_{k+1}) x_k + c_{k+1} z_{k+1}

        with ``beta = momentum`` and the weights of :func:`sf_adamw`; ``x`` is the evaluation
        iterate. schedulefree.SGDScheduleFree with its defaults.

        References: A. Defazio et al. (2024), "The Road Less Scheduled", NeurIPS.
        """
        import schedulefree

        return schedulefree.SGDScheduleFree(params, lr=lr, momentum=momentum, weight_decay=weight_decay,
                                            warmup_steps=warmup_steps, r=r, weight_lr_power=weight_lr_power)
