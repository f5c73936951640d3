"""How an optimizer plugin is declared.

An optimizer is a *factory* ``make(params, **hyperparameters)`` returning an object with
``step(closure)`` and ``zero_grad()`` -- anything torch.optim-compatible. The factory's
keyword defaults *are* its hyperparameters. Capabilities are declared on the registration,
never discovered from names:

``elementwise``
    each coordinate's update depends only on that coordinate's own history (SGD family,
    Adagrad, RMSprop, Adam); lets the runner batch seeds as rows of one tensor.
``needs_objective``
    the factory also receives ``objective=`` a :class:`FlatObjective` (a pure function of one
    flat parameter vector) so it can take Hessians or Hessian-vector products.
``reuses_evaluations``
    the method re-evaluates the closure at an unchanged point at the start of each step
    (torch.optim.LBFGS); the runner then serves that repeat from a cache and does not count it.
    Its closure also has ``closure.value()``: a counted evaluation whose backward pass waits
    until a closure call at the same point asks for the gradient (a line-search trial that is
    rejected never pays it; :func:`~optbench.optimizers.linesearch.armijo` uses it).
``gradient_graph``
    (with ``needs_objective``) the method takes second derivatives at the points the closure
    evaluates: on a problem with one 1-D parameter the runner's closure then computes the
    gradient with ``create_graph=True`` and leaves it on the ``objective``
    (:meth:`~optbench.problem.FlatObjective.keep_gradient`), whose ``hessian()`` and
    ``hessian_vector_products()`` differentiate that graph again instead of evaluating the
    objective a second time (``newton``, ``newton-cg``).
``schedulable``
    the optimizer has the hyperparameter ``schedule`` (``constant``, ``cosine``,
    ``warmup-cosine``, ``trapezoidal``: :mod:`optbench.schedules`) and the runner passes its
    factory ``horizon=`` the steps the budget allows.
``theory``
    a :class:`optbench.theory.Guarantee`: the method's theory setting in terms of a problem's
    ``L`` and ``mu`` (what ``lr=theory`` means) and the worst-case bound it attains, which
    the report's theory check compares runs against.
``batched``
    a row-wise form of the method, ``batched(f, x0, **hyperparameters)`` with ``f`` mapping
    ``(S, n) -> (S,)`` and ``x0`` of shape ``(S, n)``: an object with ``step(active)`` that
    advances every active row by one iteration of its own, and per-row ``x``, ``f_host``,
    ``nfev``, ``nhev``, ``refreshed`` (see :class:`optbench.optimizers.rowwise.RowwiseMethod`).
    The seeds of an analytic job then run as one batch, each row with its own line search and
    evaluation count (:mod:`optbench.batched`).
``driver``
    a library method that runs its own loop (scipy.optimize.minimize). The factory is then
    ``driver(task: DriverTask, **hyperparameters)`` and must call ``task.callback`` once per
    iteration; see :class:`optbench.runner.DriverTask`.
``train_eval``
    the optimizer has ``train()`` / ``eval()`` modes and evaluates at a different iterate than
    it trains at (Schedule-Free's averaged ``x`` against its interpolated ``y``). The runner
    calls ``eval()`` before every evaluation point and before the final objective and
    ``train()`` after an evaluation point (AlgoPerf's protocol), so the records -- evaluation
    metrics, ``fun``, ``gap``, the final point and its spectrum -- measure the evaluation
    iterate; the per-step trace is the training loss at the training iterate.
``param_ndim``
    the method is for parameters with this many dimensions (Muon: ``2``, weight matrices).
    On a problem with no such parameter the run's status is ``not-applicable`` (nothing is
    run; it is neither a failure nor part of a ranking). The factory receives every
    parameter; what updates the others is named in ``fallback``.
``fallback``
    the registered optimizer that updates the parameters outside ``param_ndim`` (Muon's usual
    ``adamw`` for biases), shown by ``optbench info``; empty when there is none.
``closure``
    ``True`` (the default): ``step(closure)`` evaluates through the closure. ``False``: its
    ``step()`` takes no closure; the runner calls the closure itself (one counted evaluation,
    gradients in ``.grad``) and then ``step()``.

Example
-------
>>> import torch, optbench
>>> @optbench.register_optimizer("sign-gd", tags=("first-order",), elementwise=True,
...                              search_space={"lr": optbench.LogUniform(1e-4, 1.0)})
... def sign_gd(params, lr=0.01):
...     return SignGD(params, lr=lr)   # any torch.optim.Optimizer subclass
"""
from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import ConfigError


