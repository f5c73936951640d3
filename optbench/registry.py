"""Names -> specs for problems and optimizers.

Plugins come from three places, all ending in the same two decorators:

1. :func:`register_problem` / :func:`register_optimizer` in any imported module;
2. ``--plugin path/to/file.py`` (:func:`load_plugin`);
3. the entry-point groups ``optbench.problems`` and ``optbench.optimizers`` of installed
   packages. The built-in catalogue (``problems/``) and the built-in optimizers
   (``optbench/optimizers/``) register themselves through optbench's own entry points,
   so the plugin path the project uses is the one users use.

Entry points are loaded lazily, on the first lookup, and always before a name from another
source is accepted, so a clash with a built-in is reported against the plugin, not the other
way round.
"""
from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Callable, Generic, TypeVar

from .errors import ConfigError, PluginError, UnknownNameError, did_you_mean
from .optimizer import OptimizerSpec, factory_defaults

T = TypeVar("T")


@dataclass(frozen=True)
class ProblemSpec:
    """A registered problem: its class (or factory) and its parameters with defaults."""

    name: str
    factory: Callable
    params: dict[str, Any]
    tags: tuple[str, ...] = ()
    origin: str = ""

    @property
    def summary(self) -> str:
        """The docstring's first line, as plain text."""
        from .text import summary_line

        return summary_line(self.factory)

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.factory) or ""


def _origin_of(obj: Callable) -> str:
    module = getattr(obj, "__module__", None) or "?"
    plugin = _PLUGIN_MODULES.get(module)
    return f"plugin file {plugin}" if plugin else f"module {module}"


class Registry(Generic[T]):
    """A name -> spec table for one kind of thing, fed by decorators and entry points."""

    def __init__(self, kind: str, group: str):
        self.kind = kind
        self.group = group
        self._specs: dict[str, T] = {}
        self._namespaces: dict[str, tuple[Callable[[str], T], Callable[[], list[str]]]] = {}
        self._entry_points_loaded = False
        self._loading = False

    # -- discovery ---------------------------------------------------------
    def load_entry_points(self) -> None:
        """Import every module named in this registry's entry-point group (once)."""
        if self._entry_points_loaded or self._loading:
            return
        self._loading = True
        try:
            for ep in entry_points(group=self.group):
                try:
                    ep.load()
                except OptbenchErrorTypes:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"the installed {self.kind} plugin {ep.name!r} ({ep.value}, entry point "
                        f"group {self.group}) failed to import: {type(exc).__name__}: {exc}"
                    ) from exc
            self._entry_points_loaded = True
        finally:
            self._loading = False

    # -- mutation ----------------------------------------------------------
    def add(self, name: str, spec: T) -> None:
        if not name or not isinstance(name, str):
            raise ConfigError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        self.load_entry_points()
        existing = self._specs.get(name)
        if existing is not None:
            if _same_definition(existing.factory, spec.factory):
                self._specs[name] = spec  # the same module imported again (e.g. reloaded)
                return
            raise PluginError(
                f"{self.kind} name {name!r} is registered twice: by {existing.origin} and by "
                f"{spec.origin}; rename one of them (names must be unique)"
            )
        self._specs[name] = spec

    def add_namespace(self, prefix: str, resolve: Callable[[str], T], names: Callable[[], list[str]]) -> None:
        """Names ``PREFIX:NAME`` resolved on first lookup by ``resolve(NAME)``: a bridge to
        another library's own registry (``pytorch-optimizer:adan``). ``resolve`` returns the
        spec, named ``PREFIX:NAME``, or raises :class:`UnknownNameError`; ``names()`` lists
        the ``NAME`` s it has (for ``optbench list``)."""
        if prefix in self._namespaces and not _same_definition(self._namespaces[prefix][0], resolve):
            raise PluginError(f"{self.kind} namespace {prefix!r} is registered twice")
        self._namespaces[prefix] = (resolve, names)

    def namespaces(self) -> list[str]:
        self.load_entry_points()
        return sorted(self._namespaces)

    def namespace_specs(self, prefix: str) -> list[T]:
        """Every spec of a namespace, resolved (imports the library behind it)."""
        self.load_entry_points()
        resolve, names = self._namespaces[prefix]
        return [self.get(f"{prefix}:{name}") for name in names()]

    # -- lookup ------------------------------------------------------------
    def get(self, name: str) -> T:
        self.load_entry_points()
        try:
            return self._specs[name]
        except KeyError:
            prefix, _, rest = name.partition(":")
            if rest and prefix in self._namespaces:
                self._specs[name] = self._namespaces[prefix][0](rest)
                return self._specs[name]
            raise UnknownNameError(did_you_mean(self.kind, name, list(self._specs))) from None

    def names(self) -> list[str]:
        self.load_entry_points()
        return sorted(self._specs)

    def specs(self) -> list[T]:
        return [self._specs[n] for n in self.names()]

    def tags(self) -> list[str]:
        return sorted({t for s in self.specs() for t in s.tags})

    def with_tag(self, tag: str) -> list[str]:
        names = [s.name for s in self.specs() if tag in s.tags]
        if not names:
            raise UnknownNameError(did_you_mean(f"{self.kind} tag", tag, self.tags()))
        return names

    def match(self, pattern: str) -> list[str]:
        """Names selected by ``name``, ``tag:T`` or a glob such as ``scipy-*``."""
        if pattern.startswith("tag:"):
            return self.with_tag(pattern[4:])
        if any(c in pattern for c in "*?["):
            found = fnmatch.filter(self.names(), pattern)
            if not found:
                raise UnknownNameError(f"no {self.kind} matches {pattern!r}; known: {', '.join(self.names())}")
            return found
        self.get(pattern)
        return [pattern]


