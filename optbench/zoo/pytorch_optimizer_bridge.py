"""``pytorch-optimizer:<name>``: any optimizer of the pytorch-optimizer collection, by name.

Registered (as a namespace of the optimizer registry) when ``pytorch_optimizer`` is installed.
A name is resolved on its first lookup (importing the library then, not before):

- the class is ``pytorch_optimizer.load_optimizer(name)`` (names are case-insensitive; the
  registered name is the lower-case one);
- its hyperparameters are the keyword parameters of the class's ``__init__`` with their
  defaults, less torch.optim's implementation switches (``foreach``, ``maximize``, ...);
- its search space: pytorch-optimizer declares none, so the bridge declares the one every
  method has, ``lr`` on ``LogUniform(1e-5, 1)`` where ``lr`` has a numeric default;
- capabilities from the class: ``train_eval`` when it has ``train()`` and ``eval()``
  (the schedule-free family), ``closure=False`` when its ``step()`` takes no closure;
- a name the library does not have is an error that lists the closest names it has.

Tuple-valued hyperparameters (``betas``) keep their defaults from the command line (a list
in brackets is a grid there); set them from a suite file or the Python API.
"""
from __future__ import annotations

import importlib.metadata
import inspect

from ..errors import UnknownNameError, did_you_mean
from ..optimizer import LogUniform
from ..registry import OPTIMIZERS, optimizer_spec
from . import extra

PREFIX = "pytorch-optimizer"
IMPLEMENTATION_SWITCHES = frozenset({"foreach", "maximize", "differentiable", "capturable", "fused"})


def supported() -> list[str]:
    """The names pytorch-optimizer's registry has (lower case)."""
    import pytorch_optimizer

    return list(pytorch_optimizer.get_supported_optimizers())


def resolve(name: str):
    """The :class:`~optbench.optimizer.OptimizerSpec` of ``pytorch-optimizer:<name>``."""
    import pytorch_optimizer

    key = name.lower()
    known = supported()
    if key not in known:
        raise UnknownNameError(did_you_mean(f"{PREFIX} optimizer", name, known)
                               + f" (all {len(known)}: optbench list optimizers --available)")
    cls = pytorch_optimizer.load_optimizer(key)
    hps = [p for p in list(inspect.signature(cls.__init__).parameters.values())[2:]
           if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.default is not p.empty
           and p.name not in IMPLEMENTATION_SWITCHES]

    def factory(params, **hyperparameters):
        return cls(params, **hyperparameters)

    factory.__signature__ = inspect.Signature(
        [inspect.Parameter("params", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=p.default) for p in hps])
    factory.__qualname__ = f"pytorch_optimizer.{cls.__name__}"
    version = importlib.metadata.version("pytorch-optimizer")
    factory.__doc__ = (f"{cls.__name__} from pytorch-optimizer {version} (pytorch_optimizer.{cls.__name__}, "
                       "its defaults).\n\n" + (inspect.getdoc(cls) or ""))
    lr = next((p.default for p in hps if p.name == "lr"), None)
    numeric_lr = isinstance(lr, (int, float)) and not isinstance(lr, bool) and lr > 0
    return optimizer_spec(
        f"{PREFIX}:{key}", factory, tags=("zoo", PREFIX), family=PREFIX,
        search_space={"lr": LogUniform(1e-5, 1.0)} if numeric_lr else {},
        train_eval=callable(getattr(cls, "train", None)) and callable(getattr(cls, "eval", None)),
        closure="closure" in inspect.signature(cls.step).parameters,
    )


if extra("pytorch_optimizer").installed:
    OPTIMIZERS.add_namespace(PREFIX, resolve, supported)
