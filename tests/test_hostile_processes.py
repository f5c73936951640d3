"""Faults and interruptions, by class: a fault in the serial path is contained as in a worker
(``sys.exit`` from a plugin, parameters whose dtype, device or shape a step changed), workers
whose client is gone end silently, and Ctrl-C while the worker server starts prints nothing
from it. (Malformed input is in test_hostile.py; faults in worker processes in test_faults.py.)"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch

import optbench
from optbench import cli, execute
from optbench.errors import PluginError
from optbench.optimizer import OptimizerSpec
from optbench.registry import OPTIMIZERS
from optbench.store import Store
from optbench.suite import Suite, parse_selections


class ExitingGD(torch.optim.SGD):
    """Calls ``sys.exit(3)`` in its first step, as a careless plugin might."""

    def step(self, closure):
        closure()
        sys.exit(3)


class _Relayout(torch.optim.SGD):
    """Gradient descent that replaces each parameter's data with ``change(new data)``."""

    change = staticmethod(lambda t: t)

    @torch.no_grad()
    def step(self, closure):
        with torch.enable_grad():
            closure()
        for p in self.param_groups[0]["params"]:
            p.data = self.change(p - self.param_groups[0]["lr"] * p.grad)


class HalvingGD(_Relayout):
    change = staticmethod(lambda t: t.half())


class ShrinkingGD(_Relayout):
    change = staticmethod(lambda t: t[..., :1].clone())


class CudaGD(_Relayout):
    change = staticmethod(lambda t: t.to("cuda"))


def _spec(name: str, cls) -> OptimizerSpec:
    def make(params, lr=0.1):
        return cls(params, lr=lr)

    return OptimizerSpec(name, make, {"lr": 0.1}, elementwise=True)


@pytest.fixture
def misbehaving(monkeypatch):
    """The misbehaving optimizers, registered for one test only."""
    specs = {name: _spec(name, cls) for name, cls in [("test-exit", ExitingGD), ("test-half", HalvingGD),
                                                      ("test-shrink", ShrinkingGD), ("test-cuda", CudaGD)]}
    for name, spec in specs.items():
        monkeypatch.setitem(OPTIMIZERS._specs, name, spec)
    return specs


# -- 4. faults in the serial path are contained -------------------------------------------------
@pytest.mark.parametrize("batch", [True, False])
def test_sys_exit_in_a_step_is_a_failed_run_and_the_serial_suite_goes_on(tmp_path, misbehaving, batch):
    jobs = Suite("s", parse_selections(["sphere,booth"]), parse_selections(["test-exit,gd"]), seeds=[0, 1],
                 budget={"max_steps": 5}, device="cpu", spectrum=False).jobs()
    store = Store(tmp_path / "r.sqlite")
    summary = execute.execute(jobs, store, backend="serial", batch=batch, progress=False, log=lambda msg: None)
    assert summary.done == 8 and not summary.interrupted
    runs = optbench.load(tmp_path / "r.sqlite").runs
    exits = runs[runs.optimizer == "test-exit"]
    assert len(exits) == 4 and set(exits.status) == {"failed"} and set(exits.message) == {"SystemExit: 3"}
    assert set(runs[runs.optimizer == "gd"].status) == {"budget"}


def test_keyboard_interrupt_still_stops_the_serial_suite(tmp_path, monkeypatch):
    def interrupted(job):
        raise KeyboardInterrupt

    monkeypatch.setattr(execute, "run_job", interrupted)
    jobs = Suite("s", parse_selections(["sphere"]), parse_selections(["gd"]), seeds=[0, 1], budget={"max_steps": 5},
                 device="cpu").jobs()
    summary = execute.execute(jobs, Store(tmp_path / "r.sqlite"), backend="serial", batch=False, progress=False,
                              log=lambda msg: None)
    assert summary.interrupted and summary.done == 0


