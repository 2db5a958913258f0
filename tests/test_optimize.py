"""The buildable optimum against brute force, against torch, and its bad inputs."""

import itertools
from fractions import Fraction

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from skanalyze.analyses.optimize import optimize
from skanalyze.cli.parsing import parse_alpha, parse_budget
from skanalyze.core import catalog, counting
from skanalyze.core import symbols as S
from skanalyze.core.errors import SkanalyzeError
from skanalyze.core.exact import compile_condition, compile_exact, floor_exact
from skanalyze.core.infofield import propagate

DESIGNS = [
    "standard",
    "dw-pw",
    "gconv-pwgconv",
    "pw-dw-pw",
    "pwgconv-dw-pwgconv",
    "shufflenet-v1",
    "resnext(4)",
    "GConv(4)+PWGConv(2)",
    "PWGConv+PWGConv+DW",
]


def plain_divisors(n):
    """Divisors by trial division, written here so the oracle shares nothing with the code under test."""
    return [d for d in range(1, n + 1) if n % d == 0]


def brute_force(design, budget, alpha):
    """Every width up to the budget, every group number dividing a width, the exact field: independent of optimize."""
    best = None
    for c in range(1, budget + 1):
        f = alpha * c
        if f.denominator != 1:
            continue
        widths = {S.C: c, S.F: int(f)}
        if design.uses_bottleneck:
            kv = sp.sympify(design.bottleneck).subs({S.C: c, S.F: int(f)})
            if not kv.is_Integer:
                continue
            widths[S.K] = int(kv)
        divs = sorted(set().union(*(plain_divisors(w) for w in widths.values())))
        for combo in itertools.product(divs, repeat=len(design.group_symbols)):
            values = {**widths, **dict(zip(design.group_symbols, combo, strict=True))}
            try:
                p = counting.params_at(design, values)
                if p > budget or propagate(design, values)[2] != c:
                    continue
            except (SkanalyzeError, ValueError):  # a group number that does not divide its channels
                continue
            if True:
                key = (c, -p, tuple(-x for x in combo))
                if best is None or key > best[0]:
                    best = (key, values, int(p))
    return best


@pytest.mark.slow
@pytest.mark.parametrize("name", DESIGNS)
@pytest.mark.parametrize("budget, alpha", [(300, 1), (600, 1), (400, 2), (300, Fraction(1, 2))])
def test_optimize_equals_brute_force(name, budget, alpha):
    design = catalog.resolve(name)
    expected = brute_force(design, budget, Fraction(alpha))
    if expected is None:
        with pytest.raises(SkanalyzeError, match="too small"):
            optimize(design, budget, alpha)
        return
    got = optimize(design, budget, alpha)
    assert int(got.buildable.values[S.C]) == int(expected[1][S.C])
    assert got.buildable.params == expected[2]
    assert {k: int(v) for k, v in got.buildable.values.items()} == {k: int(v) for k, v in expected[1].items()}


@pytest.mark.parametrize("name", ["gconv-pwgconv", "pwgconv-dw-pwgconv", "pw-dw-pw"])
def test_large_budget_answer_is_exact_and_within_budget(name):
    design = catalog.get(name)
    opt = optimize(design, 10**9)
    assert opt.buildable.params == counting.params(design).subs(opt.buildable.values) <= 10**9
    assert opt.buildable.values[S.C] <= opt.continuous_width
    assert 0 <= opt.width_gap < 0.01


def test_buildable_answers_build_in_torch(nn):
    for name, budget in [("gconv-pwgconv", 50_000), ("pwgconv-dw-pwgconv", 20_000), ("pw-dw-pw", 30_000)]:
        opt = optimize(catalog.get(name), budget)
        module = nn.build(catalog.get(name), opt.buildable.values)
        assert nn.count_params(module) == opt.buildable.params <= budget


def test_mac_budget():
    opt = optimize(catalog.get("dw-pw"), 10**8, 1, "macs", 28)
    c = int(opt.buildable.values[S.C])
    assert opt.buildable.cost == 28 * 28 * (9 * c + c * c) <= 10**8
    assert 28 * 28 * (9 * (c + 1) + (c + 1) ** 2) > 10**8


def test_relaxed_bound_for_designs_without_closed_form():
    opt = optimize(catalog.resolve("PWGConv+PWGConv+PWGConv+DW"), 200_000)
    assert not opt.continuous_exact
    assert opt.buildable.values[S.C] <= opt.continuous_width


@pytest.mark.parametrize(
    "text, expected",
    [("1000000", 10**6), ("1e6", 10**6), ("11.2M", 11_200_000), ("2k", 2000), ("1.5G", 1_500_000_000)],
)
def test_parse_budget(text, expected):
    assert parse_budget(text) == expected


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("-5", "must be positive"),
        ("0", "must be positive"),
        ("abc", "not a number"),
        ("1e30", "absurd"),
        ("2.5", "whole number"),
    ],
)
def test_parse_budget_rejects(text, fragment):
    with pytest.raises(SkanalyzeError, match=fragment):
        parse_budget(text)


