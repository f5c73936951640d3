"""The theory check over stored runs: which runs sit at a theory setting on a problem with
known constants, how each compares with its textbook bound (:func:`optbench.theory.check_run`),
the bound curves the convergence figure overlays, and the condition-number sweep.

Kept apart from :mod:`optbench.theory` (constants, expressions, bounds), which problems and
optimizers import while they register: this module reads the registry, so it sits above it.
"""
from __future__ import annotations


import numpy as np

from .theory import at_setting, check_run, guarantee_for


def _run_constants(runs):
    """``key -> (problem object or None, Constants or None)`` for every run, looked up once per problem."""
    import json

    from .errors import OptbenchError
    from .registry import get_problem

    cache, out = {}, {}
    for key, name, params in zip(runs["key"], runs["problem"], runs["problem_params"]):
        ident = (name, json.dumps(params, sort_keys=True, default=repr))
        if ident not in cache:
            try:
                problem = get_problem(name, **(params or {}))
                cache[ident] = (problem, problem.constants())
            except (OptbenchError, TypeError, ValueError):
                cache[ident] = (None, None)
        out[key] = cache[ident]
    return out


def _covered(runs) -> dict:
    """``key -> (Guarantee, Constants)`` for the runs a guarantee covers (:func:`guarantee_for`)."""
    from .errors import OptbenchError
    from .registry import get_optimizer

    constants, specs, out = _run_constants(runs), {}, {}
    for key, name, hp in zip(runs["key"], runs["optimizer"], runs["hyperparameters"]):
        problem, c = constants[key]
        if problem is None or c is None:
            continue
        if name not in specs:
            try:
                specs[name] = get_optimizer(name)
            except OptbenchError:
                specs[name] = None
        if specs[name] is None:
            continue
        guarantee = guarantee_for(specs[name], hp or {}, c, stochastic=bool(problem.stochastic))
        if guarantee is not None:
            out[key] = (guarantee, c)
    return out


def beyond_proof(runs) -> list[tuple[str, str, str]]:
    """``(problem_id, optimizer_id, method)`` of runs at a theory setting whose bound is proven
    only on quadratics while their problem is not one (heavy ball and Newton on logistic
    regression): they ran, but no bound is claimed for them."""
    from .errors import OptbenchError
    from .registry import get_optimizer

    constants, out = _run_constants(runs), []
    for run in runs.itertuples(index=False):
        problem, c = constants[run.key]
        try:
            spec = get_optimizer(run.optimizer)
        except OptbenchError:
            continue
        guarantee = spec.theory
        if problem is None or c is None or guarantee is None or not guarantee.quadratic_only or c.quadratic:
            continue
        if at_setting(spec, run.hyperparameters or {}, guarantee.settings(c)):
            out.append((run.problem_id, run.optimizer_id, guarantee.name))
    return sorted(set(out))


def theory_ids(runs):
    """The runs' ``optimizer_id``, ``"<optimizer> (theory)"`` for a run at its method's theory
    setting: one id for ``momentum[lr=theory]`` on every problem, whatever numbers it resolved to
    (tuned configurations keep their ``(tuned)`` id)."""
    covered = _covered(runs)
    return runs["optimizer_id"].where(
        ~runs["key"].isin(set(covered)) | runs["optimizer_id"].astype(str).str.endswith("(tuned)"),
        runs["optimizer"].astype(str) + " (theory)")


def theory_checks(runs, traces):
    """One row per run that a :class:`Guarantee` covers (:func:`guarantee_for`), checked.

    ``runs`` and ``traces`` are the report's frames (``problem_id``, ``optimizer_id`` set).
    Columns: ``key``, ``problem_id``, ``optimizer_id``, ``optimizer``, ``seed``, ``method``,
    ``setting`` (the resolved theory hyperparameters), ``bound`` (the statement), ``reference``, ``kappa``, ``exact`` (constants exact or bounds),
    ``steps``, ``measured``, ``theoretical``, ``bound_average``, ``worst``, ``worst_step``,
    ``violation``, ``atol`` (see :class:`Check`). Runs that failed, whose problem or
    optimizer is not registered in this process, or without ``f*`` are left out.
    """
    import pandas as pd

    columns = ["key", "problem_id", "optimizer_id", "optimizer", "seed", "method", "setting", "bound", "reference",
               "kappa",
               "exact", "steps", "measured", "theoretical", "bound_average", "worst", "worst_step", "violation",
               "atol"]
    rows = []
    if runs.empty:
        return pd.DataFrame(columns=columns)
    covered = _covered(runs)
    funs = {k: g.sort_values("step")["fun"].to_numpy(float) for k, g in traces.groupby("key")}
    for run in runs.itertuples(index=False):
        f_star = run.f_star
        if run.key not in covered or run.status == "failed" or f_star is None or not np.isfinite(f_star) \
                or run.key not in funs:
            continue
        guarantee, c = covered[run.key]
        check = check_run(guarantee, c, funs[run.key], float(f_star), run.dtype)
        hp = run.hyperparameters or {}
        setting = ", ".join(f"{k}={hp[k]:.6g}" for k in guarantee.settings(c)) or "(defaults)"
        rows.append([run.key, run.problem_id, run.optimizer_id, run.optimizer, run.seed, guarantee.name, setting,
                     guarantee.statement(c), guarantee.reference, c.kappa, c.exact, check.steps, check.measured,
                     check.theoretical, check.bound_average, check.worst, check.worst_step, check.violation,
                     check.atol])
    return pd.DataFrame(rows, columns=columns)