@dataclass(frozen=True)
class LogUniform:
    """A positive hyperparameter searched on a log scale, ``exp(U(log low, log high))``."""

    low: float
    high: float

    def sample(self, rng) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))

    def grid(self, n: int) -> list[float]:
        if n == 1:
            return [float(math.sqrt(self.low * self.high))]
        step = (math.log(self.high) - math.log(self.low)) / (n - 1)
        return [float(math.exp(math.log(self.low) + i * step)) for i in range(n)]

    def from_unit(self, u: float) -> float:
        """The value at fraction ``u`` in [0, 1] of the way from ``low`` to ``high`` on the log scale."""
        return float(math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low))))

    def position(self, value: float) -> float:
        """Where ``value`` lies on the log scale: 0 at ``low``, 1 at ``high`` (outside: below 0 or above 1)."""
        return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low))


@dataclass(frozen=True)
class Uniform:
    """A hyperparameter searched uniformly on ``[low, high]``."""

    low: float
    high: float

    def sample(self, rng) -> float:
        return float(rng.uniform(self.low, self.high))

    def grid(self, n: int) -> list[float]:
        if n == 1:
            return [(self.low + self.high) / 2]
        return [self.low + i * (self.high - self.low) / (n - 1) for i in range(n)]

    def from_unit(self, u: float) -> float:
        """The value at fraction ``u`` in [0, 1] of the way from ``low`` to ``high``."""
        return float(self.low + u * (self.high - self.low))

    def position(self, value: float) -> float:
        """Where ``value`` lies: 0 at ``low``, 1 at ``high`` (outside: below 0 or above 1)."""
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Choice:
    """A hyperparameter chosen from a finite list of values."""

    values: tuple

    def sample(self, rng) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def grid(self, n: int) -> list:
        return list(self.values)

    def from_unit(self, u: float) -> Any:
        """The value of the ``len(values)`` equal parts of [0, 1] that ``u`` falls in."""
        return self.values[min(int(u * len(self.values)), len(self.values) - 1)]


@dataclass(frozen=True)
class OptimizerSpec:
    """A registered optimizer: its factory, hyperparameter defaults and capabilities."""

    name: str
    factory: Callable
    hyperparameters: dict[str, Any]
    search_space: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    elementwise: bool = False
    needs_objective: bool = False
    reuses_evaluations: bool = False
    gradient_graph: bool = False
    driver: bool = False
    train_eval: bool = False
    param_ndim: int | None = None
    fallback: str = ""
    closure: bool = True
    batched: Callable | None = None
    family: str = ""
    origin: str = ""
    theory: Any = None  # an optbench.theory.Guarantee
    schedulable: bool = False  # a `schedule` hyperparameter; the factory also takes horizon= (optbench.schedules)

    @property
    def summary(self) -> str:
        """The docstring's first line, as plain text."""
        from .text import summary_line

        return summary_line(self.factory)

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.factory) or ""

    def not_applicable(self, params) -> str | None:
        """Why this optimizer cannot run on ``params`` (a problem's parameters), or ``None``.

        >>> import torch, optbench
        >>> optbench.get_optimizer("muon").not_applicable([torch.zeros(3)])
        'muon updates 2-D parameters; this problem has parameters of shapes (3,)'
        """
        if self.param_ndim is None or any(p.dim() == self.param_ndim for p in params):
            return None
        shapes = ", ".join(str(tuple(p.shape)) for p in params)
        return f"{self.name} updates {self.param_ndim}-D parameters; this problem has parameters of shapes {shapes}"

    def resolve(self, hyperparameters: dict | None = None) -> dict[str, Any]:
        """The full hyperparameter dict: defaults overridden by ``hyperparameters``.

        Unknown names are an error that lists the accepted ones; values are checked
        against their declared types by :meth:`check_types`.
        """
        hyperparameters = dict(hyperparameters or {})
        unknown = sorted(set(hyperparameters) - set(self.hyperparameters))
        if unknown:
            accepted = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items()) or "none"
            raise ConfigError(
                f"optimizer {self.name!r} has no hyperparameter {', '.join(map(repr, unknown))}; "
                f"accepted hyperparameters (with defaults): {accepted}"
            )
        self.check_types(hyperparameters)
        return {**self.hyperparameters, **hyperparameters}

    def check_types(self, hyperparameters: dict[str, Any]) -> None:
        """Each value must have the type its declaration (the factory's default) gives it:
        ``true``/``false`` for a bool, an integer for an int, a finite number (integer or
        float) for a float, a string for a str; a default of ``None`` or of another type
        declares no type. Values are final numbers here (after any per-problem resolution)."""
        for key, value in hyperparameters.items():
            default = self.hyperparameters[key]
            declared = _declared_type(default)
            if declared is None:
                continue
            types, words = declared
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                raise ConfigError(f"optimizer {self.name!r}: hyperparameter {key}={value!r} must be {words} "
                                  f"(default {default!r})")
            if isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"optimizer {self.name!r}: hyperparameter {key}={value!r} must be finite")


