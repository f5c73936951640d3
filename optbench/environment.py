"""What a run ran on: package versions, device name, optbench version and git commit, and the
machine's calibration figure (:mod:`optbench.calibration`)."""
from __future__ import annotations

import functools
import platform
import subprocess
import sys
from pathlib import Path


@functools.lru_cache(maxsize=None)
def _static_environment() -> dict[str, str | None]:
    import numpy
    import scipy
    import torch

    import optbench

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "optbench": optbench.__version__,
        "git_commit": git_commit(),
        "cuda": torch.version.cuda,
        "cpu": cpu_model(),
    }


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, ``sysctl`` on macOS), else what
    :func:`platform.processor` says: part of the machine fingerprint timings are compared by."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                 timeout=5)
            if out.returncode == 0 and out.stdout.strip():
                return out.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def git_commit() -> str | None:
    """The commit of the optbench checkout optbench runs from (an editable install), or of
    the current directory when it is an optbench checkout (a regular install made from it);
    ``None`` otherwise. ``-dirty`` marks uncommitted changes to tracked files."""
    for here in (Path(__file__).resolve().parent.parent, Path.cwd()):
        if (here / ".git").exists() and (here / "optbench" / "__init__.py").exists():
            return _head(here)
    return None


def _head(here: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def device_name(device) -> str:
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    return platform.processor() or platform.machine() or "cpu"


def environment(device) -> dict[str, str | float | None]:
    """Environment metadata recorded with every run; ``calibration_seconds`` (a float) and
    ``calibration_workload`` come from :func:`optbench.calibration.calibration`, timed on
    ``device`` once per process and thread count."""
    import torch

    from .calibration import calibration

    return {**_static_environment(), "torch_threads": str(torch.get_num_threads()), "device_name": device_name(device),
            "argv": " ".join(sys.argv[:1]), **calibration(device)}
