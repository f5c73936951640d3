r"""Quadratics with known spectra, deterministic and noisy.

.. math:: f(x) = \tfrac12 (x - x^*)^\top A (x - x^*), \qquad A = Q\,\mathrm{diag}(\lambda)\,Q^\top

The eigenvalues ``lambda`` are chosen (:data:`SPECTRA`), ``Q`` is a Haar-random rotation
(:func:`random_rotation`). Everything random about the *problem* -- ``Q``, the eigenvalues of
the ``"deepobs"`` spectrum, a random ``x*`` -- is drawn from ``rotation_seed``, so a problem is
the same for every run seed; the run seed only draws the start (uniform in ``[-5, 5]^n``) and,
for ``noisy-quadratic``, the gradient noise. ``f* = 0`` at ``x*``; the Hessian is ``A``
everywhere, with ``L = max(lambda)`` and ``mu = min(lambda)``.

Why these: gradient descent with step ``1/L`` contracts the error by exactly ``1 - mu/L``
per step along the slowest eigenvector (compare the linear rates on strongly convex
functions, Nesterov 2004, Sec. 2.1.5), conjugate
gradients finish in about as many steps as there are eigenvalue clusters (Nocedal & Wright
2006, Sec. 5.1), and the DeepOBS spectrum mimics the few large outliers reported for neural
network Hessians.

References
----------
Y. Nesterov (2004), *Introductory Lectures on Convex Optimization*, Kluwer.
J. Nocedal, S. J. Wright (2006), *Numerical Optimization*, 2nd ed., Springer.
F. Schneider, L. Balles, P. Hennig (2019), "DeepOBS: A Deep Learning Optimizer Benchmark
Suite", ICLR (test problem ``quadratic_deep``).
G. Zhang, L. Li, Z. Nado, J. Martens, S. Sachdeva, G. E. Dahl, C. J. Shallue, R. Grosse (2019),
"Which Algorithmic Choices Matter at Which Batch Sizes? Insights From a Noisy Quadratic
Model", NeurIPS.
T. Schaul, S. Zhang, Y. LeCun (2013), "No More Pesky Learning Rates", ICML.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from optbench import AnalyticProblem, register_problem
from optbench.problem import AnalyticInstance, Constants, FlatObjective

SPECTRA = ("log", "clustered", "deepobs")
MINIMIZERS = ("ones", "random")

# independent random streams derived from one seed (numpy SeedSequence spawning)
_SPECTRUM_STREAM, _MINIMIZER_STREAM, _NOISE_STREAM = 1, 2, 3


def _generator(seed: int, stream: int, device="cpu") -> torch.Generator:
    """A torch generator for stream ``stream`` of ``seed``, independent of every other stream."""
    state = np.random.SeedSequence([int(seed), stream]).generate_state(1, dtype=np.uint64)[0]
    return torch.Generator(device=device).manual_seed(int(state) & ((1 << 63) - 1))


def random_rotation(dim: int, seed: int) -> Tensor:
    """A Haar-distributed orthogonal matrix (float64, CPU) from ``seed``.

    The Q factor of a Gaussian matrix with the signs of ``diag(R)`` folded in, which makes
    the distribution exactly Haar. F. Mezzadri (2007), "How to generate random matrices from
    the classical compact groups", Notices of the AMS 54(5):592-604.
    """
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(dim, dim, generator=gen, dtype=torch.float64)
    q, r = torch.linalg.qr(z)
    return q * torch.sign(torch.diagonal(r)).unsqueeze(0)


def log_spectrum(dim: int, kappa: float) -> Tensor:
    """``lambda_i = kappa^(-(i-1)/(n-1))``, ``i = 1..n``: log-spaced from 1 down to ``1/kappa``."""
    if dim == 1:
        return torch.ones(1, dtype=torch.float64)
    return torch.tensor([kappa ** -(i / (dim - 1)) for i in range(dim)], dtype=torch.float64)


def clustered_spectrum(dim: int, kappa: float, clusters: int, width: float) -> Tensor:
    r"""Eigenvalues in ``clusters`` tight groups, centres log-spaced from 1 down to ``1/kappa``.

    The ``n`` eigenvalues are split into ``k = clusters`` consecutive groups of sizes
    ``ceil(n/k)`` (the first ``n mod k`` groups) or ``floor(n/k)``. Group ``j = 0..k-1`` is
    centred at ``c_j = kappa^(-j/(k-1))`` (``c_0 = 1`` when ``k = 1``); its ``m`` members are
    ``c_j (1 + width * t)`` with ``t`` evenly spaced from ``+1`` down to ``-1`` (``t = 0``
    when ``m = 1``). So ``L = 1 + width`` and ``mu = (1 - width)/kappa`` when the end groups
    have two members or more.
    """
    sizes = [dim // clusters + (1 if j < dim % clusters else 0) for j in range(clusters)]
    values = []
    for j, m in enumerate(sizes):
        centre = kappa ** -(j / (clusters - 1)) if clusters > 1 else 1.0
        offsets = [0.0] if m == 1 else [1.0 - 2.0 * i / (m - 1) for i in range(m)]
        values += [centre * (1.0 + width * t) for t in offsets]
    return torch.tensor(values, dtype=torch.float64)


def deepobs_spectrum(dim: int, generator: torch.Generator) -> Tensor:
    """DeepOBS ``quadratic_deep``: ``n - n//10`` eigenvalues from U(0, 1), ``n//10`` from U(30, 60).

    For DeepOBS's ``n = 100`` that is 90 % in (0, 1) and 10 % in (30, 60) (Schneider, Balles &
    Hennig 2019; ``deepobs/pytorch/testproblems/quadratic_deep.py``, which draws them with
    numpy's ``RandomState(42)``, so its values differ from these), the shape of the
    neural-network Hessian spectra of Chaudhari et al. (2017, "Entropy-SGD", ICLR).
    """
    n_large = dim // 10
    small = torch.rand(dim - n_large, generator=generator, dtype=torch.float64)
    large = 30.0 + 30.0 * torch.rand(n_large, generator=generator, dtype=torch.float64)
    return torch.cat([small, large])


@register_problem("quadratic", tags=("landscape", "quadratic", "convex", "unimodal", "ill-conditioned", "scalable"))
class Quadratic(AnalyticProblem):
    r"""A rotated convex quadratic with a chosen Hessian spectrum.

    .. math:: f(x) = \tfrac12 (x - x^*)^\top A (x - x^*), \quad
              A = Q\,\mathrm{diag}(\lambda)\,Q^\top

    ``f* = 0`` at ``x*``; Hessian ``A`` (attribute ``hessian``, float64) with eigenvalues
    ``eigenvalues``, ``L = max(lambda)``, ``mu = min(lambda)``. Gradient descent with step
    ``1/L`` maps the error ``e = x - x*`` to ``(I - A/L) e``: in ``A``'s eigenbasis each
    component shrinks by ``1 - lambda_i/L``, so ``||e_k|| <= (1 - mu/L)^k ||e_0||`` with
    equality along the eigenvector of ``mu``.
    Domain ``[-5, 5]^n``; the start is uniform in the domain, drawn from the run seed.

    Parameters
    ----------
    dim : int
        ``n``. DeepOBS's ``quadratic_deep`` has ``n = 100``; pass ``dim=100`` to match it.
    spectrum : {"log", "clustered", "deepobs"}
        ``"log"``: ``lambda_i = kappa^(-(i-1)/(n-1))`` (``L = 1``, ``mu = 1/kappa``).
        ``"clustered"``: ``clusters`` groups of relative half-width ``cluster_width`` centred at
        ``kappa^(-j/(clusters-1))`` (see :func:`clustered_spectrum`).
        ``"deepobs"``: ``n - n//10`` eigenvalues from U(0, 1) and ``n//10`` from U(30, 60),
        drawn from ``rotation_seed`` (see :func:`deepobs_spectrum`; ``kappa`` is unused).
    kappa : float
        Condition number of the ``"log"`` spectrum, ratio of the outer cluster centres of the
        ``"clustered"`` one.
    clusters, cluster_width : int, float
        Number (at most ``dim``) and relative half-width (``< 1``) of the ``"clustered"`` groups.
    minimizer : {"ones", "random"}
        ``x* = (1, ..., 1)``, or uniform in ``[-2, 2]^n`` drawn from ``rotation_seed``.
    rotation_seed : int
        Seed of every random part of the problem: ``Q``, the ``"deepobs"`` eigenvalues and a
        ``"random"`` minimizer. The run seed never changes the problem.
    """

    domain = (-5.0, 5.0)
    f_star = 0.0

    def __init__(self, dim: int = 10, spectrum: str = "log", kappa: float = 100.0, clusters: int = 3,
                 cluster_width: float = 0.01, minimizer: str = "ones", rotation_seed: int = 0, **common):
        super().__init__(**common)
        if int(dim) != dim or dim < 1:
            raise ValueError(f"dim={dim!r} must be an integer >= 1")
        if spectrum not in SPECTRA:
            raise ValueError(f"spectrum={spectrum!r} is not one of {', '.join(map(repr, SPECTRA))}")
        if not kappa >= 1 or not math.isfinite(kappa):
            raise ValueError(f"kappa={kappa!r} must be a finite number >= 1")
        if int(clusters) != clusters or clusters < 1 or (spectrum == "clustered" and clusters > dim):
            raise ValueError(f"clusters={clusters!r} must be an integer in [1, dim={dim}]")
        if not 0 <= cluster_width < 1:
            raise ValueError(f"cluster_width={cluster_width!r} must be in [0, 1)")
        if minimizer not in MINIMIZERS:
            raise ValueError(f"minimizer={minimizer!r} is not one of {', '.join(map(repr, MINIMIZERS))}")
        self.dim, self.spectrum, self.kappa = int(dim), spectrum, float(kappa)
        self.clusters, self.cluster_width = int(clusters), float(cluster_width)
        self.minimizer, self.rotation_seed = minimizer, int(rotation_seed)
        n = self.dim
        if spectrum == "log":
            lam = log_spectrum(n, self.kappa)
        elif spectrum == "clustered":
            lam = clustered_spectrum(n, self.kappa, self.clusters, self.cluster_width)
        else:
            lam = deepobs_spectrum(n, _generator(self.rotation_seed, _SPECTRUM_STREAM))
        self.eigenvalues = lam
        self.L, self.mu = float(lam.max()), float(lam.min())
        q = random_rotation(n, self.rotation_seed)
        a = (q * lam) @ q.T
        self.hessian = (a + a.T) / 2
        if minimizer == "ones":
            x_star = torch.ones(n, dtype=torch.float64)
        else:
            x_star = 4.0 * torch.rand(n, generator=_generator(self.rotation_seed, _MINIMIZER_STREAM),
                                      dtype=torch.float64) - 2.0
        self.x_star = [x_star.tolist()]
        self._x_star = x_star
        self._cache: dict = {}

    def _constants(self, like: Tensor) -> tuple[Tensor, Tensor]:
        """``(A, x*)`` on ``like``'s device and dtype (converted once, then cached)."""
        key = (like.device, like.dtype)
        if key not in self._cache:
            self._cache[key] = (self.hessian.to(device=like.device, dtype=like.dtype),
                                self._x_star.to(device=like.device, dtype=like.dtype))
        return self._cache[key]

    def f(self, x):
        a, x_star = self._constants(x)
        e = x - x_star
        return 0.5 * ((e @ a) * e).sum(-1)

    def constants(self) -> Constants:
        """``L = max(lambda)``, ``mu = min(lambda)``: exact (the Hessian is ``A`` everywhere)."""
        return Constants(self.L, self.mu, exact=True, quadratic=True,
                         source="extreme eigenvalues of the Hessian A")

    def describe(self):
        lam = self.eigenvalues
        if self.spectrum == "log":
            shape = f"log-spaced in [1/{self.kappa:g}, 1]"
        elif self.spectrum == "clustered":
            shape = f"{self.clusters} clusters of relative half-width {self.cluster_width:g}, centres log-spaced in [1/{self.kappa:g}, 1]"
        else:
            shape = f"DeepOBS quadratic_deep: {self.dim - self.dim // 10} from U(0, 1), {self.dim // 10} from U(30, 60)"
        return {
            **super().describe(),
            "formula": "1/2 (x - x*)^T A (x - x*), A = Q diag(lambda) Q^T, Q Haar-random",
            "spectrum": shape,
            "eigenvalues": f"{self.dim} in [{float(lam.min()):.4g}, {float(lam.max()):.4g}]",
            "Hessian": f"A (constant), rotation_seed = {self.rotation_seed}",
        }


