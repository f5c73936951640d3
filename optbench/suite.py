"""Suites: which problems, optimizers, seeds and budget -- and their expansion into jobs.

A suite is a TOML file (built-ins ship in ``optbench/suites/``) or the equivalent command-line
flags. Lists are grids; the run matrix is their product, each cell seeded::

    name = "quick"
    seeds = 3                       # or a list: [0, 1, 2]
    device = "auto"                 # auto | cpu | cuda | cuda:N | mps
    # dtype = "float64"             # default: each problem's own (float64 analytic, float32 neural)
    # time_limit = 600              # hard wall-clock seconds per run (see optbench.execute)
    # spectrum = false              # skip the Hessian spectrum at each run's final iterate

    [budget]                        # optbench.Budget fields
    max_steps = 500
    target_gap = 1e-8
    # max_evals_per_dim = 100       # or: max_evals = 100 x the problem's dimension (see below)

    [[problems]]
    name = "rosenbrock"             # or: select = "tag:mgh"  (a tag or a glob)
    params = { dim = [2, 10] }      # a grid over dim
    budget = { max_steps = 1000 }   # optional per-problem override

    [[optimizers]]
    name = "adam"
    hyperparameters = { lr = [1e-3, 1e-2] }

    [[optimizers]]
    name = "sf-adamw"
    optional = true                 # from an optional library: skipped when it is not installed

    [tune]                          # optional: `optbench tune` (see optbench.tune)
    budget = 8                      # trials per optimizer per problem
    budgets = [1, 4, 8]             # optional: also report the best of the first 1 and 4 trials
    studies = 1                     # optional: independent studies, each on its own tuning seed
    method = "sobol"                # sobol (default) | random | grid
    metric = "final-loss"           # final-loss | test-loss | time-to-target

A budget may give ``max_evals_per_dim = K`` instead of ``max_evals``: each analytic problem then
gets ``max_evals = K * dim`` (COCO's budgets are multiples of the dimension), and, unless the
budget sets ``max_steps``, as many steps (a step costs at least one evaluation, so the step
bound never binds first). A more specific level (a problem's ``budget``, ``--max-evals``)
that gives ``max_evals`` replaces it, and the other way round.

``frozen = true`` marks a standard, versioned suite (``classic-v1``): its instances -- every
problem with all its parameters (registered defaults included), budget, dtype and seed -- are
hashed (:meth:`Suite.instances_hash`); the hash is stored with every run of the suite, the
shipped baseline archive (:mod:`optbench.archive`) is compared only with runs of the same hash,
and a test pins the hash of each frozen suite, so changing one is a test failure: a new
version is a new file.

On the command line the same selection reads ``--problems "rosenbrock[dim=[2,10]],tag:mgh"``
and ``--optimizers "adam[lr=1e-2],lbfgs"`` (benchopt's syntax).
"""
from __future__ import annotations

import itertools
import math
import re
import sys
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import ConfigError, UnknownNameError, did_you_mean

SUITE_KEYS = {"name", "description", "seeds", "device", "dtype", "budget", "problems", "optimizers", "time_limit",
              "tune", "spectrum", "frozen"}
PROBLEM_KEYS = {"name", "select", "params", "budget", "dtype"}
OPTIMIZER_KEYS = {"name", "select", "hyperparameters", "optional"}


@dataclass(frozen=True)
class Selection:
    """One ``[[problems]]`` / ``[[optimizers]]`` entry: a name, tag or glob, and a grid."""

    pattern: str
    grid: dict[str, list] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    dtype: str | None = None
    optional: bool = False  # an optimizer from an optional library: skipped when not registered


@dataclass(frozen=True)
class Job:
    """One cell of the run matrix; ``key`` is the store's primary key for its result."""

    problem: str
    problem_params: dict
    optimizer: str
    hyperparameters: dict
    seed: int
    budget: Any
    device: str
    dtype: str | None
    suite: str
    key: str
    spectrum: bool = True  # take the Hessian spectrum at the final iterate (not part of the key)
    suite_hash: str | None = None  # Suite.instances_hash of the suite it came from (not part of the key)

    @property
    def label(self) -> str:
        return f"{self.problem} x {self.optimizer} seed {self.seed}"


