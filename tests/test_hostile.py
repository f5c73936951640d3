"""Hostile input and faults, by class: every user-facing failure is one line and exit 2
(malformed files, values and stores, full disks, closed streams), hyperparameters have their
declared types, oversized requests are refused before they are expanded, read-only stores are
readable. In-process calls of the CLI's ``main()`` wherever the behaviour allows; faults and
interruptions, which need processes, are in test_hostile_processes.py."""
import errno
import os
import shutil
import sqlite3
import textwrap

import pytest

import optbench
from optbench import cli
from optbench.errors import ConfigError

SUITE = 'name = "s"\n[budget]\nmax_steps = 3\n[[problems]]\nname = "sphere"\n[[optimizers]]\nname = "gd"\n'
RUN = ["run", "--max-steps", "3", "--db", "r.sqlite", "--no-report", "-q", "--no-spectrum"]


def fails(capsys, *argv, after_progress: bool = False) -> str:
    """Run the CLI in this process, expect a user error; return its one-line message (the
    only line on stderr, or the last after a run's progress lines)."""
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 2, f"exit {code}\nstdout:\n{out}\nstderr:\n{err}"
    assert "Traceback" not in err and "Traceback" not in out
    lines = err.strip().splitlines()
    assert (after_progress or len(lines) == 1) and lines[-1].startswith("optbench: error: "), err
    assert sum(line.startswith("optbench: error: ") for line in lines) == 1
    return lines[-1]


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    """A results database with two runs, written the way `optbench run` writes it (WAL)."""
    path = tmp_path_factory.mktemp("db") / "good.sqlite"
    store = optbench.Store(path)
    for seed in (0, 1):
        store.add(optbench.run("sphere", "gd", seed=seed, budget=optbench.Budget(max_steps=3), spectrum=False))
    store.close()
    return path


# -- 1. malformed files and values: one line, exit 2 -------------------------------------
SUITE_CASES = {  # the file's bytes -> what the message says
    "not UTF-8": (b'name = "caf\xe9"\n' + SUITE.encode(), "is not UTF-8 text (byte 11"),
    "budget = 5 at the top": ("budget = 5\n" + SUITE.replace("[budget]\nmax_steps = 3\n", ""),
                              "budget = 5 must be a table"),
    "budget = 5 in a problem": (SUITE + "", None),  # filled below
    "name = 5": (SUITE.replace('name = "s"', "name = 5"), "name = 5 must be a string"),
    "device = 0": ("device = 0\n" + SUITE, "device = 0 must be a string"),
    "dtype = 64": ("dtype = 64\n" + SUITE, "dtype = 64 must be a string"),
    "params = 'dim'": (SUITE.replace('name = "sphere"', 'name = "sphere"\nparams = "dim"'),
                       "'sphere': params = 'dim' must be a table"),
    "hyperparameters = 1": (SUITE.replace('name = "gd"', 'name = "gd"\nhyperparameters = 1'),
                            "'gd': hyperparameters = 1 must be a table"),
    "problem dtype = true": (SUITE.replace('name = "sphere"', 'name = "sphere"\ndtype = true'),
                             "'sphere': dtype = True must be a string"),
    "max_steps = '3'": (SUITE.replace("max_steps = 3", 'max_steps = "3"'), "max_steps='3' must be a positive integer"),
    "nested too deeply": ("x = " + "[" * 2000 + "]" * 2000 + "\n" + SUITE, "nested too deeply"),
}
SUITE_CASES["budget = 5 in a problem"] = (SUITE.replace('name = "sphere"', 'name = "sphere"\nbudget = 5'),
                                          "[[problems]] 'sphere': budget = 5 must be a table")


@pytest.mark.parametrize("case", list(SUITE_CASES))
def test_every_suite_value_is_checked_against_the_schema(capsys, here, case):
    text, expected = SUITE_CASES[case]
    (here / "s.toml").write_bytes(text if isinstance(text, bytes) else text.encode())
    assert expected in fails(capsys, "run", "s.toml", "--db", "r.sqlite", "--no-report", "-q")


