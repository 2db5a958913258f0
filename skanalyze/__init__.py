"""skanalyze: symbolic efficiency analysis of sparse-kernel CNN designs.

The package imports only sympy at start-up, and its public names lazily; torch
(skanalyze.nn) and matplotlib (skanalyze.render.plots) are imported by the modules that need them.
No public name is also a module name, so ``from skanalyze import field`` is always the function.
"""

from importlib import import_module

__version__ = "0.1.0"
_PUBLIC = {
    "Design": "core.design",
    "parse": "core.design",
    "resolve": "core.catalog",
    "params": "core.counting",
    "macs": "core.counting",
    "flops": "core.counting",
    "params_at": "core.counting",
    "macs_at": "core.counting",
    "field": "core.infofield",
    "SkanalyzeError": "core.errors",
    "from_module": "nn.importer",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    """Import a public name on first use (PEP 562), so that `import skanalyze` stays light."""
    if name in _PUBLIC:
        value = getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'skanalyze' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API and the package's own attributes."""
    return sorted({*globals(), *_PUBLIC})
