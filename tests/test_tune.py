"""Tuning with equal budgets: exact trial counts, separate seeds, determinism, the known best step."""
import dataclasses
import math

import pytest

from optbench import cli
from optbench.errors import ConfigError
from optbench.optimizer import Choice, LogUniform, Uniform
from optbench.registry import OPTIMIZERS, PROBLEMS, get_optimizer
from optbench.store import Results, Store
from optbench.suite import load_suite, parse_suite
from optbench.tune import apply_tuned, format_entries, read_tuned, run_protocol, trial_cells, write_tuned
from optbench.tuning.frames import sensitivity_frame, tuned_vs_default_frame
from optbench.tuning.search import edges, format_value, grid_note, grid_shape, trial_configs
from optbench.tuning.selection import TunedEntry
from optbench.tuning.settings import TUNING_SEED_BASE, TuneSettings, settings_for
from optbench.tuning.statistics import budget_frame, expected_best, expected_best_curve


def suite(problems: str, optimizers=("gd",), *, seeds=2, budget="max_steps = 20", tune="budget = 4"):
    text = f'name = "t"\nseeds = {seeds}\ndevice = "cpu"\n[budget]\n{budget}\n[tune]\n{tune}\n{problems}\n'
    text += "".join(f'[[optimizers]]\nname = "{o}"\n' for o in optimizers)
    return parse_suite(text, source="t.toml")


QUADRATIC = '[[problems]]\nname = "quadratic"\nparams = { dim = 5, kappa = 10.0, start = "random" }\n'
ELLIPSOID = '[[problems]]\nname = "ellipsoid"\nparams = { kappa = 5.0 }\n'


def quiet(msg):
    pass


def tune(s, store, evaluate=True, **settings):
    return run_protocol(s, settings_for(s, **settings), store, progress=False, log=quiet, evaluate=evaluate)


# ---------------------------------------------------------------------------------------
# Search designs
# ---------------------------------------------------------------------------------------
ADAM = dataclasses.replace(get_optimizer("adam"), search_space={k: get_optimizer("adam").search_space[k]
                                                                 for k in ("lr", "beta1", "beta2")})


def test_sobol_is_the_default_starts_at_the_defaults_and_samples_log_dimensions_in_log_space():
    assert TuneSettings(budget=1).method == "sobol"
    configs = trial_configs(ADAM.search_space, ADAM.hyperparameters, 9, "sobol", TUNING_SEED_BASE, "adam")
    assert configs[0] == {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999}  # trial 1: the registered defaults (one-shot)
    points = configs[1:]  # the first 8 = 2^3 points of a Sobol' sequence: one in each eighth of every dimension
    lr = LogUniform(1e-5, 1.0)
    assert sorted(int(lr.position(c["lr"]) * 8) for c in points) == list(range(8))  # on the log scale
    assert sorted(int(Uniform(0.5, 0.999).position(c["beta1"]) * 8) for c in points) == list(range(8))
    # nested: the first b trials of a longer sequence are the trials of budget b
    longer = trial_configs(ADAM.search_space, ADAM.hyperparameters, 24, "sobol", TUNING_SEED_BASE, "adam")
    assert longer[:9] == configs and len(longer) == 24
    other = trial_configs(ADAM.search_space, ADAM.hyperparameters, 9, "sobol", TUNING_SEED_BASE + 1, "adam")
    assert other[0] == configs[0] and other[1:] != configs[1:]


def test_random_search_is_seeded_and_starts_at_the_defaults():
    draw = lambda seed: trial_configs(ADAM.search_space, ADAM.hyperparameters, 6, "random", seed, "adam")
    assert draw(TUNING_SEED_BASE) == draw(TUNING_SEED_BASE) != draw(TUNING_SEED_BASE + 1)
    assert draw(TUNING_SEED_BASE)[0] == {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999}
    assert all(1e-5 <= c["lr"] <= 1.0 and 0.5 <= c["beta1"] <= 0.999 for c in draw(TUNING_SEED_BASE))


