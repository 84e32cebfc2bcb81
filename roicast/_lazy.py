"""PEP 562 lazy names for a package (imports nothing but :mod:`importlib`).

A stage package lists where each public name lives and loads that submodule on
first use, so that importing the package (or one light submodule) does not load
numba, xarray or statsmodels::

    __getattr__ = lazy_getattr(__name__, _WHERE, globals())
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any


def lazy_getattr(
    package: str, where: Mapping[str, str], namespace: MutableMapping[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__``: ``name`` from ``package.where[name]``, bound in ``namespace``.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    where : mapping
        Public name → submodule (relative to ``package``) that defines it.
    namespace : mutable mapping
        The package's ``globals()``: a loaded name is bound there, so the next
        access does not come back here.
    """

    def __getattr__(name: str) -> Any:
        if name in where:
            value = getattr(importlib.import_module(f"{package}.{where[name]}"), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    __getattr__.__doc__ = f"Names of {package} load on first use (PEP 562)."
    return __getattr__
