"""Float functions over numpy arrays from sympy expressions: curves to draw, grids to rank."""

from __future__ import annotations

from collections.abc import Callable

import numpy
import sympy as sp


def compile_numpy(args, expr) -> Callable:
    """``sympy.lambdify`` over numpy arrays, from numpy's own namespace.

    ``modules="numpy"`` runs ``from numpy import *``, which loads numpy.testing, f2py and more (30 ms on the
    first call of a process); the module's namespace gives the same functions without them.
    """
    return sp.lambdify(args, expr, modules=[numpy])