def test_grid_is_a_product_of_per_dimension_grids_whose_size_is_the_budget():
    configs = trial_configs(ADAM.search_space, ADAM.hyperparameters, 8, "grid", TUNING_SEED_BASE, "adam")
    assert grid_shape(ADAM.search_space, 8) == {"lr": 2, "beta1": 2, "beta2": 2}
    assert {tuple(c.values()) for c in configs} == {(lr, b1, b2) for lr in (1e-5, 1.0) for b1 in (0.5, 0.999)
                                                    for b2 in (0.9, 0.9999)}
    assert grid_note(ADAM.search_space, 8) is None  # 8 = 2 x 2 x 2
    momentum = get_optimizer("momentum")
    six = trial_configs(momentum.search_space, momentum.hyperparameters, 6, "grid", TUNING_SEED_BASE, "momentum")
    assert len(six) == 6 and sorted({c["lr"] for c in six}) == [1e-5, 0.00316227766017, 1.0]  # 3 lr x 2 momentum
    assert "6 does not split evenly" in grid_note(momentum.search_space, 6)
    seven = trial_configs(momentum.search_space, momentum.hyperparameters, 7, "grid", TUNING_SEED_BASE, "momentum")
    assert len(seven) == 7 and {c["momentum"] for c in seven} == {0.9}  # one point: the registered default
    one = trial_configs({"lr": LogUniform(0.1, 1.0)}, {"lr": 0.5}, 3, "grid", 0, "x")
    assert one == [{"lr": 0.1}, {"lr": 0.316227766017}, {"lr": 1.0}]  # one dimension: its grid


def test_finite_and_empty_spaces_get_no_more_trials_than_configurations():
    small = {"m": Choice((1, 2)), "flag": Choice((False, True))}
    for method in ("sobol", "grid", "random"):
        assert len(trial_configs(small, {"m": 2, "flag": False}, 8, method, TUNING_SEED_BASE, "x")) == 4  # all, once
        picked = trial_configs(small, {"m": 2, "flag": False}, 3, method, TUNING_SEED_BASE, "x")
        size = 2 if method == "grid" else 3  # a grid of 3 points over 2 x 2 values is 2 x 1
        assert len(picked) == size and len({tuple(c.values()) for c in picked}) == size
        assert trial_configs({}, {}, 8, method, TUNING_SEED_BASE, "x") == [{}]  # the defaults
    assert grid_note(small, 3) == "grid 2 m x 1 flag: 3 trials cannot be split into a product (the grid has 2)"


def test_edges_are_flagged_and_values_print_apart_from_the_bounds(tmp_path):
    space = ADAM.search_space
    assert edges({"lr": 0.8, "beta1": 0.7, "beta2": 0.9999}, space) == {"lr": "high", "beta2": "high"}
    assert edges({"lr": 1.5e-5, "beta1": 0.52, "beta2": 0.95}, space) == {"lr": "low", "beta1": "low"}
    assert edges({"lr": 1e-3, "beta1": 0.9, "beta2": 0.95}, space) == {}
    assert format_value(0.9999, space["beta2"]) == "0.9999"  # printed .3g it was "1", outside the space
    assert format_value(0.99985, space["beta2"]) not in ("1", "0.9999")
    assert format_value(0.99999, space["lr"]) not in ("1", "1.00")
    assert format_value(0.0205, space["lr"]) == "0.0205"
    entry = TunedEntry("quadratic", PROBLEMS.get("quadratic").params, "adam", {"lr": 0.8, "beta1": 0.9,
                       "beta2": 0.9999}, "final-loss", 1e-3, 8, "budget", edges={"lr": "high", "beta2": "high"},
                       diverged=2, failed=1)
    table = format_entries([entry])
    assert "beta2=0.9999" in table and "lr high, beta2 high" in table
    text = write_tuned(tmp_path / "t.toml", [entry], TuneSettings(budget=8), "fair").read_text()
    assert "# ON THE EDGE of the search space: lr at the high edge (1), beta2 at the high edge (0.9999)" in text
    assert "2 diverged and 1 failed" in text
    assert read_tuned(tmp_path / "t.toml").entries[0].hyperparameters == entry.hyperparameters


