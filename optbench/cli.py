"""The ``optbench`` command.

Heavy libraries (torch, scipy, pandas, seaborn) are imported inside the commands that need
them, so ``optbench --help`` answers at once. Bad input is an
:class:`~optbench.errors.OptbenchError`: printed without a traceback, exit code 2.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .errors import OptbenchError

DEFAULT_DB = "optbench.sqlite"
DEFAULT_SUITE = "quick"  # optbench.suite.DEFAULT_SUITE, without importing it for --help
MAX_RUNS = 100_000  # a larger request runs only with --yes


def _add_plugin(p: argparse.ArgumentParser) -> None:
    p.add_argument("--plugin", action="append", default=[], metavar="FILE.py",
                   help="import a plugin file that registers problems/optimizers (repeatable). "
                        "A plugin is code: it runs with your permissions")


def _add_budget_and_device(p: argparse.ArgumentParser) -> None:
    """The budget of every run, its device and dtype, and the results database (run, tune)."""
    p.add_argument("--max-steps", type=int)
    p.add_argument("--max-evals", type=int)
    p.add_argument("--max-seconds", type=float)
    p.add_argument("--target-gap", type=float, help="stop a run when f - f* <= this")
    p.add_argument("--eval-every", type=int, help="evaluation-point metrics every N steps (training problems)")
    p.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--dtype", choices=["float32", "float64"])
    p.add_argument("--db", default=DEFAULT_DB, help=f"results database (SQLite; default {DEFAULT_DB})")
    p.add_argument("--no-spectrum", action="store_true",
                   help="skip the Hessian spectrum at each run's final iterate (a dense Hessian, or 32-64 "
                        "Hessian-vector products for large problems, once per run, outside its timing)")


def _add_execution(p: argparse.ArgumentParser) -> None:
    """Where and how the runs execute, the report and the plugins (run, tune)."""
    p.add_argument("--jobs", "-j", type=int, default=1, help="worker processes on this machine (default 1)")
    p.add_argument("--time-limit", type=float, metavar="SECONDS",
                   help="hard wall-clock limit per run: the worker running it is killed and the run recorded as "
                        "'timeout' (runs in worker processes; default: the suite's time_limit, else none)")
    p.add_argument("--backend", choices=["serial", "processes", "dask"],
                   help="serial (in this process), processes (worker processes: the default with --jobs N > 1 "
                        "or a time limit) or dask (a running Dask cluster: the default with --scheduler)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler for --backend dask, "
                   "e.g. tcp://10.0.0.5:8786 (needs pip install 'optbench[dask]')")
    p.add_argument("--name", metavar="NAME",
                   help="the experiment these runs are filed under (default: the suite's name; for a selection or a "
                        "changed suite, a name derived from it, printed at the start and the same for the same command)")
    p.add_argument("--report", metavar="DIR", help="report directory (default reports/<experiment name>)")
    p.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    p.add_argument("--no-archive", action="store_true",
                   help="a frozen suite's report shows the shipped baseline archive beside the runs; this leaves it out")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    p.add_argument("--verbose", "-v", action="store_true",
                   help="print the full summary table (every status, the gap reference, steps) instead of the "
                        "100-column one")
    p.add_argument("--yes", action="store_true",
                   help=f"run a request of more than {MAX_RUNS:,} runs (refused without it)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="torch intra-op threads per process (default 1: small problems run fastest and time "
                        "most steadily single-threaded; raise it for large models on the CPU)")
    _add_plugin(p)


def _load_plugins(paths: list[str]) -> None:
    from .registry import load_plugin

    for path in paths:
        load_plugin(path)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbench",
        description="Benchmark gradient-based optimizers on loss landscapes, the Moré-Garbow-Hillstrom "
                    "set and neural training problems; store results in SQLite; write reports.",
        epilog="Start with `optbench run` (the quick suite), then open reports/quick/index.html.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"optbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("list", help="list problems, optimizers, suites, or the experiments of a results database")
    p.add_argument("what", choices=["problems", "optimizers", "suites", "experiments"])
    p.add_argument("--db", default=DEFAULT_DB, help=f"results database for `list experiments` (default {DEFAULT_DB})")
    p.add_argument("--tag", action="append", default=[], help="only entries with this tag (repeatable: all must match)")
    p.add_argument("--json", action="store_true", help="print a JSON list of objects (name, tags, ...)")
    avail = p.add_mutually_exclusive_group()
    avail.add_argument("--available", action="store_true",
                       help="optimizers: every one usable now, each of an installed library's collection by name")
    avail.add_argument("--installable", action="store_true",
                       help="optimizers: those of optional libraries that are not installed, and how to install them")
    _add_plugin(p)

    p = sub.add_parser("info", help="show a problem's formula, f* and start, or an optimizer's rule and hyperparameters")
    p.add_argument("name")
    _add_plugin(p)

    p = sub.add_parser("run", help="run a suite (default: quick) and store the results")
    p.add_argument("suite", nargs="?", help="built-in suite name or path to a suite .toml "
                   f"(default: {DEFAULT_SUITE}, unless --problems/--optimizers are given)")
    p.add_argument("--problems", action="append", default=[],
                   help='problems: names, tag:TAG, globs, NAME[k=v,k2=[a,b]] (comma-separated, repeatable)')
    p.add_argument("--optimizers", action="append", default=[], help='optimizers, e.g. "adam[lr=[1e-3,1e-2]],lbfgs"')
    p.add_argument("--seeds", type=int, help="number of seeds 0..N-1")
    _add_budget_and_device(p)
    again = p.add_mutually_exclusive_group()
    again.add_argument("--rerun", action="store_true", help="recompute runs already in the database")
    again.add_argument("--retry-failed", action="store_true",
                       help="recompute only the stored runs that failed or timed out (diverged ones are results "
                            "and are kept)")
    p.add_argument("--no-batch", action="store_true",
                   help="run every seed on its own (by default the seeds of one analytic job run as rows "
                        "of one tensor, each row its own iteration and record)")
    p.add_argument("--tuned", metavar="FILE", help="hyperparameters chosen by `optbench tune -o FILE`: each run of a "
                   "problem x optimizer listed there uses them (labelled tuned:<suite>)")
    _add_execution(p)

    p = sub.add_parser("tune", help="tune every optimizer with the same budget of trials per problem, then run the "
                       "tuned and the default hyperparameters on the evaluation seeds (see optbench.tune)")
    p.add_argument("suite", nargs="?", help="built-in suite name or .toml; its [tune] table gives the defaults of "
                   "--budget, --method, --metric and --tuning-seed (the built-in `fair` runs the whole protocol)")
    p.add_argument("--problems", action="append", default=[], help="problems, as for `optbench run`")
    p.add_argument("--optimizers", action="append", default=[],
                   help="optimizers by name, tag:TAG or glob; their declared search spaces are searched")
    p.add_argument("--budget", type=int, metavar="N", help="trials per optimizer per problem")
    p.add_argument("--budgets", type=_budget_list, metavar="B1,B2,...",
                   help="report the protocol at several budgets from one sequence of trials: budget b = the best of "
                        "the first b trials (1 = the registered defaults); the largest is the number of trials")
    p.add_argument("--studies", type=int, metavar="S", help="independent studies, each on its own tuning seed; the "
                   "median study's choice is evaluated (default 1)")
    p.add_argument("--method", choices=["sobol", "random", "grid"],
                   help="search design (default sobol: the defaults, then quasi-random points; see optbench.tuning.search)")
    p.add_argument("--metric", choices=["verdict", "final-loss", "test-loss", "time-to-target"],
                   help="what the best trial minimises (default verdict: what the report judges by, metrics.verdict_metric)")
    p.add_argument("--tuning-seed", type=int, metavar="S", help="the trials run on seed 1000000 + S (default 0); "
                   "evaluation seeds stay below 1000000")
    p.add_argument("--seeds", type=int, help="number of evaluation seeds 0..N-1")
    _add_budget_and_device(p)
    p.add_argument("-o", "--output", help="where to write the chosen hyperparameters (default tuned-<suite>.toml)")
    p.add_argument("--no-evaluate", action="store_true", help="only tune and write the file")
    _add_execution(p)

    p = sub.add_parser("report", help="write an HTML + Markdown + CSV report from a results database")
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--name", "--suite", dest="name", metavar="NAME",
                   help="the experiment to report (a suite's runs are the experiment of its name); default: every "
                        "experiment of the database, one report each (see `optbench list experiments`)")
    p.add_argument("-o", "--output", help="output directory (default reports/<db name>)")
    p.add_argument("--x", choices=["evals", "steps", "seconds", "calibrated"], default="evals",
                   help="x-axis of convergence plots and ECDFs (default evals: function+gradient evaluations; "
                        "calibrated: seconds / the run's calibration figure, comparable between machines)")
    p.add_argument("--targets", choices=["short", "coco"], default="short",
                   help="gap-target ladder: short (1e-1..1e-8, 8 targets) or coco (COCO's 51 targets 1e2..1e-8)")
    p.add_argument("--no-archive", action="store_true",
                   help="leave out the shipped baseline archive that a frozen suite's report shows beside its runs")
    _add_plugin(p)

    p = sub.add_parser("verify-archive", help="re-run a random sample of a frozen suite's archived runs and say "
                       "whether statuses, evaluation counts and final values reproduce")
    p.add_argument("suite", help="a frozen suite with a shipped archive (classic-v1, training-v1) or an archive .npz")
    p.add_argument("--sample", type=int, default=20, help="how many archived runs to re-run (default 20)")
    p.add_argument("--seed", type=int, default=0, help="the seed of the random sample (default 0)")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch threads (default 1, as the build)")

    p = sub.add_parser("compare", help="compare two result sets; exit 1 if something got slower or converges worse")
    p.add_argument("base")
    p.add_argument("new")
    p.add_argument("--time-factor", type=float, default=1.2,
                   help="smallest ratio new/base of seconds per step that can count as slower, on top of the "
                        "measured run-to-run noise (default 1.2); convergence is compared exactly")

    p = sub.add_parser("export", help="export runs and traces as CSV or Parquet")
    p.add_argument("--db", default=DEFAULT_DB)
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("-o", "--output", required=True, help="output directory")

    p = sub.add_parser("check-optimizer", help="conformance checks for an optimizer plugin")
    p.add_argument("name")
    _add_plugin(p)

    p = sub.add_parser("check-problem", help="conformance checks for a problem plugin (gradient, batching, dtype, f*, "
                       "determinism per seed)")
    p.add_argument("name", help='a problem, with parameters if need be: "quadratic[dim=5]"')
    _add_plugin(p)
    return parser


# ---------------------------------------------------------------------------------------
def cmd_list(args) -> int:
    _load_plugins(args.plugin)
    if args.what == "experiments":
        from .store import load

        table = load(args.db).experiments_table()
        _print_rows(table.to_dict("records"), args.json, list(table.columns))
        return 0
    if args.what == "suites":
        from .suite import builtin_suites, parse_suite

        rows = []
        for name, text in sorted(builtin_suites().items()):
            s = parse_suite(text, source=name)
            rows.append({"name": name, "description": s.description, "tags": []})
        _print_rows(rows, args.json, ["name", "description"])
        return 0
    from .registry import OPTIMIZERS, PROBLEMS

    if (args.available or args.installable) and args.what != "optimizers":
        from .errors import ConfigError

        raise ConfigError(f"--available and --installable list optimizers, not {args.what}: "
                          "optbench list optimizers --installable")
    if args.installable:
        from .zoo import EXTRAS

        rows = [{"name": ", ".join(e.provides), "requirement": e.requirement, "install": 'pip install "optbench[zoo]"',
                 "tags": []} for e in EXTRAS if not e.installed]
        if not rows and not args.json:
            print("every optional optimizer library is installed (optbench list optimizers --available)")
            return 0
        _print_rows(rows, args.json, ["name", "requirement", "install"])
        return 0
    reg = PROBLEMS if args.what == "problems" else OPTIMIZERS
    for tag in args.tag:
        reg.with_tag(tag)  # an unknown tag is an error with suggestions
    rows = []
    specs = reg.specs()
    if args.what == "optimizers":
        if args.available:  # a namespace's whole collection, resolved
            specs += [s for prefix in reg.namespaces() for s in reg.namespace_specs(prefix) if s not in specs]
        elif not args.tag:
            for prefix in reg.namespaces():
                rows.append({"name": f"{prefix}:<name>", "family": prefix, "tags": [],
                             "summary": f"any optimizer of {prefix} by name (optbench list optimizers --available)",
                             "hyperparameters": {}})
    for spec in specs:
        if not all(t in spec.tags for t in args.tag):
            continue
        row = {"name": spec.name, "tags": list(spec.tags), "summary": spec.summary}
        if args.what == "problems":
            row["params"] = spec.params
        else:
            row.update(family=spec.family, hyperparameters=spec.hyperparameters)
        rows.append(row)
    cols = ["name", "family", "tags", "summary"] if args.what == "optimizers" else ["name", "tags", "summary"]
    _print_rows(rows, args.json, cols)
    return 0


LIST_COLUMN_MAX = 32  # widest a list column (tags) gets before it wraps


def _wrap_items(items: list[str], width: int) -> list[str]:
    """``items`` joined by ", " in lines of at most ``width`` characters (the comma that ends
    a line included), broken between items; an item too long for a line is cut with "…"."""
    lines: list[str] = []
    for item in items:
        item = item if len(item) < width else item[: width - 2] + "…"
        if lines and len(lines[-1]) + 2 + len(item) < width:  # room for the comma a next line adds
            lines[-1] += ", " + item
        else:
            if lines:
                lines[-1] += ","
            lines.append(item)
    return lines or [""]


def _print_rows(rows: list[dict], as_json: bool, cols: list[str]) -> None:
    """A table that fits the terminal (at least 80 columns; 100 when not a terminal): list cells
    (tags) wrap between items, the last column (summary) wraps between words."""
    import shutil
    import textwrap

    if as_json:
        print(json.dumps(rows, indent=1, default=repr))
        return
    if not rows:
        print("(none)")
        return
    total = max(shutil.get_terminal_size((100, 24)).columns, 80)
    widths = {}
    for c in cols[:-1]:
        values = [r.get(c) for r in rows]
        longest = max(len(", ".join(v)) if isinstance(v, list) else len(str(v if v is not None else "")) for v in values)
        widths[c] = max(len(c), min(longest, LIST_COLUMN_MAX if any(isinstance(v, list) for v in values) else longest))
    last = max(total - sum(widths.values()) - 2 * (len(cols) - 1), 24)
    print("  ".join([c.upper().ljust(widths[c]) for c in cols[:-1]] + [cols[-1].upper()]))
    for r in rows:
        cells = []
        for c in cols[:-1]:
            v = r.get(c)
            cells.append(_wrap_items(list(v), widths[c]) if isinstance(v, list) else [str(v if v is not None else "")])
        cells.append(textwrap.wrap(str(r.get(cols[-1]) or ""), last) or [""])
        for i in range(max(len(lines) for lines in cells)):
            parts = [(lines[i] if i < len(lines) else "").ljust(widths[c]) for c, lines in zip(cols[:-1], cells)]
            print("  ".join(parts + [cells[-1][i] if i < len(cells[-1]) else ""]).rstrip())


def cmd_info(args) -> int:
    _load_plugins(args.plugin)
    from .errors import UnknownNameError, did_you_mean
    from .registry import OPTIMIZERS, PROBLEMS, get_problem

    if args.name in PROBLEMS.names():
        spec = PROBLEMS.get(args.name)
        problem = get_problem(args.name)
        print(f"problem {spec.name}  ({spec.origin})")
        print(f"tags: {', '.join(spec.tags)}")
        print(f"parameters: {', '.join(f'{k}={v!r}' for k, v in spec.params.items()) or 'none'}")
        for key, value in {**problem.describe(), **problem.describe_constants()}.items():
            print(f"{key}: {value}")
        print()
        print(spec.doc)
        return 0
    namespaced = args.name.partition(":")[0] in OPTIMIZERS.namespaces()  # pytorch-optimizer:<name>
    if args.name in OPTIMIZERS.names() or namespaced:
        spec = OPTIMIZERS.get(args.name)
        print(f"optimizer {spec.name}  ({spec.origin})")
        print(f"family: {spec.family or '-'}   tags: {', '.join(spec.tags)}")
        caps = [c for c in ("elementwise", "needs_objective", "reuses_evaluations", "gradient_graph", "driver",
                            "train_eval")
                if getattr(spec, c)]
        if not spec.closure:
            caps.append("no closure (the runner evaluates, then calls step())")
        if spec.batched is not None:
            caps.append("batched (row-wise: seeds run as rows, each its own iteration)")
        print(f"capabilities: {', '.join(caps) or 'none'}")
        if spec.param_ndim is not None:
            others = f"other parameters: {spec.fallback}" if spec.fallback else "other parameters: not updated"
            print(f"applies to: {spec.param_ndim}-D parameters; {others}; a problem without any is not-applicable")
        print("hyperparameters (default; search space):")
        for k, v in spec.hyperparameters.items():
            print(f"  {k} = {v!r}" + (f"   ; {spec.search_space[k]}" if k in spec.search_space else ""))
        if spec.theory is not None:
            print(f"theory setting ({spec.name}[lr=theory] on a problem with known L and mu): {spec.theory.name}")
            print(f"  bound: {spec.theory.reference}")
        print()
        print(spec.doc)
        return 0
    known = PROBLEMS.names() + OPTIMIZERS.names()
    raise UnknownNameError(did_you_mean("problem or optimizer", args.name, known))


def _suite_from_args(args):
    from .suite import select_suite

    suite = select_suite(args.suite, args.problems, args.optimizers)
    if args.seeds is not None:
        if args.seeds < 1:
            from .errors import ConfigError

            raise ConfigError(f"--seeds {args.seeds} must be >= 1")
        suite.seeds = range(args.seeds)
    if args.no_spectrum:
        suite.spectrum = False
    if args.device:
        suite.device = args.device
    if args.dtype:
        suite.dtype = args.dtype
    suite = suite.with_budget(max_steps=args.max_steps, max_evals=args.max_evals, max_seconds=args.max_seconds,
                              target_gap=args.target_gap, eval_every=args.eval_every)
    suite.name = _experiment_name(args, suite.name)
    return suite


def _experiment_name(args, suite_name: str) -> str:
    """``--name``, else the suite's name, else a name derived from what the command selects or
    changes (:func:`optbench.suite.experiment_name`; tune's settings count as changes)."""
    from .suite import check_experiment_name, experiment_name

    if args.name is not None:
        return check_experiment_name(args.name)
    changes = {k: getattr(args, k, None) for k in ("seeds", "max_steps", "max_evals", "max_seconds", "target_gap",
                                                   "eval_every", "device", "dtype", "budget", "method", "metric",
                                                   "tuning_seed")}
    return experiment_name(args.suite, suite_name, args.problems, args.optimizers, **changes)


def run_header(name: str, jobs, db) -> str:
    """The line ``optbench run`` prints before it runs: the experiment and what it holds, the
    grid ``P problems x O optimizers x S seeds`` only where the runs are that full grid."""
    problems = {(j.problem, json.dumps(j.problem_params, sort_keys=True, default=repr),
                 json.dumps(j.budget.to_dict(), sort_keys=True, default=repr), j.dtype) for j in jobs}
    optimizers = {(j.optimizer, json.dumps(j.hyperparameters, sort_keys=True, default=repr)) for j in jobs}
    seeds = {j.seed for j in jobs}
    p, o, n = len(problems), len(optimizers), len(seeds)
    plural = lambda k, word: f"{k} {word}{'s' if k != 1 else ''}"  # noqa: E731
    if p * o * n == len(jobs):
        shape = f"{plural(p, 'problem')} x {plural(o, 'optimizer')} x {plural(n, 'seed')}"
    else:
        shape = (f"{plural(p, 'problem')}, {plural(o, 'optimizer configuration')}, {plural(n, 'seed')}: "
                 "not every combination")
    return f"experiment {name}: {plural(len(jobs), 'run')} ({shape}) -> {db}"


def _check_size(suite, yes: bool) -> None:
    """Refuse a request of more than :data:`MAX_RUNS` runs unless ``--yes``: counted before
    the grids are expanded, so that a typo (``--seeds 1000000``) is caught in seconds."""
    from .errors import ConfigError

    problems, optimizers, seeds = suite.size()
    total = problems * optimizers * seeds
    if total > MAX_RUNS and not yes:
        raise ConfigError(f"{suite.source}: this request is {total:,} runs ({problems:,} problem configurations x "
                          f"{optimizers:,} optimizer configurations x {seeds:,} seeds), more than {MAX_RUNS:,}; "
                          "pass --yes to run them all, or narrow the grids, seeds or selections")


def _set_threads(n: int) -> None:
    from .errors import ConfigError

    if n < 1:
        raise ConfigError(f"--threads {n} must be >= 1")
    from .execute import sigint_deferred

    with sigint_deferred():  # the first import of torch: Ctrl-C takes effect once it is done
        import torch

    torch.set_num_threads(n)


def cmd_run(args) -> int:
    import time

    t0 = time.perf_counter()
    from .execute import choose_backend, execute, prestart_workers

    # cheap checks first: a mistake in the suite file or the options fails before torch is imported
    suite = _suite_from_args(args)
    time_limit = args.time_limit if args.time_limit is not None else suite.time_limit
    prestart_workers(choose_backend(args.backend, args.jobs, time_limit, args.scheduler))
    _set_threads(args.threads)
    from .store import Results, Store
    report_dir = None if args.no_report else Path(args.report or Path("reports") / suite.name)
    if report_dir is not None:
        _check_writable_dir(report_dir, "--report")
    _check_writable_dir(Path(args.db).parent, "--db")
    _load_plugins(args.plugin)
    _check_size(suite, args.yes)
    jobs = suite.jobs()
    missing = suite.missing_optional()
    if missing:
        print(f"note: suite {suite.name}: skipping {', '.join(missing)} (not installed; pip install "
              '"optbench[zoo]", or see optbench list optimizers --installable)', file=sys.stderr)
    tuned_jobs = []
    if args.tuned:
        jobs, tuned_jobs = _apply_tuned(jobs, args.tuned, suite.name)
    elif suite.tune:
        print(f"suite {suite.name} has a [tune] table: `optbench tune {args.suite or suite.name}` runs the whole "
              "protocol (tuning, then tuned and default hyperparameters); this runs the defaults", file=sys.stderr)
    store = Store(args.db)
    if tuned_jobs:
        from .tune import claim_labels

        claim_labels(tuned_jobs, store, lambda msg: print(msg, file=sys.stderr))
    print(run_header(suite.name, jobs, store.path), file=sys.stderr)
    summary = execute(jobs, store, backend=args.backend, n_jobs=args.jobs, plugins=args.plugin,
                      time_limit=time_limit, scheduler=args.scheduler, batch=not args.no_batch,
                      rerun=args.rerun, retry_failed=args.retry_failed, progress=not args.quiet,
                      threads=args.threads)
    keys = {j.key for j in jobs}
    results = Results(store, keys)
    print(_summary_text(results, keys, args.verbose))
    if summary.interrupted:
        return 130
    if report_dir is not None:  # exactly this command's runs, and the archived baselines of a frozen suite
        archived = None if args.no_archive else _matching_archive(jobs)
        if archived is not None:
            print(f"the report puts these runs beside the {archived}", file=sys.stderr)
        paths = _write_report(results.subset(keys), report_dir, title=f"optbench report: experiment {suite.name}",
                              archive=not args.no_archive)
        print(f"report: {paths['html']}", file=sys.stderr)
    stored = int(results.runs["key"].isin(keys).sum())
    print(f"done in {time.perf_counter() - t0:.1f} s: {stored} of {len(jobs)} runs stored ({summary.done} computed "
          f"now, {summary.skipped} found in the store)", file=sys.stderr)
    return 0


def _matching_archive(jobs) -> str | None:
    """A line describing the shipped archive of the instances these jobs ran, or ``None``."""
    from .archive import matching

    archive = matching({j.suite_hash for j in jobs})
    return None if archive is None else archive.describe()


def cmd_verify_archive(args) -> int:
    _set_threads(args.threads)
    from .archive import verify

    result = verify(args.suite, sample=args.sample, seed=args.seed)
    total = len(result.rows)
    if result.differences:
        print(f"{total - result.reproduced} of {total} sampled runs did not reproduce:")
        for line in result.differences:
            print(f"  {line}")
        return 1
    print(f"all {total} sampled runs reproduced ({'exactly' if result.exact else 'within the tolerances'})")
    return 0


def _apply_tuned(jobs, path: str, suite: str):
    """``(jobs, the tuned ones)``: jobs with an entry in the file at ``path`` get its hyperparameters."""
    from .errors import ConfigError
    from .tune import apply_tuned, read_tuned

    tuned_jobs, untouched = apply_tuned(jobs, read_tuned(path), suite)
    if not tuned_jobs:
        raise ConfigError(f"--tuned {path}: no entry matches a problem x optimizer of suite {suite!r} "
                          "(entries match by problem name, problem parameters and optimizer name)")
    if untouched:
        print(f"--tuned {path}: {len(untouched)} of {len(jobs)} runs have no tuned entry and keep the suite's "
              "hyperparameters", file=sys.stderr)
    return tuned_jobs + untouched, tuned_jobs


def _budget_list(text: str) -> list[int]:
    """``"1,8,24"`` -> ``[1, 8, 24]`` (argparse turns the ValueError into a usage error)."""
    return [int(part) for part in text.split(",") if part.strip()]


def cmd_tune(args) -> int:
    import re
    import time

    t0 = time.perf_counter()
    from .execute import choose_backend, prestart_workers

    if not args.suite and not args.optimizers:
        from .errors import ConfigError

        raise ConfigError("optbench tune needs a suite (e.g. `optbench tune fair`, whose [tune] table sets the "
                          "budget) or --problems and --optimizers with --budget N")
    suite = _suite_from_args(args)
    time_limit = args.time_limit if args.time_limit is not None else suite.time_limit
    prestart_workers(choose_backend(args.backend, args.jobs, time_limit, args.scheduler))
    _set_threads(args.threads)
    from .store import Results, Store
    from .tune import format_budgets, format_comparison, format_entries, run_protocol
    from .tuning.frames import tuned_vs_default_frame
    from .tuning.settings import settings_for

    settings = settings_for(suite, budget=args.budget, method=args.method, metric=args.metric, seed=args.tuning_seed,
                            budgets=args.budgets, studies=args.studies)
    safe_name = re.sub(r"[^\w.-]", "_", suite.name)
    output = Path(args.output or f"tuned-{safe_name}.toml")
    _check_writable_dir(output.parent, "-o/--output")
    report_dir = None if args.no_report or args.no_evaluate else Path(args.report or Path("reports") / suite.name)
    if report_dir is not None:
        _check_writable_dir(report_dir, "--report")
    _check_writable_dir(Path(args.db).parent, "--db")
    _load_plugins(args.plugin)
    _check_size(suite, args.yes)
    store = Store(args.db)
    print(f"experiment {suite.name} -> {store.path}", file=sys.stderr)
    outcome = run_protocol(suite, settings, store, output=output, evaluate=not args.no_evaluate,
                           backend=args.backend, n_jobs=args.jobs, plugins=args.plugin, time_limit=time_limit,
                           scheduler=args.scheduler, progress=not args.quiet, threads=args.threads)
    if outcome.entries:
        print(format_entries(outcome.entries))
        if len(outcome.by_budget) > 1 or settings.studies > 1:
            print(format_budgets(outcome.by_budget))
        print(f"tuned hyperparameters: {output}", file=sys.stderr)
    if outcome.interrupted:
        return 130
    if not args.no_evaluate:
        # the evaluation runs, tuned and default; the report adds the trials (suite tune:<name>)
        results = Results(store, outcome.trial_keys + outcome.tuned_keys + outcome.default_keys)
        evaluation = results.subset(set(outcome.tuned_keys + outcome.default_keys))
        print(format_comparison(tuned_vs_default_frame(evaluation)))
        if report_dir is not None:
            protocol = results.subset(set(outcome.trial_keys + outcome.tuned_keys + outcome.default_keys))
            paths = _write_report(protocol, report_dir, title=f"optbench report: experiment {suite.name}",
                                  archive=not args.no_archive)
            print(f"report: {paths['html']}", file=sys.stderr)
    print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


def _write_report(results, out_dir: Path, *, each_experiment: bool = False, **options) -> dict[str, Path]:
    """:func:`optbench.report.write_report` (:func:`~optbench.report.write_reports` with
    ``each_experiment``); a directory that cannot take the files (a full disk, a permission)
    is a one-line error that says where the runs are and how to retry."""
    from .report import write_report, write_reports

    try:
        return (write_reports if each_experiment else write_report)(results, out_dir, **options)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise OptbenchError(f"the report could not be written to {str(out_dir)!r}: {exc.strerror or exc}{where}; the "
                            f"runs are stored in {str(results.path)!r}: free some space or choose another directory, "
                            f"then `optbench report --db {results.path} -o DIR`") from None


def _summary_text(results, keys: set[str], verbose: bool = False) -> str:
    """The summary of the runs with these keys (this command's runs): at most 100 columns,
    or with ``verbose`` the full table (every status, the reference, steps)."""
    import pandas as pd

    from .report import summary_table
    from .report.terminal import compact_summary

    table = summary_table(results.subset(keys))
    if not verbose:
        return compact_summary(table)
    with pd.option_context("display.max_rows", None, "display.max_columns", None, "display.width", None):
        return table.to_string(index=False)


def _check_writable_dir(path: Path, option: str = "-o/--output") -> None:
    import os

    from .errors import ConfigError

    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise ConfigError(f"output directory {str(path)!r} cannot be created: {str(probe)!r} is a file, not a "
                          f"directory; choose another with {option}")
    if not os.access(probe, os.W_OK):
        raise ConfigError(f"output directory {str(path)!r} is not writable (checked {str(probe)!r}); "
                          f"choose another with {option}")


def cmd_report(args) -> int:
    _load_plugins(args.plugin)
    from .store import Results, Store, experiment_keys, load

    if args.name is not None:  # that experiment's runs alone are read, not the whole file
        store = Store(args.db, readonly=True)
        results = Results(store, experiment_keys(store, args.name))
    else:
        results = load(args.db)
    out = Path(args.output) if args.output else Path("reports") / Path(args.db).stem
    _check_writable_dir(out)
    if args.name is not None:
        paths = _write_report(results, out, x=args.x, targets=args.targets, experiment=args.name,
                              title=f"optbench report: experiment {args.name}", archive=not args.no_archive)
    else:
        paths = _write_report(results, out, each_experiment=True, x=args.x, targets=args.targets,
                              archive=not args.no_archive)
    for kind, path in paths.items():
        print(f"{kind}: {path}")
    return 0


def cmd_compare(args) -> int:
    from .compare import compare
    from .store import load

    result = compare(load(args.base), load(args.new), time_factor=args.time_factor)
    print(result.format_table())
    return 1 if result.regressed else 0


def cmd_export(args) -> int:
    from .export import write_tables
    from .store import load

    results = load(args.db)
    out = Path(args.output)
    _check_writable_dir(out)
    written, empty = write_tables(results, out, args.format)
    for name, (path, rows) in written.items():
        print(f"{name}: {path} ({rows} rows)")
    if empty:
        print(f"not written (no rows): {', '.join(empty)}")
    return 0


def cmd_check_optimizer(args) -> int:
    _load_plugins(args.plugin)
    from .conformance import check_optimizer, format_report

    results = check_optimizer(args.name)
    print(format_report(results))
    return 0 if all(r.passed for r in results) else 1


def cmd_check_problem(args) -> int:
    _load_plugins(args.plugin)
    from .conformance import format_report
    from .errors import ConfigError
    from .problem_checks import check_problem
    from .suite import parse_selection

    selection = parse_selection(args.name)
    grids = [k for k, v in selection.grid.items() if isinstance(v, list)]
    if grids:
        raise ConfigError(f"check-problem {args.name!r}: give one value per parameter, not a list ({', '.join(grids)})")
    results = check_problem(selection.pattern, **selection.grid)
    print(format_report(results, args.name, kind="problem"))
    return 0 if all(r.passed for r in results) else 1


COMMANDS = {
    "list": cmd_list, "info": cmd_info, "run": cmd_run, "tune": cmd_tune, "report": cmd_report, "compare": cmd_compare,
    "export": cmd_export, "check-optimizer": cmd_check_optimizer,
    "check-problem": cmd_check_problem, "verify-archive": cmd_verify_archive,
}


def main(argv: list[str] | None = None) -> int:
    """The command; returns its exit status (0 ok, 1 a regression or failed check, 2 bad input or
    an environment error, 130 interrupted, 141 stdout's reader went away)."""
    _reopen_closed_standard_streams()
    saved_stderr = sys.stderr
    sys.stderr = _Diagnostics(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stderr = saved_stderr


def _main(argv: list[str] | None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 0
        return COMMANDS[args.command](args)
    except OptbenchError as exc:
        return _error(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        print("optbench: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if _stdout_gone():  # `optbench list problems | head -1`: stop quietly, as Unix tools do
            return 141
        raise
    except UnicodeDecodeError as exc:
        return _error(f"a file is not UTF-8 text ({exc}); save it as UTF-8")
    except OSError as exc:
        where = f" {str(exc.filename)!r}" if exc.filename else ""
        return _error(f"cannot access{where}: {exc.strerror or exc} (check the path, its permissions and the free "
                      "disk space; runs already finished are in the results database)")


def _error(message: str, code: int = 2) -> int:
    print(f"optbench: error: {message}", file=sys.stderr)
    return code


def _reopen_closed_standard_streams() -> None:
    """Give a closed descriptor 0, 1 or 2 (``2>&-``) to ``/dev/null``, as Unix daemons do, so
    that no file opened later takes its number and every write to it succeeds unseen."""
    import os

    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")


class _Diagnostics:
    """``sys.stderr`` for the duration of a command: messages and the progress bar are
    diagnostics, so a reader that has gone away (a closed pipe) drops them and the work goes on."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except (BrokenPipeError, ValueError):  # ValueError: the stream was closed
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except (BrokenPipeError, ValueError):
            self._drop()

    def _drop(self) -> None:
        import os

        self._stream = open(os.devnull, "w")

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it; if so, point it at ``/dev/null``
    so that the interpreter's last flush cannot fail again."""
    import os
    import select

    try:
        fd = sys.stdout.fileno()
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        gone = any(events & select.POLLERR for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return False
    if gone:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)
    return gone


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
