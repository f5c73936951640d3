"""Verdicts that compare like with like (issue 13): configuration labels, experiments, rankings on
common instances, test-loss verdicts, one counting convention, fair axes, seed-noise claims."""
from __future__ import annotations

import math

import numpy as np
import pytest

import optbench
from optbench.labels import configuration_labels, format_value
from optbench.report import summary_table
from optbench.runner import RunRecord


def record(key, problem, optimizer, seed, fun, *, nfev=None, status="budget", f_star=0.0, params=None, hp=None,
           budget=None, dtype="float64", device="cpu", suite="s"):
    """A hand-made run record: ``fun`` is the trace, row ``k`` the iterate after ``k`` steps."""
    fun = np.asarray(fun, dtype=float)
    n = fun.size
    nfev = np.arange(1, n + 1) if nfev is None else np.asarray(nfev)
    trace = {"step": np.arange(n), "fun": fun, "nfev": nfev, "seconds": np.linspace(0, 1e-3 * n, n)}
    finite = fun[np.isfinite(fun)]
    return RunRecord(key=key, problem=problem, problem_params=params or {}, optimizer=optimizer,
                     hyperparameters=hp or {}, seed=seed, device=device, dtype=dtype, budget=budget or {},
                     status=status, message="", fun=float(fun[-1]), best=float(finite.min()) if finite.size else math.nan,
                     f0=float(fun[0]), f_star=f_star, steps=n - 1, nfev=int(nfev[-1]), njev=int(nfev[-1]),
                     seconds=1e-3 * n, trace=trace, suite=suite)


def store_of(tmp_path, records, name="results.sqlite"):
    store = optbench.Store(tmp_path / name)
    for r in records:
        store.add(r)
    store.close()
    return optbench.load(tmp_path / name)


# ---------------------------------------------------------------------------------------
# 3. Configurations never merge silently
# ---------------------------------------------------------------------------------------
def test_format_value_reads_like_the_issue():
    assert [format_value(v) for v in (1e-3, 0.01, 3e-4, 0.9, 1e-8, 2.0, 64, [0.9, 0.999])] == [
        "1e-3", "0.01", "3e-4", "0.9", "1e-8", "2", "64", "[0.9,0.999]"]


def test_configurations_that_differ_in_hyperparameters_budget_dtype_or_device_are_distinct_ids(tmp_path):
    ros = {"dim": 2, "start": "standard"}
    gd_default = optbench.get_optimizer("gd").resolve({})
    runs = [
        record("a", "rosenbrock", "gd", 0, [3.0, 2.0], params=ros, hp=gd_default, budget={"max_steps": 1}),
        record("b", "rosenbrock", "gd", 0, [3.0, 2.5], params=ros, hp={**gd_default, "lr": 1e-3},
               budget={"max_steps": 1}),
        record("c", "rosenbrock", "gd", 0, [3.0, 2.0], params=ros, hp=gd_default, budget={"max_steps": 1},
               dtype="float32"),
        record("d", "rosenbrock", "gd", 0, [3.0, 2.0, 1.0], params=ros, hp=gd_default, budget={"max_steps": 2}),
        record("e", "rosenbrock", "gd", 0, [3.0, 2.0], params={**ros, "dim": 10}, hp=gd_default,
               budget={"max_steps": 1}),
    ]
    results = store_of(tmp_path, runs)
    ids = set(zip(results.runs["problem_id"], results.runs["optimizer_id"]))
    assert ids == {("rosenbrock[max_steps=1]", "gd"), ("rosenbrock[max_steps=1]", "gd[lr=1e-3]"),
                   ("rosenbrock[float32]", "gd"), ("rosenbrock[max_steps=2]", "gd"), ("rosenbrock[dim=10]", "gd")}
    table = summary_table(results)  # the terminal summary: one row per configuration
    assert len(table) == 5 and set(table["runs"]) == {1}
    assert set(zip(table["problem_id"], table["optimizer_id"])) == ids


