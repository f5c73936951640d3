r"""Fair comparisons: every optimizer gets the same hyperparameter-tuning budget.

This module is the orchestration -- it runs the trials and the evaluations and writes the
tuned-hyperparameter file; the protocol itself (settings, search designs, the choice, the
frames of the trials) is the pure package :mod:`optbench.tuning`.

An optimizer comparison is only fair when every method is tuned with the same effort on
each problem (DeepOBS, Schneider et al. 2019; Schmidt, Schneider & Hennig 2021; the tuning
rulesets of AlgoPerf, Dahl et al. 2023). The protocol here:

1. **Tune.** For every problem x optimizer of a suite, run exactly ``N`` *trials*: ``N``
   configurations from the optimizer's declared search space (:mod:`optbench.optimizer`),
   each one run on the *tuning seed* ``TUNING_SEED_BASE + S`` (``S`` = ``--tuning-seed``,
   default 0). Evaluation seeds are ``0 .. k-1`` by convention and must be below
   ``TUNING_SEED_BASE = 10**6``, so a trial never shares a start, a data order or an
   initialisation with an evaluation run. Trials are ordinary runs in the store, with the
   suite label ``tune:<suite>``.
2. **Choose** the best trial by a metric (lower is better; ties go to the earlier trial), one
   for the whole suite or one per problem (``[tune.metrics]``, below):

   ``verdict``         (default) what the report's verdict judges, :func:`optbench.metrics.verdict_metric`:
                       the final test loss on a training problem with a test split (a budget
                       with ``eval_every``), else the final gap ``f - f_ref`` -- so tuning and
                       report agree.
   ``final-loss``      the final objective (the gap ``f - f*`` where ``f*`` is known). A run
                       that reached the budget's ``target_gap`` stopped there, so all such
                       runs tie at the target and the fewer steps win.
   ``test-loss``       the last ``test_loss`` of the run's evaluation points (training
                       problems with a test set; the budget needs ``eval_every``).
   ``time-to-target``  steps to the budget's ``target_gap`` (needs ``f*``); runs that never
                       reach it rank after every run that does, by final loss.

   Diverged, failed and timed-out trials, and trials without a finite metric, rank last.
3. **Write** the choice per problem x optimizer to a TOML file (format below) and
   **evaluate** it on the suite's seeds (label ``tuned:<suite>``), next to the optimizers'
   registered defaults (the plain suite, label ``<suite>``).

Search designs (:mod:`optbench.tuning.search`): ``sobol`` (default; the registered defaults,
then quasi-random points, log dimensions on the log scale), ``random`` (seeded) and ``grid``
(a product of per-dimension grids whose size is the budget; the command says when the budget
does not split evenly). An optimizer with no search space (some plugins) gets exactly one
trial, its defaults; a finite space with fewer configurations than the budget gets each once.
Both are "the same budget" in the sense of "no more than ``N``"; the command says so.

A chosen value within 5% of an end of its search-space dimension (log scale for log
dimensions) is flagged -- as a comment in the file, in the terminal table and in the report --
because the best value may lie outside the space; diverged trials are counted apart from
failed ones, and values print with the digits that read apart from the bounds.

Tuned-hyperparameter file (``optbench tune -o tuned.toml``, read by ``optbench run --tuned``)::

    [tune]                            # how the choice was made (informative)
    suite = "fair"
    method = "sobol"
    metric = "final-loss"
    metrics = { "tag:neural" = "test-loss" }
    budget = 8                        # trials per optimizer per problem
    seed = 0                          # the trials ran on seed 1000000 + seed

    [[tuned]]                         # one entry per problem x optimizer
    problem = "quadratic"
    params = { dim = 20 }             # the problem parameters that differ from its defaults
    optimizer = "gd"
    hyperparameters = { lr = 1.0 }    # the searched hyperparameters; the rest are defaults
    metric = "final-loss"
    value = 3.1e-05                   # the metric of the chosen trial
    trials = 8

A suite's ``[tune]`` table holds the same ``budget``, ``method``, ``metric`` and ``seed``, and
optionally ``[tune.metrics]`` (:mod:`optbench.tuning.settings`).

``optbench run SUITE --tuned FILE`` runs each job whose problem (name and full parameters)
and optimizer have an entry with that entry's hyperparameters, labelled ``tuned:<suite>``.

>>> import optbench                                                     # doctest: +SKIP
>>> from optbench.suite import load_suite
>>> from optbench.tune import run_protocol
>>> from optbench.tuning.settings import settings_for
>>> from optbench.tuning.frames import tuned_vs_default_frame
>>> fair = load_suite("fair")
>>> outcome = run_protocol(fair, settings_for(fair), optbench.Store("fair.sqlite"), output="tuned-fair.toml")
>>> tuned_vs_default_frame(optbench.load("fair.sqlite")).groupby(["optimizer", "role"]).final_gap.median()

References: F. Schneider, L. Balles, P. Hennig (2019), "DeepOBS: A Deep Learning Optimizer
Benchmark Suite", ICLR. R. M. Schmidt, F. Schneider, P. Hennig (2021), "Descending through a
Crowded Valley -- Benchmarking Deep Learning Optimizers", ICML. G. E. Dahl et al. (2023),
"Benchmarking Neural Network Training Algorithms" (AlgoPerf), arXiv:2306.07179.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from .errors import ConfigError
from .suite import Job, Suite
from .tuning.search import edge_text, format_value, grid_note, trial_configs
from .tuning.frames import status_counts
from .tuning.selection import TunedEntry, choose, median_study
from .tuning.settings import (TRIAL_PREFIX, TUNED_PREFIX, TUNING_SEED_BASE, TuneSettings, canonical,
                              check_evaluation_seeds)


# ---------------------------------------------------------------------------------------
# Jobs
# ---------------------------------------------------------------------------------------
def _with_hyperparameters(job: Job, hyperparameters: dict, suite: str) -> Job:
    from .runner import job_key

    key = job_key(job.problem, job.problem_params, job.optimizer, hyperparameters, job.seed,
                  job.budget.to_dict(), job.dtype, job.device)
    return replace(job, hyperparameters=hyperparameters, suite=suite, key=key)


def _cell(job: Job) -> tuple[str, str, str]:
    return job.problem, canonical(job.problem_params), job.optimizer


@dataclass
class Cell:
    """One problem x optimizer of one study of a tuning: its trial jobs, in trial order."""

    problem: str
    params: dict
    optimizer: str
    metric: str
    configs: list[dict]
    jobs: list[Job]
    study: int = 0


def trial_cells(suite: Suite, settings: TuneSettings) -> list[Cell]:
    """The trials of ``suite``: for every study, problem and optimizer, one job per configuration
    on the study's tuning seed, labelled ``tune:<suite>``. Bad input fails here, before anything runs."""
    from .optimizer import validate_hyperparameters
    from .registry import get_optimizer

    check_evaluation_seeds(suite.seeds)
    fixed = [s.pattern for s in suite.optimizers if s.grid]
    if fixed:
        raise ConfigError(f"tuning searches each optimizer's declared search space; {', '.join(map(repr, fixed))} "
                          "set hyperparameters by hand: select the optimizers by name only")
    label = TRIAL_PREFIX + suite.name
    cells: dict[tuple, Cell] = {}
    for study, seed in enumerate(settings.run_seeds):
        for job in replace(suite, seeds=[seed], name=label).jobs():
            cell = (*_cell(job), study)
            if cell in cells:
                raise ConfigError(f"{suite.source}: problem {job.problem!r} with parameters {job.problem_params} "
                                  "is selected twice (with different budgets or dtypes); tuning chooses one "
                                  "configuration per problem, so select it once")
            spec = get_optimizer(job.optimizer)
            configs = trial_configs(spec.search_space, spec.hyperparameters, settings.budget, settings.method,
                                    seed, spec.name)
            jobs = [_with_hyperparameters(job, validate_hyperparameters(spec, c), label) for c in configs]
            assert all(j.seed >= TUNING_SEED_BASE for j in jobs)
            cells[cell] = Cell(job.problem, job.problem_params, job.optimizer, settings.metric_for(job.problem),
                               configs, jobs, study)
    for c in cells.values():
        _check_metric(c)
    return list(cells.values())


