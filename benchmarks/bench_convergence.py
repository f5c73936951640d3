"""Convergence: how far and how fast the built-in optimizers get, per commit.

Every number here is deterministic (fixed seeds, CPU, one thread: same code, same result
bit for bit), so a change is a change in the code, and the regression gate compares these
with a tight factor. asv treats a larger value as worse, so each track is a cost:

``track_evals_to_target``  function+gradient evaluations until ``f - f* <= TARGET_GAP``,
                           averaged over the seeds, a run that misses the target counting
                           ``2 * MAX_EVALS`` (the "PAR-2" penalty of solver benchmarking:
                           Bright, Hoos et al., SAT competitions)
``track_gap_decades``      ``log10(gap / GAP_FLOOR)`` of the final gap ``f - f*`` (clipped to
                           ``[GAP_FLOOR, GAP_CEILING]``; a failed run counts as the ceiling),
                           averaged over the seeds: 0 when every run ends within 1e-12 of
                           f*. (Not plain ``log10(gap)``: asv compares by ratio, which needs
                           positive values.)
``track_failure_rate``     fraction of the seeded runs that do not reach the target
``track_final_loss``       training loss after ``TRAIN_STEPS`` steps on mlp-mixture (no f*)

The runs are made once per commit, in ``setup_cache``, and shared by the three tracks.
"""
import math

import optbench

from . import lookup

SEEDS = [0, 1, 2, 3, 4]
TARGET_GAP = 1e-8
MAX_EVALS = 300
GAP_FLOOR = 1e-12
GAP_CEILING = 1e12

# A convex quadratic with eigenvalues log-spaced in [0.1, 1] (f* = 0) and 2-D Rosenbrock,
# both from random starts drawn from the seed.
PROBLEMS = {"quadratic": {"dim": 20, "kappa": 10.0}, "rosenbrock": {"start": "random"}}
OPTIMIZERS = ["gd", "momentum", "nesterov", "gd-armijo", "adam", "lbfgs", "bfgs", "newton", "newton-cg",
              "scipy-lbfgsb"]
# Registered defaults, except the step size of the fixed-step methods: 1/L on the quadratic
# (L = 1), small enough not to diverge on Rosenbrock's steep walls.
STEP_SIZES = {
    "quadratic": {"gd": 1.0, "momentum": 0.1, "nesterov": 0.1, "adam": 0.3},
    "rosenbrock": {"gd": 1e-5, "momentum": 1e-5, "nesterov": 1e-5, "adam": 0.3},
}

TRAIN_OPTIMIZERS = {"gd": {"lr": 0.1}, "adam": {"lr": 1e-2}, "lbfgs": {}}
TRAIN_SEEDS = [0, 1]
TRAIN_STEPS = 50


def _outcomes(problem: str, optimizer: str) -> list[tuple[bool, int, float | None]] | None:
    """``(converged, evaluations, gap)`` for each seed; ``None`` if a name is not in this commit."""
    try:
        prob, spec = lookup(problem, optimizer, PROBLEMS[problem])
    except NotImplementedError:
        return None
    step = STEP_SIZES[problem].get(optimizer)
    budget = optbench.Budget(max_steps=None, max_evals=MAX_EVALS, target_gap=TARGET_GAP)
    out = []
    for seed in SEEDS:
        rec = optbench.run(prob, spec, hyperparameters=None if step is None else {"lr": step}, seed=seed,
                           budget=budget, device="cpu")
        out.append((rec.status == "converged", int(rec.nfev), rec.gap))
    return out


class Convergence:
    """Convergence of each optimizer on each problem over ``SEEDS`` (CPU, float64)."""

    params = (list(PROBLEMS), OPTIMIZERS)
    param_names = ["problem", "optimizer"]
    version = "1"
    timeout = 120

    def setup_cache(self):
        return {(p, o): _outcomes(p, o) for p in PROBLEMS for o in OPTIMIZERS}

    setup_cache.timeout = 1800

    def setup(self, cache, problem, optimizer):
        self.runs = cache[(problem, optimizer)]
        if self.runs is None:
            raise NotImplementedError(f"{problem} or {optimizer} is not in this commit")

    def track_evals_to_target(self, cache, problem, optimizer):
        return sum(n if ok else 2 * MAX_EVALS for ok, n, _ in self.runs) / len(self.runs)

    track_evals_to_target.unit = "evaluations"

    def track_gap_decades(self, cache, problem, optimizer):
        def decades(gap):
            if gap is None or not math.isfinite(gap):
                gap = GAP_CEILING
            return math.log10(min(max(gap, GAP_FLOOR), GAP_CEILING) / GAP_FLOOR)

        return sum(decades(gap) for _, _, gap in self.runs) / len(self.runs)

    track_gap_decades.unit = "decades above 1e-12"

    def track_failure_rate(self, cache, problem, optimizer):
        return sum(not ok for ok, _, _ in self.runs) / len(self.runs)

    track_failure_rate.unit = "fraction of runs"


class Training:
    """Full-batch training loss of mlp-mixture after ``TRAIN_STEPS`` steps (CPU, float32)."""

    params = list(TRAIN_OPTIMIZERS)
    param_names = ["optimizer"]
    version = "1"
    timeout = 600
    unit = "cross-entropy"

    def setup(self, optimizer):
        self.problem, self.spec = lookup("mlp-mixture", optimizer)

    def track_final_loss(self, optimizer):
        budget = optbench.Budget(max_steps=TRAIN_STEPS)
        losses = []
        for seed in TRAIN_SEEDS:
            rec = optbench.run(self.problem, self.spec, hyperparameters=TRAIN_OPTIMIZERS[optimizer], seed=seed,
                               budget=budget, device="cpu")
            if rec.status not in ("budget", "converged"):
                raise RuntimeError(f"{optimizer} on mlp-mixture, seed {seed}: {rec.status}: {rec.message}")
            losses.append(rec.fun)
        return sum(losses) / len(losses)
