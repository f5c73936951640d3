"""Configuration labels: the one way a run's problem and optimizer are named in every table,
figure and terminal summary.

A *configuration* is everything that makes two runs comparable or not: the problem and its
parameters, the optimizer and its hyperparameters, the budget, the dtype and the device.
Runs that differ in any of these are different ids (a verdict never merges them silently),
and each id says what differs from the defaults, so that the common case reads as a bare
name:

* ``optimizer_id`` = the optimizer's name plus the hyperparameters that differ from its
  registered defaults, e.g. ``gd[lr=1e-3]``, ``adam`` (all defaults);
* ``problem_id`` = the problem's name plus the parameters that differ from its registered
  defaults, plus the dtype where it is not the problem's default dtype (``float32`` on an
  analytic problem), plus the budget fields and the device where they differ between runs
  of that problem configuration and dtype, e.g. ``digits-mlp[batch_size=64]``, ``rosenbrock[dim=10,float32]``,
  ``rosenbrock[max_steps=100]`` next to ``rosenbrock[max_steps=1000]``.

Budget, dtype and device belong to the problem's id: they set the conditions of a test
instance (what every optimizer on it may spend, in which precision, where), so optimizers
are ranked against each other under the same conditions. A name the registry does not know
(a plugin that is not loaded) is labelled with the parameters that vary between its runs.

>>> import pandas as pd
>>> from optbench.labels import configuration_labels
>>> runs = pd.DataFrame({
...     "problem": ["rosenbrock"] * 2, "problem_params": [{"dim": 2, "start": "standard"}] * 2,
...     "optimizer": ["gd", "gd"], "hyperparameters": [{"lr": 1e-3}, {"lr": 0.01}],
...     "budget": [{"max_steps": 100}] * 2, "dtype": ["float64", "float32"], "device": ["cpu"] * 2})
>>> configuration_labels(runs)
(['rosenbrock', 'rosenbrock[float32]'], ['gd[lr=1e-3]', 'gd'])
"""
from __future__ import annotations

import json
import math
from typing import Any, Callable

__all__ = ["configuration_labels", "format_value", "label"]