@dataclass
class Suite:
    name: str
    problems: list[Selection]
    optimizers: list[Selection]
    seeds: Sequence[int] = field(default_factory=lambda: [0])  # a list, or a range for `seeds = N`
    budget: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    dtype: str | None = None
    description: str = ""
    source: str = "<command line>"
    time_limit: float | None = None
    tune: dict[str, Any] = field(default_factory=dict)  # the [tune] table: see optbench.tuning.settings
    spectrum: bool = True  # the final Hessian spectrum of every run (optbench.runner.run)
    frozen: bool = False  # a standard, versioned suite: its instances_hash is pinned by a test

    def size(self) -> tuple[int, int, int]:
        """``(problem configurations, optimizer configurations, seeds)``: :meth:`jobs` makes at
        most their product, counted without expanding a grid (a size check before the expansion).
        Unknown names raise as in :meth:`jobs`."""
        from .registry import OPTIMIZERS, PROBLEMS

        problems = sum(len(PROBLEMS.match(sel.pattern)) * _grid_size(sel.grid) for sel in self.problems)
        optimizers = sum(len(OPTIMIZERS.match(sel.pattern)) * _grid_size(sel.grid) for sel in self.present_optimizers())
        return problems, optimizers, len(self.seeds)

    def missing_optional(self) -> list[str]:
        """The ``optional = true`` optimizer entries that are not registered (their library is
        not installed): :meth:`jobs` skips them."""
        from .errors import UnknownNameError
        from .registry import OPTIMIZERS

        missing = []
        for sel in self.optimizers:
            if sel.optional:
                try:
                    OPTIMIZERS.match(sel.pattern)
                except UnknownNameError:
                    missing.append(sel.pattern)
        return missing

    def present_optimizers(self) -> list[Selection]:
        missing = set(self.missing_optional())
        return [sel for sel in self.optimizers if sel.pattern not in missing]

    def _problem_cells(self) -> list[tuple]:
        """``(name, params with defaults, Budget, dtype, problem)`` for every problem
        configuration, validated."""
        from .problem import resolve_dtype
        from .registry import PROBLEMS

        problem_cells = []
        for sel in self.problems:
            for name in PROBLEMS.match(sel.pattern):
                spec = PROBLEMS.get(name)
                for params in _grid(sel.grid):
                    unknown = sorted(set(params) - set(spec.params))
                    if unknown:
                        accepted = ", ".join(f"{k}={v!r}" for k, v in spec.params.items()) or "none"
                        raise ConfigError(f"{self.source}: problem {name!r} has no parameter "
                                          f"{', '.join(map(repr, unknown))}; accepted: {accepted}")
                    problem = _check_problem(name, params, self.source)
                    budget = _budget(_per_problem_budget(_merged_budget(self.budget, sel.budget), problem, name,
                                                         self.source), self.source)
                    dtype = resolve_dtype(sel.dtype or self.dtype) or spec.factory.default_dtype
                    problem_cells.append((name, {**spec.params, **params}, budget, dtype, problem))
        return problem_cells

    def instances_hash(self, problem_cells: list[tuple] | None = None) -> str:
        """A 16-hex-digit SHA-256 of the suite's instances: every problem configuration with all
        its parameters (registered defaults included, so a changed default changes it), its
        budget and dtype, and the seeds -- what a run of *any* optimizer on this suite is
        compared on. Optimizers, device, name, description and the spectrum option are not
        part of it: a frozen suite is run with new optimizers, and is the same suite on any
        device."""
        import hashlib
        import json

        cells = self._problem_cells() if problem_cells is None else problem_cells
        payload = {"instances": sorted(json.dumps([name, params, budget.to_dict(), str(dtype).replace("torch.", "")],
                                                  sort_keys=True, default=repr) for name, params, budget, dtype, _
                                       in cells),
                   "seeds": [int(s) for s in self.seeds]}
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def jobs(self) -> list[Job]:
        """Expand the grids into jobs, validating every name and (hyper)parameter first.
        Optional optimizers that are not installed are skipped (:meth:`missing_optional`).
        Every job carries the suite's :meth:`instances_hash`."""
        from .device import resolve_device
        from .optimizer import validate_hyperparameters
        from .registry import OPTIMIZERS, get_optimizer
        from .runner import job_key
        from .theory import is_expression

        device = resolve_device(self.device)
        problem_cells = self._problem_cells()
        suite_hash = self.instances_hash(problem_cells)
        optimizer_cells = []
        for sel in self.present_optimizers():
            for name in OPTIMIZERS.match(sel.pattern):
                spec = get_optimizer(name)
                for hp in _grid(sel.grid):
                    if any(is_expression(v, spec.hyperparameters.get(k)) for k, v in hp.items()):
                        optimizer_cells.append((name, hp))  # resolved per problem, below
                        continue
                    try:
                        optimizer_cells.append((name, validate_hyperparameters(spec, hp)))
                    except ConfigError as exc:
                        raise ConfigError(f"{self.source}: {exc}") from None
        jobs, seen, resolved = [], set(), {}
        for (pname, pparams, budget, dtype, problem), (oname, hp), seed in itertools.product(
            problem_cells, optimizer_cells, self.seeds
        ):
            if (id(problem), oname, id(hp)) not in resolved:
                resolved[id(problem), oname, id(hp)] = _resolve_per_problem(get_optimizer(oname), hp, problem,
                                                                            self.source)
            hp = resolved[id(problem), oname, id(hp)]
            dtype_name = str(dtype).replace("torch.", "")
            key = job_key(pname, pparams, oname, hp, seed, budget.to_dict(), dtype_name, str(device))
            if key in seen:
                continue
            seen.add(key)
            jobs.append(Job(pname, pparams, oname, hp, int(seed), budget, str(device), dtype_name, self.name, key,
                            self.spectrum, suite_hash))
        if not jobs:
            raise ConfigError(f"{self.source}: the suite selects no jobs (problems: {len(problem_cells)}, "
                              f"optimizers: {len(optimizer_cells)}, seeds: {len(self.seeds)})")
        return jobs

    def with_budget(self, **overrides) -> "Suite":
        """This suite with the budget fields ``overrides`` that are not ``None`` replaced."""
        return replace(self, budget=_merged_budget(self.budget, {k: v for k, v in overrides.items() if v is not None}))


