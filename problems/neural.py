"""Neural training problems: convex models with certified optima, small networks on
synthetic and shipped real data, a character-level language model, and the DeepOBS problems.

Conventions
-----------
* **The data set is part of the problem; the seed is a training run.** Every problem's data
  are fixed by its parameters -- a ``data_seed`` for synthetic data and for the train/test
  split of shipped data -- so that ``f*`` is one number and every seed trains on the same
  data. The run seed draws the initial weights (torch's default initialisers under the
  seeded global generator, or the published initialisation) and the minibatch order.
* **Known optima.** The convex problems (``logreg-binary``, ``logreg-softmax``,
  ``least-squares``, ``ridge``) compute ``f*`` of their full training objective in float64 by
  Newton's method on the problem's own :meth:`~optbench.problem.TrainingInstance.flat_objective`
  (for the quadratic objectives the first Newton step from zero is the direct solve of the
  normal equations; the second only confirms it), stopping when the Newton decrement
  ``lambda^2 = g^T H^-1 g`` -- twice the predicted gap -- is below ``1e-24`` (or stops
  decreasing at the rounding floor). The result
  (:class:`Optimum`: value, minimiser, gradient norm) is cached in memory per parameter set
  (``functools.lru_cache`` on the data-defining parameters; ``batch_size`` does not change
  it). ``deep-linear`` has a closed-form ``f*`` (0 when realizable and noiseless);
  ``teacher-student`` has ``f* = 0`` when the student can represent the teacher.
* **Batches.** ``batch_size=None`` is full batch (deterministic); otherwise see
  :class:`~optbench.problem.TrainingInstance` for the seeded, step-indexed batch order.
* **Metrics.** Evaluation points report training and test loss and, for classification,
  accuracy; the language model adds bits per character.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from optbench import TrainingProblem, TrainingSetup, register_problem
from optbench.problem import Constants, dense_hessian

from . import datasets

LN2 = math.log(2.0)


# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------
def _check_counts(**values) -> None:
    for name, v in values.items():
        if isinstance(v, bool) or int(v) != v or v < 1:
            raise ValueError(f"{name}={v!r} must be a positive integer")


def data_generator(data_seed: int) -> torch.Generator:
    """The generator of a problem's data: seeded by ``data_seed``, independent of the run seed."""
    return torch.Generator().manual_seed(int(data_seed))


def gaussian_mixture(n: int, classes: int, features: int, separation: float, generator: torch.Generator):
    """``n`` points from ``classes`` isotropic unit Gaussians whose means lie on a sphere of
    radius ``separation`` (labels balanced, order shuffled)."""
    means = torch.randn(classes, features, generator=generator, dtype=torch.float64)
    means = separation * means / means.norm(dim=1, keepdim=True)
    labels = torch.arange(n) % classes
    labels = labels[torch.randperm(n, generator=generator)]
    x = means[labels] + torch.randn(n, features, generator=generator, dtype=torch.float64)
    return x, labels


def two_spirals(n: int, turns: float, noise: float, generator: torch.Generator):
    """Two interleaved spirals in the plane (Lang & Witbrock 1988), ``n`` points, labels 0/1.

    Class ``c`` lies on ``r (cos(theta + c pi), sin(theta + c pi))`` with ``r = sqrt(u)``,
    ``theta = 2 pi turns r``, ``u ~ U(0, 1)``, plus Gaussian noise of standard deviation ``noise``.
    """
    labels = torch.arange(n) % 2
    labels = labels[torch.randperm(n, generator=generator)]
    r = torch.rand(n, generator=generator, dtype=torch.float64).sqrt()
    theta = 2 * math.pi * turns * r + math.pi * labels
    x = torch.stack([r * theta.cos(), r * theta.sin()], dim=1)
    return x + noise * torch.randn(n, 2, generator=generator, dtype=torch.float64), labels


ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "gelu": nn.GELU}


