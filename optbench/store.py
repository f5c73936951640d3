"""The SQLite results store.

One row per run in ``runs`` (keyed by the job's stable hash), its trace in ``traces`` as
``.npy`` bytes (read back with ``allow_pickle=False``: nothing is ever unpickled), its
evaluation-point metrics in ``evals``. Each finished run is written in one transaction, so a
killed process leaves every finished run and nothing half-written. WAL mode and a busy
timeout let several ``optbench run`` processes share one file; ``INSERT OR IGNORE`` on the
key keeps each run once.

>>> import optbench                                               # doctest: +SKIP
>>> results = optbench.load("results.sqlite")
>>> results.runs.groupby("optimizer").gap.median()
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import sqlite3
from pathlib import Path
from typing import Iterable

import numpy as np

from .errors import StoreError
from .labels import configuration_labels

SCHEMA_VERSION = 4  # 2: grad_norm, grad_norm0; 3: the experiments table; 4: experiments.suite_hash
#                    (older files are migrated on opening)
APPLICATION = "optbench"

RUN_COLUMNS = [
    ("key", "TEXT PRIMARY KEY"),
    ("suite", "TEXT"),
    ("problem", "TEXT NOT NULL"),
    ("problem_params", "TEXT NOT NULL"),
    ("optimizer", "TEXT NOT NULL"),
    ("hyperparameters", "TEXT NOT NULL"),
    ("seed", "INTEGER NOT NULL"),
    ("device", "TEXT"),
    ("dtype", "TEXT"),
    ("budget", "TEXT"),
    ("status", "TEXT NOT NULL"),
    ("message", "TEXT"),
    ("traceback", "TEXT"),
    ("fun", "REAL"),
    ("best", "REAL"),
    ("f0", "REAL"),
    ("f_star", "REAL"),
    ("gap", "REAL"),
    ("steps", "INTEGER"),
    ("nfev", "INTEGER"),
    ("njev", "INTEGER"),
    ("nhev", "INTEGER"),
    ("seconds", "REAL"),
    ("peak_memory", "INTEGER"),
    ("x", "TEXT"),
    ("environment", "TEXT"),
    ("started_at", "REAL"),
    ("dim", "INTEGER"),
    ("eig_min", "REAL"),
    ("eig_max", "REAL"),
    ("condition", "REAL"),
    ("n_negative", "INTEGER"),
    ("spectrum_method", "TEXT"),
    ("grad_norm", "REAL"),
    ("grad_norm0", "REAL"),
]
ADDED_IN = {"grad_norm": 2, "grad_norm0": 2}  # schema version that introduced a run column (default 1)
JSON_COLUMNS = ("problem_params", "hyperparameters", "budget", "x", "environment")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs ({", ".join(f"{n} {t}" for n, t in RUN_COLUMNS)});
CREATE TABLE IF NOT EXISTS traces (
    key TEXT NOT NULL REFERENCES runs(key), name TEXT NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (key, name));
CREATE TABLE IF NOT EXISTS evals (
    key TEXT NOT NULL REFERENCES runs(key), metric TEXT NOT NULL, steps BLOB NOT NULL, vals BLOB NOT NULL,
    PRIMARY KEY (key, metric));
CREATE INDEX IF NOT EXISTS runs_problem_optimizer ON runs(problem, optimizer);
CREATE TABLE IF NOT EXISTS experiments (
    name TEXT NOT NULL, key TEXT NOT NULL, suite_hash TEXT, PRIMARY KEY (name, key));
"""
EXPERIMENTS_TABLE = """CREATE TABLE IF NOT EXISTS experiments (
    name TEXT NOT NULL, key TEXT NOT NULL, suite_hash TEXT, PRIMARY KEY (name, key))"""


