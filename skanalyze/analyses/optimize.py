"""The buildable optimum: the widest integer configuration whose params (or MACs) fit a budget.

The continuous optimum (skanalyze.efficiency) is not a network you can build: channels are
integers, group numbers divide the channels they split, and the field must stay full. For
a budget P and F = alpha*C this module finds integers C, F, K (as the design needs) and
group numbers with the greatest C whose cost is at most P (ties: the fewest parameters,
then the smallest group numbers), exactly.

Search: the continuous greatest width bounds every buildable width from above (the least
cost at width C over real group numbers is at most the least over integers), so widths are
scanned downward from it. At each width the group numbers range over the common divisors
of the widths they split; cost falls in every group number and the full-field condition
only gets harder as they grow, so for each choice of the other groups the largest feasible
last group is the best. Costs are exact (fractions), and the configuration returned is
re-checked with the exact field propagation. Costs, widths and the condition are compiled to
integer polynomials (numerator over denominator), so the scan runs in integer arithmetic.
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from ..core import counting
from ..core import symbols as S
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.exact import as_positive_int, compile_condition, compile_exact, divisors, floor_exact
from ..core.infofield import field, propagate, reaches_every_channel
from .efficiency import analyse, greatest_width, least_at_width, least_bound, ratio_to_standard


@dataclass(frozen=True)
class Buildable:
    """An integer configuration: every symbol's value, its params and its cost (params or MACs)."""

    values: dict
    params: int
    cost: int


@dataclass(frozen=True)
class Optimum:
    """The continuous and the buildable optimum of one design at one budget."""

    design: Design
    budget: int
    alpha: Fraction
    objective: str
    hw: int | None
    continuous_width: sp.Expr
    continuous_groups: dict
    buildable: Buildable
    widths_searched: int
    continuous_exact: bool = True  # False: continuous_width is an upper bound (no closed-form groups)

    @property
    def width_gap(self) -> float:
        """How much narrower the buildable width is than the continuous one (a fraction)."""
        return 1 - int(self.buildable.values[S.C]) / float(self.continuous_width)

    # -- notebooks ------------------------------------------------------------------
    def _rows(self) -> list[tuple[str, str, str]]:
        """(what, plain text, LaTeX) of the optimum, for the notebook displays."""
        values = ", ".join(f"{k}={v}" for k, v in self.buildable.values.items())
        bound = "continuous optimum" if self.continuous_exact else "continuous bound"
        what = f"{self.objective} budget" + (f" at {self.hw}x{self.hw}" if self.hw else "")
        return [
            (what, f"{self.budget:,}", f"{self.budget:,}".replace(",", "{,}")),
            (bound, f"C = {sp.sstr(self.continuous_width)}", f"C = {sp.latex(self.continuous_width)}"),
            ("buildable", values, values.replace("_", r"\_")),
            ("params", f"{self.buildable.params:,}", f"{self.buildable.params:,}".replace(",", "{,}")),
        ]

    def _repr_markdown_(self) -> str:
        """Jupyter (Markdown front ends): the budget, the continuous and the buildable optimum as a table."""
        rows = "\n".join(f"| {what} | `{text}` |" for what, text, _ in self._rows())
        return f"**`{self.design.notation}`**, F = {self.alpha} C\n\n| | |\n|---|---|\n{rows}\n"

    def _repr_latex_(self) -> str:
        """Jupyter (LaTeX front ends): the same as display math."""
        body = r" \\ ".join(rf"\text{{{what}}} &: {tex}" for what, _, tex in self._rows())
        return rf"$$\begin{{aligned}} {body} \end{{aligned}}$$"

    def _repr_html_(self) -> str:
        """Jupyter (HTML front ends): the same as a table."""
        rows = "".join(
            f"<tr><td>{html.escape(what)}</td><td><code>{html.escape(text)}</code></td></tr>"
            for what, text, _ in self._rows()
        )
        return f"<p><code>{html.escape(self.design.notation)}</code>, F = {self.alpha} C</p><table>{rows}</table>"


def _cost_expr(design: Design, objective: str, hw: int | None) -> sp.Expr:
    if objective == "params":
        return counting.params(design)
    if hw is None:
        raise SkanalyzeError("a MAC budget needs the output size: --hw 56")
    return counting.macs(design).subs({S.H: hw, S.W: hw})


