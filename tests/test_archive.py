"""Frozen, versioned suites and their shipped baseline archives (issue 20): instances hashes
pinned, the hash stored with every run, archives that keep exact times to target, reports that
put a new optimizer beside archived baselines, and re-runs that reproduce them."""
from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

import optbench
from optbench import archive, metrics
from optbench.cli import main as cli_main
from optbench.errors import ConfigError
from optbench.execute import execute
from optbench.store import Store
from optbench.suite import builtin_suites, load_suite, parse_suite

# The instances hash of every frozen suite. A failure here means a frozen suite's problems,
# parameters (registered defaults included), budgets, dtype or seeds changed: restore them, or
# make a new version (a new file, e.g. classic-v2.toml) with its own archive and pin it here.
FROZEN = {"classic-v1": "4e6a21a42c2d652c", "training-v1": "9c93e5137ae1483c"}

TINY = """
name = "tiny-v1"
frozen = true
seeds = 2
device = "cpu"
spectrum = false

[budget]
max_evals_per_dim = 20
target_gap = 1e-8

[[problems]]
name = "rosenbrock"
params = { start = "random" }

[[problems]]
name = "sphere"
params = { dim = 3, start = "random" }

[[optimizers]]
name = "lbfgs"

[[optimizers]]
name = "adam"
"""


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_frozen_suites_keep_their_instances(name):
    suite = load_suite(name)
    assert suite.frozen
    assert suite.instances_hash() == FROZEN[name], (
        f"the instances of the frozen suite {name} changed; a frozen suite is never edited: make {name[:-1]}"
        f"{int(name[-1]) + 1} instead")


def test_every_frozen_suite_is_pinned_and_ships_an_archive():
    frozen = {name for name, text in builtin_suites().items() if parse_suite(text).frozen}
    assert frozen == set(FROZEN)
    assert set(archive.shipped()) == frozen
    for name in frozen:
        assert archive._meta(archive.shipped()[name])["suite_hash"] == FROZEN[name]


def test_the_hash_sees_a_changed_instance_but_not_a_changed_optimizer(monkeypatch):
    text = builtin_suites()["classic-v1"]
    pinned = FROZEN["classic-v1"]
    assert parse_suite(text.replace("seeds = 5", "seeds = 4")).instances_hash() != pinned
    assert parse_suite(text.replace("max_evals_per_dim = 100", "max_evals_per_dim = 101")).instances_hash() != pinned
    assert parse_suite(text.replace('name = "adam"\n', 'name = "adam"\nhyperparameters = { lr = 0.5 }\n')
                       ).instances_hash() == pinned
    # a registered default of a problem changes the instances too, though the file does not change
    spec = optbench.registry.PROBLEMS.get("ellipsoid")
    monkeypatch.setitem(spec.params, "kappa", 1e4)
    assert parse_suite(text).instances_hash() != pinned


