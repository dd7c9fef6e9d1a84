"""Array-namespace helpers so one formula serves numpy (corpus) and torch (differentiable)."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np


def namespace(array: Any) -> ModuleType:
    """Return ``torch`` for torch tensors and ``numpy`` for everything else."""
    if type(array).__module__.startswith("torch"):
        import torch

        return torch
    return np


def stack(arrays: list[Any], axis: int = -1) -> Any:
    """``np.stack`` / ``torch.stack`` on the namespace of the first array."""
    xp = namespace(arrays[0])
    return xp.stack(arrays, axis) if xp is np else xp.stack(arrays, dim=axis)


def concatenate(arrays: list[Any], axis: int = -1) -> Any:
    """``np.concatenate`` / ``torch.cat`` on the namespace of the first array."""
    xp = namespace(arrays[0])
    return xp.concatenate(arrays, axis) if xp is np else xp.cat(arrays, dim=axis)
