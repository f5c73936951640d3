"""The `modern` suite: the optimizers compared in 2026 on training problems with test metrics."""
from __future__ import annotations

from pathlib import Path

import pytest

import optbench
from optbench.errors import UnknownNameError
from optbench.suite import builtin_suites, parse_suite, select_suite

ROOT = Path(__file__).resolve().parent.parent
MODERN = ["adam", "adamw", "nadam", "muon", "sf-adamw", "soap", "lion", "lbfgs"]


def test_every_builtin_suite_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    for name in builtin_suites():
        assert f"- `{name}`" in readme, name


def test_modern_names_its_optimizers_and_only_training_problems_with_test_metrics():
    suite = select_suite("modern")
    assert [sel.pattern for sel in suite.optimizers] == MODERN
    assert {sel.pattern for sel in suite.optimizers if sel.optional} == {"sf-adamw", "soap", "lion"}
    for sel in suite.problems:
        assert "neural" in optbench.PROBLEMS.get(sel.pattern).tags
    assert suite.budget["eval_every"] > 0


def test_an_optional_optimizer_that_is_not_installed_is_skipped_and_a_required_one_is_an_error():
    text = ('[[problems]]\nname = "sphere"\n[[optimizers]]\nname = "adam"\n'
            '[[optimizers]]\nname = "not-an-installed-optimizer"\noptional = true\n')
    suite = parse_suite(text)
    assert suite.missing_optional() == ["not-an-installed-optimizer"]
    assert {j.optimizer for j in suite.jobs()} == {"adam"}
    with pytest.raises(UnknownNameError):
        parse_suite(text.replace("optional = true\n", "")).jobs()


def test_modern_runs_every_installed_optimizer_with_test_metrics():
    suite = select_suite("modern", problems=["mlp-mixture[samples=64,width=8]"]).with_budget(max_steps=2, eval_every=1)
    jobs = [j for j in suite.jobs() if j.seed == 0]
    assert {j.optimizer for j in jobs} == set(MODERN) - set(suite.missing_optional())
    for job in jobs:
        rec = optbench.run(job.problem, job.optimizer, hyperparameters=job.hyperparameters,
                           problem_params=job.problem_params, seed=job.seed, budget=job.budget, spectrum=False)
        assert rec.status == "budget", (job.optimizer, rec.message)
        assert len(rec.evals["test_loss"][1]) == 3 and len(rec.evals["test_accuracy"][1]) == 3