def _same_definition(a: Callable, b: Callable) -> bool:
    return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
        getattr(b, "__module__", None),
        getattr(b, "__qualname__", None),
    ) and getattr(a, "__module__", None) not in _PLUGIN_MODULES


OptbenchErrorTypes = (PluginError,)
PROBLEMS: Registry[ProblemSpec] = Registry("problem", "optbench.problems")
OPTIMIZERS: Registry[OptimizerSpec] = Registry("optimizer", "optbench.optimizers")
_PLUGIN_MODULES: dict[str, str] = {}  # module name -> plugin file path
_PLUGIN_FILES: dict[Path, str] = {}  # resolved path -> module name


def _problem_params(factory: Callable) -> dict[str, Any]:
    """Parameters of a problem class: keyword parameters of ``__init__`` along the MRO."""
    params: dict[str, Any] = {}
    targets = [c.__init__ for c in reversed(factory.__mro__) if "__init__" in vars(c)] if inspect.isclass(factory) else [factory]
    for fn in targets:
        if fn is object.__init__:
            continue
        for name, p in inspect.signature(fn).parameters.items():
            if name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                continue
            if p.default is p.empty:
                raise TypeError(f"problem parameter {name!r} of {factory.__qualname__} needs a default")
            params[name] = p.default
    return params


def register_problem(name: str | None = None, *, tags: tuple[str, ...] | list[str] = ()):
    """Class decorator: register a :class:`~optbench.problem.Problem` subclass under ``name``.

    The keyword parameters of its ``__init__`` (with defaults) are the problem's parameters,
    e.g. ``dim``; ``optbench.get_problem(name, **params)`` constructs it.
    """

    def decorate(factory):
        reg_name = name or getattr(factory, "name", None) or factory.__name__.lower()
        spec = ProblemSpec(
            name=reg_name,
            factory=factory,
            params=_problem_params(factory),
            tags=tuple(dict.fromkeys(tags)),
            origin=_origin_of(factory),
        )
        PROBLEMS.add(reg_name, spec)
        return factory

    return decorate


def register_optimizer(
    name: str | None = None,
    *,
    tags: tuple[str, ...] | list[str] = (),
    search_space: dict[str, Any] | None = None,
    elementwise: bool = False,
    needs_objective: bool = False,
    reuses_evaluations: bool = False,
    gradient_graph: bool = False,
    driver: bool = False,
    train_eval: bool = False,
    param_ndim: int | None = None,
    fallback: str = "",
    closure: bool = True,
    batched: Callable | None = None,
    family: str = "",
    theory=None,
    schedulable: bool = False,
):
    """Function decorator: register an optimizer factory ``make(params, **hp)``.

    See :mod:`optbench.optimizer` for the meaning of each capability flag.
    """

    def decorate(factory):
        reg_name = name or factory.__name__.replace("_", "-")
        spec = optimizer_spec(reg_name, factory, tags=tags, search_space=search_space, elementwise=elementwise,
                              needs_objective=needs_objective, reuses_evaluations=reuses_evaluations,
                              gradient_graph=gradient_graph, driver=driver, train_eval=train_eval,
                              param_ndim=param_ndim, fallback=fallback, closure=closure, batched=batched,
                              family=family, theory=theory, schedulable=schedulable)
        OPTIMIZERS.add(reg_name, spec)
        return factory

    return decorate