DEFAULT_SUITE = "quick"


def select_suite(suite: str | None = None, problems: str | list[str] = (), optimizers: str | list[str] = (), *,
                 source: str = "command line") -> Suite:
    """The built-in suite or suite file ``suite`` (default ``quick``), or a selection.

    ``problems`` / ``optimizers`` are selections in the command line's syntax
    (``"rosenbrock[dim=[2,10]],tag:mgh"``); either replaces that half of the suite. A selection
    without a suite runs one seed with the default budget, named ``cli``; with a suite it keeps
    the suite's seeds, budget and name.
    """
    problems = [problems] if isinstance(problems, str) else list(problems)
    optimizers = [optimizers] if isinstance(optimizers, str) else list(optimizers)
    if not problems and not optimizers:
        return load_suite(suite or DEFAULT_SUITE)
    base = load_suite(suite or DEFAULT_SUITE)
    return Suite(
        name=suite or "cli",
        problems=parse_selections(problems) if problems else base.problems,
        optimizers=parse_selections(optimizers) if optimizers else base.optimizers,
        seeds=base.seeds if suite else [0], budget=dict(base.budget) if suite else {},
        device=base.device, dtype=base.dtype,
        time_limit=base.time_limit, tune=dict(base.tune), source=source, spectrum=base.spectrum,
        frozen=base.frozen and bool(suite),
    )


NAME_PATTERN = re.compile(r"[A-Za-z0-9][\w.+-]{0,79}")


