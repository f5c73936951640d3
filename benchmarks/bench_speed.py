"""Speed: time per optimizer step, driver runs, the quick suite end to end, peak memory.

What is timed, and what is not
------------------------------
``TimeStep``        one ``opt.step(closure)`` of a built-in optimizer, the way a torch.optim
                    user calls it: the closure zeroes the gradients, evaluates the objective
                    and runs backward (a line search calls it several times). The problem
                    instance, the optimizer and ``WARMUP_STEPS`` steps (so that L-BFGS has a
                    history and Adam its moments) are built in ``setup``, outside the timing;
                    asv re-runs ``setup`` before every timed call, so every sample times the
                    same step from the same state.
``TimeDriverRun``   ``optbench.run`` of a scipy.optimize driver (which runs its own loop, so
                    it has no single step to time) for ``DRIVER_STEPS`` iterations, harness
                    included; L-BFGS through the same path for comparison.
``TimeQuickSuite``  the built-in ``quick`` suite end to end through the Python API
                    (``load_suite("quick").jobs()`` + ``execute`` into a fresh store, no report).
``TimeCampaign``    the 4-optimizer MGH campaign of ``benchmarks/campaign.py`` (gd, adam,
                    lbfgs, newton on every MGH problem from random starts, 300 steps, target
                    1e-8, no spectrum) through the Python API, with 1 and with 8 seeds: the
                    cost of more seeds where the executor batches them.
``*CUDA``           the same on a GPU, skipped where CUDA is absent; the timed call
                    synchronises the device before it returns.
``PeakMemRun``      peak resident memory of a run on a wider MLP (L-BFGS keeps a history).

CPU timings are single-threaded (see :mod:`benchmarks`).
"""
import os
import shutil
import tempfile

import torch

import optbench

from . import cuda_or_skip, lookup

STEP_PROBLEMS = ["rosenbrock", "mlp-mixture"]
STEP_OPTIMIZERS = ["gd", "gd-armijo", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "amsgrad",
                   "lbfgs", "bfgs", "newton", "newton-cg"]
# Both with their registered defaults: Rosenbrock in 2-D from its standard start (-1.2, 1),
# float64; mlp-mixture an 8-32-32-4 tanh MLP on 512 Gaussian-mixture samples, full batch, float32.
# Registered defaults, except fixed steps that would blow up on Rosenbrock's gradient (~200
# at the start): a timed step must be an ordinary one, not arithmetic on Inf/NaN.
STEP_HYPERPARAMETERS = {("rosenbrock", name): {"lr": 1e-4} for name in ("gd", "momentum", "nesterov")}
WARMUP_STEPS = 3
# Optimizers tagged "dense" keep or factor an n x n matrix; they are timed only up to this n.
DENSE_MAX_DIM = 100

DRIVERS = ["lbfgs", "scipy-lbfgsb", "scipy-bfgs", "scipy-cg", "scipy-newton-cg", "scipy-trust-exact"]
DRIVER_STEPS = 20

CUDA_PROBLEM_PARAMS = {"samples": 8192, "width": 512}  # mlp-mixture, ~270k parameters
CUDA_OPTIMIZERS = ["gd", "adam", "lbfgs"]


def make_stepper(problem: str, optimizer: str, device, *, problem_params=None, hyperparameters=None, seed=0):
    """A function that makes one optimizer step, after ``WARMUP_STEPS`` steps were made."""
    prob, spec = lookup(problem, optimizer, problem_params)
    if spec.driver:
        raise NotImplementedError(f"{optimizer!r} is a driver: it has no step(closure)")
    inst = prob.instantiate(seed=seed, device=device, dtype=prob.default_dtype)
    if "dense" in spec.tags and inst.dim > DENSE_MAX_DIM:
        raise NotImplementedError(f"{optimizer!r} is dense (O(n^2)); {problem!r} has n = {inst.dim}")
    kwargs = spec.resolve(hyperparameters)
    if spec.needs_objective:
        kwargs["objective"] = inst.flat_objective()
    opt = spec.factory(inst.params, **kwargs)

    def closure():
        opt.zero_grad()
        loss = inst.objective()
        loss.backward()
        return loss

    k = 0

    def step():
        nonlocal k
        inst.begin_step(k)
        opt.step(closure)
        k += 1

    for _ in range(WARMUP_STEPS):
        step()
    with torch.no_grad():
        value = float(inst.objective())
    if not value == value or value in (float("inf"), float("-inf")):
        raise RuntimeError(f"{optimizer} on {problem}: objective {value} after {WARMUP_STEPS} steps")
    return step


class _Timing:
    """The sampling every timing benchmark here shares (asv reads these class attributes)."""

    version = "1"
    unit = "seconds"
    number = 1  # one call per sample; setup runs before each
    repeat = (5, 100, 1.0)  # 5 to 100 samples per round, sampling stops after ~1 s
    rounds = 4  # rounds alternate between the commits compared: load drift hits both
    warmup_time = 0.0
    timeout = 300


