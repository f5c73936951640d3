"""The tuning trials and the tuned-vs-default evaluations as tidy frames (for the report)."""
from __future__ import annotations

from .selection import last_eval
from .settings import BAD_STATUSES, TRIAL_PREFIX, TUNED_PREFIX, TUNING_SEED_BASE, canonical

def is_trial(runs):
    """Boolean Series: which runs are tuning trials (suite label ``tune:<suite>``)."""
    return runs["suite"].fillna("").astype(str).str.startswith(TRIAL_PREFIX)


def group_keys(runs) -> list[tuple]:
    """``(problem, parameters, optimizer, budget, dtype)`` of each run: what makes runs comparable."""
    return [(p, canonical(pp), o, canonical(b), d) for p, pp, o, b, d in
            zip(runs["problem"], runs["problem_params"], runs["optimizer"], runs["budget"], runs["dtype"])]


def _tuned_configs(runs) -> dict[tuple, tuple[str, dict]]:
    """``(group) -> (suite, hyperparameters)`` of the evaluation runs labelled ``tuned:<suite>``;
    the latest one (by start time) where a group was tuned more than once."""
    tuned = runs[runs["suite"].fillna("").astype(str).str.startswith(TUNED_PREFIX)].sort_values("started_at")
    return {group: (suite[len(TUNED_PREFIX):], hp)
            for group, suite, hp in zip(group_keys(tuned), tuned["suite"], tuned["hyperparameters"])}


def sensitivity_frame(results):
    """One row per tuning trial: how the final metric depends on the hyperparameters.

    Columns: ``suite`` (the tuned suite), ``problem``, ``problem_params``, ``problem_id``,
    ``optimizer``, ``hyperparameters`` (dict), ``lr`` (NaN where not a hyperparameter),
    ``seed``, ``status``, ``final_gap`` (``f - f_ref`` as in :func:`optbench.metrics.with_reference`,
    ``inf`` for a run without a finite final value), ``reference``, ``test_loss`` (the last
    evaluation-point test loss, NaN where none), ``steps``, ``nfev``, ``chosen`` (the
    configuration evaluated as ``tuned:<suite>``) and ``key``. Empty when the results hold no trials.
    A trial shared by two tunings (same problem, budget, configuration and tuning seed) is
    stored once, under the label of the first.
    """
    import numpy as np
    import pandas as pd

    from ..metrics import with_reference

    columns = ["suite", "problem", "problem_params", "problem_id", "optimizer", "hyperparameters", "lr", "seed",
               "status", "final_gap", "reference", "test_loss", "steps", "nfev", "chosen", "key"]
    runs = results.runs
    trials = runs[is_trial(runs)]
    if trials.empty:
        return pd.DataFrame(columns=columns)
    out = with_reference(trials)
    out["suite"] = out["suite"].str[len(TRIAL_PREFIX):]
    out["lr"] = out["hyperparameters"].map(
        lambda h: float(h["lr"]) if isinstance(h.get("lr"), (int, float)) and not isinstance(h["lr"], bool) else np.nan)
    out["test_loss"] = out["key"].map(last_eval(results.evals)).astype(float)
    chosen = _tuned_configs(runs[~is_trial(runs)])
    out["chosen"] = [group in chosen and chosen[group][1] == hp
                     for group, hp in zip(group_keys(out), out["hyperparameters"])]
    return out[columns].sort_values(["suite", "problem_id", "optimizer", "lr", "key"]).reset_index(drop=True)


def tuned_vs_default_frame(results):
    """One row per evaluation run and role: the tuned against the default hyperparameters.

    For every problem x optimizer (x budget x dtype) evaluated as ``tuned:<suite>``, the
    *tuned* rows are its evaluation runs (seeds below :data:`TUNING_SEED_BASE`) with the tuned
    hyperparameters, the *default* rows its evaluation runs with the optimizer's registered
    defaults, whatever their label. Where the tuning chose the defaults, the same runs appear
    in both roles (``same_config``). Columns: ``suite``, ``problem``, ``problem_id``,
    ``optimizer``, ``role`` (``tuned`` | ``default``), ``hyperparameters``, ``same_config``,
    ``seed``, ``status``, ``final_gap``, ``reference``, ``test_loss``, ``steps``, ``nfev``,
    ``key``. ``f_ref`` (:func:`optbench.metrics.with_reference`) is taken over these runs.
    """
    import pandas as pd

    from ..errors import UnknownNameError
    from ..metrics import with_reference
    from ..registry import get_optimizer

    columns = ["suite", "problem", "problem_id", "optimizer", "role", "hyperparameters", "same_config", "seed",
               "status", "final_gap", "reference", "test_loss", "steps", "nfev", "key"]
    runs = results.runs
    evaluation = runs[~is_trial(runs) & (runs["seed"] < TUNING_SEED_BASE)]
    tuned = _tuned_configs(evaluation)
    if not tuned:
        return pd.DataFrame(columns=columns)
    defaults = {}
    for name in {g[2] for g in tuned}:
        try:
            defaults[name] = get_optimizer(name).resolve({})
        except UnknownNameError:  # a plugin optimizer not loaded now: its defaults are unknown
            defaults[name] = None
    picked = []
    groups = group_keys(evaluation)
    for group, (suite, hp) in tuned.items():
        rows = evaluation[[g == group for g in groups]]
        default = defaults[group[2]]
        same = default is not None and hp == default
        for role, config in (("tuned", hp), ("default", default)):
            if config is None:
                continue
            sel = rows[[h == config for h in rows["hyperparameters"]]].copy()
            sel["suite"], sel["role"], sel["same_config"] = suite, role, same
            picked.append(sel)
    frame = pd.concat(picked, ignore_index=True)
    ref = with_reference(frame.drop_duplicates("key"))[["key", "final_gap", "reference"]]
    frame = frame.merge(ref, on="key", how="left")
    frame["test_loss"] = frame["key"].map(last_eval(results.evals)).astype(float)
    return frame[columns].sort_values(["suite", "problem_id", "optimizer", "role", "seed"]).reset_index(drop=True)



def status_counts(statuses) -> str:
    """``3 budget, 2 diverged``: how many runs (a pandas Series of statuses) ended with each
    status, the bad ones (diverged, failed, timeout) last -- every seed shows, none hides in a median."""
    counts = statuses.value_counts()
    return ", ".join(f"{counts[k]} {k}" for k in sorted(counts.index, key=lambda k: (k in BAD_STATUSES, k)))
