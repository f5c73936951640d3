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
