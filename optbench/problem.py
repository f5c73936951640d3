"""Problem contracts.

Two kinds of problem share one small interface, the :class:`Instance` the runner drives:

* :class:`AnalyticProblem` -- a loss landscape ``f(x)`` on a tensor of shape ``(..., dim)``
  returning shape ``(...)`` (batched, like ``scipy.optimize.rosen``), with its dimension,
  domain, standard start, known minimizers and ``f_star``;
* :class:`TrainingProblem` -- a model, data and a loss, full-batch or minibatch.

A problem object holds only its parameters; :meth:`Problem.instantiate` turns it into an
:class:`Instance` for one seed, device and dtype: the tensors to optimize (``params``), the
objective on the current batch, evaluation metrics, and a functional view for second-order
methods (:class:`FlatObjective`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from .theory import Constants

DTYPES = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}


class Problem:
    """Base of every problem. Subclasses set the class attributes and implement ``instantiate``."""

    name: str = ""
    params: dict = {}
    tags: tuple[str, ...] = ()
    f_star: float | None = None
    default_dtype: torch.dtype = torch.float64
    stochastic: bool = False

    def instantiate(self, *, seed: int, device: torch.device | str, dtype: torch.dtype) -> "Instance":
        raise NotImplementedError

    def check_available(self) -> None:
        """Raise an :class:`~optbench.errors.OptbenchError` saying how to fix it if something the
        problem needs from outside optbench is missing (a data set on disk); cheap, loads nothing.

        Called once per problem before a command runs anything (and by :func:`optbench.run`),
        so that a missing data set stops the command instead of being stored as failed runs.
        """

    def describe(self) -> dict[str, str]:
        """Human-readable facts for ``optbench info`` (formula, reference, f*, ...)."""
        return {"f*": _fmt(self.f_star)}

    def constants(self) -> Constants | None:
        """Smoothness and strong convexity of the objective where known (``None``: unknown)."""
        return None

    def describe_constants(self) -> dict[str, str]:
        """``optbench info`` lines for :meth:`constants`: the values, or "unknown"."""
        constants = self.constants()
        return {"L": "unknown", "mu": "unknown"} if constants is None else constants.describe()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name or type(self).__name__}({args})"


def _fmt(value) -> str:
    return "unknown" if value is None else repr(value)


def hessian_vector_products(f: Callable[[Tensor], Tensor], x: Tensor) -> Callable[[Tensor], Tensor]:
    r"""``v -> \nabla^2 f(x) v`` by reverse-over-reverse differentiation (Pearlmutter 1994).

    ``f`` and its gradient graph are evaluated once, here, with ``create_graph=True``; each
    product is then one more backward pass through that graph,
    ``\nabla_x (\nabla f(x)^\top v)``. For rows ``x`` of shape ``(S, n)`` with independent
    rows (``f`` returning ``(S,)``), the graph is that of ``sum_i f(x_i)``, whose Hessian is
    block diagonal: ``v`` of shape ``(S, n)`` gives every row's product at once. For small problems this is ~10x cheaper per product
    than ``torch.func.jvp`` of ``torch.func.grad``, whose transforms cost milliseconds per
    call. Directions where the gradient does not depend on ``x`` (a linear ``f``) give zero.

    B. A. Pearlmutter (1994), "Fast exact multiplication by the Hessian", Neural Computation
    6(1):147-160.
    """
    with torch.enable_grad():
        xx = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xx).sum(), xx, create_graph=True)
    return gradient_hvp(g, xx)


def gradient_hvp(g: Tensor, x: Tensor) -> Callable[[Tensor], Tensor]:
    r"""``v -> \nabla_x (g^\top v)``: Hessian-vector products through the graph of a gradient ``g``
    of ``f`` taken at the leaf ``x`` with ``create_graph=True`` (one backward pass each; the
    graph is kept). Zero where ``g`` does not depend on ``x``."""
    if not g.requires_grad:  # the gradient is constant: H = 0
        return lambda v: torch.zeros_like(x)

    def hvp(v: Tensor) -> Tensor:
        with torch.enable_grad():
            (hv,) = torch.autograd.grad(g, x, v, retain_graph=True, allow_unused=True)
        return torch.zeros_like(x) if hv is None else hv.detach()

    return hvp


def dense_hessian(f: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    r"""The dense Hessians ``\nabla^2 f(x)`` of the rows of ``x``: shape ``(..., n)`` -> ``(..., n, n)``.

    ``f`` maps ``(..., n)`` to ``(...)`` with independent rows (``f`` of one row depends on
    that row only), as every analytic problem does; a flat objective of shape ``(n,)`` is the
    case without leading axes. One gradient graph ``g = \nabla_x \sum f(x)`` is built with
    ``create_graph=True``; row ``i`` of every Hessian is then the Hessian-vector product
    ``\nabla_x (g^\top e_i)`` (reverse-over-reverse, Pearlmutter 1994), and the ``n``
    products run as one batched backward pass (``torch.autograd.grad(...,
    is_grads_batched=True)``, which vmaps over the directions ``e_1 .. e_n``). Rows being
    independent, the mixed second derivatives between rows vanish, so one set of ``n``
    directions serves every row. A gradient that does not depend on ``x`` (a linear ``f``)
    gives zeros.

    No forward-mode differentiation: ``torch.func.hessian`` (forward-over-reverse) costs
    ~4x more per call on small problems and, in torch 2.13, triggers its
    ``torch.jit.script`` deprecation warning.

    >>> import torch
    >>> f = lambda x: x[..., 0] ** 2 * x[..., 1]
    >>> dense_hessian(f, torch.tensor([[1.0, 2.0], [3.0, 0.0]], dtype=torch.float64))
    tensor([[[4., 2.],
             [2., 0.]],
    <BLANKLINE>
            [[0., 6.],
             [6., 0.]]], dtype=torch.float64)

    B. A. Pearlmutter (1994), "Fast exact multiplication by the Hessian", Neural Computation
    6(1):147-160.
    """
    with torch.enable_grad():
        xx = x.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(xx).sum(), xx, create_graph=True)
    return gradient_hessian(g, xx)


def gradient_hessian(g: Tensor, x: Tensor) -> Tensor:
    r"""The dense Hessians of the rows of the leaf ``x`` (``(..., n)`` -> ``(..., n, n)``) from the
    graph of a gradient ``g = \nabla_x \sum f(x)`` taken with ``create_graph=True``: the ``n``
    reverse-over-reverse products ``\nabla_x (g^\top e_i)`` in one batched backward pass
    (``is_grads_batched=True``), as :func:`dense_hessian` describes; the pass frees the graph.
    Zeros where ``g`` does not depend on ``x``."""
    n = x.shape[-1]
    if not g.requires_grad:  # the gradient is constant: H = 0
        return torch.zeros(*x.shape, n, dtype=x.dtype, device=x.device)
    with torch.enable_grad():
        eye = torch.eye(n, dtype=x.dtype, device=x.device)
        directions = eye.reshape(n, *([1] * (x.dim() - 1)), n).expand(n, *x.shape)
        (rows,) = torch.autograd.grad(g, x, directions, is_grads_batched=True, allow_unused=True)
    if rows is None:  # g has a graph, but not through x
        return torch.zeros(*x.shape, n, dtype=x.dtype, device=x.device)
    return rows.detach().movedim(0, -2)


class FlatObjective:
    """A problem's objective as a pure function of one flat parameter vector.

    ``f(x)`` evaluates the loss at the flat vector ``x`` (shape ``(n,)``) without touching the
    instance's parameters, so :func:`dense_hessian` and :func:`hessian_vector_products`
    work.
    ``x()`` returns the current parameters flattened; ``assign(x)`` writes ``x`` back.

    Second derivatives at the current point: :meth:`hessian` and :meth:`hessian_vector_products`.
    For an optimizer registered ``gradient_graph=True`` (:mod:`optbench.optimizer`) the runner's
    closure takes the gradient of each evaluation with ``create_graph=True`` and leaves it here
    (:meth:`keep_gradient`); while the parameter has not changed since, both differentiate that
    graph once more instead of evaluating ``f`` again at the same point -- the same operations on
    the same numbers, so the same result bit for bit.
    """

    def __init__(self, f: Callable[[Tensor], Tensor], params: Sequence[Tensor]):
        self.f = f
        self.params = list(params)
        self._kept: tuple[int, Tensor] | None = None  # (the parameter's version, its gradient with graph)

    def keep_gradient(self, gradient: Tensor) -> None:
        """Keep ``gradient``, the gradient at the single 1-D parameter taken with ``create_graph=True``
        (by the runner's closure), for the next :meth:`hessian` or :meth:`hessian_vector_products`."""
        self._kept = (self.params[0]._version, gradient)

    def _kept_gradient(self) -> Tensor | None:
        """The kept gradient if the parameter has not been written since it was taken (its version
        counter is unchanged), else ``None``; forgotten either way (a graph serves one use)."""
        kept, self._kept = self._kept, None
        if kept is None or kept[0] != self.params[0]._version:
            return None
        return kept[1]

    def hessian(self, x: Tensor) -> Tensor:
        """The dense Hessian at ``x``, the parameters' current point flattened: from the kept
        gradient's graph (:func:`gradient_hessian`) when there is one, else :func:`dense_hessian`
        of ``f`` at ``x``."""
        g = self._kept_gradient()
        return dense_hessian(self.f, x) if g is None else gradient_hessian(g, self.params[0])

    def hessian_vector_products(self, x: Tensor) -> Callable[[Tensor], Tensor]:
        """``v -> H v`` at ``x``, the parameters' current point flattened: through the kept
        gradient's graph (:func:`gradient_hvp`) when there is one, else
        :func:`hessian_vector_products` of ``f`` at ``x``."""
        g = self._kept_gradient()
        return hessian_vector_products(self.f, x) if g is None else gradient_hvp(g, self.params[0])

    def __call__(self, x: Tensor) -> Tensor:
        return self.f(x)

    def x(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.params])

    @torch.no_grad()
    def assign(self, x: Tensor) -> None:
        offset = 0
        for p in self.params:
            n = p.numel()
            p.copy_(x[offset : offset + n].view_as(p))
            offset += n


