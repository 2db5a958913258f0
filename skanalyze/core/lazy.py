"""Packages whose public names load on first use (PEP 562), so that importing the package stays light."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module


def lazy_exports(package: str, public: dict[str, str], namespace: dict) -> tuple[Callable, Callable]:
    """The ``__getattr__`` and ``__dir__`` of a package whose name -> submodule map is ``public`` (a value
    ``module:attribute`` exports that module's attribute under the public name)."""

    def __getattr__(name: str):
        """Import a public name on first use, and keep it in the package's namespace."""
        if name in public:
            module, _, attribute = public[name].partition(":")
            value = getattr(import_module(f".{module}", package), attribute or name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        """The public API and the package's dunder attributes (no implementation names such as this helper)."""
        return sorted({*public, *(n for n in namespace if n.startswith("__") and n.endswith("__"))})

    return __getattr__, __dir__
