r"""SOAP and PSGD-Kron from ``heavyball``, registered when it is installed.

heavyball's README presents SOAP (its Shampoo-based preconditioner) and the PSGD Kronecker
family as its second-order methods; these two are registered, with heavyball's defaults.

heavyball compiles its building blocks with ``torch.compile`` on first use. optbench runs
them eagerly (``heavyball.utils.compile_mode = None``, set when a heavyball optimizer is made):
a compilation would be charged to the first steps of the run's clock, needs a C compiler on
CPU, and the eager and compiled kernels round differently. heavyball keeps its state in
float32 by default (``storage_dtype``), which fails on float64 weight matrices; optbench sets
the state's dtype to the parameters' (float64 state for a float64 problem, float32 otherwise).
"""
from __future__ import annotations

import torch

from ..optimizer import LogUniform, Uniform
from ..registry import register_optimizer
from . import extra


def _heavyball():
    import heavyball
    import heavyball.utils

    heavyball.utils.compile_mode = None  # eager: see the module docstring
    return heavyball


def _state_dtypes(params: list) -> dict[str, str]:
    """heavyball's state dtype(s), following the parameters' dtype (see the module docstring)."""
    return {"storage_dtype": "float64" if params and params[0].dtype == torch.float64 else "float32"}


if extra("heavyball").installed:

    @register_optimizer("soap", tags=("second-order", "preconditioned", "shampoo", "zoo"), family="shampoo",
                        search_space={"lr": LogUniform(1e-4, 1e-1), "shampoo_beta": Uniform(0.9, 0.999),
                                      "weight_decay": LogUniform(1e-5, 1e-1)})
    def soap(params, lr=3e-3, beta1=0.9, beta2=0.95, shampoo_beta=0.95, eps=1e-8, weight_decay=0.01,
             precondition_frequency=2, max_precond_dim=2048):
        r"""SOAP: Adam run in the eigenbasis of Shampoo's preconditioner (heavyball.SOAP).

        For a matrix gradient ``G_k``: Shampoo's factors ``L_k = b L_{k-1} + (1-b) G_k G_k^T``,
        ``R_k = b R_{k-1} + (1-b) G_k^T G_k`` (``b = shampoo_beta``) have eigenvectors ``Q_L``,
        ``Q_R``, refreshed every ``precondition_frequency`` steps by one QR power iteration;
        Adam (``beta1``, ``beta2``, ``eps``) runs on the rotated gradient ``Q_L^T G_k Q_R`` and its
        step is rotated back:

        .. math:: W_{k+1} = W_k - lr\, Q_L\, \mathrm{Adam}(Q_L^\top G_k Q_R)\, Q_R^\top - lr\,\lambda W_k

        Dimensions above ``max_precond_dim`` are not rotated; vectors (biases, analytic
        landscapes) get plain Adam. heavyball's defaults, eager.

        References: N. Vyas, D. Morwani, R. Zhao, I. Shapira, D. Brandfonbrener, L. Janson,
        S. Kakade (2025), "SOAP: Improving and Stabilizing Shampoo using Adam", ICLR; V. Gupta,
        T. Koren, Y. Singer (2018), "Shampoo: Preconditioned Stochastic Tensor Optimization",
        ICML.
        """
        params = list(params)
        return _heavyball().SOAP(params, lr=lr, betas=(beta1, beta2), shampoo_beta=shampoo_beta, eps=eps,
                                 weight_decay=weight_decay, precondition_frequency=precondition_frequency,
                                 max_precond_dim=max_precond_dim, **_state_dtypes(params))

    @register_optimizer("psgd-kron", tags=("second-order", "preconditioned", "psgd", "zoo"), family="psgd",
                        search_space={"lr": LogUniform(1e-4, 1e-1), "precond_lr": LogUniform(1e-2, 1.0)})
    def psgd_kron(params, lr=1e-3, beta1=0.9, weight_decay=0.0, precond_lr=0.1, max_size_triangular=2048):
        r"""PSGD with a Kronecker-factored preconditioner (heavyball.PSGDKron).

        The momentum ``m_k = beta1 m_{k-1} + (1-beta1) g_k`` is preconditioned by ``P = Q^T Q``,
        ``Q = Q_1 (x) Q_2`` (one triangular factor per dimension up to ``max_size_triangular``,
        diagonal beyond). ``Q`` is fitted online, with probability that decays from 1, by a
        step of size ``precond_lr`` on Li's criterion ``E[h^T P h + v^T P^{-1} v]`` with ``h``
        a Hessian-vector product estimated from gradient differences along a random ``v``:

        .. math:: x_{k+1} = x_k - lr\,(P m_k + \lambda x_k)

        heavyball's defaults, eager; its factors ``Q`` in the parameters' dtype. Its random probes come from torch's generator,
        which the runner seeds per run.

        References: X.-L. Li (2018), "Preconditioned Stochastic Gradient Descent", IEEE TNNLS
        29(5):1454-1466; X.-L. Li (2024), "Stochastic Hessian Fittings with Lie Groups",
        arXiv:2402.11858.
        """
        params = list(params)
        state = _state_dtypes(params)
        return _heavyball().PSGDKron(params, lr=lr, betas=(beta1, 0.999), weight_decay=weight_decay,
                                     precond_lr=precond_lr, max_size_triangular=max_size_triangular,
                                     q_dtype=state["storage_dtype"], **state)
