"""benchmarks/gpu_check.py cannot rot: its CPU dry run exercises every section, and without
CUDA (and no --device) it says so and exits 0."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"


def test_cpu_dry_run_exercises_every_section(tmp_path):
    out = tmp_path / "check.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--dry-run", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["dry_run"] and result["ok"] and not result["errors"]
    assert result["tests"]["counts"].get("skipped", 0) >= 1  # the CUDA tests were found and skip here
    quick = result["quick"]
    assert quick["runs"] == 8 and quick["same_status"] == 8 and quick["devices_recorded"] == ["cpu"]
    for case in ("rosenbrock-adam", "mlp-adam"):
        assert result["overhead"][case]["syncs_per_step_harness"] == 0
        assert result["overhead"][case]["harness_us_per_step"] > 0
    small, large = result["batched"]["4"], result["batched"]["8"]
    assert small["serial_measured"] and small["mismatched_records"] == 0 and small["max_rel_trace_diff"] == 0.0
    assert not large["serial_measured"] and "extrapolated" in large["serial_note"]
    summary = out.with_suffix(".txt").read_text()
    assert "(a) CUDA-marked tests" in summary and "(d) 8 seeds" in summary and "ALL OK" in summary


@pytest.mark.skipif(torch.cuda.is_available(), reason="with CUDA the plain command runs the real check")
def test_without_cuda_it_says_so_and_exits_0(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "x.json")], capture_output=True,
                          text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0 and "no CUDA device" in proc.stdout
    assert not (tmp_path / "x.json").exists()
