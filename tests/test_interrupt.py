"""Interruptions lose nothing, and the same command gives the same results.

One module-scoped story over a 20-run suite: an uninterrupted run into one file, then the
same command into a second file, killed with SIGKILL at seeded random moments and stopped
once with Ctrl-C (SIGINT), and finally resumed to the end.
"""
import json
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

SLOW = textwrap.dedent('''
    """Gradient descent that sleeps in each step: it leaves time to interrupt a run."""
    import time

    import torch

    import optbench


    @optbench.register_optimizer("slow-gd", tags=("test",))
    def make(params, lr=1e-3, delay=0.005):
        """Gradient descent, ``delay`` seconds per step."""
        return SlowGD(params, lr, delay)


    class SlowGD(torch.optim.SGD):
        def __init__(self, params, lr, delay):
            super().__init__(params, lr=lr)
            self.delay = delay

        def step(self, closure):
            time.sleep(self.delay)
            return super().step(closure)
''')

ARGS = ["run", "--plugin", "slow.py", "--problems", "rosenbrock[start=random],mlp-mixture[samples=64]",
        "--optimizers", "slow-gd,slow-gd[lr=1e-2]", "--seeds", "5", "--max-steps", "20", "--no-report", "-q"]
N_RUNS = 20
ROOT = Path(__file__).resolve().parent.parent


# `python -m optbench` as a terminal starts it: with Python's own Ctrl-C handler. A process
# started in the background by a non-interactive shell (`pytest ... &`, as some CI runners do)
# inherits SIGINT ignored, and Python keeps it ignored, so no Ctrl-C could reach the command.
AS_FROM_A_TERMINAL = ("import runpy, signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
                      "runpy.run_module('optbench', run_name='__main__', alter_sys=True)")


def start(cwd: Path, db: str, log: str) -> subprocess.Popen:
    with open(cwd / log, "w") as out:  # a file, not a pipe: orphans cannot block us
        return subprocess.Popen([sys.executable, "-c", AS_FROM_A_TERMINAL, *ARGS, "--db", db], cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT)


def finish(cwd: Path, db: str, log: str) -> str:
    proc = start(cwd, db, log)
    assert proc.wait(timeout=240) == 0, (cwd / log).read_text()
    return (cwd / log).read_text()


def stored(db: Path) -> set:
    """The keys stored so far, read while a writer may be at work."""
    if not db.exists():
        return set()
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            return {k for (k,) in conn.execute("SELECT key FROM runs")}
        finally:
            conn.close()
    except sqlite3.DatabaseError:  # not created yet
        return set()


def contents(db: Path) -> dict:
    """key -> (run summary, {trace name: array}) with everything but wall times."""
    from optbench.store import Store, from_npy

    store = Store(db, create=False)  # also checks that the file is a valid database
    conn = store.conn
    runs = {r[0]: r[1:] for r in conn.execute(
        "SELECT key, problem, optimizer, hyperparameters, seed, status, fun, best, f0, steps, nfev, x FROM runs")}
    traces: dict = {}
    for key, name, data in conn.execute("SELECT key, name, data FROM traces WHERE name != 'seconds'"):
        traces.setdefault(key, {})[name] = from_npy(data)
    store.close()
    assert set(traces) == set(runs)  # no trace without its run and no run without its trace
    return {k: (runs[k], traces[k]) for k in runs}


