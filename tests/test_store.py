"""Store: round trip, tidy frames, resume, no pickle, schema checks."""
import sqlite3

import numpy as np
import pytest

import optbench
from optbench import Budget
from optbench.errors import StoreError
from optbench.store import SCHEMA_VERSION, Store, load


@pytest.fixture
def records():
    return [optbench.run("rosenbrock", opt, seed=s, budget=Budget(max_steps=20), problem_params={"start": "random"})
            for opt in ("gd", "adam") for s in (0, 1)]


def test_round_trip_tidy_frames(tmp_path, records):
    db = tmp_path / "r.sqlite"
    store = Store(db)
    assert all(store.add(r) for r in records)
    assert not store.add(records[0])  # the same key is stored once
    res = load(db)
    assert len(res.runs) == 4 and set(res.runs.optimizer) == {"gd", "adam"}
    rec = records[3]  # adam, seed 1: a full 20-step run
    row = res.runs.set_index("key").loc[rec.key]
    assert row.status == rec.status == "budget" and row.nfev == rec.nfev
    assert row.hyperparameters == rec.hyperparameters and row.problem_params["start"] == "random"
    assert row.environment["torch"] == rec.environment["torch"]
    tr = res.traces[res.traces.key == rec.key]
    np.testing.assert_array_equal(tr.fun.to_numpy(), rec.trace["fun"])
    np.testing.assert_array_equal(tr.step.to_numpy(), np.arange(21))
    assert len(res.traces) == sum(len(r.trace["fun"]) for r in records)
    np.testing.assert_array_equal(res.trajectory(rec.key), rec.trace["x"])


def test_reading_some_keys_gives_the_subset_of_reading_all(tmp_path, records):
    """``Results(store, keys)`` reads only those runs (what ``optbench run`` does at its end, so
    a large shared file is not read whole): the frames of ``Results(store).subset(keys)``, from
    a writable or a read-only file, whatever the number of keys."""
    import pandas as pd

    from optbench.store import Results

    db = tmp_path / "r.sqlite"
    store = Store(db)
    for r in records:
        store.add(r)
    keys = {r.key for r in records if r.optimizer == "adam"} | {"not-a-stored-key"}
    for source in (store, Store(db, readonly=True)):
        some, every = Results(source, keys), Results(source).subset(keys)
        assert set(some.runs["key"]) == keys - {"not-a-stored-key"}
        for frame in ("runs", "traces", "evals", "experiments"):
            # dtypes may differ where a column has NaN in other runs only (int64 here, float64 there)
            pd.testing.assert_frame_equal(getattr(some, frame).reset_index(drop=True),
                                          getattr(every, frame).reset_index(drop=True), check_dtype=False)
    assert len(Results(store, []).runs) == 0 and len(Results(store).runs) == 4


def test_labels_show_what_differs_from_the_defaults(tmp_path):
    db = tmp_path / "r.sqlite"
    store = Store(db)
    for lr in (0.1, 0.01):
        store.add(optbench.run("sphere", "gd", hyperparameters={"lr": lr}, budget=Budget(max_steps=3)))
    store.add(optbench.run("sphere", "adam", budget=Budget(max_steps=3)))
    res = load(db)
    assert set(res.runs.optimizer_id) == {"gd[lr=0.1]", "gd", "adam"}  # gd's default lr is 0.01
    assert set(res.runs.problem_id) == {"sphere"}


def test_no_pickle_anywhere(tmp_path, records):
    db = tmp_path / "r.sqlite"
    Store(db).add(records[0])
    conn = sqlite3.connect(db)
    for (blob,) in conn.execute("SELECT data FROM traces"):
        assert blob[:6] == b"\x93NUMPY"
        header = blob[10:200].decode("latin1")
        assert "'descr': '|O'" not in header and "'descr': 'O'" not in header


def test_object_array_in_store_is_refused(tmp_path, records):
    """A planted pickled object array never gets unpickled."""
    db = tmp_path / "r.sqlite"
    Store(db).add(records[0])
    import io

    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE traces SET data = ? WHERE name = 'fun'", (buf.getvalue(),))
    conn.commit()
    with pytest.raises(ValueError, match="allow_pickle"):
        load(db)


def test_not_an_optbench_database(tmp_path):
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not an optbench results database"):
        Store(other)
    text = tmp_path / "notes.txt"
    text.write_text("hello, this is not a database at all" * 100)
    with pytest.raises(StoreError, match="not a readable optbench results database"):
        Store(text)


def test_newer_schema_is_refused(tmp_path):
    db = tmp_path / "r.sqlite"
    Store(db).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    with pytest.raises(StoreError, match="newer than this optbench"):
        Store(db)


def test_version_1_file_is_migrated(tmp_path, records):
    """A file written before the gradient-norm columns gains them; its runs read as NaN there."""
    db = tmp_path / "r.sqlite"
    with Store(db) as store:
        store.add(records[0])
    conn = sqlite3.connect(db)
    for column in ("grad_norm", "grad_norm0"):
        conn.execute(f"ALTER TABLE runs DROP COLUMN {column}")
    conn.execute("UPDATE meta SET value = '1' WHERE name = 'schema_version'")
    conn.commit()
    conn.close()
    with Store(db) as store:
        assert store.add(records[3])
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    conn.close()
    runs = load(db).runs.set_index("key")
    assert np.isnan(runs.loc[records[0].key, "grad_norm"])
    assert runs.loc[records[3].key, "grad_norm"] == records[3].grad_norm > 0  # adam, seed 1: a 20-step run


def test_missing_file_for_reading(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        load(tmp_path / "absent.sqlite")


def test_wal_mode(tmp_path):
    s = Store(tmp_path / "r.sqlite")
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