def test_labels_fall_back_to_what_varies_for_names_the_registry_does_not_know():
    import pandas as pd

    runs = pd.DataFrame({"problem": ["mine", "mine"], "problem_params": [{"n": 1}, {"n": 2}],
                         "optimizer": ["myopt", "myopt"], "hyperparameters": [{"lr": 0.5, "b": 1}, {"lr": 0.5, "b": 2}],
                         "budget": [{}, {}], "dtype": ["float64"] * 2, "device": ["cpu", "cuda:0"]})
    assert configuration_labels(runs) == (["mine[n=1]", "mine[n=2]"], ["myopt[b=1]", "myopt[b=2]"])
    runs["problem_params"] = [{"n": 1}, {"n": 1}]
    assert configuration_labels(runs)[0] == ["mine[cpu]", "mine[cuda:0]"]


# ---------------------------------------------------------------------------------------
# 1. Experiments
# ---------------------------------------------------------------------------------------
def test_a_version_1_store_is_migrated_to_experiments_by_suite_label(tmp_path):
    import sqlite3

    runs = [record(k, "sphere", "gd", 0, [1.0, 0.5], suite=label)
            for k, label in (("a", "quick"), ("b", "tune:fair"), ("c", "tuned:fair"), ("d", "fair"))]
    store_of(tmp_path, runs)
    conn = sqlite3.connect(tmp_path / "results.sqlite")
    conn.execute("DROP TABLE experiments")
    conn.execute("UPDATE meta SET value = '1' WHERE name = 'schema_version'")
    conn.commit()
    conn.close()
    results = optbench.load(tmp_path / "results.sqlite")  # read-only: the experiments derived in memory
    assert results.experiment_names() == ["fair", "quick"]
    assert set(results.experiment("fair").runs["key"]) == {"b", "c", "d"}
    optbench.Store(tmp_path / "results.sqlite").close()  # opened for writing: migrated in the file
    assert optbench.load(tmp_path / "results.sqlite").experiment_names() == ["fair", "quick"]
    conn = sqlite3.connect(tmp_path / "results.sqlite")
    assert conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == (
        str(optbench.store.SCHEMA_VERSION),)
    assert conn.execute("SELECT COUNT(*) FROM experiments").fetchone() == (4,)


