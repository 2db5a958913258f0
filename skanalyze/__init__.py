"""skanalyze: symbolic efficiency analysis of sparse-kernel CNN designs.

The package imports only sympy at start-up, and its public names lazily; torch
(skanalyze.nn) and matplotlib (skanalyze.plots) are imported by the modules that need them.
"""

from importlib import import_module

__version__ = "0.1.0"
_PUBLIC = {
    "Design": "design",
    "parse": "design",
    "resolve": "catalog",
    "params": "counting",
    "macs": "counting",
    "flops": "counting",
    "field": "field",
    "SkanalyzeError": "errors",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    """Import a public name on first use (PEP 562), so that `import skanalyze` stays light."""
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(f"module 'skanalyze' has no attribute {name!r}")
