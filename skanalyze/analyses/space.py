"""The design space and its three-stage reduction (the paper's Section 3.1), automated and explained.

A design in the space is a word over an alphabet of kernel kinds (default the paper's GConv,
DW, PW, PWGConv). Group numbers are free: a grouped kernel may take any group number from 2
up to the width it splits (1 would make it a standard or pointwise conv, the width a
depthwise one), and channel shuffles may sit between any two kernels. A design passes a
stage if *some* group numbers make it pass, as in the paper's footnote 1.

Stages, in order:

1. **composition**: drop words made of a repeated pattern, the regex ``(.+?)\\1+`` on the
   word's letters; ``fullmatch`` (default) drops words that are a repetition of a shorter
   word (AAAAAA, ABABAB, ABCABC, the paper's examples); ``search`` drops any word with an
   adjacent repeat anywhere (AAB too).
2. **performance**: keep words whose information field can be at least the standard conv's
   (k, k, C): every output sees all C channels and a k x k window.
3. **efficiency**: the early stop, decided on prefixes: drop a word when a kernel does not
   enlarge the field, or when the field equals (or exceeds) the standard conv's before the
   last kernel; the final field must equal it. The bottleneck exception: a word whose first
   and last kernels are pointwise, whose only fault is that the last kernel adds nothing to
   the field (the word without it passes), is kept when the bottleneck (first kernel C -> K,
   last K -> F, K = F/4) has fewer parameters than the word without its last kernel mapping
   C -> F, at F = C; this is the paper's PW+DW+PW argument made explicit.

Fields are tracked abstractly: a spatial extent (1, 3, or more: k = 3) and a channel state
(one channel, part of C, all of C). Each kernel kind's transition comes from its geometry
and its channel mixing (none / grouped / full); grouped kernels branch over what free group
numbers can do. tests/test_space.py checks this abstraction against the exact field of
concrete designs with concrete group numbers.

Counting does not list the space: the automaton is made deterministic and a dynamic
program counts the words that pass performance; in fullmatch mode the Möbius function
counts the aperiodic words and the periodic ones (about a^(n/2)) are enumerated. The
efficiency stage is a depth-first search over prefixes that the early stop keeps alive.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from dataclasses import field as dc_field

import sympy as sp

from ..core.design import parse
from ..core.errors import SkanalyzeError, did_you_mean
from ..core.kernels import Kernel, lookup, registered
from .bottleneck_saving import DOMAIN, bottleneck_saving

REGEX_MODES = ("fullmatch", "search")
PAPER_ALPHABET = ("GConv", "DW", "PW", "PWGConv")
PAPER_FINAL = ("DW+PW", "GConv+PWGConv", "PW+DW+PW", "PWGConv+DW+PWGConv")
PATTERN = r"(.+?)\1+"
MAX_WORK = 5_000_000  # words a run may enumerate explicitly

ONE, PART, FULL = "one", "part", "full"
STD_EXTENT = 3  # the standard conv's k


def full_vocabulary() -> tuple[str, ...]:
    """Every kernel kind in the registry that can be a kernel of a design (shuffles are implicit)."""
    return tuple(cls.name for cls in registered() if cls.weighted)


@dataclass(frozen=True)
class Letter:
    """One alphabet entry: a kernel kind, its letter for the regex, and its abstract behaviour."""

    name: str
    char: str
    extent: int  # spatial extent of its window with the default kernel size (1 or 3)
    mixing: str  # none | grouped | full
    footprint: str  # box | split (complementary halves across filters) | sparse (a segment, orientation free)

    @property
    def pointwise(self) -> bool:
        """A 1 x 1 kernel."""
        return self.extent == 1


def alphabet(names=PAPER_ALPHABET) -> tuple[Letter, ...]:
    """Letters for kernel names (aliases accepted); raises on unknown or duplicate kinds."""
    out: list[Letter] = []
    for name in names:
        try:
            cls = lookup(name)
        except SkanalyzeError:
            raise SkanalyzeError(
                f"unknown alphabet letter {name!r}; " + did_you_mean(name, list(full_vocabulary()))
            ) from None
        kern: Kernel = cls()
        if not cls.weighted:
            raise SkanalyzeError(
                f"{cls.name} is not a letter: it has no weights (shuffles are allowed between every two kernels)"
            )
        extent = int(kern.k)
        if extent not in (1, STD_EXTENT):
            raise SkanalyzeError(f"{cls.name} has kernel size {extent}; the space uses k = {STD_EXTENT}")
        letter = Letter(cls.name, cls.paper_letter, extent, kern.mixing, kern.footprint_kind)
        if any(x.name == letter.name for x in out):
            raise SkanalyzeError(f"alphabet lists {cls.name} twice")
        out.append(letter)
    if not out:
        raise SkanalyzeError("the alphabet is empty; e.g. --alphabet GConv,DW,PW,PWGConv")
    return tuple(out)


# -- the abstract field --------------------------------------------------------------------------------
# (x extent, y extent, channel state, footprint): extents 1, 3 or 5 (= more than 3); the footprint is
# complete (every position of the extents' box), split (complementary halves across output channels) or
# sparse (a segment).
State = tuple[int, int, str, str]
COMPLETE, SPLIT, SPARSE = "complete", "split", "sparse"
START: State = (1, 1, ONE, COMPLETE)
MORE = STD_EXTENT + 2


def _spatial(sx: int, sy: int, fp: str, letter: Letter) -> list[tuple[int, int, str, bool]]:
    """Every (x, y, footprint, grew) a kernel's window can give, orientations free."""

    def grow(v):
        return min(v + letter.extent - 1, MORE)

    if letter.pointwise:
        if fp == SPLIT and letter.mixing == "full":  # outputs mix both halves: the footprint completes
            return [(sx, sy, COMPLETE, True)]
        if fp == SPLIT and letter.mixing == "grouped":
            return [(sx, sy, SPLIT, False), (sx, sy, COMPLETE, True)]
        return [(sx, sy, fp, False)]
    if letter.footprint == SPARSE:  # a segment: horizontal, vertical or diagonal
        if (sx, sy) == (1, 1):
            return [
                (STD_EXTENT, 1, SPARSE, True),
                (1, STD_EXTENT, SPARSE, True),
                (STD_EXTENT, STD_EXTENT, SPARSE, True),
            ]
        if fp == SPARSE and {sx, sy} == {1, STD_EXTENT}:  # the orthogonal segment completes the box
            return [(STD_EXTENT, STD_EXTENT, COMPLETE, True), (grow(sx), grow(sy), COMPLETE, True)]
        return [(grow(sx), grow(sy), COMPLETE, True)]
    new_fp = SPLIT if letter.footprint == SPLIT and (sx, sy) == (1, 1) else COMPLETE
    return [(grow(sx), grow(sy), new_fp, True)]


