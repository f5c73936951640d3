"""Quadratics with known spectra: the spectrum, the minimizer, GD's textbook rate, the noise model."""
from __future__ import annotations

import math

import pytest
import torch

import optbench
from optbench.errors import ConfigError
from problems.quadratics import clustered_spectrum, log_spectrum

SPECTRUM_CASES = [
    dict(spectrum="log", dim=1),
    dict(spectrum="log", dim=10, kappa=1e4),
    dict(spectrum="clustered", dim=11, clusters=4, cluster_width=0.05),
    dict(spectrum="deepobs", dim=100, minimizer="random", rotation_seed=3),
]


@pytest.mark.parametrize("params", SPECTRUM_CASES, ids=lambda p: "-".join(f"{v}" for v in p.values()))
def test_hessian_has_the_requested_spectrum(params):
    p = optbench.get_problem("quadratic", **params)
    h = p.hessian
    assert h.dtype == torch.float64 and p.eigenvalues.dtype == torch.float64
    assert torch.equal(h, h.T)
    built = torch.linalg.eigvalsh(h)
    requested = torch.sort(p.eigenvalues).values
    torch.testing.assert_close(built, requested, rtol=0, atol=1e-10)
    assert p.L == float(requested[-1]) and p.mu == float(requested[0])
    # the Hessian of f is A everywhere (checked at a point off the minimizer)
    x = p.start_point(seed=1)
    torch.testing.assert_close(torch.func.hessian(p.f)(x), h, rtol=0, atol=1e-12)
    facts = {**p.describe(), **p.describe_constants()}
    assert {"spectrum", "eigenvalues", "L", "mu", "kappa"} <= set(facts)


def test_log_spectrum_is_log_spaced_from_one_to_one_over_kappa():
    lam = log_spectrum(5, 1e4)
    torch.testing.assert_close(lam, torch.tensor([1.0, 1e-1, 1e-2, 1e-3, 1e-4], dtype=torch.float64), rtol=1e-15, atol=0)
    p = optbench.get_problem("quadratic", dim=5, kappa=1e4)
    assert p.L == 1.0 and p.mu == pytest.approx(1e-4, rel=1e-15)


def test_clustered_spectrum_definition():
    # n = 7, k = 3: groups of 3, 2, 2 around 1, 1/10, 1/100, relative half-width 0.1
    lam = clustered_spectrum(7, 100.0, 3, 0.1)
    expected = [1.1, 1.0, 0.9, 0.11, 0.09, 0.011, 0.009]
    torch.testing.assert_close(lam, torch.tensor(expected, dtype=torch.float64), rtol=1e-14, atol=0)
    assert torch.equal(clustered_spectrum(3, 100.0, 3, 0.1), torch.tensor([1.0, 0.1, 0.01], dtype=torch.float64))


def test_deepobs_spectrum_is_ninety_ten():
    p = optbench.get_problem("quadratic", spectrum="deepobs", dim=100)
    lam = p.eigenvalues
    assert int(((lam > 0) & (lam < 1)).sum()) == 90
    assert int(((lam >= 30) & (lam <= 60)).sum()) == 10
    other = optbench.get_problem("quadratic", spectrum="deepobs", dim=100, rotation_seed=1)
    assert not torch.equal(lam, other.eigenvalues)


