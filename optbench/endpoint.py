r"""Where did a run end? The gradient norm at the final iterate and an honest label for the point.

The analysis after an optimizer's loop -- the gradient norm here, the Hessian spectrum of
:mod:`optbench.spectrum` -- describes a run; it never changes its outcome. :func:`guarded`
runs one such computation with warnings turned into errors (so a library's warning neither
reaches the terminal nor depends on the caller's warning filters) and returns the reason
instead of raising; the runner then records "unavailable: <reason>" and keeps the run's
status, counts and trace.

End-point labels (:func:`classify_end_point`)
----------------------------------------------
A point is *stationary* when the gradient norm there is small relative to the gradient at
the start:

.. math:: \|\nabla f(x_{end})\| \le \tau_g = r_g \max(\|\nabla f(x_0)\|, 1), \qquad
          r_g = \max(10^{-6}, \sqrt{\varepsilon})

with :math:`\varepsilon` the machine epsilon of the run's dtype (``r_g = 1e-6`` in float64,
``3.5e-4`` in float32, where a gradient cannot be resolved more finely). The floor of 1 on
the start gradient keeps the test meaningful for a run started at a stationary point (the
tolerance is then absolute, ``r_g``), as in the "``max(1, ||g_0||)``" scaling of Nocedal &
Wright (2006), Sec. 3.5. At a stationary point the Hessian's spectrum decides, with the
spectrum's own rounding tolerance ``tol = sqrt(eps) max|lambda|``
(:func:`optbench.spectrum.classify_spectrum`):

``minimum``         stationary, every eigenvalue ``> tol`` (second-order sufficient conditions);
``saddle``          stationary, some eigenvalue ``< -tol`` (a saddle point, or a maximum);
``flat/singular``   stationary, no negative eigenvalue beyond rounding but the smallest within
                    ``tol`` of zero: second order cannot decide (a degenerate minimum or saddle);
``not stationary``  the gradient norm exceeds ``tau_g``, whatever the curvature;
``unknown``         no finite gradient norm (diverged or failed runs, stochastic problems, an
                    analysis that raised), or stationary without a finite spectrum.

References: J. Nocedal, S. J. Wright (2006), "Numerical Optimization", 2nd ed., Springer,
Thm. 2.3-2.4 (second-order conditions) and Sec. 3.5.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import torch
from torch import Tensor

from .spectrum import classify_spectrum, spectrum_rtol

GRADIENT_RTOL = 1e-6
END_POINTS = ("minimum", "saddle", "flat/singular", "not stationary", "unknown")


def guarded(compute: Callable[[], Any]) -> tuple[Any, str | None]:
    """``(compute(), None)``, or ``(None, reason)`` if it raised or warned.

    Warnings are errors inside (whatever the caller's filters), so a warning is a reason,
    never text on the terminal, and the result does not depend on ``python -W``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return compute(), None
        except Exception as exc:  # any failure of the analysis: recorded, never raised
            text = " ".join(str(exc).split())
            return None, f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def gradient_norms(f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """``||grad f(x_i)||_2`` of every row of ``x`` (shape ``(..., n)`` -> ``(...)``), one reverse pass.

    ``f`` maps ``(..., n)`` to ``(...)`` with independent rows (or ``(n,)`` to a scalar), so the
    gradient of ``sum f`` holds each row's own gradient. Computed in float64 from ``x``'s dtype.
    """
    with torch.enable_grad():
        xx = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xx).sum(), xx, allow_unused=True)
    if g is None:  # f does not depend on x
        return torch.zeros(x.shape[:-1], dtype=torch.float64)
    return torch.linalg.vector_norm(g.detach().double(), dim=-1).cpu()


def stationarity_tolerance(grad_norm0: float | None, dtype: torch.dtype | str = torch.float64) -> float:
    """``tau_g = max(1e-6, sqrt(eps)) * max(||g_0||, 1)`` (see the module docstring)."""
    start = grad_norm0 if grad_norm0 is not None and math.isfinite(grad_norm0) else 1.0
    return max(GRADIENT_RTOL, spectrum_rtol(dtype)) * max(start, 1.0)


def _finite(value) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def classify_end_point(grad_norm, grad_norm0, eig_min, eig_max, *, dtype: torch.dtype | str = "float64") -> str:
    """One of :data:`END_POINTS` for a run's final iterate (see the module docstring).

    >>> classify_end_point(1e-9, 50.0, 0.4, 1000.0)
    'minimum'
    >>> classify_end_point(1e-12, 1e-12, -5.0, 10.0)
    'saddle'
    >>> classify_end_point(3.2, 50.0, 0.4, 1000.0)
    'not stationary'
    """
    g = _finite(grad_norm)
    if g is None:
        return "unknown"
    if g > stationarity_tolerance(_finite(grad_norm0), dtype):
        return "not stationary"
    curvature = classify_spectrum(eig_min, eig_max, rtol=spectrum_rtol(dtype))
    return "flat/singular" if curvature == "flat" else curvature


def describe_end_point(label: str, grad_norm) -> str:
    """The label as a reader sees it: ``not stationary (|g| = 3.2)`` carries the gradient norm."""
    return f"{label} (|g| = {float(grad_norm):.2g})" if label == "not stationary" else label
