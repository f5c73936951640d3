"""The dask.distributed executor, against a LocalCluster of two worker processes on loopback.

The client (``optbench run --backend dask``) alone writes the store; plugin files travel with
the jobs; results equal a local run's bit for bit; a hanging step is stopped by the time limit.
"""
import json
import sqlite3
import subprocess
import sys

import pytest

from tests.test_faults import FAULTY

ARGS = ["run", "--plugin", "faulty.py", "--problems", "rosenbrock[start=random],sphere",
        "--optimizers", "gd,adam,fault-raise", "--seeds", "2", "--max-steps", "20", "--device", "cpu", "--no-report", "-q"]


def optbench_cli(cwd, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "optbench", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def test_missing_dask_is_a_clear_error(tmp_path, cli):
    """Without the ``dask`` extra (simulated: ``distributed`` that cannot be imported)."""
    fake = tmp_path / "fake"
    (fake / "distributed").mkdir(parents=True)
    (fake / "distributed" / "__init__.py").write_text("raise ImportError('No module named distributed (test)')\n")
    proc = cli("run", "--problems", "sphere", "--optimizers", "gd", "--max-steps", "5", "--seeds", "1", "--no-report",
               "--db", "r.sqlite", "--scheduler", "tcp://127.0.0.1:1", env={"PYTHONPATH": str(fake)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "--backend dask needs dask.distributed" in proc.stderr and "pip install 'optbench[dask]'" in proc.stderr


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as cluster:
        yield cluster


def test_dask_backend_runs_the_suite_like_a_local_run(tmp_path, cluster):
    import numpy as np

    import optbench
    from optbench.store import from_npy

    (tmp_path / "faulty.py").write_text(FAULTY)
    proc = optbench_cli(tmp_path, *ARGS, "--backend", "dask", "--scheduler", cluster.scheduler_address,
                        "--db", "d.sqlite")
    assert proc.returncode == 0, proc.stderr
    assert "sphere x fault-raise seed 1: failed: RuntimeError: boom in step 3" in proc.stderr  # the plugin ran there
    conn = sqlite3.connect(tmp_path / "d.sqlite")
    runs = conn.execute("SELECT key, problem, problem_params, optimizer, hyperparameters, seed, budget, status "
                        "FROM runs").fetchall()
    assert len(runs) == 12 and len({r[0] for r in runs}) == 12
    for key, problem, params, optimizer, hp, seed, budget, status in runs:
        if optimizer == "fault-raise":
            assert status == "failed"
            continue
        # the same job run here, in this process, gives the same trace, bit for bit
        here = optbench.run(problem, optimizer, seed=seed, budget=optbench.Budget(**json.loads(budget)), device="cpu",
                            problem_params=json.loads(params), hyperparameters=json.loads(hp))
        assert here.key == key and here.status == status
        for name in ("fun", "nfev", "x"):
            (data,) = conn.execute("SELECT data FROM traces WHERE key = ? AND name = ?", (key, name)).fetchone()
            assert np.array_equal(from_npy(data), here.trace[name]), (problem, optimizer, seed, name)


def test_dask_time_limit_restarts_the_hung_worker(tmp_path, cluster):
    (tmp_path / "faulty.py").write_text(FAULTY)
    proc = optbench_cli(tmp_path, "run", "--plugin", "faulty.py", "--problems", "sphere",
                        "--optimizers", "fault-hang,gd", "--seeds", "1", "--max-steps", "20", "--no-report", "-q",
                        "--time-limit", "3", "--scheduler", cluster.scheduler_address, "--db", "t.sqlite")
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(tmp_path / "t.sqlite")
    rows = {o: (st, m) for o, st, m in conn.execute("SELECT optimizer, status, message FROM runs")}
    assert rows["fault-hang"] == ("timeout", "hard time limit of 3 s reached; the Dask worker running it was "
                                             "restarted (OK)")
    assert rows["gd"][0] == "budget"
    import distributed

    with distributed.Client(cluster) as client:  # the restarted worker is back at work
        client.wait_for_workers(2, timeout=120)
        assert client.submit(sum, [1, 2]).result() == 3