@pytest.mark.parametrize("text", ["0", "-1", "sqrt(2)", "C", "x"])
def test_parse_alpha_rejects(text):
    with pytest.raises(SkanalyzeError):
        parse_alpha(text)


def test_budget_too_small():
    with pytest.raises(SkanalyzeError, match="too small for any buildable"):
        optimize(catalog.resolve("GConv(100)+PWGConv(2)"), 10_000)


_ARGS = [S.C, S.F, S.K, S.M, S.N]
_EXPRS = [
    S.K * (S.C / S.M + S.F / S.N + 9),
    S.C * (9 * S.C / S.M + S.F / S.N),
    S.F / 4,
    sp.Rational(3, 7) * S.C * S.K / (S.M**2 * S.N) + S.F / 3,
    sp.sqrt(S.C * S.K / S.F),  # from here on not polynomial quotients: the Fraction fallback
    sp.Min(S.C, S.C**2 / (S.M * S.N)),
]
_CONDS = [
    S.M * S.N <= S.K,
    sp.Or(S.M * S.N <= S.C, S.M * S.M * S.N <= S.C**2),
    sp.And(S.C**2 / (S.M * S.N) >= S.C, sp.Ne(S.M, S.N), S.F / S.M > 2),
    sp.Eq(S.M * S.N, S.C),
    S.C * S.K / (S.M + S.N) < S.F,
    sp.Min(S.C, S.C**2 / (S.M * S.N)) >= S.C,  # fallback
    sp.true,
]


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**6), min_size=5, max_size=5), st.integers(0, len(_EXPRS) - 1))
def test_compiled_costs_are_exact(values, which):
    """The integer-polynomial compilation of a cost equals sympy's exact value."""
    expr = _EXPRS[which]
    want = sp.simplify(expr.subs(dict(zip(_ARGS, values, strict=True))))
    if not want.is_Rational:  # never a float: an irrational value is refused
        with pytest.raises(ValueError):
            compile_exact(expr, _ARGS)(*values)
        return
    got = compile_exact(expr, _ARGS)(*values)
    assert isinstance(got, int | Fraction) and got == Fraction(int(want.p), int(want.q))


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=5, max_size=5), st.integers(0, len(_CONDS) - 1))
def test_compiled_conditions_are_exact(values, which):
    """The integer sign test of a full-field condition agrees with sympy, boundary cases included."""
    cond = _CONDS[which]
    assert compile_condition(cond, _ARGS)(*values) == bool(cond.subs(dict(zip(_ARGS, values, strict=True))))


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, c, f", [("gconv-pwgconv", 64, 128), ("pwgconv-dw-pwgconv", 64, 128), ("gconv-pwgconv", 48, 48)]
)
def test_best_groups_at_a_width_by_brute_force(name, c, f):
    """Every pair of integer group numbers that divide what they split, the field checked by plain channel
    reachability and the parameters counted by hand from the layers' widths: the two cheapest."""
    import math

    from skanalyze.analyses.optimize import at_report

    from .test_network import reaches_every_channel

    design = catalog.get(name)
    found = []
    for m in range(1, c + 1):
        for n in range(1, c + 1):
            values = {S.C: c, S.F: f, S.M: m, S.N: n}
            if design.uses_bottleneck:
                values[S.K] = f // 4
            layers = [layer.subs(values) for layer in design.layers]
            if any(
                int(lay.c_in) % int(lay.kernel.groups(lay.c_in))
                or int(lay.c_out) % int(lay.kernel.groups(lay.c_in))
                for lay in layers
            ):
                continue
            if not reaches_every_channel(design, values):
                continue
            params = sum(
                math.prod(lay.kernel.extent())
                * int(lay.c_in)
                * int(lay.c_out)
                // int(lay.kernel.groups(lay.c_in))
                for lay in layers
                if lay.kernel.weighted
            )
            found.append((params, (m, n)))
    found.sort()
    data = at_report(design, c, f)
    assert (data["best"]["params"], tuple(data["best"]["groups"].values())) == found[0]
    assert (data["runner_up"]["params"], tuple(data["runner_up"]["groups"].values())) == found[1]
    assert data["best"]["param_ratio"] == sp.Rational(found[0][0], 9 * c * f)
    assert float(data["real_optimum"]["params"]) <= found[0][0]


