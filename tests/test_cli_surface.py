"""One surface: a flag a command would ignore, or two that contradict, is a one-line error (exit 2); a
--bottleneck substitutes into K everywhere K appears."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parents[1]


def test_bottleneck_substitutes_into_every_formula(cli):
    code, out, err = cli("formulas", "pw-dw-pw", "--bottleneck", "6*C", "--json")
    assert code == 0, err
    row = json.loads(out)["rows"][0]
    C, F, H, W = sp.symbols("C F H W")
    params = sp.sympify(row["params"], locals={"C": C, "F": F})
    assert "K" not in row["params"] and "K" not in row["macs"]
    # PW C -> 6C, DW 3x3 on 6C, PW 6C -> F, written out by hand
    by_hand = C * 6 * C + 9 * 6 * C + 6 * C * F
    assert sp.expand(params - by_hand) == 0
    code, out, _ = cli(
        "formulas", "pw-dw-pw", "--bottleneck", "6*C", "--subs", "C=8", "F=16", "H=1", "W=1", "--json"
    )
    assert json.loads(out)["rows"][0]["params"] == 8 * 48 + 9 * 48 + 48 * 16
    code, out, _ = cli("formulas", "pw-dw-pw")  # without --bottleneck, K stays a symbol beside K = F/4
    lines = {ln.split("=")[0].strip(): ln.split("=", 1)[1].strip() for ln in out.splitlines() if " = " in ln}
    assert "K" in lines["params"] and lines["K"] == "F/4"


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("formulas", "dw-pw", "--bottleneck", "6*C"), "--bottleneck 6*C: DW+PW has no bottleneck K"),
        (("formulas", "dw-pw", "gconv-pwgconv", "--bottleneck", "64"), "have no bottleneck K"),
        (("efficiency", "dw-pw", "--bottleneck", "6*C"), "has no bottleneck K"),
        (("optimize", "dw-pw", "--budget", "1M", "--bottleneck", "6*C"), "has no bottleneck K"),
        (("plot", "width", "--designs", " , ", "--out", "x.png"), "--designs is empty"),
        (("train", "--designs", ""), "--designs is empty"),
        (("train", "--seeds", "many"), "--seeds 'many' must be a positive integer or auto"),
        (("train", "--effect", "1"), "--effect is the slope --seeds auto powers the experiment for"),
        (("train", "--shard", "3/2"), "--shard 3/2 must be I/N with 1 <= I <= N"),
        (("optimize", "dw-pw", "--budget", "1M", "--hw", "56"), "--hw is the output size of a MAC budget"),
        (("tables", "--json", "--markdown"), "--json and --markdown contradict each other"),
        (
            ("model", "examples/models.py:resnet18", "--json", "--csv"),
            "--json and --csv contradict each other",
        ),
        (("model", "examples/models.py:resnet18", "--format", "csv", "--json"), "contradict each other"),
    ],
)
def test_ignored_or_contradicting_flags(cli, tmp_path, monkeypatch, args, fragment):
    import pathlib

    args = tuple(str(pathlib.Path(__file__).parents[1] / a) if a.startswith("examples/") else a for a in args)
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*args)
    assert code == 2 and fragment in err and not out and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.png").exists()


def test_format_everywhere(cli):
    """Every command takes --format and --json and names its formats when one is unknown."""
    from skanalyze.cli.app import app

    names = {c.name or c.callback.__name__ for c in app.registered_commands} - {"plot"}
    for name in sorted(names):
        args = {
            "verify": ("dw-pw",),
            "efficiency": ("dw-pw",),
            "optimize": ("dw-pw", "--budget", "1M"),
            "field": ("dw-pw",),
            "network": ("dw-pw", "--width", "8"),
            "model": ("examples/models.py:resnet18",),
            "train-summarize": ("results/cpu-reduced",),
            "device": ("show", "h100-sxm-datasheet"),
            "latency": ("dw-pw",),
        }.get(name, ())
        args = tuple(str(ROOT / a) if a.startswith(("examples/", "results/")) else a for a in args)
        code, _, err = cli(name, *args, "--format", "nope")
        assert code == 2 and "format 'nope' is unknown; valid: " in err, (name, err)


@pytest.mark.parametrize(
    "args, rows_of",
    [
        (
            ("network", "dw-pw", "--width", "64"),
            lambda d: [{"part": k, "params": v} for k, v in d["params"].items()],
        ),
        (
            ("space", "--max-length", "3"),
            lambda d: [{"stage": s["name"], "remaining": s["remaining"]} for s in d["stages"]],
        ),
        (("designs",), lambda d: d["rows"]),
        (("tables",), lambda d: d["rows"]),
    ],
    ids=["network", "space", "designs", "tables"],
)
def test_csv_for_every_table(cli, args, rows_of):
    """--format csv parses back (RFC 4180) to the same rows and integers as --json."""
    import csv
    import io

    code, out, err = cli(*args, "--format", "csv")
    assert code == 0, err
    table = list(csv.DictReader(io.StringIO(out)))
    code, js, _ = cli(*args, "--json")
    expected = rows_of(json.loads(js))
    assert len(table) == len(expected)
    for got, want in zip(table, expected, strict=True):
        for key, value in want.items():
            if isinstance(value, (int, str)) and not isinstance(value, bool):
                assert got[key] == str(value), (key, got[key], value)


def test_the_api_takes_what_users_pass():
    """String keys, the user's own sympy symbols and plain ints give the same answers as ours; a key the
    design has no symbol for is an error, not a silently symbolic result."""
    import skanalyze as sk
    from skanalyze.core.errors import SkanalyzeError

    d = sk.resolve("gconv-pwgconv")
    ours = {sk.parse("Conv").layers[0].c_in: 64}  # C, positive
    mine = {sp.Symbol("C"): 64, sp.Symbol("F"): 64, sp.Symbol("M"): 8, sp.Symbol("N"): 8}
    named = {"C": 64, "F": 64, "M": 8, "N": 8}
    assert ours  # the project's C is a positive symbol; the user's is not
    assert sk.field(d, mine).c == sk.field(d, named).c == 64
    assert sk.params_at(d, mine) == sk.params_at(d, named) == 9 * 64 * 64 // 8 + 64 * 64 // 8
    assert [(lay.c_in, lay.c_out) for lay in d.at(named)] == [(64, 64)] * 3
    with pytest.raises(SkanalyzeError, match="has no symbol Q"):
        sk.field(d, {"Q": 3})
    with pytest.raises(SkanalyzeError, match="GConv group number"):
        d.validate({"C": 64, "F": 64, "M": 3, "N": 8})


def test_notebook_reprs():
    """Designs, efficiency results and the tables render themselves in Jupyter (LaTeX, Markdown, HTML)."""
    import skanalyze as sk

    d = sk.resolve("pw-dw-pw")
    assert d._repr_latex_() == r"$\text{PW+DW+PW}$"
    assert "| `DW` |" in d._repr_markdown_() and "<code>PW+DW+PW</code>" in d._repr_html_()
    e = sk.efficiency(sk.resolve("gconv-pwgconv"))
    latex = e._repr_latex_()
    assert latex.startswith(r"$$\begin{aligned}") and latex.endswith(r"\end{aligned}$$")
    assert r"M N = C" in latex and "| optimum on | `M*N = C` |" in e._repr_markdown_()
    table = sk.paper_tables()._repr_markdown_()
    assert table.count("\n") == len(sk.paper_tables().verdicts) + 2


def test_dir_lists_the_public_api():
    import skanalyze as sk

    assert set(sk.__all__) <= set(dir(sk))
    assert {"efficiency", "optimize", "best_at_width", "ranked_at", "paper_tables", "apply", "Layout"} <= set(
        sk.__all__
    )


class _Terminal:
    """A stderr that says it is a terminal (and keeps what is written)."""

    def __init__(self):
        import io

        self.buffer = io.StringIO()

    def write(self, text):
        return self.buffer.write(text)

    def flush(self):
        pass

    def isatty(self):
        return True


def test_long_jobs_show_a_rich_bar_on_a_terminal_only(monkeypatch):
    import sys

    from skanalyze.analyses.space import reduce_space
    from skanalyze.cli.progress import bar

    with bar(True, "design space") as on_step:  # stderr is not a terminal here: no bar, no output
        assert on_step is None
    fake = _Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    with bar(True, "design space") as on_step:
        reduce_space(max_length=3, on_step=on_step)
    assert "design space" in fake.buffer.getvalue()
    with bar(False, "design space") as on_step:  # a short job: no bar
        assert on_step is None


def test_shell_completion(monkeypatch, capsys):
    """--show-completion prints a script; the completion protocol completes command names."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "skanalyze", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0 and "complete -o default -F _skanalyze_completion skanalyze" in out.stdout
    env = {"_SKANALYZE_COMPLETE": "complete_bash", "COMP_WORDS": "skanalyze for", "COMP_CWORD": "1"}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from skanalyze.cli import main; sys.argv = ['skanalyze']; sys.exit(main())",
        ],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, **env},
        check=False,
    )
    assert done.stdout.split() == ["formulas"]


