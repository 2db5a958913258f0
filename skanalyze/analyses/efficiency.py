"""Efficiency analysis: ratios to the standard conv, optimal group numbers, greatest width for a budget.

Everything here is derived from the counting and field modules, never typed in:

* the parameter (and MAC) ratio of a design to the standard k x k conv with the same C, F;
* Theorem 1, generalised: when params fall in every group number and the full-field
  condition is one relation ``g(groups) <= bound`` with g rising in every group number,
  the minimum over the full-field region lies on the boundary ``g = bound``. On it, one
  group number is eliminated and the stationary point of the rest gives the optimum
  (equivalent to Lagrange's condition);
* the greatest width C for a parameter budget P with F = alpha*C: the least parameters
  at width C (optimal groups) is increasing in C, so the greatest width solves
  ``Pmin(C) = P``, in closed form where sympy finds one, else as the positive root of a
  polynomial (exact numeric root for numbers).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from functools import lru_cache

import sympy as sp

from ..core import counting, traffic
from ..core import symbols as S
from ..core.design import Design
from ..core.errors import SkanalyzeError
from ..core.exact import compile_condition
from ..core.exact import divisors as all_divisors
from ..core.infofield import field, normalize, reaches_every_channel


@dataclass(frozen=True)
class GroupOptimum:
    """The continuous optimum of a design's free group numbers under a full field."""

    status: str  # "boundary" | "unconstrained" | "none" | "no-groups" | "unsolved"
    boundary: sp.Basic | None  # e.g. Eq(M*N, C): where the optimum lies (Theorem 1)
    groups: dict  # symbol -> expression at the optimum
    params: sp.Expr | None  # least parameters (K kept as a symbol)
    ratio: sp.Expr | None  # least parameter ratio (K substituted)
    steps: tuple[str, ...] = ()
    boundary_ratio: sp.Expr | None = None  # the ratio on the boundary, one group eliminated
    valid_when: tuple = ()  # conditions for the optimum to be a real configuration: 1 <= group <= its cap


@dataclass(frozen=True)
class Efficiency:
    """Everything `skanalyze efficiency` reports for one design."""

    design: Design
    param_ratio: sp.Expr
    mac_ratio: sp.Expr
    full_condition: sp.Basic
    optimum: GroupOptimum

    def _lines(self) -> list[tuple[str, sp.Basic]]:
        rows = [("parameter ratio", self.param_ratio), ("MAC ratio", self.mac_ratio)]
        rows.append(("full field when", self.full_condition))
        if self.optimum.boundary is not None:
            rows.append(("optimum on", self.optimum.boundary))
        if self.optimum.ratio is not None:
            rows.append(("least ratio", self.optimum.ratio))
        return rows

    def _repr_latex_(self) -> str:
        """Jupyter: the ratios, the full-field condition and the optimum as display math."""
        body = r" \\ ".join(rf"\text{{{name}}} &: {sp.latex(value)}" for name, value in self._lines())
        return rf"$$\begin{{aligned}} {body} \end{{aligned}}$$"

    def _repr_markdown_(self) -> str:
        """Jupyter (Markdown front ends): the same as a table, expressions as sympy text."""

        def show(value):
            if isinstance(value, sp.Equality):
                return f"{sp.sstr(value.lhs)} = {sp.sstr(value.rhs)}"
            return sp.sstr(value)

        rows = "\n".join(f"| {name} | `{show(value)}` |" for name, value in self._lines())
        return f"**`{self.design.notation}`**\n\n| | |\n|---|---|\n{rows}\n"


@dataclass(frozen=True)
class Width:
    """The greatest width C for a budget (params or MACs), F = alpha*C, with optimal groups."""

    design: Design
    objective: str  # "params" | "macs"
    least: sp.Expr  # the least params (or MACs) at width C, groups optimal, in C and alpha
    groups: dict  # group symbol -> expression in C, alpha
    relation: sp.Basic | None  # relation between the groups at the optimum, e.g. Eq(9*N, alpha*M)
    width: sp.Expr | None  # closed form in P and alpha, or None
    equation: sp.Basic | None  # the equation whose positive root is the width when no closed form
    variable: sp.Symbol | None = None  # the unknown of that equation (C, or u = sqrt(C))
    notes: tuple[str, ...] = dc_field(default=())

    def at(self, budget, alpha=1) -> sp.Expr:
        """The exact greatest width at a numeric budget and alpha (a number, maybe algebraic)."""
        subs = {S.P: sp.nsimplify(budget), S.alpha: sp.nsimplify(alpha)}
        # xreplace: numbers for symbols need none of subs' matching (10x faster, the same expression)
        if self.width is not None:
            return self.width.xreplace(subs)
        # substitute into lhs - rhs, not into the Eq: sympy would try to decide the equation (~50 ms)
        expr = (self.equation.lhs - self.equation.rhs).xreplace(subs)
        roots = [r for r in sp.Poly(expr, self.variable).real_roots() if r > 0]
        if not roots:
            raise SkanalyzeError(f"budget {budget} is too small for any width of {self.design.notation}")
        root = max(roots)
        return root**2 if self.variable != S.C else root


