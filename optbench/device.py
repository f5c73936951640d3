"""Device names: ``auto | cpu | cuda | cuda:N | mps``, checked against what is present."""
from __future__ import annotations

import re

from .errors import ConfigError

DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def resolve_device(name: str | None = "auto"):
    """The torch device for ``name``; a clear error when it is not available here."""
    import torch

    if isinstance(name, torch.device):
        name = str(name)
    name = (name or "auto").strip()
    if not DEVICE_PATTERN.match(name):
        raise ConfigError(f"device {name!r} is not one of auto, cpu, cuda, cuda:N, mps")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} requested but CUDA is not available on this machine "
                              "(torch.cuda.is_available() is False); use --device cpu or auto")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("device 'mps' requested but MPS is not available; use --device cpu or auto")
    return torch.device(name)


def device_kind(device) -> str:
    """``cpu``, ``cuda`` or ``mps``: the part of a device that enters a job's key."""
    return str(device).split(":")[0]


def synchronize(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