def experiment_of(label) -> str:
    """The experiment a run's suite label belongs to: ``tune:NAME`` (a tuning trial) and
    ``tuned:NAME`` (a tuned evaluation run) belong to the experiment ``NAME``, like the runs
    labelled ``NAME`` itself; an empty label is the experiment ``""``."""
    from .tuning.settings import TRIAL_PREFIX, TUNED_PREFIX

    label = "" if label is None or (isinstance(label, float) and math.isnan(label)) else str(label)
    for prefix in (TRIAL_PREFIX, TUNED_PREFIX):
        if label.startswith(prefix):
            return label[len(prefix):]
    return label


def to_npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(array), allow_pickle=False)
    return buf.getvalue()


def from_npy(data: bytes) -> np.ndarray:
    return np.load(io.BytesIO(data), allow_pickle=False)


class CorruptStoreError(StoreError, ValueError):
    """A results file whose contents cannot be decoded (damaged pages, a blob that is not npy)."""


def _trace_array(data: bytes, key: str, name: str, path: Path) -> np.ndarray:
    try:
        return from_npy(data)
    except (ValueError, EOFError, OSError) as exc:
        raise CorruptStoreError(
            f"results file {str(path)!r} is damaged: array {name!r} of run {key} cannot be read ({exc}); "
            "move the file away (or pass another --db) and re-run the suite"
        ) from exc


