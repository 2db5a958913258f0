"""The design-space reduction: counts against brute force, the abstraction against concrete fields."""

import itertools
import re

import pytest

from skanalyze.analyses.space import (
    PAPER_FINAL,
    alphabet,
    compare_with_paper,
    efficient,
    explain,
    performs,
    primitive_count,
    reduce_space,
    verdict,
    word_name,
)
from skanalyze.core import symbols as S
from skanalyze.core.design import parse
from skanalyze.core.errors import SkanalyzeError
from skanalyze.core.infofield import propagate


@pytest.fixture(scope="module")
def paper_space():
    return reduce_space()


def all_words(letters, max_length):
    for n in range(1, max_length + 1):
        yield from itertools.product(letters, repeat=n)


@pytest.mark.parametrize("mode", ["fullmatch", "search"])
def test_counts_equal_brute_force(mode):
    letters = alphabet()
    red = reduce_space(max_length=6, mode=mode)
    find = re.fullmatch if mode == "fullmatch" else re.search
    expected = {n: {"total": 0, "composition": 0, "performance": 0} for n in range(1, 7)}
    survivors = set()
    for word in all_words(letters, 6):
        row = expected[len(word)]
        row["total"] += 1
        if find(r"(.+?)\1+", "".join(x.char for x in word)):
            continue
        row["composition"] += 1
        row["performance"] += performs(word)
        if verdict(word, mode).kept:
            survivors.add(word_name(word))
    for row in red.per_length:
        assert {k: row[k] for k in ("total", "composition", "performance")} == expected[row["length"]]
    assert {v.word for v in red.survivors} == survivors
    assert red.stages()[0] == ("space", 5460)


def test_paper_funnel(paper_space):
    assert paper_space.stages() == [
        ("space", 5460),
        ("composition", 5356),
        ("performance", 5208),
        ("efficiency", 118),
    ]


def test_paper_designs_survive(paper_space):
    result = compare_with_paper(paper_space)
    assert all(v.kept for v in result["paper"].values())
    assert result["paper"]["PW+DW+PW"].bottleneck  # kept only because of the bottleneck
    assert not result["paper"]["DW+PW"].bottleneck
    assert len(result["extra"]) == 118 - len(PAPER_FINAL)


def test_families_merge_group_numbers(paper_space):
    fam = paper_space.families
    assert set(fam["SpatialConv(g)+Pointwise(g)"]) == {"DW+PW", "GConv+PW", "GConv+PWGConv"}
    assert {"PW+DW+PW", "PWGConv+DW+PWGConv"} <= set(fam["Pointwise(g)+SpatialConv(g)+Pointwise(g)"])


@pytest.mark.parametrize(
    "design, stage, fragment",
    [
        ("DW", "performance", "never all mix"),
        ("PW", "performance", "no spatial kernel"),
        ("PW+PW", "composition", "repeats 'PW'"),
        ("GConv+PWGConv+GConv+PWGConv", "composition", "repeats 'GConv+PWGConv'"),
        ("DW+PW+PW", "efficiency", "already equals the standard conv's (3, 3, C) after kernel 2 of 3"),
        ("DW+DW+PW", "efficiency", "exceeds the standard"),
        ("PWGConv+DW", "performance", "never all mix"),
    ],
)
def test_explain_drops(design, stage, fragment):
    v = explain(design)
    assert not v.kept and v.stage == stage and fragment in v.reason


def test_search_reading_drops_any_adjacent_repeat():
    assert explain("PWGConv+PWGConv+DW", mode="search").stage == "composition"
    assert explain("PWGConv+PWGConv+DW", mode="fullmatch").kept


def test_bottleneck_exception_has_its_parameter_argument():
    v = explain("PW+DW+PW")
    assert v.kept and v.bottleneck and "-C**2/2 - 27*C/4 < 0" in v.reason


def test_primitive_count_mobius():
    for a in (2, 3, 4):
        for n in range(1, 9):
            brute = sum(
                1
                for w in itertools.product(range(a), repeat=n)
                if not re.fullmatch(r"(.+?)\1+", "".join(map(str, w)))
            )
            assert primitive_count(a, n) == brute


def _efficient_chain(fields, full, spatial):
    """The concrete efficiency rule: each kernel enlarges the field, the first `spatial` extents never pass
    3, and the field is full at the last kernel and not before."""
    ok = fields[-1] == full
    prev = (1,) * len(full)
    for i, f in enumerate(fields):
        ok &= f != prev and all(e <= 3 for e in f[:spatial]) and (i == len(fields) - 1 or f != full)
        prev = f
    return ok


def _concrete(word, c=64):
    """Exists group numbers (>= 2, dividing C) giving performance / efficiency, with exact fields (plan keep)."""
    design = parse(word_name(word), plan="keep")
    divs = [g for g in range(2, c + 1) if c % g == 0]
    perf = eff = False
    for combo in itertools.product(divs, repeat=len(design.group_symbols)):
        values = {S.C: c, S.F: c, **dict(zip(design.group_symbols, combo, strict=True))}
        fields = []
        for i in range(1, len(word) + 1):
            prefix = parse(word_name(word[:i]), plan="keep")
            x, _, c_min, _ = propagate(
                prefix, {k: v for k, v in values.items() if k in (S.C, S.F, *prefix.group_symbols)}
            )
            fields.append((x, c_min))
        perf |= fields[-1][0] >= 3 and fields[-1][1] == c
        eff |= _efficient_chain(fields, full=(3, c), spatial=1)
    return perf, eff


