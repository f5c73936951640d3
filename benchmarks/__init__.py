"""asv benchmarks: optbench's speed and convergence, per commit.

``bench_speed.py``        ``time_`` (one optimizer step, driver runs, the quick suite end to
                          end, CUDA variants) and ``peakmem_`` benchmarks
``bench_convergence.py``  ``track_`` benchmarks: evaluations to a target, final gap, failure
                          rate, final training loss -- all "larger is worse", as asv assumes

asv benchmarks every commit with the suite in *this* checkout, so a benchmark looks its
problem and optimizer up by name at run time and is skipped (``NotImplementedError`` in
``setup``) on a commit that does not have it yet.

The other ``.py`` files in this folder are standalone scripts (``python benchmarks/NAME.py``).
asv imports every module here while it discovers benchmarks, so those scripts keep their
work under ``if __name__ == "__main__":`` and define nothing named ``time_*``, ``track_*``,
``peakmem_*`` or ``mem_*``.

This module is imported by asv's fork server, and every benchmark process is forked from it
(``"launch_method": "forkserver"`` in asv.conf.json), so what is slow to load is loaded here,
once: torch, the catalogues behind the entry points, and the ~800 modules (torch._dynamo,
sympy) that torch.optim imports when the first optimizer is built -- seconds each, per
benchmark process otherwise. torch runs on one thread: on a shared CI machine a
single-threaded step is timed far more stably than one competing for cores, and no thread
pool exists yet when the server forks. The environment every run records is cached here too
(on commits that time a calibration figure, ``optbench.calibration``, that is ~0.2 s timed
once in the server rather than inside the first timed call of every benchmark process).
"""
import torch

import optbench
from optbench.environment import environment

torch.set_num_threads(1)
optbench.PROBLEMS.names()  # loads the entry points
optbench.OPTIMIZERS.names()
torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.0).step()
environment(torch.device("cpu"))


def lookup(problem: str, optimizer: str, problem_params: dict | None = None):
    """``(problem object, optimizer spec)``; ``NotImplementedError`` (asv: skip) if either is
    not registered in the commit under test."""
    if problem not in optbench.PROBLEMS.names():
        raise NotImplementedError(f"problem {problem!r} is not in this commit")
    if optimizer not in optbench.OPTIMIZERS.names():
        raise NotImplementedError(f"optimizer {optimizer!r} is not in this commit")
    return optbench.get_problem(problem, **(problem_params or {})), optbench.get_optimizer(optimizer)


def cuda_or_skip() -> torch.device:
    if not torch.cuda.is_available():
        raise NotImplementedError("CUDA is not available")
    return torch.device("cuda")