def test_check_optimizer_reports_a_sys_exit(capsys, misbehaving):
    assert cli.main(["check-optimizer", "test-exit"]) == 1
    out = capsys.readouterr().out
    assert "SystemExit: 3" in out


def test_a_factory_that_exits_while_its_hyperparameters_are_checked_is_a_plugin_error(monkeypatch):
    def make(params, lr=0.1):
        raise SystemExit(4)

    monkeypatch.setitem(OPTIMIZERS._specs, "test-exit-early", OptimizerSpec("test-exit-early", make, {"lr": 0.1}))
    suite = Suite("s", parse_selections(["sphere"]), parse_selections(["test-exit-early"]), device="cpu")
    with pytest.raises(PluginError, match="'test-exit-early' fails to construct with the defaults: SystemExit: 4"):
        suite.jobs()


@pytest.mark.parametrize("name, change", [
    ("test-half", "from float64 on cpu, shape (2,) to float16 on cpu, shape (2,)"),
    ("test-shrink", "from float64 on cpu, shape (2,) to float64 on cpu, shape (1,)"),
    pytest.param("test-cuda", "from float64 on cpu, shape (2,) to float64 on cuda:0, shape (2,)",
                 marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")),
])
def test_a_step_that_changes_the_parameters_layout_is_a_failed_run(misbehaving, name, change):
    """(torch refuses a change of device through ``.data`` between CPU and ``meta``, so the
    device case needs a CUDA device.)"""
    record = optbench.run("sphere", name, budget=optbench.Budget(max_steps=40), spectrum=False)
    assert record.status == "failed"
    assert f"optimizer {name!r} changed parameter 0 {change}" in record.message
    jobs = Suite("s", parse_selections(["sphere"]), parse_selections([name]), seeds=[0, 1], budget={"max_steps": 40},
                 device="cpu", spectrum=False).jobs()
    from optbench.batched import run_batched

    assert [r.status for r in run_batched(jobs)] == ["failed", "failed"]  # seeds batched, then each alone


# -- 5. interruptions are quiet ------------------------------------------------------------------
def _orphan(client_end, worker_end, cwd):
    """A worker whose client has gone: its end of the pipe is closed before the worker speaks."""
    client_end.close()
    execute._worker_main(worker_end, (), 1, cwd)


def test_a_worker_whose_client_is_gone_exits_silently(capfd):
    ctx = execute._mp_context()  # not a bare fork of this process: see test_hostile.test_a_huge_time_limit_runs
    client_end, worker_end = ctx.Pipe()
    worker = ctx.Process(target=_orphan, args=(client_end, worker_end, os.getcwd()))
    worker.start()
    client_end.close()
    worker_end.close()
    worker.join(120)
    assert worker.exitcode == 0
    assert "Traceback" not in capfd.readouterr().err


def test_ctrl_c_while_the_worker_server_starts_prints_no_traceback(tmp_path):
    """SIGINT to the whole process group (Ctrl-C) while the server imports torch; the server
    is then killed so that the test does not wait for its imports."""
    code = textwrap.dedent("""
        import signal, time
        signal.signal(signal.SIGINT, signal.default_int_handler)  # even where the test runs with SIGINT ignored
        from multiprocessing import forkserver
        from optbench.execute import prestart_workers
        prestart_workers("processes")
        print(forkserver._forkserver._forkserver_pid, flush=True)
        try:
            time.sleep(60)
        except KeyboardInterrupt:
            print("client interrupted", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=tmp_path)
    server = int(proc.stdout.readline())
    time.sleep(0.3)  # the server is starting: importing site, then torch (seconds)
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(60) == 0
    time.sleep(2)  # time for a KeyboardInterrupt traceback, if the server received the signal
    try:
        os.kill(server, signal.SIGKILL)
    except ProcessLookupError:  # it has finished its imports and exited, as its client has gone
        pass
    out, err = proc.communicate(timeout=60)
    assert "client interrupted" in out
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