@register_problem("noisy-quadratic", tags=("quadratic", "convex", "unimodal", "stochastic", "scalable"))
class NoisyQuadratic(Quadratic):
    r"""A quadratic whose optimizer sees a noisy objective: a fresh target shift each step.

    .. math:: \tilde f_k(x) = \tfrac12 (x - x^* - \xi_k)^\top A (x - x^* - \xi_k), \qquad
              \xi_k \sim \mathcal N(0, \sigma^2 I)

    so the gradient seen at step ``k`` is ``grad f(x) - A xi_k``: unbiased, with noise
    covariance ``sigma^2 A^2`` -- the noisy quadratic model of Zhang et al. (2019) (there the
    noise covariance is chosen proportional to ``A``; here it follows from shifting the
    target as in Schaul, Zhang & LeCun 2013) and DeepOBS's ``quadratic_deep``, whose loss is
    ``1/2 (x - xi)^T A (x - xi)`` on data ``xi ~ N(0, 0.6^2 I)``. A minibatch of ``B`` such
    samples has the gradient noise of one sample with ``sigma / sqrt(B)``.

    ``xi_k`` is drawn once per optimizer step (every closure call of a step, a line search's
    included, sees the same sample) from a generator seeded by the run seed, so every
    optimizer sees the same noise sequence at the same seed and device. The reported final
    value, the ``"loss"`` metric and ``f_star = 0`` are those of the noise-free ``f``; the
    expected noisy value is ``f(x) + sigma^2 tr(A) / 2``. All parameters of ``quadratic``
    apply, plus ``sigma >= 0``.
    """

    stochastic = True

    def __init__(self, sigma: float = 1.0, **quadratic):
        super().__init__(**quadratic)
        if not sigma >= 0 or not math.isfinite(sigma):
            raise ValueError(f"sigma={sigma!r} must be a finite number >= 0")
        self.sigma = float(sigma)

    def instantiate(self, *, seed: int, device="cpu", dtype: torch.dtype | None = None) -> "NoisyQuadraticInstance":
        dtype = dtype or self.default_dtype
        return NoisyQuadraticInstance(self, self.start_point(seed, dtype, device), seed=int(seed))

    def describe(self):
        return {**super().describe(),
                "noise": f"target shift xi ~ N(0, {self.sigma:g}^2 I) per step; gradient noise covariance sigma^2 A^2"}