class Instance:
    """One problem set up for one seed, device and dtype: what the runner drives.

    ``params`` are leaf tensors with ``requires_grad``; ``objective()`` is the loss on the
    current batch; ``begin_step(k)`` fixes the batch used by every closure call of step ``k``
    (a line search sees one batch); ``evaluate()`` returns metrics at evaluation points, not
    counted as optimizer evaluations; ``final_objective()`` is the value reported as ``fun``.
    """

    params: list[Tensor]
    dim: int
    f_star: float | None = None
    stochastic: bool = False

    def objective(self) -> Tensor:
        raise NotImplementedError

    def begin_step(self, step: int) -> None:
        """Called once before each optimizer step; deterministic problems ignore it."""

    def evaluate(self) -> dict[str, Tensor]:
        """Metrics at an evaluation point (full training loss, test loss, accuracy)."""
        return {}

    @torch.no_grad()
    def final_objective(self) -> Tensor:
        return self.objective().detach()

    def flat_objective(self) -> FlatObjective:
        raise NotImplementedError

    def analysis_objective(self) -> FlatObjective:
        """The objective the runner's own analysis uses (gradient norms at the start and the
        end, the final Hessian spectrum): the same function as :meth:`flat_objective`, kept
        apart so that an instance that audits the optimizer's evaluations (the conformance
        kit's) can leave these calls out of its counts."""
        return self.flat_objective()

    def point(self) -> Tensor:
        """The current parameters as one flat vector (a detached copy)."""
        return torch.cat([p.detach().reshape(-1) for p in self.params])