def _activation(name: str):
    if name not in ACTIVATIONS:
        raise ValueError(f"activation={name!r} is not one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]


def mlp(sizes: list[int], activation=nn.Tanh, bias: bool = True) -> nn.Sequential:
    """Linear layers ``sizes[0] -> ... -> sizes[-1]`` with ``activation`` between them."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def half_squared_error(output: Tensor, target: Tensor) -> Tensor:
    """``1/(2n) sum_i ||output_i - target_i||^2`` (targets of shape ``(n, k)``)."""
    return 0.5 * (output - target).square().sum(-1).mean()


def binary_logistic(output: Tensor, target: Tensor) -> Tensor:
    """Mean logistic loss of logits ``(n, 1)`` against labels ``(n,)`` in ``{0, 1}``."""
    return F.binary_cross_entropy_with_logits(output.squeeze(-1), target)


def binary_accuracy(output: Tensor, target: Tensor) -> dict[str, Tensor]:
    return {"accuracy": ((output.squeeze(-1) > 0) == (target > 0.5)).to(output.dtype).mean()}


def sequence_cross_entropy(output: Tensor, target: Tensor) -> Tensor:
    """Mean next-token cross-entropy (nats) of logits ``(n, T, V)`` against tokens ``(n, T)``."""
    return F.cross_entropy(output.flatten(0, -2), target.flatten())


def sequence_metrics(output: Tensor, target: Tensor) -> dict[str, Tensor]:
    """Next-character accuracy and bits per character (cross-entropy / ln 2)."""
    return {"accuracy": (output.argmax(-1) == target).to(output.dtype).mean(),
            "bits_per_char": sequence_cross_entropy(output, target) / LN2}


def l2_penalty(lam: float, mask: list[bool] | None = None):
    """``params -> lam/2 sum ||p||^2`` over all parameters (or those where ``mask`` is true)."""
    def penalty(params: list[Tensor]) -> Tensor:
        chosen = params if mask is None else [p for p, m in zip(params, mask) if m]
        return 0.5 * lam * sum(p.square().sum() for p in chosen)

    return penalty


def _split(x: Tensor, y: Tensor, n_train: int):
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


# ---------------------------------------------------------------------------------------
# Convex problems with a certified f*
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Optimum:
    """The minimiser of a convex problem's full training objective, found in float64.

    ``fun`` is ``f*``, ``x`` the flat minimiser, ``grad_norm`` the gradient norm there (the
    certificate) and ``iterations`` the Newton steps taken.
    """

    fun: float
    x: np.ndarray
    grad_norm: float
    iterations: int


def _gradient(f, x: Tensor) -> Tensor:
    x = x.detach().requires_grad_(True)
    return torch.autograd.grad(f(x), x)[0]


def newton(f, x: Tensor, *, max_iter: int = 100, decrement_tol: float = 1e-24) -> tuple[Tensor, int]:
    """Damped Newton's method with Armijo backtracking on a smooth strictly convex ``f``.

    ``lambda^2 = g^T H^-1 g`` (the Newton decrement; ``f - f* ~ lambda^2 / 2`` near the
    minimum, Boyd & Vandenberghe 2004, 9.5) decides: full steps once ``lambda^2 < 1e-6``
    (quadratic convergence; a line search could not resolve the decrease in floating point
    anyway), backtracking before. Stops after the step with ``lambda^2 <= decrement_tol``, or
    when ``lambda^2`` stops decreasing below ``1e-16`` (the rounding floor of the gradient).
    The Hessian is :func:`optbench.problem.dense_hessian` (reverse-over-reverse, batched over
    directions). Returns the minimiser and the number of Newton steps.
    """
    with torch.no_grad():
        fx = f(x)
    previous = math.inf
    for it in range(1, max_iter + 1):
        g = _gradient(f, x)
        d = -torch.linalg.solve(dense_hessian(f, x), g)
        decrement = float(-(g @ d))
        if decrement <= decrement_tol or (decrement < 1e-16 and decrement >= previous):
            return x + d, it
        previous = decrement
        t = 1.0
        with torch.no_grad():
            while decrement >= 1e-6:
                if f(x + t * d) <= fx - 1e-4 * t * decrement or t < 1e-12:
                    break
                t *= 0.5
            x = x + t * d
            fx = f(x)
    raise RuntimeError(f"Newton's method did not converge in {max_iter} steps (decrement {decrement:.3g})")


@functools.lru_cache(maxsize=64)
def _optimum(cls: type, config: tuple) -> Optimum:
    inst = cls(**dict(config)).instantiate(seed=0, device="cpu", dtype=torch.float64)
    f = inst.flat_objective()
    x, iterations = newton(f, torch.zeros(inst.dim, dtype=torch.float64))
    grad_norm = float(_gradient(f, x).norm())
    x_star = x.detach().numpy()
    x_star.flags.writeable = False  # shared by every caller of the cache
    with torch.no_grad():
        return Optimum(float(f(x)), x_star, grad_norm, iterations)


def design_matrix(x: Tensor) -> Tensor:
    """``A = [X, 1]`` in float64: the training features with a column of ones for the bias."""
    x = x.to(torch.float64)
    return torch.cat([x, torch.ones(x.shape[0], 1, dtype=torch.float64)], dim=1)


@functools.lru_cache(maxsize=64)
def _constants(cls: type, config: tuple) -> Constants:
    return cls(**dict(config)).compute_constants()


class ConvexProblem(TrainingProblem):
    """A strictly convex training objective whose ``f*`` is computed (and cached) by Newton.

    Subclasses list the parameters that define the objective in :meth:`config`; the
    minibatch size is not one of them (``f*`` is that of the full training objective).
    Their smoothness and strong convexity (:meth:`constants`) come from the training data,
    computed once per parameter set (:meth:`compute_constants`, cached like ``f*``).
    """

    def config(self) -> dict:
        raise NotImplementedError

    def data(self) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        """The training and test sets ``(x, y)`` (float64, CPU): fixed by the parameters."""
        raise NotImplementedError

    def compute_constants(self) -> Constants:
        """:class:`~optbench.problem.Constants` of the full training objective, from the data."""
        raise NotImplementedError

    def constants(self) -> Constants:
        return _constants(type(self), tuple(sorted(self.config().items())))

    def optimum(self) -> Optimum:
        """The certified minimum (cached per parameter set)."""
        return _optimum(type(self), tuple(sorted(self.config().items())))

    @property
    def f_star(self) -> float:
        return self.optimum().fun

    def describe(self) -> dict[str, str]:
        opt = self.optimum()
        return {**super().describe(), "f* certificate": f"||grad f(x*)|| = {opt.grad_norm:.2e} after "
                f"{opt.iterations} Newton steps in float64"}


@register_problem("logreg-binary", tags=("neural", "convex", "classification", "synthetic"))
class LogRegBinary(ConvexProblem):
    r"""L2-regularised binary logistic regression on two Gaussian classes.

    .. math:: f(w, b) = \frac1n \sum_i \log(1 + e^{-s_i (w^\top x_i + b)})
              + \frac{\lambda}{2} (\|w\|^2 + b^2), \quad s_i = 2 y_i - 1

    Two unit Gaussians in ``features`` dimensions with means on a sphere of radius
    ``separation`` (see :func:`gaussian_mixture`); ``samples`` training and ``samples // 4``
    test points drawn from ``data_seed``. The bias is penalised too, so ``f``
    is ``lam``-strongly convex and ``f*`` (Newton, float64) is unique.
    """

    def __init__(self, samples: int = 512, features: int = 20, separation: float = 2.0, lam: float = 1e-3,
                 data_seed: int = 0, **common):
        super().__init__(**common)
        _check_counts(samples=samples, features=features)
        if not lam > 0:
            raise ValueError(f"lam={lam!r} must be > 0 (it makes f strongly convex)")
        self.samples, self.features, self.separation = int(samples), int(features), float(separation)
        self.lam, self.data_seed = float(lam), int(data_seed)

    def config(self):
        return dict(samples=self.samples, features=self.features, separation=self.separation, lam=self.lam,
                    data_seed=self.data_seed)

    def data(self):
        n_test = max(self.samples // 4, 1)
        x, y = gaussian_mixture(self.samples + n_test, 2, self.features, self.separation, data_generator(self.data_seed))
        return _split(x, y.double(), self.samples)

    def compute_constants(self) -> Constants:
        r"""``L <= ||A||_2^2 / (4n) + lam`` and ``mu >= lam``, ``A = [X, 1]`` (bounds).

        The Hessian is ``A^T D A / n + lam I`` with ``D = diag(s_i (1 - s_i))``, ``s_i`` the
        sigmoid of the margin, and ``0 < s (1 - s) <= 1/4``: the standard bounds (e.g. Bach
        2014, "Adaptivity of averaged stochastic gradient descent to local strong convexity
        for logistic regression", JMLR 15). ``mu`` is attained only where every margin is
        infinite, ``L`` only where every margin is 0.
        """
        a = design_matrix(self.data()[0][0])
        norm2 = float(torch.linalg.matrix_norm(a, ord=2)) ** 2
        return Constants(norm2 / (4 * a.shape[0]) + self.lam, self.lam, exact=False, quadratic=False,
                         source="||A||_2^2/(4n) + lam, A = [X, 1] the training features and a column of ones")

    def build(self, generator, dtype):
        train, test = self.data()
        return TrainingSetup(model=nn.Linear(self.features, 1), train=train, test=test, loss=binary_logistic,
                             regularizer=l2_penalty(self.lam), metrics=binary_accuracy)


@register_problem("logreg-softmax", tags=("neural", "convex", "classification", "synthetic"))
class LogRegSoftmax(ConvexProblem):
    r"""L2-regularised multinomial (softmax) logistic regression on a Gaussian mixture.

    .. math:: f(W, b) = \frac1n \sum_i \Big(\log \sum_c e^{w_c^\top x_i + b_c}
              - w_{y_i}^\top x_i - b_{y_i}\Big) + \frac{\lambda}{2} (\|W\|_F^2 + \|b\|^2)

    ``classes`` unit Gaussians in ``features`` dimensions with means on a sphere of radius
    ``separation``; ``samples`` training and ``samples // 4`` test points from ``data_seed``.
    Strongly convex (the penalty covers the bias), so ``f*`` is unique.
    """

    def __init__(self, samples: int = 512, features: int = 20, classes: int = 4, separation: float = 2.0,
                 lam: float = 1e-3, data_seed: int = 0, **common):
        super().__init__(**common)
        _check_counts(samples=samples, features=features, classes=classes)
        if classes < 2:
            raise ValueError(f"classes={classes} must be >= 2")
        if not lam > 0:
            raise ValueError(f"lam={lam!r} must be > 0 (it makes f strongly convex)")
        self.samples, self.features, self.classes = int(samples), int(features), int(classes)
        self.separation, self.lam, self.data_seed = float(separation), float(lam), int(data_seed)

    def config(self):
        return dict(samples=self.samples, features=self.features, classes=self.classes,
                    separation=self.separation, lam=self.lam, data_seed=self.data_seed)

    def data(self):
        n_test = max(self.samples // 4, 1)
        x, y = gaussian_mixture(self.samples + n_test, self.classes, self.features, self.separation,
                                data_generator(self.data_seed))
        return _split(x, y, self.samples)

    def compute_constants(self) -> Constants:
        r"""``L <= ||A||_2^2 / (2n) + lam`` and ``mu >= lam``, ``A = [X, 1]`` (bounds).

        A sample's Hessian is ``(diag(p) - p p^T) \otimes a a^T`` and
        ``diag(p) - p p^T <= (I - 11^T/K)/2`` (Böhning 1992, "Multinomial logistic regression
        algorithm", Ann. Inst. Statist. Math. 44(1):197-200), whose largest eigenvalue is 1/2.
        """
        a = design_matrix(self.data()[0][0])
        norm2 = float(torch.linalg.matrix_norm(a, ord=2)) ** 2
        return Constants(norm2 / (2 * a.shape[0]) + self.lam, self.lam, exact=False, quadratic=False,
                         source="||A||_2^2/(2n) + lam (Böhning's bound), A = [X, 1] the training features "
                                "and a column of ones")

    def build(self, generator, dtype):
        train, test = self.data()
        return TrainingSetup(model=nn.Linear(self.features, self.classes), train=train, test=test,
                             loss=F.cross_entropy, regularizer=l2_penalty(self.lam))


def regression_data(n: int, features: int, kappa: float, noise: float, generator: torch.Generator):
    """A linear-regression data set with feature variances log-spaced in ``[1/kappa, 1]``.

    ``x_ij ~ N(0, kappa^{-j/(d-1)})``, ``y_i = w*^T x_i + b* + noise * eps_i`` with ``w*``,
    ``b*``, ``eps`` standard normal: the population Hessian of the squared loss has
    condition number ``kappa`` in the weights.
    """
    scale = torch.tensor([kappa ** (-j / (2 * (features - 1))) if features > 1 else 1.0 for j in range(features)],
                         dtype=torch.float64)
    x = torch.randn(n, features, generator=generator, dtype=torch.float64) * scale
    w = torch.randn(features, generator=generator, dtype=torch.float64)
    b = torch.randn((), generator=generator, dtype=torch.float64)
    y = x @ w + b + noise * torch.randn(n, generator=generator, dtype=torch.float64)
    return x, y.unsqueeze(-1)


@register_problem("least-squares", tags=("neural", "convex", "regression", "synthetic"))
class LeastSquares(ConvexProblem):
    r"""Linear least squares: a linear layer fitted to noisy linear data.

    .. math:: f(w, b) = \frac{1}{2n} \sum_i (w^\top x_i + b - y_i)^2

    Data from :func:`regression_data` (feature variances log-spaced with condition number
    ``kappa``, label noise ``noise``), ``samples`` training and ``samples // 4`` test points
    from ``data_seed``. Overdetermined (``samples > features + 1``), so the minimiser is unique;
    ``f*`` is the least-squares residual (normal equations solved in float64).
    """

    def __init__(self, samples: int = 256, features: int = 32, kappa: float = 100.0, noise: float = 0.5,
                 data_seed: int = 0, **common):
        super().__init__(**common)
        _check_counts(samples=samples, features=features)
        if not kappa >= 1:
            raise ValueError(f"kappa={kappa!r} must be >= 1")
        if noise < 0:
            raise ValueError(f"noise={noise!r} must be >= 0")
        self.samples, self.features, self.kappa = int(samples), int(features), float(kappa)
        self.noise, self.data_seed = float(noise), int(data_seed)
        self._check_shape()

    def _check_shape(self):
        if self.samples <= self.features + 1:
            raise ValueError(f"samples={self.samples} must exceed features + 1 = {self.features + 1} for a unique "
                             "least-squares solution (use ridge for underdetermined problems)")

    def config(self):
        return dict(samples=self.samples, features=self.features, kappa=self.kappa, noise=self.noise,
                    data_seed=self.data_seed)

    def _penalty(self):
        return None

    def data(self):
        n_test = max(self.samples // 4, 1)
        x, y = regression_data(self.samples + n_test, self.features, self.kappa, self.noise,
                               data_generator(self.data_seed))
        return _split(x, y, self.samples)

    def _lam(self) -> float:
        return 0.0

    def compute_constants(self) -> Constants:
        r"""``L``, ``mu``: the extreme eigenvalues of the Hessian ``A^T A / n + lam I`` (exact).

        ``A = [X, 1]`` (features and a column of ones), ``lam = 0`` for least squares; the
        objective is quadratic, its Hessian the same everywhere (``eigvalsh`` in float64).
        """
        a = design_matrix(self.data()[0][0])
        lam = self._lam()
        eig = torch.linalg.eigvalsh(a.T @ a / a.shape[0] + lam * torch.eye(a.shape[1], dtype=torch.float64))
        return Constants(float(eig[-1]), float(eig[0]), exact=True, quadratic=True,
                         source="extreme eigenvalues of A^T A/n" + (" + lam I" if lam else "")
                                + ", A = [X, 1] the training features and a column of ones")

    def build(self, generator, dtype):
        train, test = self.data()
        return TrainingSetup(model=nn.Linear(self.features, 1), train=train, test=test, loss=half_squared_error,
                             regularizer=self._penalty(), task="regression")


@register_problem("ridge", tags=("neural", "convex", "regression", "synthetic"))
class Ridge(LeastSquares):
    r"""Ridge regression: least squares plus an L2 penalty on all parameters.

    .. math:: f(w, b) = \frac{1}{2n} \sum_i (w^\top x_i + b - y_i)^2 + \frac{\lambda}{2} (\|w\|^2 + b^2)

    Same data as ``least-squares``; ``lam > 0`` makes the problem strongly convex for any
    number of samples. ``f*`` from the direct solve of ``(A^T A / n + lam I) theta = A^T y / n``
    (``A = [X, 1]``) in float64.
    """

    def __init__(self, samples: int = 256, features: int = 32, kappa: float = 100.0, noise: float = 0.5,
                 lam: float = 1e-2, data_seed: int = 0, **common):
        if not lam > 0:
            raise ValueError(f"lam={lam!r} must be > 0")
        self.lam = float(lam)
        super().__init__(samples=samples, features=features, kappa=kappa, noise=noise, data_seed=data_seed, **common)

    def _check_shape(self):
        return None

    def config(self):
        return {**super().config(), "lam": self.lam}

    def _lam(self) -> float:
        return self.lam

    def _penalty(self):
        return l2_penalty(self.lam)


# ---------------------------------------------------------------------------------------
# Synthetic non-convex problems
# ---------------------------------------------------------------------------------------
@register_problem("mlp-mixture", tags=("neural", "classification", "synthetic", "non-convex"))
class MLPMixture(TrainingProblem):
    """A tanh MLP classifying a Gaussian mixture (cross-entropy loss).

    ``classes`` unit-variance Gaussians in ``features`` dimensions with means on a sphere of
    radius ``separation``; ``samples`` training and ``samples // 4`` test points drawn from
    ``data_seed``; hidden layers of ``width`` units, ``depth`` of them. Full batch by default.
    """

    def __init__(self, samples: int = 512, features: int = 8, classes: int = 4, width: int = 32,
                 depth: int = 2, separation: float = 3.0, data_seed: int = 0, **common):
        super().__init__(**common)
        _check_counts(samples=samples, features=features, classes=classes, width=width, depth=depth)
        if classes < 2:
            raise ValueError(f"classes={classes} must be >= 2")
        self.samples, self.features, self.classes = int(samples), int(features), int(classes)
        self.width, self.depth, self.separation = int(width), int(depth), float(separation)
        self.data_seed = int(data_seed)

    def build(self, generator, dtype):
        n_test = max(self.samples // 4, 1)
        x, y = gaussian_mixture(self.samples + n_test, self.classes, self.features, self.separation,
                                data_generator(self.data_seed))
        train, test = _split(x, y, self.samples)
        model = mlp([self.features] + [self.width] * self.depth + [self.classes])
        return TrainingSetup(model=model, train=train, test=test, loss=F.cross_entropy)


@register_problem("mlp-spirals", tags=("neural", "classification", "synthetic", "non-convex"))
class MLPSpirals(TrainingProblem):
    """An MLP separating two interleaved spirals (Lang & Witbrock 1988), cross-entropy loss.

    ``samples`` training and ``samples // 4`` test points from :func:`two_spirals`
    (``turns`` turns, noise ``noise``) drawn from ``data_seed``; ``depth`` hidden layers of
    ``width`` units with ``activation`` (tanh, relu or gelu). A classic hard landscape for
    small networks: long plateaus before the spirals are resolved.
    """

    def __init__(self, samples: int = 512, turns: float = 1.5, noise: float = 0.05, width: int = 32,
                 depth: int = 3, activation: str = "tanh", data_seed: int = 0, **common):
        super().__init__(**common)
        _check_counts(samples=samples, width=width, depth=depth)
        if not turns > 0 or noise < 0:
            raise ValueError(f"turns={turns!r} must be > 0 and noise={noise!r} >= 0")
        self.act = _activation(activation)
        self.samples, self.turns, self.noise = int(samples), float(turns), float(noise)
        self.width, self.depth, self.data_seed = int(width), int(depth), int(data_seed)

    def build(self, generator, dtype):
        n_test = max(self.samples // 4, 1)
        x, y = two_spirals(self.samples + n_test, self.turns, self.noise, data_generator(self.data_seed))
        train, test = _split(x, y, self.samples)
        model = mlp([2] + [self.width] * self.depth + [2], self.act)
        return TrainingSetup(model=model, train=train, test=test, loss=F.cross_entropy)


@functools.lru_cache(maxsize=64)
def _deep_linear_f_star(inputs: int, outputs: int, rank: int, samples: int, noise: float, data_seed: int) -> float:
    x, y = _deep_linear_data(inputs, outputs, samples + max(samples // 4, 1), noise, data_seed)
    x, y = x[:samples], y[:samples]
    b = torch.linalg.lstsq(x, y).solution
    fitted = x @ b
    tail = torch.linalg.svdvals(fitted)[rank:].square().sum()
    return float(((y - fitted).square().sum() + tail) / (2 * samples))


def _deep_linear_data(inputs, outputs, n, noise, data_seed):
    gen = data_generator(data_seed)
    a = torch.randn(outputs, inputs, generator=gen, dtype=torch.float64) / math.sqrt(inputs)
    x = torch.randn(n, inputs, generator=gen, dtype=torch.float64)
    return x, x @ a.T + noise * torch.randn(n, outputs, generator=gen, dtype=torch.float64)


@register_problem("deep-linear", tags=("neural", "non-convex", "regression", "synthetic"))
class DeepLinear(TrainingProblem):
    r"""A deep linear network ``W_depth ... W_1 x`` regressing onto a random linear map.

    .. math:: f(W_1, \dots, W_L) = \frac{1}{2n} \sum_i \|W_L \cdots W_1 x_i - y_i\|^2,
              \quad y_i = A x_i + \sigma \varepsilon_i

    ``x ~ N(0, I_inputs)``, ``A`` Gaussian with variance ``1/inputs``, no biases, hidden layers
    of ``width`` units; ``depth`` weight matrices. Non-convex, yet every local minimum is
    global (Kawaguchi 2016) and gradient descent meets saddle plateaus (Saxe, McClelland &
    Ganguli 2014). ``f*`` is known in closed form: with ``r = min(width, inputs, outputs)``,
    it is the reduced-rank regression optimum ``(||Y - Yhat||^2 + sum_{i>r} s_i(Yhat)^2) / 2n``
    (``Yhat`` the least-squares fit, ``s_i`` its singular values; Eckart-Young). In the
    realizable case -- ``noise = 0`` and ``width >= min(inputs, outputs)`` -- ``f* = 0``.
    """

    def __init__(self, inputs: int = 8, outputs: int = 8, width: int = 8, depth: int = 4, samples: int = 256,
                 noise: float = 0.0, data_seed: int = 0, **common):
        super().__init__(**common)
        _check_counts(inputs=inputs, outputs=outputs, width=width, depth=depth, samples=samples)
        if noise < 0:
            raise ValueError(f"noise={noise!r} must be >= 0")
        self.inputs, self.outputs, self.width, self.depth = int(inputs), int(outputs), int(width), int(depth)
        self.samples, self.noise, self.data_seed = int(samples), float(noise), int(data_seed)

    @property
    def realizable(self) -> bool:
        return self.noise == 0 and (self.depth == 1 or self.width >= min(self.inputs, self.outputs))

    @property
    def f_star(self) -> float:
        if self.realizable:
            return 0.0
        rank = min(self.inputs, self.outputs, self.width if self.depth > 1 else self.inputs)
        return _deep_linear_f_star(self.inputs, self.outputs, rank, self.samples, self.noise, self.data_seed)

    def build(self, generator, dtype):
        x, y = _deep_linear_data(self.inputs, self.outputs, self.samples + max(self.samples // 4, 1), self.noise,
                                 self.data_seed)
        train, test = _split(x, y, self.samples)
        model = mlp([self.inputs] + [self.width] * (self.depth - 1) + [self.outputs], nn.Identity, bias=False)
        return TrainingSetup(model=model, train=train, test=test, loss=half_squared_error, task="regression")


@register_problem("teacher-student", tags=("neural", "non-convex", "regression", "synthetic"))
class TeacherStudent(TrainingProblem):
    """A student MLP fitting the outputs of a fixed random teacher MLP (squared loss).

    Teacher and student have ``depth`` hidden layers with ``activation``; the teacher's
    widths are ``teacher_width``, the student's ``student_width`` (default: the teacher's).
    Teacher weights ``N(0, 1/fan_in)`` and biases ``N(0, 0.1^2)``, inputs ``N(0, I)``, label
    noise ``noise``, all from ``data_seed`` (Saad & Solla 1995; Goldt et al. 2019). When the
    problem is realizable -- ``noise = 0`` and ``student_width >= teacher_width`` (the student
    embeds the teacher by zeroing its extra units) -- ``f* = 0``; otherwise ``f*`` is unknown.
    """

    def __init__(self, inputs: int = 16, teacher_width: int = 8, student_width: int | None = None, depth: int = 1,
                 outputs: int = 1, samples: int = 512, noise: float = 0.0, activation: str = "tanh",
                 data_seed: int = 0, **common):
        super().__init__(**common)
        student_width = teacher_width if student_width is None else student_width
        _check_counts(inputs=inputs, teacher_width=teacher_width, student_width=student_width, depth=depth,
                      outputs=outputs, samples=samples)
        if noise < 0:
            raise ValueError(f"noise={noise!r} must be >= 0")
        self.act = _activation(activation)
        self.inputs, self.teacher_width, self.student_width = int(inputs), int(teacher_width), int(student_width)
        self.depth, self.outputs, self.samples = int(depth), int(outputs), int(samples)
        self.noise, self.data_seed = float(noise), int(data_seed)

    @property
    def f_star(self) -> float | None:
        return 0.0 if self.noise == 0 and self.student_width >= self.teacher_width else None

    def build(self, generator, dtype):
        gen = data_generator(self.data_seed)
        sizes = [self.inputs] + [self.teacher_width] * self.depth + [self.outputs]
        teacher = mlp(sizes, self.act).double()
        with torch.no_grad():
            for layer in teacher:
                if isinstance(layer, nn.Linear):
                    layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen, dtype=torch.float64)
                                       / math.sqrt(layer.in_features))
                    layer.bias.copy_(0.1 * torch.randn(layer.bias.shape, generator=gen, dtype=torch.float64))
            n = self.samples + max(self.samples // 4, 1)
            x = torch.randn(n, self.inputs, generator=gen, dtype=torch.float64)
            y = teacher(x) + self.noise * torch.randn(n, self.outputs, generator=gen, dtype=torch.float64)
        train, test = _split(x, y, self.samples)
        student = mlp([self.inputs] + [self.student_width] * self.depth + [self.outputs], self.act)
        return TrainingSetup(model=student, train=train, test=test, loss=half_squared_error, task="regression")


# ---------------------------------------------------------------------------------------
# Shipped real data: digits, text
# ---------------------------------------------------------------------------------------
def digits_split(test_fraction: float, data_seed: int):
    """The shipped digits as float64 in ``[0, 1]`` (pixels / 16), shape ``(n, 1, 8, 8)``, split
    into train and test by a permutation drawn from ``data_seed``."""
    images, labels = datasets.load_digits()
    x = torch.from_numpy(images.astype(np.float64) / 16.0).unsqueeze(1)
    y = torch.from_numpy(labels.copy())
    perm = torch.randperm(x.shape[0], generator=data_generator(data_seed))
    n_test = int(round(test_fraction * x.shape[0]))
    return _split(x[perm], y[perm], x.shape[0] - n_test)


class _DigitsProblem(TrainingProblem):
    def __init__(self, test_fraction: float = 0.2, data_seed: int = 0, **common):
        super().__init__(**common)
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction={test_fraction!r} must be in (0, 1)")
        self.test_fraction, self.data_seed = float(test_fraction), int(data_seed)


@register_problem("digits-mlp", tags=("neural", "non-convex", "classification", "real-data"))
class DigitsMLP(_DigitsProblem):
    """An MLP classifying the UCI handwritten digits (8x8, 1797 images, shipped), cross-entropy.

    Pixels scaled to ``[0, 1]``; ``depth`` hidden layers of ``width`` units with
    ``activation``; a ``test_fraction`` of the images held out by a split drawn from
    ``data_seed``. Data: Alpaydin & Kaynak (1998), UCI ML repository (CC BY 4.0).
    """

    def __init__(self, width: int = 64, depth: int = 1, activation: str = "tanh", test_fraction: float = 0.2,
                 data_seed: int = 0, **common):
        super().__init__(test_fraction=test_fraction, data_seed=data_seed, **common)
        _check_counts(width=width, depth=depth)
        self.width, self.depth, self.act = int(width), int(depth), _activation(activation)

    def build(self, generator, dtype):
        (xtr, ytr), (xte, yte) = digits_split(self.test_fraction, self.data_seed)
        model = mlp([64] + [self.width] * self.depth + [10], self.act)
        return TrainingSetup(model=model, train=(xtr.flatten(1), ytr), test=(xte.flatten(1), yte), loss=F.cross_entropy)


@register_problem("digits-cnn", tags=("neural", "non-convex", "classification", "real-data"))
class DigitsCNN(_DigitsProblem):
    """A small CNN classifying the UCI handwritten digits (8x8, shipped), cross-entropy.

    Two blocks of 3x3 convolution + ReLU + 2x2 max-pool (``channels`` and ``2 * channels``
    filters; 8x8 -> 4x4 -> 2x2) and a linear classifier. Split and data as in ``digits-mlp``. Minibatches of 128 by default (a full-batch step
    costs about ten times as much).
    """

    def __init__(self, channels: int = 16, test_fraction: float = 0.2, data_seed: int = 0,
                 batch_size: int | None = 128, **common):
        super().__init__(test_fraction=test_fraction, data_seed=data_seed, batch_size=batch_size, **common)
        _check_counts(channels=channels)
        self.channels = int(channels)

    def build(self, generator, dtype):
        train, test = digits_split(self.test_fraction, self.data_seed)
        c = self.channels
        model = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * c * 2 * 2, 10),
        )
        return TrainingSetup(model=model, train=train, test=test, loss=F.cross_entropy)


@register_problem("digits-autoencoder", tags=("neural", "non-convex", "regression", "real-data"))
class DigitsAutoencoder(_DigitsProblem):
    """An MLP autoencoder reconstructing the UCI digits: ``64 -> hidden -> code -> hidden -> 64``.

    Squared reconstruction error ``1/(2n) sum_i ||xhat_i - x_i||^2`` on pixels in ``[0, 1]``,
    ``activation`` between layers, linear output. Split and data as in ``digits-mlp``.
    """

    def __init__(self, hidden: int = 32, code: int = 8, activation: str = "tanh", test_fraction: float = 0.2,
                 data_seed: int = 0, **common):
        super().__init__(test_fraction=test_fraction, data_seed=data_seed, **common)
        _check_counts(hidden=hidden, code=code)
        self.hidden, self.code, self.act = int(hidden), int(code), _activation(activation)

    def build(self, generator, dtype):
        (xtr, _), (xte, _) = digits_split(self.test_fraction, self.data_seed)
        xtr, xte = xtr.flatten(1), xte.flatten(1)
        model = mlp([64, self.hidden, self.code, self.hidden, 64], self.act)
        return TrainingSetup(model=model, train=(xtr, xtr), test=(xte, xte), loss=half_squared_error,
                             task="regression")


class CharRNN(nn.Module):
    """Embedding -> GRU -> linear read-out of next-character logits ``(n, T, vocab)``."""

    def __init__(self, vocab: int, embedding: int, hidden: int, layers: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, embedding)
        self.rnn = nn.GRU(embedding, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens: Tensor) -> Tensor:
        h, _ = self.rnn(self.embed(tokens))
        return self.out(h)


def char_windows(text: str, seq_len: int, test_fraction: float):
    """Tokens of ``text`` (vocabulary: its sorted characters) cut into non-overlapping windows.

    The first ``1 - test_fraction`` of the text is the training part, the rest the test
    part; each part gives inputs ``(n, seq_len)`` and targets shifted by one character.
    """
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    tokens = torch.tensor([index[c] for c in text], dtype=torch.int64)
    cut = int(len(text) * (1 - test_fraction))

    def windows(part: Tensor):
        n = (part.numel() - 1) // seq_len
        if n < 1:
            raise ValueError(f"seq_len={seq_len} is longer than a part of the text ({part.numel()} characters)")
        x = part[: n * seq_len].view(n, seq_len)
        y = part[1 : n * seq_len + 1].view(n, seq_len)
        return x, y

    return vocab, windows(tokens[:cut]), windows(tokens[cut:])


@register_problem("char-gru", tags=("neural", "non-convex", "classification", "real-data", "sequence"))
class CharGRU(TrainingProblem):
    """A character-level GRU language model on a shipped public-domain text.

    Next-character cross-entropy (nats) over non-overlapping windows of ``seq_len``
    characters; an ``embedding``-dimensional character embedding, ``layers`` GRU layers of
    ``hidden`` units (Cho et al. 2014) and a linear read-out. ``text`` is one of the shipped
    texts (``constitution``: the US Constitution and Bill of Rights, ~29 KB, 72 characters);
    its last ``test_fraction`` is the test set. Evaluation points add bits per character
    (cross-entropy / ln 2) and next-character accuracy. Minibatches of 32 windows by default
    (about 25 ms a step on one core: the recurrence is sequential in time).
    """

    def __init__(self, seq_len: int = 32, embedding: int = 16, hidden: int = 64, layers: int = 1,
                 text: str = "constitution", test_fraction: float = 0.1, batch_size: int | None = 32, **common):
        super().__init__(batch_size=batch_size, **common)
        _check_counts(seq_len=seq_len, embedding=embedding, hidden=hidden, layers=layers)
        if text not in datasets.TEXTS:
            raise ValueError(f"text={text!r} is not one of the shipped texts: {', '.join(datasets.TEXTS)}")
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction={test_fraction!r} must be in (0, 1)")
        self.seq_len, self.embedding, self.hidden, self.layers = int(seq_len), int(embedding), int(hidden), int(layers)
        self.text, self.test_fraction = text, float(test_fraction)

    def build(self, generator, dtype):
        vocab, train, test = char_windows(datasets.load_text(self.text), self.seq_len, self.test_fraction)
        model = CharRNN(len(vocab), self.embedding, self.hidden, self.layers)
        return TrainingSetup(model=model, train=train, test=test, loss=sequence_cross_entropy,
                             metrics=sequence_metrics)


# ---------------------------------------------------------------------------------------
# DeepOBS (Schneider, Balles & Hennig 2019) on local copies of MNIST, Fashion-MNIST, CIFAR-10
# ---------------------------------------------------------------------------------------
class Standardize(nn.Module):
    """Fixed input layer: ``uint8`` images -> ``(x / 255 - mean) / std`` per channel.

    Keeping the data as bytes on the device and scaling per batch costs a quarter of the
    memory of float32 data; the layer has buffers, no parameters.
    """

    def __init__(self, mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(-1, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return (x.to(self.mean.dtype) / 255.0 - self.mean) / self.std


class SameMaxPool2d(nn.Module):
    """Max pooling with TensorFlow's ``"SAME"`` padding, as in the DeepOBS networks.

    The output has ``ceil(n / stride)`` rows and columns; the ``max((out - 1) stride + k - n, 0)``
    padding cells go ``floor(p / 2)`` before and the rest after, filled with ``-inf``.
    """

    def __init__(self, kernel_size: int, stride: int):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x: Tensor) -> Tensor:
        pads = []
        for n in (x.shape[-1], x.shape[-2]):
            total = max((-(-n // self.stride) - 1) * self.stride + self.kernel_size - n, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads, value=-math.inf)
        return F.max_pool2d(x, self.kernel_size, self.stride)


def mnist_logreg_net() -> nn.Sequential:
    """DeepOBS ``mnist_logreg``: a linear layer 784 -> 10 initialised to zero (7,850 parameters)."""
    net = nn.Sequential(Standardize((0.0,), (1.0,)), nn.Flatten(), nn.Linear(784, 10))
    nn.init.zeros_(net[2].weight)
    nn.init.zeros_(net[2].bias)
    return net


def net_2c2d() -> nn.Sequential:
    """DeepOBS ``2c2d`` (3,274,634 parameters): conv 5x5x32 "same" + ReLU + max-pool 2x2,
    conv 5x5x64 "same" + ReLU + max-pool 2x2, dense 1024 + ReLU, dense 10. Weights from a
    normal with std 0.05 truncated at two std, biases 0.05 (DeepOBS's initialisation)."""
    net = nn.Sequential(
        Standardize((0.0,), (1.0,)),
        nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), SameMaxPool2d(2, 2),
        nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), SameMaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 1024), nn.ReLU(), nn.Linear(1024, 10),
    )
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.05, a=-0.1, b=0.1)
            nn.init.constant_(m.bias, 0.05)
    return net


