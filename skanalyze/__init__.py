"""skanalyze: symbolic efficiency analysis of sparse-kernel CNN designs.

The package imports only sympy at start-up; torch (skanalyze.nn) and matplotlib
(skanalyze.plots) are imported by the modules that need them.
"""

from .catalog import resolve
from .counting import flops, macs, params
from .design import Design, parse
from .errors import SkanalyzeError
from .field import field

__version__ = "0.1.0"
__all__ = ["Design", "SkanalyzeError", "field", "flops", "macs", "params", "parse", "resolve"]