@dataclass(frozen=True)
class _Plan:
    """A design compiled to plain Python: widths, group constraints, cost and condition."""

    groups: tuple  # free group symbols
    bottleneck: object  # (C, F) -> K, or None
    splits: tuple  # per free group: functions (C, F, K) -> a width it must divide
    fixed: tuple  # (group number, functions (C, F, K) -> width) for integer group numbers
    cost: object
    params: object
    full: object


@lru_cache(maxsize=128)
def _plan(design: Design, objective: str, hw: int | None) -> _Plan:
    names = [S.C, S.F, S.K, *design.group_symbols]
    full = compile_condition(field(design).full_condition, names)
    bottleneck = compile_exact(design.bottleneck, [S.C, S.F]) if design.uses_bottleneck else None
    splits: dict = {g: [] for g in design.group_symbols}
    fixed = []
    for layer in design.layers:
        for _what, divisor, width in layer.kernel.constraints(layer.c_in, layer.c_out):
            g = sp.sympify(divisor)
            fn = compile_exact(width, [S.C, S.F, S.K])
            if g in splits:
                splits[g].append(fn)
            elif g.is_Integer and g != 1:
                fixed.append((int(g), (fn,)))
            elif g.free_symbols and not g.free_symbols & set(splits):  # e.g. DW: the width itself
                continue
    return _Plan(
        tuple(design.group_symbols),
        bottleneck,
        tuple(tuple(v) for v in splits.values()),
        tuple(fixed),
        compile_exact(_cost_expr(design, objective, hw), names),
        compile_exact(counting.params(design), names),
        full,
    )


def _widths_and_divisors(plan: _Plan, c: int, f: int) -> tuple[tuple | None, list, str]:
    """(C, F, K) as integers and, per free group number, the divisors of everything it splits; or None and
    why not (a width that is not a positive integer, a fixed group number that does not divide its width)."""
    kk = 1
    if plan.bottleneck is not None:
        kk = as_positive_int(plan.bottleneck(c, f))
        if kk is None:
            return None, [], "the bottleneck K is not a positive integer"
    wargs = (c, f, kk)  # every compiled function takes integers and answers exactly
    for g, widths in plan.fixed:
        for w in widths:
            value = as_positive_int(w(*wargs))
            if value is None or value % g:
                return None, [], f"group number {g} does not divide the width {value}"
    candidates = []
    for widths in plan.splits:
        common = 0
        for w in widths:
            value = as_positive_int(w(*wargs))
            if value is None:
                return None, [], "a width is not a positive integer"
            common = math.gcd(common, value)
        candidates.append(divisors(common))
    return wargs, candidates, ""


def best_at_width(design: Design, c: int, alpha: Fraction, objective: str = "params", hw: int | None = None):
    """The cheapest buildable configuration at width C with a full field, or None."""
    f = as_positive_int(alpha * c)
    if f is None:
        return None
    plan = _plan(design, objective, hw)
    wargs, candidates, _ = _widths_and_divisors(plan, c, f)
    if wargs is None:
        return None
    best = None
    if not candidates:
        if plan.full(*wargs):
            best = (plan.cost(*wargs), plan.params(*wargs), ())
    else:
        last = candidates[-1]
        for head in itertools.product(*candidates[:-1]):
            head_args = wargs + head
            # the condition only gets harder as the last group grows: binary search its largest feasible value
            lo, hi = 0, len(last) - 1
            if not plan.full(*head_args, last[0]):
                continue
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if plan.full(*head_args, last[mid]):
                    lo = mid
                else:
                    hi = mid - 1
            args = head_args + (last[lo],)
            key = (plan.cost(*args), plan.params(*args), (*head, last[lo]))
            if best is None or key < best:
                best = key
    if best is None:
        return None
    cost, params, combo = best
    return Buildable(choice_values(design, wargs, combo), int(params), int(cost))