@pytest.mark.slow
def test_abstraction_matches_concrete_fields():
    letters = alphabet(("GConv", "DW", "PW", "PWGConv", "Conv"))
    for word in all_words(letters, 3):
        assert (performs(word), efficient(word)) == _concrete(word), word_name(word)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"names": ("GConv", "Foo")}, "unknown alphabet letter 'Foo'"),
        ({"names": ("GConv", "Shuffle")}, "Shuffle is not a letter"),
        ({"max_length": 0}, "must be a positive integer"),
        ({"mode": "both"}, "regex mode 'both' is unknown"),
        ({"max_length": 40}, "the largest that would is 21"),
        ({"max_length": 14, "mode": "search"}, "the largest that would is"),
    ],
)
def test_bad_input(kwargs, fragment):
    with pytest.raises(SkanalyzeError, match=re.escape(fragment)):
        reduce_space(**kwargs)


def _concrete_families(word, c=16):
    """Exists group numbers / orientations with performance, efficiency: exact footprints (plan keep, F = C)."""
    from skanalyze.core.infofield import footprint
    from skanalyze.core.kernels import LINE_ANGLES

    def variants(letter):
        return [f"Line(angle={a})" for a in LINE_ANGLES] if letter.name == "Line" else [letter.name]

    perf = eff = False
    for names in itertools.product(*(variants(x) for x in word)):
        design = parse("+".join(names), plan="keep")
        divs = [g for g in range(2, c + 1) if c % g == 0]
        for combo in itertools.product(divs, repeat=len(design.group_symbols)):
            values = {S.C: c, S.F: c, **dict(zip(design.group_symbols, combo, strict=True))}
            fields, ok_sizes = [], True
            for i in range(1, len(names) + 1):
                prefix = parse("+".join(names[:i]), plan="keep")
                try:
                    fp = footprint(
                        prefix, {k: v for k, v in values.items() if k in (S.C, S.F, *prefix.group_symbols)}
                    )
                except Exception:
                    ok_sizes = False
                    break
                fields.append(fp)
            if not ok_sizes:
                continue
            last = fields[-1]
            perf |= last.x >= 3 and last.y >= 3 and last.c_min == c and last.covers_window
            vec = [(f.x, f.y, f.c_min, f.positions_min) for f in fields]
            eff |= _efficient_chain(vec, full=(3, 3, c, 9), spatial=2)
    return perf, eff


@pytest.mark.slow
def test_abstraction_matches_concrete_footprints_for_the_families():
    letters = alphabet(("SSC", "SCC", "Line", "PW", "PWGConv", "DW", "GConv"))
    by_name = {x.name: x for x in letters}
    triples = [
        ("PWGConv", "Line", "Line"),
        ("PW", "Line", "Line"),
        ("SCC", "PWGConv", "PW"),
        ("PWGConv", "SCC", "PW"),
        ("Line", "PW", "Line"),
        ("SSC", "PW", "DW"),
        ("SCC", "PW", "PW"),
    ]
    words = list(all_words(letters, 2)) + [tuple(by_name[n] for n in t) for t in triples]
    for word in words:
        assert (performs(word), efficient(word)) == _concrete_families(word), word_name(word)


@pytest.mark.slow
def test_the_bottleneck_saving_verdicts_against_counts_at_integer_points():
    """Every word of length 3 over the full vocabulary that starts and ends pointwise (the exception's words): a proven saving holds at every feasible integer point tried (C = 8, 24, 48; group numbers among
    the divisors of K = C/4), counted by `params_at` on the two designs; a refuted one's witness is a point
    where the bottleneck does not save."""
    from skanalyze import params_at
    from skanalyze.analyses.bottleneck_saving import bottleneck_saving
    from skanalyze.analyses.space import full_vocabulary
    from skanalyze.core.exact import divisors

    def saves(full, trimmed, c, groups):
        values = {"C": c, "F": c, **groups}  # a group number that cancels in the difference: any value
        try:
            a = params_at(full, {**{k: v for k, v in values.items() if k in names(full)}, "K": c // 4})
            b = params_at(trimmed, {k: v for k, v in values.items() if k in names(trimmed)})
        except SkanalyzeError:  # a group number that does not divide: not a feasible point
            return None
        return a < b

    def names(design):
        return {str(x) for x in design.free_symbols}

    checked = 0
    ends = ("PW", "PWGConv")
    for word in itertools.product(ends, full_vocabulary(), ends):
        full = parse("+".join(word), plan="bottleneck")
        trimmed = parse("+".join(word[:-1]), plan="keep")
        saving = bottleneck_saving(word)
        symbols = sorted(names(full) - {"C", "F"})
        if saving.verdict == "refuted":
            point = dict.fromkeys(symbols, 1) | {
                k: v for k, v in saving.witness.items() if k not in ("C", "F")
            }
            assert saves(full, trimmed, saving.witness["C"], point) is False, word
        elif saving.verdict == "proven":
            for c in (8, 24, 48):
                for combo in itertools.product(divisors(c // 4), repeat=len(symbols)):
                    verdict = saves(full, trimmed, c, dict(zip(symbols, combo, strict=True)))
                    assert verdict in (True, None), (word, c, combo)
                    checked += verdict is True
    assert checked > 100
