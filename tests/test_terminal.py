"""What the terminal shows: a run summary within 100 columns with configuration labels
(``--verbose``: the full table), and ``optbench list`` with whole tags and plain-text summaries."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from optbench.cli import main
from optbench.registry import PROBLEMS
from optbench.report.terminal import compact_summary


def test_run_summary_fits_100_columns_and_names_configurations(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["run", "--problems", "quadratic[dim=3],mlp-mixture[samples=32,width=4]", "--optimizers",
            "gd[lr=[1e-3,1e-2]],lbfgs", "--max-steps", "5", "--no-report", "-q", "--db", "r.sqlite", "--no-spectrum"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(map(len, lines)) <= 100, out
    assert lines[0].split() == ["problem", "optimizer", "conv/runs", "median", "gap", "evals", "time"]
    assert {"gd[lr=1e-3]", "gd", "quadratic[dim=3]"} <= set(out.split())  # gd: lr=0.01 is the default
    assert "6 runs:" in out and "f* unknown" in out  # the MLP's gap is to the best observed value
    assert main([*argv, "--verbose"]) == 0
    verbose = capsys.readouterr().out
    assert "median_steps" in verbose and "best_observed" in verbose


def test_compact_summary_shortens_long_labels_to_fit():
    table = pd.DataFrame({
        "problem_id": ["digits-mlp[batch_size=64,hidden=[128,128,128],activation=tanh]"],
        "optimizer_id": ["adam[lr=1e-3,beta1=0.8,beta2=0.95,eps=1e-10,weight_decay=1e-4]"],
        "runs": [5], "converged": [2], "budget": [3], "reference": ["f_star"], "median_final_gap": [np.inf],
        "median_seconds": [123.4], "median_nfev": [1001.0]})
    text = compact_summary(table)
    assert max(map(len, text.splitlines())) <= 100
    assert "digits-mlp[batch_size=64" in text and "adam[lr=1e-3" in text and "…" in text
    assert "2/5" in text and "inf" in text and "123 s" in text and "5 runs: 2 converged, 3 budget." in text


def test_list_keeps_tags_whole_and_summaries_plain(capsys):
    assert main(["list", "problems"]) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 100
    assert "``" not in out and ":math:" not in out
    words = set(re.findall(r"[\w.-]+", out))
    for spec in PROBLEMS.specs():
        assert set(spec.tags) <= words, f"{spec.name}: a tag was cut"
    assert "MGH problem 4, Brown badly" in out