# ---------------------------------------------------------------------------------------
# Analytic landscapes
# ---------------------------------------------------------------------------------------
class AnalyticProblem(Problem):
    """A loss landscape ``f: R^dim -> R`` evaluated on batches ``(..., dim) -> (...)``.

    Subclasses implement :meth:`f` and set (as class attributes, or in ``__init__`` for
    scalable problems) ``dim``, ``domain`` (a box ``(low, high)`` or a list of per-coordinate
    pairs: where random starts are drawn and plots are drawn), ``x0`` (the standard start, or
    ``None``), ``x_star`` (list of known minimizers) and ``f_star``. The docstring gives the
    formula, the domain and the reference.

    Parameters
    ----------
    start : {"standard", "random"}
        ``"standard"`` starts at the literature's ``x0`` when there is one (the seed then only
        varies stochastic parts); ``"random"`` draws the start uniformly in ``domain`` from
        the seed. Problems without a standard start always draw a random one.
    """

    dim: int = 2
    domain: tuple[float, float] | list[tuple[float, float]] = (-5.0, 5.0)
    x0: list[float] | None = None
    x_star: list[list[float]] = []

    def __init__(self, start: str = "standard"):
        if start not in ("standard", "random"):
            raise ValueError(f"start={start!r} is not one of 'standard', 'random'")
        self.start = start

    def f(self, x: Tensor) -> Tensor:
        """The objective on ``x`` of shape ``(..., dim)``; returns shape ``(...)``."""
        raise NotImplementedError

    def __call__(self, x: Tensor) -> Tensor:
        return self.f(x)

    def bounds(self) -> tuple[list[float], list[float]]:
        """Per-coordinate lower and upper bounds of the domain."""
        dom = self.domain
        if isinstance(dom, tuple) and len(dom) == 2 and not isinstance(dom[0], (tuple, list)):
            return [float(dom[0])] * self.dim, [float(dom[1])] * self.dim
        return [float(lo) for lo, _ in dom], [float(hi) for _, hi in dom]

    def start_point(self, seed: int, dtype: torch.dtype = torch.float64, device="cpu") -> Tensor:
        """The starting point: ``x0`` (standard) or uniform in the domain drawn from ``seed``."""
        if self.start == "standard" and self.x0 is not None:
            return torch.tensor(self.x0, dtype=torch.float64).to(device=device, dtype=dtype)
        gen = torch.Generator().manual_seed(int(seed))
        lo, hi = (torch.tensor(b, dtype=torch.float64) for b in self.bounds())
        u = torch.rand(self.dim, generator=gen, dtype=torch.float64)
        return (lo + u * (hi - lo)).to(device=device, dtype=dtype)

    def instantiate(self, *, seed: int, device="cpu", dtype: torch.dtype | None = None) -> "AnalyticInstance":
        dtype = dtype or self.default_dtype
        return AnalyticInstance(self, self.start_point(seed, dtype, device))

    def describe(self) -> dict[str, str]:
        lo, hi = self.bounds()
        dom = f"[{lo[0]:g}, {hi[0]:g}]^{self.dim}" if len(set(lo)) == 1 and len(set(hi)) == 1 else str(list(zip(lo, hi)))
        return {
            "dimension": str(self.dim),
            "domain": dom,
            "f*": _fmt(self.f_star),
            "minimizers": str(self.x_star) if self.x_star else "unknown",
            "start": f"standard x0 = {self.x0}" if self.x0 is not None else "uniform random in the domain (seeded)",
        }