def test_efficiency_at_cli(cli):
    code, out, _ = cli("efficiency", "gconv-pwgconv", "--at", "C=64", "F=128")
    assert code == 0 and "best buildable M = 16, N = 4: params 4,352" in out and "runner-up" in out
    for args, fragment in (
        (("dw-pw", "--at", "C=64"), "no free group numbers"),
        (("gconv-pwgconv", "--at", "F=64"), "--at needs C"),
        (("gconv-pwgconv", "--at", "C=64", "M=4"), "C and F only"),
        (("gconv-pwgconv", "--at", "C=64", "--subs", "F=8"), "contradict"),
    ):
        code, out, err = cli("efficiency", *args)
        assert code == 2 and fragment in err and err.count("\n") == 1, err


@pytest.mark.parametrize("c", [60, 36, 48])
def test_efficiency_at_marks_tied_co_optima(cli, c):
    """`efficiency --at`: every configuration as cheap as the best is listed as tied, and the runner-up is the
    next cheaper one, against a brute force over all integer group numbers written here."""
    import json

    from skanalyze.core.counting import params_at
    from skanalyze.core.design import parse
    from skanalyze.core.errors import SkanalyzeError as Error
    from skanalyze.core.infofield import field

    d = parse("PWGConv(M)+DW+PWGConv(N)")
    costs = {}
    for m in range(1, c + 1):
        for n in range(1, c + 1):
            values = {"C": c, "F": c, "K": c // 4, "M": m, "N": n}
            try:
                p = params_at(d, values)
                full = int(field(d, values).c) == c
            except Error:
                continue
            if full:
                costs[(m, n)] = p
    best = min(costs.values())
    code, out, err = cli("efficiency", "pwgconv-dw-pwgconv", "--at", f"C={c}", f"F={c}", "--json")
    at = json.loads(out)["at"]
    listed = [at["best"], *at["tied"]]
    assert sorted((r["groups"]["M"], r["groups"]["N"]) for r in listed) == sorted(
        k for k, v in costs.items() if v == best
    )
    assert at["runner_up"]["params"] == min(v for v in costs.values() if v > best)


@settings(max_examples=300, deadline=None)
@given(
    a=st.integers(-(10**30), 10**30),
    b=st.integers(1, 10**20),
    c=st.integers(1, 10**20),
    d=st.integers(1, 10**6),
    near=st.sampled_from(["any", "square", "above", "below"]),
)
def test_floor_exact_equals_integer_square_roots(a, b, c, d, near):
    """floor((a + b*sqrt(c)) / d) equals (a + isqrt(b*b*c)) // d, written with integers only (n*d - a <= sqrt(X)
    iff n*d - a <= isqrt(X)), also where the value is a whole number or within 1e-20 of one."""
    import math

    if near == "square":  # sqrt(c) whole: the value may be an integer
        c = c * c
    elif near == "above":  # sqrt(c^2 + 1): a hair above a whole number
        c = c * c + 1
    elif near == "below":
        c = c * c - 1 if c > 1 else 3
    value = (a + b * sp.sqrt(c)) / d
    assert floor_exact(value) == (a + math.isqrt(b * b * c)) // d


@settings(max_examples=200, deadline=None)
@given(
    a=st.integers(1, 10),
    b=st.integers(0, 10),
    big=st.integers(1, 10**18),
    u=st.integers(1, 1000),
    v=st.integers(1, 1000),
    whole=st.booleans(),
)
def test_floor_exact_of_a_scaled_squared_root(a, b, big, u, v, whole):
    """floor(u/v * r**2), r the positive root of a*x**3 + b*x**2 - B (how a width's optimum comes out of some
    designs), against integers only: with t = n*v/u, r**2 >= t iff a*t*sqrt(t) + b*t <= B (the cubic grows for
    x > 0) iff B - b*t >= 0 and a^2 t^3 <= (B - b*t)^2; also where r is a whole number (whole)."""
    from fractions import Fraction

    if whole:  # B = a m^3 + b m^2: r = m, and u/v * m^2 may be a whole number
        m = big % 10**6 + 1
        big = a * m**3 + b * m**2
    x = sp.Symbol("x")
    (root,) = [r for r in sp.Poly(a * x**3 + b * x**2 - big, x).real_roots() if r > 0]
    n = floor_exact(sp.Rational(u, v) * root**2)

    def at_least(t: Fraction) -> bool:  # r**2 >= t
        return big - b * t >= 0 and a * a * t**3 <= (big - b * t) ** 2

    assert at_least(Fraction(n * v, u)) and not at_least(Fraction((n + 1) * v, u))


def test_floor_exact_of_roots_and_rationals():
    """A polynomial root (no radicals) and rationals: the integers around them decide the floor."""
    x = sp.Symbol("x")
    root = sp.CRootOf(x**3 + x - 10**12, 0)  # the real root, about 9999.99999967
    n = floor_exact(root)
    assert n**3 + n <= 10**12 < (n + 1) ** 3 + (n + 1)
    assert floor_exact(sp.Rational(-7, 2)) == -4 and floor_exact(sp.Integer(10) ** 30) == 10**30
