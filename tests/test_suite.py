"""Suites: TOML parsing, CLI selection syntax, job expansion and keys."""
import pytest

from optbench.errors import ConfigError, UnknownNameError
from optbench.suite import builtin_suites, load_suite, parse_selection, parse_suite, split_top_level

SUITE = """
name = "t"
seeds = [0, 1]
[budget]
max_steps = 10
[[problems]]
name = "rosenbrock"
params = { dim = [2, 3] }
[[problems]]
select = "tag:mgh"
budget = { max_steps = 5 }
[[optimizers]]
name = "gd"
hyperparameters = { lr = [0.1, 0.01] }
"""


def test_expansion_is_the_product():
    suite = parse_suite(SUITE, source="t.toml")
    jobs = suite.jobs()
    from optbench.registry import PROBLEMS

    n_mgh = len(PROBLEMS.with_tag("mgh"))
    assert len(jobs) == (2 + n_mgh) * 2 * 2
    assert len({j.key for j in jobs}) == len(jobs)
    mgh_jobs = [j for j in jobs if j.problem.startswith("mgh")]
    assert all(j.budget.max_steps == 5 for j in mgh_jobs)
    assert {j.problem_params["dim"] for j in jobs if j.problem == "rosenbrock"} == {2, 3}
    assert all(j.hyperparameters.keys() == {"lr", "schedule"} for j in jobs)  # gd: its lr and its lr schedule
    assert parse_suite(SUITE, source="t.toml").jobs()[0].key == jobs[0].key  # stable


def test_selection_syntax():
    assert split_top_level("adam[lr=[1e-3,1e-2],beta1=0.8],lbfgs") == ["adam[lr=[1e-3,1e-2],beta1=0.8]", "lbfgs"]
    sel = parse_selection("adam[lr=[1e-3,1e-2],beta1=0.8]")
    assert sel.pattern == "adam" and sel.grid == {"lr": [1e-3, 1e-2], "beta1": 0.8}
    assert parse_selection("rosenbrock[start=random]").grid == {"start": "random"}
    assert parse_selection("tag:mgh").pattern == "tag:mgh"
    with pytest.raises(ConfigError, match="unbalanced"):
        split_top_level("adam[lr=1")


def test_malformed_toml_names_file_and_line():
    with pytest.raises(ConfigError, match=r"bad.toml: malformed TOML: .*line 3"):
        parse_suite('name = "x"\nseeds = 2\nmax_steps = = 3\n', source="bad.toml")


@pytest.mark.parametrize("text, message", [
    ('name="x"\n[[optimizers]]\nname="gd"\n', "missing \\[\\[problems\\]\\]"),
    ('nme="x"\n[[problems]]\nname="sphere"\n[[optimizers]]\nname="gd"\n', "unknown key\\(s\\) \\['nme'\\]"),
    ('seeds=0\n[[problems]]\nname="sphere"\n[[optimizers]]\nname="gd"\n', "seeds = 0"),
    ('[[problems]]\nname="sphere"\nparams={dim=[]}\n[[optimizers]]\nname="gd"\n', "empty list"),
    ('[budget]\nmax_step=3\n[[problems]]\nname="sphere"\n[[optimizers]]\nname="gd"\n', "unknown budget field"),
    ('spectrum="no"\n[[problems]]\nname="sphere"\n[[optimizers]]\nname="gd"\n', "spectrum = 'no' must be true or false"),
])
def test_invalid_suites(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_suite(text, source="s.toml").jobs()


def test_unknown_names_in_suites():
    with pytest.raises(UnknownNameError, match="did you mean 'adam'"):
        parse_suite('[[problems]]\nname="sphere"\n[[optimizers]]\nname="adma"\n').jobs()
    with pytest.raises(UnknownNameError, match="did you mean 'quick'"):
        load_suite("quik")


def test_builtin_suites_expand():
    assert "quick" in builtin_suites()
    for name in builtin_suites():
        assert load_suite(name).jobs()


def test_no_spectrum_flag_reaches_the_stored_runs(tmp_path, monkeypatch):
    from optbench import cli
    from optbench.store import Results, Store

    monkeypatch.chdir(tmp_path)
    common = ["run", "--problems", "sphere[dim=3]", "--optimizers", "gd,lbfgs", "--max-steps", "5", "-q",
              "--no-report"]
    assert cli.main([*common, "--db", "a.sqlite", "--no-spectrum"]) == 0
    assert cli.main([*common, "--db", "b.sqlite"]) == 0
    skipped, taken = Results(Store("a.sqlite")).runs, Results(Store("b.sqlite")).runs
    assert skipped["spectrum_method"].isna().all() and skipped["eig_min"].isna().all()
    assert (taken["spectrum_method"] == "dense").all()
    assert set(skipped["key"]) == set(taken["key"])  # the same runs: the spectrum is not part of the key
