"""Optional adapters to optimizer libraries outside torch.optim: ``pip install "optbench[zoo]"``.

Each module here is named in optbench's ``optbench.optimizers`` entry-point group, like any
plugin, and registers its optimizers only when its library is installed. Registering does not
import the library (several import torch.compile's machinery, seconds per process): the
factory imports it on first use. :data:`EXTRAS` says what each library provides, so that
``optbench list optimizers --installable`` can name what is missing and how to get it.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass


@dataclass(frozen=True)
class Extra:
    """One optional library: its import name, the requirement ``optbench[zoo]`` pins, and the
    optimizer names it provides."""

    module: str
    requirement: str
    provides: tuple[str, ...]

    @property
    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


EXTRAS = (
    Extra("schedulefree", "schedulefree==1.4.1", ("sf-adamw", "sf-sgd")),
    Extra("heavyball", "heavyball==3.2.1", ("soap", "psgd-kron")),
    Extra("lion_pytorch", "lion-pytorch==0.2.5", ("lion",)),
    Extra("pytorch_optimizer", "pytorch-optimizer==4.1.0", ("pytorch-optimizer:<name>",)),
)


def extra(module: str) -> Extra:
    """The :class:`Extra` whose import name is ``module``."""
    return next(e for e in EXTRAS if e.module == module)