class LeastSquaresProblem(AnalyticProblem):
    """``f(x) = sum_i r_i(x)^2`` from a residual vector ``r: R^n -> R^m`` (batched).

    The convention of Moré, Garbow & Hillstrom (1981): no factor 1/2. Subclasses implement
    :meth:`residuals`; ``m`` is the number of residuals.
    """

    m: int = 1

    def residuals(self, x: Tensor) -> Tensor:
        """Residuals ``r(x)`` of shape ``(..., m)`` for ``x`` of shape ``(..., n)``."""
        raise NotImplementedError

    def f(self, x: Tensor) -> Tensor:
        return self.residuals(x).square().sum(-1)


class AnalyticInstance(Instance):
    """An analytic landscape started at one point: a single parameter tensor of shape ``(dim,)``."""

    def __init__(self, problem: AnalyticProblem, x0: Tensor):
        self.problem = problem
        self.x = x0.clone().requires_grad_(True)
        self.params = [self.x]
        self.dim = problem.dim
        self.f_star = problem.f_star

    def objective(self) -> Tensor:
        return self.problem.f(self.x)

    def flat_objective(self) -> FlatObjective:
        return FlatObjective(self.problem.f, self.params)


# ---------------------------------------------------------------------------------------
# Training problems
# ---------------------------------------------------------------------------------------
@dataclass
class TrainingSetup:
    """What a :class:`TrainingProblem` builds for one seed: model, data and loss.

    ``loss(output, target)`` is the mean data loss over the samples of a batch;
    ``regularizer(params)`` (optional) is added to it (e.g. ``lam/2 * ||w||^2``).
    ``task`` is ``"classification"`` or ``"regression"``. ``metrics(output, target)`` returns
    per-sample means (accuracy, bits per character, ...) reported for each split at evaluation
    points; ``None`` means argmax accuracy for classification and nothing for regression.
    ``train_eval`` is a fixed subset of the training set on which evaluation points (and the
    final ``fun`` of a stochastic run) measure the training loss, as DeepOBS's "train eval" set
    (``None``: the whole training set). ``eval_chunk`` caps the samples per forward pass at
    evaluation points, so that a large data set is measured in pieces (``None``: one pass).
    """

    model: torch.nn.Module
    train: tuple[Tensor, Tensor]
    loss: Callable[[Tensor, Tensor], Tensor]
    test: tuple[Tensor, Tensor] | None = None
    regularizer: Callable[[list[Tensor]], Tensor] | None = None
    task: str = "classification"
    metrics: Callable[[Tensor, Tensor], dict[str, Tensor]] | None = None
    train_eval: tuple[Tensor, Tensor] | None = None
    eval_chunk: int | None = None


