"""Registry: lookups, suggestions, tags, entry points and plugin files."""
import textwrap
from importlib.metadata import entry_points

import pytest

import optbench
from optbench.errors import ConfigError, PluginError, UnknownNameError
from optbench.registry import OPTIMIZERS, PROBLEMS, load_plugin


def test_unknown_optimizer_suggests_closest():
    with pytest.raises(UnknownNameError, match=r"unknown optimizer 'adma'; did you mean 'adam'"):
        optbench.get_optimizer("adma")


def test_unknown_problem_suggests_closest():
    with pytest.raises(UnknownNameError, match="did you mean 'rosenbrock'"):
        optbench.get_problem("rosenbrok")


def test_unknown_tag_suggests_closest():
    with pytest.raises(UnknownNameError, match="did you mean 'mgh'"):
        PROBLEMS.match("tag:mhg")


def test_get_problem_with_params():
    p = optbench.get_problem("rosenbrock", dim=10)
    assert p.dim == 10 and p.f_star == 0.0 and p.params["dim"] == 10 and "landscape" in p.tags


def test_bad_problem_parameters_are_config_errors():
    with pytest.raises(ConfigError, match="dim=1 must be an integer >= 2"):
        optbench.get_problem("rosenbrock", dim=1)
    with pytest.raises(ConfigError, match="has no parameter 'dimension'.*accepted parameters"):
        optbench.get_problem("rosenbrock", dimension=3)


def test_optimizer_hyperparameters_are_factory_defaults():
    spec = optbench.get_optimizer("adam")
    assert spec.hyperparameters["lr"] == 0.001 and spec.elementwise
    with pytest.raises(ConfigError, match="no hyperparameter 'learning_rate'.*lr=0.001"):
        spec.resolve({"learning_rate": 0.1})


def test_selection_by_tag_and_glob():
    assert "mgh01-rosenbrock" in PROBLEMS.match("tag:mgh")
    assert set(PROBLEMS.match("tag:mgh")) <= {s.name for s in PROBLEMS.specs() if "mgh" in s.tags}
    assert "rosenbrock" in PROBLEMS.match("rosen*")


def test_builtins_come_from_entry_points():
    groups = {ep.value for ep in entry_points(group="optbench.problems")}
    assert {"problems.landscapes", "problems.mgh"} <= groups
    assert "optbench.optimizers" in {ep.value for ep in entry_points(group="optbench.optimizers")}
    assert PROBLEMS.get("rosenbrock").origin == "module problems.landscapes"


PLUGIN = textwrap.dedent('''
    import torch
    import optbench

    @optbench.register_optimizer("{name}", tags=("first-order",), elementwise=True,
                                 search_space={{"lr": optbench.LogUniform(1e-4, 1.0)}})
    def make(params, lr=0.05):
        """Sign gradient descent: x <- x - lr * sign(grad f(x))."""
        return SignGD(params, lr=lr)

    class SignGD(torch.optim.Optimizer):
        def __init__(self, params, lr):
            super().__init__(params, dict(lr=lr))

        @torch.no_grad()
        def step(self, closure):
            with torch.enable_grad():
                loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(p.grad.sign(), alpha=-group["lr"])
            return loss
''')


def test_plugin_file_registers_an_optimizer(tmp_path):
    path = tmp_path / "signgd_plugin.py"
    path.write_text(PLUGIN.format(name="test-sign-gd"))
    load_plugin(path)
    load_plugin(path)  # idempotent per file
    spec = optbench.get_optimizer("test-sign-gd")
    assert spec.hyperparameters == {"lr": 0.05}
    assert spec.origin == f"plugin file {path}"
    rec = optbench.run("sphere", "test-sign-gd", budget=optbench.Budget(max_steps=20))
    assert rec.status == "budget" and rec.fun < rec.f0


def test_plugin_clash_with_builtin_is_an_error(tmp_path):
    path = tmp_path / "clash.py"
    path.write_text(PLUGIN.format(name="adam"))
    with pytest.raises(PluginError, match="'adam' is registered twice: by module optbench.optimizers.first_order"):
        load_plugin(path)
    assert OPTIMIZERS.get("adam").origin == "module optbench.optimizers.first_order"


def test_plugin_missing_or_broken(tmp_path):
    with pytest.raises(PluginError, match="does not exist"):
        load_plugin(tmp_path / "nope.py")
    broken = tmp_path / "broken.py"
    broken.write_text("import torch\nx = 1\nraise RuntimeError('boom from plugin')\n")
    with pytest.raises(PluginError, match=r"failed to import at line 3: RuntimeError: boom from plugin"):
        load_plugin(broken)
