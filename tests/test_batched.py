"""Seeds in parallel: a batched run gives every seed the record its serial run gives."""
import dataclasses

import numpy as np
import pytest
import torch

import optbench
from optbench import batched, runner
from optbench.batched import batchable, groups, run_batched
from optbench.suite import Suite, parse_selections


@optbench.register_problem("test-batched-quartic", tags=("test",))
class Quartic(optbench.AnalyticProblem):
    r"""``f(x) = sum_i x_i^2 + x_i^4`` on ``[-3, 3]^dim``; ``f* = 0`` at ``0``.

    Gradient descent with ``lr = 0.1`` maps each coordinate to ``x (0.8 - 0.4 x^2)``: starts
    with ``|x| > 2.12`` blow up, the others converge at rates that depend on the start.
    """

    domain = (-3.0, 3.0)
    f_star = 0.0

    def __init__(self, dim: int = 2, **common):
        super().__init__(**common)
        self.dim = int(dim)
        self.x_star = [[0.0] * self.dim]

    def f(self, x):
        return (x.square() + x.pow(4)).sum(-1)


def jobs(problem: str, optimizer: str, seeds, budget: dict, dtype=None):
    return Suite("test", parse_selections([problem]), parse_selections([optimizer]), seeds=list(seeds),
                 budget=budget, device="cpu", dtype=dtype).jobs()


def serial(job):
    return optbench.run(job.problem, job.optimizer, hyperparameters=job.hyperparameters,
                        problem_params=job.problem_params, seed=job.seed, budget=job.budget, device=job.device,
                        dtype=job.dtype, suite=job.suite)


def assert_same_record(b, s, rtol=1e-12):
    assert (b.key, b.status, b.message, b.steps, b.nfev, b.njev, b.seed) == (s.key, s.status, s.message, s.steps,
                                                                            s.nfev, s.njev, s.seed)
    assert np.array_equal(b.trace["step"], s.trace["step"]) and np.array_equal(b.trace["nfev"], s.trace["nfev"])
    np.testing.assert_allclose(b.trace["fun"], s.trace["fun"], rtol=rtol, atol=0)  # NaN/inf at the same rows
    assert set(b.trace) == set(s.trace)
    if "x" in s.trace:
        np.testing.assert_allclose(b.trace["x"], s.trace["x"], rtol=rtol, atol=1e-300)
    for name in ("fun", "best", "f0", "gap"):
        a, c = getattr(b, name), getattr(s, name)
        assert (a is None) == (c is None) and (a is None or np.isclose(a, c, rtol=rtol, atol=0, equal_nan=True))
    assert (b.x is None) == (s.x is None)
    if s.x is not None:
        np.testing.assert_allclose(b.x, s.x, rtol=rtol, atol=1e-300)
    assert b.trace["seconds"].shape == s.trace["seconds"].shape and np.all(np.diff(b.trace["seconds"]) >= 0)
    assert (b.dim, b.spectrum_method, b.n_negative) == (s.dim, s.spectrum_method, s.n_negative)
    for name in ("eig_min", "eig_max", "condition", "grad_norm", "grad_norm0"):  # where the serial loop ended
        a, c = getattr(b, name), getattr(s, name)
        assert (a is None) == (c is None) and (a is None or np.isclose(a, c, rtol=1e-9, atol=1e-12, equal_nan=True))


