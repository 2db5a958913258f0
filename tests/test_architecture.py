"""The package's architecture, checked from its source: layers, the import graph, the torch and
matplotlib edges, private names, and the registries. The oracle is the source text itself (ast), not
the code under test."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "skanalyze"
# rank of each layer: a module may import its own package or a lower rank; nn and render are two sides
# of the same rank and never import each other
RANK = {"core": 0, "analyses": 1, "nn": 2, "render": 2, "cli": 3}
TOP = 4  # skanalyze/__init__.py, __main__.py


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def imports(name: str) -> list[tuple[str, list[str], int, bool]]:
    """(target module, names, line, inside a function) for every import statement of a module."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []

    def visit(node, nested):
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(child, ast.Import):
                out.extend((a.name, [], child.lineno, nested) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - child.level + 1]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module
                names = [a.name for a in child.names]
                # `from pkg import module` imports the module
                subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
                out.append(
                    (target, [n for n in names if f"{target}.{n}" not in MODULES], child.lineno, nested)
                )
                out.extend((s, [], child.lineno, nested) for s in subs)
            visit(child, inner)

    visit(tree, False)
    return out


def layer(name: str) -> tuple[str, int]:
    parts = name.split(".")
    if len(parts) == 1 or parts[1] not in RANK:
        return "top", TOP
    return parts[1], RANK[parts[1]]