class NoisyQuadraticInstance(AnalyticInstance):
    """A :class:`NoisyQuadratic` for one seed: ``begin_step`` draws the step's ``xi``.

    The noise generator lives on the run's device (no host round trip per step) and is seeded
    from the run seed on its own stream, independent of the start point's draw. Before the
    first ``begin_step`` the shift is zero (the objective is noise-free).
    """

    stochastic = True

    def __init__(self, problem: NoisyQuadratic, x0: Tensor, *, seed: int):
        super().__init__(problem, x0)
        self._gen = _generator(seed, _NOISE_STREAM, device=x0.device)
        self.xi = torch.zeros_like(x0)

    def begin_step(self, step: int) -> None:
        noise = torch.randn(self.dim, generator=self._gen, device=self.x.device, dtype=self.x.dtype)
        self.xi = self.problem.sigma * noise

    def objective(self) -> Tensor:
        return self.problem.f(self.x - self.xi)

    @torch.no_grad()
    def final_objective(self) -> Tensor:
        return self.problem.f(self.x)

    @torch.no_grad()
    def evaluate(self) -> dict[str, Tensor]:
        return {"loss": self.problem.f(self.x)}

    def flat_objective(self) -> FlatObjective:
        return FlatObjective(lambda x: self.problem.f(x - self.xi), self.params)