def step(state: State, letter: Letter) -> list[tuple[State, bool]]:
    """Every (next state, enlarged) a kernel can produce for some group numbers and orientations."""
    sx, sy, c, fp = state
    if letter.mixing == "none":
        chans = [(c, False)]
    elif letter.mixing == "full":
        chans = [(FULL, c != FULL)]
    else:  # grouped, group numbers free in 2..width, shuffles free
        chans = {
            ONE: [(ONE, False), (PART, True)],
            PART: [(PART, False), (PART, True), (FULL, True)],
            FULL: [(FULL, False)],
        }[c]
    return [((x, y, c2, f), g1 or g2) for x, y, f, g1 in _spatial(sx, sy, fp, letter) for c2, g2 in chans]


def is_standard(state: State) -> bool:
    """Exactly the standard conv's field: (k, k, C) with every position of the window."""
    return state == (STD_EXTENT, STD_EXTENT, FULL, COMPLETE)


def at_least_standard(state: State) -> bool:
    """At least the standard conv's field."""
    return state[0] >= STD_EXTENT and state[1] >= STD_EXTENT and state[2] == FULL and state[3] == COMPLETE


def _exceeds(state: State) -> bool:
    return state[0] > STD_EXTENT or state[1] > STD_EXTENT


def performs(word: tuple[Letter, ...]) -> bool:
    """Whether some group numbers give the word a field at least the standard conv's."""
    states = {START}
    for letter in word:
        states = {s2 for s in states for s2, _ in step(s, letter)}
    return any(at_least_standard(s) for s in states)


