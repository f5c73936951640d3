"""From Python to a stored, reported experiment in one call (for notebooks and scripts).

:func:`run_suite` is ``optbench run`` as a function: it runs a suite, or a selection in the
command line's syntax, into a results database (skipping the runs already there) and returns
the :class:`Results` of exactly those runs: tidy pandas frames ``runs``,
``traces`` and ``evals``, each with ``problem_id`` and ``optimizer_id``, plus
``results.report(out_dir)`` and ``results.figures()`` (matplotlib figures)::

    import optbench

    results = optbench.run_suite(problems="rosenbrock,himmelblau", optimizers="adam[lr=[1e-2,1e-1]],lbfgs",
                                 seeds=3, max_steps=200, db="mine.sqlite")
    results.runs.groupby("optimizer_id")["gap"].median()
    results.report("reports/mine")
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .errors import ConfigError
from .store import Results as StoredResults
from .store import Store


class Results(StoredResults):
    """Stored runs as tidy frames (:class:`optbench.store.Results`), plus their report and
    figures. It lives here, above both the store and the report, so that the store never
    imports the report (data flows store -> metrics -> report)."""

    def report(self, out_dir, **options) -> dict[str, Path]:
        """Write the HTML/Markdown/CSV report of these runs into ``out_dir``; ``options`` and the
        returned paths are those of :func:`optbench.report.write_report`."""
        from .report import write_report

        return write_report(self, out_dir, **options)

    def figures(self, **options) -> dict:
        """The report's figures as matplotlib figures by id (:func:`optbench.report.report_figures`)."""
        from .report import report_figures

        return report_figures(self, **options)


def load(path: str | Path) -> Results:
    """Open a results database read-only and return its tidy frames, report and figures."""
    return Results(Store(path, readonly=True))


def run_suite(
    suite: str | None = None,
    *,
    problems: str | Iterable[str] = (),
    optimizers: str | Iterable[str] = (),
    seeds: int | Iterable[int] | None = None,
    db: str | Path = "optbench.sqlite",
    max_steps: int | None = None,
    max_evals: int | None = None,
    max_seconds: float | None = None,
    target_gap: float | None = None,
    eval_every: int | None = None,
    device: str | None = None,
    dtype: str | None = None,
    spectrum: bool | None = None,
    name: str | None = None,
    jobs: int = 1,
    backend: str | None = None,
    time_limit: float | None = None,
    plugins: Iterable[str] = (),
    rerun: bool = False,
    retry_failed: bool = False,
    progress: bool = False,
):
    """Run a suite or a selection into the results database ``db`` and return its results.

    Parameters
    ----------
    suite : str, optional
        A built-in suite (``quick``, ``fair``, ...) or the path of a suite ``.toml``. Default:
        ``quick``, unless ``problems`` or ``optimizers`` select the runs (then one seed and the
        default budget, as on the command line).
    problems, optimizers : str or list of str
        Selections as for ``optbench run --problems/--optimizers``: names, ``tag:TAG``, globs
        and grids, ``"adam[lr=[1e-3,1e-2]],lbfgs"``.
    seeds : int or list of int, optional
        ``N`` for seeds ``0..N-1``, or the seeds themselves.
    max_steps, max_evals, max_seconds, target_gap, eval_every : optional
        Budget fields overriding the suite's (:class:`optbench.Budget`).
    name : str, optional
        The experiment the runs are filed under (``--name``); default: the suite's name, or,
        for a selection or a changed suite, a name derived from it
        (:func:`optbench.suite.experiment_name`).
    device, dtype, spectrum, jobs, backend, time_limit, plugins, rerun, retry_failed
        As the options of ``optbench run`` (``spectrum=False`` is ``--no-spectrum``).
    progress : bool
        Show a progress bar (default off).

    Returns
    -------
    Results
        The runs of this call (those just computed and those already stored), their traces
        and evaluation-point metrics.
    """
    from .execute import execute
    from .registry import load_plugin
    from .suite import check_experiment_name, experiment_name, select_suite

    for path in plugins:
        load_plugin(path)
    chosen = select_suite(suite, problems, optimizers, source="optbench.run_suite")
    if seeds is not None:
        chosen.seeds = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
        if not chosen.seeds or min(chosen.seeds) < 0:
            raise ConfigError(f"seeds={seeds!r}: give a count >= 1 or a list of seeds >= 0")
    if spectrum is not None:
        chosen.spectrum = spectrum
    chosen.device = device or chosen.device
    chosen.dtype = dtype or chosen.dtype
    chosen = chosen.with_budget(max_steps=max_steps, max_evals=max_evals, max_seconds=max_seconds,
                                target_gap=target_gap, eval_every=eval_every)
    changes = dict(seeds=chosen.seeds if seeds is not None else None, max_steps=max_steps, max_evals=max_evals,
                   max_seconds=max_seconds, target_gap=target_gap, eval_every=eval_every, device=device, dtype=dtype)
    chosen.name = (check_experiment_name(name) if name is not None
                   else experiment_name(suite, chosen.name, problems, optimizers, **changes))
    job_list = chosen.jobs()
    store = Store(db)
    summary = execute(job_list, store, backend=backend, n_jobs=jobs, plugins=list(plugins), rerun=rerun,
                      retry_failed=retry_failed, progress=progress,
                      time_limit=time_limit if time_limit is not None else chosen.time_limit)
    if summary.interrupted:  # every finished run is stored; the same call again computes the rest
        raise KeyboardInterrupt
    return Results(store, {j.key for j in job_list})
