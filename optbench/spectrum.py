r"""Where did a run end? The Hessian spectrum at the final iterate.

:func:`hessian_spectrum` takes a pure function ``f`` of one flat vector (a problem's
``instance.flat_objective().f``) and a point ``x`` and returns the extreme eigenvalues of
``H = \nabla^2 f(x)``, its condition number and the number of negative eigenvalues:

* ``dim <= max_dense``: the dense Hessian from ``n`` reverse-over-reverse Hessian-vector
  products of one gradient graph (:func:`optbench.problem.dense_hessian`), symmetrised, and
  all its eigenvalues by ``torch.linalg.eigvalsh`` (``method="dense"``);
* larger: ``k`` steps of the Lanczos iteration with full reorthogonalisation on
  Hessian-vector products ``Hv = grad_x (grad f(x)^T v)`` through one gradient graph
  (reverse-over-reverse, Pearlmutter 1994; :func:`optbench.problem.hessian_vector_products`),
  never forming ``H`` (``method="lanczos"``).

Lanczos returns the eigenvalues ``theta_1 <= ... <= theta_k`` of the tridiagonal
``T_k = Q_k^T H Q_k``. By the Cauchy interlacing theorem ``lambda_i <= theta_i`` and
``theta_{k-i+1} <= lambda_{n-i+1}``, so ``theta_1`` is an upper bound of ``lambda_min``,
``theta_k`` a lower bound of ``lambda_max`` (both converge first, Golub & Van Loan 2013,
sec. 10.1), and the number of Ritz values below ``-tol`` is a **lower bound** on the
number of negative eigenvalues. The Lanczos condition number ``theta_k / theta_1`` is an
estimate (a lower bound when ``H`` is positive definite) and is NaN when ``theta_1 <= 0``.

Eigenvalues within ``tol = rtol * max|lambda|`` of zero count as zero; the default ``rtol``
is ``sqrt(eps)`` of the dtype (:func:`spectrum_rtol`), the noise level of a Hessian
computed in that precision.

>>> import torch
>>> f = lambda x: 0.5 * (torch.tensor([1.0, 4.0], dtype=x.dtype) * x**2).sum()
>>> s = hessian_spectrum(f, torch.zeros(2, dtype=torch.float64))
>>> s["eig_min"], s["eig_max"], s["condition"], s["n_negative"], s["method"]
(1.0, 4.0, 4.0, 0, 'dense')
>>> classify_spectrum(s["eig_min"], s["eig_max"])
'minimum'

References
----------
* B. A. Pearlmutter (1994), "Fast exact multiplication by the Hessian", Neural
  Computation 6(1):147-160.
* C. Lanczos (1950), "An iteration method for the solution of the eigenvalue problem of
  linear differential and integral operators", J. Res. Nat. Bur. Standards 45(4):255-282.
* G. H. Golub, C. F. Van Loan (2013), "Matrix Computations", 4th ed., Johns Hopkins,
  sec. 10.1-10.3.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from .problem import dense_hessian, hessian_vector_products

CLASSES = ("minimum", "saddle", "flat", "unknown")


def spectrum_rtol(dtype: torch.dtype | str = torch.float64) -> float:
    """``sqrt(eps)`` of ``dtype``: eigenvalues below this fraction of ``max|lambda|`` are noise."""
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype.replace("torch.", ""))
    return math.sqrt(torch.finfo(dtype).eps)


def _unknown(method: str) -> dict:
    return {"eig_min": math.nan, "eig_max": math.nan, "condition": math.nan, "n_negative": None, "method": method}


def hessian_spectrum(f: Callable[[Tensor], Tensor], x: Tensor, *, max_dense: int = 2000, k: int = 64,
                     rtol: float | None = None, seed: int = 0) -> dict:
    """Extreme eigenvalues of the Hessian of ``f`` at ``x``.

    Parameters
    ----------
    f : callable
        A pure function of a flat vector returning a scalar tensor.
    x : Tensor
        The point, shape ``(n,)``; its dtype and device are used.
    max_dense : int
        Largest ``n`` for the dense Hessian; above it, Lanczos.
    k : int
        Lanczos steps (at most ``n``); the iteration stops earlier on an invariant subspace.
    rtol : float, optional
        Relative zero tolerance, default :func:`spectrum_rtol` of ``x.dtype``.
    seed : int
        Seed of the Lanczos start vector (the result is deterministic).

    Returns
    -------
    dict
        ``eig_min``, ``eig_max``, ``condition`` (dense: ``max|lambda| / min|lambda|``, the
        2-norm condition number, ``inf`` if singular; Lanczos: ``eig_max / eig_min`` if
        ``eig_min > 0`` else NaN), ``n_negative`` (dense: exact count of eigenvalues below
        ``-tol``; Lanczos: a lower bound; ``None`` when unknown) and ``method``
        (``"dense"`` or ``"lanczos"``). A non-finite Hessian gives NaN values.
    """
    x = x.detach().reshape(-1)
    n = x.numel()
    rtol = spectrum_rtol(x.dtype) if rtol is None else float(rtol)

    def scalar(v: Tensor) -> Tensor:
        return f(v).reshape(())

    if n <= max_dense:
        return dense_spectrum(dense_hessian(scalar, x), rtol)
    theta = _lanczos(scalar, x, min(k, n), seed)
    if theta is None:
        return _unknown("lanczos")
    tol = rtol * float(theta.abs().max())
    lo, hi = float(theta[0]), float(theta[-1])
    return {"eig_min": lo, "eig_max": hi, "condition": hi / lo if lo > 0 else math.nan,
            "n_negative": int((theta < -tol).sum()), "method": "lanczos"}


def dense_spectrum(h: Tensor, rtol: float) -> dict:
    """The spectrum of a dense Hessian ``h`` (``n x n``): all eigenvalues of ``(h + h^T) / 2``.

    The dense branch of :func:`hessian_spectrum`, for callers that already hold ``h`` (the
    batched runner computes the Hessians of all its rows in one
    :func:`~optbench.problem.dense_hessian`).
    """
    h = h.detach().to(torch.float64)
    if not bool(torch.isfinite(h).all()):
        return _unknown("dense")
    eig = torch.linalg.eigvalsh((h + h.T) / 2).cpu()
    absolute = eig.abs()
    tol = rtol * float(absolute.max())
    smallest = float(absolute.min())
    return {
        "eig_min": float(eig[0]), "eig_max": float(eig[-1]),
        "condition": float(absolute.max()) / smallest if smallest > 0 else math.inf,
        "n_negative": int((eig < -tol).sum()), "method": "dense",
    }


def _lanczos(f: Callable[[Tensor], Tensor], x: Tensor, k: int, seed: int) -> Tensor | None:
    """Ritz values (ascending, float64) of ``k`` Lanczos steps on ``v -> H v`` at ``x``.

    Full reorthogonalisation (applied twice: "twice is enough", Parlett, The Symmetric Eigenvalue Problem)
    keeps ``Q`` orthonormal, so no spurious copies of converged Ritz values appear.
    """
    hvp = hessian_vector_products(f, x)

    gen = torch.Generator().manual_seed(int(seed))
    q = torch.randn(x.numel(), generator=gen, dtype=torch.float64).to(device=x.device, dtype=x.dtype)
    q = q / q.norm()
    basis = torch.empty(k, x.numel(), device=x.device, dtype=x.dtype)
    alphas: list[float] = []
    betas: list[float] = []
    scale = 0.0
    for j in range(k):
        basis[j] = q
        w = hvp(q)
        if not bool(torch.isfinite(w).all()):
            return None
        a = torch.dot(w, q)
        w = w - a * q
        if j > 0:
            w = w - betas[-1] * basis[j - 1]
        for _ in range(2):
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        b = float(w.norm())
        alphas.append(float(a))
        scale = max(scale, abs(float(a)), b)
        if j == k - 1 or b <= 1e-12 * max(scale, 1e-300):
            break
        betas.append(b)
        q = w / b
    m = len(alphas)
    t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if m > 1:
        off = torch.tensor(betas[: m - 1], dtype=torch.float64)
        t = t + torch.diag(off, 1) + torch.diag(off, -1)
    return torch.linalg.eigvalsh(t)


def classify_spectrum(eig_min: float, eig_max: float, *, rtol: float = spectrum_rtol()) -> str:
    """What kind of point the curvature says it is, with ``tol = rtol * max(|eig_min|, |eig_max|)``:

    ``"minimum"``  every eigenvalue ``> tol`` (positive definite: a strict local minimum
                   if the gradient vanishes there);
    ``"saddle"``   some eigenvalue ``< -tol`` (a direction of descent by curvature: a
                   saddle point, or a maximum, if the gradient vanishes);
    ``"flat"``     ``eig_min`` within ``tol`` of zero (degenerate: second order cannot decide);
    ``"unknown"``  no finite spectrum (the run diverged or the Hessian failed).

    The gradient is not checked: at a point that is not stationary the label describes the
    local curvature only. For a Lanczos spectrum ``eig_min`` is an upper bound of the true
    one, so ``"minimum"`` relies on the extreme Ritz value having converged.

    >>> classify_spectrum(-1.0, 2.0), classify_spectrum(1e-12, 2.0), classify_spectrum(0.5, 2.0)
    ('saddle', 'flat', 'minimum')
    """
    try:
        lo, hi = float(eig_min), float(eig_max)
    except (TypeError, ValueError):
        return "unknown"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "unknown"
    tol = rtol * max(abs(lo), abs(hi))
    if lo < -tol:
        return "saddle"
    if lo > tol:
        return "minimum"
    return "flat"