def accuracy(output: Tensor, target: Tensor) -> dict[str, Tensor]:
    """``{"accuracy": mean(argmax(output, -1) == target)}``: the default classification metric."""
    return {"accuracy": (output.argmax(-1) == target).to(output.dtype).mean()}


class TrainingProblem(Problem):
    """Model + data + loss. Full-batch (deterministic) or minibatch (seeded batch order).

    Subclasses implement :meth:`build`. Parameters common to all training problems:

    batch_size : int or None
        ``None`` (or ``0``) trains full-batch; otherwise minibatches of this size, drawn
        without replacement from a reshuffling of the training set every epoch (the remainder
        of an epoch is dropped). The batch of step ``k`` depends only on the run seed and
        ``k``: every optimizer sees the same batches at the same seed.
    """

    default_dtype = torch.float32

    def __init__(self, batch_size: int | None = None):
        if batch_size is not None and (int(batch_size) != batch_size or batch_size < 0):
            raise ValueError(f"batch_size={batch_size!r} must be a positive integer (or None for full batch)")
        self.batch_size = int(batch_size) if batch_size else None
        self.stochastic = self.batch_size is not None

    def build(self, generator: torch.Generator, dtype: torch.dtype) -> TrainingSetup:
        """Model and data for one seed, on the CPU (the instance moves them to the device)."""
        raise NotImplementedError

    def instantiate(self, *, seed: int, device="cpu", dtype: torch.dtype | None = None) -> "TrainingInstance":
        dtype = dtype or self.default_dtype
        gen = torch.Generator().manual_seed(int(seed))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))  # module initialisers use the global generator
            setup = self.build(gen, dtype)
        return TrainingInstance(self, setup, seed=int(seed), device=torch.device(device), dtype=dtype)

    def describe(self) -> dict[str, str]:
        return {"batch": "full batch" if self.batch_size is None else f"minibatch of {self.batch_size}", "f*": _fmt(self.f_star)}


