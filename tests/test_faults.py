"""Faults inside runs are contained: each is recorded with its status and the suite goes on.

One real ``optbench run`` of a suite file (with a ``time_limit``) over a plugin of misbehaving
optimizers and a broken problem, in two worker processes: exceptions, NaN, a blow-up, a step
that hangs for 1000 s, a worker that exits or is SIGKILLed mid-step. (The runner's own
handling of exceptions and NaN in-process is tested in test_runner.py.)
"""
import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest

FAULTY = textwrap.dedent('''
    """Optimizers and a problem that misbehave, for the fault-containment tests."""
    import math
    import os
    import signal
    import time

    import torch

    import optbench


    class MisbehavingGD(torch.optim.Optimizer):
        """Gradient descent that does ``action`` in its third step."""

        def __init__(self, params, lr, action):
            super().__init__(params, dict(lr=lr))
            self.action, self.steps = action, 0

        @torch.no_grad()
        def step(self, closure):
            with torch.enable_grad():
                loss = closure()
            self.steps += 1
            fault = self.steps == 3
            if fault and self.action == "raise":
                raise RuntimeError("boom in step 3")
            if fault and self.action == "hang":
                time.sleep(1000)
            if fault and self.action == "exit":
                os._exit(7)
            if fault and self.action == "sigkill":
                os.kill(os.getpid(), signal.SIGKILL)
            for group in self.param_groups:
                for p in group["params"]:
                    if fault and self.action == "nan":
                        p.fill_(math.nan)
                    else:
                        p.add_(p.grad, alpha=-group["lr"])
            return loss


    def _register(action):
        @optbench.register_optimizer(f"fault-{action}", tags=("test",))
        def make(params, lr=0.1):
            """Gradient descent that misbehaves in its third step."""
            return MisbehavingGD(params, lr, action)


    for _action in ("raise", "nan", "hang", "exit", "sigkill"):
        _register(_action)


    @optbench.register_problem("fault-problem", tags=("test",))
    class FaultProblem(optbench.AnalyticProblem):
        """A bowl whose objective raises."""

        f_star = 0.0

        def __init__(self, dim: int = 2, **common):
            super().__init__(**common)
            self.dim = dim
            self.x_star = [[0.0] * dim]

        def f(self, x):
            raise ValueError("the objective of fault-problem is broken")
''')

TIME_LIMIT = 3  # seconds; a normal run here takes milliseconds
SUITE = textwrap.dedent(f'''
    name = "faults"
    time_limit = {TIME_LIMIT}
    [budget]
    max_steps = 20
    [[problems]]
    name = "sphere"
    [[problems]]
    name = "fault-problem"
    [[optimizers]]
    name = "gd"
    hyperparameters = {{ lr = [0.01, 10] }}
    [[optimizers]]
    select = "fault-*"
''')


def runs(db) -> dict:
    """``(problem, optimizer, hyperparameters as JSON) -> row`` of every stored run."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM runs").fetchall()
    conn.close()
    return {(r["problem"], r["optimizer"], _without_schedule(r["hyperparameters"])): dict(r) for r in rows}


def _without_schedule(hp: str) -> str:
    """The stored hyperparameters less gd's default learning-rate schedule ("constant")."""
    return json.dumps({k: v for k, v in json.loads(hp).items() if k != "schedule"})


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    """One suite of every fault, run by two worker processes under a hard time limit."""
    cwd = tmp_path_factory.mktemp("faults")
    (cwd / "faulty.py").write_text(FAULTY)
    (cwd / "faults.toml").write_text(SUITE)
    proc = subprocess.run([sys.executable, "-m", "optbench", "run", "faults.toml", "--plugin", "faulty.py",
                           "--jobs", "2", "--db", "faults.sqlite", "--no-report", "-q"],
                          capture_output=True, text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    return proc, runs(cwd / "faults.sqlite")


def test_every_run_has_its_record(faults):
    _, by = faults
    assert len(by) == 2 * 7  # two problems x (gd at two step sizes + five faulty optimizers)
    assert by[("sphere", "gd", '{"lr": 0.01}')]["status"] == "budget"


def test_exceptions_are_failed_runs_with_their_traceback(faults):
    proc, by = faults
    rec = by[("sphere", "fault-raise", '{"lr": 0.1}')]
    assert rec["status"] == "failed" and rec["message"] == "RuntimeError: boom in step 3"
    assert rec["traceback"].startswith("Traceback (most recent call last)") and "boom in step 3" in rec["traceback"]
    for (problem, optimizer, _), rec in by.items():
        if problem == "fault-problem":  # the objective raises before any optimizer misbehaves
            assert rec["status"] == "failed", optimizer
            assert rec["message"] == "ValueError: the objective of fault-problem is broken"
            assert "in f\n" in rec["traceback"]
    # the first line of each fault is printed when the command ends, the statuses in its table
    assert "sphere x fault-raise seed 0: failed: RuntimeError: boom in step 3" in proc.stderr
    assert "fault-problem x gd seed 0: failed: ValueError: the objective of fault-problem is broken" in proc.stderr
    table = proc.stdout
    assert all(status in table for status in ("budget", "diverged", "failed", "timeout"))


def test_nan_and_blow_up_are_diverged(faults):
    _, by = faults
    nan = by[("sphere", "fault-nan", '{"lr": 0.1}')]
    assert nan["status"] == "diverged" and "NaN" in nan["message"]
    blowup = by[("sphere", "gd", '{"lr": 10}')]
    assert blowup["status"] == "diverged" and "blew up" in blowup["message"]


def test_a_hanging_step_times_out_and_the_suite_goes_on(faults):
    proc, by = faults
    rec = by[("sphere", "fault-hang", '{"lr": 0.1}')]
    assert rec["status"] == "timeout"
    assert rec["message"] == (f"hard time limit of {TIME_LIMIT} s reached; the worker process running it was killed")
    assert TIME_LIMIT <= rec["seconds"] < 10 * TIME_LIMIT  # not the 1000 s the step sleeps
    assert rec["seed"] == 0 and rec["suite"] == "faults" and len(rec["key"]) == 16
    assert json.loads(rec["budget"])["max_steps"] == 20 and rec["f_star"] == 0.0
    assert json.loads(rec["environment"])["torch"]
    assert f"sphere x fault-hang seed 0: timeout: hard time limit of {TIME_LIMIT} s reached" in proc.stderr


def test_a_dying_worker_is_a_failed_run(faults):
    proc, by = faults
    exited = by[("sphere", "fault-exit", '{"lr": 0.1}')]
    assert exited["status"] == "failed" and exited["message"] == "worker process died (exit code 7)"
    killed = by[("sphere", "fault-sigkill", '{"lr": 0.1}')]
    assert killed["status"] == "failed" and killed["message"] == "worker process died (exit code -9, SIGKILL)"
    assert "sphere x fault-exit seed 0: failed: worker process died (exit code 7)" in proc.stderr