def _check_metric(cell: Cell) -> None:
    from .problem import TrainingProblem
    from .registry import PROBLEMS, get_problem

    metric, budget = cell.metric, cell.jobs[0].budget
    if metric == "test-loss":
        factory = PROBLEMS.get(cell.problem).factory
        if not (isinstance(factory, type) and issubclass(factory, TrainingProblem)):
            raise ConfigError(f"metric test-loss needs a training problem with a test set; {cell.problem!r} "
                              "has none: use --metric final-loss (or time-to-target)")
        if budget.eval_every is None:
            raise ConfigError(f"metric test-loss reads the test loss at evaluation points; the budget of "
                              f"{cell.problem!r} has no eval_every: set it (e.g. --eval-every 50)")
    elif metric == "time-to-target":
        if budget.target_gap is None:
            raise ConfigError(f"metric time-to-target needs a target: the budget of {cell.problem!r} has no "
                              "target_gap (e.g. --target-gap 1e-6)")
        if get_problem(cell.problem, **cell.params).f_star is None:
            raise ConfigError(f"metric time-to-target needs the minimum f*, unknown for {cell.problem!r}: "
                              "use --metric final-loss")


# ---------------------------------------------------------------------------------------
# The tuned-hyperparameter file
# ---------------------------------------------------------------------------------------
def _toml_value(value, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v, where) for v in value) + "]"
    if isinstance(value, dict):
        return _inline_table(value, where)
    raise ConfigError(f"{where}: {value!r} cannot be written to TOML (a number, bool, string or list is needed)")


