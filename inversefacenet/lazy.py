"""A package's public names, imported from their modules on first use (PEP 562).

So ``import inversefacenet`` (and ``--help``) stays fast: torch, numba, OpenCV and MediaPipe load
only when a name that needs them is first read.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_names(
    package: str, where: dict[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose names are ``where``'s keys, each found in the module
    its value names; ``namespace`` is the package's ``globals()``, where a loaded name is kept."""

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(where[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
