"""optbench: a benchmark suite for gradient-based optimizers.

>>> import optbench
>>> rec = optbench.run("rosenbrock", "adam", hyperparameters={"lr": 0.05},
...                    budget=optbench.Budget(max_steps=200))
>>> rec.status, rec.steps
('budget', 200)

Attributes are imported lazily so that ``optbench --help`` does not pay for torch.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "get_problem": "optbench.registry",
    "get_optimizer": "optbench.registry",
    "register_problem": "optbench.registry",
    "register_optimizer": "optbench.registry",
    "load_plugin": "optbench.registry",
    "PROBLEMS": "optbench.registry",
    "OPTIMIZERS": "optbench.registry",
    "LogUniform": "optbench.optimizer",
    "Uniform": "optbench.optimizer",
    "Choice": "optbench.optimizer",
    "Problem": "optbench.problem",
    "AnalyticProblem": "optbench.problem",
    "LeastSquaresProblem": "optbench.problem",
    "TrainingProblem": "optbench.problem",
    "TrainingSetup": "optbench.problem",
    "run": "optbench.runner",
    "run_suite": "optbench.experiment",
    "Budget": "optbench.runner",
    "RunRecord": "optbench.runner",
    "DriverTask": "optbench.runner",
    "load": "optbench.experiment",
    "Store": "optbench.store",
    "Results": "optbench.experiment",
    "OptbenchError": "optbench.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'optbench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
