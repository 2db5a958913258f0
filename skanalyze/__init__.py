"""skanalyze: symbolic efficiency analysis of sparse-kernel CNN designs.

The package imports only sympy at start-up, and its public names lazily; torch
(skanalyze.nn) and matplotlib (skanalyze.render.plots) are imported by the modules that need them.
No public name is also a module name, so ``from skanalyze import field`` is always the function.
"""

from .core.lazy import lazy_exports

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
    "traffic": "core.traffic",
    "traffic_at": "core.traffic",
    "bytes_at": "core.traffic",
    "intensity": "core.traffic",
    "Profile": "analyses.profiles",
    "load_profile": "analyses.profiles",
    "predict_latency": "analyses.roofline:predict",
    "widest_within": "analyses.roofline",
    "field": "core.infofield",
    "SkanalyzeError": "core.errors",
    "from_module": "nn.importer",
    "apply": "nn.rebuild",
    "efficiency": "analyses.efficiency:analyse",
    "optimize": "analyses.optimize",
    "best_at_width": "analyses.optimize",
    "ranked_at": "analyses.optimize",
    "paper_tables": "analyses.tables:analyse",
    "Layout": "analyses.layout",
}
__all__ = sorted(_PUBLIC)
__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC, globals())
