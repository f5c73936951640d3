"""The CLI end to end, in a subprocess."""
import json
import subprocess
import sys


def test_help_is_fast_and_imports_no_torch():
    code = "import sys, optbench.cli as c; c.build_parser(); print('torch' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_every_command_has_help(cli):
    for cmd in ("list", "info", "run", "report", "compare", "export", "check-optimizer"):
        proc = cli(cmd, "--help", check=0)
        assert "usage: optbench" in proc.stdout


def test_list_json(cli):
    rows = json.loads(cli("list", "problems", "--json", check=0).stdout)
    names = {r["name"] for r in rows}
    assert {"rosenbrock", "quadratic", "mlp-mixture"} <= names
    assert all("tags" in r and isinstance(r["tags"], list) for r in rows)
    mgh = json.loads(cli("list", "problems", "--tag", "mgh", "--json", check=0).stdout)
    assert mgh and all("mgh" in r["tags"] for r in mgh)
    opts = json.loads(cli("list", "optimizers", "--json", check=0).stdout)
    assert {"gd", "adam", "lbfgs"} <= {r["name"] for r in opts}


def test_info(cli):
    out = cli("info", "rosenbrock", check=0).stdout
    assert "f*: 0.0" in out and "Rosenbrock" in out and "standard x0" in out
    out = cli("info", "adam", check=0).stdout
    assert "lr = 0.001" in out and "Kingma" in out
    err = cli("info", "adma", check=2).stderr
    assert "did you mean 'adam'" in err


def test_run_resume_rerun_and_report(cli, tmp_path):
    args = ["run", "--problems", "rosenbrock[start=random],sphere", "--optimizers", "gd[lr=1e-3],lbfgs",
            "--seeds", "2", "--max-steps", "30", "--db", "r.sqlite", "-q"]
    first = cli(*args, "--report", "rep", check=0)
    assert "8 runs" in first.stderr
    for name in ("rosenbrock", "sphere", "gd", "lbfgs"):
        assert name in first.stdout  # the summary table
    assert (tmp_path / "rep" / "index.html").stat().st_size > 1000
    again = cli(*args, "--no-report", check=0)
    assert "8 of 8 runs already in r.sqlite" in again.stderr and "0 computed" in again.stderr
    forced = cli(*args, "--no-report", "--rerun", check=0)
    assert "8 computed" in forced.stderr
    import optbench

    assert len(optbench.load(tmp_path / "r.sqlite").runs) == 8
    rep = cli("report", "--db", "r.sqlite", "-o", "rep2", "--x", "evals", check=0)
    assert (tmp_path / "rep2" / "index.html").exists() and "html" in rep.stdout


def test_plugin_from_the_command_line(cli, tmp_path):
    from tests.test_registry import PLUGIN

    (tmp_path / "p.py").write_text(PLUGIN.format(name="cli-sign-gd"))
    out = cli("run", "--plugin", "p.py", "--problems", "sphere", "--optimizers", "cli-sign-gd,gd", "--max-steps", "5",
              "--db", "r.sqlite", "--no-report", "-q", check=0).stdout
    assert "cli-sign-gd" in out
