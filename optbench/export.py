"""Tidy tables of a results database, for CSV/Parquet files and for pandas users.

A tidy table has one value per cell: the per-run dictionaries (hyperparameters, problem
parameters, budget, environment) become one column per key, prefixed ``hp.``, ``problem.``,
``budget.`` and ``env.`` (``hp.lr``, ``problem.dim``, ``budget.max_steps``); a list becomes
one column per element (``hp.betas.0``). The final iterate ``x`` of low-dimensional runs,
whose length differs between problems, is its own long table ``final_x`` (one row per run
and coordinate). Every table carries ``problem_id`` and ``optimizer_id``, so nobody has to
merge on ``key``.

>>> flatten({"lr": 0.01, "betas": [0.9, 0.999]}, "hp")
{'hp.lr': 0.01, 'hp.betas.0': 0.9, 'hp.betas.1': 0.999}
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import ConfigError

#: the run columns that hold a dictionary, and the prefix of their columns in a tidy table
PREFIXES = {"hyperparameters": "hp", "problem_params": "problem", "budget": "budget", "environment": "env"}


def flatten(value, prefix: str) -> dict:
    """``{"prefix.key": scalar}`` for a nested dict/list ``value``; a scalar is ``{prefix: value}``."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return {prefix: value}
    out: dict = {}
    for k, v in items:
        out.update(flatten(v, f"{prefix}.{k}"))
    return out


def tidy_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with each dictionary column spread into prefixed scalar columns and ``x`` left out
    (see :func:`final_x`); the spread columns follow the scalar ones, in sorted order per prefix."""
    out = runs.drop(columns=[c for c in (*PREFIXES, "x") if c in runs.columns])
    parts = [out.reset_index(drop=True)]
    for col, prefix in PREFIXES.items():
        if col not in runs.columns:
            continue
        wide = pd.DataFrame([flatten(v if v is not None else {}, prefix) for v in runs[col]])
        parts.append(wide.reindex(columns=sorted(wide.columns)))
    return pd.concat(parts, axis=1)


def final_x(runs: pd.DataFrame) -> pd.DataFrame:
    """The final iterates stored with low-dimensional runs: one row per run and coordinate."""
    rows = [(key, p, o, s, i, float(v))
            for key, p, o, s, x in zip(runs["key"], runs["problem_id"], runs["optimizer_id"], runs["seed"], runs["x"])
            if isinstance(x, (list, tuple)) for i, v in enumerate(x)]
    return pd.DataFrame(rows, columns=["key", "problem_id", "optimizer_id", "seed", "coordinate", "value"])


def tables(results) -> dict[str, pd.DataFrame]:
    """The tidy tables of ``results`` (an :class:`optbench.store.Results`): ``runs``,
    ``traces``, ``evals`` and ``final_x``."""
    return {"runs": tidy_runs(results.runs), "traces": results.traces, "evals": results.evals,
            "final_x": final_x(results.runs)}


def write_tables(results, out_dir, fmt: str = "csv") -> tuple[dict[str, tuple[Path, int]], list[str]]:
    """Write the non-empty :func:`tables` as ``<name>.csv`` or ``<name>.parquet`` into ``out_dir``.

    Returns ``({name: (path, rows)}, [names of the empty tables, not written])``.
    """
    if fmt not in ("csv", "parquet"):
        raise ConfigError(f"export format {fmt!r} is not one of csv, parquet")
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ConfigError("--format parquet needs pyarrow: pip install 'optbench[parquet]'") from None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written, empty = {}, []
    for name, frame in tables(results).items():
        if frame.empty:
            empty.append(name)
            continue
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        written[name] = (path, len(frame))
    return written, empty
