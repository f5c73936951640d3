"""Reports: which optimizer, on what, and how sure are we?

:func:`write_report` turns results into a self-contained ``index.html`` (figures embedded,
no external assets), a ``summary.md`` for GitHub, the figures as PNG files and CSV tables;
:func:`summary_table` is the per problem x optimizer table the CLI prints after a run.

matplotlib and seaborn are imported only inside :func:`write_report` (through
:mod:`.figures`), so importing this package, or calling :func:`summary_table`, stays cheap.

Example (needs a results file)::

    import optbench
    from optbench.report import write_report

    paths = write_report(optbench.load("results.sqlite"), "reports/results")
    paths["html"]  # PosixPath('reports/results/index.html')
"""
from __future__ import annotations

import copy
import html as html_escape
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd

from .. import metrics, theory_checks
from ..archive import ARCHIVED
from ..errors import ConfigError
from ..export import tidy_runs
from ..labels import configuration_labels
from ..tuning.frames import group_keys, is_trial, status_counts
from ..tuning.settings import TUNED_PREFIX
from .content import Bullets, Paragraph, Report, Section, Table, fmt_value
from .rates import theory_section

__all__ = ["write_report", "write_reports", "build_report", "report_figures", "summary_table"]

STATUSES = ("converged", "budget", "stopped", "diverged", "failed", "timeout", metrics.NOT_APPLICABLE)
BAD_STATUSES = ("diverged", "failed", "timeout")
TTT_TARGET = 1e-6


@dataclass
class _Selection:
    """The runs a report compares (``runs``: tuning trials left out, a tuned configuration in
    place of the defaults of its cell), their traces and evaluations, and ``tuning``: every
    selected run, trials and defaults included, for the tuning section."""

    runs: pd.DataFrame
    traces: pd.DataFrame
    evals: pd.DataFrame
    trajectory: Callable[[str], np.ndarray | None]
    tuning: SimpleNamespace


def _select(results, experiment: str | None, *, one_experiment: bool = True) -> _Selection:
    """The runs of ``experiment`` (all runs when ``None``). With ``one_experiment``, results
    that hold several experiments and no choice are an error: a report never ranks across
    experiments (:func:`write_reports` writes one per experiment)."""
    if experiment is not None:
        if hasattr(results, "experiment"):
            results = results.experiment(experiment)
        else:  # plain frames without the experiments table: by suite label
            from ..store import experiment_of

            known = sorted({experiment_of(s) for s in results.runs["suite"]})
            results = copy.copy(results)
            results.runs = results.runs[[experiment_of(s) == experiment for s in results.runs["suite"]]]
            if results.runs.empty:
                raise ConfigError(f"no runs of experiment {experiment!r} in these results; experiments present: "
                                  f"{', '.join(map(repr, known)) or '(none)'}")
    elif one_experiment and hasattr(results, "single_experiment") and len(results.runs) \
            and results.single_experiment() is None:
        names = results.experiment_names()
        raise ConfigError(f"these results hold {len(names)} experiments ({', '.join(names)}) and a report ranks "
                          "one: choose one (optbench report --name NAME, or experiment=NAME), or write one report "
                          "per experiment (optbench report without --name, or write_reports)")
    runs = results.runs
    if runs.empty:
        raise ConfigError("these results hold no runs; run a suite first (optbench run ...)")
    evals = results.evals
    evals = evals[evals["key"].isin(set(runs["key"]))] if evals is not None and len(evals) else pd.DataFrame(
        columns=["key", "metric", "step", "value"])
    tuning = SimpleNamespace(runs=runs.assign(problem_id=configuration_labels(runs)[0]),
                             evals=evals)
    compared = _compared(runs)
    compared = compared.assign(optimizer_id=theory_checks.theory_ids(compared)) if len(compared) else compared
    if compared.empty:
        raise ConfigError("these results hold only tuning trials; evaluate the tuned configurations first "
                          "(optbench tune SUITE, or optbench run --tuned FILE)")
    keys = set(compared["key"])
    ids = compared.set_index("key")
    traces = results.traces[results.traces["key"].isin(keys)]
    traces = traces.assign(problem_id=traces["key"].map(ids["problem_id"]),
                           optimizer_id=traces["key"].map(ids["optimizer_id"]))
    compared, traces = metrics.with_calibrated_time(compared, traces)
    return _Selection(compared, traces, evals[evals["key"].isin(keys)], results.trajectory, tuning)


