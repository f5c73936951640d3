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
    for name in ("lbfgs", "bfgs", "newton", "newton-cg", "gd-armijo"):          # row-wise forms
        assert batchable(jobs("rosenbrock", name, [0], budget)[0])
    assert not batchable(jobs("rosenbrock", "scipy-lbfgsb", [0], budget)[0])    # a driver
    assert not batchable(jobs("rosenbrock", "adam", [0], {"max_seconds": 1.0})[0])  # time is shared


def test_groups_batch_only_jobs_that_differ_in_seed():
    a = jobs("rosenbrock[start=random]", "adam[lr=[0.01,0.1]]", range(3), {"max_steps": 5})
    b = jobs("rosenbrock", "scipy-lbfgsb", range(2), {"max_steps": 5})
    parts = groups(a + b)
    assert [len(p) for p in parts] == [3, 3, 1, 1]
    for p in parts:
        assert len({(j.optimizer, j.hyperparameters["lr"] if "lr" in j.hyperparameters else None) for j in p}) == 1


def test_run_batched_rejects_jobs_that_differ_in_more_than_the_seed():
    a = jobs("rosenbrock", "adam[lr=[0.01,0.1]]", [0], {"max_steps": 5})
    with pytest.raises(ValueError, match="differs .* in more than the seed"):
        run_batched(a)
    with pytest.raises(ValueError, match="cannot be batched"):
        run_batched(jobs("rosenbrock", "scipy-lbfgsb", [0, 1], {"max_steps": 5}))
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


# ---------------------------------------------------------------------------------------
# Row-wise methods: each row its own line search, curvature pairs, Hessian and counts
# ---------------------------------------------------------------------------------------
ROWWISE_CASES = [
    ("rosenbrock[start=random]", "lbfgs", range(4), {"max_steps": 200, "target_gap": 1e-10}),
    # rows stop on their own evaluation budgets, at different steps
    ("mgh07-helical-valley[start=random]", "lbfgs", range(4), {"max_steps": 300, "max_evals": 60}),
    ("mgh13-powell-singular[start=random]", "bfgs", range(3), {"max_steps": 200, "target_gap": 1e-8}),
    ("rosenbrock[start=random]", "gd-armijo[regrow=true]", range(3), {"max_steps": 100, "target_gap": 1e-8}),
    # every trial fails now and then: the row stays put and pays the runner's re-evaluation
    ("rosenbrock[start=random]", "gd-armijo[max_backtracks=2]", range(3), {"max_steps": 40}),
    ("himmelblau[start=random]", "newton", range(3), {"max_steps": 30, "target_gap": 1e-8}),
    # steps too short to move x: the repeated point is served from the cache, as in the runner
    ("rastrigin[dim=3,start=random]", "newton", range(3), {"max_steps": 30}),
    ("mgh21-extended-rosenbrock[start=random]", "newton-cg[max_cg=5]", range(3), {"max_steps": 100,
                                                                                  "target_gap": 1e-8}),
    # no target: L-BFGS meets its gradient tolerance and stalls, each row at its own step
    ("himmelblau[start=random]", "lbfgs", range(3), {"max_steps": 50}),
]


@pytest.mark.parametrize("problem,optimizer,seeds,budget", ROWWISE_CASES,
                         ids=[c[0].split("[")[0] + "-" + c[1] for c in ROWWISE_CASES])
def test_rowwise_records_equal_serial_records(problem, optimizer, seeds, budget):
    """The row-wise port makes the serial method's decisions: same status, steps, evaluations
    (the whole nfev trace) and message; values agree to rounding (BLAS dot against a row-wise
    sum, a fused step against a product and a sum)."""
    js = jobs(problem, optimizer, seeds, budget)
    assert all(batchable(j) for j in js)
    for b, j in zip(run_batched(js), js):
        s = serial(j)
        assert b.environment["batched_seeds"] == str(len(js))
        assert (b.status, b.message, b.steps, b.nfev) == (s.status, s.message, s.steps, s.nfev)
        assert np.array_equal(b.trace["nfev"], s.trace["nfev"])
        scale = max(1.0, abs(s.f0))
        np.testing.assert_allclose(b.trace["fun"], s.trace["fun"], rtol=1e-6, atol=1e-12 * scale)
        assert b.spectrum_method == s.spectrum_method