def test_tuned_file_values_are_checked(capsys, here):
    entry = ('[[tuned]]\nproblem = "sphere"\nparams = {}\noptimizer = "gd"\nhyperparameters = { lr = 0.1 }\n')
    cases = {
        b'# \xff\n' + entry.encode(): "tuned-hyperparameter file 't.toml' is not UTF-8 text",
        ("tune = 5\n" + entry).encode(): "not a tuned-hyperparameter file",
        entry.replace('optimizer = "gd"', "optimizer = 1").encode(): "problem, optimizer and metric must be strings",
        entry.replace("lr = 0.1", 'lr = "fast"').encode(): "hyperparameter lr='fast' must be a finite number",
    }
    for text, expected in cases.items():
        (here / "t.toml").write_bytes(text)
        assert expected in fails(capsys, *RUN, "--problems", "sphere", "--optimizers", "gd", "--tuned", "t.toml")


def test_damaged_stores_are_one_line_errors(capsys, here, database):
    def damaged(name, *sql):
        shutil.copy(database, here / name)
        conn = sqlite3.connect(here / name)
        for statement in sql:
            conn.execute(statement)
        conn.commit()
        conn.close()
        return name

    v2 = damaged("v2.sqlite", "UPDATE meta SET value = '2.0' WHERE name = 'schema_version'")
    assert "schema version '2.0' is not a whole number" in fails(capsys, "export", "--db", v2, "-o", "out")
    noruns = damaged("noruns.sqlite", "DROP TABLE traces", "DROP TABLE evals", "DROP TABLE runs")
    assert "lacks runs, traces, evals" in fails(capsys, "report", "--db", noruns, "-o", "out")
    nocol = damaged("nocol.sqlite", "ALTER TABLE runs DROP COLUMN status")
    assert "lacks runs.status" in fails(capsys, "compare", nocol, nocol)
    assert "lacks runs.status" in fails(capsys, *RUN, "--problems", "sphere", "--optimizers", "gd", "--db", nocol)


def test_a_report_directory_that_fills_up_keeps_the_runs(capsys, here, monkeypatch):
    """A full disk under the report (at the end of `run`, and in `report`): one line that
    says where the runs are; the runs are stored."""
    import optbench.report

    def full(results, out_dir, **options):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(out_dir / "index.html"))

    monkeypatch.setattr(optbench.report, "write_report", full)
    args = ["run", "--problems", "sphere", "--optimizers", "gd", "--max-steps", "3", "--db", "r.sqlite", "-q",
            "--no-spectrum", "--report", "rep"]
    err = fails(capsys, *args, after_progress=True)
    assert "the report could not be written to 'rep': No space left on device" in err
    assert "the runs are stored in 'r.sqlite'" in err and "optbench report --db r.sqlite" in err
    assert len(optbench.load("r.sqlite").runs) == 1
    assert "No space left on device" in fails(capsys, "report", "--db", "r.sqlite", "-o", "rep")


def test_any_other_os_error_is_one_line(capsys, here, monkeypatch):
    def unreadable(args):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "plugins/x.py")

    monkeypatch.setitem(cli.COMMANDS, "list", unreadable)
    err = fails(capsys, "list", "problems")
    assert "cannot access 'plugins/x.py': Permission denied" in err


def test_a_huge_time_limit_runs(tmp_path):
    """``--time-limit 1e300``: the executor's waits are capped (the system's overflow on it).
    The workers come from the executor's own start method (a fork server): a worker forked
    straight from this process would inherit the OpenMP thread pool that earlier tests' torch
    calls started, and its first matrix product (the calibration workload) could hang on it."""
    from optbench import execute
    from optbench.suite import Suite, parse_selections

    jobs = Suite("s", parse_selections(["sphere"]), parse_selections(["gd"]), budget={"max_steps": 3},
                 device="cpu", spectrum=False).jobs()
    summary = execute.execute(jobs, optbench.Store(tmp_path / "r.sqlite"), backend="processes", time_limit=1e300,
                              progress=False, log=lambda msg: None)
    assert summary.statuses == {"budget": 1}


