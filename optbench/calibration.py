r"""The machine's speed on a fixed torch workload, timed once per process: the calibration
figure every run's environment carries, so that times of runs measured on different
machines (an archive's and yours) can be put on one roughly comparable axis.

The workload (:data:`WORKLOAD`, versioned: figures of different workloads are never divided
into each other) is :data:`STEPS` steps of ``torch.optim.Adam`` (lr 1e-3, torch's defaults
otherwise) on a fixed float32 two-layer perceptron

.. math:: \ell(W_1, b_1, W_2, b_2) = \frac{1}{N}\sum_{i=1}^{N}
          \bigl(\tanh(x_i W_1 + b_1) W_2 + b_2 - y_i\bigr)^2,

with ``N = 256`` samples of 32 inputs, 64 hidden units and one output, data and weights
drawn from a private ``torch.Generator`` seeded 0 (the global RNG is never touched, so no
run's random stream moves). It is timed on the run's device (a CPU figure for a CPU run;
on CUDA or MPS the device is synchronised before and after each block), with the torch
thread count the process has when the figure is first asked for (cached per device and
thread count: ``--threads`` changes the figure, as it changes the runs). After
:data:`WARMUP` untimed steps (they pay torch.optim's one-off import and allocation costs,
which the process's first run would otherwise pay), the :data:`STEPS` steps run as
:data:`BLOCKS` blocks; the figure is ``BLOCKS x`` the median block time, an estimate of the
steps' wall time that one interruption by another process does not move.

A run's *calibrated time* is ``seconds / calibration_seconds`` (dimensionless: "calibrated
time units", how many calibration workloads the run's optimizer time would buy on its own
machine); :func:`optbench.metrics.with_calibrated_time` adds it to the report's frames. Evaluation
counts stay the primary, exact cost; calibrated time only makes time axes of different
machines *roughly* comparable. It removes a machine's overall speed (clock, core type, a
steady background load), not differences in what a run spends its time on:
the workload is dominated by per-operation dispatch and small float32 matrix products, so
a float64 problem, a large network or a GPU run whose cost is elsewhere (memory bandwidth,
kernel launches of another size) scales differently from it.

Measured by ``python benchmarks/calibration_spread.py`` (``benchmarks/README.md``,
"Calibration figure"; the project's shared 2-core machine, 1 thread, load average 5.7-6.8):
across 15 fresh processes median 0.377 s, min 0.262, max 0.538 ((max - min) / median 73%);
15 repeats in one process median 0.431 s, range 78%; the first call costs a process 0.46 s
(median). A second measurement as the load rose from 3.9 to 6.2: processes 0.139-0.546 s
(median 0.397), first call 0.20-0.62 s. Under such load the figure follows the load of the
moment. It normalised half a core away (raw time ratios 2.2 and 2.7, calibrated 1.00 and
1.02 on an MLP and on 10-D Rosenbrock) but not a change of torch threads, which slows small
matrix products on a busy machine and not a dispatch-bound float64 problem (calibrated
ratio 0.04): compare calibrated times of runs made with the same thread count.
"""
from __future__ import annotations

import functools
import statistics
import time

WORKLOAD = "adam-mlp32x64x1-b256-f32-200steps-v1"
"""The name and version of the calibration workload; a changed workload is a new version."""
STEPS = 200
BLOCKS = 5
WARMUP = 10
SAMPLES, INPUTS, HIDDEN = 256, 32, 64
SEED = 0


def calibration(device="cpu") -> dict[str, float | str]:
    """The calibration entries of a run's environment on ``device``: ``calibration_seconds``
    (the workload's wall time, seconds) and ``calibration_workload`` (:data:`WORKLOAD`).

    Timed once per process, device and torch thread count (:func:`calibration_seconds`).

    >>> entry = calibration("cpu")
    >>> entry["calibration_workload"] == WORKLOAD and entry["calibration_seconds"] > 0
    True
    """
    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device("cuda", torch.cuda.current_device())
    return {"calibration_seconds": calibration_seconds(str(dev), torch.get_num_threads()),
            "calibration_workload": WORKLOAD}


@functools.lru_cache(maxsize=None)
def calibration_seconds(device: str, threads: int) -> float:
    """The workload's wall time on ``device`` with ``threads`` torch threads (the caller's
    current count: ``threads`` is the cache key, not a setting), cached for the process."""
    return BLOCKS * statistics.median(block_times(device))


def block_times(device: str = "cpu") -> list[float]:
    """Wall times of :data:`BLOCKS` blocks of ``STEPS // BLOCKS`` Adam steps of the workload on
    ``device``, after :data:`WARMUP` untimed steps. Uncached: each call times afresh (what
    ``benchmarks/calibration_spread.py`` repeats within one process)."""
    import torch

    from .device import synchronize

    dev = torch.device(device)
    gen = torch.Generator().manual_seed(SEED)  # private: the global RNG state is never touched
    x = torch.randn(SAMPLES, INPUTS, generator=gen)
    y = torch.randn(SAMPLES, 1, generator=gen)
    w1 = torch.randn(INPUTS, HIDDEN, generator=gen) / INPUTS ** 0.5
    w2 = torch.randn(HIDDEN, 1, generator=gen) / HIDDEN ** 0.5
    x, y = x.to(dev), y.to(dev)
    params = [w1.to(dev).requires_grad_(), torch.zeros(HIDDEN, device=dev, requires_grad=True),
              w2.to(dev).requires_grad_(), torch.zeros(1, device=dev, requires_grad=True)]
    opt = torch.optim.Adam(params, lr=1e-3)

    def step():
        opt.zero_grad()
        loss = ((torch.tanh(x @ params[0] + params[1]) @ params[2] + params[3] - y) ** 2).mean()
        loss.backward()
        opt.step()

    times = []
    with torch.enable_grad():
        for _ in range(WARMUP):
            step()
        for _ in range(BLOCKS):
            synchronize(dev)
            start = time.perf_counter()
            for _ in range(STEPS // BLOCKS):
                step()
            synchronize(dev)
            times.append(time.perf_counter() - start)
    return times