def test_problem_is_fixed_by_rotation_seed_not_by_run_seed():
    a = optbench.get_problem("quadratic", dim=6, minimizer="random")
    b = optbench.get_problem("quadratic", dim=6, minimizer="random")
    assert torch.equal(a.hessian, b.hessian) and a.x_star == b.x_star
    x0, x1 = (a.instantiate(seed=s).point() for s in (0, 1))
    assert not torch.equal(x0, x1)
    c = optbench.get_problem("quadratic", dim=6, minimizer="random", rotation_seed=1)
    assert not torch.equal(a.hessian, c.hessian) and a.x_star != c.x_star
    torch.testing.assert_close(torch.linalg.eigvalsh(c.hessian), torch.sort(a.eigenvalues).values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("minimizer", ["ones", "random"])
def test_f_vanishes_at_the_minimizer(minimizer):
    p = optbench.get_problem("quadratic", dim=7, spectrum="deepobs", minimizer=minimizer)
    (x_star,) = p.x_star
    x = torch.tensor(x_star, dtype=torch.float64, requires_grad=True)
    f = p.f(x)
    (g,) = torch.autograd.grad(f, x)
    assert float(f.detach()) == 0.0 and p.f_star == 0.0
    assert float(g.abs().max()) == 0.0
    if minimizer == "random":
        assert all(-2.0 <= v <= 2.0 for v in x_star) and x_star != [1.0] * 7


@pytest.mark.parametrize("bad", [dict(spectrum="flat"), dict(minimizer="zero"), dict(kappa=0.5),
                                 dict(clusters=20, spectrum="clustered"), dict(cluster_width=1.0), dict(dim=0)])
def test_bad_parameters_name_what_is_accepted(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        optbench.get_problem("quadratic", **bad)


def test_gd_with_step_one_over_L_contracts_at_the_textbook_rate():
    """GD with step 1/L maps e = x - x* to (I - A/L) e, so in A's eigenbasis (c = V^T e_0)
    f(x_k) = 1/2 sum_i lambda_i (1 - lambda_i/L)^(2k) c_i^2 and ||e_k|| <= (1 - mu/L)^k ||e_0||,
    with the ratio f_(k+1)/f_k tending to (1 - mu/L)^2."""
    params = dict(dim=6, kappa=10.0, rotation_seed=2)
    p = optbench.get_problem("quadratic", **params)
    steps = 60
    rec = optbench.run("quadratic", "gd", hyperparameters={"lr": 1 / p.L}, problem_params=params,
                       budget=optbench.Budget(max_steps=steps), device="cpu", seed=4)
    assert rec.status == "budget" and rec.steps == steps
    lam, v = torch.linalg.eigh(p.hessian)
    x_star = torch.tensor(p.x_star[0], dtype=torch.float64)
    e0 = p.start_point(seed=4) - x_star
    c = v.T @ e0
    k = torch.arange(steps + 1, dtype=torch.float64).unsqueeze(1)
    factors = (1 - lam / p.L) ** k  # (steps + 1, dim)
    expected = 0.5 * (lam * (factors * c) ** 2).sum(1)
    fun = torch.as_tensor(rec.trace["fun"])
    torch.testing.assert_close(fun, expected, rtol=1e-10, atol=0)
    e_final = torch.tensor(rec.x, dtype=torch.float64) - x_star
    torch.testing.assert_close(e_final, v @ (factors[-1] * c), rtol=0, atol=1e-13 * float(e0.norm()))
    rate = 1 - p.mu / p.L
    norms = (factors * c).norm(dim=1)  # ||e_k|| (V is orthogonal)
    assert bool((norms <= rate ** k.squeeze(1) * float(e0.norm()) * (1 + 1e-12)).all())
    assert float(fun[-1] / fun[-2]) == pytest.approx(rate**2, rel=1e-3)


# ---------------------------------------------------------------------------------------
# The noisy quadratic
# ---------------------------------------------------------------------------------------
NOISY = dict(dim=3, kappa=10.0, sigma=0.5, rotation_seed=1)


def test_noisy_quadratic_is_stochastic_with_a_noise_free_f_star():
    p = optbench.get_problem("noisy-quadratic", **NOISY)
    assert p.stochastic and "stochastic" in p.tags and p.f_star == 0.0
    inst = p.instantiate(seed=0)
    assert inst.stochastic
    assert "noise" in p.describe()


def test_gradient_noise_has_the_stated_covariance():
    """grad of 1/2 (x - x* - xi)^T A (x - x* - xi) is grad f(x) - A xi: mean 0, covariance sigma^2 A^2."""
    p = optbench.get_problem("noisy-quadratic", **NOISY)
    inst = p.instantiate(seed=5)
    a = p.hessian
    true_grad = a @ (inst.point() - torch.tensor(p.x_star[0], dtype=torch.float64))
    n = 2000
    noise = torch.empty(n, p.dim, dtype=torch.float64)
    for k in range(n):
        inst.begin_step(k)
        loss = inst.objective()
        (g,) = torch.autograd.grad(loss, inst.x)
        if k % 100 == 0:  # one sample per step, however many closure calls
            assert torch.equal(torch.autograd.grad(inst.objective(), inst.x)[0], g)
        noise[k] = g - true_grad
    cov = p.sigma**2 * a @ a
    mean = noise.mean(0)
    centred = noise - mean
    sample_cov = centred.T @ centred / (n - 1)
    # standard errors of a Gaussian sample mean and covariance: 5 of them is the tolerance
    se_mean = (torch.diagonal(cov) / n).sqrt()
    d = torch.diagonal(cov)
    se_cov = ((d.unsqueeze(0) * d.unsqueeze(1) + cov**2) / n).sqrt()
    assert bool((mean.abs() <= 5 * se_mean).all()), (mean, se_mean)
    assert bool(((sample_cov - cov).abs() <= 5 * se_cov).all()), (sample_cov, cov)


def test_same_seed_same_noise_for_every_optimizer():
    p = optbench.get_problem("noisy-quadratic", **NOISY)

    def shifts(seed, steps=20):
        inst = p.instantiate(seed=seed)
        out = []
        for k in range(steps):
            inst.begin_step(k)
            out.append(inst.xi.clone())
        return torch.stack(out)

    assert torch.equal(shifts(3), shifts(3))
    assert not torch.equal(shifts(3), shifts(4))
    # optimizers that do not move (lr = 0) record f(x0 - xi_k) at every step: the same sequence
    budget = optbench.Budget(max_steps=20)
    recs = [optbench.run("noisy-quadratic", opt, hyperparameters={"lr": 0.0}, problem_params=NOISY,
                         budget=budget, device="cpu", seed=3) for opt in ("gd", "adam")]
    assert all(r.status == "budget" for r in recs)
    x0 = p.start_point(seed=3)
    expected = torch.stack([p.f(x0 - xi) for xi in shifts(3, 21)])
    for r in recs:
        torch.testing.assert_close(torch.as_tensor(r.trace["fun"]), expected, rtol=1e-14, atol=0)


def test_noisy_quadratic_reports_the_noise_free_objective():
    rec = optbench.run("noisy-quadratic", "gd", hyperparameters={"lr": 0.3}, problem_params=NOISY,
                       budget=optbench.Budget(max_steps=40, eval_every=10), device="cpu", seed=1)
    assert rec.status == "budget", rec.message
    p = optbench.get_problem("noisy-quadratic", **NOISY)
    f_final = float(p.f(torch.tensor(rec.x, dtype=torch.float64)))
    assert rec.fun == pytest.approx(f_final, rel=1e-14)
    assert rec.gap == rec.fun  # f* = 0
    steps, losses = rec.evals["loss"]
    assert list(steps) == [0, 10, 20, 30, 40]
    assert losses[-1] == pytest.approx(f_final, rel=1e-14)
    assert not math.isclose(float(rec.trace["fun"][-1]), f_final)  # the trace holds the noisy values