def group_choices(design: Design, c: int, f: int) -> tuple[tuple[int, int, int], list[tuple]]:
    """Every full-field choice of the free group numbers at widths C and F, as plain integers, unranked:
    ((C, F, K), the choices, each in the order of ``design.group_symbols``); K is 1 without a bottleneck. A
    width the design cannot take (a fixed group number that does not divide it) is an error naming why."""
    plan = _plan(design, "params", None)
    wargs, candidates, reason = _widths_and_divisors(plan, c, f)
    if wargs is None:
        raise SkanalyzeError(f"{design.notation!r}: {reason} at C={c}, F={f}")
    return wargs, [combo for combo in itertools.product(*candidates) if plan.full(*wargs, *combo)]


def choice_values(design: Design, widths: tuple[int, int, int], combo: tuple) -> dict:
    """A choice of :func:`group_choices` as values keyed by symbol: C, F, K (only where the design has a
    bottleneck) and the group numbers in the order of ``design.group_symbols``."""
    c, f, kk = widths
    values = {S.C: sp.Integer(c), S.F: sp.Integer(f)}
    if design.uses_bottleneck:
        values[S.K] = sp.Integer(kk)
    values.update({g: sp.Integer(v) for g, v in zip(design.group_symbols, combo, strict=True)})
    return values


def ranked_at(design: Design, c: int, f: int, top: int | None = 2) -> list[Buildable]:
    """The `top` cheapest buildable configurations (all of them: ``top=None``; by parameters, then group
    numbers) at widths C and F
    with a full field: every integer group number that divides what it splits is tried."""
    plan = _plan(design, "params", None)
    wargs, choices = group_choices(design, c, f)
    found = sorted((plan.params(*wargs, *combo), combo) for combo in choices)
    return [
        Buildable(choice_values(design, wargs, combo), int(params), int(params))
        for params, combo in (found[:top] if top is not None else found)
    ]


SMALL_FIELD = 1 << 12  # up to this width the channels are followed (exact, faster than the algebra)


def _verified(design: Design, found: Buildable) -> bool:
    """Re-check the full field: by following the channels at small widths, else with the exact algebra (and
    propagation when the digits do not align)."""
    if int(found.values[S.C]) <= SMALL_FIELD:
        return reaches_every_channel(design, found.values)
    f = field(design, found.values)
    if f.aligned:
        return sp.simplify(f.c - found.values[S.C]) == 0
    if int(found.values[S.C]) * max(int(v) for v in found.values.values()) > 10**8:
        return False
    _, _, c_min, _ = propagate(design, found.values)
    return c_min == int(found.values[S.C])


def continuous(
    design: Design, budget: int, alpha: Fraction, objective: str = "params", hw: int | None = None
):
    """The continuous greatest width (exact) and the group numbers there (floats).

    For designs without closed-form optimal groups, an upper bound instead: the width at which
    the cost with every group number at its largest value (the field ignored) reaches the budget.
    """
    try:
        least_at_width(design, objective, hw)
    except SkanalyzeError:
        return _relaxed_width(design, budget, alpha, objective, hw), None
    width = greatest_width(design, objective, hw)
    c_star = width.at(budget, sp.Rational(alpha.numerator, alpha.denominator))
    c_float = float(c_star)
    fns = _group_fns(design, objective, hw)
    return c_star, {g: float(fn(c_float, float(alpha))) for g, fn in fns.items()}


@lru_cache(maxsize=256)
def _group_fns(design: Design, objective: str, hw: int | None) -> dict:
    """The optimal group numbers at the greatest width as float functions of (C, alpha), compiled once."""
    width = greatest_width(design, objective, hw)
    return {g: sp.lambdify((S.C, S.alpha), sp.sympify(v), modules="math") for g, v in width.groups.items()}


def _relaxed_width(design: Design, budget: int, alpha: Fraction, objective: str, hw: int | None) -> sp.Expr:
    """An upper bound on the width: where a lower bound on the least cost reaches the budget."""
    bound = least_bound(design, objective, hw)
    a = float(alpha)
    lo, hi = 0.0, 1.0
    while bound(hi, a) <= budget:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if bound(mid, a) <= budget else (lo, mid)
    return sp.Float(hi)


