r"""The trial configurations: ``n`` draws from an optimizer's declared search space.

Designs (all deterministic for a tuning seed; the streams are drawn from ``(run seed,
optimizer name)``, so every problem sees the same candidates):

``sobol``   (default) trial 1 is the registered defaults (the *one-shot* budget of Schmidt,
            Schneider & Hennig 2021), trials 2..N the first ``N - 1`` points of a scrambled
            Sobol' sequence (:class:`scipy.stats.qmc.Sobol`, as AlgoPerf's quasi-random search,
            Dahl et al. 2023) mapped to the space: a :class:`~optbench.optimizer.LogUniform`
            dimension on the log scale, a :class:`~optbench.optimizer.Uniform` one linearly, a
            :class:`~optbench.optimizer.Choice` by equal parts of [0, 1].
``random``  trial 1 the defaults, trials 2..N independent draws of every dimension's ``sample(rng)``.
``grid``    only when asked: the product of one grid per dimension, ``c_1 x ... x c_d <= N`` points,
            the counts as even as the budget allows (``N = 8`` over three dimensions: ``2 x 2 x 2``)
            and the larger ones to the learning rate; :func:`grid_shape` gives the split and
            :func:`grid_note` says when ``N`` does not split evenly. A dimension with one point
            stays at the registered default (inside the space), a grid of ``c`` points spans the
            whole range (log-spaced for a log dimension), a choice with more values than its
            count takes values spread evenly through its list.

Both sequential designs are *nested*: the first ``b`` trials of a budget-``N`` tuning are the
trials of a budget-``b`` one, so one set of trials answers every smaller budget.

A space of :class:`~optbench.optimizer.Choice` dimensions only has finitely many
configurations ``M``: with ``M <= N`` each is one trial (the defaults first); otherwise
``sobol`` and ``random`` draw ``N`` of them without replacement after the defaults. An optimizer
with no search space gets one trial, its defaults.
"""
from __future__ import annotations

import itertools
import math
import zlib
from typing import Any

from .settings import canonical

EDGE_FRACTION = 0.05  # a value this close to an end of its dimension (on its own scale) is on the edge


def _rng(seed: int, optimizer: str):
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(optimizer.encode())]))


def trial_configs(search_space: dict[str, Any], defaults: dict[str, Any], n: int, method: str, seed: int,
                  optimizer: str) -> list[dict]:
    """The ``n`` hyperparameter configurations to try, in trial order (fewer only for a finite
    space with fewer configurations; an empty space gives ``[{}]``, the defaults). ``defaults``
    are the optimizer's registered hyperparameters, ``seed`` the trials' run seed; the designs
    are described in the module docstring."""
    from ..optimizer import Choice

    if not search_space:
        return [{}]
    names = list(search_space)
    dims = [search_space[k] for k in names]
    if method == "grid":
        return _distinct(_grid(search_space, defaults, n))
    first = {k: defaults[k] for k in names}
    rng = _rng(seed, optimizer)
    if all(isinstance(d, Choice) for d in dims):
        combos = [dict(zip(names, c)) for c in itertools.product(*(d.values for d in dims))]
        others = [c for c in combos if c != first]
        order = rng.permutation(len(others))
        return _distinct([first] + [others[int(i)] for i in order])[:n]
    if n == 1:
        return _distinct([first])
    if method == "random":
        return _distinct([first] + [{k: d.sample(rng) for k, d in zip(names, dims)} for _ in range(n - 1)])
    from scipy.stats import qmc

    sobol = qmc.Sobol(len(dims), scramble=True, seed=rng)
    points = sobol.random_base2(max(0, math.ceil(math.log2(n - 1))))[: n - 1]  # a prefix of the sequence
    return _distinct([first] + [{k: d.from_unit(float(u)) for k, d, u in zip(names, dims, row)} for row in points])


def _primary(search_space: dict[str, Any]) -> str | None:
    """The dimension that gets the most grid points: ``lr`` when searched, else the first continuous one."""
    from ..optimizer import Choice

    if "lr" in search_space and not isinstance(search_space["lr"], Choice):
        return "lr"
    return next((k for k, d in search_space.items() if not isinstance(d, Choice)), None)