class TimeStep(_Timing):
    """Seconds per optimizer step (CPU, one thread)."""

    params = (STEP_PROBLEMS, STEP_OPTIMIZERS)
    param_names = ["problem", "optimizer"]

    def setup(self, problem, optimizer):
        hyperparameters = STEP_HYPERPARAMETERS.get((problem, optimizer))
        self.step = make_stepper(problem, optimizer, "cpu", hyperparameters=hyperparameters)

    def time_step(self, problem, optimizer):
        self.step()


class TimeStepCUDA(_Timing):
    """Seconds per optimizer step on a GPU (mlp-mixture, 8192 samples, width 512)."""

    params = CUDA_OPTIMIZERS
    param_names = ["optimizer"]

    def setup(self, optimizer):
        self.device = cuda_or_skip()
        self.step = make_stepper("mlp-mixture", optimizer, self.device, problem_params=CUDA_PROBLEM_PARAMS)
        torch.cuda.synchronize(self.device)

    def time_step(self, optimizer):
        self.step()
        torch.cuda.synchronize(self.device)


class TimeDriverRun(_Timing):
    """Seconds for ``DRIVER_STEPS`` iterations through ``optbench.run`` (2-D Rosenbrock, CPU)."""

    params = DRIVERS
    param_names = ["optimizer"]
    repeat = (3, 50, 1.0)

    def setup(self, optimizer):
        self.problem, self.spec = lookup("rosenbrock", optimizer)
        self.budget = optbench.Budget(max_steps=DRIVER_STEPS)
        optbench.run(self.problem, self.spec, budget=optbench.Budget(max_steps=1), device="cpu")  # warm caches

    def time_run(self, optimizer):
        record = optbench.run(self.problem, self.spec, budget=self.budget, device="cpu")
        if record.status == "failed":
            raise RuntimeError(f"{optimizer} on rosenbrock failed: {record.message}")


class TimeQuickSuite(_Timing):
    """Seconds for the whole built-in ``quick`` suite (serial, one thread, a fresh store)."""

    repeat = (1, 3, 60.0)  # one sample where the suite takes over a minute
    rounds = 1
    timeout = 1800

    def setup(self):
        from optbench.suite import load_suite

        self.jobs = load_suite("quick").jobs()
        self.tmp = tempfile.mkdtemp(prefix="optbench-asv-")

    def teardown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_quick_suite(self):
        from optbench.execute import execute
        from optbench.store import Store

        store = Store(os.path.join(self.tmp, "quick.sqlite"))
        try:
            summary = execute(self.jobs, store, progress=False, log=lambda message: None)
        finally:
            store.close()
        if summary.done != len(self.jobs) or summary.statuses.get("failed") or summary.statuses.get("timeout"):
            raise RuntimeError(f"quick suite: {summary.done} of {len(self.jobs)} runs, statuses {summary.statuses}")


class TimeCampaign(_Timing):
    """Seconds for ``tag:mgh[start=random]`` x gd, adam, lbfgs, newton (serial, a fresh store)."""

    params = [1, 8]
    param_names = ["seeds"]
    repeat = (1, 3, 60.0)
    rounds = 1
    timeout = 1800

    def setup(self, seeds):
        from optbench.suite import Suite, parse_selections

        self.jobs = Suite("campaign", parse_selections(["tag:mgh[start=random]"]),
                          parse_selections(["gd", "adam", "lbfgs", "newton"]), seeds=list(range(seeds)),
                          budget={"max_steps": 300, "target_gap": 1e-8}, device="cpu", spectrum=False).jobs()
        self.tmp = tempfile.mkdtemp(prefix="optbench-asv-")

    def teardown(self, seeds):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_campaign(self, seeds):
        from optbench.execute import execute
        from optbench.store import Store

        store = Store(os.path.join(self.tmp, "campaign.sqlite"))
        try:
            summary = execute(self.jobs, store, progress=False, log=lambda message: None)
        finally:
            store.close()
        if summary.done != len(self.jobs) or summary.statuses.get("timeout"):
            raise RuntimeError(f"campaign: {summary.done} of {len(self.jobs)} runs, statuses {summary.statuses}")


class PeakMemRun:
    """Peak resident memory (bytes) of 20 steps on mlp-mixture with width 512 (~270k parameters)."""

    params = ["adam", "lbfgs"]
    param_names = ["optimizer"]
    version = "1"
    timeout = 300

    def setup(self, optimizer):
        self.problem, self.spec = lookup("mlp-mixture", optimizer, {"width": 512, "samples": 2048})

    def peakmem_run(self, optimizer):
        optbench.run(self.problem, self.spec, budget=optbench.Budget(max_steps=20), device="cpu")
