"""Neural training problems on synthetic data.

Every problem builds its data and model from the run's seed (data from ``generator``,
weights from torch's default initialisers under the seeded global generator), so the same
seed gives the same problem for every optimizer.
"""
from __future__ import annotations


import torch
from torch import nn

from optbench import TrainingProblem, TrainingSetup, register_problem


def gaussian_mixture(n: int, classes: int, features: int, separation: float, generator: torch.Generator):
    """``n`` points from ``classes`` isotropic unit Gaussians whose means lie on a sphere of
    radius ``separation`` (labels balanced, order shuffled)."""
    means = torch.randn(classes, features, generator=generator, dtype=torch.float64)
    means = separation * means / means.norm(dim=1, keepdim=True)
    labels = torch.arange(n) % classes
    labels = labels[torch.randperm(n, generator=generator)]
    x = means[labels] + torch.randn(n, features, generator=generator, dtype=torch.float64)
    return x, labels


def mlp(sizes: list[int], activation=nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


@register_problem("mlp-mixture", tags=("neural", "classification", "synthetic", "non-convex"))
class MLPMixture(TrainingProblem):
    """A tanh MLP classifying a Gaussian mixture (cross-entropy loss).

    ``classes`` unit-variance Gaussians in ``features`` dimensions with means on a sphere of
    radius ``separation``; ``samples`` training and ``samples // 4`` test points; hidden
    layers of ``width`` units, ``depth`` of them. Full batch by default.
    """

    def __init__(self, samples: int = 512, features: int = 8, classes: int = 4, width: int = 32,
                 depth: int = 2, separation: float = 3.0, **common):
        super().__init__(**common)
        for name, v in dict(samples=samples, features=features, classes=classes, width=width, depth=depth).items():
            if int(v) != v or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer")
        if classes < 2:
            raise ValueError(f"classes={classes} must be >= 2")
        self.samples, self.features, self.classes = int(samples), int(features), int(classes)
        self.width, self.depth, self.separation = int(width), int(depth), float(separation)

    def build(self, generator, dtype):
        n_test = max(self.samples // 4, 1)
        x, y = gaussian_mixture(self.samples + n_test, self.classes, self.features, self.separation, generator)
        model = mlp([self.features] + [self.width] * self.depth + [self.classes])
        return TrainingSetup(
            model=model,
            train=(x[: self.samples], y[: self.samples]),
            test=(x[self.samples :], y[self.samples :]),
            loss=nn.functional.cross_entropy,
            task="classification",
        )
