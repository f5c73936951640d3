"""Hessian spectra: quadratics with known eigenvalues (dense and Lanczos), saddles, classification."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import optbench
from optbench.spectrum import classify_spectrum, hessian_spectrum, spectrum_rtol


def rotated_quadratic(eigenvalues, seed=0, dtype=torch.float64):
    """f(x) = 1/2 x^T Q diag(lam) Q^T x with a random rotation Q: Hessian spectrum = lam."""
    lam = torch.as_tensor(eigenvalues, dtype=torch.float64)
    n = lam.numel()
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    a = ((q * lam) @ q.T).to(dtype)

    def f(x):
        return 0.5 * x @ (a @ x)

    return f, torch.ones(n, dtype=dtype)


def test_dense_quadratic_known_spectrum():
    f, x = rotated_quadratic([0.01, 0.1, 1.0, 10.0])
    s = hessian_spectrum(f, x)
    assert s["method"] == "dense"
    assert s["eig_min"] == pytest.approx(0.01, rel=1e-10) and s["eig_max"] == pytest.approx(10.0, rel=1e-12)
    assert s["condition"] == pytest.approx(1000.0, rel=1e-9)
    assert s["n_negative"] == 0
    assert classify_spectrum(s["eig_min"], s["eig_max"]) == "minimum"


def test_dense_indefinite_counts_negative_eigenvalues_and_condition_uses_absolute_values():
    f, x = rotated_quadratic([-3.0, -0.5, 2.0, 6.0, 1e-20])
    s = hessian_spectrum(f, x)
    assert s["n_negative"] == 2  # 1e-20 is zero within sqrt(eps) * 6
    assert s["eig_min"] == pytest.approx(-3.0) and s["eig_max"] == pytest.approx(6.0)
    assert s["condition"] > 1e12  # max|lambda| / min|lambda| with a (numerically) zero eigenvalue


def test_lanczos_full_length_recovers_the_extremes_exactly():
    lam = np.linspace(0.5, 50.0, 60)
    f, x = rotated_quadratic(lam, seed=1)
    s = hessian_spectrum(f, x, max_dense=10, k=60)
    assert s["method"] == "lanczos"
    assert s["eig_min"] == pytest.approx(0.5, rel=1e-8) and s["eig_max"] == pytest.approx(50.0, rel=1e-10)
    assert s["condition"] == pytest.approx(100.0, rel=1e-8) and s["n_negative"] == 0


def test_lanczos_few_steps_brackets_the_true_extremes():
    # isolated extreme eigenvalues converge first (Kaniel-Paige); interlacing gives the bounds
    lam = np.concatenate([[1e-2], np.linspace(1.0, 2.0, 298), [100.0]])
    f, x = rotated_quadratic(lam, seed=2)
    s = hessian_spectrum(f, x, max_dense=0, k=30)
    assert 1e-2 * (1 - 1e-12) <= s["eig_min"] <= 1e-2 * (1 + 1e-6)  # interlacing, up to rounding
    assert 100.0 * (1 - 1e-9) <= s["eig_max"] <= 100.0 * (1 + 1e-12)


def test_lanczos_stops_on_an_invariant_subspace():
    f, x = rotated_quadratic([2.0] * 50)  # H = 2 I: the first Krylov vector spans everything
    s = hessian_spectrum(f, x, max_dense=0, k=40)
    assert s["eig_min"] == pytest.approx(2.0) and s["eig_max"] == pytest.approx(2.0)


def saddle(x):
    """x0^2 - x1^2 + 0.5 * sum(x[2:]^2): one negative eigenvalue (-2)."""
    return x[0] ** 2 - x[1] ** 2 + 0.5 * (x[2:] ** 2).sum()


@pytest.mark.parametrize("max_dense", [100, 0])
def test_saddle_is_found_by_both_paths(max_dense):
    x = torch.zeros(30, dtype=torch.float64)
    s = hessian_spectrum(saddle, x, max_dense=max_dense, k=30)
    assert s["eig_min"] == pytest.approx(-2.0) and s["eig_max"] == pytest.approx(2.0)
    assert s["n_negative"] == 1  # dense: exact; Lanczos: a lower bound, here attained
    # dense: max|lambda| / min|lambda| = 2 / 1; Lanczos: unknown for an indefinite Hessian
    assert math.isnan(s["condition"]) if max_dense == 0 else s["condition"] == pytest.approx(2.0)
    assert classify_spectrum(s["eig_min"], s["eig_max"]) == "saddle"


def test_rosenbrock_hessian_at_the_minimum_matches_the_closed_form():
    p = optbench.get_problem("rosenbrock")
    s = hessian_spectrum(p.f, torch.tensor([1.0, 1.0], dtype=torch.float64))
    expected = np.linalg.eigvalsh(np.array([[802.0, -400.0], [-400.0, 200.0]]))
    assert [s["eig_min"], s["eig_max"]] == pytest.approx(expected.tolist(), rel=1e-10)


def test_training_problem_flat_objective_dense_and_lanczos_agree_on_the_extremes():
    p = optbench.get_problem("mlp-mixture", samples=32, features=3, classes=2, width=4, depth=1)
    flat = p.instantiate(seed=0).flat_objective()
    x = flat.x().double()

    def f(v):
        return flat.f(v.float()).double()

    dense = hessian_spectrum(f, x)
    lanczos = hessian_spectrum(f, x, max_dense=0, k=x.numel())
    assert lanczos["eig_max"] == pytest.approx(dense["eig_max"], rel=1e-4, abs=1e-5)
    assert lanczos["eig_min"] == pytest.approx(dense["eig_min"], rel=1e-3, abs=1e-4)


def test_non_finite_hessian_gives_nan_and_unknown():
    s = hessian_spectrum(lambda x: torch.sqrt(x).sum(), -torch.ones(3, dtype=torch.float64))
    assert math.isnan(s["eig_min"]) and s["n_negative"] is None
    assert classify_spectrum(s["eig_min"], s["eig_max"]) == "unknown"
    s = hessian_spectrum(lambda x: torch.sqrt(x).sum(), -torch.ones(3, dtype=torch.float64), max_dense=0)
    assert s["method"] == "lanczos" and math.isnan(s["eig_max"])


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_classification_tolerance_is_relative(scale):
    assert classify_spectrum(0.5 * scale, 2.0 * scale) == "minimum"
    assert classify_spectrum(-1e-3 * scale, 2.0 * scale) == "saddle"
    assert classify_spectrum(1e-12 * scale, 2.0 * scale) == "flat"
    assert classify_spectrum(-1e-12 * scale, 2.0 * scale) == "flat"


def test_classification_of_degenerate_and_missing_values():
    assert classify_spectrum(0.0, 0.0) == "flat"
    assert classify_spectrum(None, 1.0) == "unknown"
    assert classify_spectrum(math.nan, 1.0) == "unknown"
    assert classify_spectrum(-2.0, -1.0) == "saddle"  # a maximum: negative curvature everywhere


def test_quartic_flat_direction_is_flat():
    s = hessian_spectrum(lambda x: x[0] ** 2 + x[1] ** 4, torch.zeros(2, dtype=torch.float64))
    assert classify_spectrum(s["eig_min"], s["eig_max"]) == "flat"


def test_float32_uses_a_looser_default_tolerance():
    assert spectrum_rtol(torch.float32) == pytest.approx(math.sqrt(torch.finfo(torch.float32).eps))
    assert spectrum_rtol("float64") < 1e-7 < spectrum_rtol("float32")
    f, x = rotated_quadratic([1e-5, 1.0], dtype=torch.float32)
    s = hessian_spectrum(f, x)
    assert classify_spectrum(s["eig_min"], s["eig_max"], rtol=spectrum_rtol(torch.float32)) == "flat"
    assert classify_spectrum(s["eig_min"], s["eig_max"], rtol=spectrum_rtol(torch.float64)) == "minimum"