@contextlib.contextmanager
def _sqlite_errors(path: Path, doing: str):
    """Turn any ``sqlite3.DatabaseError`` into a :class:`StoreError` that says what to do."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            hint = "another process kept it locked for over a minute; try again"
        elif isinstance(exc, sqlite3.OperationalError) and "malformed" not in text:
            hint = "check the disk (space, permissions) and try again"
        else:
            raise CorruptStoreError(
                f"results file {str(path)!r} is damaged or not an optbench database ({doing}: {text}); "
                "move it away (or pass another --db) and re-run the suite"
            ) from exc
        raise StoreError(f"cannot {doing} results file {str(path)!r}: {text}; {hint}") from exc


def _json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=repr)


def _real(value) -> float | None:
    """NaN/Inf survive as SQLite REAL only as NULL/huge; keep them explicit."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else (None if math.isnan(value) else value)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection: ``mode=ro``; ``immutable=1`` where SQLite cannot create the
    ``-shm`` file that a WAL-mode database needs even for reading (a read-only directory)."""
    uri = path.resolve().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=60.0, isolation_level=None)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError as exc:
        conn.close()
        if "not a database" in str(exc) or "malformed" in str(exc):
            raise
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"results file {str(path)!r} cannot be read where it is: its directory is read-only and its write-ahead "
            f"log {str(wal)!r} still holds runs not yet copied into the file; copy both files to a writable "
            "directory and pass that path with --db"
        )
    return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)


class Store:
    """A results database; opening a path that does not exist creates it.

    ``readonly=True`` opens an existing file for reading only (``report``, ``export``,
    ``compare``): through SQLite's ``mode=ro`` URI, and where even that cannot work -- a
    WAL-mode file in a read-only directory or on read-only media, where SQLite cannot create
    the ``-shm`` index it needs -- as ``immutable=1``, which reads the file as it is on disk
    (refused, with the reason, when a ``-wal`` log beside it still holds runs not yet copied
    into the file). A writer (``run``, ``tune``) that cannot write says so when it opens.

    Raises :class:`~optbench.errors.StoreError` for a file that is not an optbench database,
    comes from a newer optbench (schema version), is damaged, or cannot be written by a writer.
    """

    def __init__(self, path: str | Path, *, create: bool = True, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        exists = self.path.exists() and self.path.stat().st_size > 0
        if not exists and (readonly or not create):
            raise StoreError(f"results file {str(self.path)!r} does not exist (run `optbench run --db {self.path}` first)")
        if not exists:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the directory for results file {str(self.path)!r}: {exc}") from exc
        try:
            if readonly:
                self.conn = _connect_readonly(self.path)
            else:
                self.conn = sqlite3.connect(str(self.path), timeout=60.0, isolation_level=None)
                self.conn.execute("PRAGMA busy_timeout = 60000")
            if exists:
                self._check_existing()
            else:
                self._create()
            if not readonly:
                self.conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if readonly or "not a database" in str(exc) or "malformed" in str(exc):
                raise self._unreadable(exc) from exc
            raise StoreError(
                f"cannot write results file {str(self.path)!r} ({exc}): the file or its directory is read-only, "
                "or the disk is full; `optbench report`/`export`/`compare` can still read it; to run, pass "
                "another --db path or make it writable"
            ) from exc
        except sqlite3.DatabaseError as exc:
            raise self._unreadable(exc) from exc

    def _unreadable(self, exc: Exception) -> StoreError:
        return StoreError(
            f"{str(self.path)!r} is not a readable optbench results database ({exc}): it is damaged or not "
            "an SQLite file; pass another --db path, or move this file away"
        )

    def _create(self) -> None:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.strip().split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('application', ?)", (APPLICATION,))
            self.conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def _check_existing(self) -> None:
        problems = [r[0] for r in self.conn.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise CorruptStoreError(
                f"results file {str(self.path)!r} is damaged (sqlite quick_check: {'; '.join(problems[:3])}); "
                "move it away (or pass another --db) and re-run the suite"
            )
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if not tables and not self.readonly:
            self._create()
            return
        if "meta" not in tables:
            raise StoreError(f"{str(self.path)!r} is an SQLite file but not an optbench results database "
                             "(no 'meta' table); pass another --db path")
        meta = dict(self.conn.execute("SELECT name, value FROM meta").fetchall())
        if meta.get("application") != APPLICATION:
            raise StoreError(f"{str(self.path)!r} is not an optbench results database")
        version_text = str(meta.get("schema_version", "0"))
        if not version_text.isdigit():
            raise CorruptStoreError(f"results file {str(self.path)!r} is damaged: its schema version "
                                    f"{version_text!r} is not a whole number; pass another --db path")
        version = int(version_text)
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{str(self.path)!r} has schema version {version}, newer than this optbench understands "
                f"({SCHEMA_VERSION}); upgrade optbench (pip install -U optbench) to read it"
            )
        if version < 1:
            raise StoreError(f"{str(self.path)!r} has an old schema version {version}; re-run the suite into a new file")
        missing = [t for t in ("runs", "traces", "evals") if t not in tables]
        columns = {r[1] for r in self.conn.execute("PRAGMA table_info(runs)")}
        if version < SCHEMA_VERSION and not missing and not self.readonly:
            columns = self._migrate(columns, version)
            version = SCHEMA_VERSION
        expected = [name for name, _ in RUN_COLUMNS if ADDED_IN.get(name, 1) <= version]
        missing += [f"runs.{name}" for name in expected if "runs" in tables and name not in columns]
        if missing:
            raise CorruptStoreError(f"results file {str(self.path)!r} is damaged: it has optbench's metadata but "
                                    f"lacks {', '.join(missing[:5])}; move it away (or pass another --db) "
                                    "and re-run the suite")

    def _migrate(self, columns: set[str], version: int) -> set[str]:
        """Bring an older file up to :data:`SCHEMA_VERSION`: add the run columns it lacks, and
        (before version 3) the experiments table, each run in the experiment of its suite label
        (:func:`experiment_of`).

        New columns are nullable, so the old runs read as "not recorded" (``NaN``) there; a file
        opened read-only is read as it is (:class:`Results` fills the columns it lacks and
        derives the experiments from the suite labels the same way).
        Version 4 adds ``experiments.suite_hash`` (``NULL``: not recorded).
        Returns the columns the ``runs`` table now has.
        """
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            for name, kind in RUN_COLUMNS:
                if name not in columns:
                    self.conn.execute(f"ALTER TABLE runs ADD COLUMN {name} {kind}")
            if version < 3:
                self.conn.execute(EXPERIMENTS_TABLE)
                rows = [(experiment_of(label), key) for key, label in self.conn.execute("SELECT key, suite FROM runs")]
                self.conn.executemany("INSERT OR IGNORE INTO experiments (name, key) VALUES (?, ?)", rows)
            elif version < 4:
                self.conn.execute("ALTER TABLE experiments ADD COLUMN suite_hash TEXT")
            self.conn.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION),))
        return {r[1] for r in self.conn.execute("PRAGMA table_info(runs)")}

    # -- writing -------------------------------------------------------------
    def add(self, record) -> bool:
        """Store one finished run in one transaction; ``False`` if its key was already stored."""
        row = {}
        for name, _ in RUN_COLUMNS:
            value = getattr(record, name)
            if name in JSON_COLUMNS:
                value = _json(value)
            elif name in ("fun", "best", "f0", "f_star", "gap", "seconds", "eig_min", "eig_max", "condition",
                          "grad_norm", "grad_norm0"):
                value = _real(value)
            row[name] = value
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        traces = [(record.key, name, to_npy(arr)) for name, arr in record.trace.items()]
        evals = [(record.key, m, to_npy(s), to_npy(v)) for m, (s, v) in record.evals.items()]
        with _sqlite_errors(self.path, "write to"):
            return self._insert(cols, marks, list(row.values()), traces, evals)

    def _insert(self, cols: str, marks: str, values: list, traces: list, evals: list) -> bool:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.execute(f"INSERT OR IGNORE INTO runs ({cols}) VALUES ({marks})", values)
            if cur.rowcount == 0:
                conn.execute("ROLLBACK")
                return False
            conn.executemany("INSERT INTO traces VALUES (?, ?, ?)", traces)
            conn.executemany("INSERT INTO evals VALUES (?, ?, ?, ?)", evals)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return True

    def add_to_experiment(self, name: str, keys: Iterable[str], suite_hash: str | None = None) -> None:
        """Record that the runs with these keys belong to the experiment ``name`` (a run that
        several commands share -- the same job, stored once -- belongs to each of them), run
        on the instances of the suite whose :meth:`~optbench.suite.Suite.instances_hash` is
        ``suite_hash``."""
        rows = [(name, k, suite_hash) for k in keys]
        with _sqlite_errors(self.path, "write to"):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                self.conn.executemany("INSERT INTO experiments VALUES (?, ?, ?) ON CONFLICT (name, key) DO UPDATE SET "
                                      "suite_hash = excluded.suite_hash", rows)
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def delete(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        with _sqlite_errors(self.path, "delete runs from"):
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                for table in ("traces", "evals", "runs"):
                    self.conn.executemany(f"DELETE FROM {table} WHERE key = ?", [(k,) for k in keys])
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    # -- reading -------------------------------------------------------------
    def statuses(self) -> dict[str, str]:
        """``key -> status`` of every stored run."""
        with _sqlite_errors(self.path, "read"):
            return dict(self.conn.execute("SELECT key, status FROM runs").fetchall())

    def keys(self) -> set[str]:
        with _sqlite_errors(self.path, "read"):
            return {r[0] for r in self.conn.execute("SELECT key FROM runs")}

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Results:
    """Tidy frames of a results database: ``runs`` (one row per run), ``traces`` (one row
    per run and step), ``evals`` (one row per run, evaluation point and metric) and
    ``experiments`` (one row per experiment and run: columns ``experiment, key, suite_hash``,
    the last the instances hash of the suite the run was made for, ``None`` where not recorded).

    An *experiment* is the set of runs one command asked for (``optbench run``/``tune``, or
    :func:`optbench.run_suite`), named after the suite, ``--name``, or the selection; a run
    two commands share is stored once and belongs to both. A run no command registered (added
    with :meth:`Store.add` directly) belongs to the experiment of its suite label
    (:func:`experiment_of`).

    ``keys`` reads only the runs with these keys (what one command made), not the whole file:
    the same frames as ``Results(store).subset(keys)``, at the cost of those runs alone.
    """

    def __init__(self, store: Store, keys=None):
        self.path = store.path
        self._conn = store.conn
        with _sqlite_errors(self.path, "read"):
            self._read(store.conn, None if keys is None else set(keys))

    def _read(self, conn, keys: set[str] | None) -> None:
        import pandas as pd

        where = ""
        if keys is not None:  # a temporary table (a read-only file allows one): any number of keys
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_keys(key TEXT PRIMARY KEY)")
            conn.execute("DELETE FROM wanted_keys")
            conn.executemany("INSERT OR IGNORE INTO wanted_keys VALUES (?)", ((k,) for k in keys))
            where = " AND key IN (SELECT key FROM wanted_keys)"
        runs = pd.read_sql_query(f"SELECT * FROM runs WHERE 1{where} ORDER BY problem, optimizer, seed, rowid", conn)
        for name, _ in RUN_COLUMNS:  # a file of an older schema that could not be migrated (read-only)
            if name not in runs.columns:
                runs[name] = None
        for col in JSON_COLUMNS:
            runs[col] = runs[col].map(lambda s: json.loads(s) if isinstance(s, str) else None)
        runs["problem_id"], runs["optimizer_id"] = configuration_labels(runs)
        self.runs = runs
        frames = {}
        for key, name, data in conn.execute(f"SELECT key, name, data FROM traces WHERE name != 'x'{where} ORDER BY rowid"):
            frames.setdefault(key, {})[name] = _trace_array(data, key, name, self.path)
        parts = []
        for key, cols in frames.items():
            df = pd.DataFrame(cols)
            df.insert(0, "key", key)
            parts.append(df)
        columns = ["key", "step", "fun", "nfev", "seconds"]
        traces = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
        meta = runs[["key", "problem_id", "optimizer_id", "seed", "f_star"]]
        traces = traces.merge(meta, on="key", how="left")
        traces["gap"] = traces["fun"] - traces["f_star"]
        self.traces = traces
        erows = []
        for key, metric, steps, vals in conn.execute(f"SELECT key, metric, steps, vals FROM evals WHERE 1{where} ORDER BY rowid"):
            s, v = _trace_array(steps, key, metric, self.path), _trace_array(vals, key, metric, self.path)
            erows.append(pd.DataFrame({"key": key, "metric": metric, "step": s, "value": v}))
        evals = (pd.concat(erows, ignore_index=True) if erows
                 else pd.DataFrame(columns=["key", "metric", "step", "value"]))
        self.evals = evals.merge(runs[["key", "problem_id", "optimizer_id", "seed"]], on="key", how="left")
        self.experiments = _experiments_frame(conn, runs[["key", "suite"]])

    def experiment_names(self) -> list[str]:
        """The experiments these results hold, sorted."""
        return sorted(set(self.experiments["experiment"]))

    def single_experiment(self) -> str | None:
        """The experiment that holds every run here (the first by name if several do), or
        ``None`` when the runs come from several experiments."""
        keys = set(self.runs["key"])
        held = self.experiments.groupby("experiment")["key"].agg(lambda k: keys <= set(k))
        names = sorted(held.index[held])
        return names[0] if names else None

    def experiment(self, name: str) -> "Results":
        """The runs of the experiment ``name``; a :class:`~optbench.errors.ConfigError` that
        lists the experiments present when there is none of that name."""
        return self.subset(_keys_of(self.experiments, name))

    def experiments_table(self):
        """One row per experiment: its runs, problems, optimizers and seeds (distinct
        configurations, as the report counts them), and the start of its first and last run
        (UTC)."""
        import pandas as pd

        from .labels import configuration_labels

        rows = []
        for name, keys in self.experiments.groupby("experiment", sort=True)["key"]:
            runs = self.runs[self.runs["key"].isin(set(keys))]
            problem_ids, optimizer_ids = configuration_labels(runs)
            started = pd.to_datetime(runs["started_at"], unit="s", utc=True)
            rows.append({"name": name, "runs": len(runs), "problems": len(set(problem_ids)),
                         "optimizers": len(set(optimizer_ids)), "seeds": runs["seed"].nunique(),
                         "first": started.min().strftime("%Y-%m-%d %H:%M") if started.notna().any() else "",
                         "last": started.max().strftime("%Y-%m-%d %H:%M") if started.notna().any() else ""})
        return pd.DataFrame(rows, columns=["name", "runs", "problems", "optimizers", "seeds", "first", "last"])

    def subset(self, keys) -> "Results":
        """These results restricted to the runs with these keys (all three frames)."""
        keys = set(keys)
        out = copy.copy(self)
        out.runs = self.runs[self.runs["key"].isin(keys)].reset_index(drop=True)
        out.traces = self.traces[self.traces["key"].isin(keys)].reset_index(drop=True)
        out.evals = self.evals[self.evals["key"].isin(keys)].reset_index(drop=True)
        out.experiments = self.experiments[self.experiments["key"].isin(keys)].reset_index(drop=True)
        return out

    def trajectory(self, key: str) -> np.ndarray | None:
        """The iterates ``x_j`` of a low-dimensional run, shape ``(rows, dim)``, or None."""
        with _sqlite_errors(self.path, "read"):
            row = self._conn.execute("SELECT data FROM traces WHERE key = ? AND name = 'x'", (key,)).fetchone()
        return _trace_array(row[0], key, "x", self.path) if row else None


def _experiments_frame(conn, runs):
    """One row per experiment and run of ``runs`` (columns ``key, suite``): the registered
    experiments of those runs, and for a run no command registered the experiment of its suite
    label (:func:`experiment_of`). Columns ``experiment, key, suite_hash``."""
    import pandas as pd

    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    hashes = "experiments" in tables and "suite_hash" in {r[1] for r in conn.execute("PRAGMA table_info(experiments)")}
    registered = (pd.read_sql_query(f"SELECT name AS experiment, key, {'suite_hash' if hashes else 'NULL'} AS suite_hash "
                                    "FROM experiments", conn)
                  if "experiments" in tables else pd.DataFrame(columns=["experiment", "key", "suite_hash"]))
    registered = registered[registered["key"].isin(set(runs["key"]))]
    orphans = runs[~runs["key"].isin(set(registered["key"]))]
    derived = pd.DataFrame({"experiment": [experiment_of(s) for s in orphans["suite"]], "key": orphans["key"],
                            "suite_hash": None})
    return pd.concat([registered, derived], ignore_index=True).sort_values(["experiment", "key"], ignore_index=True)


def experiment_keys(store: Store, name: str) -> set[str]:
    """The keys of the runs of the experiment ``name`` in ``store``, read without the traces (for
    ``Results(store, keys)``); a :class:`~optbench.errors.ConfigError` that lists the experiments
    present when there is none of that name."""
    import pandas as pd

    with _sqlite_errors(store.path, "read"):
        frame = _experiments_frame(store.conn, pd.read_sql_query("SELECT key, suite FROM runs", store.conn))
    return _keys_of(frame, name)


def _keys_of(experiments, name: str) -> set[str]:
    """The keys of experiment ``name`` in an experiments frame; a
    :class:`~optbench.errors.ConfigError` that lists the experiments present when there are none."""
    from .errors import ConfigError

    keys = set(experiments.loc[experiments["experiment"] == name, "key"])
    if not keys:
        present = ", ".join(map(repr, sorted(set(experiments["experiment"])))) or "(none)"
        raise ConfigError(f"no runs of experiment {name!r} in these results; experiments present: {present}")
    return keys


def load(path: str | Path) -> Results:
    """Open a results database read-only (see :class:`Store`) and return its tidy frames."""
    return Results(Store(path, readonly=True))
