"""The command line's entry: the app, its commands in the order --help lists them (each lives in its group's
module: symbolic, plot, network, train, model, latency), the report each prints, the examples under each help
page, and main(): bad input (SkanalyzeError or a usage error) prints one line on stderr and exits 2; a
verification mismatch exits 1; Ctrl-C says what it interrupted. torch and matplotlib are imported only by the
commands that need them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

import typer

from ..core.errors import SkanalyzeError
from . import latency, model, network, plot, replay, symbolic, train

CONVENTION = (
    "Counting convention: parameters are conv weights (bias-free; BatchNorm only with --bn, in every "
    "command; `model` reads your module as it is, BN included); MACs are multiply-accumulates for an H x W "
    "output; FLOPs = 2 x MACs (torch's FlopCounterMode)."
)


app = typer.Typer(
    name="skanalyze",
    help="Symbolic efficiency analysis of sparse-kernel CNN designs. " + CONVENTION,
    add_completion=True,  # --install-completion / --show-completion (the top-level command only)
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


# Every command, in the order --help lists them: (function, name when it is not the function's, hidden).
COMMANDS = (
    (symbolic.formulas, None, False),
    (symbolic.verify, None, False),
    (symbolic.efficiency, None, False),
    (symbolic.optimize, None, False),
    (plot.plot, None, False),
    (symbolic.field, None, False),
    (symbolic.space, None, False),
    (symbolic.tables, None, False),
    (network.network, None, False),
    (train.train, None, False),
    (train.train_summarize, "train-summarize", True),  # `train summarize`: main() rewrites it
    (symbolic.compare, None, False),
    (model.model, None, False),
    (latency.device, None, False),
    (latency.latency, None, False),
    (symbolic.designs, None, False),
)
for _function, _name, _hidden in COMMANDS:
    app.command(_name, hidden=_hidden)(_function)


# The report each command prints (its --format choices are that report's printers); docs/output-formats.md's
# table and the format tests are derived from this and the app's commands, never kept by hand.
COMMAND_REPORTS = {
    "formulas": "formulas",
    "verify": "verify",
    "efficiency": "efficiency",
    "optimize": "optimize",
    "optimize --latency": "optimize_latency",
    "field": "field",
    "space": "space",
    "space --explain": "explain",
    "tables": "tables",
    "network": "network",
    "train": "training",
    "train summarize": "training",
    "compare": "compare",
    "model": "model",
    "device": "profile",
    "latency": "latency",
    "designs": "catalog",
}


FILE_ONLY = {"plot": "png, svg, pdf (by the --out file's suffix; no --format)"}


# One or two examples per help page (shown under "Examples:"; tests/test_cli_help.py runs every one of them).
EXAMPLES = {
    "formulas": [
        "skanalyze formulas",
        "skanalyze formulas gconv-pwgconv --subs C=64 F=128 M=4 --format latex",
    ],
    "verify": ["skanalyze verify gconv-pwgconv --subs C=64 F=64 M=4 N=16"],
    "efficiency": [
        "skanalyze efficiency gconv-pwgconv",
        "skanalyze efficiency gconv-pwgconv --at C=64 F=128",
    ],
    "optimize": [
        "skanalyze optimize dw-pw --budget 1M",
        "skanalyze optimize gconv-pwgconv --budget 1e9 --macs --hw 56",
    ],
    "plot": [
        "skanalyze plot width --out width-vs-params.png",
        "skanalyze plot ratio gconv-pwgconv --c 256 --out ratio.svg",
    ],
    "field": ["skanalyze field gconv-pwgconv --subs C=64 F=64 M=4 N=16"],
    "space": ["skanalyze space", "skanalyze space --explain DW+PW"],
    "tables": ["skanalyze tables"],
    "network": ["skanalyze network dw-pw --width 64", "skanalyze network dw-pw --budget 11.2M"],
    "train": [
        "skanalyze train --budget 50k --epochs 4 --seeds 3",
        "skanalyze train summarize results/decisive",
    ],
    "train-summarize": ["skanalyze train summarize results/decisive"],
    "compare": ["skanalyze compare --budget 1M"],
    "model": [
        "skanalyze model examples/models.py:resnet18 --input 1x3x224x224",
        "skanalyze model examples/models.py:mobilenet_v2 --suggest",
    ],
    "device": [
        "skanalyze device show h100-sxm-datasheet",
        "skanalyze device calibrate --out this-machine.json",
    ],
    "latency": ["skanalyze latency dw-pw --subs C=64 F=64 --hw 28"],
    "designs": ["skanalyze designs"],
}


OVERVIEW = """skanalyze: symbolic efficiency analysis of sparse-kernel CNN designs (group, depthwise, pointwise,
shuffle, bottleneck), after "Penetrating the Fog".

Start with one of these:
  skanalyze formulas                        closed-form params, MACs and ratios of the paper's designs
  skanalyze optimize dw-pw --budget 1M      the widest layer a parameter budget buys
  skanalyze model FILE.py:NAME              your own PyTorch model, read in the notation

Every command: skanalyze --help; one command: skanalyze COMMAND --help (each with examples).
"""


def _examples() -> None:
    """Put each command's examples under its help text."""
    for info in app.registered_commands:
        name = info.name or info.callback.__name__.replace("_", "-")
        lines = EXAMPLES.get(name, [])
        info.epilog = "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines) if lines else None


