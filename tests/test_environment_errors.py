"""Environment errors are not results: they stop the command before any run, with exit 2,
and nothing is stored; ``--retry-failed`` re-runs only failed and timed-out runs."""
from __future__ import annotations

import sqlite3

import pytest
import torch

import optbench
from optbench.cli import main
from optbench.errors import OptbenchError

RUN = ["run", "--no-report", "-q", "--max-steps", "5"]


def stored_runs(db) -> list:
    if not db.exists():
        return []
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT key FROM runs").fetchall() + conn.execute("SELECT key FROM experiments").fetchall()
    finally:
        conn.close()


def test_missing_data_set_stops_before_any_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OPTBENCH_DATA", str(tmp_path / "no-data"))
    db = tmp_path / "r.sqlite"
    # sphere would run first: nothing runs, nothing is stored
    code = main([*RUN, "--problems", "sphere,mnist_logreg", "--optimizers", "gd", "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 2
    assert "data set 'mnist' is missing" in err and "python -m problems.datasets mnist" in err
    assert stored_runs(db) == []
    with pytest.raises(OptbenchError, match="python -m problems.datasets mnist"):
        optbench.run("mnist_logreg", "adam", budget=optbench.Budget(max_steps=1))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_unavailable_device_stops_before_any_run(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    assert main([*RUN, "--problems", "sphere", "--optimizers", "gd", "--device", "cuda", "--db", str(db)]) == 2
    assert "CUDA is not available" in capsys.readouterr().err and stored_runs(db) == []


def test_plugin_import_error_stops_before_any_run(tmp_path, capsys):
    plugin = tmp_path / "broken.py"
    plugin.write_text("import a_module_that_does_not_exist\n")
    db = tmp_path / "r.sqlite"
    assert main([*RUN, "--plugin", str(plugin), "--problems", "sphere", "--optimizers", "gd", "--db", str(db)]) == 2
    assert "failed to import" in capsys.readouterr().err and stored_runs(db) == []


def test_retry_failed_reruns_only_failed_and_timed_out_runs(tmp_path, capsys):
    db = tmp_path / "r.sqlite"
    args = [*RUN, "--problems", "sphere[start=random]", "--optimizers", "gd", "--seeds", "4", "--db", str(db)]
    assert main(args) == 0
    conn = sqlite3.connect(db)
    keys = [k for (k,) in conn.execute("SELECT key FROM runs ORDER BY seed")]
    planted = dict(zip(keys, ["failed", "timeout", "diverged"]))
    for key, status in planted.items():
        conn.execute("UPDATE runs SET status = ?, message = 'planted' WHERE key = ?", (status, key))
    conn.commit()
    assert main([*args, "--retry-failed"]) == 0
    assert "computing the 2 missing or failed" in capsys.readouterr().err
    after = dict(conn.execute("SELECT key, status FROM runs").fetchall())
    conn.close()
    assert len(after) == 4
    assert after[keys[0]] == after[keys[1]] == after[keys[3]] == "budget"  # recomputed (and the untouched one)
    assert after[keys[2]] == "diverged"  # a result, kept