@pytest.mark.parametrize(
    "args, marker",
    [
        (["--show-completion", "bash"], "complete -o default -F _skanalyze_completion skanalyze"),
        (["--show-completion=zsh"], "#compdef skanalyze"),
        (["--show-completion", "fish"], "complete --command skanalyze"),
    ],
)
def test_a_named_shell_is_the_shell_shown(args, marker, capsys):
    """The shell named is the one whose script is printed, whatever shell runs the command."""
    from skanalyze.cli import main

    assert main(args) == 0
    assert marker in capsys.readouterr().out


def _without_a_shell(args, home):
    """The CLI in a process where shell detection finds no shell (as under cron or an IDE runner)."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, shellingham\n"
        "def fail(*a, **k): raise shellingham.ShellDetectionFailure()\n"
        "shellingham.detect_shell = fail\n"
        "from skanalyze.cli import main\n"
        f"sys.exit(main({args!r}))\n"
    )
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--show-completion"], "could not detect your shell; name it: --show-completion SHELL, one of bash"),
        (["--install-completion"], "could not detect your shell; name it: --install-completion SHELL"),
        (["--show-completion", "tcsh"], "shell 'tcsh' is not supported; one of bash, zsh, fish, powershell"),
        (["--show-completion", "bash", "zsh"], "takes one shell at most, not 'bash zsh'"),
    ],
)
def test_completion_without_a_usable_shell_is_one_line(args, says, tmp_path):
    """No shell to detect, an unknown shell or two shells: one line naming what is valid, exit 2, nothing
    written (typer alone printed 'Shell  not supported.' with exit 1, or ignored the shell named)."""
    out = _without_a_shell(args, tmp_path)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith("skanalyze: error: ") and says in out.stderr and out.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_install_completion_where_home_is_not_writable(tmp_path):
    """A HOME that cannot be written: one line naming the path, exit 2."""
    home = tmp_path / "file-not-dir"
    home.write_text("")
    out = _without_a_shell(["--install-completion", "zsh"], home)
    assert (out.returncode, out.stdout) == (2, "")
    assert out.stderr.startswith("skanalyze: error: --install-completion zsh: cannot write ")
    assert out.stderr.count("\n") == 1


def test_install_completion_for_a_named_shell(tmp_path):
    """--install-completion bash installs where bash reads it, under HOME, without detecting a shell."""
    out = _without_a_shell(["--install-completion", "bash"], tmp_path)
    assert out.returncode == 0, out.stderr
    script = tmp_path / ".bash_completions" / "skanalyze.sh"
    assert f"bash completion installed in {script}" in out.stdout
    assert "_skanalyze_completion" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()


def test_one_bn_default_in_every_command(cli):
    # formulas: DW+PW at C=8, F=16, 1x1 output, by hand: 9*8 + 8*16 weights; BN after each conv adds 2*(8 + 16)
    def formulas(*flags):
        code, out, err = cli("formulas", "dw-pw", "--subs", "C=8", "F=16", "H=1", "W=1", *flags, "--json")
        assert code == 0, err
        return json.loads(out)["rows"][0]["params"]

    assert formulas() == formulas("--no-bn") == 9 * 8 + 8 * 16
    assert formulas("--bn") == 9 * 8 + 8 * 16 + 2 * (8 + 16)

    # network: the oracle is the torch network itself, its BatchNorm modules' parameters told apart by type
    torch = pytest.importorskip("torch")
    from skanalyze.analyses.layout import Layout
    from skanalyze.analyses.network import network
    from skanalyze.core import catalog
    from skanalyze.nn import build_network

    shape = ("--resolution", "32", "--classes", "10", "--blocks", "1,1,1,1")

    def total(*flags):
        code, out, err = cli("network", "dw-pw", "--width", "16", *shape, *flags, "--json")
        assert code == 0, err
        return json.loads(out)["params"]["total"]

    module = build_network(
        network(catalog.get("dw-pw"), Layout(input_size=32, classes=10, blocks=(1,) * 4)), 16
    )
    everything = sum(p.numel() for p in module.parameters())
    bn = sum(
        p.numel() for m in module.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters()
    )
    assert total() == total("--no-bn") == everything - bn
    assert total("--bn") == everything

    # verify builds BN only when asked, in both directions of the flag
    code, out, err = cli("verify", "dw-pw", "--subs", "C=8", "F=16", "H=4", "W=4", "--json")
    assert code == 0, err
    assert out == cli("verify", "dw-pw", "--subs", "C=8", "F=16", "H=4", "W=4", "--no-bn", "--json")[1]
    assert out != cli("verify", "dw-pw", "--subs", "C=8", "F=16", "H=4", "W=4", "--bn", "--json")[1]


def test_packaging_metadata():
    # the packaging list, read from pyproject.toml and the package as shipped
    import tomllib

    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith(
        "MIT License"
    )  # SPDX string
    assert (ROOT / "skanalyze" / "py.typed").exists()
    assert meta["urls"] and all(u.startswith("https://") for u in meta["urls"].values())
    (torch_spec,) = meta["optional-dependencies"]["torch"]
    assert torch_spec.startswith("torch>=") and "==" not in torch_spec  # a floor, never the user's pin
    assert not any(d.startswith("torch") for d in meta["dependencies"])  # the core installs without torch


def test_blocks_is_one_entry_per_stage(cli):
    # --blocks 2,2 is a two-stage network (not four stages, not an error); the torch network agrees
    pytest.importorskip("torch")
    code, out, err = cli(
        "network", "dw-pw", "--width", "16", "--resolution", "32", "--blocks", "2,2", "--torch", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [k for k in doc["params"] if k.startswith("stage")] == ["stage 1", "stage 2"]
    assert doc["layout"]["blocks"] == [2, 2]
    assert doc["torch"]["agrees"] and doc["torch"]["params"] == doc["params"]["total"]
    code, out, _ = cli("network", "dw-pw", "--width", "16", "--resolution", "32", "--blocks", "2,2")
    assert "blocks 2,2 " in out
