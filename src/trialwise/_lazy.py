"""Names a package exports from sub-modules imported on first use (PEP 562 module ``__getattr__``).

A command imports only what it touches: ``trialwise ls`` needs ``trialwise.runner``'s
:func:`recover_stale_runs`, not its launch machinery. Standard library only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any


def lazy_exports(package: str, homes: Mapping[str, tuple[str, ...]], namespace: MutableMapping[str, Any],
                 ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package`` whose public names live in the sub-modules
    ``homes`` (``{"_module": ("name", ...)}``); a name is imported once, then kept in ``namespace``
    (the package's ``globals()``)."""
    home = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(namespace.get("__all__", home))

    return __getattr__, __dir__
