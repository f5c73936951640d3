"""A quiet terminal: no warning from torch, matplotlib, numpy or pandas escapes ``run``,
``report``, ``tune`` or ``compare`` on the built-in suites, and a run on a machine without
CUDA imports no CUDA-specific module beyond those torch's own optimizer step loads."""
from __future__ import annotations

import json
import subprocess
import sys
import warnings

from optbench.cli import main


def test_commands_on_builtin_suites_emit_no_warnings(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    small = ["--max-steps", "3", "--seeds", "1", "-q"]
    commands = [
        ["run", "quick", *small, "--db", "a.sqlite", "--no-report"],
        ["tune", "fair", *small, "--budget", "2", "--db", "b.sqlite", "--no-report", "-o", "tuned.toml"],
        ["report", "--db", "b.sqlite", "-o", "rep-b", "--x", "evals"],  # trials, tuned and default runs
        ["compare", "a.sqlite", "a.sqlite"],
    ]
    for argv in commands:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            code = main(argv)
        assert code == 0, (argv, capsys.readouterr().err)
        escaped = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught]
        assert not escaped, f"optbench {' '.join(argv)} let warnings through:\n" + "\n".join(escaped)


CUDA_MODULES = r"cuda|cudnn|cusparse|cublas|nccl|nvtx|nvrtc|cupti|triton|nvidia|pynvml"
PROBE = """
import json, re, sys
import torch
pattern = re.compile(sys.argv[1])
x = torch.zeros(2, requires_grad=True)
opt = torch.optim.Adam([x])          # torch's own optimizer machinery, on every machine
x.sum().backward(); opt.step()
baseline = {m for m in sys.modules if pattern.search(m)}
from optbench.cli import main
code = main(["run", "--problems", "rosenbrock,mlp-mixture", "--optimizers", "adam,lbfgs", "--max-steps", "3",
             "--db", "r.sqlite", "--no-report", "-q"])
print(json.dumps({"code": code, "extra": sorted(m for m in sys.modules if pattern.search(m) and m not in baseline)}))
"""


def test_run_without_cuda_imports_no_cuda_modules(tmp_path):
    env = {"CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", PROBE, CUDA_MODULES], capture_output=True, text=True, cwd=tmp_path,
                          env=env, timeout=300)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == {"code": 0, "extra": []}, proc.stderr