CIFAR10_MEAN = (0.49139968, 0.48215841, 0.44653091)
CIFAR10_STD = (0.24703223, 0.24348513, 0.26158784)


def net_3c3d() -> nn.Sequential:
    """DeepOBS ``3c3d`` (895,210 parameters): conv 5x5x64 "valid", conv 3x3x96 "valid",
    conv 3x3x128 "same", each + ReLU + max-pool 3x3 stride 2 "same"; dense 512, 256 (ReLU),
    10. Xavier-normal conv and Xavier-uniform dense weights, zero biases."""
    net = nn.Sequential(
        Standardize(CIFAR10_MEAN, CIFAR10_STD),
        nn.Conv2d(3, 64, 5), nn.ReLU(), SameMaxPool2d(3, 2),
        nn.Conv2d(64, 96, 3), nn.ReLU(), SameMaxPool2d(3, 2),
        nn.Conv2d(96, 128, 3, padding=1), nn.ReLU(), SameMaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(3 * 3 * 128, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10),
    )
    for m in net.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


class DeepOBSProblem(TrainingProblem):
    """A DeepOBS test problem on a local copy of its data set (see :mod:`problems.datasets`).

    Parameters shared by the DeepOBS problems: ``data_dir`` (default ``$OPTBENCH_DATA`` or
    ``~/.cache/optbench``); ``download`` -- fetch the official files (checksummed) if they are
    missing, at construction; ``batch_size`` (128, DeepOBS's default; ``None`` for full batch);
    ``train_samples`` -- train on the first ``train_samples`` training images only (``None``:
    all); ``train_eval_size`` -- the training loss at evaluation points (and the final ``fun``
    of a stochastic run) is measured on this many training images, a fixed subset drawn once
    (DeepOBS's "train eval" set, 10,000 by default). Differences from DeepOBS: no data
    augmentation and no validation split; images are scaled as DeepOBS's PyTorch version
    does (``[0, 1]`` for MNIST-like data, per-channel standardisation for CIFAR-10).
    """

    dataset = ""

    def __init__(self, data_dir: str | None = None, download: bool = False, train_samples: int | None = None,
                 train_eval_size: int = 10_000, batch_size: int | None = 128, **common):
        super().__init__(batch_size=batch_size, **common)
        if train_samples is not None:
            _check_counts(train_samples=train_samples)
        _check_counts(train_eval_size=train_eval_size)
        self.data_dir, self.train_samples, self.train_eval_size = data_dir, train_samples, int(train_eval_size)
        if download:
            datasets.download(self.dataset, data_dir)

    def check_available(self) -> None:
        datasets.require(self.dataset, self.data_dir)

    def load(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self.dataset == "cifar10":
            return datasets.load_cifar10(self.data_dir)
        return datasets.load_idx_dataset(self.dataset, self.data_dir)

    def network(self) -> nn.Module:
        raise NotImplementedError

    def regularizer(self, model: nn.Module):
        return None

    def build(self, generator, dtype):
        data = self.load()
        (xtr, ytr), (xte, yte) = data["train"], data["test"]
        if xtr.ndim == 3:  # (n, 28, 28) -> one channel
            xtr, xte = xtr[:, None], xte[:, None]
        if self.train_samples is not None:
            xtr, ytr = xtr[: self.train_samples], ytr[: self.train_samples]
        xtr, ytr, xte, yte = (torch.from_numpy(np.ascontiguousarray(a)) for a in (xtr, ytr, xte, yte))
        pick = torch.randperm(xtr.shape[0], generator=data_generator(0))[: self.train_eval_size]
        model = self.network()
        return TrainingSetup(model=model, train=(xtr, ytr), test=(xte, yte), loss=F.cross_entropy,
                             regularizer=self.regularizer(model), train_eval=(xtr[pick], ytr[pick]), eval_chunk=1000)

    def describe(self) -> dict[str, str]:
        try:
            self.load()
            where = "found"
        except datasets.DatasetError as exc:
            where = f"missing ({exc})"
        return {**super().describe(), "data": f"{self.dataset} in {datasets.default_data_dir(self.data_dir)}: {where}"}


@register_problem("mnist_logreg", tags=("neural", "convex", "classification", "real-data", "deepobs"))
class MNISTLogReg(DeepOBSProblem):
    """DeepOBS ``mnist_logreg``: multinomial logistic regression on MNIST, no regularisation.

    A linear layer 784 -> 10 initialised to zero, softmax cross-entropy; DeepOBS trains it
    with batch size 128 for 50 epochs. Convex, but ``f*`` is not computed (7,850 parameters
    and no regularisation: a Newton solve is not cheap and the minimiser need not be unique).
    Data: MNIST (LeCun et al. 1998) from ``<data_dir>/mnist``.
    """

    dataset = "mnist"

    def network(self):
        return mnist_logreg_net()


@register_problem("fmnist_2c2d", tags=("neural", "non-convex", "classification", "real-data", "deepobs"))
class FMNIST2c2d(DeepOBSProblem):
    """DeepOBS ``fmnist_2c2d``: a CNN with two conv and two dense layers on Fashion-MNIST.

    The 2c2d network (:func:`net_2c2d`), cross-entropy loss, no regularisation; DeepOBS trains it with batch size 128 for 100 epochs. Data:
    Fashion-MNIST (Xiao, Rasul & Vollgraf 2017) from ``<data_dir>/fashion-mnist``.
    """

    dataset = "fashion-mnist"

    def network(self):
        return net_2c2d()


@register_problem("cifar10_3c3d", tags=("neural", "non-convex", "classification", "real-data", "deepobs"))
class CIFAR10_3c3d(DeepOBSProblem):
    """DeepOBS ``cifar10_3c3d``: a CNN with three conv and three dense layers on CIFAR-10.

    The 3c3d network (:func:`net_3c3d`), cross-entropy loss plus ``l2/2 sum ||W||^2`` over
    the weights (not the biases), ``l2 = 0.002``. DeepOBS trains it with batch size 128 for 100 epochs. Data: CIFAR-10 (Krizhevsky 2009),
    binary version, from ``<data_dir>/cifar-10-batches-bin``.
    """

    dataset = "cifar10"

    def __init__(self, l2: float = 0.002, data_dir: str | None = None, download: bool = False,
                 train_samples: int | None = None, train_eval_size: int = 10_000, batch_size: int | None = 128,
                 **common):
        if l2 < 0:
            raise ValueError(f"l2={l2!r} must be >= 0")
        self.l2 = float(l2)
        super().__init__(data_dir=data_dir, download=download, train_samples=train_samples,
                         train_eval_size=train_eval_size, batch_size=batch_size, **common)

    def network(self):
        return net_3c3d()

    def regularizer(self, model):
        return l2_penalty(self.l2, [name.endswith("weight") for name, _ in model.named_parameters()])
