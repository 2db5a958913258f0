"""The design-space reduction against oracles that share no code with skanalyze.analyses.space.

* A brute force over concrete configurations: C = 64 channels, every group number dividing C,
  a shuffle or none before every grouped kernel; the field followed as explicit input-channel
  sets. A word is efficient when some configuration makes every kernel enlarge the field,
  keeps it below the standard conv's (3, 3, C) until the last kernel and ends exactly on it.
* Parameter counts written out per kernel kind, evaluated on a grid of feasible integer points
  (C a multiple of 4, K = C/4, F = C, group numbers dividing what they split), for every
  design the bottleneck exception keeps.
"""

import itertools
import re

import pytest

from skanalyze.analyses.space import reduce_space

LETTERS = {"GConv": "G", "DW": "D", "PW": "P", "PWGConv": "Q"}
SPATIAL = {"G", "D"}
GROUPED = {"G", "Q"}
C = 64
DIVISORS = [d for d in range(2, C + 1) if C % d == 0]


def apply_group(sets, g):
    """A grouped layer C -> C with g groups: each output's set is the union over its group's inputs."""
    size = len(sets) // g
    merged = []
    for i in range(g):
        acc = 0
        for s in sets[i * size : (i + 1) * size]:
            acc |= s
        merged.append(acc)
    return [merged[j // size] for j in range(len(sets))]


def apply_shuffle(sets, g):
    """Reshape (g, C/g), transpose, flatten."""
    per = len(sets) // g
    return [sets[(p % g) * per + p // g] for p in range(len(sets))]


def reach(sets):
    counts = {bin(s).count("1") for s in sets}
    assert len(counts) == 1, "power-of-two group numbers always give uniform fields"
    return counts.pop()


def options(letter, prev_g):
    """(group number, shuffle first?) choices for one kernel."""
    if letter == "D":
        return [(C, False)]
    if letter == "P":
        return [(1, False)]
    shuffles = [False, True] if prev_g is not None else [False]
    return [(g, sh) for g in DIVISORS for sh in shuffles]


def efficient_words(max_length):
    """Every word (letters) for which some configuration passes the early stop: DFS over configurations."""
    found = set()
    start = ([1 << i for i in range(C)], 1, None)  # channel sets, spatial extent, last group number

    def rec(prefix, state, seen):
        sets, extent, prev_g = state
        field = (extent, reach(sets))
        for letter in "GDPQ":
            word = prefix + letter
            for g, shuffle in options(letter, prev_g):
                new = apply_shuffle(sets, prev_g) if shuffle else sets
                new = apply_group(new, g)
                new_extent = extent + (2 if letter in SPATIAL else 0)
                new_field = (new_extent, reach(new))
                if new_extent > 3 or new_field == field:
                    continue  # does not enlarge, or exceeds the standard's 3 x 3
                key = (word, tuple(new), new_extent, g if letter in GROUPED else None)
                if key in seen:
                    continue
                seen.add(key)
                if new_field == (3, C):
                    found.add(word)  # standard reached: the word ends here or not at all
                    continue
                if len(word) < max_length:
                    last_g = g if letter in GROUPED and g != C else (None if letter == "P" else prev_g)
                    rec(word, (new, new_extent, last_g), seen)

    rec("", start, set())
    return found


def params(word, widths, groups):
    """Parameters of a word over a channel plan, each kernel kind's count written out here."""
    total = 0
    for letter, (cin, cout), g in zip(word, widths, groups, strict=True):
        total += {"G": 9 * cin * cout // g, "D": 9 * cin, "P": cin * cout, "Q": cin * cout // g}[letter]
    return total


@pytest.fixture(scope="module")
def brute():
    return efficient_words(6)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fullmatch", "search"])
def test_survivors_equal_the_brute_force(brute, mode):
    """Per length, the survivors equal: composition regex + (early stop or bottleneck exception), all brute force."""
    find = re.fullmatch if mode == "fullmatch" else re.search
    names = {v: k for k, v in LETTERS.items()}
    expected = set()
    for n in range(1, 7):
        for word in map("".join, itertools.product("GDPQ", repeat=n)):
            if find(r"(.+?)\1+", word):
                continue
            if word in brute:
                expected.add(word)
            elif (
                len(word) >= 3
                and word[0] in "PQ"
                and word[-1] in "PQ"
                and word[:-1] in brute
                and saves_on_grid(word)
            ):
                expected.add(word)
    red = reduce_space(max_length=6, mode=mode)
    got = {"".join(LETTERS[k] for k in v.word.split("+")) for v in red.survivors}
    assert got == expected, (sorted(got - expected), sorted(expected - got))
    per_length = [sum(1 for w in expected if len(w) == n) for n in range(1, 7)]
    assert [row["efficiency"] for row in red.per_length] == per_length
    assert "+".join(names[ch] for ch in "PDQ") in {v.word for v in red.survivors}  # the example


def bottleneck_points(word, c_max=96):
    """Feasible integer points for the bottleneck word and the word without its last kernel."""
    for c in range(4, c_max + 1, 4):
        k = c // 4
        full = [(c, k)] + [(k, k)] * (len(word) - 2) + [(k, c)]
        trimmed = [(c, c)] * (len(word) - 1)
        choices = []
        for i, ch in enumerate(word):
            if ch not in GROUPED:
                choices.append([None])
                continue
            splits = [*full[i]] + ([*trimmed[i]] if i < len(trimmed) else [])
            choices.append([g for g in range(1, c + 1) if all(w % g == 0 for w in splits)])
        for combo in itertools.product(*choices):
            yield c, full, trimmed, combo


def saves_on_grid(word):
    """The bottleneck (C -> K = C/4 -> ... -> F = C) has fewer params than the word without its last kernel
    (C -> C) at every feasible point of the grid."""
    for _c, full, trimmed, combo in bottleneck_points(word):
        groups = [1 if g is None else g for g in combo]
        if params(word, full, groups) >= params(word[:-1], trimmed, groups[:-1]):
            return False
    return True


@pytest.mark.slow
def test_every_bottleneck_exception_saves_on_the_feasible_grid():
    red = reduce_space(max_length=6)
    kept = [v for v in red.survivors if v.bottleneck]
    assert len(kept) == 40
    for v in kept:
        word = "".join(LETTERS[k] for k in v.word.split("+"))
        assert saves_on_grid(word), v.word