def test_expected_best_after_k_trials_is_the_exact_order_statistic_of_draws_without_replacement():
    """Against brute force: the mean, over every k-subset of the trials, of the subset's best."""
    import itertools

    import numpy as np

    values = [3.0, 1.0, 4.0, 1.0, math.inf, 2.5, 0.5]  # a tie and a diverged trial
    for k in range(1, len(values) + 1):
        brute = np.mean([min(c) for c in itertools.combinations(values, k)])
        assert expected_best(values, k) == pytest.approx(brute, rel=1e-12), k
    assert math.isinf(expected_best(values, 1))  # one draw can be the diverged trial
    assert expected_best_curve(values)[-1] == 0.5  # all trials: the best one
    assert expected_best_curve([2.0, 1.0]) == [1.5, 1.0]


# ---------------------------------------------------------------------------------------
# Settings and input errors (nothing runs)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("tune_table, problems, budget, message", [
    ("budget = 4\nmetric = \"test-loss\"", QUADRATIC, "max_steps = 5", "test-loss needs a training problem"),
    ("budget = 4\nmetric = \"test-loss\"", '[[problems]]\nname = "logreg-binary"\n', "max_steps = 5", "eval_every"),
    ("budget = 4\nmetric = \"time-to-target\"", QUADRATIC, "max_steps = 5", "target_gap"),
    ("budget = 0", QUADRATIC, "max_steps = 5", "positive number of trials"),
    ("budget = 4\nmethod = \"bayes\"", QUADRATIC, "max_steps = 5", "not one of sobol, random, grid"),
    ("budgte = 4", QUADRATIC, "max_steps = 5", "unknown key"),
])
def test_bad_tuning_input_fails_before_running(tune_table, problems, budget, message):
    with pytest.raises(ConfigError, match=message):
        s = suite(problems, budget=budget, tune=tune_table)
        trial_cells(s, settings_for(s))


def test_evaluation_seeds_must_stay_below_the_tuning_seeds():
    s = suite(QUADRATIC, seeds=f"[0, {TUNING_SEED_BASE}]")
    with pytest.raises(ConfigError, match="collide with the tuning seeds"):
        trial_cells(s, settings_for(s))
    with pytest.raises(ConfigError, match="declared search space"):
        s = parse_suite('[[problems]]\nname = "sphere"\n[[optimizers]]\nname = "gd"\nhyperparameters = { lr = 0.1 }\n')
        trial_cells(s, TuneSettings(budget=2))


def test_fair_suite_declares_the_protocol():
    fair = load_suite("fair")
    settings = settings_for(fair)
    assert settings.budget >= 5 and len(fair.seeds) >= 5
    assert (settings.method, settings.metric, settings.budgets[0]) == ("sobol", "verdict", 1)  # one-shot first
    cells = trial_cells(fair, settings)
    problems = {c.problem for c in cells}
    assert {"quadratic", "rosenbrock"} <= problems and any(p.startswith("mgh") for p in problems)
    assert any(c.jobs[0].budget.eval_every for c in cells)  # neural problems, with test-loss evaluations
    assert all(len(c.jobs) == settings.budget and all(j.seed >= TUNING_SEED_BASE for j in c.jobs) for c in cells)