def optimize(
    design: Design, budget: int, alpha=1, objective: str = "params", hw: int | None = None
) -> Optimum:
    """The buildable configuration with the greatest width whose cost fits the budget."""
    alpha = Fraction(alpha)
    if objective not in ("params", "macs"):
        raise SkanalyzeError(f"objective {objective!r} is unknown; valid: params, macs")
    if objective == "macs" and (hw is None or hw <= 0):
        raise SkanalyzeError(f"a MAC budget needs a positive output size --hw (got {hw})")
    c_star, groups = continuous(design, budget, alpha, objective, hw)
    exact = groups is not None
    start = floor_exact(c_star) + 1
    step = alpha.denominator
    c = (start // step) * step
    searched = 0
    while c > 0:
        searched += 1
        found = best_at_width(design, c, alpha, objective, hw)
        if found is not None and found.cost <= budget and _verified(design, found):
            return Optimum(design, budget, alpha, objective, hw, c_star, groups or {}, found, searched, exact)
        c -= step
    raise SkanalyzeError(
        f"budget {budget} is too small for any buildable {design.notation} with alpha={alpha}; "
        f"the smallest costs {_smallest_cost(design, alpha, objective, hw)}"
    )


def _smallest_cost(design: Design, alpha: Fraction, objective: str, hw: int | None) -> str:
    for c in range(alpha.denominator, 10**4, alpha.denominator):
        found = best_at_width(design, c, alpha, objective, hw)
        if found is not None:
            return f"{found.cost} (at C={c})"
    return "more than any width below 10^4"


# -- the report of `skanalyze optimize` ----------------------------------------------------------------
def report(design: Design, budget: int, alpha, objective: str = "params", hw: int | None = None) -> dict:
    """`skanalyze optimize`: the continuous and the buildable optimum."""
    result = optimize(design, budget, alpha, objective, hw)
    b = result.buildable
    buildable = {str(k): int(v) for k, v in b.values.items()}
    buildable["params"] = b.params
    if objective == "macs":
        buildable["macs"] = b.cost
    continuous = {
        "width": float(result.continuous_width),
        "exact": result.continuous_exact,
        "groups": {str(g): v for g, v in result.continuous_groups.items()},
    }
    if result.continuous_exact:
        continuous["width_exact"] = result.continuous_width
    return {
        "design": design.notation,
        "budget": budget,
        "objective": objective,
        "hw": hw,
        "alpha": sp.sympify(result.alpha),
        "continuous": continuous,
        "buildable": buildable,
        "width_gap": float(result.width_gap),
        "widths_searched": result.widths_searched,
    }


def at_report(design: Design, c: int, f: int) -> dict:
    """`skanalyze efficiency --at C=.. F=..`: the best buildable group numbers at these widths and the
    runner-up (parameters, ratio to the standard conv), beside the real-valued optimum of Theorem 1."""
    if not design.group_symbols:
        raise SkanalyzeError(
            f"{design.notation!r} has no free group numbers to choose; --at needs one (e.g. GConv(M))"
        )
    values = {S.C: sp.Integer(c), S.F: sp.Integer(f)}
    design.validate({**values, **({S.K: design.bottleneck.subs(values)} if design.uses_bottleneck else {})})
    ranked = ranked_at(design, c, f, top=None)
    if not ranked:
        raise SkanalyzeError(
            f"no integer group numbers give {design.notation!r} a full field at C={c}, F={f}"
        )
    tied = [b for b in ranked[1:] if b.params == ranked[0].params]  # co-optima: equally few parameters
    rest = [b for b in ranked[1:] if b.params > ranked[0].params]
    p_ratio = design.substitute_bottleneck(ratio_to_standard(design))

    def row(b: Buildable) -> dict:
        return {
            "groups": {str(g): int(b.values[g]) for g in design.group_symbols},
            "params": b.params,
            "param_ratio": counting.canonical(p_ratio.subs(b.values)),
        }

    opt = analyse(design).optimum
    real = None
    if opt.groups and opt.params is not None:
        at = {**values, **({S.K: design.bottleneck.subs(values)} if design.uses_bottleneck else {})}
        groups = {str(g): counting.canonical(sp.sympify(v).subs(at)) for g, v in opt.groups.items()}
        least = counting.canonical(design.substitute_bottleneck(opt.params).subs(at))
        real = {"groups": groups, "params": least, "gap": sp.Rational(ranked[0].params) / least - 1}
    return {
        "C": c,
        "F": f,
        "best": row(ranked[0]),
        "tied": [row(b) for b in tied],
        "runner_up": row(rest[0]) if rest else None,
        "real_optimum": real,
    }