ALONE_CASES = [  # (problem, optimizer, budget); bitwise between a batch of one and a bigger batch
    ("rosenbrock[start=random]", "lbfgs", {"max_steps": 60, "target_gap": 1e-10}),
    ("mgh07-helical-valley[start=random]", "lbfgs[history_size=3]", {"max_steps": 60, "max_evals": 50}),
    ("mgh21-extended-rosenbrock[start=random]", "bfgs", {"max_steps": 60}),
    ("himmelblau[start=random]", "gd-armijo[regrow=true]", {"max_steps": 40}),
    ("rosenbrock[start=random]", "newton", {"max_steps": 40, "target_gap": 1e-10}),
    ("mgh21-extended-rosenbrock[start=random]", "newton-cg[max_cg=4]", {"max_steps": 40}),
]


def _same_bits(a, b):
    assert (a.status, a.message, a.steps, a.nfev, a.nhev) == (b.status, b.message, b.steps, b.nfev, b.nhev)
    for name in a.trace:
        if name != "seconds":
            assert np.array_equal(a.trace[name], b.trace[name], equal_nan=True), name
    assert a.x == b.x


@pytest.mark.parametrize("problem,optimizer,budget", ALONE_CASES, ids=[c[1] for c in ALONE_CASES])
def test_a_rows_record_does_not_depend_on_its_batch(problem, optimizer, budget):
    """A seed alone and among others, at another position: the same record bit for bit (every
    operation is elementwise or reduces within a row; these problems' f are row-independent)."""
    js = [dataclasses.replace(j, spectrum=False) for j in jobs(problem, optimizer, range(8), budget)]
    batch = run_batched(js)
    reordered = run_batched(js[::-1])[::-1]
    assert len({(r.steps, r.nfev) for r in batch}) > 1  # the rows did not march in step
    for i in (0, 5):
        (alone,) = run_batched([js[i]])
        _same_bits(alone, batch[i])
        _same_bits(alone, reordered[i])


def test_a_row_alone_and_in_a_batch_of_64_agree_bitwise():
    js = [dataclasses.replace(j, spectrum=False)
          for j in jobs("rosenbrock[start=random]", "lbfgs", range(64), {"max_steps": 80, "target_gap": 1e-10})]
    batch = run_batched(js)
    assert {r.status for r in batch} >= {"converged"}
    for i in (0, 37, 63):
        _same_bits(run_batched([js[i]])[0], batch[i])


def test_matrix_product_problems_agree_to_rounding_across_batches():
    """``quadratic`` evaluates ``x @ A``: BLAS blocks it differently for 1 and 6 rows, so a row
    alone and in a batch differ by rounding (~1e-16 of the start value per step, ~1e-11 relative
    after 15 steps of L-BFGS here), not bit for bit; decisions still agree."""
    js = [dataclasses.replace(j, spectrum=False)
          for j in jobs("quadratic[dim=6,kappa=100,start=random]", "lbfgs", range(6), {"max_steps": 60,
                                                                                     "target_gap": 1e-12})]
    batch = run_batched(js)
    for i in (0, 4):
        (alone,) = run_batched([js[i]])
        assert (alone.status, alone.steps, alone.nfev) == (batch[i].status, batch[i].steps, batch[i].nfev)
        np.testing.assert_allclose(alone.trace["fun"], batch[i].trace["fun"], rtol=1e-9,
                                   atol=1e-15 * alone.trace["fun"][0])


def test_a_row_that_stalls_is_stopped_at_its_own_step():
    js = jobs("himmelblau[start=random]", "lbfgs", range(3), {"max_steps": 50})
    batch = run_batched(js)
    assert all(r.status == "stopped" and r.message.startswith("no progress") and r.steps < 50 for r in batch)
    assert len({r.steps for r in batch}) > 1


def test_second_order_work_is_counted_up_to_each_rows_own_stop():
    """``nhev`` is the row's own count at the row its record ends: Newton computes one Hessian
    per step until it converges, whatever the other rows still do."""
    js = [dataclasses.replace(j, spectrum=False)
          for j in jobs("rosenbrock[start=random]", "newton", range(6), {"max_steps": 100, "target_gap": 1e-10})]
    batch = run_batched(js)
    assert all(r.status == "converged" for r in batch) and len({r.steps for r in batch}) > 1
    assert [r.nhev for r in batch] == [r.steps for r in batch]