def readable(expr) -> sp.Expr:
    """The shortest of the expanded, cancelled and factored forms (cheap, unlike sympy.simplify)."""
    expr = sp.sympify(expr)
    forms = [sp.expand(expr), sp.cancel(expr), sp.factor_terms(sp.expand(expr))]
    return min(forms, key=lambda e: (sp.count_ops(e), len(str(e))))


def ratios(design: Design) -> tuple[sp.Expr, sp.Expr]:
    """Parameter and MAC ratio to the standard conv with the same C, F and k (K substituted)."""
    return ratio_to_standard(design), ratio_to_standard(design, "macs")


@lru_cache(maxsize=512)
def ratio_to_standard(design: Design, objective: str = "params") -> sp.Expr:
    """Parameters (or MACs) over the standard conv's with the same C, F and k (K substituted)."""
    count = counting.params if objective == "params" else counting.macs
    reference = count(counting.standard(_kernel_size(design))).subs(S.F, design.output)
    return readable(design.substitute_bottleneck(count(design)) / reference)


def _kernel_size(design: Design):
    sizes = {kern.k for kern in design.kernels if kern.spatial}
    return sizes.pop() if len(sizes) == 1 else 3


def _decreasing(expr: sp.Expr, var: sp.Symbol) -> bool:
    return (-sp.diff(expr, var)).is_positive is True


def _increasing(expr: sp.Expr, var: sp.Symbol) -> bool:
    return sp.diff(expr, var).is_positive is True


def _boundary(condition: sp.Basic, groups) -> tuple[sp.Expr, sp.Expr] | None:
    """(g, bound) when the condition is one relation g <= bound with g rising in the groups."""
    if not isinstance(condition, (sp.Le, sp.Lt, sp.Ge, sp.Gt)):
        return None
    rel = normalize(condition)
    lhs, rhs = (rel.lhs, rel.rhs) if isinstance(rel, (sp.Le, sp.Lt)) else (rel.rhs, rel.lhs)
    if not rhs.free_symbols.isdisjoint(groups):
        return None
    if not all(_increasing(lhs, g) for g in groups if g in lhs.free_symbols):
        return None
    return lhs, rhs


def group_caps(design: Design) -> dict:
    """The largest value each free group number can take: the narrowest width it splits."""
    caps: dict = {}
    for layer in design.layers:
        kern = layer.kernel
        if kern.arg and kern.argument() is not None and sp.sympify(kern.argument()) in design.group_symbols:
            g = sp.sympify(kern.argument())
            cap = sp.Min(layer.c_in, layer.c_out)
            caps[g] = sp.Min(caps[g], cap) if g in caps else cap
    return caps


