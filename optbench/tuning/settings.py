"""How to tune: the ``[tune]`` table of a suite, its command-line overrides, and the seeds.

A suite's ``[tune]`` table holds ``budget`` (trials per optimizer per problem), ``method``,
``metric`` and ``seed``, and optionally ``[tune.metrics]``: problem patterns (a name,
``tag:TAG`` or a glob, as in ``[[problems]]``) mapped to the metric for those problems, the
first match winning -- e.g. ``"tag:neural" = "test-loss"`` tunes training problems on held-out
data, which the final training loss would reward for overfitting. ``--metric`` on the command
line sets the metric of every problem. The methods and metrics are described in
:mod:`optbench.tune`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

TUNING_SEED_BASE = 10**6
METHODS = ("sobol", "random", "grid")
METRICS = ("verdict", "final-loss", "test-loss", "time-to-target")
TRIAL_PREFIX = "tune:"
TUNED_PREFIX = "tuned:"
BAD_STATUSES = ("diverged", "failed", "timeout")
TABLE_KEYS = {"budget": int, "budgets": list, "studies": int, "method": str, "metric": str, "seed": int,
              "metrics": dict}


# ---------------------------------------------------------------------------------------
# Settings
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TuneSettings:
    """How to tune: ``budget`` trials per optimizer per problem and study, the search ``method``,
    the selection ``metric`` (``metrics``: problem pattern -> metric, for some problems), and the
    tuning seed ``seed`` (study ``s`` runs its trials on ``TUNING_SEED_BASE + seed + s``).

    ``budgets`` (optional, the largest equal to ``budget``) are the budgets the protocol reports
    from the one sequence of trials: the budget-``b`` choice is the best of the first ``b``
    trials (budget 1: the registered defaults, "one-shot"); it needs a nested design (sobol or
    random). ``studies`` independent studies, each with its own tuning seed, give one choice
    each; the configuration evaluated is the median study's (AlgoPerf, Dahl et al. 2023)."""

    budget: int
    method: str = "sobol"
    metric: str = "verdict"
    seed: int = 0
    metrics: dict[str, str] = field(default_factory=dict)
    budgets: tuple[int, ...] = ()
    studies: int = 1

    def __post_init__(self):
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1:
            raise ConfigError(f"tuning budget {self.budget!r} must be a positive number of trials")
        budgets = tuple(self.budgets)
        if not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1 for b in budgets):
            raise ConfigError(f"tuning budgets {list(budgets)} must be positive numbers of trials, e.g. 1,8,24")
        object.__setattr__(self, "budgets", tuple(sorted(set(budgets))))
        if self.budgets and self.budgets[-1] != self.budget:
            raise ConfigError(f"the largest of the tuning budgets {list(self.budgets)} must be the budget "
                              f"({self.budget} trials); give one of them")
        if len(self.budgets) > 1 and self.method == "grid":
            raise ConfigError("several budgets read the first b trials of one sequence, and grids are not nested: "
                              "use --method sobol or random")
        if isinstance(self.studies, bool) or not isinstance(self.studies, int) or self.studies < 1:
            raise ConfigError(f"tuning studies {self.studies!r} must be a positive number of independent studies")
        if self.method not in METHODS:
            raise ConfigError(f"tuning method {self.method!r} is not one of {', '.join(METHODS)}")
        for metric in (self.metric, *self.metrics.values()):
            if metric not in METRICS:
                raise ConfigError(f"tuning metric {metric!r} is not one of {', '.join(METRICS)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"tuning seed {self.seed!r} must be an integer >= 0")

    @property
    def run_seed(self) -> int:
        """The seed the trials of the first study run on; never an evaluation seed."""
        seed = TUNING_SEED_BASE + self.seed
        assert seed >= TUNING_SEED_BASE
        return seed

    @property
    def run_seeds(self) -> list[int]:
        """The run seed of every study."""
        return [self.run_seed + s for s in range(self.studies)]

    @property
    def reported_budgets(self) -> tuple[int, ...]:
        """The budgets the protocol reports: ``budgets``, or the one ``budget``."""
        return self.budgets or (self.budget,)

    def metric_for(self, problem: str) -> str:
        """The metric of ``problem``: the first pattern of ``metrics`` that selects it, else ``metric``."""
        from ..registry import PROBLEMS

        for pattern, metric in self.metrics.items():
            if problem in PROBLEMS.match(pattern):
                return metric
        return self.metric


def parse_tune_table(table: Any, source: str) -> dict[str, Any]:
    """Check a suite's ``[tune]`` table (``budget``, ``method``, ``metric``, ``seed``,
    ``metrics``, ``budgets``, ``studies``; all optional -- command-line options fill in or override) and
    return it as a dict."""
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: 'tune' must be a table ([tune])")
    unknown = sorted(set(table) - set(TABLE_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {unknown} in [tune]; allowed: {sorted(TABLE_KEYS)}")
    for key, value in table.items():
        kind = TABLE_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            what = {int: "an integer", str: "a string", dict: "a table of problem pattern = metric",
                    list: "a list of numbers of trials"}[kind]
            raise ConfigError(f"{source}: [tune] {key} = {value!r} must be {what}")
    if not all(isinstance(v, str) for v in table.get("metrics", {}).values()):
        raise ConfigError(f"{source}: [tune.metrics] maps problem patterns to metric names ({', '.join(METRICS)})")
    budgets = table.get("budgets", [])
    largest = max(budgets) if budgets and all(isinstance(b, int) for b in budgets) else 1
    try:
        TuneSettings(**{"budget": largest, **table})
    except ConfigError as exc:
        raise ConfigError(f"{source}: [tune]: {exc}") from None
    return dict(table)


def settings_for(suite, **overrides) -> TuneSettings:
    """The ``[tune]`` table of ``suite`` (an :class:`optbench.suite.Suite`) with the non-``None`` ``overrides`` applied; a ``metric``
    override applies to every problem (it replaces the table's ``metrics``)."""
    values = {**suite.tune, **{k: v for k, v in overrides.items() if v is not None}}
    if overrides.get("metric") is not None:
        values["metrics"] = {}
    if overrides.get("budget") is not None and overrides.get("budgets") is None:
        values.pop("budgets", None)  # --budget N alone: one budget
    if overrides.get("budgets") is not None and overrides.get("budget") is None:
        values["budget"] = max(overrides["budgets"])  # --budgets alone: the largest is the budget
    elif "budgets" in values and "budget" not in values:
        values["budget"] = max(values["budgets"], default=0)
    if "budget" not in values:
        raise ConfigError(f"{suite.source}: no tuning budget: give --budget N (trials per optimizer per problem) "
                          "or budget = N in the suite's [tune] table")
    return TuneSettings(**values)


def check_evaluation_seeds(seeds) -> None:
    """Evaluation seeds must stay below :data:`TUNING_SEED_BASE` (the trials' seeds)."""
    bad = [s for s in seeds if s >= TUNING_SEED_BASE]
    if bad:
        raise ConfigError(f"evaluation seeds {bad} collide with the tuning seeds (>= {TUNING_SEED_BASE}); "
                          f"use seeds below {TUNING_SEED_BASE}")



def canonical(value) -> str:
    """``value`` as canonical JSON (sorted keys): how configurations and parameters are compared."""
    return json.dumps(value, sort_keys=True, default=repr)
