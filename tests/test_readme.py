"""The README's Python examples run as written (each block follows a ``<!-- test:NAME -->``
marker), in a fresh directory, in this process."""
from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT


def readme_block(name: str) -> str:
    """The fenced code block right after ``<!-- test:NAME -->`` in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"<!-- test:{re.escape(name)} -->\n```\w*\n(.*?)```", text, re.S)
    assert match, f"README.md has no block marked <!-- test:{name} -->"
    return match.group(1)


def test_python_api_example(tmp_path, monkeypatch, capsys):
    import matplotlib.figure

    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(readme_block("python-api"), "README.md:python-api", "exec"), namespace)
    results = namespace["results"]
    assert len(results.runs) == 6 and set(results.runs["optimizer_id"]) == {"gd[lr=1e-3]", "gd", "lbfgs"}
    for frame in (results.runs, results.traces):
        assert {"problem_id", "optimizer_id"} <= set(frame.columns) and len(frame)
    assert {"problem_id", "optimizer_id"} <= set(results.evals.columns)
    assert isinstance(namespace["figures"]["convergence-1"], matplotlib.figure.Figure)
    assert (tmp_path / "convergence.png").stat().st_size > 1000
    assert (tmp_path / "reports" / "notebook" / "index.html").exists()
    rec = namespace["rec"]
    assert "converged 35 44" in capsys.readouterr().out and rec.status == "converged"
    assert len(namespace["stored"].runs) == 6


@pytest.mark.parametrize("block, name, params", [("plugin-landscape", "leon", {}),
                                                 ("plugin-training", "moons-mlp", {"batch_size": 32})])
def test_problem_plugin_examples_pass_the_conformance_kit(block, name, params, tmp_path, monkeypatch):
    """Each README plugin, saved under the file name its first line gives, loads with
    ``--plugin`` semantics, passes ``check-problem`` and runs."""
    import optbench
    from optbench.problem_checks import check_problem
    from optbench.registry import PROBLEMS

    PROBLEMS.names()  # the entry points load first; the plugin's registration is undone after the test
    monkeypatch.setattr(PROBLEMS, "_specs", dict(PROBLEMS._specs))
    code = readme_block(block)
    filename = code.splitlines()[0].lstrip("# ").strip()
    (tmp_path / filename).write_text(code)
    optbench.load_plugin(tmp_path / filename)
    failed = [f"{r.name}: {r.detail}" for r in check_problem(name, **params) if not r.passed]
    assert not failed, failed
    rec = optbench.run(name, "adam", problem_params=params, budget=optbench.Budget(max_steps=20), spectrum=False)
    assert rec.status in ("budget", "converged") and rec.fun < rec.f0


def test_three_step_path_puts_the_readme_plugin_beside_the_classic_archive(tmp_path, monkeypatch):
    """The README's ``mine.py`` loads, runs, and ``optbench run classic-v1 --optimizers mine``
    asks for exactly the archived instances, so its report shows the archive."""
    import optbench
    from optbench import archive
    from optbench.registry import OPTIMIZERS
    from optbench.suite import select_suite

    OPTIMIZERS.names()
    monkeypatch.setattr(OPTIMIZERS, "_specs", dict(OPTIMIZERS._specs))
    (tmp_path / "mine.py").write_text(readme_block("plugin-mine"))
    optbench.load_plugin(tmp_path / "mine.py")
    jobs = select_suite("classic-v1", optimizers="mine").jobs()
    assert {j.optimizer for j in jobs} == {"mine"} and len(jobs) == 51 * 5
    found = archive.matching({j.suite_hash for j in jobs})
    assert found is not None and found.meta["suite"] == "classic-v1"
    rec = optbench.run("rosenbrock", "mine", budget=optbench.Budget(max_steps=20), spectrum=False)
    assert rec.status == "budget" and rec.fun < rec.f0