def _import_graph() -> dict[str, set[str]]:
    """Every optbench module -> the optbench modules it imports anywhere (function-level imports too)."""
    import ast
    from pathlib import Path

    import optbench

    root = Path(optbench.__file__).parent
    graph = {}
    for path in root.rglob("*.py"):
        parts = ("optbench",) + path.relative_to(root).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                deps |= {target} | {f"{target}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
        graph[name] = deps
    return {m: {d for d in deps if d in graph} for m, deps in graph.items()}


def _reachable(graph, module) -> set[str]:
    seen, todo = set(), [module]
    while todo:
        for dep in graph[todo.pop()] - seen:
            seen.add(dep)
            todo.append(dep)
    return seen


def test_suites_and_the_protocol_do_not_depend_on_the_orchestration():
    """suite -> tune -> execute -> runner, one way: the suite reads its [tune] table without
    importing the orchestration (tune, execute, batched), and the protocol (optbench.tuning)
    neither runs nor stores anything."""
    graph = _import_graph()
    orchestration = {"optbench.tune", "optbench.execute", "optbench.batched"}
    assert not _reachable(graph, "optbench.suite") & orchestration
    for module in (m for m in graph if m.startswith("optbench.tuning")):
        assert not _reachable(graph, module) & (orchestration | {"optbench.suite", "optbench.store"}), module
    assert "optbench.tune" not in _reachable(graph, "optbench.report")


# ---------------------------------------------------------------------------------------
# The protocol, end to end on small problems
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["sobol", "grid", "random"])
def test_budget_is_exact_and_trials_never_use_evaluation_seeds(tmp_path, method):
    s = suite(QUADRATIC + ELLIPSOID, ("gd", "adam", "lbfgs"), budget="max_steps = 10",
              tune=f'budget = 4\nmethod = "{method}"')
    store = Store(tmp_path / "r.sqlite")
    outcome = tune(s, store, evaluate=False)
    runs = Results(store).runs
    trials = runs[runs["suite"] == "tune:t"]
    assert len(runs) == len(trials) == 2 * 3 * 4  # nothing else ran
    counts = trials.groupby(["problem", "optimizer"]).size()
    assert len(counts) == 6 and (counts == 4).all()
    assert set(trials["seed"]) == {TUNING_SEED_BASE}
    distinct = trials.groupby(["problem", "optimizer"])["hyperparameters"].agg(lambda h: len({str(x) for x in h}))
    assert (distinct == 4).all()
    assert len(outcome.entries) == 6 and all(e.trials == 4 for e in outcome.entries)


def test_budgets_read_one_sequence_of_trials_and_studies_take_the_median(tmp_path):
    """--budgets 1,2,4 --studies 2: 4 trials per study; budget b = the best of the first b
    (budget 1: the defaults), what the report recovers from the store; the median study is evaluated."""
    s = suite(QUADRATIC, ("gd",), budget="max_steps = 10", tune="budgets = [1, 2, 4]\nstudies = 2")
    settings = settings_for(s)
    assert (settings.budget, settings.budgets, settings.run_seeds) == (4, (1, 2, 4), [TUNING_SEED_BASE,
                                                                                     TUNING_SEED_BASE + 1])
    store = Store(tmp_path / "r.sqlite")
    outcome = run_protocol(s, settings, store, progress=False, log=quiet, evaluate=False)
    assert len(outcome.trial_keys) == 2 * 4
    assert all(e.hyperparameters == {"lr": 0.01} for e in outcome.by_budget[1])  # one-shot: the defaults
    trials = sensitivity_frame(Results(store)).assign(metric_name="final_gap")
    trials["metric"] = trials["final_gap"]
    curves = budget_frame(trials).set_index(["seed", "budget"])["best"]
    for b, entries in outcome.by_budget.items():
        assert sorted(e.study for e in entries) == [0, 1]
        for e in entries:
            assert e.trials == b and e.value == pytest.approx(curves[(TUNING_SEED_BASE + e.study, b)], rel=1e-12)
    (chosen,) = outcome.entries
    values = sorted(e.value for e in outcome.by_budget[4])
    assert chosen.value == values[0]  # the lower median of two studies
    with pytest.raises(ConfigError, match="grids are not nested"):
        settings_for(s, method="grid")
    assert settings_for(s, budgets=[1, 8]).budget == 8 and settings_for(s, budget=3).budgets == ()


def test_tuning_is_deterministic_per_seed(tmp_path):
    s = suite(QUADRATIC, ("gd", "adam"), tune='budget = 3\nmethod = "random"')
    first = tune(s, Store(tmp_path / "a.sqlite"), evaluate=False)
    second = tune(s, Store(tmp_path / "b.sqlite"), evaluate=False)
    assert first.trial_keys == second.trial_keys  # the same configurations on the same seed
    assert [dataclasses.asdict(e) for e in first.entries] == [dataclasses.asdict(e) for e in second.entries]
    other = tune(s, Store(tmp_path / "c.sqlite"), evaluate=False, seed=1)
    assert not set(other.trial_keys) & set(first.trial_keys)