def _optimum_under(params, groups, bound, caps) -> tuple[dict, list[str], sp.Basic | None] | None:
    """Minimise params over the groups subject to one rising relation lhs <= rhs (or none).

    Groups outside the relation take their caps (params fall in every group number). Inside
    it, the minimum lies on lhs = rhs; one group is eliminated there and the stationary point
    of the others is the minimum. Returns (groups at the optimum, steps, boundary) or None.
    """
    lhs = bound[0] if bound else sp.Integer(0)
    capped = {g: caps[g] for g in groups if g not in lhs.free_symbols}
    steps = [f"{g} is not limited by the field: it takes its largest value {v}" for g, v in capped.items()]
    if bound is None:
        return capped, steps, None
    lhs, rhs = bound
    boundary = sp.Eq(lhs, rhs)
    steps.append(
        f"full field iff {sp.Le(lhs, rhs)}, and {lhs} rises in every group number: any point with {lhs} < {rhs} "
        f"is beaten by raising a group number, so the minimum lies on {lhs} = {rhs} (Theorem 1)"
    )
    free = [g for g in groups if g in lhs.free_symbols]
    eliminate = free[0]
    solutions = [
        x for x in sp.solve(boundary, eliminate, simplify=False, check=False) if x.is_positive is not False
    ]
    if len(solutions) != 1:
        return None
    elim = solutions[0]
    on_boundary = readable(params.subs(capped).subs(eliminate, elim))
    steps.append(f"on the boundary {eliminate} = {elim}: params = {on_boundary}")
    best: dict = dict(capped)
    rest = free[1:]
    if rest:
        sol = sp.solve([sp.diff(on_boundary, g) for g in rest], rest, dict=True, simplify=False, check=False)
        sol = [x for x in sol if all(sp.sympify(v).is_positive is not False for v in x.values())]
        if len(sol) != 1:
            return None
        best.update({g: readable(v) for g, v in sol[0].items()})
        for g in rest:
            second = readable(sp.diff(on_boundary, g, 2).subs(best))
            steps.append(f"d(params)/d{g} = 0 at {g} = {best[g]}; second derivative {second} > 0: a minimum")
    best[eliminate] = readable(elim.subs(best))
    return {g: best[g] for g in groups}, steps, boundary


@lru_cache(maxsize=256)
def optimal_groups(design: Design) -> GroupOptimum:
    """The group numbers that minimise parameters under a full field (Theorem 1 and the stationary point)."""
    groups = list(design.group_symbols)
    params = counting.params(design)
    cond = field(design).full_condition
    if not groups:
        return GroupOptimum("no-groups", None, {}, None, None, ("the design has no free group numbers",))
    if cond is sp.false:
        return GroupOptimum(
            "none",
            None,
            {},
            None,
            None,
            ("no group numbers give a full field: the design never sees all C inputs",),
        )
    steps = []
    for g in groups:
        if not _decreasing(params, g):
            return GroupOptimum("unsolved", None, {}, None, None, (f"params are not decreasing in {g}",))
        steps.append(f"d(params)/d{g} = {readable(sp.diff(params, g))} < 0: params fall as {g} grows")
    caps = group_caps(design)
    if cond is sp.true:
        best, more, _ = _optimum_under(params, groups, None, caps)
        steps += more
        return GroupOptimum(
            "unconstrained",
            None,
            best,
            readable(params.subs(best)),
            None,
            tuple(steps) + ("the field is full for every group number, so each takes its largest value",),
        )
    bound = _boundary(cond, groups)
    solved = _optimum_under(params, groups, bound, caps) if bound else None
    if solved is None:
        why = "not a single rising relation" if bound is None else "no closed-form stationary point"
        return GroupOptimum(
            "unsolved",
            None,
            {},
            None,
            None,
            (f"full field when {cond}: {why}; `skanalyze optimize` gives the integer optimum",),
        )
    best, more, boundary = solved
    steps += more
    return GroupOptimum("boundary", boundary, best, readable(params.subs(best)), None, tuple(steps))


def _with_ratios(design: Design, opt: GroupOptimum) -> GroupOptimum:
    """The optimum with its ratio, the ratio on the boundary and the validity conditions filled in."""
    if opt.status not in ("boundary", "unconstrained"):
        return opt
    ratio = optimum_ratio(design)
    if opt.status == "unconstrained":
        return replace(opt, ratio=ratio)
    elim = [g for g in opt.groups if g in opt.boundary.lhs.free_symbols][0]
    on_ratio = readable(ratio_to_standard(design).subs(elim, sp.solve(opt.boundary, elim, simplify=False)[0]))
    valid = validity(
        opt.groups, group_caps(design), {S.K: design.bottleneck} if design.uses_bottleneck else None
    )
    return replace(opt, ratio=ratio, boundary_ratio=on_ratio, valid_when=valid)


def validity(best: dict, caps: dict, subs: dict | None = None) -> tuple:
    """The conditions under which optimal group numbers are real: each at least 1, at most its cap.

    Relations that hold whenever every symbol is at least 1 are dropped; the rest read ``a <= b``.
    """
    out: list = []
    for g, value in best.items():
        value = sp.sympify(value).subs(subs or {})
        cap = sp.sympify(caps.get(g, value)).subs(subs or {})
        pairs = [(sp.Integer(1), value)] + [
            (value, c) for c in (cap.args if isinstance(cap, sp.Min) else (cap,))
        ]
        for lo, hi in pairs:
            rel = _clean_le(lo, hi)
            if rel is not None and rel not in out:
                out.append(rel)
    return tuple(out)