def check_experiment_name(name: str) -> str:
    """``name`` if it can name an experiment (and its report folder): letters, digits and
    ``_ . + -``, starting with a letter or digit, at most 80 characters."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ConfigError(f"experiment name {name!r} is not usable: give 1-80 letters, digits, '_', '.', '+' or '-', "
                          "starting with a letter or digit (it names the report folder)")
    return name


def _names(selections) -> str:
    """The names in command-line selections, without their grids: ``"adam[lr=[1,2]],lbfgs"`` -> ``adam-lbfgs``."""
    text = ",".join(selections)
    while re.search(r"\[[^\[\]]*\]", text):
        text = re.sub(r"\[[^\[\]]*\]", "", text)
    return re.sub(r"[^\w.+-]+", "-", text.replace("tag:", "")).strip("-")[:32].strip("-")


def experiment_name(suite: str | None, suite_name: str, problems=(), optimizers=(), **changes) -> str:
    """The experiment a command files its runs under (see :class:`optbench.store.Results`).

    A suite run as it is: the suite's name ``suite_name``. A command that selects runs
    (``problems``, ``optimizers``) or changes the suite's seeds, budget, device or dtype
    (``changes``, ``None`` for unchanged): a name derived from that, stable for the same
    command so that running it again resumes the same experiment -- the suite's name (or,
    for a selection without a suite, the selected names) and six hex digits of a hash of
    the whole selection::

        >>> experiment_name(None, "cli", ["rosenbrock,himmelblau"], ["adam[lr=[1e-3,1e-2]],lbfgs"])
        'rosenbrock-himmelblau_adam-lbfgs-5bb79d'
        >>> experiment_name("quick", "quick")
        'quick'
    """
    import hashlib
    import json

    problems, optimizers = [problems] if isinstance(problems, str) else list(problems), (
        [optimizers] if isinstance(optimizers, str) else list(optimizers))
    changes = {k: v for k, v in changes.items() if v is not None}
    if not problems and not optimizers and not changes:
        return suite_name
    selection = {"suite": suite, "problems": problems, "optimizers": optimizers, **changes}
    digest = hashlib.sha256(json.dumps(selection, sort_keys=True, default=str).encode()).hexdigest()[:6]
    stem = suite_name if suite else "_".join(filter(None, [_names(problems), _names(optimizers)])) or suite_name
    return f"{stem}-{digest}"


def _check_problem(name: str, params: dict, source: str):
    from .registry import get_problem

    try:
        return get_problem(name, **params)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _resolve_per_problem(spec, hp: dict, problem, source: str) -> dict:
    """``hp`` with its expressions (``lr=1/L``, ``lr=theory``) resolved for ``problem``, checked."""
    from .optimizer import validate_hyperparameters
    from .theory import is_expression, resolve_expressions

    if not any(is_expression(v, spec.hyperparameters.get(k)) for k, v in hp.items()):
        return hp
    try:
        return validate_hyperparameters(spec, resolve_expressions(spec, hp, problem))
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


PER_DIM = "max_evals_per_dim"


def _merged_budget(general: dict, specific: dict) -> dict:
    """``general`` updated by ``specific``, where ``max_evals`` and ``max_evals_per_dim`` replace
    each other (the more specific level's evaluation bound wins)."""
    out = dict(general)
    if "max_evals" in specific:
        out.pop(PER_DIM, None)
    if PER_DIM in specific:
        out.pop("max_evals", None)
    out.update(specific)
    return out


def _per_problem_budget(values: dict, problem, name: str, source: str) -> dict:
    """``values`` with ``max_evals_per_dim = K`` turned into ``max_evals = K * dim`` of
    ``problem`` (and ``max_steps`` as large, unless it is set)."""
    if PER_DIM not in values:
        return values
    values = dict(values)
    per_dim = values.pop(PER_DIM)
    if "max_evals" in values:
        raise ConfigError(f"{source}: a budget gives both max_evals and {PER_DIM}; give one of them")
    if isinstance(per_dim, bool) or not isinstance(per_dim, int) or per_dim < 1:
        raise ConfigError(f"{source}: budget {PER_DIM}={per_dim!r} must be a positive integer")
    dim = getattr(problem, "dim", None)
    if not isinstance(dim, int):
        raise ConfigError(f"{source}: problem {name!r} has no fixed dimension before it is built, so "
                          f"{PER_DIM} cannot size its budget; give it budget = {{ max_evals = N }}")
    values["max_evals"] = per_dim * dim
    values.setdefault("max_steps", per_dim * dim)
    return values


def _budget(values: dict, source: str):
    from .runner import Budget

    unknown = sorted(set(values) - set(Budget.__dataclass_fields__))
    if unknown:
        raise ConfigError(f"{source}: unknown budget field(s) {unknown}; known: {sorted([*Budget.__dataclass_fields__, PER_DIM])}")
    try:
        return Budget(**values)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _grid_size(grid: dict[str, Any]) -> int:
    """How many cells :func:`_grid` makes of ``grid``."""
    return math.prod(len(v) if isinstance(v, list) else 1 for v in grid.values())


def _grid(grid: dict[str, Any]) -> list[dict[str, Any]]:
    """``{"lr": [1, 2], "beta": 0.9}`` -> ``[{"lr": 1, "beta": 0.9}, {"lr": 2, "beta": 0.9}]``."""
    keys = sorted(grid)
    values = [v if isinstance(v, list) else [v] for v in (grid[k] for k in keys)]
    for k, v in zip(keys, values):
        if not v:
            raise ConfigError(f"parameter grid for {k!r} is an empty list")
    return [dict(zip(keys, combo)) for combo in itertools.product(*values)]


# ---------------------------------------------------------------------------------------
# Reading suites
# ---------------------------------------------------------------------------------------
def builtin_suites() -> dict[str, str]:
    """Names of the suites shipped with optbench -> their TOML text."""
    out = {}
    for entry in resources.files("optbench.suites").iterdir():
        if entry.name.endswith(".toml"):
            out[entry.name[:-5]] = entry.read_text(encoding="utf-8")
    return out


def read_text(path: Path, what: str) -> str:
    """The UTF-8 text of the file at ``path``; a :class:`ConfigError` naming ``what`` it is
    (``"suite file"``) if it cannot be read or decoded."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} {str(path)!r} is not UTF-8 text (byte {exc.start}: {exc.reason}); "
                          "save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {str(path)!r}: {exc.strerror or exc}") from None


def load_suite(name_or_path: str) -> Suite:
    """A built-in suite by name, or a TOML file by path."""
    path = Path(name_or_path)
    if name_or_path.endswith(".toml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"suite file {name_or_path!r} does not exist")
        return parse_suite(read_text(path, "suite file"), source=str(path))
    suites = builtin_suites()
    if name_or_path not in suites:
        raise UnknownNameError(did_you_mean("suite", name_or_path, list(suites)) + " (or pass a path to a .toml file)")
    return parse_suite(suites[name_or_path], source=f"built-in suite {name_or_path!r}")


def parse_suite(text: str, *, source: str = "<suite>") -> Suite:
    """Parse suite TOML; errors name the file, and the line for syntax errors. Every value's
    type is checked against the schema (the module docstring) before it is used."""
    data = parse_toml(text, source)
    unknown = sorted(set(data) - SUITE_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown}; a suite has {sorted(SUITE_KEYS)}")
    for key in ("problems", "optimizers"):
        if key not in data:
            raise ConfigError(f"{source}: missing [[{key}]] entries")
    return Suite(
        name=_typed(data, "name", str, Path(source).stem, source),
        description=_typed(data, "description", str, "", source),
        problems=[_selection(e, PROBLEM_KEYS, "params", source, "problems") for e in _entries(data["problems"], source, "problems")],
        optimizers=[_selection(e, OPTIMIZER_KEYS, "hyperparameters", source, "optimizers")
                    for e in _entries(data["optimizers"], source, "optimizers")],
        seeds=_seeds(data.get("seeds", 1), source),
        budget=dict(_typed(data, "budget", dict, {}, source)),
        device=_typed(data, "device", str, "auto", source),
        dtype=_typed(data, "dtype", str, None, source),
        source=source,
        time_limit=_time_limit(data.get("time_limit"), source),
        tune=_tune(data.get("tune", {}), source),
        spectrum=_flag(data.get("spectrum", True), "spectrum", source),
        frozen=_flag(data.get("frozen", False), "frozen", source),
    )


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """The table of a TOML document; a :class:`ConfigError` naming ``source`` and the line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: malformed TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{source}: malformed TOML: arrays or tables nested too deeply") from None


_KINDS = {str: "a string", dict: "a table", bool: "true or false"}


def _typed(table: dict, key: str, kind: type, default, source: str, where: str = ""):
    """``table[key]`` (``default`` when absent), which must be of the schema's type ``kind``."""
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, kind):
        raise ConfigError(f"{source}: {where}{key} = {value!r} must be {_KINDS[kind]}")
    return value