def test_gd_picks_one_over_L_on_the_quadratic(tmp_path):
    r"""gd on ``quadratic`` (log spectrum: L = 1, mu = 1/kappa = 0.1) with a 6-point grid of its
    declared space LogUniform(1e-5, 1): lr in {1e-5, 1e-4, ..., 1e-1, 1}.

    The error ``e = x - x*`` evolves as ``e_{k+1} = (I - lr A) e_k``; in A's eigenbasis each
    component is multiplied by ``1 - lr lambda_i`` per step, so after k steps
    ``f = 1/2 sum_i lambda_i (1 - lr lambda_i)^(2k) e_i(0)^2``. For ``0 < lr <= 1/L`` every factor
    lies in ``[0, 1)`` and decreases as lr grows, so f after any fixed number of steps strictly
    decreases in lr: the largest grid point, ``lr = 1 = 1/L``, is the unique best for every
    start. (The worst-case-optimal ``2/(L + mu) = 1.82`` lies outside gd's search space.)
    """
    s = suite(QUADRATIC, budget="max_steps = 30", tune='budget = 6\nmethod = "grid"')
    outcome = tune(s, Store(tmp_path / "r.sqlite"), evaluate=False)
    (entry,) = outcome.entries
    assert entry.hyperparameters == {"lr": 1.0}
    assert entry.value < 1e-2  # contraction 0.9 per step: f <= 0.81^30 f0


def test_gd_picks_the_interior_one_over_L_on_the_ellipsoid(tmp_path):
    r"""gd on ``ellipsoid`` with kappa = 5 in 2-d: ``f = x1^2 + 5 x2^2``, Hessian diag(2, 10), so
    L = 10, mu = 2, and the grid {1e-5, ..., 1e-1, 1} of gd's space holds 1/L = 0.1 in its interior.

    Per step the components shrink by ``|1 - 2 lr|`` and ``|1 - 10 lr|``. For lr <= 1/L = 0.1 both
    factors decrease with lr (as on the quadratic), so 0.1 beats every smaller grid point; at
    lr = 0.1 the stiff component vanishes after one step and the other contracts by 0.8. lr = 1
    exceeds 2/L = 0.2: the stiff component grows ninefold per step and the run diverges, which
    ranks it last whatever its final value. The worst-case optimum 2/(L + mu) = 1/6 is not on the
    grid. By time to target the same holds: only lr = 0.1 gets within 1e-8 in 80 steps
    (0.8^(2k) f0 <= 1e-8 needs k ~ 50 for f0 ~ 50; lr = 1e-2 contracts by 0.98 per step).
    """
    store = Store(tmp_path / "r.sqlite")
    for metric in ("final-loss", "time-to-target"):
        s = suite(ELLIPSOID, budget="max_steps = 80\ntarget_gap = 1e-8",
                  tune=f'budget = 6\nmethod = "grid"\nmetric = "{metric}"')
        (entry,) = tune(s, store, evaluate=False).entries
        assert entry.hyperparameters == {"lr": 0.1}, metric
        assert (entry.diverged, entry.failed) == (1, 0)  # lr = 1 diverged: counted as diverged, not failed
    frame = sensitivity_frame(Results(store))  # the trials, shared by both metrics (same keys)
    assert len(frame) == 6
    by_lr = frame.set_index("lr")
    assert by_lr.loc[1.0, "status"] == "diverged" and math.isinf(by_lr.loc[1.0, "final_gap"])
    assert by_lr.loc[0.1, "status"] == "converged"
    finite = frame[frame["lr"] < 0.2].sort_values("lr")
    assert finite["final_gap"].is_monotonic_decreasing  # the sensitivity curve of the argument above


@pytest.mark.parametrize("table", ['budget = 3\nmetric = "final-loss"\n[tune.metrics]\n"tag:neural" = "test-loss"',
                                   "budget = 3"])
