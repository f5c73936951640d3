"""The report: every figure type from a small results set, a self-contained escaped HTML page,
Markdown and CSV tables, suite filtering, and the summary table the CLI prints."""
from __future__ import annotations

import math
import subprocess
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import optbench
from optbench.errors import ConfigError
from optbench.report import summary_table, write_report
from optbench.runner import RunRecord

EVIL = "<script>alert(1)</script>"


BUDGET = optbench.Budget(max_steps=40, target_gap=1e-8)


def synthetic(key, problem, optimizer, seed, fun, *, status="budget", message="", f_star=0.0, x=None,
              suite="quick", params=None, hp=None):
    """A hand-made run record (the store does not check names against the registry), with the
    budget of the real runs so that it is the same configuration."""
    fun = np.asarray(fun, dtype=float)
    n = fun.size
    trace = {"step": np.arange(n), "fun": fun, "nfev": np.arange(1, n + 1), "seconds": np.linspace(0, 1e-3 * n, n)}
    if x is not None:
        trace["x"] = np.asarray(x, dtype=float)
    finite = fun[np.isfinite(fun)]
    return RunRecord(key=key, problem=problem, problem_params=params or {}, optimizer=optimizer,
                     hyperparameters=hp or {}, seed=seed, device="cpu", dtype="float64", budget=BUDGET.to_dict(), status=status,
                     message=message, fun=float(fun[-1]), best=float(finite.min()) if finite.size else math.nan,
                     f0=float(fun[0]), f_star=f_star, steps=n - 1, nfev=n, njev=n, seconds=1e-3 * n, trace=trace,
                     suite=suite)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "results.sqlite"
    store = optbench.Store(path)
    budget = BUDGET
    problems = [("sphere", {"start": "random"}), ("rosenbrock", {}), ("quadratic", {"dim": 4, "kappa": 10.0})]
    optimizers = [("gd", {"lr": 0.001}), ("gd", {"lr": 0.01}), ("gd", {"lr": 0.1}), ("adam", {"lr": 0.05}), ("lbfgs", {})]
    for (problem, params) in problems:
        for opt, hp in optimizers:
            for seed in (0, 1):
                store.add(optbench.run(problem, opt, hyperparameters=hp, seed=seed, budget=budget,
                                       problem_params=params, suite="quick"))
    net = {"samples": 48, "features": 3, "classes": 2, "width": 6, "depth": 1}
    for opt, hp in (("adam", {"lr": 0.05}), ("lbfgs", {})):
        for seed in (0, 1):
            store.add(optbench.run("mlp-mixture", opt, hyperparameters=hp, seed=seed, problem_params=net,
                                   budget=optbench.Budget(max_steps=20, eval_every=5), suite="quick"))
    # a plugin with a hostile name, a failure, and a problem that is no longer registered
    path_x = np.array([[1.0, 1.0], [0.5, 0.2], [0.1, 0.0]])
    store.add(synthetic("evil0", "sphere", EVIL, 0, [2.0, 0.3, 0.01], x=path_x,
                        params={"start": "random", "dim": 2}))
    store.add(synthetic("fail0", "rosenbrock", "boom", 0, [24.2], status="failed",
                        params={"start": "standard", "dim": 2}, message=f"RuntimeError: {EVIL} exploded\nsecond line"))
    store.add(synthetic("gone0", "retired-problem", "lbfgs", 0, [5.0, 1.0, 0.0], x=path_x,
                        hp=optbench.get_optimizer("lbfgs").resolve({})))
    store.add(synthetic("alone0", "booth", "adam", 0, [3.0, 1.0], suite="other"))  # another experiment
    store.close()
    return optbench.load(path)


