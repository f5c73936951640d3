import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli(tmp_path):
    """Run the real ``optbench`` command in a subprocess (cwd = tmp_path)."""
    import subprocess

    def run(*args, check=None, timeout=300, env=None, cwd=None):
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        proc = subprocess.run([sys.executable, "-m", "optbench", *map(str, args)], capture_output=True, text=True,
                              timeout=timeout, cwd=cwd or tmp_path, env=full_env)
        if check is not None:
            assert proc.returncode == check, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
        return proc

    return run


@pytest.fixture
def one_thread():
    """One torch intra-op thread for the test (restored after): small problems and the
    calibration workload crawl with two on a busy 2-core machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