def test_training_problems_are_tuned_on_the_test_loss(tmp_path, table):
    """``[tune.metrics]`` picks the metric per problem (test loss for the neural problem, final
    loss for the quadratic), and so does the default ``verdict`` metric -- the report's own
    (metrics.verdict_metric): the chosen trial is the one with the smallest last test loss."""
    neural = '[[problems]]\nname = "logreg-binary"\nparams = { samples = 64, features = 4 }\n'
    s = suite(QUADRATIC + neural, budget="max_steps = 10\neval_every = 5", tune=table)
    store = Store(tmp_path / "r.sqlite")
    entries = {e.problem: e for e in tune(s, store, evaluate=False).entries}
    verdict = "metric" not in table
    assert (entries["quadratic"].metric, entries["logreg-binary"].metric) == (
        ("verdict", "verdict") if verdict else ("final-loss", "test-loss"))
    frame = sensitivity_frame(Results(store))
    trials = frame[frame["problem"] == "logreg-binary"]
    assert trials["test_loss"].notna().all()
    assert entries["logreg-binary"].value == trials["test_loss"].min()
    best = trials.loc[trials["test_loss"].idxmin(), "hyperparameters"]
    assert best["lr"] == entries["logreg-binary"].hyperparameters["lr"]
    quadratic = frame[frame["problem"] == "quadratic"]
    assert entries["quadratic"].value == pytest.approx(quadratic["final_gap"].min(), rel=1e-12)
    with pytest.raises(ConfigError, match="test-loss needs a training problem"):  # --metric applies everywhere
        trial_cells(s, settings_for(s, metric="test-loss"))


def test_evaluation_tuned_against_default_and_run_tuned(tmp_path, monkeypatch):
    """``optbench tune`` then ``optbench run --tuned``: the file reproduces the tuned runs exactly,
    and the comparison frames pair tuned and default runs on the evaluation seeds."""
    monkeypatch.chdir(tmp_path)
    args = ["--problems", "quadratic[dim=5,kappa=10.0]", "--optimizers", "gd,momentum", "--seeds", "2",
            "--max-steps", "15", "--db", "r.sqlite", "-q", "--no-report", "--name", "q"]
    assert cli.main(["tune", *args, "--budget", "4", "--method", "grid", "-o", "tuned.toml"]) == 0
    results = Results(Store("r.sqlite"))
    runs = results.runs
    assert set(runs["suite"]) == {"tune:q", "tuned:q", "q"}
    evaluation = runs[runs["suite"] != "tune:q"]
    assert set(evaluation["seed"]) == {0, 1}
    tuned = read_tuned("tuned.toml")
    assert {(e.problem, e.optimizer) for e in tuned.entries} == {("quadratic", "gd"), ("quadratic", "momentum")}
    jobs, untouched = apply_tuned(cli._suite_from_args(cli.build_parser().parse_args(["run", *args])).jobs(),
                                  tuned, "q")
    assert not untouched and {j.key for j in jobs} == set(runs.loc[runs["suite"] == "tuned:q", "key"])

    n = len(runs)
    assert cli.main(["run", *args, "--tuned", "tuned.toml"]) == 0
    assert len(Results(Store("r.sqlite")).runs) == n  # every tuned run was already there

    sens = sensitivity_frame(results)
    assert len(sens) == 8 and sens.groupby("optimizer")["chosen"].sum().eq(1).all()
    frame = tuned_vs_default_frame(results)
    assert set(frame["role"]) == {"tuned", "default"}
    assert frame.groupby(["optimizer", "role"]).size().eq(2).all()  # two evaluation seeds each
    defaults = frame[frame["role"] == "default"]
    assert all(h == get_optimizer(o).resolve({}) for o, h in zip(defaults["optimizer"], defaults["hyperparameters"]))
    # gd's default lr = 0.01 barely moves in 15 steps; the tuned lr = 1 = 1/L (the top of a 4-point grid) does
    med = frame[frame["optimizer"] == "gd"].groupby("role")["final_gap"].median()
    assert med["tuned"] < 1e-3 * med["default"]