def _command_for(argv: list[str]):
    """The click command to run: only the requested subcommand is built (building all costs ~50 ms)."""
    name = argv[0] if argv and not argv[0].startswith("-") else None
    for info in app.registered_commands:
        if name is not None and (info.name or info.callback.__name__.replace("_", "-")) == name:
            single = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
            single.registered_commands.append(info)
            shown = "train summarize" if name == "train-summarize" else name
            return typer.main.get_command(single), argv[1:], f"skanalyze {shown}"
    return typer.main.get_command(app), argv, "skanalyze"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (bad input: one line on stderr, exit 2)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        from .. import __version__

        typer.echo(f"skanalyze {__version__}")
        return 0
    if not argv and "_SKANALYZE_COMPLETE" not in os.environ:  # an overview (not during shell completion)
        typer.echo(OVERVIEW, nl=False)
        return 0
    if argv and argv[0].split("=")[0] in COMPLETION_OPTIONS:
        return _completion(argv)
    if argv[:2] == ["train", "summarize"]:  # a subcommand of train, without making train a group
        argv = ["train-summarize", *argv[2:]]
    if replay.enabled() and replay.cacheable(argv):
        return _replayed(argv)
    return _run(argv)


COMPLETION_OPTIONS = ("--show-completion", "--install-completion")


def _completion(argv: list[str]) -> int:
    """--show-completion / --install-completion [SHELL]: the shell named, else the one detected; typer alone would
    ignore a named shell and, where it cannot detect one (no shell above this process), exit 1."""
    from typer.completion import Shells, get_completion_script, install  # imported with typer already

    shells = [s.value for s in Shells]
    option, _, value = argv[0].partition("=")
    rest = ([value] if value else []) + argv[1:]
    if len(rest) > 1:
        typer.echo(f"skanalyze: error: {option} takes one shell at most, not {' '.join(rest)!r}", err=True)
        return 2
    shell = rest[0] if rest else _detected_shell()
    if shell is None:
        typer.echo(
            f"skanalyze: error: could not detect your shell; name it: {option} SHELL, one of "
            f"{', '.join(shells)}",
            err=True,
        )
        return 2
    if shell not in shells:
        typer.echo(
            f"skanalyze: error: {option}: shell {shell!r} is not supported; one of {', '.join(shells)}",
            err=True,
        )
        return 2
    names = {"prog_name": "skanalyze", "complete_var": "_SKANALYZE_COMPLETE"}
    if option == "--show-completion":
        typer.echo(get_completion_script(shell=shell, **names))
        return 0
    try:
        shell, path = install(shell=shell, **names)
    except OSError as err:  # typer writes the script and the shell's rc file under HOME
        typer.echo(
            f"skanalyze: error: {option} {shell}: cannot write {err.filename!r} ({err.strerror})", err=True
        )
        return 2
    typer.echo(
        f"{shell} completion installed in {path}\nCompletion will take effect once you restart the terminal"
    )
    return 0


def _detected_shell() -> str | None:
    """The shell this process runs under, by shellingham (typer's own detection), or None."""
    try:
        import shellingham

        return shellingham.detect_shell()[0]
    except Exception:  # noqa: BLE001 - shellingham missing or no shell above this process: ask for its name
        return None


def _replayed(argv: list[str]) -> int:
    """A pure command: its kept output, or a run whose output is kept when it ends well and says nothing on
    stderr."""
    if replay.replayed(argv):
        return 0
    out, err = replay.Tee(sys.stdout), replay.Tee(sys.stderr)
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _run(argv)
    if code == 0 and not err.copy.getvalue():
        replay.keep(argv, out.copy.getvalue())
    return code


def _run(argv: list[str]) -> int:
    """Run one command line (argv without the program name)."""
    command, args, prog = _command_for(argv)
    interrupted = []

    def on_sigint(signum, frame):  # typer turns Ctrl-C into a silent exit code 130: remember that it came
        interrupted.append(True)
        signal.default_int_handler(signum, frame)

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if main_thread else None
    try:
        result = command.main(args=args, prog_name=prog, standalone_mode=False)
    except SkanalyzeError as err:
        typer.echo(f"skanalyze: error: {err}", err=True)
        return 2
    except typer.Exit as err:
        return _interrupted(prog, args) if interrupted else err.exit_code
    except typer.Abort:
        typer.echo("skanalyze: aborted", err=True)
        return 130
    except typer.TyperException as err:  # usage errors: unknown option, missing argument
        typer.echo(f"skanalyze: error: {err.format_message()}", err=True)
        return 2
    except KeyboardInterrupt:
        return _interrupted(prog, args)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
    if interrupted:
        return _interrupted(prog, args)
    return result if isinstance(result, int) else 0


def _interrupted(prog: str, args: list[str]) -> int:
    """Ctrl-C: say in one line what stopped and what was written (files are written only when a command is
    done, atomically; train has already said which runs finished and how to resume)."""
    name = prog if prog != "skanalyze" else f"skanalyze {args[0]}" if args else prog
    if name == "skanalyze train":
        typer.echo("skanalyze: interrupted: skanalyze train stopped (its finished runs are saved)", err=True)
    else:
        typer.echo(
            f"skanalyze: interrupted: {name} stopped before it finished; nothing was written (files are "
            "written whole, only when a command is done)",
            err=True,
        )
    return 130


_examples()