@pytest.fixture(scope="module")
def report(results, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    results.runs["eig_min"] = np.where(results.runs["optimizer"] == "lbfgs", 1e-2, -0.5)
    results.runs["eig_max"] = 3.0
    results.runs["condition"] = 300.0
    results.runs["n_negative"] = np.where(results.runs["optimizer"] == "lbfgs", 0, 1)
    results.runs["spectrum_method"] = "dense"
    try:
        paths = write_report(results, out, title=f"Benchmark {EVIL}", experiment="quick")
    finally:
        results.runs = results.runs.drop(columns=["eig_min", "eig_max", "condition", "n_negative", "spectrum_method"])
    return paths


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Collector:
    p = _Collector()
    p.feed(html)
    p.close()
    return p


FIGURE_IDS = ["convergence-1", "performance-profile", "data-profile", "ecdf", "trajectories-1",
              "final-gap-heatmap", "time-per-step", "lr-sweep-1", "spectrum", "evaluations-1"]


def test_every_figure_type_is_written_and_embedded(report):
    html = report["html"].read_text()
    doc = parse(html)
    images = [a for t, a in doc.tags if t == "img"]
    figures = {a["id"] for t, a in doc.tags if t == "figure"}
    for fid in FIGURE_IDS:
        assert f"fig-{fid}" in figures, fid
        png = (report["figures"] / f"{fid}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
    assert len(images) == len(figures) == len(list(report["figures"].glob("*.png")))
    assert all(a["src"].startswith("data:image/png;base64,") for a in images)


def test_html_is_self_contained_and_escapes_every_name(report):
    html = report["html"].read_text()
    doc = parse(html)
    assert EVIL not in html and "<script" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert any(EVIL in t for t in doc.text)  # shown to the reader, as text
    assert not any(t in ("script", "link", "iframe") for t, _ in doc.tags)
    external = [a for t, a in doc.tags for k in ("src", "href") if a.get(k, "").startswith(("http:", "https:", "//"))]
    assert external == []
    assert doc.tags[0][0] == "html" and ("title", {}) in doc.tags


def test_summary_states_ranks_with_intervals_statuses_and_failures(report):
    html = report["html"].read_text()
    text = " ".join(parse(html).text)
    assert "lbfgs ranks 1." in text and "bootstrap CI over seeds" in text
    for status in ("converged", "budget", "stopped", "diverged", "failed", "timeout"):
        assert status in text
    assert f"RuntimeError: {EVIL} exploded" in text and "second line" not in text  # first line only
    assert "retired-problem: not drawn, the problem is no longer registered" in text
    assert "Where did the runs end?" in text


def test_markdown_has_tables_and_escaped_names(report):
    md = report["markdown"].read_text()
    assert "<script" not in md and "&lt;script&gt;" in md
    assert "| problem\\_id |" in md  # GitHub pipe tables, Markdown punctuation escaped
    assert any(line.startswith("|:---|") and "---:" in line for line in md.splitlines())
    for fid in FIGURE_IDS:
        assert f"(figures/{fid}.png)" in md
    table_lines = [line for line in md.splitlines() if line.startswith("|")]
    assert len({line.count("|") - line.count("\\|") for line in table_lines[:2]}) == 1  # header = separator


def test_csv_tables(report, results):
    quick = results.experiment("quick").runs
    runs = pd.read_csv(report["runs"])
    assert len(runs) == len(quick) == len(results.runs) - 1 and {"f_ref", "reference", "final_gap"} <= set(runs.columns)
    ranks = pd.read_csv(report["ranks"])
    assert {"problem_id", "optimizer_id", "rank", "rank_low", "rank_high"} <= set(ranks.columns)
    assert (ranks["rank_low"] <= ranks["rank"]).all() and (ranks["rank"] <= ranks["rank_high"]).all()
    overall = pd.read_csv(report["ranks_overall"])
    assert overall["mean_rank"].is_monotonic_increasing
    ttt = pd.read_csv(report["time_to_target"])
    assert set(ttt["kind"]) == {"gap", "reduction"} and "aRT_nfev" in ttt
    summary = pd.read_csv(report["summary"])
    assert summary["runs"].sum() == len(quick)


def test_summary_table_counts_statuses(results):
    table = summary_table(results)
    statuses = ["converged", "budget", "stopped", "diverged", "failed", "timeout"]
    assert (table[statuses].sum(axis=1) == table["runs"]).all()
    row = table.set_index(["problem_id", "optimizer_id"]).loc[("rosenbrock", "boom")]
    assert row["failed"] == 1 and row["median_final_gap"] == math.inf
    assert {"median_seconds", "median_nfev", "reference"} <= set(table.columns)
    assert set(summary_table(results, suite="other")["problem_id"]) == {"booth"}


def test_suite_filter_and_unknown_suite(results, tmp_path):
    paths = write_report(results, tmp_path / "other", suite="other")
    runs = pd.read_csv(paths["runs"])
    assert set(runs["suite"]) == {"other"}
    html = paths["html"].read_text()
    assert "experiment other" in html and 'id="spectrum"' not in html  # no spectrum columns: section skipped
    with pytest.raises(ConfigError, match="experiments present: 'other', 'quick'"):
        summary_table(results, suite="nope")


def test_convergence_against_evaluations_and_time(results):
    from optbench import metrics
    from optbench.report import figures

    runs = metrics.with_reference(results.runs)
    figs = figures.convergence(runs, results.traces, figures.make_palette(runs["optimizer_id"]), "evals")
    assert len(figs) == 1 and figs[0].png.startswith(b"\x89PNG")
    bands = metrics.convergence_bands(runs, results.traces, x="seconds")
    last = bands.groupby(["problem_id", "optimizer_id"])["x"].max()
    spent = results.traces.groupby(["problem_id", "optimizer_id"])["seconds"].max()
    assert np.allclose(last, spent.reindex(last.index))  # each band spans its runs' time


def test_bad_x_is_a_config_error(results, tmp_path):
    with pytest.raises(ConfigError, match="steps, evals, seconds"):
        write_report(results, tmp_path, x="walltime")


def test_palette_is_built_from_sorted_ids_and_labels_are_safe_for_matplotlib():
    from optbench.report import figures

    a = figures.make_palette(["lbfgs", "adam", "gd"])
    b = figures.make_palette(["gd", "lbfgs", "adam", "adam"])
    assert a == b and list(a) == ["adam", "gd", "lbfgs"] and len(set(a.values())) == 3
    assert len(set(figures.make_palette([f"o{i}" for i in range(14)]).values())) == 14
    label = figures._label("price$" + "x" * 100, width=20, lines=2)
    assert r"\$" in label and label.count("\n") == 1 and label.endswith("…")


def test_importing_the_report_package_does_not_import_matplotlib():
    code = "import sys, optbench.report, optbench.compare; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