def _inline_table(values: dict, where: str) -> str:
    items = []
    for k, v in values.items():
        name = k if k and all(c.isalnum() or c in "_-" for c in k) and k.isascii() else json.dumps(k)
        items.append(f"{name} = {_toml_value(v, f'{where} {k}')}")
    return "{ " + ", ".join(items) + " }" if items else "{}"


def _nondefault_params(problem: str, params: dict) -> dict:
    from .registry import PROBLEMS

    defaults = PROBLEMS.get(problem).params
    return {k: v for k, v in params.items()
            if k not in defaults or defaults[k] != v or type(defaults[k]) is not type(v)}


def _comments(entry: TunedEntry) -> list[str]:
    """Comment lines of a ``[[tuned]]`` entry: values on an edge of the search space, bad trials."""
    from .registry import get_optimizer

    lines = []
    if entry.edges:
        space = get_optimizer(entry.optimizer).search_space
        lines.append(f"# ON THE EDGE of the search space: {edge_text(entry.edges, space)}; "
                     "the best value may lie outside it")
    if entry.diverged or entry.failed:
        lines.append(f"# of the {entry.trials} trials, {entry.diverged} diverged and {entry.failed} failed or timed out")
    return lines


def _other_choices(entry: TunedEntry, by_budget: dict[int, list[TunedEntry]], settings: TuneSettings) -> list[str]:
    """Comment lines: the choice of every budget and study for ``entry``'s problem x optimizer."""
    if len(by_budget) <= 1 and settings.studies <= 1:
        return []
    lines = [f"# this entry: study {entry.study} (the median of {settings.studies}) at budget {settings.budget}"]
    for budget, choices in sorted(by_budget.items()):
        for c in sorted(choices, key=lambda c: c.study):
            if (c.problem, c.params, c.optimizer) == (entry.problem, entry.params, entry.optimizer):
                lines.append(f"# budget {budget}, study {c.study} (seed {settings.run_seeds[c.study]}): "
                             f"{_chosen(c) or '(defaults)'}; value {c.value:.4g}")
    return lines