def grid_shape(search_space: dict[str, Any], n: int) -> dict[str, int]:
    """Points per dimension of the grid for a budget of ``n`` trials: the product is as large as
    possible (``n`` where it splits), then the counts as even as possible (a
    :class:`~optbench.optimizer.Choice` never gets more points than it has values), then the
    larger counts to the primary dimension (``lr``) and the earlier ones."""
    from ..optimizer import Choice

    names = list(search_space)
    caps = [len(d.values) if isinstance(d, Choice) else n for d in search_space.values()]
    primary = _primary(search_space)
    order = sorted(range(len(names)), key=lambda i: names[i] != primary)  # the primary dimension first

    def shapes(i: int, room: int):
        if i == len(names):
            yield ()
            return
        for c in range(1, min(caps[i], room) + 1):
            for rest in shapes(i + 1, room // c):
                yield (c,) + rest

    def merit(shape):
        product = math.prod(shape)
        spread = max(math.log(c) for c in shape) - min(math.log(c) for c in shape)
        return (product, -round(spread, 12), tuple(shape[i] for i in order))

    best = max(shapes(0, n), key=merit)
    return dict(zip(names, best))


def grid_note(search_space: dict[str, Any], n: int) -> str | None:
    """A sentence when the grid for ``n`` trials is not ``n`` points split evenly, else ``None``."""
    shape = grid_shape(search_space, n)
    if len(set(shape.values())) <= 1 and math.prod(shape.values()) == n:
        return None
    split = " x ".join(f"{c} {k}" for k, c in shape.items())
    total = math.prod(shape.values())
    why = (f"{n} does not split evenly over {len(shape)} dimensions" if total == n
           else f"{n} trials cannot be split into a product (the grid has {total})")
    return f"grid {split}: {why}"


def _grid(search_space: dict[str, Any], defaults: dict[str, Any], n: int) -> list[dict]:
    from ..optimizer import Choice

    columns = {}
    for (name, dim), count in zip(search_space.items(), grid_shape(search_space, n).values()):
        default = defaults.get(name)
        if isinstance(dim, Choice):
            values = list(dim.values)
            if count == 1:
                columns[name] = [default if default in values else values[0]]
            else:
                columns[name] = [values[i * len(values) // count] for i in range(count)]
        elif count == 1:
            inside = isinstance(default, (int, float)) and not isinstance(default, bool) \
                and 0.0 <= dim.position(default) <= 1.0
            columns[name] = [default] if inside else dim.grid(1)
        else:
            columns[name] = dim.grid(count)
    names = list(columns)
    return [dict(zip(names, combo)) for combo in itertools.product(*(columns[k] for k in names))]


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


# ---------------------------------------------------------------------------------------
# Edges of the space, and values printed so that they read apart from the edges
# ---------------------------------------------------------------------------------------
def edges(config: dict[str, Any], search_space: dict[str, Any], fraction: float = EDGE_FRACTION) -> dict[str, str]:
    """``name -> "low" | "high"`` for each value of ``config`` within ``fraction`` of an end of
    its dimension (on the log scale for a :class:`~optbench.optimizer.LogUniform`), or beyond it.
    A chosen value on an edge says the space may be too small: the best may lie outside it."""
    out = {}
    for name, value in config.items():
        dim = search_space.get(name)
        if not hasattr(dim, "position") or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        where = dim.position(value)
        if where <= fraction:
            out[name] = "low"
        elif where >= 1.0 - fraction:
            out[name] = "high"
    return out


def edge_text(flags: dict[str, str], search_space: dict[str, Any]) -> str:
    """``"lr at the high edge (1)"``-style words for :func:`edges`' flags ("" when none)."""
    parts = []
    for name, side in flags.items():
        dim = search_space[name]
        bound = dim.low if side == "low" else dim.high
        parts.append(f"{name} at the {side} edge ({format_value(bound)})")
    return ", ".join(parts)


def format_value(value, dimension=None) -> str:
    """``value`` with as few significant digits as read well (at least 3), and as many as it takes
    to read apart from the bounds of its ``dimension``: a value other than a bound never prints
    as the bound, and a value inside the space never prints outside it (0.9999 in
    ``Uniform(0.9, 0.9999)`` is ``0.9999``, never ``1``). Without a dimension, 4 digits."""
    if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):
        return str(value)
    bounds = [float(b) for b in (getattr(dimension, "low", None), getattr(dimension, "high", None)) if b is not None]
    if not bounds:
        return f"{value:.4g}"
    low, high = min(bounds), max(bounds)
    for digits in range(3, 18):
        text = f"{value:.{digits}g}"
        shown = float(text)
        apart = all(shown != b and text != f"{b:.{digits}g}" for b in bounds if b != value)
        inside = not (low <= value <= high) or low <= shown <= high
        if apart and inside:
            return text
    return repr(value)
