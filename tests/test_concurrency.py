"""Several processes writing one results database at once: every run stored once, none fails.

The store relies on SQLite's WAL mode, a busy timeout, one ``BEGIN IMMEDIATE`` transaction
per run and ``INSERT OR IGNORE`` on the run key.
"""
import sqlite3
import subprocess
import sys
import textwrap
import time

from tests.test_interrupt import SLOW

WRITER = textwrap.dedent('''
    """Wait for the start signal, then add runs k000..k{n-1} (each with a trace) to the store."""
    import os, sys, time, types
    from pathlib import Path

    import numpy as np

    from optbench.store import RUN_COLUMNS, Store

    db, go, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    Path(f"ready-{os.getpid()}").touch()
    while not go.exists():
        time.sleep(0.001)
    store = Store(db)  # all writers create the (missing) file at the same moment
    added = 0
    for i in range(n):
        rec = types.SimpleNamespace(**{name: None for name, _ in RUN_COLUMNS})
        rec.key, rec.problem, rec.optimizer, rec.seed, rec.status = f"k{i:03d}", "p", "o", i, "budget"
        rec.problem_params, rec.hyperparameters = {}, {}
        rec.trace = {"fun": np.arange(64.0) * i, "step": np.arange(64)}
        rec.evals = {}
        added += store.add(rec)
    print(added)
''')


BARRIER = textwrap.dedent('''

    # the test's start line: every process waits here until all are ready
    import os as _os
    from pathlib import Path as _Path

    _Path(f"ready-{_os.getpid()}").touch()
    while not _Path("go").exists():
        time.sleep(0.002)
''')


def start_together(cwd, procs) -> None:
    """Wait until every process has touched its ``ready-PID`` file, then say go."""
    deadline = time.monotonic() + 240
    while len(list(cwd.glob("ready-*"))) < len(procs):
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [p.poll() for p in procs]
        time.sleep(0.01)
    (cwd / "go").touch()


def test_writers_racing_on_a_new_file_store_each_run_once(tmp_path):
    (tmp_path / "writer.py").write_text(WRITER)
    n, writers = 60, 4
    procs = [subprocess.Popen([sys.executable, "writer.py", "r.sqlite", "go", str(n)], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(writers)]
    start_together(tmp_path, procs)
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * writers, [err for _, err in outs]
    assert sum(int(out) for out, _ in outs) == n  # each key added by exactly one writer
    conn = sqlite3.connect(tmp_path / "r.sqlite")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT count(*), count(DISTINCT key) FROM runs").fetchone() == (n, n)
    assert conn.execute("SELECT count(*) FROM traces").fetchone()[0] == 2 * n
    assert conn.execute("SELECT count(*) FROM meta").fetchone()[0] == 2


def test_two_optbench_runs_share_one_database(tmp_path):
    """Two suites that overlap in half their runs, run at the same time into one file."""
    (tmp_path / "slow.py").write_text(SLOW + BARRIER)  # the plugin is imported just before the runs
    common = ["run", "--plugin", "slow.py", "--optimizers", "slow-gd,slow-gd[lr=1e-2]", "--seeds", "3",
              "--max-steps", "20", "--db", "shared.sqlite", "--no-report", "-q"]
    suites = (["--problems", "rosenbrock,sphere"], ["--problems", "rosenbrock,booth"])
    procs = [subprocess.Popen([sys.executable, "-m", "optbench", *common, *s], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for s in suites]
    start_together(tmp_path, procs)
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "Traceback" not in err
    conn = sqlite3.connect(tmp_path / "shared.sqlite")
    rows = conn.execute("SELECT problem, count(*), count(DISTINCT key) FROM runs GROUP BY problem").fetchall()
    assert sorted(rows) == [("booth", 6, 6), ("rosenbrock", 6, 6), ("sphere", 6, 6)]
    per_run = conn.execute("SELECT count(*) FROM traces GROUP BY key").fetchall()
    assert len(per_run) == 18 and {c for (c,) in per_run} == {5}  # step, fun, nfev, seconds, x: all there, once