def test_budget_per_dimension_resolves_per_problem():
    suite = parse_suite(TINY)
    budgets = {j.problem: j.budget for j in suite.jobs()}
    assert (budgets["rosenbrock"].max_evals, budgets["rosenbrock"].max_steps) == (40, 40)
    assert (budgets["sphere"].max_evals, budgets["sphere"].max_steps) == (60, 60)
    assert {j.problem: j.budget.max_evals for j in suite.with_budget(max_evals=7).jobs()} == {"rosenbrock": 7,
                                                                                            "sphere": 7}
    with pytest.raises(ConfigError, match="both max_evals and max_evals_per_dim"):
        parse_suite(TINY.replace("max_evals_per_dim = 20", "max_evals_per_dim = 20\nmax_evals = 5")).jobs()
    with pytest.raises(ConfigError, match="no fixed dimension"):
        parse_suite(TINY.replace('name = "sphere"\nparams = { dim = 3, start = "random" }',
                                 'name = "logreg-binary"')).jobs()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny frozen suite run into a store (adam batched over its seeds, lbfgs row-wise),
    and its archive."""
    folder = tmp_path_factory.mktemp("tiny")
    suite_file = folder / "tiny-v1.toml"
    suite_file.write_text(TINY, encoding="utf-8")
    suite = load_suite(str(suite_file))
    jobs = suite.jobs()
    with Store(folder / "full.sqlite") as store:
        execute(jobs, store, progress=False)
    meta = archive.write(folder / "full.sqlite", folder / "tiny-v1.npz", suite="tiny-v1",
                         suite_hash=suite.instances_hash())
    return folder, suite_file, jobs, meta


def test_the_suite_hash_is_stored_with_every_run(tiny):
    folder, _, jobs, _ = tiny
    results = optbench.load(folder / "full.sqlite")
    assert set(results.experiments["suite_hash"]) == {jobs[0].suite_hash}
    assert len(results.experiments) == len(jobs) == 8


def test_an_archive_keeps_summaries_and_exact_times_to_target(tiny):
    folder, _, _, meta = tiny
    full = optbench.load(folder / "full.sqlite")
    arch = archive.read(folder / "tiny-v1.npz")
    assert meta["runs"] == len(arch.runs) == len(full.runs)
    assert arch.meta["environment"]["torch"] == full.runs["environment"].iloc[0]["torch"]
    mine = full.runs.set_index("key").sort_index()
    theirs = arch.runs.set_index("key").sort_index()
    for column in ("status", "steps", "nfev", "fun", "best", "gap", "seconds"):
        assert mine[column].tolist() == theirs[column].tolist(), column
    seconds = lambda h: h["seconds"].astype(np.float32)  # noqa: E731  (archived traces keep 7 digits)
    assert len(arch.traces) < len(full.traces)
    runs = full.runs.assign(problem_id=full.runs["problem"], optimizer_id=full.runs["optimizer"])
    ids = runs[["key", "problem_id", "optimizer_id", "seed", "f_star"]]
    thinned = arch.traces.merge(ids, on="key")
    exact = metrics.hitting_times(runs, full.traces.drop(columns=["problem_id", "optimizer_id"]).merge(
        ids[["key", "problem_id", "optimizer_id"]], on="key"))
    from_archive = metrics.hitting_times(runs, thinned)
    assert exact["hit"].sum() > 20  # targets were reached, so the check below has something to check
    exact, from_archive = (h.sort_values(["key", "kind", "target"]).reset_index(drop=True) for h in (exact, from_archive))
    assert exact.drop(columns="seconds").equals(from_archive.drop(columns="seconds"))
    assert seconds(exact).equals(seconds(from_archive))


def test_kept_rows_keep_each_first_hit_and_log_spaced_points():
    fun = np.concatenate([np.geomspace(1.0, 1e-9, 400), np.full(600, 1e-9)])
    rows = archive.kept_rows(np.arange(1000), fun, 0.0)
    for t in metrics.GAP_TARGETS:
        assert np.flatnonzero(fun <= t)[0] in rows
    assert rows[0] == 0 and rows[-1] == 999 and len(rows) <= archive.TRACE_POINTS + len(metrics.GAP_TARGETS) + 3
    assert set(archive.kept_rows(np.arange(100), np.ones(100), None, eval_steps=[25, 50])) >= {25, 50}


def test_a_report_puts_new_runs_beside_the_archived_ones(tiny, tmp_path, monkeypatch):
    folder, suite_file, _, _ = tiny
    monkeypatch.setattr(archive, "shipped", lambda: {"tiny-v1": folder / "tiny-v1.npz"})
    monkeypatch.chdir(tmp_path)
    code = cli_main(["run", str(suite_file), "--optimizers", "gd", "--db", "new.sqlite", "-q",
                              "--report", "rep"])
    assert code == 0
    page = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert "Archived baselines" in page and "adam [archived]" in page and "lbfgs [archived]" in page
    assert "built " in page and archive.read(folder / "tiny-v1.npz").meta["suite_hash"] in page
    ranks = (tmp_path / "rep" / "ranks_overall.csv").read_text(encoding="utf-8")
    assert "gd" in ranks and "adam [archived]" in ranks
    cli_main(["report", "--db", "new.sqlite", "-o", "plain", "--no-archive"])
    assert "[archived]" not in (tmp_path / "plain" / "index.html").read_text(encoding="utf-8")


def test_runs_of_other_instances_never_meet_the_archive(tiny, tmp_path, monkeypatch):
    folder, suite_file, _, _ = tiny
    monkeypatch.setattr(archive, "shipped", lambda: {"tiny-v1": folder / "tiny-v1.npz"})
    monkeypatch.chdir(tmp_path)
    assert cli_main(["run", str(suite_file), "--optimizers", "gd", "--seeds", "1", "--db", "new.sqlite",
                              "-q", "--report", "rep"]) == 0
    assert "[archived]" not in (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")


def test_verify_reproduces_the_tiny_archive_and_reports_a_tampered_count(tiny, tmp_path):
    folder, suite_file, _, _ = tiny
    result = archive.verify(str(folder / "tiny-v1.npz"), suite=str(suite_file), sample=8, log=lambda line: None)
    assert result.exact and result.reproduced == 8 and not result.differences
    data = dict(np.load(folder / "tiny-v1.npz", allow_pickle=False))
    table = json.loads(data["runs"].tobytes())
    table["nfev"][0] += 1
    data["runs"] = np.frombuffer(json.dumps(table).encode(), dtype=np.uint8)
    np.savez_compressed(tmp_path / "tampered.npz", **data)
    result = archive.verify(str(tmp_path / "tampered.npz"), suite=str(suite_file), sample=8, log=lambda line: None)
    assert result.reproduced == 7
    assert len(result.differences) == 1 and "nfev" in result.differences[0]


def test_verify_archive_reruns_a_sample_of_the_shipped_classic_archive(capsys):
    code = cli_main(["verify-archive", "classic-v1", "--sample", "3", "--seed", "1"])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "all 3 sampled runs reproduced" in out.out


def test_store_version_3_files_gain_the_suite_hash_column(tmp_path):
    path = tmp_path / "old.sqlite"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE experiments")
    conn.execute("CREATE TABLE experiments (name TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (name, key))")
    conn.execute("INSERT INTO experiments VALUES ('old', 'k')")
    conn.execute("UPDATE meta SET value = '3' WHERE name = 'schema_version'")
    conn.commit()
    conn.close()
    assert optbench.load(path).experiments.empty  # read-only: read as it is
    Store(path).close()
    conn = sqlite3.connect(path)
    assert [r[1] for r in conn.execute("PRAGMA table_info(experiments)")] == ["name", "key", "suite_hash"]
    assert conn.execute("SELECT * FROM experiments").fetchall() == [("old", "k", None)]