def test_each_command_files_and_reports_exactly_its_runs(tmp_path, monkeypatch, capsys):
    from optbench.cli import main
    from optbench.errors import ConfigError
    from optbench.report import write_report

    monkeypatch.chdir(tmp_path)
    reported = {}  # the runs each report would hold (drawing it is tested elsewhere)
    monkeypatch.setattr("optbench.report.write_report", lambda results, out, **kw: reported.setdefault(
        str(out), sorted(results.runs["problem"] + "/" + results.runs["optimizer"])) and {"html": out})
    common = ["--max-steps", "3", "--db", "r.sqlite", "-q", "--no-spectrum"]
    first = ["run", "--problems", "sphere", "--optimizers", "gd,lbfgs", *common, "--no-report"]
    second = ["run", "--problems", "sphere,booth", "--optimizers", "gd", *common, "--report", "rep"]
    assert main(first) == 0
    name1 = capsys.readouterr().err.split("experiment ", 1)[1].split(":", 1)[0]
    assert main(second) == 0
    err = capsys.readouterr().err
    name2 = err.split("experiment ", 1)[1].split(":", 1)[0]
    assert name1.startswith("sphere_gd-lbfgs-") and name2.startswith("sphere-booth_gd-") and name1 != name2
    assert "2 runs (2 problems x 1 optimizer x 1 seed)" in err and "2 of 2 runs stored" in err
    # the second command's report holds its two runs, one of them computed by the first command
    assert reported == {"rep": ["booth/gd", "sphere/gd"]}
    assert main(first) == 0  # the same command: the same experiment, nothing recomputed
    assert f"experiment {name1}:" in capsys.readouterr().err
    # `report --name` reads that experiment's runs alone (one of them shared with the other)
    assert main(["report", "--db", "r.sqlite", "--name", name1, "-o", "rep1"]) == 0
    assert reported["rep1"] == ["sphere/gd", "sphere/lbfgs"]
    capsys.readouterr()
    assert main(["report", "--db", "r.sqlite", "--name", "nope", "-o", "rep2"]) == 2
    assert "no runs of experiment 'nope'" in capsys.readouterr().err and "rep2" not in reported

    assert main(["list", "experiments", "--db", "r.sqlite"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split() == ["NAME", "RUNS", "PROBLEMS", "OPTIMIZERS", "SEEDS", "FIRST", "LAST"]
    assert sorted(line.split()[:5] for line in listing[1:]) == sorted(
        [[name1, "2", "1", "2", "1"], [name2, "2", "2", "1", "1"]])

    results = optbench.load("r.sqlite")
    with pytest.raises(ConfigError, match="hold 2 experiments"):
        write_report(results, tmp_path / "mixed")
    assert main(["run", "--problems", "sphere", "--optimizers", "gd", "--name", "bad/name", *common]) == 2


def test_report_without_a_name_writes_one_report_per_experiment_and_an_index(tmp_path, monkeypatch):
    import optbench.report
    from optbench.report import write_reports

    real = optbench.report.write_report
    reported = {}

    def only_the_two(results, out, **kw):  # draw the small experiment only; record what each holds
        reported[kw["experiment"]] = sorted(results.experiment(kw["experiment"]).runs["key"])
        if kw["experiment"] == "two":
            return real(results, out, **kw)
        (out / "index.html").parent.mkdir(parents=True)
        (out / "index.html").write_text("one")
        return {"html": out / "index.html"}

    monkeypatch.setattr(optbench.report, "write_report", only_the_two)

    runs = [record("a", "sphere", "gd", 0, [1.0, 0.5], suite="one"), record("b", "sphere", "gd", 1, [1.0, 0.4],
                                                                              suite="one"),
            record("c", "booth", "adam", 0, [2.0, 1.0], suite="two")]
    paths = write_reports(store_of(tmp_path, runs), tmp_path / "out")
    index = paths["index"].read_text()
    assert 'href="one/index.html"' in index and 'href="two/index.html"' in index
    assert reported == {"one": ["a", "b"], "two": ["c"]}
    assert "1 optimizer on 1 problem" in paths["two"].read_text() and "sphere" not in paths["two"].read_text()


# ---------------------------------------------------------------------------------------
# 2. Like with like: common instances, shared places
# ---------------------------------------------------------------------------------------
def test_overall_ranking_uses_common_instances_and_ties_share_a_place(tmp_path):
    from optbench.report import build_report

    finals = {("p1", "lbfgs"): 1e-10, ("p1", "gd"): 1e-3, ("p1", "adam"): 1e-2, ("p1", "signsgd"): 1e-12,
              ("p2", "lbfgs"): 1e-10, ("p2", "gd"): 1e-2, ("p2", "adam"): 1e-3}
    runs = [record(f"{p}-{o}", p, o, 0, [1.0, final]) for (p, o), final in finals.items()]
    report, tables = build_report(store_of(tmp_path, runs))
    overall = tables["ranks_overall"].set_index("optimizer_id")
    assert list(overall.index) == ["lbfgs", "adam", "gd"]  # signsgd ran p1 only: not ranked
    assert overall["place"].tolist() == ["1", "2=", "2="] and overall.loc["gd", "mean_rank"] == 2.5
    ranking = next(s for s in report.sections if s.id == "ranking")
    text = " ".join(str(getattr(b, "items", getattr(b, "text", ""))) for b in ranking.blocks)
    assert "signsgd: not ranked overall: ran 1 of 2 problems (1 of 2 instances)" in text
    assert "2= adam ranks 2.50" in text and "2= gd ranks 2.50" in text
    assert set(tables["ranks"]["optimizer_id"]) == {"lbfgs", "adam", "gd"}


# ---------------------------------------------------------------------------------------
# 4. Training problems are judged on held-out data
# ---------------------------------------------------------------------------------------
def test_a_training_problem_with_a_test_split_is_ranked_by_its_test_loss(tmp_path):
    """The fair report's mlp-mixture: lbfgs fits the training data best (training gap 0 against
    its own best-observed reference) but its test loss is by far the worst."""
    from optbench import metrics
    from optbench.report import build_report

    net = {"samples": 48, "features": 3, "classes": 2, "width": 6, "depth": 1}
    runs = []
    for opt, train, test in (("lbfgs", [0.7, 0.05, 0.01], [0.7, 2.0, 4.1]), ("adam", [0.7, 0.4, 0.2],
                                                                           [0.7, 0.4, 0.31]),
                             ("gd", [0.7, 0.6, 0.5], [0.7, 0.6, 0.55])):
        for seed in (0, 1):
            r = record(f"{opt}{seed}", "mlp-mixture", opt, seed, train, f_star=None, params=net,
                       hp=optbench.get_optimizer(opt).resolve({}), dtype="float32")
            r.evals = {"test_loss": (np.array([0, 1, 2]), np.array(test)),
                       "test_accuracy": (np.array([0, 1, 2]), np.array([0.5, 0.6, 0.7 if opt != "lbfgs" else 0.55]))}
            runs.append(r)
    results = store_of(tmp_path, runs)
    verdict = metrics.verdict_metric(results.runs, results.evals).set_index("key")
    assert set(verdict["metric"]) == {"test_loss"} and verdict.loc["lbfgs0", "value"] == 4.1
    report, tables = build_report(results)
    overall = tables["ranks_overall"].set_index("optimizer_id")
    assert list(overall.index) == ["adam", "gd", "lbfgs"]
    summary = tables["summary"].set_index("optimizer_id")
    assert set(summary["metric"]) == {"test_loss"} and summary.loc["lbfgs", "median_test_loss"] == 4.1
    assert summary.loc["adam", "median_test_accuracy"] == 0.7
    ranking = next(s for s in report.sections if s.id == "ranking")
    titles = [getattr(b, "title", "") for b in ranking.blocks]
    assert any("Second view, not the verdict" in t for t in titles)  # the training loss, labelled apart
    per_problem = next(b for b in ranking.blocks if getattr(b, "title", "").startswith("Rank per problem"))
    assert per_problem.frame["judged by"].tolist() == ["test loss − best observed"]


# ---------------------------------------------------------------------------------------
# 5. One counting convention
# ---------------------------------------------------------------------------------------
def test_a_target_hit_after_one_step_costs_one_step_everywhere():
    import pandas as pd

    from optbench import metrics as M

    runs = pd.DataFrame({"key": ["a", "b"], "problem_id": "p", "optimizer_id": ["A", "B"], "seed": 0,
                         "f_star": 0.0, "best": [0.01, 0.08], "fun": [0.01, 0.08], "status": "budget",
                         "steps": [2, 3], "nfev": [4, 4]})
    traces = pd.DataFrame({"key": ["a"] * 3 + ["b"] * 4, "step": [0, 1, 2, 0, 1, 2, 3],
                           "fun": [1.0, 0.05, 0.01, 1.0, 0.5, 0.2, 0.08], "nfev": [1, 3, 4, 1, 2, 3, 4],
                           "seconds": [0.0, 0.1, 0.2, 0.0, 0.1, 0.2, 0.3]})
    hits = M.hitting_times(runs, traces, gaps=(1e-1,), taus=())
    assert hits.set_index("key")[["step", "nfev"]].to_dict("index") == {"a": {"step": 1.0, "nfev": 3.0},
                                                                          "b": {"step": 3.0, "nfev": 4.0}}
    table = M.time_to_target(hits, runs).set_index("optimizer_id")
    assert table.loc["A", "median_steps"] == 1 and table.loc["A", "median_nfev"] == 3
    ecdf = M.runtime_ecdf(hits, kind="gap", measure="step").set_index(["optimizer_id", "runtime"])["fraction"]
    assert ecdf[("A", 1.0)] == 1.0 and ecdf[("B", 1.0)] == 0.0 and ecdf[("B", 3.0)] == 1.0
    assert M.performance_ratios(hits, kind="gap", target=1e-1, measure="step").iloc[0].tolist() == [1.0, 3.0]
    assert M.budget_spent(runs, "step").to_dict() == {"A": 2.0, "B": 3.0}  # the budget markers
    bands = M.convergence_bands(runs, traces, x="steps").set_index(["optimizer_id", "x"])["median"]
    assert bands[("A", 1.0)] == 0.05 and bands[("B", 3.0)] == 0.08


# ---------------------------------------------------------------------------------------
# 6. Axes that compare fairly
# ---------------------------------------------------------------------------------------
def test_axes_default_to_evaluations_pool_dimensions_mark_divergence_and_name_the_ladder(tmp_path):
    from optbench import metrics
    from optbench.report import build_report

    assert len(metrics.COCO_TARGETS) == 51 and metrics.COCO_TARGETS[0] == 100.0
    assert metrics.COCO_TARGETS[-1] == 1e-8 and metrics.COCO_TARGETS[5] == 10.0  # five per decade
    runs = []
    for problem, params, dim in (("rosenbrock", {"dim": 2, "start": "standard"}, 2),
                                 ("rosenbrock", {"dim": 8, "start": "standard"}, 8)):
        for opt, fun, status in (("gd", [1.0, 0.1, 1e-3], "budget"), ("newton-cg", [1.0, 1e-4, 1e-9], "budget"),
                                 ("adam", [1.0, 5.0, np.inf], "diverged")):
            r = record(f"{opt}{dim}", problem, opt, 0, fun, params=params, status=status, nfev=[1, 10, 20])
            r.dim = dim
            runs.append(r)
    results = store_of(tmp_path, runs)
    report, tables = build_report(results, targets="coco")
    figures = {f.id: f for f in report.figures()}
    conv = figures["convergence-1"].figure
    assert conv.axes[0].get_xlabel() == "function+gradient evaluations"
    legend = [t.get_text() for t in conv.legends[0].get_texts()]
    assert any(t.startswith("diverged: 2 runs") for t in legend)
    ecdf = figures["ecdf"].figure.axes[0]
    assert ecdf.get_xlabel() == "function+gradient evaluations / dimension (log)"
    assert "51 targets" in ecdf.get_title() and "dimension" in figures["ecdf"].caption
    gap_targets = tables["time_to_target"].query("kind == 'gap'")["target"].unique()
    assert len(gap_targets) == 51
    assert "COCO's absolute targets" not in " ".join(str(getattr(b, "items", "")) for s in report.sections
                                                    for b in s.blocks)


# ---------------------------------------------------------------------------------------
# 7. Seed noise claims are true
# ---------------------------------------------------------------------------------------
def test_identical_seeds_are_called_replicates_and_no_seed_noise_is_claimed(tmp_path):
    from optbench.report import build_report

    runs = [record(f"{p}-{o}-{seed}", p, o, seed, [1.0, final])  # the same result for every seed
            for p, finals in (("p1", {"lbfgs": 1e-9, "gd": 1e-2}), ("p2", {"lbfgs": 1e-9, "gd": 1e-3}))
            for o, final in finals.items() for seed in range(3)]
    report, _ = build_report(store_of(tmp_path, runs))
    ranking = next(s for s in report.sections if s.id == "ranking")
    text = " ".join(str(getattr(b, "items", getattr(b, "text", ""))) for b in ranking.blocks)
    assert ("Seeds are replicates (standard start, deterministic method): no seed noise measured; use "
            "start=random") in text
    assert "beyond seed noise" not in text.replace("claimed to be beyond seed noise", "")
    assert "bootstrap CI over seeds;" not in text and "no seed noise measured)" in text
    table = next(b for b in ranking.blocks if getattr(b, "title", "").startswith("Rank per problem"))
    assert table.frame["lbfgs"].tolist() == ["1.00 (replicates)"] * 2


# ---------------------------------------------------------------------------------------
# 8. The run header counts right
# ---------------------------------------------------------------------------------------
def test_run_header_claims_a_grid_only_when_the_runs_are_one():
    from types import SimpleNamespace

    from optbench.cli import run_header

    budget = optbench.Budget(max_steps=10)

    def job(problem, lr, seed):
        return SimpleNamespace(problem=problem, problem_params={}, budget=budget, dtype="float64", optimizer="gd",
                               hyperparameters={"lr": lr}, seed=seed)

    # tuned learning rates differ by problem: 2 problems x 1 optimizer x 5 seeds = 10 runs, 2 configurations
    tuned = [job(p, lr, s) for p, lr in (("a", 0.1), ("b", 0.01)) for s in range(5)]
    assert run_header("e", tuned, "r.sqlite") == (
        "experiment e: 10 runs (2 problems, 2 optimizer configurations, 5 seeds: not every combination) -> r.sqlite")
    grid = [job(p, lr, s) for p in "ab" for lr in (0.1, 0.01) for s in range(5)]
    assert run_header("e", grid, "r.sqlite") == "experiment e: 20 runs (2 problems x 2 optimizers x 5 seeds) -> r.sqlite"