def same(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in a:
        assert a[key][0] == b[key][0], key
        assert set(a[key][1]) == set(b[key][1])
        for name, arr in a[key][1].items():
            assert arr.dtype == b[key][1][name].dtype and np.array_equal(arr, b[key][1][name], equal_nan=True), name


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("interrupt")
    (cwd / "slow.py").write_text(SLOW)
    out = {"cwd": cwd, "baseline": finish(cwd, "base.sqlite", "base.log")}
    rng = random.Random(1234)
    db = cwd / "kill.sqlite"
    # (how, trigger): a delay after start (seconds), or a count of stored runs plus a delay
    plan = [("kill", ("after", rng.uniform(0.0, 1.5))),
            ("kill", ("count", rng.randint(2, 6))),
            ("int", ("count", rng.randint(8, 11))),
            ("kill", ("count", rng.randint(13, 17)))]
    before: list[set] = []  # keys stored just before each interruption
    seen: list[set] = []  # keys in the (valid) database just after it
    for i, (how, (kind, value)) in enumerate(plan):
        proc = start(cwd, "kill.sqlite", f"kill{i}.log")
        t0 = time.monotonic()
        while proc.poll() is None:
            if kind == "after" and time.monotonic() - t0 >= value:
                break
            if kind == "count" and len(stored(db)) >= value:
                time.sleep(rng.uniform(0.0, 0.1))  # somewhere inside the next run
                break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run ended before interruption {i}: " + (cwd / f"kill{i}.log").read_text()
        before.append(stored(db))
        proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGINT)
        out.setdefault("codes", []).append(proc.wait(timeout=60))
        seen.append(set(contents(db)) if db.exists() and db.stat().st_size else set())
        out.setdefault("logs", []).append((cwd / f"kill{i}.log").read_text())
    out["plan"], out["before"], out["seen"] = plan, before, seen
    out["final"] = finish(cwd, "kill.sqlite", "final.log")
    out["dbs"] = {name: contents(cwd / f"{name}.sqlite") for name in ("base", "kill")}
    return out


def test_ctrl_c_stops_cleanly_saving_finished_runs(story):
    code, log = story["codes"][2], story["logs"][2]
    assert code == 130, log
    assert "Traceback" not in log
    assert "interrupted: " in log and "finished runs are saved in kill.sqlite" in log
    assert "Run the same command again to compute only what is missing" in log
    assert story["before"][2] <= story["seen"][2] and len(story["seen"][2]) < N_RUNS


def test_kill_9_at_any_moment_loses_nothing(story):
    assert [c for i, c in enumerate(story["codes"]) if i != 2] == [-signal.SIGKILL] * 3
    seen = story["seen"]
    for i, (how, (kind, value)) in enumerate(story["plan"]):
        assert story["before"][i] <= seen[i]  # every run finished before the signal is there
        if kind == "count":
            assert len(seen[i]) >= value
    for earlier, later in zip(seen, seen[1:]):
        assert earlier <= later  # and stays there
    assert 0 < len(seen[-1]) < N_RUNS


def test_resume_computes_only_what_is_missing(story):
    done = len(story["seen"][-1])
    assert f"{done} of {N_RUNS} runs already in kill.sqlite; computing the {N_RUNS - done} missing" in story["final"]
    assert f"{N_RUNS - done} computed now, {done} found in the store" in story["final"]


def test_interrupted_and_resumed_equals_uninterrupted(story):
    """Also: the same command, run again (in pieces, by five processes) into another file,
    gives bit-identical traces and results on CPU."""
    dbs = story["dbs"]
    assert len(dbs["base"]) == N_RUNS
    assert {run[0][4] for run in dbs["base"].values()} <= {"budget", "converged", "diverged"}
    same(dbs["kill"], dbs["base"])


def test_each_run_records_its_environment(story):
    import platform

    import torch

    import optbench

    conn = sqlite3.connect(story["cwd"] / "base.sqlite")
    envs = [json.loads(e) for (e,) in conn.execute("SELECT environment FROM runs")]
    conn.close()
    assert len(envs) == N_RUNS
    # the commit is known only when the runs' optbench is this checkout (an editable install);
    # the runs are `python -m optbench` in story["cwd"], which may import an installed copy
    where = subprocess.run([sys.executable, "-c", "import optbench; print(optbench.__file__)"], cwd=story["cwd"],
                           capture_output=True, text=True, check=True).stdout.strip()
    expected_commit = None
    if (ROOT / ".git").exists() and Path(where).resolve().parent.parent == ROOT.resolve():
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
        expected_commit = head.stdout.strip() if head.returncode == 0 else None
    for env in envs:
        assert env["python"] == platform.python_version()
        assert env["torch"] == torch.__version__ and env["numpy"] == np.__version__
        assert env["optbench"] == optbench.__version__
        assert env["device_name"]
        if expected_commit is None:
            assert env["git_commit"] is None
        else:
            assert env["git_commit"] in (expected_commit, expected_commit + "-dirty")