def _efficient_paths(word: tuple[Letter, ...]):
    """Run the early stop over every path; returns (passes, furthest failure (index, reason))."""
    paths = [START]
    failure = (-1, "")
    for i, letter in enumerate(word):
        nxt = []
        last = i == len(word) - 1
        for s in paths:
            for s2, enlarged in step(s, letter):
                if not enlarged:
                    failure = max(
                        failure, (i, f"kernel {i + 1} ({letter.name}) does not enlarge the field {_show(s)}")
                    )
                elif _exceeds(s2):
                    failure = max(
                        failure,
                        (i, f"the field exceeds the standard conv's after kernel {i + 1}: {_show(s2)}"),
                    )
                elif not last and is_standard(s2):
                    failure = max(
                        failure,
                        (
                            i,
                            f"the field already equals the standard conv's (3, 3, C) after kernel {i + 1} of {len(word)}",
                        ),
                    )
                elif last and not is_standard(s2):
                    failure = max(failure, (i, f"the field ends at {_show(s2)}, not (3, 3, C)"))
                else:
                    nxt.append(s2)
        paths = sorted(set(nxt))
        if not paths:
            return False, failure
    return True, failure


def efficient(word: tuple[Letter, ...]) -> bool:
    """Whether some group numbers let the word through the early stop."""
    return _efficient_paths(word)[0]


def _show(state: State) -> str:
    sx, sy, c, fp = state

    def ext(v):
        return str(v) if v <= STD_EXTENT else f">{STD_EXTENT}"

    note = "" if fp == COMPLETE else f", {fp} footprint"
    return f"({ext(sx)}, {ext(sy)}, {'1' if c == ONE else 'C' if c == FULL else '<C'}{note})"


# -- composition ---------------------------------------------------------------------------------------
def repeated(chars: str, mode: str) -> str | None:
    """The repeated pattern the composition regex finds (None when the word is kept)."""
    m = re.fullmatch(PATTERN, chars) if mode == "fullmatch" else re.search(PATTERN, chars)
    return m.group(1) if m else None


def _mobius(n: int) -> int:
    result, p, m = 1, 2, n
    while p * p <= m:
        if m % p == 0:
            m //= p
            if m % p == 0:
                return 0
            result = -result
        p += 1
    return -result if m > 1 else result


