"""Bad input: a clear message, exit code 2 and no traceback -- one test per kind of mistake,
each running the real ``optbench`` command in a subprocess."""
import os
import shutil
import sqlite3
import textwrap

import pytest

RUN = ("run", "--max-steps", "5", "--seeds", "1", "--db", "r.sqlite", "--no-report", "-q")


def error(cli, *args):
    """Run the CLI, expect a user error; return its message (stderr)."""
    proc = cli(*args)
    assert proc.returncode == 2, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert "optbench: error: " in proc.stderr
    return proc.stderr


# -- names ------------------------------------------------------------------------------
def test_unknown_problem(cli):
    err = error(cli, *RUN, "--problems", "rosenbrok", "--optimizers", "gd")
    assert "unknown problem 'rosenbrok'; did you mean 'rosenbrock'" in err


def test_unknown_optimizer(cli):
    err = error(cli, *RUN, "--problems", "sphere", "--optimizers", "adma")
    assert "unknown optimizer 'adma'; did you mean 'adam'" in err


def test_unknown_suite(cli):
    err = error(cli, "run", "quik", "--no-report")
    assert "unknown suite 'quik'; did you mean 'quick'" in err and "path to a .toml file" in err


def test_unknown_tag(cli):
    err = error(cli, *RUN, "--problems", "tag:mhg", "--optimizers", "gd")
    assert "unknown problem tag 'mhg'; did you mean 'mgh'" in err


# -- (hyper)parameters -------------------------------------------------------------------
def test_unknown_hyperparameter(cli):
    err = error(cli, *RUN, "--problems", "sphere", "--optimizers", "adam[learning_rate=0.1]")
    assert "optimizer 'adam' has no hyperparameter 'learning_rate'" in err and "lr=0.001" in err


def test_invalid_hyperparameter_value(cli):
    err = error(cli, *RUN, "--problems", "sphere", "--optimizers", "adam[lr=-1]")
    assert "optimizer 'adam' rejects lr=-1" in err and "Invalid learning rate" in err and "lr=0.001" in err


def test_invalid_problem_dimension(cli):
    err = error(cli, *RUN, "--problems", "rosenbrock[dim=1]", "--optimizers", "gd")
    assert "problem 'rosenbrock'" in err and "dim=1 must be an integer >= 2" in err


def test_negative_problem_size(cli):
    err = error(cli, *RUN, "--problems", "mlp-mixture[samples=-5]", "--optimizers", "gd")
    assert "problem 'mlp-mixture'" in err and "samples=-5 must be a positive integer" in err


def test_bad_time_limit(cli):
    err = error(cli, *RUN, "--problems", "sphere", "--optimizers", "gd", "--time-limit", "-1")
    assert "time limit -1.0 must be a positive number of seconds" in err
    err = error(cli, *RUN, "--problems", "sphere", "--optimizers", "gd", "--time-limit", "5", "--backend", "serial")
    assert "a time limit needs worker processes" in err and "--backend processes" in err


# -- suite files -------------------------------------------------------------------------
def test_malformed_toml_suite_names_file_and_line(cli, tmp_path):
    (tmp_path / "broken.toml").write_text('name = "broken"\nseeds = 2\n[budget\nmax_steps = 10\n')
    err = error(cli, "run", "broken.toml", "--no-report")
    assert "broken.toml: malformed TOML" in err and "line 3" in err


def test_bad_time_limit_in_suite_file(cli, tmp_path):
    (tmp_path / "s.toml").write_text('time_limit = "soon"\n[[problems]]\nname = "sphere"\n[[optimizers]]\nname = "gd"\n')
    err = error(cli, "run", "s.toml", "--no-report")
    assert "s.toml: time_limit = 'soon' must be a positive number of seconds" in err


def test_suite_that_selects_nothing(cli, tmp_path):
    (tmp_path / "empty.toml").write_text('name = "empty"\nproblems = []\n[[optimizers]]\nname = "gd"\n')
    err = error(cli, "run", "empty.toml", "--no-report")
    assert "empty.toml: the suite selects no jobs (problems: 0" in err


# -- plugins -----------------------------------------------------------------------------
def test_plugin_file_missing(cli):
    err = error(cli, *RUN, "--plugin", "nope.py", "--problems", "sphere", "--optimizers", "gd")
    assert "plugin file 'nope.py' does not exist" in err


def test_plugin_that_does_not_import_shows_its_own_error(cli, tmp_path):
    (tmp_path / "broken.py").write_text("import math\n\nvalue = math.sqrt(-1)\n")
    err = error(cli, *RUN, "--plugin", "broken.py", "--problems", "sphere", "--optimizers", "gd")
    assert "plugin file 'broken.py' failed to import at line 3: ValueError: math domain error" in err


def test_plugin_name_clash_with_builtin(cli, tmp_path):
    (tmp_path / "clash.py").write_text(textwrap.dedent('''
        import torch, optbench

        @optbench.register_optimizer("adam")
        def make(params, lr=0.1):
            """Not Adam."""
            return torch.optim.SGD(params, lr=lr)
    '''))
    err = error(cli, *RUN, "--plugin", "clash.py", "--problems", "sphere", "--optimizers", "adam")
    assert "optimizer name 'adam' is registered twice" in err and "module optbench.optimizers" in err
    assert "plugin file clash.py" in err and "rename one of them" in err