def bound_curves(checks, runs, traces):
    """The bound of every checked run from its own start, in the trace's units.

    One row per (run, traced step): ``key``, ``problem_id``, ``optimizer_id``, ``step``,
    ``nfev``, ``seconds`` (the run's own cost at that step, so the bound can be drawn against
    any x axis) and ``bound = B_k (f(x_0) - f*)``.
    """
    import pandas as pd

    from .registry import get_optimizer

    parts = []
    constants = _run_constants(runs[runs["key"].isin(set(checks["key"]))])
    for row in checks.itertuples(index=False):
        trace = traces[traces["key"] == row.key].sort_values("step")
        _, c = constants[row.key]
        guarantee = get_optimizer(row.optimizer).theory
        gap0 = float(trace["fun"].iloc[0]) - float(trace["f_star"].iloc[0])
        k = trace["step"].to_numpy()
        parts.append(pd.DataFrame({"key": row.key, "problem_id": row.problem_id, "optimizer_id": row.optimizer_id,
                                   "step": k, "nfev": trace["nfev"].to_numpy(), "seconds": trace["seconds"].to_numpy(),
                                   "bound": guarantee.factor(c, k) * gap0}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["key", "problem_id", "optimizer_id", "step", "nfev", "seconds", "bound"])


def kappa_sweep(runs, traces, checks, target: float = 1e-8):
    """Steps to ``f - f* <= target`` against the condition number ``kappa``.

    One row per (problem family, method, kappa): ``family`` (the problem name with those of
    its parameters other than ``kappa`` that differ between the runs), ``method`` (``<optimizer> (theory)`` for runs a
    guarantee covers, else the optimizer id), ``kappa`` (of the problem's constants),
    ``steps`` (median over seeds of the first step that reached ``target``; NaN when fewer
    than half the seeds did) and ``runs``. Only families run at three or more kappas.
    """
    import pandas as pd

    import json

    constants = _run_constants(runs)
    covered = set(checks["key"])
    hit = traces[traces["gap"] <= target].groupby("key")["step"].min()
    varying: dict[str, set] = {}  # per problem: the parameters (other than kappa) that differ between runs
    for name, g in runs.groupby("problem"):
        dumps = [{k: json.dumps(v, default=repr) for k, v in (p or {}).items()} for p in g["problem_params"]]
        varying[name] = {k for k in set().union(*dumps) if k != "kappa" and len({d.get(k) for d in dumps}) > 1}
    rows = []
    for run in runs.itertuples(index=False):
        _, c = constants[run.key]
        if c is None:
            continue
        params = {k: v for k, v in (run.problem_params or {}).items() if k in varying[run.problem]}
        family = run.problem + ("[" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + "]" if params else "")
        method = f"{run.optimizer} (theory)" if run.key in covered else run.optimizer_id
        rows.append((family, method, c.kappa, hit.get(run.key, np.nan)))
    frame = pd.DataFrame(rows, columns=["family", "method", "kappa", "steps"])
    if frame.empty:
        return frame.assign(runs=[])
    g = frame.groupby(["family", "method", "kappa"])["steps"]
    out = pd.DataFrame({"steps": g.agg(lambda s: s.median() if s.notna().mean() >= 0.5 else np.nan),
                        "runs": g.size()}).reset_index()
    wide = out.groupby("family")["kappa"].transform("nunique")
    return out[wide >= 3].reset_index(drop=True)


def sweep_slopes(sweep):
    """Least-squares slope of ``log(steps)`` against ``log(kappa)`` per (family, method)."""
    import pandas as pd

    rows = []
    for (family, method), g in sweep.dropna(subset=["steps"]).groupby(["family", "method"]):
        g = g[g["steps"] > 0]
        if g["kappa"].nunique() >= 2:
            slope = float(np.polyfit(np.log(g["kappa"].to_numpy(float)), np.log(g["steps"].to_numpy(float)), 1)[0])
            rows.append((family, method, slope, int(g["kappa"].nunique())))
    return pd.DataFrame(rows, columns=["family", "method", "slope", "points"])