def optimizer_spec(name: str, factory: Callable, *, tags=(), search_space=None, elementwise=False,
                   needs_objective=False, reuses_evaluations=False, gradient_graph=False, driver=False,
                   train_eval=False, param_ndim=None, fallback="", closure=True, batched=None, family="",
                   theory=None, schedulable=False) -> OptimizerSpec:
    """The :class:`OptimizerSpec` that :func:`register_optimizer` registers: hyperparameters from
    the factory's keyword defaults (plus ``schedule`` for a schedulable one), the search space
    checked against them."""
    hps = factory_defaults(factory, driver=driver)
    made = factory
    if schedulable:  # the hyperparameter `schedule`, and the run's horizon from the runner
        from .schedules import with_schedule

        made, hps = with_schedule(factory), {**hps, "schedule": "constant"}
    space = dict(search_space or {})
    unknown = set(space) - set(hps)
    if unknown:
        raise TypeError(f"search space of {name!r} names unknown hyperparameters {sorted(unknown)}")
    all_tags = list(tags)
    if driver and "driver" not in all_tags:
        all_tags.append("driver")
    return OptimizerSpec(
        name=name,
        factory=made,
        hyperparameters=hps,
        search_space=space,
        tags=tuple(dict.fromkeys(all_tags)),
        elementwise=elementwise,
        needs_objective=needs_objective,
        reuses_evaluations=reuses_evaluations,
        gradient_graph=gradient_graph,
        driver=driver,
        train_eval=train_eval,
        param_ndim=param_ndim,
        fallback=fallback,
        closure=closure,
        batched=batched,
        family=family,
        origin=_origin_of(factory),
        theory=theory,
        schedulable=schedulable,
    )


def load_plugin(path: str | Path) -> str:
    """Import a plugin file so that its decorators register what it defines.

    A file is imported once per process; the module name is returned. A missing file or
    an import error is a :class:`PluginError` that shows the plugin's own error.
    """
    path = Path(path)
    if not path.is_file():
        raise PluginError(f"plugin file {str(path)!r} does not exist (pass the path to a .py file)")
    resolved = path.resolve()
    if resolved in _PLUGIN_FILES:
        return _PLUGIN_FILES[resolved]
    PROBLEMS.load_entry_points()
    OPTIMIZERS.load_entry_points()
    module_name = f"optbench_plugin_{len(_PLUGIN_FILES)}_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise PluginError(f"plugin file {str(path)!r} is not an importable Python file")
    module = importlib.util.module_from_spec(spec)
    _PLUGIN_MODULES[module_name] = str(path)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except (PluginError, KeyboardInterrupt):
        del sys.modules[module_name]
        raise
    except BaseException as exc:
        del sys.modules[module_name]
        tb = traceback.extract_tb(exc.__traceback__)
        where = next((f"line {fr.lineno}" for fr in reversed(tb) if Path(fr.filename).resolve() == resolved), "")
        raise PluginError(
            f"plugin file {str(path)!r} failed to import{' at ' + where if where else ''}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    _PLUGIN_FILES[resolved] = module_name
    return module_name


def get_problem(name: str, **params):
    """Construct the registered problem ``name`` with ``params`` (e.g. ``dim=10``).

    >>> import optbench
    >>> p = optbench.get_problem("rosenbrock", dim=3)
    >>> p.dim, p.f_star
    (3, 0.0)
    """
    spec = PROBLEMS.get(name)
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        accepted = ", ".join(f"{k}={v!r}" for k, v in spec.params.items()) or "none"
        raise ConfigError(
            f"problem {name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"accepted parameters (with defaults): {accepted}"
        )
    try:
        problem = spec.factory(**params)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"problem {name!r} with {params}: {exc}") from exc
    problem.name = name
    problem.params = {**spec.params, **params}
    problem.tags = spec.tags
    return problem


def get_optimizer(name: str) -> OptimizerSpec:
    """The registered optimizer spec ``name`` (factory, hyperparameters, capabilities)."""
    return OPTIMIZERS.get(name)