def test_stdout_closed_by_its_reader_stops_quietly(capsys, monkeypatch):
    """``optbench list problems | head -1``: no traceback, no message, exit 141 (SIGPIPE's)."""
    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w", buffering=1)
    monkeypatch.setattr("sys.stdout", stream)
    try:
        assert cli.main(["list", "problems"]) == 141
        stream.write("x" * 100000)  # stdout now points at /dev/null: the interpreter's last flush succeeds
        stream.flush()
    finally:
        stream.close()
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("stderr", ["a pipe closed by its reader", "closed (2>&-: sys.stderr is None)"])
def test_closed_stderr_does_not_stop_a_run(here, monkeypatch, stderr):
    """Diagnostics whose reader is gone are dropped; the run completes and its results are stored."""
    read, write = os.pipe()
    os.close(read)
    broken = os.fdopen(write, "w", buffering=1)
    monkeypatch.setattr("sys.stderr", broken if stderr.startswith("a pipe") else None)
    try:
        assert cli.main(["run", "--problems", "sphere", "--optimizers", "gd", "--max-steps", "3", "--db", "r.sqlite",
                         "--no-report", "--no-spectrum"]) == 0
    finally:
        monkeypatch.undo()
        try:
            broken.close()
        except BrokenPipeError:
            pass
    assert len(optbench.load(here / "r.sqlite").runs) == 1


# -- 2. hyperparameters have their declared types ------------------------------------------
@pytest.mark.parametrize("optimizer, value, words", [
    ('rmsprop[centered="yes"]', "centered='yes'", "true or false"),
    ("rmsprop[centered=1]", "centered=1", "true or false"),
    ("lbfgs[history_size=2.5]", "history_size=2.5", "an integer"),
    ("lbfgs[history_size=true]", "history_size=True", "an integer"),
    ("adam[lr=true]", "lr=True", "a finite number"),
    ("adam[lr=[0.1,nan]]", "lr=nan", "finite"),
    ("scipy-lbfgsb[maxcor=5.0]", "maxcor=5.0", "an integer"),  # a driver: checked without constructing it
])
def test_hyperparameters_are_checked_against_their_declaration(capsys, here, optimizer, value, words):
    err = fails(capsys, *RUN, "--problems", "sphere", "--optimizers", optimizer)
    assert f"hyperparameter {value} must be {words}" in err
    assert not (here / "r.sqlite").exists()  # refused before any run


def test_declared_types_accept_their_values():
    spec = optbench.get_optimizer("rmsprop")
    assert spec.resolve({"centered": True, "lr": 1})["lr"] == 1  # an integer where a float is declared
    assert optbench.get_optimizer("lbfgs").resolve({"history_size": 3})["history_size"] == 3
    with pytest.raises(ConfigError, match="must be an integer"):
        optbench.get_optimizer("lbfgs").check_types({"history_size": 3.0})


# -- 3. oversized requests are refused before they are expanded ------------------------------
def test_a_huge_request_is_refused_with_its_count(capsys, here, monkeypatch):
    from optbench.suite import Suite

    expanded = []

    def expand(self):
        expanded.append(self)
        raise ConfigError("expanded")

    monkeypatch.setattr(Suite, "jobs", expand)
    err = fails(capsys, *RUN, "--problems", "sphere", "--optimizers", "gd", "--seeds", "1000000")
    assert "this request is 1,000,000 runs (1 problem configurations x 1 optimizer configurations x 1,000,000 " \
           "seeds), more than 100,000; pass --yes" in err
    grid = "[" + ",".join(str(2 + i) for i in range(100)) + "]"
    (here / "big.toml").write_text(textwrap.dedent(f'''
        [[problems]]
        name = "quadratic"
        params = {{ dim = {grid}, kappa = {grid} }}
        [[optimizers]]
        name = "gd"
        hyperparameters = {{ lr = {grid} }}
    '''))
    assert "big.toml: this request is 1,000,000 runs (10,000 problem configurations x 100 optimizer" in fails(
        capsys, "run", "big.toml", "--db", "r.sqlite", "--no-report")
    assert not expanded
    assert "expanded" in fails(capsys, *RUN, "--problems", "sphere", "--optimizers", "gd", "--seeds", "1000000",
                               "--yes")  # --yes goes on to the expansion