CASES = [
    # converged at different steps, diverged and budget rows in one batch
    ("test-batched-quartic[start=random]", "gd[lr=0.1]", range(12), {"max_steps": 50, "target_gap": 1e-10}),
    ("himmelblau[start=random]", "gd[lr=0.02]", range(8), {"max_steps": 40, "target_gap": 1e-8}),
    ("rosenbrock[start=random]", "momentum[lr=1e-4]", range(6), {"max_steps": 50}),  # two diverge
    ("rosenbrock[start=random]", "adam[lr=0.05]", range(4), {"max_steps": 70, "target_gap": 1e-2}),
    ("quadratic[dim=6,start=random]", "rmsprop[lr=0.01,centered=true]", range(4),
     {"max_steps": 200, "max_evals": 45, "target_gap": 1e-4}),
    ("rastrigin[dim=3]", "adagrad[lr=0.1]", range(3), {"max_steps": 40}),
    ("sphere[dim=4,start=random]", "nesterov[lr=0.1]", range(3), {"max_steps": 200, "target_gap": 1e-12}),
    ("rosenbrock[start=random,dim=5]", "adamw[lr=0.01]", range(3), {"max_steps": 40}),
    ("rosenbrock[start=random]", "amsgrad[lr=0.1]", range(3), {"max_steps": 40}),
    # the rest of torch.optim's elementwise methods
    ("rosenbrock[start=random]", "nadam[lr=0.01]", range(2), {"max_steps": 30}),
    ("rosenbrock[start=random]", "radam[lr=0.01]", range(2), {"max_steps": 30}),
    ("rosenbrock[start=random]", "adamax[lr=0.01]", range(2), {"max_steps": 30}),
    ("quadratic[dim=4,start=random]", "adadelta", range(2), {"max_steps": 30}),
    ("quadratic[dim=4,start=random]", "asgd[lr=0.05,t0=5]", range(2), {"max_steps": 30}),
    ("rosenbrock[start=random]", "rprop[lr=0.001]", range(2), {"max_steps": 30}),
    # no step budget: the trace buffers (1024 rows at first) must grow
    ("sphere[dim=2,start=random]", "adagrad[lr=0.5]", range(2), {"max_steps": None, "max_evals": 1030}),
]


@pytest.mark.parametrize("problem,optimizer,seeds,budget", CASES, ids=[c[0].split("[")[0] + "-" + c[1].split("[")[0]
                                                                        for c in CASES])
def test_batched_records_equal_serial_records(problem, optimizer, seeds, budget):
    js = jobs(problem, optimizer, seeds, budget)
    assert all(batchable(j) for j in js)
    batch = run_batched(js)
    assert [r.key for r in batch] == [j.key for j in js]
    for b, j in zip(batch, js):
        assert_same_record(b, serial(j))
        assert b.environment["batched_seeds"] == str(len(js))


def test_mixed_statuses_are_cut_at_each_rows_own_stop():
    batch = run_batched(jobs(*CASES[0][:2], range(12), CASES[0][3]))
    statuses = {r.status for r in batch}
    assert statuses == {"converged", "diverged", "budget"}
    assert len({r.steps for r in batch if r.status == "converged"}) >= 3
    budget = [r for r in batch if r.status == "budget"]
    # a row's seconds are the batch's clock: rows share their time stamps up to their own end
    longest = max(batch, key=lambda r: r.steps).trace["seconds"]
    for r in batch:
        assert np.array_equal(r.trace["seconds"], longest[: r.steps + 1])
    assert budget and all(r.steps == 50 for r in budget)


def test_batch_ends_when_every_row_has_stopped():
    batch = run_batched(jobs("sphere[dim=3,start=random]", "gd[lr=0.25]", range(4), {"max_steps": 10_000,
                                                                                     "target_gap": 1e-10}))
    assert all(r.status == "converged" and r.steps < 100 for r in batch)


def test_record_does_not_depend_on_the_check_interval(monkeypatch):
    js = jobs(*CASES[0][:2], range(12), CASES[0][3])
    reference = run_batched(js)
    for every in (1, 5):
        monkeypatch.setattr(runner, "CHECK_EVERY", every)
        for a, b in zip(run_batched(js), reference):
            assert (a.status, a.steps) == (b.status, b.steps)
            assert np.array_equal(a.trace["fun"], b.trace["fun"], equal_nan=True)


def test_spectra_row_by_row_match_too(monkeypatch):
    """Above DENSE_BATCH_MAX_DIM the rows' spectra come from the runner's own function."""
    monkeypatch.setattr(batched, "DENSE_BATCH_MAX_DIM", 0)
    js = jobs(*CASES[3][:2], range(2), CASES[3][3])
    for b, j in zip(run_batched(js), js):
        assert_same_record(b, serial(j))


def test_float32_rows_match_float32_serial_runs():
    js = jobs("rosenbrock[start=random]", "adam[lr=0.05]", range(3), {"max_steps": 40}, dtype="float32")
    for b, j in zip(run_batched(js), js):
        assert b.dtype == "float32"
        assert_same_record(b, serial(j), rtol=1e-6)


