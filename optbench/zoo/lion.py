"""Lion (the ``lion-pytorch`` package), registered when it is installed."""
from __future__ import annotations

from ..optimizer import LogUniform, Uniform
from ..registry import register_optimizer
from . import extra

if extra("lion_pytorch").installed:

    @register_optimizer("lion", tags=("first-order", "sign", "zoo"), elementwise=True, family="sign",
                        search_space={"lr": LogUniform(1e-5, 1e-1), "beta1": Uniform(0.8, 0.98),
                                      "weight_decay": LogUniform(1e-4, 1.0)})
    def lion(params, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
        r"""Lion: the sign of an interpolated momentum, with decoupled weight decay.

        .. math:: c_k = \beta_1 m_{k-1} + (1-\beta_1) g_k,\quad
                  x_{k+1} = x_k - lr\,(\mathrm{sign}(c_k) + \lambda x_k),\quad
                  m_k = \beta_2 m_{k-1} + (1-\beta_2) g_k

        (``lambda = weight_decay``; the decay is applied before the sign step, as lion-pytorch
        does). Every coordinate moves by exactly ``lr`` per step, so ``lr`` is typically 3-10x
        smaller than AdamW's. lion_pytorch.Lion with its defaults.

        References: X. Chen et al. (2023), "Symbolic Discovery of Optimization Algorithms",
        NeurIPS.
        """
        from lion_pytorch import Lion

        return Lion(params, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay)