def test_plugin_in_the_working_directory_runs_only_when_named(cli, tmp_path):
    """Plugin code is never imported implicitly: only ``--plugin FILE`` runs it."""
    names = ("plugin.py", "plugins.py", "optbench_plugin.py", "my_optimizer.py")
    for name in names:
        (tmp_path / name).write_text(f"open({name + '.imported'!r}, 'w').close()\n")
    cli(*RUN, "--problems", "sphere", "--optimizers", "gd", check=0)
    assert not [p.name for p in tmp_path.glob("*.imported")]
    cli("list", "optimizers", "--plugin", "plugin.py", check=0)  # the marker does work when a plugin is named
    assert [p.name for p in tmp_path.glob("*.imported")] == ["plugin.py.imported"]


# -- devices -----------------------------------------------------------------------------
def test_cuda_requested_without_cuda(cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    err = error(cli, *RUN, "--problems", "sphere", "--optimizers", "gd", "--device", "cuda")
    assert "device 'cuda' requested but CUDA is not available" in err and "--device cpu" in err


# -- results files -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A real results database with a few runs, big enough to span many pages."""
    import optbench
    from optbench.store import Store

    path = tmp_path_factory.mktemp("db") / "good.sqlite"
    store = Store(path)
    for opt in ("gd", "adam", "lbfgs"):
        for seed in (0, 1):
            store.add(optbench.run("rosenbrock", opt, seed=seed, budget=optbench.Budget(max_steps=200),
                                   problem_params={"start": "random"}))
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    assert os.path.getsize(path) >= 16 * 4096
    return path


def test_results_file_that_is_not_a_database(cli, tmp_path):
    (tmp_path / "notes.txt").write_text("these are my notes, not a database\n" * 200)
    err = error(cli, "export", "--db", "notes.txt", "-o", "out")
    assert "'notes.txt' is not a readable optbench results database" in err and "another --db" in err


def test_sqlite_file_of_another_application(cli, tmp_path):
    conn = sqlite3.connect(tmp_path / "other.sqlite")
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()
    err = error(cli, "export", "--db", "other.sqlite", "-o", "out")
    assert "is an SQLite file but not an optbench results database" in err


def test_database_of_a_newer_schema(cli, tmp_path, database):
    from optbench.store import SCHEMA_VERSION

    shutil.copy(database, tmp_path / "new.sqlite")
    conn = sqlite3.connect(tmp_path / "new.sqlite")
    conn.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    err = error(cli, "export", "--db", "new.sqlite", "-o", "out")
    assert f"schema version {SCHEMA_VERSION + 1}, newer than this optbench understands" in err
    assert "pip install -U optbench" in err


def test_truncated_database(cli, tmp_path, database):
    shutil.copy(database, tmp_path / "half.sqlite")
    os.truncate(tmp_path / "half.sqlite", os.path.getsize(database) // 2)
    err = error(cli, "export", "--db", "half.sqlite", "-o", "out")
    assert "'half.sqlite'" in err and "malformed" in err and "damaged" in err


def test_database_overwritten_in_the_middle(cli, tmp_path, database):
    import numpy as np

    shutil.copy(database, tmp_path / "hole.sqlite")
    size = os.path.getsize(database)
    with open(tmp_path / "hole.sqlite", "r+b") as f:
        f.seek(size // 4096 // 2 * 4096)  # one whole page in the middle
        f.write(np.random.default_rng(0).bytes(4096))
    err = error(cli, "export", "--db", "hole.sqlite", "-o", "out")
    assert "'hole.sqlite'" in err and "damaged" in err


def test_damage_found_only_while_reading_traces(cli, tmp_path, database):
    """The pages are intact (sqlite's check passes) but a trace is not an npy array."""
    data = bytearray(database.read_bytes())
    at = data.index(b"\x93NUMPY")
    data[at:at + 6] = b"XXXXXX"
    (tmp_path / "blob.sqlite").write_bytes(bytes(data))
    conn = sqlite3.connect(tmp_path / "blob.sqlite")
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    conn.close()
    err = error(cli, "export", "--db", "blob.sqlite", "-o", "out")
    assert "results file 'blob.sqlite' is damaged: array" in err and "cannot be read" in err


# -- output paths ------------------------------------------------------------------------
def test_unwritable_output_directory(cli, tmp_path, database):
    """A directory below a regular file cannot be created, not even by root (who ignores
    permission bits, so a chmod-ed directory would not fail here)."""
    (tmp_path / "somefile.txt").write_text("a file, not a directory\n")
    shutil.copy(database, tmp_path / "good.sqlite")
    err = error(cli, "export", "--db", "good.sqlite", "-o", "somefile.txt/sub")
    assert "output directory 'somefile.txt/sub' cannot be created: 'somefile.txt' is a file" in err
    assert "choose another with -o/--output" in err
    err = error(cli, *RUN[:-2], "-q", "--report", "somefile.txt/sub", "--problems", "sphere", "--optimizers", "gd")
    assert "'somefile.txt/sub' cannot be created" in err and "choose another with --report" in err
    err = error(cli, *RUN, "--problems", "sphere", "--optimizers", "gd", "--db", "somefile.txt/r.sqlite")
    assert "output directory 'somefile.txt' cannot be created" in err and "choose another with --db" in err