def test_the_layers_are_the_packages():
    assert {p.name for p in PKG.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(RANK)
    loose = {p.name for p in PKG.glob("*.py")}
    assert loose == {"__init__.py", "__main__.py"}, "every module lives in a layer's package"


def test_imports_point_down():
    bad = []
    for name in MODULES:
        own, rank = layer(name)
        for target, _, line, _ in imports(name):
            if not target.startswith("skanalyze.") or target == "skanalyze":
                continue
            other, other_rank = layer(target)
            if other == own:
                continue
            if other_rank > rank or (other_rank == rank and own != "top"):
                bad.append(f"{MODULES[name].relative_to(ROOT)}:{line} ({own}) imports {target} ({other})")
    assert not bad, "upward or sideways imports:\n" + "\n".join(bad)


def test_the_import_graph_has_no_cycle():
    graph = {
        name: {t for t, *_ in imports(name) if t in MODULES and t != name and t != "skanalyze"}
        for name in MODULES
    }
    # a package's __init__ importing its own submodules is the package, not a cycle
    for name in graph:
        graph[name] = {t for t in graph[name] if not t.startswith(name + ".")}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def dfs(node, stack):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle.extend(stack[stack.index(nxt) :] + [nxt])
                return True
            if state.get(nxt) is None and dfs(nxt, stack + [nxt]):
                return True
        state[node] = 2
        return False

    for start in sorted(graph):
        if state.get(start) is None and dfs(start, [start]):
            break
    assert not cycle, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize(
    "library, allowed", [("torch", ("skanalyze.nn",)), ("matplotlib", ("skanalyze.render.plots",))]
)
def test_torch_and_matplotlib_only_on_their_side(library, allowed):
    bad = [
        f"{name}:{line}"
        for name in MODULES
        for target, _, line, _ in imports(name)
        if (target == library or target.startswith(library + "."))
        and not any(name == a or name.startswith(a + ".") for a in allowed)
    ]
    assert not bad, f"{library} imported outside {allowed}: {bad}"


def test_figures_draw_rows_and_call_no_analysis():
    """render/plots.py draws what analyses/figures.py and the reports return; it imports no analysis."""
    bad = [
        f"{target}:{line}"
        for target, _, line, _ in imports("skanalyze.render.plots")
        if ".analyses" in target
    ]
    assert not bad


def test_lazy_imports_only_on_the_edges():
    """Imports inside functions are allowed only in the CLI (start-up time; torch and matplotlib on demand)."""
    bad = [
        f"{MODULES[name].relative_to(ROOT)}:{line} {target}"
        for name in MODULES
        if layer(name)[0] != "cli"
        for target, _, line, nested in imports(name)
        if nested
    ]
    assert not bad, "imports inside functions outside the CLI:\n" + "\n".join(bad)


def test_no_private_name_crosses_a_module():
    bad = [
        f"{MODULES[name].relative_to(ROOT)}:{line} takes {target}.{n}"
        for name in MODULES
        for target, names, line, _ in imports(name)
        if target.startswith("skanalyze")
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id
                in {"counting", "design", "field", "nn", "network", "optimize", "space", "tables"}
            ):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not bad, "\n".join(bad)


def test_the_core_imports_without_torch_or_matplotlib():
    code = (
        "import sys, skanalyze\n"
        "from skanalyze.analyses import compare, efficiency, network, optimize, reports, space, tables\n"
        "from skanalyze.render import render\n"
        "from skanalyze.nn import data\n"
        "assert not any(m == 'torch' or m.startswith(('torch.', 'matplotlib')) for m in sys.modules), "
        "sorted(m for m in sys.modules if m.startswith(('torch', 'matplotlib')))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_public_api_is_listed_and_loads():
    import skanalyze

    assert {"parse", "params", "macs", "flops", "field", "resolve", "Design", "SkanalyzeError"} <= set(
        skanalyze.__all__
    )
    torch_side = {"from_module", "apply"}  # load skanalyze.nn, which needs torch
    has_torch = importlib.util.find_spec("torch") is not None
    for name in skanalyze.__all__:
        if name in torch_side and not has_torch:
            continue
        assert getattr(skanalyze, name) is not None
    assert set(skanalyze.__all__) <= set(dir(skanalyze))


def test_every_registered_kernel_has_a_torch_builder(nn):
    from skanalyze.core.kernels import registered

    missing = [cls.name for cls in registered() if cls not in nn.BUILDERS]  # exactly: no fallback to a base
    assert not missing


def test_kernel_traits_are_uniform():
    """A trait is declared one way in every kind: constants of the kind as class attributes, traits that
    follow from a kernel's options as properties; `mixing` is never declared, only read from channel_ops."""
    from skanalyze.core.kernels import registered

    constants = ("weighted", "has_bn", "keeps_width", "paper_letter", "free_arg", "arg", "words", "integers")
    for cls in registered():
        for trait in constants:
            assert not isinstance(getattr(cls, trait), property), (cls.name, trait)
        for trait in ("mixing", "footprint_kind"):
            assert isinstance(getattr(cls, trait), property), (cls.name, trait)
        for derived in ("mixing", "connections"):  # derived from channel_ops in Kernel, nowhere else
            owners = [klass.__name__ for klass in cls.__mro__ if derived in vars(klass)]
            assert owners == ["Kernel"], (cls.name, derived, owners)


def test_kernels_need_no_torch_to_be_defined():
    source = (PKG / "core" / "kernels.py").read_text()
    assert "torch" not in {t.split(".")[0] for t, *_ in imports("skanalyze.core.kernels")}
    assert "def build" not in source


def test_ruff_is_clean_with_the_lazy_import_rule():
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed: pip install 'skanalyze[dev]'")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "PLC0415", "skanalyze"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


def cyclomatic(function: ast.AST) -> int:
    """McCabe's number of a function, counted from its AST as radon counts it: 1, plus one per if/elif, loop,
    conditional expression, except clause, comprehension (and its ifs), match case, and each extra operand of
    and/or; nested functions and classes are functions of their own."""
    n = 1
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.IfExp, ast.ExceptHandler)):
            n += 1
        elif isinstance(node, ast.BoolOp):
            n += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            n += 1 + len(node.ifs)
        elif isinstance(node, ast.match_case):
            n += 1
        stack.extend(ast.iter_child_nodes(node))
    return n


def test_cyclomatic_counts_what_radon_counts():
    code = "def f(a, b):\n    if a and b or a:\n        return [x for x in a if x]\n    while b:\n        b -= 1\n"
    assert cyclomatic(ast.parse(code).body[0]) == 1 + 1 + 2 + 2 + 1  # if, and/or, comprehension + if, while


MAX_LINES, MAX_COMPLEXITY = 600, 25  # docs/architecture.md: sizes


def test_no_module_or_function_is_too_big():
    long = {
        name: n for name, path in MODULES.items() if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines: {long}"
    complex_ = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and cyclomatic(node) > MAX_COMPLEXITY
            ):
                complex_.append(f"{name}.{node.name} ({cyclomatic(node)})")
    assert not complex_, f"functions over cyclomatic complexity {MAX_COMPLEXITY}: {complex_}"


def test_every_public_function_and_class_says_what_it_is():
    missing = []
    for name, path in MODULES.items():
        for node in ast.parse(path.read_text()).body:
            public = isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_")
            if public and not ast.get_docstring(node):
                missing.append(f"{name}.{node.name}")
    assert not missing, f"public functions and classes without a one-line docstring: {missing}"