def test_backtracking_trials_take_no_gradient():
    """A row-wise Armijo search takes the gradient with its first trial only; a backtracking trial
    evaluates ``f`` alone, and the rows accepted after a backtrack get their gradient from one
    uncounted pass. The records are those of the serial method (counts included)."""
    from optbench.optimizers.rowwise import RowwiseArmijoGD

    problem = optbench.get_problem("rosenbrock", start="random")
    calls = []

    def f(x):
        calls.append(torch.is_grad_enabled() and x.requires_grad)
        return problem.f(x)

    x0 = torch.stack([problem.start_point(seed) for seed in range(4)])
    method = RowwiseArmijoGD(f, x0)  # lr 1 from a random start: many backtracks per step
    for _ in range(5):
        before, nfev = len(calls), method.nfev.copy()
        method.step(np.ones(4, dtype=bool))
        step_calls = calls[before:]
        trials = int((method.nfev - nfev).max())
        assert trials > 2  # the test needs backtracking
        assert step_calls[0] and not any(step_calls[1:trials])  # only the first trial took a gradient
        assert sum(step_calls) <= 2  # plus at most one pass for the rows accepted late
    js = [dataclasses.replace(j, spectrum=False)
          for j in jobs("rosenbrock[start=random]", "gd-armijo", range(4), {"max_steps": 40})]
    for rec, job in zip(run_batched(js), js):
        alone = serial(job)
        assert (rec.status, rec.steps, rec.nfev) == (alone.status, alone.steps, alone.nfev)


def test_backtracking_rounds_that_cannot_move_a_row_call_no_f():
    """Trial steps below the resolution of ``x`` land on ``x`` itself, the row's last evaluated
    point: the serial runner serves them from its cache, and the row-wise search calls no ``f``
    for such a round (50 of the 51 trials here), with the same decisions and counts."""
    from optbench.optimizers.rowwise import RowwiseArmijoGD

    calls = []

    def f(x):
        calls.append(1)
        return (x - 1e8).square().sum(-1)

    x0 = torch.tensor([[1e8 + 1.0]], dtype=torch.float64)  # ulp(x) ~ 1.5e-8, gradient 2
    method = RowwiseArmijoGD(f, x0, lr=3e-9)  # t d < ulp/2: x + t d == x, and f(x) = 1 fails Armijo
    del calls[:]
    method.step(np.ones(1, dtype=bool))
    assert torch.equal(method.x, x0) and method.nfev.tolist() == [1]  # no trial was a new evaluation
    assert len(calls) == 2  # the first trial (with its gradient) and the re-evaluation after the failure


def test_records_are_the_same_under_jobs_1_jobs_2_and_no_batch(tmp_path):
    """Batching stays automatic in the serial executor and in the workers of ``--jobs 2`` (each is
    handed the seeds of one job, :func:`optbench.execute._groups`, and runs them with
    :func:`optbench.execute._safe_run_group`, called here in-process: starting worker processes
    costs seconds); ``--no-batch`` runs the seeds one by one. The records agree."""
    import json
    import sqlite3

    from optbench.execute import _groups, _safe_run_group, execute
    from optbench.store import Store

    js = [dataclasses.replace(j, spectrum=False) for opt in ("lbfgs", "newton", "adam[lr=0.05]")
          for j in jobs("rosenbrock[start=random]", opt, range(3), {"max_steps": 40, "target_gap": 1e-10})]
    seen = {}
    for name, options in {"jobs1": {}, "no-batch": {"batch": False}}.items():
        with Store(tmp_path / f"{name}.sqlite") as store:
            assert execute(js, store, progress=False, log=lambda msg: None, **options).done == len(js)
        conn = sqlite3.connect(tmp_path / f"{name}.sqlite")
        rows = conn.execute("SELECT key, status, steps, nfev, environment FROM runs").fetchall()
        conn.close()
        seen[name] = {key: (status, steps, nfev) for key, status, steps, nfev, _ in rows}
        assert {json.loads(env).get("batched_seeds") for *_, env in rows} == ({None} if options else {"3"})
    handed_out = _groups(js, True, workers=2)
    assert [len(g) for g in handed_out] == [3, 3, 3]
    records = [r for group in handed_out for r in _safe_run_group(group)]
    assert {r.environment["batched_seeds"] for r in records} == {"3"}
    seen["jobs2"] = {r.key: (r.status, r.steps, r.nfev) for r in records}
    assert seen["jobs1"] == seen["jobs2"] == seen["no-batch"] and len(seen["jobs1"]) == len(js)
    # one job's seeds and two workers: each worker gets half of them
    assert [len(g) for g in _groups(js[:3], True, workers=2)] == [1, 2]
    assert [len(g) for g in _groups(js, False, workers=2)] == [1] * len(js)
