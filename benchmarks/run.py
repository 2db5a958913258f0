"""skanalyze's benchmarks: one process, one run, so that ratios are fair; writes docs/benchmarks.md.

    python benchmarks/run.py                      # every section, regenerates docs/benchmarks.md
    python benchmarks/run.py --sections optimize  # some sections (the file keeps only what ran)
    python benchmarks/run.py --quick              # fewer repeats, for a smoke run

Not part of the test suite: timings belong here, correctness in tests/.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUICK = False


def timed(fn, *, repeat: int = 5, min_time: float = 0.2) -> float:
    """Median seconds per call over `repeat` batches, each batch at least `min_time` long."""
    fn()
    number, elapsed = 1, 0.0
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_time or number >= 10**6:
            break
        number *= 10
    runs = []
    for _ in range(1 if QUICK else repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        runs.append((time.perf_counter() - start) / number)
    return statistics.median(runs)


def fresh_process(code: str) -> float:
    """Seconds reported by `code` (which prints one float) in a new interpreter: cold caches."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return float(out.stdout.strip().splitlines()[-1])


def fmt_time(seconds: float) -> str:
    """Human units: ns, µs, ms or s."""
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# -- sections ---------------------------------------------------------------------------------------
def section_optimize() -> dict:
    """The buildable optimum against the budget, 10^4 .. 10^9 parameters, for the paper's designs."""
    from skanalyze import catalog
    from skanalyze import symbols as S
    from skanalyze.optimize import optimize

    names = ["dw-pw", "gconv-pwgconv", "pw-dw-pw", "pwgconv-dw-pwgconv"]
    budgets = [10**4, 10**5, 10**6, 10**7, 10**8, 10**9]
    rows, worst_cold, worst_warm = [], 0.0, 0.0
    for name in names:
        design = catalog.get(name)
        cold = fresh_process(
            "import time; from skanalyze import catalog; from skanalyze.optimize import optimize; "
            f"d = catalog.get({name!r}); t = time.perf_counter(); optimize(d, 10**9); print(time.perf_counter() - t)"
        )
        worst_cold = max(worst_cold, cold)
        cells = []
        for budget in budgets:
            warm = timed(lambda d=design, b=budget: optimize(d, b), repeat=3, min_time=0.05)
            opt = optimize(design, budget)
            cells.append(
                f"{fmt_time(warm)} (C={int(opt.buildable.values[S.C])}, {opt.widths_searched} widths)"
            )
            if budget == 10**9:
                worst_warm = max(worst_warm, warm)
        rows.append([design.notation, fmt_time(cold), *cells])
    header = ["design", "10^9 cold", *[f"P = 10^{len(str(b)) - 1}" for b in budgets]]
    return {
        "title": "Buildable optimum vs budget",
        "what": "`optimize(design, P)` with alpha = 1: the widest integer configuration whose params fit P. "
        "Cold: a fresh process, including the symbolic derivation (field, Theorem 1, greatest width). "
        "Warm: the derivation cached, the integer search only; in parentheses the width found and how many "
        "widths the downward scan examined.",
        "body": table(header, rows),
        "targets": [
            (
                "buildable optimum at 10^9 parameters (cold, worst design)",
                worst_cold,
                "< 0.5 s",
                worst_cold < 0.5,
            ),
            (
                "buildable optimum at 10^9 parameters (warm, worst design)",
                worst_warm,
                "< 0.5 s",
                worst_warm < 0.5,
            ),
        ],
    }


def section_space() -> dict:
    """The design-space reduction vs maximum length, paper alphabet and full vocabulary."""
    from skanalyze.space import PAPER_ALPHABET, full_vocabulary, reduce_space

    cold = fresh_process(
        "import time, sympy; from skanalyze.space import reduce_space; "
        "t = time.perf_counter(); reduce_space(); print(time.perf_counter() - t)"
    )
    warm = timed(lambda: reduce_space(), repeat=5, min_time=0.1)
    rows = []
    full_12 = None
    for alphabet_names, label in (
        (PAPER_ALPHABET, "paper (4 kinds)"),
        (full_vocabulary(), f"full ({len(full_vocabulary())} kinds)"),
    ):
        for n in (2, 4, 6, 8, 10, 12):
            start = time.perf_counter()
            red = reduce_space(alphabet_names, n)
            elapsed = time.perf_counter() - start
            stages = dict(red.stages())
            rows.append(
                [
                    label,
                    n,
                    f"{stages['space']:,}",
                    f"{stages['composition']:,}",
                    f"{stages['performance']:,}",
                    f"{stages['efficiency']:,}",
                    fmt_time(elapsed),
                ]
            )
            if n == 12 and label.startswith("full"):
                full_12 = elapsed
    return {
        "title": "Design-space reduction vs maximum length",
        "what": "`reduce_space(alphabet, n)` (composition regex fullmatch): designs of length 1..n, counted per stage "
        "without listing the space (Möbius for composition, dynamic programming for performance, a prefix search for "
        "efficiency). The paper's space (4 kinds, n = 6, 5460 designs) cold in a fresh process and warm.",
        "body": f"Paper's space: cold {fmt_time(cold)}, warm {fmt_time(warm)}.\n\n"
        + table(
            ["alphabet", "max length", "space", "composition", "performance", "efficiency", "time"], rows
        ),
        "targets": [
            ("the paper's design space (cold)", cold, "< 0.2 s", cold < 0.2),
            ("length 12 over the full vocabulary", full_12, "< 10 s", full_12 < 10),
        ],
    }


SECTIONS = {"optimize": section_optimize, "space": section_space}


# -- the report -------------------------------------------------------------------------------------
def machine() -> str:
    """CPU model, cores, memory, OS and library versions."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(
            next(
                x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")
            ).split()[1]
        )
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    import sympy

    versions = [f"Python {platform.python_version()}", f"sympy {sympy.__version__}"]
    try:
        import torch

        versions.append(f"torch {torch.__version__}")
    except ImportError:
        pass
    return f"{cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; " + ", ".join(
        versions
    )


def render(results: list[dict], command: str) -> str:
    """docs/benchmarks.md."""
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    out = [
        "# Benchmarks",
        "",
        f"Generated by `{command}` on {now}.",
        "",
        f"Machine: {machine()}.",
        "",
        "Every figure below comes from one run of the runner in one process (fresh processes only where a "
        "cold start is the point), so ratios compare like with like. Regenerate with `python benchmarks/run.py`.",
        "",
        "## Targets",
        "",
    ]
    targets = [t for r in results for t in r.get("targets", [])]
    out.append(
        table(
            ["target", "measured", "goal", "met"],
            [
                [
                    name,
                    fmt_time(v) if isinstance(v, float) and v < 100 else v,
                    goal,
                    "yes" if ok else "**no**",
                ]
                for name, v, goal, ok in targets
            ],
        )
    )
    for r in results:
        out += ["", f"## {r['title']}", "", r["what"], "", r["body"]]
        if r.get("notes"):
            out += ["", r["notes"]]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    global QUICK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}"
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"))
    args = parser.parse_args(argv)
    QUICK = args.quick
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        print(f"benchmarks: unknown section {unknown[0]!r}; valid: {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    results = []
    for name in chosen:
        print(f"[{len(results) + 1}/{len(chosen)}] {name} ...", file=sys.stderr, flush=True)
        results.append(SECTIONS[name]())
    command = "python benchmarks/run.py" + (
        f" --sections {args.sections}" if args.sections != ",".join(SECTIONS) else ""
    )
    text = render(results, command)
    out = Path(args.out)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(out)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