def _clean_le(lo: sp.Expr, hi: sp.Expr):
    """lo <= hi without square roots or fractions; None when it holds for all symbols >= 1."""
    lo, hi = sp.sympify(lo), sp.sympify(hi)
    if any(not sp.sympify(p.exp).is_integer for p in (lo - hi).atoms(sp.Pow)):
        lo, hi = sp.expand(lo**2), sp.expand(hi**2)  # both sides are positive
    rel = normalize(sp.Le(lo, hi))
    if rel in (sp.true, sp.false):
        return None if rel is sp.true else rel
    slack = sp.expand(rel.rhs - rel.lhs)
    if not slack.free_symbols:
        return None if slack >= 0 else sp.false
    shifted = sp.expand(slack.subs({x: x + 1 for x in slack.free_symbols}, simultaneous=True))
    try:
        always = all(c >= 0 for c in sp.Poly(shifted, *sorted(shifted.free_symbols, key=str)).coeffs())
    except sp.PolynomialError:
        always = False
    return None if always else rel


def least_bound(design: Design, objective: str = "params", hw: int | None = None):
    """A lower bound on the least cost at width C (F = alpha*C) for designs without closed-form groups.

    The full-field condition in disjunctive normal form: the least cost over a conjunct is at
    least the optimum under any one of its relations; over the union, the least across conjuncts.
    Returns a function (C, alpha) -> float.
    """
    subs = _alpha_subs(design)
    cost = (
        counting.params(design) if objective == "params" else counting.macs(design).subs({S.H: hw, S.W: hw})
    )
    groups = list(design.group_symbols)
    caps = group_caps(design)
    cond = field(design).full_condition
    if cond is sp.false:
        raise SkanalyzeError(f"design {design.notation!r} never has a full field: no group numbers are valid")
    disjuncts = [sp.true] if cond is sp.true else sp.Or.make_args(sp.to_dnf(cond))
    pieces = []
    for conj in disjuncts:
        exprs = []
        for rel in sp.And.make_args(conj) if conj is not sp.true else ():
            bound = _boundary(rel, groups)
            solved = _optimum_under(cost, groups, bound, caps) if bound else None
            if solved is not None:
                exprs.append(cost.subs(solved[0]).subs(subs))
        if not exprs:  # relax the field entirely: every group at its cap
            exprs.append(cost.subs(caps).subs(subs))
        pieces.append([sp.lambdify((S.C, S.alpha), e, modules="math") for e in exprs])

    def bound_at(c: float, a: float) -> float:
        return min(max(fn(c, a) for fn in piece) for piece in pieces)

    return bound_at


@lru_cache(maxsize=256)
def optimum_ratio(design: Design) -> sp.Expr | None:
    """The parameter ratio at the optimal group numbers (K substituted), or None where there is no closed form."""
    opt = optimal_groups(design)
    if opt.status not in ("boundary", "unconstrained"):
        return None
    values = opt.groups
    return readable(design.substitute_bottleneck(ratio_to_standard(design).subs(values)).subs(values))


@lru_cache(maxsize=256)
def analyse(design: Design) -> Efficiency:
    """Ratios, full-field condition and optimal groups of a design."""
    p_ratio, m_ratio = ratios(design)
    return Efficiency(
        design, p_ratio, m_ratio, field(design).full_condition, _with_ratios(design, optimal_groups(design))
    )


# -- greatest width for a budget -----------------------------------------------------------------------
def _alpha_subs(design: Design) -> dict:
    subs = (
        {S.F: S.alpha * S.C}
        if S.F in set().union(*(sp.sympify(w).free_symbols for w in design.widths))
        else {}
    )
    if design.uses_bottleneck:
        subs[S.K] = sp.sympify(design.bottleneck).subs(subs)
    return subs