def primitive_count(a: int, n: int) -> int:
    """Words of length n over a letters that are not a repetition of a shorter word (Möbius)."""
    return sum(_mobius(d) * a ** (n // d) for d in range(1, n + 1) if n % d == 0)


# -- the report ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    """What happened to one design: the stage where it was dropped (or None) and why."""

    word: str
    kept: bool
    stage: str | None  # composition | performance | efficiency | None (kept)
    detail: str  # the reason; "{saving}" stands for the bottleneck's parameter difference
    bottleneck: bool = False  # kept by the bottleneck exception
    saving: sp.Expr | None = None  # params(bottleneck) - params(without the last kernel), at F = C

    @property
    def reason(self) -> str:
        """Why the design is kept or dropped (the parameter argument rendered on demand)."""
        if self.saving is None:
            return self.detail
        return self.detail.replace("{saving}", f"{self.saving} < 0" if self.kept else str(self.saving))


@dataclass(frozen=True)
class Reduction:
    """Counts after each stage (in total and per length), the survivors, and their families."""

    alphabet: tuple[Letter, ...]
    max_length: int
    mode: str
    per_length: tuple[dict, ...]  # {length, total, composition, performance, efficiency}
    survivors: tuple[Verdict, ...]
    families: dict = dc_field(default_factory=dict)

    def stages(self) -> list[tuple[str, int]]:
        """(stage name, designs kept after it), starting with the whole space."""
        keys = ("total", "composition", "performance", "efficiency")
        return [(k if k != "total" else "space", sum(row[k] for row in self.per_length)) for k in keys]


def word_name(word) -> str:
    """A word in the notation: kernels joined by '+'."""
    return "+".join(letter.name for letter in word)


def family_of(word) -> str:
    """Designs that differ only in group numbers are one family: Conv/GConv/DW are one spatial kernel
    with g groups, PW/PWGConv one pointwise kernel with g groups (DW = GConv(C), PW = PWGConv(1))."""
    return "+".join("SpatialConv(g)" if not x.pointwise else "Pointwise(g)" for x in word)


def verdict(word: tuple[Letter, ...], mode: str = "fullmatch") -> Verdict:
    """The stage and reason a design is dropped, or why it is kept."""
    name = word_name(word)
    chars = "".join(x.char for x in word)
    pattern = repeated(chars, mode)
    if pattern is not None:
        rep = "+".join(next(x.name for x in word if x.char == ch) for ch in pattern)
        where = "the whole design repeats" if mode == "fullmatch" else "it contains an adjacent repeat of"
        return Verdict(name, False, "composition", f"{where} '{rep}' (regex {PATTERN}, {mode})")
    if not performs(word):
        return Verdict(name, False, "performance", _performance_reason(word))
    ok, (idx, reason) = _efficient_paths(word)
    if ok:
        return Verdict(
            name, True, None, "every kernel enlarges the field and it reaches (3, 3, C) at the last kernel"
        )
    exception = _bottleneck_exception(word)
    if exception is not None:
        return exception
    return Verdict(name, False, "efficiency", reason)


def _performance_reason(word) -> str:
    if all(x.extent == 1 for x in word):
        return "no spatial kernel: the field stays 1 x 1, never (3, 3, C)"
    states = {START}
    for letter in word:
        states = {s2 for s in states for s2, _ in step(s, letter)}
    if not any(s[2] == FULL for s in states):
        return "the channels never all mix: no group numbers give every output all C inputs"
    return (
        "the footprint never covers the whole 3 x 3 window (a segment, or complementary halves never mixed)"
    )


def _bottleneck_exception(word) -> Verdict | None:
    if len(word) < 3 or not (word[0].pointwise and word[-1].pointwise):
        return None
    if not efficient(word[:-1]):
        return None
    names = tuple(x.name for x in word)
    saving = bottleneck_saving(names)
    name = word_name(word)
    if saving.proven:
        return Verdict(
            name,
            True,
            None,
            f"bottleneck exception: the last {word[-1].name} adds no field but restores K -> F; with K = F/4 "
            f"the design has fewer params than {word_name(word[:-1])} mapping C -> F ({{saving}} at F = C, "
            f"for {DOMAIN})",
            bottleneck=True,
            saving=saving.diff,
        )
    if saving.verdict == "refuted":
        where = ", ".join(f"{k}={v}" for k, v in saving.witness.items())
        why = f"at {where} the bottleneck has {saving.witness_value} more params"
    else:
        why = f"the sign could not be decided over {DOMAIN}, nor refuted at C <= 256"
    return Verdict(
        name,
        False,
        "efficiency",
        "the last kernel adds no field and the bottleneck does not always save params "
        f"(difference {{saving}}: {why})",
        saving=saving.diff,
    )


# -- counting the space --------------------------------------------------------------------------------
def _dfa(letters):
    """The automaton made deterministic: states are frozensets of abstract states."""
    start = frozenset({START})
    trans: dict = {}
    todo, seen = [start], {start}
    while todo:
        cur = todo.pop()
        for i, letter in enumerate(letters):
            nxt = frozenset(s2 for s in cur for s2, _ in step(s, letter))
            trans[cur, i] = nxt
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return start, trans


def _passing_counts(letters, max_length: int) -> list[int]:
    """Words of each length that pass performance (no composition filter), by dynamic programming."""
    start, trans = _dfa(letters)
    counts = {start: 1}
    out = []
    for _ in range(max_length):
        nxt: dict = {}
        for st, n in counts.items():
            for i in range(len(letters)):
                t = trans[st, i]
                nxt[t] = nxt.get(t, 0) + n
        counts = nxt
        out.append(sum(n for st, n in counts.items() if any(at_least_standard(s) for s in st)))
    return out


def _periodic_words(letters, n: int):
    """Every word of length n that is a repetition of a shorter word, once each."""
    for p in range(1, n):
        if n % p:
            continue
        for root in itertools.product(letters, repeat=p):
            chars = "".join(x.char for x in root)
            if re.fullmatch(PATTERN, chars):
                continue  # the root itself repeats: counted at its own primitive period
            yield root * (n // p)


def _square_free_words(letters, n: int):
    """Words of length n without an adjacent repeat (DFS; prefixes with a repeat are cut)."""

    def rec(prefix, chars):
        if len(prefix) == n:
            yield prefix
            return
        for x in letters:
            c2 = chars + x.char
            if any(c2[-2 * h : -h] == c2[-h:] for h in range(1, len(c2) // 2 + 1)):
                continue
            yield from rec(prefix + (x,), c2)

    yield from rec((), "")


def work_estimate(a: int, n: int, mode: str) -> int:
    """How many words a run at length n enumerates explicitly."""
    if mode == "fullmatch":
        return sum(a**p for p in range(1, n) if n % p == 0)
    return a * max(a - 1, 1) ** (n - 1)  # bound on words without an immediate repeat


def largest_feasible(a: int, mode: str) -> int:
    """The largest maximum length whose run stays within MAX_WORK explicit words."""
    n, total = 0, 0
    while True:
        total += work_estimate(a, n + 1, mode)
        if total > MAX_WORK or n >= 64:
            return n
        n += 1


def _efficiency_survivors(letters, max_length: int, mode: str) -> list[Verdict]:
    """Depth-first over the prefixes the early stop keeps alive; a prefix whose field reaches the
    standard conv's is a candidate (and, with a trailing pointwise kernel, a bottleneck candidate)."""
    found: dict[str, Verdict] = {}

    def consider(word):
        v = verdict(word, mode)
        if v.kept:
            found[v.word] = v

    def rec(prefix, alive):
        for x in letters:
            word = prefix + (x,)
            new = {s2 for s in alive for s2, grew in step(s, x) if grew and not _exceeds(s2)}
            done = {s for s in new if is_standard(s)}
            if done:
                consider(word)
                if word[0].pointwise and len(word) < max_length:
                    for y in letters:
                        if y.pointwise:
                            consider(word + (y,))
            if new - done and len(word) < max_length:
                rec(word, new - done)

    rec((), {START})
    return sorted(found.values(), key=lambda v: (v.word.count("+"), v.word))


def reduce_space(
    names=PAPER_ALPHABET, max_length: int = 6, mode: str = "fullmatch", on_step=None
) -> Reduction:
    """Run the three stages over every design of length 1..max_length; count without listing the space.
    ``on_step(done, total, what)``, when given, is called as the work advances (max_length + 2 steps)."""
    step = on_step or (lambda done, total, what: None)
    letters = alphabet(names)
    if mode not in REGEX_MODES:
        raise SkanalyzeError(f"regex mode {mode!r} is unknown; valid: {', '.join(REGEX_MODES)}")
    if not isinstance(max_length, int) or max_length <= 0:
        raise SkanalyzeError(f"maximum length (={max_length}) must be a positive integer")
    work = sum(work_estimate(len(letters), n, mode) for n in range(1, max_length + 1))
    if work > MAX_WORK:
        best = largest_feasible(len(letters), mode)
        raise SkanalyzeError(
            f"maximum length {max_length} with {len(letters)} letters ({mode}) would enumerate about {work:.2g} "
            f"words and not finish; the largest that would is {best}"
            + (
                " (the fullmatch mode counts without enumerating: --regex fullmatch)"
                if mode == "search"
                else ""
            )
        )
    a = len(letters)
    steps = max_length + 2
    step(0, steps, "performance stage: counting the words that pass")
    passing_all = _passing_counts(letters, max_length)
    start, trans = _dfa(letters)
    index = {x: i for i, x in enumerate(letters)}

    def passes(word) -> bool:  # the deterministic automaton: one lookup per letter
        st = start
        for x in word:
            st = trans[st, index[x]]
        return any(at_least_standard(s) for s in st)

    step(1, steps, "efficiency stage: the survivors")
    survivors = _efficiency_survivors(letters, max_length, mode)
    rows = []
    for n in range(1, max_length + 1):
        step(1 + n, steps, f"length {n}: composition and performance counts")
        total = a**n
        if mode == "fullmatch":
            comp = primitive_count(a, n)
            perf = passing_all[n - 1] - sum(1 for w in _periodic_words(letters, n) if passes(w))
        else:
            comp = perf = 0
            for w in _square_free_words(letters, n):
                comp += 1
                perf += passes(w)
        eff = sum(1 for v in survivors if v.word.count("+") + 1 == n)
        rows.append(
            {"length": n, "total": total, "composition": comp, "performance": perf, "efficiency": eff}
        )
    step(steps, steps, "done")
    families: dict = {}
    for v in survivors:
        word = tuple(next(x for x in letters if x.name == part) for part in v.word.split("+"))
        families.setdefault(family_of(word), []).append(v.word)
    return Reduction(letters, max_length, mode, tuple(rows), tuple(survivors), families)


def explain(design_text: str, names=None, mode: str = "fullmatch") -> Verdict:
    """Why a design (in the notation; group numbers ignored) is kept or dropped."""
    design = parse(design_text)
    kinds = [k.name for k in design.kernels if k.weighted]
    letters = alphabet(tuple(dict.fromkeys((*(names or ()), *kinds))))
    word = tuple(next(x for x in letters if x.name == name) for name in kinds)
    if names is not None:
        outside = [k for k in kinds if k not in {lookup(n).name for n in names}]
        if outside:
            return Verdict(word_name(word), False, "alphabet", f"{', '.join(outside)} is not in the alphabet")
    return verdict(word, mode)


def compare_with_paper(reduction: Reduction) -> dict:
    """Which of the paper's four final designs survive, and which survivors the paper does not list."""
    survivors = {v.word: v for v in reduction.survivors}
    paper = {}
    for text in PAPER_FINAL:
        v = survivors.get(text) or explain(text, [x.name for x in reduction.alphabet], reduction.mode)
        paper[text] = v
    extra = [v for w, v in survivors.items() if w not in PAPER_FINAL]
    return {"paper": paper, "extra": extra}


# -- the report of `skanalyze space` -------------------------------------------------------------------
def explain_report(design_text: str, alphabet_names, mode: str) -> dict:
    """`skanalyze space --explain`: why one design is kept or dropped."""
    v = explain(design_text, alphabet_names, mode)
    return {
        "design": v.word,
        "kept": v.kept,
        "stage": v.stage,
        "reason": v.reason,
        "kept_by_bottleneck_exception": v.bottleneck,
    }


def report(alphabet_names, max_length: int, mode: str, on_step=None) -> dict:
    """`skanalyze space`: stage table, survivors by family, comparison with the paper."""
    red = reduce_space(alphabet_names or PAPER_ALPHABET, max_length, mode, on_step)
    cmp = compare_with_paper(red)
    return {
        "alphabet": [x.name for x in red.alphabet],
        "max_length": max_length,
        "regex": mode,
        "pattern": PATTERN,
        "stages": [{"name": n, "remaining": k} for n, k in red.stages()],  # designs left after the stage
        "per_length": list(red.per_length),
        "survivors": [v.word for v in red.survivors],
        "bottleneck_exception": [v.word for v in red.survivors if v.bottleneck],
        "families": red.families,
        "paper": {w: {"kept": v.kept, "stage": v.stage, "reason": v.reason} for w, v in cmp["paper"].items()},
        "not_in_paper": [v.word for v in cmp["extra"]],
    }