def _entries(value, source: str, what: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise ConfigError(f"{source}: '{what}' must be an array of tables ([[{what}]])")
    return value


def _selection(entry: dict, allowed: set[str], grid_key: str, source: str, what: str) -> Selection:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown} in [[{what}]]; allowed: {sorted(allowed)}")
    pattern = entry.get("name") or entry.get("select")
    if not pattern or not isinstance(pattern, str):
        raise ConfigError(f"{source}: each [[{what}]] entry needs name = \"...\" or select = \"tag:...\"")
    where = f"[[{what}]] {pattern!r}: "
    grid = _typed(entry, grid_key, dict, {}, source, where)
    return Selection(pattern, dict(grid), dict(_typed(entry, "budget", dict, {}, source, where)),
                     _typed(entry, "dtype", str, None, source, where), _typed(entry, "optional", bool, False, source, where))


def _tune(value, source: str) -> dict[str, Any]:
    from .tuning.settings import parse_tune_table

    return parse_tune_table(value, source)


def _flag(value, key: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{source}: {key} = {value!r} must be true or false")
    return value


def _time_limit(value, source: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{source}: time_limit = {value!r} must be a positive number of seconds")
    return float(value)


def _seeds(value, source: str) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return range(value)
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return list(dict.fromkeys(value))
    raise ConfigError(f"{source}: seeds = {value!r} must be a positive count or a non-empty list of integers")


# ---------------------------------------------------------------------------------------
# Command-line selections:  name, tag:T, glob, name[k=v,k2=[a,b]]
# ---------------------------------------------------------------------------------------
_ITEM = re.compile(r"^\s*([^\[\]]+?)\s*(?:\[(.*)\])?\s*$", re.S)


def split_top_level(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside brackets: ``"a[x=1,y=2],b"`` -> ``["a[x=1,y=2]", "b"]``."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth < 0:
                raise ConfigError(f"unbalanced ']' in {text!r}")
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    if depth != 0:
        raise ConfigError(f"unbalanced '[' in {text!r}")
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_value(text: str) -> Any:
    """A TOML value (number, bool, quoted string, list); a bare word or an arithmetic
    expression (``1/L``, ``4/(sqrt(L)+sqrt(mu))**2``: see :mod:`optbench.theory`) is a string;
    a list may hold expressions (``[1/L, 2/L]``)."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if re.fullmatch(r"[A-Za-z_][\w\-.]*", text) or re.fullmatch(r"[\w.+\-*/() ]+", text):
            return text
        if text.startswith("[") and text.endswith("]"):
            return [parse_value(item) for item in split_top_level(text[1:-1])]
        raise ConfigError(f"cannot read the value {text!r} (use a number, true/false, a \"string\" or a [list])") from None


def parse_selection(item: str) -> Selection:
    """``"adam[lr=[1e-3,1e-2],beta1=0.8]"`` -> Selection("adam", {"lr": [...], "beta1": 0.8})."""
    m = _ITEM.match(item)
    if not m:
        raise ConfigError(f"cannot read the selection {item!r}; expected NAME, tag:TAG or NAME[key=value,...]")
    name, inner = m.group(1), m.group(2)
    grid: dict[str, Any] = {}
    if inner:
        for assignment in split_top_level(inner):
            if "=" not in assignment:
                raise ConfigError(f"in {item!r}: {assignment!r} is not key=value")
            k, v = assignment.split("=", 1)
            grid[k.strip()] = parse_value(v)
    return Selection(name, grid)


def parse_selections(texts: list[str]) -> list[Selection]:
    return [parse_selection(part) for text in texts for part in split_top_level(text)]
