"""The trial configurations: ``n`` draws from an optimizer's declared search space.

See :mod:`optbench.tune` for the designs.
"""
from __future__ import annotations

import itertools
import zlib
from typing import Any

from .settings import canonical

def _rng(seed: int, optimizer: str):
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(optimizer.encode())]))


def trial_configs(search_space: dict[str, Any], n: int, method: str, seed: int, optimizer: str) -> list[dict]:
    """The hyperparameter configurations to try: ``n`` of them, fewer only for a finite space
    with fewer configurations (an empty space gives ``[{}]``, the defaults). See the module
    docstring for the designs; ``seed`` is the trials' run seed."""
    from ..optimizer import Choice

    if not search_space:
        return [{}]
    names = list(search_space)
    dims = [search_space[k] for k in names]
    rng = _rng(seed, optimizer)
    if all(isinstance(d, Choice) for d in dims):
        combos = list(itertools.product(*(d.values for d in dims)))
        if len(combos) <= n:
            picked = combos
        elif method == "grid":
            picked = [combos[i * len(combos) // n] for i in range(n)]
        else:
            picked = [combos[int(i)] for i in rng.choice(len(combos), size=n, replace=False)]
        return _distinct([dict(zip(names, c)) for c in picked])
    if method == "random":
        return _distinct([{k: d.sample(rng) for k, d in zip(names, dims)} for _ in range(n)])
    primary = "lr" if "lr" in search_space and not isinstance(search_space["lr"], Choice) else next(
        k for k, d in zip(names, dims) if not isinstance(d, Choice))
    columns = {}
    for k, d in zip(names, dims):
        values = list(d.grid(n))
        values = [values[i % len(values)] for i in range(n)]
        columns[k] = values if k == primary else [values[int(i)] for i in rng.permutation(n)]
    return _distinct([{k: columns[k][i] for k in names} for i in range(n)])


def _distinct(configs: list[dict]) -> list[dict]:
    """Drop repeated configurations; floats are rounded to 12 significant digits (the log grid's
    ``exp(log ...)`` turns 1 into 1.0000000000000018, which reads badly in files and labels)."""
    seen, out = set(), []
    for c in configs:
        c = {k: float(f"{v:.12g}") if isinstance(v, float) else v for k, v in c.items()}
        key = canonical(c)
        if key not in seen:
            seen.add(key)
            out.append(c)
    return out