def test_what_is_batchable():
    budget = {"max_steps": 5}
    assert batchable(jobs("rosenbrock", "adam", [0], budget)[0])
    assert not batchable(jobs("mlp-mixture", "adam", [0], budget)[0])          # training problem
    assert not batchable(jobs("noisy-quadratic[dim=3]", "adam", [0], budget)[0])  # its own instance
    for name in ("lbfgs", "newton", "gd-armijo"):                               # not elementwise
        assert not batchable(jobs("rosenbrock", name, [0], budget)[0])
    assert not batchable(jobs("rosenbrock", "adam", [0], {"max_seconds": 1.0})[0])  # time is shared


def test_groups_batch_only_jobs_that_differ_in_seed():
    a = jobs("rosenbrock[start=random]", "adam[lr=[0.01,0.1]]", range(3), {"max_steps": 5})
    b = jobs("rosenbrock", "lbfgs", range(2), {"max_steps": 5})
    parts = groups(a + b)
    assert [len(p) for p in parts] == [3, 3, 1, 1]
    for p in parts:
        assert len({(j.optimizer, j.hyperparameters["lr"] if "lr" in j.hyperparameters else None) for j in p}) == 1


def test_run_batched_rejects_jobs_that_differ_in_more_than_the_seed():
    a = jobs("rosenbrock", "adam[lr=[0.01,0.1]]", [0], {"max_steps": 5})
    with pytest.raises(ValueError, match="differs .* in more than the seed"):
        run_batched(a)
    with pytest.raises(ValueError, match="cannot be batched"):
        run_batched(jobs("rosenbrock", "lbfgs", [0, 1], {"max_steps": 5}))
    assert run_batched([]) == []


class NoisyGD(torch.optim.Optimizer):
    """Gradient descent plus Gaussian noise drawn from torch's global generator."""

    def __init__(self, params, lr):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure):
        with torch.enable_grad():
            loss = closure()
        for p in self.param_groups[0]["params"]:
            p.add_(p.grad, alpha=-self.param_groups[0]["lr"]).add_(torch.randn_like(p), alpha=1e-3)
        return loss


@optbench.register_optimizer("test-batched-noisy-gd", elementwise=True)
def noisy_gd(params, lr=0.01):
    """Elementwise, but random: a batch would draw all rows' noise from one stream."""
    return NoisyGD(params, lr)


@optbench.register_optimizer("test-batched-raising", elementwise=True)
def raising(params, lr=0.01):
    """SGD whose third step raises."""
    opt = torch.optim.SGD(params, lr=lr)
    step, calls = opt.step, []

    def failing(closure):
        calls.append(1)
        if len(calls) == 3:
            raise FloatingPointError("planted failure")
        return step(closure)

    opt.step = failing
    return opt


def test_an_optimizer_that_draws_random_numbers_runs_seed_by_seed():
    js = jobs("rosenbrock[start=random]", "test-batched-noisy-gd", range(3), {"max_steps": 20})
    for b, j in zip(run_batched(js), js):
        s = serial(j)
        assert "batched_seeds" not in b.environment
        assert np.array_equal(b.trace["fun"], s.trace["fun"]) and b.x == s.x


def test_a_failing_batch_gives_each_seed_its_own_failed_record():
    js = jobs("rosenbrock", "test-batched-raising", range(2), {"max_steps": 10})
    for b in run_batched(js):
        assert b.status == "failed" and "planted failure" in b.message and "Traceback" in b.traceback


def test_no_spectrum_skips_it_in_both_runners():
    """``spectrum = false`` in a suite (``--no-spectrum``): no final spectrum, batched or serial."""
    from optbench.execute import run_job
    from optbench.suite import parse_suite

    s = parse_suite('name = "t"\nseeds = 2\ndevice = "cpu"\nspectrum = false\n[budget]\nmax_steps = 20\n'
                    '[[problems]]\nname = "rosenbrock"\nparams = { start = "random" }\n'
                    '[[optimizers]]\nname = "adam"\n', source="t.toml")
    js = s.jobs()
    assert all(not j.spectrum for j in js)
    for rec in [*run_batched(js), run_job(js[0])]:
        assert rec.status == "budget" and rec.spectrum_method is None and rec.eig_min is None
    with_spectrum = [dataclasses.replace(j, spectrum=True) for j in js]
    assert all(r.spectrum_method == "dense" for r in run_batched(with_spectrum))