def format_value(value: Any) -> str:
    """A parameter value as it reads in a label: the shorter of plain and scientific notation
    for floats below 1 (``1e-3``, ``0.01``, ``3e-4``), ``%.4g`` otherwise, JSON for lists."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value) or abs(value) >= 1:
            return f"{value:.4g}"
        plain = f"{value:.4g}"
        mantissa, exponent = f"{value:.3e}".split("e")
        mantissa = mantissa.rstrip("0").rstrip(".")
        sci = f"{mantissa}e{int(exponent)}"
        return sci if len(sci) < len(plain) else plain
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    return str(value)


def label(name: str, parts: list[str]) -> str:
    """``name[part1,part2]``, or ``name`` alone without parts."""
    return f"{name}[{','.join(parts)}]" if parts else name


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _registry_defaults(kind: str) -> Callable[[str], tuple[dict, str | None] | None]:
    """``name -> (default parameters, default dtype)`` from the registry, or ``None`` for a name
    the registry does not know (or cannot load)."""
    cache: dict[str, tuple[dict, str | None] | None] = {}

    def lookup(name: str):
        if name not in cache:
            try:
                from .registry import OPTIMIZERS, PROBLEMS

                if kind == "problem":
                    spec = PROBLEMS.get(name)
                    dtype = getattr(spec.factory, "default_dtype", None)
                    cache[name] = (dict(spec.params), str(dtype).replace("torch.", "") if dtype is not None else None)
                else:
                    cache[name] = (dict(OPTIMIZERS.get(name).hyperparameters), None)
            except Exception:  # an unknown or broken plugin: fall back to what varies between runs
                cache[name] = None
        return cache[name]

    return lookup


def _differing(name: str, params: dict, defaults: dict | None, varying: set[str]) -> list[str]:
    """``k=v`` for the parameters that differ from ``defaults`` (or, without defaults, vary)."""
    if defaults is None:
        keys = sorted(varying)
    else:
        keys = sorted(k for k in params if k not in defaults or _canonical(params[k]) != _canonical(defaults[k]))
    return [f"{k}={format_value(params.get(k))}" for k in keys]


def _varying_keys(names: list[str], dicts: list[dict]) -> dict[str, set[str]]:
    """Per name: the keys whose value differs between its entries (a key some entries lack
    differs too)."""
    values: dict[str, dict[str, set[str]]] = {}
    present: dict[str, dict[str, int]] = {}
    count: dict[str, int] = {}
    for name, d in zip(names, dicts):
        count[name] = count.get(name, 0) + 1
        per, seen = values.setdefault(name, {}), present.setdefault(name, {})
        for k, v in d.items():
            per.setdefault(k, set()).add(_canonical(v))
            seen[k] = seen.get(k, 0) + 1
    return {name: {k for k, vs in per.items() if len(vs) > 1 or present[name][k] < count[name]}
            for name, per in values.items()}


def configuration_labels(runs) -> tuple[list[str], list[str]]:
    """``(problem_ids, optimizer_ids)``: one label of each kind per row of ``runs`` (a frame
    with columns ``problem, problem_params, optimizer, hyperparameters`` and, where present,
    ``budget``, ``dtype``, ``device``); see the module docstring for the rule."""
    problems = [str(p) for p in runs["problem"]]
    pparams = [p if isinstance(p, dict) else {} for p in runs["problem_params"]]
    optimizers = [str(o) for o in runs["optimizer"]]
    hparams = [h if isinstance(h, dict) else {} for h in runs["hyperparameters"]]
    n = len(problems)
    budgets = [b if isinstance(b, dict) else {} for b in runs["budget"]] if "budget" in runs else [{}] * n
    dtypes = [str(d) if isinstance(d, str) and d else "" for d in runs["dtype"]] if "dtype" in runs else [""] * n
    devices = [str(d) if isinstance(d, str) and d else "" for d in runs["device"]] if "device" in runs else [""] * n

    problem_defaults, optimizer_defaults = _registry_defaults("problem"), _registry_defaults("optimizer")
    varying_p = _varying_keys(problems, pparams)
    varying_o = _varying_keys(optimizers, hparams)
    base_ids = []
    for name, params in zip(problems, pparams):
        found = problem_defaults(name)
        base_ids.append((name, _differing(name, params, found[0] if found else None, varying_p.get(name, set()))))
    base_names = [_canonical(b) for b in base_ids]
    varying_dtype = {k for k, keys in _varying_keys(base_names, [{"dtype": d} for d in dtypes]).items() if keys}
    # budget and device: the fields that differ between runs of one problem configuration and dtype
    cond_names = [_canonical([b, d]) for b, d in zip(base_ids, dtypes)]
    conditions = [{**{f"budget:{k}": v for k, v in b.items()}, "device": dev} for b, dev in zip(budgets, devices)]
    varying_c = _varying_keys(cond_names, conditions)

    problem_ids = []
    for (name, parts), base_name, cond_name, cond, dtype in zip(base_ids, base_names, cond_names, conditions, dtypes):
        parts = list(parts)
        found = problem_defaults(name)
        default_dtype = found[1] if found else None
        if dtype and ((default_dtype is not None and dtype != default_dtype)
                      or (default_dtype is None and base_name in varying_dtype)):
            parts.append(dtype)
        for k in sorted(varying_c.get(cond_name, set())):
            if k == "device":
                parts.append(str(cond.get(k) or "?"))
            else:
                parts.append(f"{k.split(':', 1)[1]}={format_value(cond.get(k))}")
        problem_ids.append(label(name, parts))
    optimizer_ids = []
    for name, params in zip(optimizers, hparams):
        found = optimizer_defaults(name)
        optimizer_ids.append(label(name, _differing(name, params, found[0] if found else None,
                                                    varying_o.get(name, set()))))
    return problem_ids, optimizer_ids