class TrainingInstance(Instance):
    """A model with its data on a device.

    Minibatches are a pure function of ``(seed, step)``: step ``k`` lies in epoch
    ``e = k // B`` (``B = n_train // batch_size`` batches per epoch) and takes slice
    ``k mod B`` of a permutation of the training set drawn from ``(seed, e)``. The order thus
    does not depend on how often, or in which order, ``begin_step`` is called, and every
    closure call of a step (a line search) sees that step's batch.

    Evaluation points (:meth:`evaluate`) report, for the training set (or its ``train_eval``
    subset) and the test set, the objective (data loss + regularizer) and the setup's metrics,
    measured in chunks of ``eval_chunk`` samples under ``torch.no_grad``.
    """

    def __init__(self, problem: TrainingProblem, setup: TrainingSetup, *, seed: int, device: torch.device, dtype):
        self.problem = problem
        self.setup = setup
        self.model = setup.model.to(device=device, dtype=dtype)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.dim = sum(p.numel() for p in self.params)
        self.stochastic = problem.batch_size is not None
        self.device = device
        self.seed = seed

        def to_device(xy):
            x, y = xy
            x = x.to(device=device, dtype=dtype) if x.is_floating_point() else x.to(device)
            y = y.to(device=device, dtype=dtype) if y.is_floating_point() else y.to(device)
            return x, y

        self.train = to_device(setup.train)
        self.test = to_device(setup.test) if setup.test is not None else None
        self.train_eval = to_device(setup.train_eval) if setup.train_eval is not None else self.train
        self.n_train = self.train[0].shape[0]
        self._batch = self.train
        self._epoch: int | None = None
        self._perm: Tensor | None = None
        bs = problem.batch_size
        if bs is not None:
            if bs > self.n_train:
                from .errors import ConfigError

                raise ConfigError(f"batch_size={bs} exceeds the {self.n_train} training samples of {problem!r}")
            self._batches_per_epoch = self.n_train // bs
            self.begin_step(0)

    @property
    def f_star(self) -> float | None:
        """The problem's ``f*``, read when asked (a problem may compute it on first use)."""
        return self.problem.f_star

    def batch_indices(self, step: int) -> Tensor | None:
        """Indices into the training set of the batch of step ``step`` (``None`` if full batch)."""
        bs = self.problem.batch_size
        if bs is None:
            return None
        epoch, slot = divmod(int(step), self._batches_per_epoch)
        if epoch != self._epoch:
            state = np.random.SeedSequence([self.seed, epoch]).generate_state(1, dtype=np.uint64)[0]
            gen = torch.Generator().manual_seed(int(state))
            self._perm = torch.randperm(self.n_train, generator=gen).to(self.device)
            self._epoch = epoch
        return self._perm[slot * bs : (slot + 1) * bs]

    def begin_step(self, step: int) -> None:
        idx = self.batch_indices(step)
        if idx is not None:
            self._batch = (self.train[0][idx], self.train[1][idx])

    def _loss(self, output: Tensor, target: Tensor, params: list[Tensor]) -> Tensor:
        loss = self.setup.loss(output, target)
        if self.setup.regularizer is not None:
            loss = loss + self.setup.regularizer(params)
        return loss

    def objective(self) -> Tensor:
        x, y = self._batch
        return self._loss(self.model(x), y, self.params)

    def _metrics(self, output: Tensor, target: Tensor) -> dict[str, Tensor]:
        if self.setup.metrics is not None:
            return self.setup.metrics(output, target)
        return accuracy(output, target) if self.setup.task == "classification" else {}

    @torch.no_grad()
    def measure(self, data: tuple[Tensor, Tensor]) -> tuple[Tensor, dict[str, Tensor]]:
        """The objective on all of ``data`` (data loss + regularizer) and the metrics.

        Chunks of ``eval_chunk`` samples are combined by their share of the samples, so the
        result is the mean over ``data`` whatever the chunk size.
        """
        x, y = data
        n = x.shape[0]
        chunk = self.setup.eval_chunk or n
        loss: Tensor | int = 0
        metrics: dict[str, Tensor] = {}
        for start in range(0, n, chunk):
            xb, yb = x[start : start + chunk], y[start : start + chunk]
            out = self.model(xb)
            share = xb.shape[0] / n
            part = self.setup.loss(out, yb)
            loss = loss + (part if share == 1 else part * share)
            for k, v in self._metrics(out, yb).items():
                metrics[k] = metrics.get(k, 0) + (v if share == 1 else v * share)
        if self.setup.regularizer is not None:
            loss = loss + self.setup.regularizer(self.params)
        return loss, metrics

    @torch.no_grad()
    def final_objective(self) -> Tensor:
        """The training loss over the training set (its ``train_eval`` subset where one is set)."""
        return self.measure(self.train_eval)[0]

    @torch.no_grad()
    def evaluate(self) -> dict[str, Tensor]:
        loss, extra = self.measure(self.train_eval)
        metrics = {"train_loss": loss, **{f"train_{k}": v for k, v in extra.items()}}
        if self.test is not None:
            loss, extra = self.measure(self.test)
            metrics.update({"test_loss": loss, **{f"test_{k}": v for k, v in extra.items()}})
        return metrics

    def flat_objective(self) -> FlatObjective:
        names = [n for n, p in self.model.named_parameters() if p.requires_grad]
        shapes = [p.shape for p in self.params]
        sizes = [p.numel() for p in self.params]

        def f(flat: Tensor) -> Tensor:
            chunks = torch.split(flat, sizes)
            tensors = [c.view(s) for c, s in zip(chunks, shapes)]
            x, y = self._batch
            out = torch.func.functional_call(self.model, dict(zip(names, tensors)), (x,))
            return self._loss(out, y, tensors)

        return FlatObjective(f, self.params)


def resolve_dtype(dtype) -> torch.dtype | None:
    """``"float32"``/``"float64"``/a torch dtype/``None`` -> a torch dtype or None."""
    if dtype is None or isinstance(dtype, torch.dtype):
        return dtype
    try:
        return DTYPES[str(dtype).replace("torch.", "")]
    except KeyError:
        from .errors import ConfigError

        raise ConfigError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}") from None