def test_an_empty_search_space_gets_one_trial_its_defaults(tmp_path, monkeypatch):
    """An optimizer without a search space is tried once, with its defaults; when the defaults
    were stored before under the plain suite label, the tuned label claims them (recomputed)."""
    spec = get_optimizer("gd")
    monkeypatch.setitem(OPTIMIZERS._specs, "gd", dataclasses.replace(spec, search_space={}))
    s = suite(QUADRATIC, ("gd",), tune="budget = 5")
    store = Store(tmp_path / "r.sqlite")
    from optbench.execute import execute

    execute(s.jobs(), store, progress=False, log=quiet)  # `optbench run` of the defaults, first
    outcome = tune(s, store)
    assert outcome.entries[0].hyperparameters == {} and outcome.entries[0].trials == 1
    assert any("no search space" in note for note in outcome.notes)
    runs = Results(store).runs
    assert (runs["suite"] == "tune:t").sum() == 1
    assert set(runs.loc[runs["seed"] < TUNING_SEED_BASE, "suite"]) == {"tuned:t"}  # claimed by the tuning
    frame = tuned_vs_default_frame(Results(store))
    assert frame["same_config"].all() and frame.groupby("role").size().to_dict() == {"default": 2, "tuned": 2}


def test_tuned_file_round_trip_and_errors(tmp_path):

    params = {**PROBLEMS.get("quadratic").params, "dim": 5}
    entry = TunedEntry("quadratic", params, "adam", {"lr": 0.001, "beta1": 0.9}, "final-loss", 1.5e-3, 8)
    path = write_tuned(tmp_path / "t.toml", [entry], TuneSettings(budget=8), "fair")
    text = path.read_text()
    assert "params = { dim = 5 }" in text and "seed = 0  # the trials ran on seed 1000000" in text
    (back,) = read_tuned(path).entries
    assert back == entry
    bad = tmp_path / "bad.toml"
    bad.write_text('[[tuned]]\nproblem = "quadratic"\nparams = {}\noptimizer = "adam"\n'
                   'hyperparameters = { lrr = 1.0 }\n')
    with pytest.raises(ConfigError, match="no hyperparameter 'lrr'"):
        read_tuned(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        read_tuned(tmp_path / "missing.toml")


def test_report_of_the_protocol_ranks_one_tuned_id_and_draws_the_tuning(tmp_path, monkeypatch):
    """The report of ``optbench tune``: trials out of the ranking, one ``<optimizer> (tuned)`` id
    whatever each problem's tuned values, and a tuning section with the sensitivity curve and
    the tuned-vs-default comparison."""
    import pandas as pd

    monkeypatch.chdir(tmp_path)
    args = ["--problems", "quadratic[dim=5,kappa=10.0],ellipsoid[kappa=5.0]", "--optimizers", "gd,momentum",
            "--seeds", "2", "--max-steps", "15", "--db", "r.sqlite", "-q", "--report", "rep"]
    assert cli.main(["tune", *args, "--budget", "4", "--method", "grid", "-o", "tuned.toml"]) == 0
    chosen = {(e.problem, e.optimizer): e.hyperparameters["lr"] for e in read_tuned("tuned.toml").entries}
    assert chosen[("quadratic", "gd")] != chosen[("ellipsoid", "gd")]  # the tuned lr depends on the problem
    runs = pd.read_csv(tmp_path / "rep" / "runs.csv")
    assert set(runs["optimizer_id"]) == {"gd (tuned)", "momentum (tuned)"}
    assert len(set(runs["suite"])) == 1 and runs["suite"].iloc[0].startswith("tuned:")
    assert set(runs["seed"]) == {0, 1}
    assert set(pd.read_csv(tmp_path / "rep" / "ranks_overall.csv")["optimizer_id"]) == {"gd (tuned)",
                                                                                       "momentum (tuned)"}
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "Sensitivity to each hyperparameter" in html and "Tuned against default hyperparameters" in html
    assert "Expected best result after k trials" in html and "Benchmark score (AlgoPerf)" in html
    assert "Learning-rate sweeps" not in html  # tuned lrs differ by problem: not a sweep
    figures = {p.name for p in (tmp_path / "rep" / "figures").iterdir()}
    assert {"sensitivity-1.png", "expected-best-1.png", "tuned-vs-default.png"} <= figures
    summary = (tmp_path / "rep" / "summary.md").read_text()
    assert "Tuning trials per problem and optimizer" in summary and "(tuned)" in summary
