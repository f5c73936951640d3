"""Quadratics with known spectra.

``f(x) = 1/2 (x - x*)^T A (x - x*)`` with ``A = Q diag(lambda) Q^T``: the eigenvalues
``lambda`` are chosen (log-spaced with condition number ``kappa``, ...), ``Q`` is a random
rotation drawn from a fixed seed (Haar measure, via the QR decomposition of a Gaussian
matrix with the sign correction of Mezzadri 2007), so the problem is the same for every
run seed. ``f* = 0`` at ``x*``; the Hessian is ``A`` everywhere.
"""
from __future__ import annotations

import math

import torch

from optbench import AnalyticProblem, register_problem


def random_rotation(dim: int, seed: int) -> torch.Tensor:
    """A Haar-distributed orthogonal matrix (float64, CPU) from ``seed``.

    F. Mezzadri (2007), "How to generate random matrices from the classical compact groups",
    Notices of the AMS 54(5):592-604.
    """
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(dim, dim, generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(z)
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)


@register_problem("quadratic", tags=("landscape", "quadratic", "convex", "unimodal", "ill-conditioned", "scalable"))
class Quadratic(AnalyticProblem):
    r"""A rotated convex quadratic with log-spaced eigenvalues in ``[1/kappa, 1]``.

    .. math:: f(x) = \tfrac12 (x - x^*)^\top A (x - x^*), \quad
              A = Q\,\mathrm{diag}(\lambda)\,Q^\top, \quad
              \lambda_i = \kappa^{-(i-1)/(n-1)}

    ``f* = 0`` at ``x* = (1, ..., 1)``; ``L = 1``, ``mu = 1/kappa``; gradient descent with
    step ``1/L`` contracts the error by ``1 - 1/kappa`` per step (Nesterov 2004, Thm 2.1.15).
    Domain ``[-5, 5]^n`` (random start). ``rotation_seed`` fixes ``Q``.
    """

    domain = (-5.0, 5.0)
    f_star = 0.0

    def __init__(self, dim: int = 10, kappa: float = 100.0, rotation_seed: int = 0, **common):
        super().__init__(**common)
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim={dim!r} must be an integer >= 1")
        if not kappa >= 1:
            raise ValueError(f"kappa={kappa!r} must be >= 1")
        self.dim, self.kappa = int(dim), float(kappa)
        n = self.dim
        self.eigenvalues = torch.tensor(
            [self.kappa ** (-(i / (n - 1))) if n > 1 else 1.0 for i in range(n)], dtype=torch.float64
        )
        q = random_rotation(n, rotation_seed)
        self.hessian = (q * self.eigenvalues) @ q.T
        self.hessian = (self.hessian + self.hessian.T) / 2
        self.x_star = [[1.0] * n]
        self._cache: dict = {}

    def _matrix(self, like: torch.Tensor) -> torch.Tensor:
        key = (like.device, like.dtype)
        if key not in self._cache:
            self._cache[key] = self.hessian.to(device=like.device, dtype=like.dtype)
        return self._cache[key]

    def f(self, x):
        e = x - 1.0
        return 0.5 * ((e @ self._matrix(x)) * e).sum(-1)

    def describe(self):
        return {**super().describe(), "spectrum": f"log-spaced in [1/{self.kappa:g}, 1], L = 1, mu = {1 / self.kappa:.3g}",
                "condition number": f"{self.kappa:g} (log10 = {math.log10(self.kappa):.2f})"}