@lru_cache(maxsize=256)
def least_at_width(design: Design, objective: str = "params", hw: int | None = None) -> tuple[sp.Expr, dict]:
    """The least params (or MACs at hw x hw) at width C with F = alpha*C, and the optimal groups."""
    subs = _alpha_subs(design)
    expr = counting.params(design) if objective == "params" else counting.macs(design)
    if objective == "macs":
        if hw is None:
            raise SkanalyzeError("a MAC budget needs the output size: --hw 56")
        expr = expr.subs({S.H: hw, S.W: hw})
    expr = readable(expr.subs(subs))
    groups = design.group_symbols
    if not groups:
        return expr, {}
    opt = optimal_groups(design)
    if opt.status == "boundary":
        best = {g: readable(v.subs(subs)) for g, v in opt.groups.items()}
        # the optimal groups do not depend on H, W: MACs are params x positions for stride-1 designs
        return readable(expr.subs(best)), best
    if opt.status == "unconstrained":
        best = {g: readable(sp.sympify(v).subs(subs)) for g, v in opt.groups.items()}
        return readable(expr.subs(best)), best
    raise SkanalyzeError(
        f"design {design.notation!r}: no closed-form optimal groups ({opt.steps[-1] if opt.steps else opt.status}); "
        "use skanalyze optimize for the integer answer"
    )


def _group_relation(groups: dict) -> sp.Basic | None:
    syms = list(groups)
    if len(syms) != 2:
        return None
    a, b = syms
    ratio = readable(groups[b] / groups[a])
    if S.C in ratio.free_symbols:
        return None
    num, den = sp.fraction(sp.together(ratio))
    return sp.Eq(den * b, num * a)


@lru_cache(maxsize=256)
def greatest_width(design: Design, objective: str = "params", hw: int | None = None) -> Width:
    """The greatest width C for a budget P (params, or MACs at hw x hw) with F = alpha*C."""
    least, groups = least_at_width(design, objective, hw)
    relation = _group_relation(groups)
    # write the equation as a polynomial: in C, or in u = sqrt(C) when half powers of C appear
    variable = sp.Symbol("u", positive=True) if _has_half_powers(least) else S.C
    lhs = sp.expand(least.subs(S.C, variable**2)) if variable != S.C else sp.expand(least)
    try:
        poly = sp.Poly(lhs - S.P, variable)
    except sp.PolynomialError:
        poly = None
    solvable = poly is not None and (poly.degree() <= 2 or len(poly.terms()) == 2)
    if solvable:
        # degree <= 2 or a binomial: sympy.roots finds every root, without solve's front end (3x faster)
        roots = [r for r in sp.roots(poly) if r.is_positive is not False and not r.has(sp.I)]
        if len(roots) == 1:
            width = roots[0] ** 2 if variable != S.C else roots[0]
            return Width(design, objective, least, groups, relation, readable(width), None, None)
    note = "C is the positive root" if variable == S.C else "C = u**2, u the positive root"
    return Width(
        design,
        objective,
        least,
        groups,
        relation,
        None,
        sp.Eq(lhs, S.P),
        variable,
        (f"{note} of {lhs} = P (no closed form of degree <= 2)",),
    )


def _has_half_powers(expr: sp.Expr) -> bool:
    return any(p.base == S.C and not sp.sympify(p.exp).is_integer for p in expr.atoms(sp.Pow))


# -- Theorem 1 over integers ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TheoremCheck:
    """Exhaustive check of Theorem 1 over integer group numbers: the cheapest full-field pairs."""

    design: Design
    checked: int  # (C, F) cases with at least one full-field configuration
    on_boundary: int  # cases whose cheapest configurations all lie on the boundary
    counterexamples: tuple  # (values, cheapest params, boundary params or None)