def test_trace_buffers_grow_with_the_run():
    """A budget of 10**12 steps (8 TB of trace if allocated up front) runs: the runner's, the
    driver's and the batched loop's buffers start small and grow past their first size."""
    from optbench import batched
    from optbench.suite import Suite, parse_selections

    budget = optbench.Budget(max_steps=10**12, max_evals=1100)
    record = optbench.run("sphere", "gd", budget=budget, spectrum=False)
    assert record.status == "budget" and record.steps > 1024 and len(record.trace["fun"]) == record.steps + 1
    driver = optbench.run("rosenbrock", "scipy-cg", budget=budget, spectrum=False)
    assert driver.status in ("converged", "stopped") and driver.steps > 0
    jobs = Suite("t", parse_selections(["sphere"]), parse_selections(["adam"]), seeds=[0, 1],
                 budget={"max_steps": 10**12, "max_evals": 1100}, device="cpu").jobs()
    rows = batched.run_batched(jobs)
    assert rows[0].steps == rows[1].steps > 1024 and rows[0].environment.get("batched_seeds") == "2"


# -- 6. read-only stores are readable ------------------------------------------------------------
def test_a_store_whose_shm_file_cannot_be_created_is_readable(capsys, here, database):
    """A WAL-mode store where SQLite cannot create its ``-shm`` file -- as in a read-only
    directory -- is read by report, export and compare (``immutable``); run says why it
    cannot write there. (A dangling ``-shm`` link makes the condition even for root, whom
    directory permissions do not stop.)"""
    (here / "ro").mkdir()
    shutil.copy(database, here / "ro" / "r.sqlite")
    os.symlink(here / "missing-dir" / "r.sqlite-shm", here / "ro" / "r.sqlite-shm")
    assert cli.main(["export", "--db", "ro/r.sqlite", "-o", "out"]) == 0
    assert "runs: out/runs.csv (2 rows)" in capsys.readouterr().out
    assert cli.main(["compare", "ro/r.sqlite", "ro/r.sqlite"]) == 0
    capsys.readouterr()
    assert len(optbench.load(here / "ro" / "r.sqlite").runs) == 2
    err = fails(capsys, *RUN, "--problems", "sphere", "--optimizers", "gd", "--db", "ro/r.sqlite")
    assert "cannot write results file 'ro/r.sqlite'" in err and "can still read it" in err


def test_a_read_only_store_whose_log_holds_runs_is_refused_with_the_reason(capsys, here, database):
    """Read as it is on disk, such a file would silently miss the runs still in its ``-wal`` log."""
    (here / "ro").mkdir()
    shutil.copy(database, here / "ro" / "r.sqlite")
    writer = sqlite3.connect(here / "ro" / "r.sqlite")
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE runs SET message = 'edited'")
    writer.commit()  # in the -wal log, not yet in the file
    shutil.copy(here / "ro" / "r.sqlite-wal", here / "r.sqlite-wal")
    writer.close()  # checkpoints and removes the log: put the copy back, as a crashed writer leaves it
    shutil.copy(here / "r.sqlite-wal", here / "ro" / "r.sqlite-wal")
    os.symlink(here / "missing-dir" / "r.sqlite-shm", here / "ro" / "r.sqlite-shm")
    err = fails(capsys, "export", "--db", "ro/r.sqlite", "-o", "out")
    assert "its write-ahead log 'ro/r.sqlite-wal' still holds runs" in err and "copy both files" in err


def test_a_read_only_directory_is_readable(capsys, here, database):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions")
    (here / "ro").mkdir()
    shutil.copy(database, here / "ro" / "r.sqlite")
    os.chmod(here / "ro", 0o555)
    try:
        assert cli.main(["export", "--db", "ro/r.sqlite", "-o", "out"]) == 0
        err = fails(capsys, *RUN, "--problems", "sphere", "--optimizers", "gd", "--db", "ro/r.sqlite")
        assert "not writable" in err
    finally:
        os.chmod(here / "ro", 0o755)