def write_tuned(path: str | Path, entries: list[TunedEntry], settings: TuneSettings, suite: str,
                by_budget: dict[int, list[TunedEntry]] | None = None) -> Path:
    """Write the chosen hyperparameters (format in the module docstring); with several budgets or
    studies (``by_budget``: budget -> every study's choices), each entry lists them as comments."""
    from . import __version__

    lines = [
        f"# Hyperparameters chosen by `optbench tune` (optbench {__version__}).",
        f"# Evaluate them with: optbench run {suite} --tuned {Path(path).name}",
        "# Each [[tuned]] entry sets the optimizer's hyperparameters on one problem (matched by name and",
        "# parameters; unlisted problem parameters and hyperparameters take their defaults).",
        "",
        "[tune]",
        f"suite = {_toml_value(suite, 'suite')}",
        f"method = {_toml_value(settings.method, 'method')}",
        f"metric = {_toml_value(settings.metric, 'metric')}",
        *([f"metrics = {_inline_table(settings.metrics, 'metrics')}"] if settings.metrics else []),
        f"budget = {settings.budget}",
        *([f"budgets = {_toml_value(list(settings.budgets), 'budgets')}"] if settings.budgets else []),
        *([f"studies = {settings.studies}  # the median study's choice is listed"] if settings.studies > 1 else []),
        f"seed = {settings.seed}  # the trials ran on seed{'s' if settings.studies > 1 else ''} "
        + ", ".join(map(str, settings.run_seeds)),
    ]
    for e in entries:
        where = f"{e.problem} x {e.optimizer}"
        lines += [
            "",
            "[[tuned]]",
            f"problem = {_toml_value(e.problem, where)}",
            f"params = {_inline_table(_nondefault_params(e.problem, e.params), where + ' params')}",
            f"optimizer = {_toml_value(e.optimizer, where)}",
            f"hyperparameters = {_inline_table(e.hyperparameters, where + ' hyperparameters')}",
            *_comments(e),
            *_other_choices(e, by_budget or {}, settings),
            f"metric = {_toml_value(e.metric, where)}",
            f"value = {_toml_value(e.value, where)}",
            f"trials = {e.trials}",
        ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class Tuned:
    """A tuned-hyperparameter file: entries matched to jobs by problem, parameters, optimizer."""

    entries: list[TunedEntry]
    source: str = "<tuned>"
    settings: dict = field(default_factory=dict)

    def lookup(self, problem: str, params: dict, optimizer: str) -> TunedEntry | None:
        for e in self.entries:
            if e.problem == problem and e.optimizer == optimizer and e.params == params:
                return e
        return None


def read_tuned(path: str | Path) -> Tuned:
    """Read a file written by :func:`write_tuned`; errors name the file and the entry."""
    from .registry import PROBLEMS, get_optimizer
    from .suite import parse_toml, read_text

    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise ConfigError(f"tuned-hyperparameter file {source!r} does not exist (write one with optbench tune -o FILE)")
    data = parse_toml(read_text(path, "tuned-hyperparameter file"), source)
    unknown = sorted(set(data) - {"tune", "tuned"})
    if unknown or not isinstance(data.get("tuned"), list) or not isinstance(data.get("tune", {}), dict):
        raise ConfigError(f"{source}: not a tuned-hyperparameter file: it needs [[tuned]] entries "
                          f"(and optionally [tune]){'; unknown key(s) ' + str(unknown) if unknown else ''}")
    entries, seen = [], set()
    required = {"problem", "params", "optimizer", "hyperparameters"}
    for i, raw in enumerate(data["tuned"], 1):
        where = f"{source}: [[tuned]] entry {i}"
        if not isinstance(raw, dict) or not required <= set(raw):
            raise ConfigError(f"{where} needs {', '.join(sorted(required))}")
        extra = sorted(set(raw) - required - {"metric", "value", "trials"})
        if extra:
            raise ConfigError(f"{where}: unknown key(s) {extra}")
        if not isinstance(raw["params"], dict) or not isinstance(raw["hyperparameters"], dict):
            raise ConfigError(f"{where}: params and hyperparameters must be tables")
        if not all(isinstance(raw.get(k, ""), str) for k in ("problem", "optimizer", "metric")):
            raise ConfigError(f"{where}: problem, optimizer and metric must be strings")
        spec = PROBLEMS.get(raw["problem"])
        unknown_params = sorted(set(raw["params"]) - set(spec.params))
        if unknown_params:
            raise ConfigError(f"{where}: problem {spec.name!r} has no parameter(s) {unknown_params}")
        get_optimizer(raw["optimizer"]).resolve(raw["hyperparameters"])  # names and types
        value, trials = raw.get("value", math.nan), raw.get("trials", 0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or isinstance(trials, bool) \
                or not isinstance(trials, int):
            raise ConfigError(f"{where}: value must be a number and trials an integer")
        entry = TunedEntry(spec.name, {**spec.params, **raw["params"]}, raw["optimizer"], dict(raw["hyperparameters"]),
                           str(raw.get("metric", "")), float(value), trials)
        cell = (entry.problem, canonical(entry.params), entry.optimizer)
        if cell in seen:
            raise ConfigError(f"{where}: {entry.problem} x {entry.optimizer} with these parameters is listed twice")
        seen.add(cell)
        entries.append(entry)
    return Tuned(entries, source, dict(data.get("tune", {})))


def apply_tuned(jobs: list[Job], tuned: Tuned, suite: str) -> tuple[list[Job], list[Job]]:
    """``(tuned jobs, untouched jobs)``: each job with an entry in ``tuned`` gets the entry's
    hyperparameters and the label ``tuned:<suite>``; jobs without one are returned as they are.
    Several jobs that become the same run (a suite grid over a tuned hyperparameter) are one."""
    from .optimizer import validate_hyperparameters
    from .registry import get_optimizer

    check_evaluation_seeds({j.seed for j in jobs})
    out, untouched, seen = [], [], set()
    for job in jobs:
        entry = tuned.lookup(job.problem, job.problem_params, job.optimizer)
        if entry is None:
            untouched.append(job)
            continue
        try:
            hp = validate_hyperparameters(get_optimizer(job.optimizer), entry.hyperparameters)
        except ConfigError as exc:
            raise ConfigError(f"{tuned.source}: {exc}") from None
        new = _with_hyperparameters(job, hp, TUNED_PREFIX + suite)
        if new.key not in seen:
            seen.add(new.key)
            out.append(new)
    return out, untouched


def claim_labels(jobs: list[Job], store, log: Callable[[str], None]) -> None:
    """Make sure each of ``jobs`` is stored under its own suite label.

    The store keeps one run per key and the key does not include the label, so a tuned
    configuration identical to one already stored under another label (the defaults, run
    before by ``optbench run``) would keep that label. Such runs are deleted here so that
    running ``jobs`` recomputes them -- bit-identically on CPU -- under the label of ``jobs``,
    which is how :func:`tuned_vs_default_frame` finds the tuned configuration.
    """
    wanted = {j.key: j.suite for j in jobs}
    stored = {}
    keys = list(wanted)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        stored.update(store.conn.execute(f"SELECT key, suite FROM runs WHERE key IN ({marks})", chunk).fetchall())
    stale = [k for k, label in stored.items() if label != wanted[k]]
    if stale:
        log(f"{len(stale)} tuned run(s) were stored under another label (the same configuration run before); "
            "recomputing them under the tuned label")
        store.delete(stale)


# ---------------------------------------------------------------------------------------
# The protocol
# ---------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What :func:`run_protocol` did: the choices and the keys of every run it used."""

    entries: list[TunedEntry]
    trial_keys: list[str]
    tuned_keys: list[str] = field(default_factory=list)
    default_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    by_budget: dict[int, list[TunedEntry]] = field(default_factory=dict)  # budget -> every study's choices


def run_protocol(suite: Suite, settings: TuneSettings, store, *, output: str | Path | None = None,
                 evaluate: bool = True, log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr),
                 **execution) -> Outcome:
    """Tune every problem x optimizer of ``suite`` with ``settings.budget`` trials, write the
    choice to ``output`` (if given), then, with ``evaluate``, run the tuned and the default
    configurations on the suite's seeds. ``execution`` goes to :func:`optbench.execute.execute`
    (``backend``, ``n_jobs``, ``plugins``, ``time_limit``, ``scheduler``, ``progress``, ``threads``)."""
    from .execute import execute
    from .registry import get_optimizer
    from .store import Results

    cells = trial_cells(suite, settings)
    default_jobs = suite.jobs() if evaluate else []
    notes = []
    for name in sorted({c.optimizer for c in cells}):
        n = len(next(c for c in cells if c.optimizer == name).configs)
        space = get_optimizer(name).search_space
        if not space:
            notes.append(f"{name}: no search space -- 1 trial (its defaults) per problem")
        elif settings.method == "grid" and grid_note(space, settings.budget):
            notes.append(f"{name}: {grid_note(space, settings.budget)} -- {n} trials per problem")
        elif n < settings.budget:
            notes.append(f"{name}: its search space has only {n} configurations -- {n} trials per problem")
    trials = [j for c in cells for j in c.jobs]
    metrics = sorted({c.metric for c in cells})
    studies = (f"{settings.studies} studies on tuning seeds {settings.run_seeds}" if settings.studies > 1
               else f"tuning seed {settings.run_seed}")
    budgets = (f"; budgets {', '.join(map(str, settings.budgets))} are the first b trials of each sequence"
               if len(settings.budgets) > 1 else "")
    log(f"tuning {suite.name}: {len(cells) // settings.studies} problem x optimizer pairs, {settings.method} search, "
        f"budget {settings.budget} trials each ({len(trials)} runs on {studies}), "
        f"metric{'s' if len(metrics) > 1 else ''} {', '.join(metrics)}{budgets}")
    for note in notes:
        log("  " + note)
    summary = execute(trials, store, log=log, **execution)
    outcome = Outcome([], [j.key for j in trials], notes=notes, interrupted=summary.interrupted)
    if summary.interrupted:
        return outcome
    results = Results(store, outcome.trial_keys)
    outcome.by_budget = {b: choose(cells, results, first=b) for b in settings.reported_budgets}
    outcome.entries = median_study(outcome.by_budget[settings.budget])
    if output is not None:
        write_tuned(output, outcome.entries, settings, suite.name, outcome.by_budget)
    if not evaluate:
        return outcome
    tuned = Tuned(outcome.entries, "the tuning")
    tuned_jobs, _ = apply_tuned(default_jobs, tuned, suite.name)
    claim_labels(tuned_jobs, store, log)
    keys = {j.key for j in tuned_jobs}
    defaults = [j for j in default_jobs if j.key not in keys]
    log(f"evaluating on seeds {list(suite.seeds)}: {len(tuned_jobs)} tuned runs (label {TUNED_PREFIX}{suite.name}) and "
        f"{len(default_jobs)} with the default hyperparameters (label {suite.name})")
    summary = execute(tuned_jobs + defaults, store, log=log, **execution)
    outcome.tuned_keys = [j.key for j in tuned_jobs]
    outcome.default_keys = [j.key for j in default_jobs]
    outcome.interrupted = summary.interrupted
    return outcome


def format_budgets(by_budget: dict[int, list[TunedEntry]]) -> str:
    """Tuned performance against the budget: per problem x optimizer and budget ``b`` (the best
    of the first ``b`` trials, on the tuning seeds), every study's value, the median over studies
    and the median study's choice."""
    import pandas as pd

    rows = []
    for budget, entries in sorted(by_budget.items()):
        for e in median_study(entries):
            studies = sorted((x for x in entries if (x.problem, x.params, x.optimizer) ==
                              (e.problem, e.params, e.optimizer)), key=lambda x: x.study)
            rows.append({"problem": _label(e.problem, _nondefault_params(e.problem, e.params)),
                         "optimizer": e.optimizer, "budget": budget, "median_value": f"{e.value:.4g}",
                         "per_study": " / ".join(f"{x.value:.3g}" for x in studies),
                         "median_study_chose": _chosen(e) or "(defaults)"})
    table = pd.DataFrame(rows).sort_values(["problem", "optimizer", "budget"], kind="stable")
    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_colwidth", 70):
        return table.to_string(index=False)


def format_entries(entries: list[TunedEntry]) -> str:
    """The chosen hyperparameters as a text table; ``edge`` names those within 5% of an end of the
    search space (:func:`optbench.tuning.search.edges`), ``diverged`` and ``failed`` count trials."""
    import pandas as pd

    rows = [{"problem": _label(e.problem, _nondefault_params(e.problem, e.params)), "optimizer": e.optimizer,
             "trials": e.trials, "diverged": e.diverged, "failed": e.failed, "chosen": _chosen(e) or "(defaults)",
             "edge": ", ".join(f"{k} {side}" for k, side in e.edges.items()) or "-",
             "metric": e.metric, "value": f"{e.value:.4g}", "status": e.status} for e in entries]
    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.max_colwidth", 80):
        return pd.DataFrame(rows).to_string(index=False)


def _chosen(entry: TunedEntry) -> str:
    """``lr=0.0205, beta2=0.9999``: each value with the digits that read apart from its bounds."""
    from .registry import get_optimizer

    space = get_optimizer(entry.optimizer).search_space
    return ", ".join(f"{k}={format_value(v, space.get(k))}" for k, v in entry.hyperparameters.items())


def _label(name: str, params: dict) -> str:
    inner = ",".join(f"{k}={_short(v)}" for k, v in params.items())
    return f"{name}[{inner}]" if inner else name


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


# ---------------------------------------------------------------------------------------
# Frames for the report
# ---------------------------------------------------------------------------------------
def format_comparison(frame) -> str:
    """Tuned against default: the runs on the evaluation seeds, how each ended (``seeds``: one
    status per evaluation seed, e.g. ``3 budget, 2 diverged`` -- a diverged seed is never hidden
    in a median), the median final gap and (where recorded) the median test loss."""
    import pandas as pd

    if frame.empty:
        return "(no tuned evaluation runs)"
    agg = {"runs": ("key", "size"), "seeds": ("status", status_counts), "median_final_gap": ("final_gap", "median")}
    if frame["test_loss"].notna().any():
        agg["median_test_loss"] = ("test_loss", "median")
    table = frame.groupby(["problem_id", "optimizer", "role"]).agg(**agg).reset_index()
    with pd.option_context("display.max_rows", 500, "display.width", 200, "display.float_format", "{:.4g}".format):
        return table.to_string(index=False)