def theorem1_integers(design: Design, cs, fs=None) -> TheoremCheck:
    """For each C (and F), enumerate all valid integer group numbers with a full field, and check that
    the cheapest lie on the boundary of the full-field condition (M*N = C for GConv+PWGConv)."""
    opt = optimal_groups(design)
    if opt.boundary is None:
        raise SkanalyzeError(f"design {design.notation!r} has no Theorem-1 boundary (status: {opt.status})")
    groups = list(design.group_symbols)
    symbols = sorted(opt.boundary.free_symbols, key=str)
    on_boundary = compile_condition(opt.boundary, symbols)
    checked = on = 0
    bad = []
    for c in cs:
        for f in fs or [c]:
            widths = {S.C: sp.Integer(c), S.F: sp.Integer(f)}
            if design.uses_bottleneck:
                kv = sp.sympify(design.bottleneck).subs(widths)
                if not (kv.is_Integer and kv > 0):
                    continue
                widths[S.K] = kv
            configs = []
            divisors = sorted(set().union(*(all_divisors(int(w)) for w in widths.values())))
            cands = [divisors] * len(groups)
            for combo in itertools.product(*cands):
                values = {**widths, **dict(zip(groups, map(sp.Integer, combo), strict=True))}
                try:
                    if not reaches_every_channel(design, values):  # exact field by channels, any divisibility
                        continue
                except SkanalyzeError:  # a group number that does not divide its channels
                    continue
                configs.append((counting.params_at(design, values), values))
            if not configs:
                continue
            checked += 1
            least = min(p for p, _ in configs)
            cheapest = [v for p, v in configs if p == least]
            if all(on_boundary(*(v[x] for x in symbols)) for v in cheapest):
                on += 1
            else:
                on_b = [p for p, v in configs if on_boundary(*(v[x] for x in symbols))]
                bad.append((cheapest[0], least, min(on_b) if on_b else None))
    return TheoremCheck(design, checked, on, tuple(bad))


def _subs_all(expr, values):
    return counting.canonical(expr.subs(values)) if isinstance(expr, sp.Basic) and values else expr


# -- the report of `skanalyze efficiency` --------------------------------------------------------------
def report_data(design: Design, values: dict) -> dict:
    """Ratios, full-field condition, optimal groups and greatest width of one design."""
    values = S.resolve(values)
    if values:
        design.validate(values)
    eff = analyse(design)
    opt = eff.optimum
    data = {
        "design": design.notation,
        "param_ratio": _subs_all(eff.param_ratio, values),
        "mac_ratio": _subs_all(eff.mac_ratio, values),
        # arithmetic intensity (MACs per byte) beside the ratios: what a design saves in MACs it may lose in time
        "intensity": sp.factor(traffic.intensity(design, substitute_k=True).subs(values)),
        "intensity_ratio": sp.factor(
            (traffic.intensity(design, substitute_k=True) / traffic.intensity(counting.standard())).subs(
                values
            )
        ),
        "full_condition": eff.full_condition.subs(values)
        if values and hasattr(eff.full_condition, "subs")
        else eff.full_condition,
        "optimum": {
            "status": opt.status,
            "boundary": opt.boundary,
            "boundary_param_ratio": _subs_all(opt.boundary_ratio, values)
            if opt.boundary_ratio is not None
            else None,
            "groups": {str(g): _subs_all(v, values) for g, v in opt.groups.items()},
            "params": _subs_all(opt.params, values) if opt.params is not None else None,
            "param_ratio": _subs_all(opt.ratio, values) if opt.ratio is not None else None,
            "valid_when": list(opt.valid_when),
            "steps": list(opt.steps),
        },
    }
    if design.uses_bottleneck:
        data["bottleneck"] = design.bottleneck
    try:
        width = greatest_width(design)
        data["greatest_width"] = {
            "closed_form": width.width,
            "equation": width.equation,
            "groups": {str(g): v for g, v in width.groups.items()},
            "relation": width.relation,
            "least_params": width.least,
        }
    except SkanalyzeError as err:
        data["greatest_width"] = {"error": str(err)}
    return data


def theorem1_report(design: Design, c_max: int) -> dict:
    """Theorem 1 checked over integers for 2 <= C <= c_max and F in {C, 2C}."""
    if c_max < 2 or c_max > 512:
        raise SkanalyzeError(f"--integers (={c_max}) must be between 2 and 512")
    out = {"c_max": c_max, "checked": 0, "on_boundary": 0, "counterexamples": []}
    for c in range(2, c_max + 1):
        check = theorem1_integers(design, [c], [c, 2 * c])
        out["checked"] += check.checked
        out["on_boundary"] += check.on_boundary
        out["counterexamples"] += [
            {"values": {str(k): int(v) for k, v in vals.items()}, "least_params": p, "least_on_boundary": q}
            for vals, p, q in check.counterexamples
        ]
    return out


def report(design: Design, values: dict, integers: int | None = None) -> dict:
    """`skanalyze efficiency`: the efficiency data, with the integer check of Theorem 1 when asked."""
    data = report_data(design, values)
    if integers is not None:
        data["theorem1_integers"] = theorem1_report(design, integers)
    return data