def _compared(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs the report ranks, with ``problem_id`` and ``optimizer_id`` from
    :func:`optbench.labels.configuration_labels` (the name plus what differs from the defaults).

    Tuning trials are left out. Where a problem x optimizer was evaluated with tuned
    hyperparameters (label ``tuned:<suite>``), those runs stand for the optimizer under the id
    ``<optimizer> (tuned)`` -- one id, whatever each problem's tuned values -- and its runs
    with other hyperparameters (the defaults) appear only in the tuned-vs-default comparison.
    """
    runs = runs[~is_trial(runs)]
    tuned = runs["suite"].fillna("").astype(str).str.startswith(TUNED_PREFIX)
    groups = group_keys(runs)
    tuned_groups = {g for g, t in zip(groups, tuned) if t}
    keep = np.array([t or g not in tuned_groups for g, t in zip(groups, tuned)], dtype=bool)
    runs, tuned = runs[keep], tuned[keep]
    problem_id, optimizer_id = configuration_labels(runs)
    optimizer_id = np.where(tuned, runs["optimizer"] + " (tuned)", optimizer_id)
    if "archived" in runs.columns:  # a shipped baseline (optbench.archive.with_archive), never mixed with a new run
        optimizer_id = np.where(runs["archived"].fillna(False).astype(bool), optimizer_id + ARCHIVED, optimizer_id)
    return runs.assign(problem_id=problem_id, optimizer_id=optimizer_id).reset_index(drop=True)


def _summary(runs_ref: pd.DataFrame) -> pd.DataFrame:
    counts = (runs_ref.groupby(["problem_id", "optimizer_id"])["status"].value_counts().unstack(fill_value=0)
              .reindex(columns=list(STATUSES), fill_value=0))
    g = runs_ref.groupby(["problem_id", "optimizer_id"])
    # a run without a calibration figure makes its cell's calibrated median unknown (nan)
    uncalibrated = runs_ref["calibrated"].isna().groupby([runs_ref["problem_id"], runs_ref["optimizer_id"]]).any()
    stats = pd.DataFrame({
        "runs": g.size(),
        "reference": g["reference"].agg(lambda s: "/".join(sorted(set(s)))),
        "median_final_gap": g["final_gap"].median(),
        "median_seconds": g["seconds"].median(),
        "median_calibrated": g["calibrated"].median().where(~uncalibrated),
        "median_nfev": g["nfev"].median(),
        "median_steps": g["steps"].median(),
    })
    if "verdict" in runs_ref.columns:  # the metric median_final_gap measures (metrics.verdict_metric)
        stats.insert(2, "metric", g["verdict"].agg(lambda s: "/".join(sorted(set(s)))))
    for name in ("test_loss", "test_accuracy"):
        if name in runs_ref.columns and runs_ref[name].notna().any():
            stats[f"median_{name}"] = g[name].median()
    out = stats[["runs"]].join(counts).join(stats.drop(columns="runs")).reset_index()
    return out.astype({s: int for s in STATUSES})


def summary_table(results, *, experiment: str | None = None, suite: str | None = None) -> pd.DataFrame:
    """Per problem_id x optimizer_id: runs, the count of each status (converged, budget,
    stopped, diverged, failed, timeout), the gap reference (``f_star`` or
    ``best_observed``, see :mod:`optbench.metrics`), the verdict's ``metric``
    (:func:`optbench.metrics.verdict_metric`: ``test_loss`` on training problems with a test
    split, else ``final_gap``), and the medians over seeds of the final gap of that metric,
    of the final test loss and accuracy where recorded, the optimizer time (s), the optimizer
    time in calibrated units (``median_calibrated``: each run's seconds divided by its
    process's calibration figure, :mod:`optbench.calibration`; NaN when a run has none), the
    evaluations and the steps."""
    sel = _select(results, experiment or suite, one_experiment=False)
    return _summary(metrics.with_reference(metrics.verdict_view(sel.runs, sel.traces, sel.evals)[0]))


# ---------------------------------------------------------------------------------------
# Building the report's content
# ---------------------------------------------------------------------------------------
def _first_line(message) -> str:
    text = "" if message is None or (isinstance(message, float) and np.isnan(message)) else str(message)
    line = text.strip().splitlines()[0] if text.strip() else "(no message)"
    return line if len(line) <= 200 else line[:199] + "…"


def _seeds(values) -> str:
    seeds = sorted(int(s) for s in values)
    return ", ".join(map(str, seeds[:12])) + (f" … ({len(seeds)} seeds)" if len(seeds) > 12 else "")


def _ci(rank, lo, hi) -> str:
    return f"{rank:.2f} [{lo:.2f}, {hi:.2f}]"


SCORE_TAU = 1e-3  # the reduction target of the benchmark score (Moré & Wild's test, as the profiles)


def _score_section(hits: pd.DataFrame, archived: bool = False) -> Section | None:
    """The AlgoPerf benchmark score of every optimizer (:mod:`optbench.score`) on evaluations,
    on seconds (not when ``archived`` runs, timed on another machine, are among them) and,
    where every run has a calibration figure, on calibrated time to the reduction target
    ``SCORE_TAU``, with bootstrap intervals over seeds."""
    from ..score import R_MAX, benchmark_scores

    calibrated = "calibrated" in hits.columns and bool(hits["calibrated"].notna().all())
    tables = []
    for measure in ("nfev",) + (() if archived else ("seconds",)) + (("calibrated",) if calibrated else ()):
        try:
            ratios = metrics.performance_ratios(hits, kind="reduction", target=SCORE_TAU, measure=measure)
        except ValueError:
            return None
        scores = benchmark_scores(ratios).sort_values("score", ascending=False)
        tables.append(scores.assign(cost=metrics.MEASURE_LABELS[measure]).rename(columns={"optimizer_id": "optimizer"}))
    table = pd.concat(tables, ignore_index=True)[["cost", "optimizer", "score", "low", "high", "instances"]]
    costs = ["the evaluations"] + ([] if archived else ["the seconds"]) + (["the calibrated time"] if calibrated else [])
    return Section("score", "Benchmark score (AlgoPerf)", [Table.from_frame(
        "One score per optimizer", table,
        f"B = 1/(r_max − 1) ∫₁^r_max ρ(τ) dτ with r_max = {R_MAX:g} (Dahl et al. 2023), the performance profile ρ "
        f"integrated exactly as a step function: each instance (problem × seed) adds (r_max − r)/(r_max − 1) when "
        f"its ratio r to the fastest optimizer is at most r_max, else 0 (a failure adds 0). Cost: "
        f"{' and separately '.join(costs)}, to the reduction target "
        f"τ = {SCORE_TAU:g} of Moré & Wild (f(x0) − f(x) ≥ (1 − τ)(f(x0) − f_ref)). low, high: 95% percentile "
        "bootstrap interval over seeds (1000 resamples, paired across optimizers). 1 = fastest on every instance; "
        + ("no score on raw seconds: the archived runs were timed on the archive's machine" if archived else
           "seconds compare only runs on one machine")
        + ("; calibrated time (seconds / each run's calibration figure) roughly across machines too." if calibrated
           else "; no score on calibrated time: some runs carry no calibration figure."))])


def _judged_by(runs_ref: pd.DataFrame) -> pd.Series:
    """Per problem_id, what its verdict measures, in words: ``test loss − best observed``,
    ``f − f*`` or ``f − best observed``."""
    def words(g):
        if (g["verdict"] == metrics.TEST_METRIC).any():
            return "test loss − best observed"
        return "f − f*" if (g["reference"] == "f_star").all() else "f − best observed"

    return runs_ref.groupby("problem_id")[["verdict", "reference"]].apply(words)


def _ranking_section(rk: metrics.Ranks, runs_ref: pd.DataFrame, common: metrics.CommonInstances,
                     rk_train: metrics.Ranks | None = None) -> Section:
    ov = rk.overall
    n_seeds = runs_ref.groupby("problem_id")["seed"].nunique()
    pct = f"{100 * rk.level:g}%"
    tested = (runs_ref["verdict"] == metrics.TEST_METRIC).any()
    blocks = [Paragraph(
        "Overall ranking (place 1 = best; a shared place reads 3=). On each problem the optimizers are ranked by "
        "the median over seeds of the final gap f − f_ref"
        + (" -- on training problems with a test split, of the final test loss minus the best test loss any run "
           "reached (best observed): held-out data, since the training loss rewards overfitting" if tested else "")
        + f"; gaps below {rk.floor:g} tie and are ordered by the "
        f"evaluations needed to get there; ranks are averaged over problems. Every ranked optimizer ran the same "
        f"{common.instances} instance{'s' if common.instances != 1 else ''} (problem × seed) on {common.problems} "
        f"problem{'s' if common.problems != 1 else ''}. In brackets: the {pct} percentile bootstrap confidence "
        f"interval over seeds ({rk.resamples} resamples of each problem's seeds, paired across optimizers).")]
    replicates = metrics.seed_replicates(common.runs)
    several = replicates[replicates["seeds"] >= 2]
    replicated = several[several["replicates"]]
    no_noise = len(several) > 0 and bool(several["replicates"].all())
    if no_noise:  # every seed the same run: a bootstrap over them measures nothing
        items = [f"{row.place} {row.optimizer_id} ranks {row.mean_rank:.2f} "
                 f"({row.problems} problem{'s' if row.problems != 1 else ''}; no seed noise measured)"
                 for row in ov.itertuples(index=False)]
    else:
        items = [f"{row.place} {row.optimizer_id} ranks {_ci(row.mean_rank, row.rank_low, row.rank_high)} "
                 f"({pct} bootstrap CI over seeds; {row.problems} problem{'s' if row.problems != 1 else ''})"
                 for row in ov.itertuples(index=False)]
    blocks.append(Bullets(items))
    if len(common.apart):
        blocks.append(Paragraph("Not ranked overall (they did not run every instance the ranked optimizers ran; "
                                "their runs are in the tables and figures per problem):"))
        blocks.append(Bullets([f"{row.optimizer_id}: {row.missing}" for row in common.apart.itertuples(index=False)]))
    if len(replicated):
        note = metrics.REPLICATES_NOTE[0].upper() + metrics.REPLICATES_NOTE[1:]
        which = ("on every problem" if no_noise else
                 f"in {len(replicated)} of {len(several)} problem × optimizer cells ("
                 + ", ".join(f"{r.problem_id} / {r.optimizer_id}" for r in replicated.head(8).itertuples(index=False))
                 + (", …" if len(replicated) > 8 else "") + ")")
        blocks.append(Paragraph(f"{note} -- {which}: every seed produced the same final value and counts, so a "
                                "bootstrap over them collapses to a point. No order below is claimed to be beyond "
                                "seed noise."))
    verdicts = []
    pairs = [] if len(replicated) else zip(ov.itertuples(index=False), list(ov.itertuples(index=False))[1:])
    for a, b in pairs:
        if a.rank_high < b.rank_low:
            verdicts.append(f"{a.optimizer_id} ranks ahead of {b.optimizer_id} beyond seed noise "
                            f"(their {pct} intervals do not overlap).")
        else:
            verdicts.append(f"{a.optimizer_id} and {b.optimizer_id}: their order is within seed noise "
                            f"(their {pct} intervals overlap).")
    if verdicts:
        blocks.append(Bullets(verdicts))
    if no_noise:
        pass  # said above: the seeds measured nothing
    elif n_seeds.min() < 2:
        blocks.append(Paragraph("Some problems have a single seed: their intervals cannot show seed noise "
                                "(they collapse to the point estimate). Run more seeds for uncertainty."))
    elif n_seeds.min() < 5 and not len(replicated):  # with replicates no order is claimed at all
        blocks.append(Paragraph(f"With as few as {n_seeds.min()} seeds per problem the bootstrap sees few distinct "
                                "resamples and its intervals tend to be too narrow: read 'beyond seed noise' as "
                                "indicative, and run more seeds to confirm."))
    pp = rk.per_problem
    same = {(r.problem_id, r.optimizer_id) for r in replicated.itertuples(index=False)}
    wide = pp.assign(cell=[f"{r:.2f} (replicates)" if (p, o) in same else _ci(r, lo, hi) for p, o, r, lo, hi
                           in zip(pp["problem_id"], pp["optimizer_id"], pp["rank"], pp["rank_low"], pp["rank_high"])]
                     ).pivot(index="problem_id", columns="optimizer_id", values="cell").fillna("")
    winners = pp.loc[pp.groupby("problem_id")["rank"].idxmin()].set_index("problem_id")["optimizer_id"]
    wide = wide.reindex(columns=list(ov["optimizer_id"]))
    extra = pd.DataFrame({"best": winners, "seeds": n_seeds, "judged by": _judged_by(runs_ref)}).reindex(wide.index)
    table = pd.concat([wide, extra], axis=1).reset_index().rename(columns={"index": "problem_id"})
    blocks.append(Table.from_frame(
        "Rank per problem, with its bootstrap CI over seeds (none where the seeds are replicates)", table,
        "judged by: the final value ranked -- f − f* (f* the known minimum), f − best observed (the best value any "
        "run reached on that problem and seed: the gap compares the runs with each other, not with the optimum), "
        "or the test loss − best observed."))
    if rk_train is not None and len(rk_train.per_problem):
        tp = rk_train.per_problem
        cells = tp.assign(cell=[f"{r:.2f} (gap {fmt_value(g)})" for r, g in zip(tp["rank"], tp["median_gap"])])
        train_table = cells.pivot(index="problem_id", columns="optimizer_id", values="cell").fillna("")
        blocks.append(Table.from_frame(
            "Second view, not the verdict: rank by the final training loss on the problems judged by test loss",
            train_table.reindex(columns=[o for o in ov["optimizer_id"] if o in train_table.columns]).reset_index(),
            "Rank by the median final training loss minus the best training loss any run reached (best observed), "
            "with that median gap; where it disagrees with the test-loss rank, the method fit the training data "
            "better but generalised worse."))
    return Section("ranking", "Ranking", blocks)


def _status_section(runs: pd.DataFrame) -> Section:
    counts = runs.groupby("optimizer_id")["status"].value_counts().unstack(fill_value=0).reindex(
        columns=list(STATUSES), fill_value=0)
    counts.loc["all optimizers"] = counts.sum()
    total = counts.loc["all optimizers"]
    blocks = [Paragraph("Runs by status: " + ", ".join(f"{int(total[s])} {s}" for s in STATUSES) + ". "
                        "converged = reached the target gap; budget = steps/evaluations/time ran out; stopped = "
                        "the method ended on its own criterion; diverged = NaN/Inf or blow-up; failed = an "
                        "exception; timeout = the hard wall-clock limit; not-applicable = the optimizer is not for "
                        "the problem's parameters (nothing ran; left out of every comparison)."),
              Table.from_frame("Status counts per optimizer", counts.reset_index().rename(
                  columns={"optimizer_id": "optimizer"}))]
    bad = runs[runs["status"].isin(BAD_STATUSES)]
    if len(bad):
        bad = bad.assign(first=bad["message"].map(_first_line))
        items = [f"{p} / {o}, seed{'s' if len(g) > 1 else ''} {_seeds(g['seed'])}: {st} — {msg}"
                 for (p, o, st, msg), g in bad.groupby(["problem_id", "optimizer_id", "status", "first"], sort=True)]
        blocks += [Paragraph("Runs that diverged, failed or timed out (first line of the message; the full "
                             "traceback is in runs.csv):"), Bullets(items)]
    na = runs[runs["status"] == metrics.NOT_APPLICABLE]
    if len(na):
        items = [f"{o} on {p}: {msg}" for (p, o, msg), _ in na.groupby(["problem_id", "optimizer_id", "message"],
                                                                       sort=True)]
        blocks += [Paragraph("Not applicable (not compared):"), Bullets(items)]
    return Section("status", "Run status and failures", blocks)


def _results_section(summary: pd.DataFrame, ttt: pd.DataFrame) -> Section:
    tests = [c for c in ("median_test_loss", "median_test_accuracy") if c in summary.columns]
    cols = ["problem_id", "optimizer_id", "runs", *STATUSES, "metric", "reference", "median_final_gap", *tests,
            "median_nfev", "median_steps", "median_seconds", "median_calibrated"]
    blocks = [Table.from_frame("Per problem and optimizer (medians over seeds)", summary[cols],
                               "median_final_gap: the verdict's metric at the final iterate minus its reference "
                               "(inf when the run diverged or failed): metric final_gap is f − f_ref, test_loss the "
                               "loss on held-out data; reference f_star is the known minimum, best_observed the "
                               "best value any run reached on that problem and seed (gaps then compare the runs "
                               "with each other, not with the optimum). median_seconds: optimizer wall time. "
                               "median_calibrated: the same in calibrated time units, each run's seconds divided "
                               "by its machine's calibration figure (a fixed Adam workload timed once per "
                               "process; blank: a run recorded without one): roughly comparable between machines, "
                               "where seconds are not.")]
    sel = ttt[(ttt["kind"] == "gap") & np.isclose(ttt["target"], TTT_TARGET)]
    if len(sel):
        cell = [f"{fmt_value(m)} ({s}/{n})" for m, s, n in zip(sel["median_nfev"], sel["successes"], sel["runs"])]
        wide = sel.assign(cell=cell).pivot(index="problem_id", columns="optimizer_id", values="cell").fillna("")
        blocks.append(Table.from_frame(
            f"Evaluations to reach f − f_ref ≤ {TTT_TARGET:g}: median over seeds (successes/runs)",
            wide.reset_index(),
            "inf: fewer than half the seeds reached the target. A hit at the iterate after k steps counts the "
            "evaluations recorded there (k steps). time_to_target.csv has every target of the gap ladder and the "
            "reduction test, in steps, evaluations, seconds and calibrated time units, and COCO's average running "
            "time aRT (evaluations of unsuccessful runs included)."))
    return Section("results", "Results per problem", blocks)


def _spectrum_section(runs: pd.DataFrame, figs: list) -> Section | None:
    from . import figures

    if not figures.has_spectrum(runs):
        return None
    data = figures.analysed_runs(runs)
    counts = data.groupby("optimizer_id")["class"].value_counts().unstack(fill_value=0).reindex(
        columns=list(figures.END_POINT_COLORS), fill_value=0)
    extra = pd.DataFrame({
        "median_grad_norm": data.groupby("optimizer_id")["grad_norm"].median(),
        "median_eig_min": data.groupby("optimizer_id")["eig_min"].median(),
        "median_eig_max": data.groupby("optimizer_id")["eig_max"].median(),
        "median_condition": data.groupby("optimizer_id")["condition"].median() if "condition" in data else np.nan,
        "method": (data.groupby("optimizer_id")["spectrum_method"].agg(lambda s: "/".join(sorted(set(map(str, s)))))
                   if "spectrum_method" in data else ""),
    })
    table = counts.join(extra).reset_index().rename(columns={"optimizer_id": "optimizer"})
    blocks = [Table.from_frame("End points by gradient norm and Hessian curvature, per optimizer", table,
                               figures.END_POINT_CAPTION + " Lanczos spectra give a lower bound on the count of "
                               "negative eigenvalues and estimates of the extreme ones; method 'unavailable: "
                               "<reason>' names why a spectrum could not be taken (the run's outcome stands).")]
    return Section("spectrum", "Where did the runs end?", blocks + figs)


def _search_space(optimizer: str) -> dict:
    """The declared search space of ``optimizer`` (empty for a plugin that is not loaded now)."""
    from ..errors import UnknownNameError
    from ..registry import get_optimizer

    try:
        return get_optimizer(optimizer).search_space
    except UnknownNameError:
        return {}


def _changed(hp: dict, default, space: dict | None = None) -> str:
    """The tuned hyperparameters that differ from the defaults, as ``lr=0.01, momentum=0.9``, each
    with the digits that read apart from the bounds of its dimension in ``space``."""
    from ..tuning.search import format_value

    space = space or {}
    diff = {k: v for k, v in hp.items() if not isinstance(default, dict) or default.get(k) != v}
    return ", ".join(f"{k}={format_value(v, space.get(k))}" for k, v in diff.items()) or "(defaults)"


def _edge_words(hp_list, optimizer: str) -> str:
    """``lr high``: the chosen values within 5% of an end of the search space (tuning.search.edges)."""
    from ..tuning.search import edges

    space = _search_space(optimizer)
    flags = {k: side for hp in hp_list for k, side in edges(hp, space).items()}
    return ", ".join(f"{k} {side}" for k, side in flags.items()) or "-"


def _tuning_section(tuning: SimpleNamespace, palette: dict[str, str]) -> Section | None:
    """Tuning trials against the learning rate, and tuned against default hyperparameters
    (:func:`optbench.tuning.frames.sensitivity_frame`, :func:`optbench.tuning.frames.tuned_vs_default_frame`)."""
    from ..tuning.frames import sensitivity_frame, tuned_vs_default_frame

    trials = sensitivity_frame(tuning)
    comparison = tuned_vs_default_frame(tuning)
    if trials.empty and comparison.empty:
        return None
    blocks = (_trial_blocks(trials, palette) if not trials.empty else []) + (
        _comparison_blocks(comparison, palette) if not comparison.empty else [])
    return Section("tuning", "Tuning", blocks)


def _trial_blocks(trials: pd.DataFrame, palette: dict[str, str]) -> list:
    """The trials per problem x optimizer, their final metric against each hyperparameter, and
    the expected best after k trials. A trial that diverged or failed has an infinite metric."""
    from ..tuning.statistics import budget_frame, expected_best_frame
    from . import figures

    with_test = trials.groupby("problem_id")["test_loss"].transform(lambda s: bool(s.notna().all()))
    metric = np.where(with_test, trials["test_loss"], trials["final_gap"]).astype(float)
    trials = trials.assign(metric=np.where(trials["status"].isin(BAD_STATUSES), np.inf, metric),
                           metric_name=np.where(with_test, "test_loss", "final_gap"))
    g = trials.groupby(["problem_id", "optimizer"])
    table = pd.DataFrame({
        "trials": g.size(),
        "diverged": g["status"].agg(lambda s: int((s == "diverged").sum())),
        "failed": g["status"].agg(lambda s: int(s.isin(("failed", "timeout")).sum())),
        "lr_range": g["lr"].agg(lambda s: f"{fmt_value(s.min())} … {fmt_value(s.max())}" if s.notna().any()
                                else "(not searched)"),
        "best_metric": g["metric"].min(),
        "metric": g["metric_name"].first(),
        "chosen": g.apply(lambda t: ", ".join(_changed(h, None, _search_space(t.name[1]))
                                              for h in t["hyperparameters"][t["chosen"]])
                          or "(not evaluated)", include_groups=False),
        "edge": g.apply(lambda t: _edge_words(t["hyperparameters"][t["chosen"]], t.name[1]), include_groups=False),
    }).reset_index()
    blocks = [
        Paragraph(f"{len(trials)} tuning trials on the tuning seed{'s' if trials['seed'].nunique() > 1 else ''} "
                  f"{_seeds(trials['seed'].unique())}, never an evaluation seed; every optimizer got the same number "
                  "of trials per problem (fewer only where its search space has fewer configurations)."),
        Table.from_frame("Tuning trials per problem and optimizer", table,
                         "best_metric: the lowest final gap (or test loss) of the trials; chosen: the configuration "
                         "evaluated on the evaluation seeds; edge: its values within 5% of an end of the search space "
                         "(log scale for log dimensions) -- the best may lie outside the space; diverged and failed "
                         "(or timed out) trials are counted apart."),
        *figures.sensitivity(trials, palette, _log_dimensions(trials["optimizer"].unique())),
        *figures.expected_best(expected_best_frame(trials), palette),
        *_budget_blocks(budget_frame(trials), palette),
    ]
    unsearched = sorted(set(trials["optimizer"][trials["hyperparameters"].map(len) == 0]))
    if unsearched:
        blocks.append(Paragraph("Not in the sensitivity figure (no search space: one trial, the defaults): "
                                + ", ".join(unsearched) + "."))
    return blocks


def _budget_blocks(curves: pd.DataFrame, palette: dict[str, str]) -> list:
    """Tuned performance against the tuning budget (b = 1, 2, 4, ... and the largest): every
    study's best of the first b trials and their median, as a table and a figure."""
    from . import figures

    if curves.empty:
        return []
    largest = curves.groupby(["problem_id", "optimizer"])["budget"].transform("max")
    shown = curves[(curves["budget"] & (curves["budget"] - 1)).eq(0) | curves["budget"].eq(largest)]
    g = shown.sort_values("seed").groupby(["problem_id", "optimizer", "budget"])
    table = pd.DataFrame({"studies": g.size(), "median_best": g["best"].median(),
                          "per_study": g["best"].agg(lambda s: " / ".join(fmt_value(v) for v in s))}).reset_index()
    return [Table.from_frame("Tuned performance against the tuning budget", table,
                             "The best result (test loss or final gap, on the tuning seeds) of the first b trials of "
                             "each study's sequence: b = 1 is the registered defaults (one-shot), the largest b the "
                             "full tuning; per_study: each independent study (its own tuning seed), median_best "
                             "their median (AlgoPerf takes the median over studies)."),
            *figures.budget_curves(curves, palette)]


def _log_dimensions(optimizers) -> set[str]:
    """The hyperparameters that some of ``optimizers`` search on a log scale."""
    from ..optimizer import LogUniform

    return {k for o in optimizers for k, d in _search_space(o).items() if isinstance(d, LogUniform)}


def _comparison_blocks(comparison: pd.DataFrame, palette: dict[str, str]) -> list:
    """Medians over the evaluation seeds of the tuned and the default hyperparameters."""
    from . import figures

    g = comparison.groupby(["problem_id", "optimizer", "role"])
    per_role = pd.DataFrame({"median_gap": g["final_gap"].median(),
                             "ends": g["status"].agg(status_counts),
                             "runs": g.size()}).unstack("role")
    configs = {(p, o, r): h for p, o, r, h in zip(comparison["problem_id"], comparison["optimizer"],
                                                 comparison["role"], comparison["hyperparameters"])}
    rows = []
    for (problem, optimizer), row in per_role.iterrows():
        rows.append({
            "problem_id": problem, "optimizer": optimizer,
            "tuned": _changed(configs.get((problem, optimizer, "tuned"), {}),
                              configs.get((problem, optimizer, "default")), _search_space(optimizer)),
            "default_gap": row.get(("median_gap", "default"), np.nan),
            "tuned_gap": row.get(("median_gap", "tuned"), np.nan),
            "default_seeds": row.get(("ends", "default"), ""), "tuned_seeds": row.get(("ends", "tuned"), ""),
            "seeds": int(np.nanmax([row.get(("runs", "default"), 0), row.get(("runs", "tuned"), 0)])),
        })
    table = pd.DataFrame(rows)
    return [Table.from_frame(
                "Tuned against default hyperparameters (medians over evaluation seeds)", table,
                "tuned: the hyperparameters the tuning changed; default_gap, tuned_gap: median final f − f_ref with "
                "the optimizer's registered defaults and with the tuned ones (blank: that configuration was not run "
                "on the evaluation seeds); default_seeds, tuned_seeds: how the run on each evaluation seed "
                "ended (a diverged seed counts as diverged, a crash or time-out as failed)."),
            *figures.tuned_vs_default(table, palette)]


def _few_learning_rates(runs_ref: pd.DataFrame) -> list:
    """The optimizers run with 2 learning rates (too few for the sweep figure), as a table:
    median final gap over seeds per problem, optimizer and learning rate."""
    from . import figures

    rows = figures.sweep_groups(runs_ref)
    rows = rows[rows["n_lr"] < figures.MIN_SWEEP_VALUES] if not rows.empty else rows
    if rows.empty:
        return []
    g = rows.groupby(["problem_id", "line", "lr"])
    table = pd.DataFrame({"median_final_gap": g["final_gap"].median(), "runs": g.size(),
                          "diverged_or_failed": g["status"].agg(lambda s: int(s.isin(BAD_STATUSES).sum()))})
    table = table.reset_index().rename(columns={"line": "optimizer", "lr": "learning_rate"})
    return [Table.from_frame(
        "Final gap per learning rate (optimizers run with two learning rates)", table,
        f"A curve needs at least {figures.MIN_SWEEP_VALUES} learning rates; these optimizers had two. "
        "median_final_gap: over seeds, f − f_ref at the final iterate.")]


def _notes_section(dims_missing: list[str], x: str, targets: str, pooled: bool,
                   runs: pd.DataFrame | None = None) -> Section:
    items = [
        "Reference f_ref: f* where the problem knows it, else the best value any run reached on the same "
        "problem and seed (best observed); gaps to a best-observed reference compare the optimizers with each "
        "other only. Training problems with a test split are judged by their final test loss.",
        f"Targets: gap targets f − f_ref ≤ t on the {metrics.LADDER_NAMES[targets]} (report --targets coco: "
        f"{metrics.LADDER_NAMES['coco']}) and the Moré–Wild reduction test f(x0) − f(x) ≥ (1 − τ)(f(x0) − f_ref), "
        "τ ∈ {1e-1, 1e-3, 1e-5, 1e-7}; a target counts at the first iterate that reaches it.",
        "Counting, the same in every table and figure: the trace row k is the iterate after k steps, so a target "
        "first met at row k cost k steps and the evaluations recorded at row k (the start: 0 steps and 1 "
        "evaluation); a run of N steps spent N.",
        "Instances for ranks, profiles, ECDFs and scores are (problem, seed) pairs that every ranked optimizer ran; "
        "optimizers that ran fewer are listed apart in the Ranking section.",
        f"Convergence curves and the ECDF use {metrics.MEASURE_LABELS[metrics.measure_column(x)]} on the x axis"
        + (" (the ECDF divided by each problem's dimension, COCO's convention for pooling dimensions)"
           if pooled and metrics.measure_column(x) == "nfev" else "")
        + "; performance and data profiles count function+gradient evaluations.",
        "Calibrated time (median_calibrated, time_to_target.csv, --x calibrated): each run's optimizer seconds "
        "divided by its calibration figure, the wall time of a fixed workload (200 Adam steps on a small float32 "
        "MLP, optbench.calibration) timed once in the run's process on its device and thread count. It makes "
        "times of different machines roughly comparable; evaluation counts remain the exact cost.",
        "References: Dolan & Moré (2002), Math. Prog. 91:201-213; Moré & Wild (2009), SIAM J. Optim. "
        "20(1):172-191; Hansen et al. (2021), COCO, Optim. Methods Softw. 36(1):114-144; Efron & Tibshirani "
        "(1993), An Introduction to the Bootstrap.",
    ]
    if dims_missing:
        items.append("Data profiles leave out problems whose dimension the results do not record: "
                     + ", ".join(dims_missing) + ".")
    figures = metrics.calibration_figures(runs) if runs is not None else pd.Series(dtype=float)
    if figures.notna().any():
        items.append(f"Calibration figures of these runs: median {figures.median():.3g} s, range {figures.min():.3g}–"
                     f"{figures.max():.3g} s (one per process; on one machine they differ by its load of the moment).")
    uncalibrated = runs[figures.isna()] if runs is not None else None
    if uncalibrated is not None and len(uncalibrated):
        cells = sorted(set(zip(uncalibrated["optimizer_id"], uncalibrated["problem_id"])))
        items.append(f"{len(uncalibrated)} run{'s' if len(uncalibrated) != 1 else ''} carry no calibration figure "
                     "(recorded before optbench timed one, or with another calibration workload): their calibrated "
                     "time is unknown (blank in the tables and CSV files)"
                     + (", and the calibrated convergence curves and ECDF leave them out"
                        if metrics.measure_column(x) == "calibrated" else "")
                     + " (" + ", ".join(f"{o} on {p}" for o, p in cells[:8]) + (", …" if len(cells) > 8 else "")
                     + ").")
    return Section("notes", "Method notes", [Bullets(items)])


def _with_archive(results, experiment: str | None):
    """``results`` with the shipped archive of the same instances beside the runs of
    ``experiment`` (:func:`optbench.archive.with_archive`), or ``results`` unchanged when the
    runs carry no instances hash that an archive has."""
    from .. import archive as archives

    if getattr(results, "archive", None) is not None or not hasattr(results, "experiments"):
        return results
    name = experiment or (results.single_experiment() if hasattr(results, "single_experiment") else None)
    if name is None:
        return results
    exp = results.experiments[results.experiments["experiment"] == name]
    found = archives.matching(set(exp["suite_hash"].dropna()) if "suite_hash" in exp.columns else set())
    if found is None:
        return results
    return archives.with_archive(results.experiment(name), found, name)


def _archive_section(archive) -> Section:
    env = archive.meta.get("environment", {})
    runs = archive.runs
    figures = [e.get("calibration_seconds") for e in runs["environment"] if isinstance(e, dict)]
    figures = [f for f in figures if isinstance(f, (int, float))]
    calibration = float(np.median(figures)) if figures else None
    items = [
        f"{len(runs)} runs of {runs['optimizer'].nunique()} optimizers at their registered defaults, marked "
        f"“{ARCHIVED.strip()}”, come from the archive shipped with optbench for the frozen suite "
        f"{archive.meta['suite']}: the same problems, parameters, budgets and seeds as the runs here (instances hash "
        f"{archive.meta['suite_hash']}). They were not re-run.",
        f"Built {archive.meta['created']} by `{archive.meta.get('command') or 'python -m optbench.archive build'}` "
        f"on {env.get('cpu', 'an unrecorded CPU')} ({env.get('platform', '?')}), Python {env.get('python', '?')}, "
        f"torch {env.get('torch', '?')}, numpy {env.get('numpy', '?')}, scipy {env.get('scipy', '?')}, optbench "
        f"{env.get('optbench', '?')}" + (f" at commit {env['git_commit']}" if env.get("git_commit") else "") + ".",
        "Evaluation counts, statuses and gaps compare exactly with runs made here (on CPU with the same torch they "
        "reproduce bit for bit: `optbench verify-archive " + archive.meta["suite"] + " --sample 20`). Their seconds "
        "were measured on the archive's machine: compare times only in calibrated units"
        + (f" (report --x calibrated; the archived runs' calibration workload took {calibration:.3g} s, median)"
           if calibration is not None else "")
        + ".",
        "An archived trace keeps the first row that reaches each target of the short ladder 1e-1…1e-8 (so their "
        f"times to target, ECDFs and profiles are exact), the evaluation points, and {archive.meta['trace_points']} "
        "rows log-spaced in the steps for the curves; on another ladder (--targets coco) a hit between kept rows "
        "counts at the later row.",
    ]
    return Section("archive", "Archived baselines", [Bullets(items)])


def build_report(results, *, x: str = "evals", experiment: str | None = None, suite: str | None = None,
                 title: str | None = None, targets: str = "short", archive: bool = True
                 ) -> tuple[Report, dict[str, pd.DataFrame]]:
    """The content of the report of ``results`` and its tables (``runs``, ``summary``, ``ranks``,
    ``ranks_overall``, ``time_to_target``); :func:`write_report` explains the arguments."""
    try:
        metrics.measure_column(x)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if targets not in metrics.TARGET_LADDERS:
        raise ConfigError(f"targets={targets!r} is not a target ladder; known: {', '.join(metrics.TARGET_LADDERS)}")
    experiment = experiment or suite
    if archive:
        results = _with_archive(results, experiment)
    sel = _select(results, experiment)
    if experiment is None and hasattr(results, "single_experiment"):
        experiment = results.single_experiment()
    # two views of the runs: the training objective (convergence, trajectories, theory) and the
    # verdict's (metrics.verdict_view: the test loss on training problems with a test split)
    train_runs, traces = metrics.applicable(sel.runs), sel.traces
    train_ref = metrics.with_reference(train_runs)
    runs, verdict_traces = metrics.verdict_view(train_runs, traces, sel.evals)
    runs_ref = metrics.with_reference(runs)
    hits_all = metrics.hitting_times(runs, verdict_traces, gaps=metrics.TARGET_LADDERS[targets])
    ttt = metrics.time_to_target(hits_all, runs)
    # like with like: ranks, profiles, ECDFs and scores on the instances every ranked optimizer ran
    common = metrics.common_instances(runs)
    hits = hits_all[hits_all["key"].isin(set(common.runs["key"]))]
    rk = metrics.ranks(common.runs, verdict_traces)
    tested = common.runs["verdict"] == metrics.TEST_METRIC
    rk_train = (metrics.ranks(train_runs[train_runs["key"].isin(set(common.runs.loc[tested, "key"]))], traces)
                if tested.any() else None)
    summary = _summary(runs_ref)
    dims = metrics.problem_dims(train_runs)

    from . import figures  # matplotlib and seaborn load here, not at import

    palette = figures.make_palette(runs["optimizer_id"])
    measure = metrics.measure_column(x)
    checks = theory_checks.theory_checks(train_runs, traces)
    conv = figures.convergence(train_ref, traces, palette, x, theory_checks.bound_curves(checks, train_runs, traces))
    prof = figures.performance_profiles(hits, palette) + figures.data_profiles(hits, dims, palette)
    pooled = metrics.pools_dimensions(dims, common.runs["problem_id"])  # COCO: evaluations / dimension
    if measure == "calibrated":  # a run without a calibration figure has no place on that axis
        on_axis = set(common.runs["key"]) - set(runs.loc[runs["calibrated"].isna(), "key"])
        ecdf = figures.ecdfs(hits[hits["key"].isin(on_axis)], common.runs[common.runs["key"].isin(on_axis)],
                             palette, measure, ladder=targets) if on_axis else []
    else:
        ecdf = figures.ecdfs(hits, common.runs, palette, measure, dims=dims if pooled else None, ladder=targets)
    traj, skipped = figures.trajectories(train_runs, sel.trajectory, palette)
    heat = figures.final_gap_heatmap(runs_ref)
    tps = figures.time_per_step(train_runs, palette)
    tuned = train_ref["suite"].fillna("").astype(str).str.startswith(TUNED_PREFIX)
    sweep = figures.lr_sweep(train_ref[~tuned], palette)  # a tuned lr varies by problem: not a sweep
    sweep += _few_learning_rates(train_ref[~tuned])
    tuning_section = _tuning_section(sel.tuning, palette)
    spec = figures.spectrum(train_runs, palette)
    ev = figures.eval_metrics(train_runs, sel.evals, palette)

    problems, optimizers = runs["problem_id"].nunique(), runs["optimizer_id"].nunique()
    seeds = sorted(runs["seed"].unique())
    path = getattr(results, "path", None)
    if title is None:
        title = f"optbench report: {Path(path).name if path else 'results'}" + (
            f" (experiment {experiment})" if experiment else "")
    meta = [f"{len(runs)} runs: {optimizers} optimizer{'s' if optimizers != 1 else ''} on {problems} "
            f"problem{'s' if problems != 1 else ''}, seeds {_seeds(seeds)}."
            + (f" Experiment: {experiment}." if experiment else "") + (f" Results file: {path}." if path else ""),
            "Generated " + time.strftime("%Y-%m-%d %H:%M:%S") + " by optbench."]
    sections = [_ranking_section(rk, runs_ref, common, rk_train), _status_section(metrics.with_reference(sel.runs)),
                _results_section(summary, ttt)]
    if getattr(results, "archive", None) is not None:
        sections.insert(0, _archive_section(results.archive))
        meta.insert(1, results.archive.describe() + ": its runs are marked " + ARCHIVED.strip() + ".")
    score_section = _score_section(hits, archived=getattr(results, "archive", None) is not None)
    if score_section is not None:
        sections.insert(1, score_section)
    if conv:
        sections.append(Section("convergence", "Convergence", conv))
    if prof or ecdf:
        sections.append(Section("profiles", "Profiles and ECDF", prof + ecdf))
    if traj or skipped:
        sections.append(Section("trajectories", "Trajectories", traj + [Bullets(skipped)] if skipped else traj))
    sections.append(Section("overview", "Final gap and time", heat + tps))
    if tuning_section is not None:
        sections.append(tuning_section)
    if sweep:
        sections.append(Section("lr", "Learning-rate sweeps", sweep))
    spectrum_section = _spectrum_section(train_runs, spec)
    if spectrum_section is not None:
        sections.append(spectrum_section)
    if ev:
        sections.append(Section("evaluations", "Training problems", ev))
    theory_part = theory_section(train_runs, traces, checks, palette)
    if theory_part is not None:
        sections.append(theory_part)
    missing = sorted(p for p in train_runs["problem_id"].unique() if not np.isfinite(dims.get(p, np.nan)))
    sections.append(_notes_section(missing, x, targets, pooled, runs))

    tables = {"runs": tidy_runs(runs_ref), "summary": summary, "ranks": rk.per_problem, "ranks_overall": rk.overall,
              "time_to_target": ttt}
    return Report(title, meta, sections), tables


def write_report(results, out_dir, *, x: str = "evals", experiment: str | None = None, suite: str | None = None,
                 title: str | None = None, targets: str = "short", archive: bool = True) -> dict[str, Path]:
    """Write the report of one experiment of ``results`` (an :class:`optbench.store.Results`)
    into ``out_dir``.

    Parameters
    ----------
    x : {"evals", "steps", "seconds", "calibrated"}
        The cost on the x axis of convergence curves and the runtime ECDF (default: function
        +gradient evaluations, which a line search pays per trial point; a step of one
        method is not a step of another). ``calibrated``: seconds divided by each run's
        calibration figure (:mod:`optbench.calibration`), roughly comparable between
        machines; runs without one are left out of those axes, as the Method notes say.
    targets : {"short", "coco"}
        The gap-target ladder of the ECDF and the time-to-target table: the short 1e-1…1e-8
        (8 targets) or COCO's 1e2…1e-8 (51 targets, :data:`optbench.metrics.COCO_TARGETS`).
    experiment : str, optional
        The experiment to report (``Results.experiment_names()``); needed when ``results``
        holds several, which are never ranked together (see :func:`write_reports`).
    suite : str, optional
        The same as ``experiment`` (a suite's runs are the experiment of its name).
    title : str, optional
        The page title (default: from the results file name).
    archive : bool
        Put the shipped baseline archive of the same instances beside the runs, where the
        experiment ran a frozen suite (:mod:`optbench.archive`; default ``True``).

    Returns
    -------
    dict
        ``html`` (index.html), ``markdown`` (summary.md), ``figures`` (the PNG folder) and the
        CSV tables ``runs``, ``summary``, ``ranks``, ``ranks_overall``, ``time_to_target``.
    """
    started = time.perf_counter()
    report, tables = build_report(results, x=x, experiment=experiment or suite, title=title, targets=targets,
                                  archive=archive)
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out / f"{name}.csv" for name in tables}
    for name, frame in tables.items():
        frame.to_csv(paths[name], index=False)
    report.files = {k.replace("_", " "): p.name for k, p in paths.items()}
    for fig in report.figures():
        (fig_dir / f"{fig.id}.png").write_bytes(fig.png)
    from . import html, markdown

    report.meta.append(f"Rendered in {time.perf_counter() - started:.1f} s.")
    paths["html"] = out / "index.html"
    paths["html"].write_text(html.render(report), encoding="utf-8")
    paths["markdown"] = out / "summary.md"
    paths["markdown"].write_text(markdown.render(report), encoding="utf-8")
    paths["figures"] = fig_dir
    return paths


def report_figures(results, *, x: str = "evals", experiment: str | None = None, suite: str | None = None,
                   targets: str = "short") -> dict:
    """The report's figures as matplotlib figures, by id (``convergence-1``, ``performance-profile``,
    ``ecdf``, ...), for a notebook: ``display(fig)`` or ``fig.savefig(...)`` each one."""
    from .figures import readable_ticks

    report, _ = build_report(results, x=x, experiment=experiment or suite, targets=targets)
    return {fig.id: readable_ticks(fig.figure) for fig in report.figures()}


def write_reports(results, out_dir, *, x: str = "evals", targets: str = "short", archive: bool = True
                  ) -> dict[str, Path]:
    """One report per experiment of ``results``: with a single experiment, its report in
    ``out_dir`` (as :func:`write_report`); with several, each in ``out_dir/<experiment>/`` and
    an index page ``out_dir/index.html`` that lists them (runs, problems, optimizers, seeds,
    dates) -- never one ranking across experiments.

    Returns ``index`` (the page to open) and, per experiment, the path of its ``index.html``.
    """
    if not hasattr(results, "single_experiment") or results.single_experiment() is not None:
        paths = write_report(results, out_dir, x=x, targets=targets, archive=archive)
        return {"index": paths["html"], **({results.single_experiment(): paths["html"]}
                                           if hasattr(results, "single_experiment") else {})}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = results.experiments_table()
    paths: dict[str, Path] = {}
    for name in table["name"]:
        folder = out / _folder_name(name)
        paths[name] = write_report(results, folder, x=x, experiment=name, targets=targets, archive=archive,
                                   title=f"optbench report: experiment {name}")["html"]
    rows = "".join(
        f"<tr><td><a href=\"{html_escape.escape(paths[r.name].relative_to(out).as_posix())}\">"
        f"{html_escape.escape(str(r.name))}</a></td><td>{r.runs}</td><td>{r.problems}</td><td>{r.optimizers}</td>"
        f"<td>{r.seeds}</td><td>{html_escape.escape(r.first)}</td><td>{html_escape.escape(r.last)}</td></tr>"
        for r in table.itertuples(index=False))
    path = getattr(results, "path", None)
    source = f" in {html_escape.escape(str(path))}" if path else ""
    page = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>optbench experiments</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left}</style></head><body>"
        f"<h1>optbench experiments{source}</h1>"
        f"<p>{len(table)} experiments, one report each: a ranking compares the runs of one experiment only.</p>"
        "<table><thead><tr><th>experiment</th><th>runs</th><th>problems</th><th>optimizers</th><th>seeds</th>"
        f"<th>first run (UTC)</th><th>last run (UTC)</th></tr></thead><tbody>{rows}</tbody></table></body></html>")
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return {"index": index, **paths}


def _folder_name(name: str) -> str:
    """An experiment's report folder: its name with anything but ``\\w . + -`` replaced by ``_``."""
    import re

    return re.sub(r"[^\w.+-]", "_", name) or "_"