def _declared_type(default: Any) -> tuple[tuple[type, ...], str] | None:
    """The types a hyperparameter whose default is ``default`` accepts, and their name in words;
    ``None``: any value (a default of ``None`` or of another type declares no type)."""
    if isinstance(default, bool):
        return (bool,), "true or false"
    if isinstance(default, int):
        return (int,), "an integer"
    if isinstance(default, float):
        return (int, float), "a finite number"
    if isinstance(default, str):
        return (str,), "a string"
    return None


def factory_defaults(factory: Callable, *, driver: bool) -> dict[str, Any]:
    """Hyperparameters of a factory: its keyword parameters with defaults.

    The first positional parameter (``params``, or ``task`` for drivers) and ``objective``
    are inputs supplied by the runner, not hyperparameters.
    """
    sig = inspect.signature(factory)
    names = list(sig.parameters)
    if not names:
        kind = "driver(task, **hp)" if driver else "make(params, **hp)"
        raise TypeError(f"optimizer factory {factory!r} must have the signature {kind}")
    hps = {}
    for name in names[1:]:
        p = sig.parameters[name]
        if name == "objective" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if p.default is p.empty:
            raise TypeError(
                f"optimizer factory {factory.__qualname__}: parameter {name!r} needs a default; "
                "keyword defaults are the hyperparameters"
            )
        hps[name] = p.default
    return hps


def validate_hyperparameters(spec: OptimizerSpec, hyperparameters: dict | None = None) -> dict[str, Any]:
    """Resolve ``hyperparameters`` against ``spec`` and check their values; return the full dict.

    Names and types are checked by :meth:`OptimizerSpec.resolve`; values by constructing the
    optimizer on a tiny dummy parameter (``torch.zeros(2)``, a 2 x 2 matrix for
    ``param_ndim=2``; float64, CPU), so the factory's own checks apply (torch.optim rejects ``lr < 0``, ``betas`` outside ``[0, 1)``, ...).
    A ``needs_objective`` factory gets a dummy :class:`~optbench.problem.FlatObjective`
    (``f(x) = ||x||^2``). Drivers are not constructed -- their factory *is* the run (scipy
    checks its options when it starts) -- so only names and types are checked for them.
    A ``ValueError`` or ``TypeError`` from the factory becomes a :class:`ConfigError` naming
    the optimizer, the values given and the accepted hyperparameters with their defaults.

    >>> import optbench
    >>> from optbench.optimizer import validate_hyperparameters
    >>> validate_hyperparameters(optbench.get_optimizer("adam"), {"lr": -1.0})
    Traceback (most recent call last):
    ...
    optbench.errors.ConfigError: optimizer 'adam' rejects lr=-1.0: Invalid learning rate: -1.0; accepted hyperparameters (with defaults): lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0
    """
    resolved = spec.resolve(hyperparameters)
    if spec.driver:
        return resolved
    import torch

    from .problem import FlatObjective

    shape = (2,) if spec.param_ndim is None else (2,) * spec.param_ndim
    dummy = torch.zeros(shape, dtype=torch.float64, requires_grad=True)
    kwargs = dict(resolved)
    if spec.needs_objective:
        kwargs["objective"] = FlatObjective(lambda x: x.square().sum(), [dummy])
    given = ", ".join(f"{k}={v!r}" for k, v in (hyperparameters or {}).items()) or "the defaults"
    try:
        spec.factory([dummy], **kwargs)
    except (ValueError, TypeError) as exc:
        accepted = ", ".join(f"{k}={v!r}" for k, v in spec.hyperparameters.items()) or "none"
        raise ConfigError(
            f"optimizer {spec.name!r} rejects {given}: {exc}; accepted hyperparameters (with defaults): {accepted}"
        ) from exc
    except (Exception, SystemExit) as exc:  # plugin code failing in its own way (sys.exit included)
        from .errors import PluginError

        raise PluginError(f"optimizer {spec.name!r} fails to construct with {given}: {type(exc).__name__}: {exc}; "
                          "fix its factory (optbench check-optimizer shows what else breaks)") from exc
    return resolved
