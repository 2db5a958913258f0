"""`skanalyze model`: the user's own PyTorch model read in the notation; its flags are parsed and checked
for contradictions in one options object (ModelOptions) before any work."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Annotated

import typer

from ..core.errors import SkanalyzeError
from .common import (
    FormatOpt,
    JsonOpt,
    MemoryOpt,
    output_format,
)


def model(
    target: Annotated[
        str,
        typer.Argument(help="FILE.py:NAME or package.module:NAME: an nn.Module or a function returning one."),
    ],
    input_shape: Annotated[str, typer.Option("--input", help="Input shape N x C x H x W.")] = "1x3x224x224",
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    csv_out: Annotated[
        bool, typer.Option("--csv", help="Print CSV: one row per layer (the same as --format csv).")
    ] = False,
    conventions: Annotated[
        list[str] | None,
        typer.Option(
            "--convention",
            help="Also rebuild another counter's total line by line: skanalyze, torch, fvcore, ptflops, ptflops-aten, thop "
            "or all (repeat or comma-separate).",
        ),
    ] = None,
    suggest: Annotated[
        bool,
        typer.Option(
            "--suggest", help="Also each unit's replacements by the paper's designs, and what they buy."
        ),
    ] = False,
    closed_form: Annotated[
        bool,
        typer.Option(
            "--closed-form", help="Also params and MACs in a width multiplier alpha_w and the input size."
        ),
    ] = False,
    budget: Annotated[
        str | None,
        typer.Option("--budget", help="With --closed-form: the widest alpha_w within these params."),
    ] = None,
    resolution: Annotated[
        str | None, typer.Option("--resolution", help="With --closed-form: the MACs at another input H x W.")
    ] = None,
    plot: Annotated[
        str | None,
        typer.Option("--plot", help="With --closed-form: write params and MACs vs alpha_w (PNG/SVG/PDF)."),
    ] = None,
    macs: Annotated[
        bool, typer.Option("--macs", help="--budget counts MACs (at --resolution, else at the --input size).")
    ] = False,
    width_arg: Annotated[
        str | None,
        typer.Option(
            "--width-arg",
            help="With --closed-form --budget: also the widest width by the model's own rule: TARGET's function "
            "called with this keyword (e.g. width_mult), its rounding included.",
        ),
    ] = None,
    width_step: Annotated[
        str,
        typer.Option(
            "--width-step", help="With --width-arg: the grid of widths searched, e.g. 1/64 (default 1/100)."
        ),
    ] = "1/100",
    apply_design: Annotated[
        str | None,
        typer.Option(
            "--apply",
            help="Rebuild the model with this design in place of every unit (one kernel such as SSC(4), "
            "SCC(mode=space), Line: in place of every standard spatial conv); print predicted and measured counts.",
        ),
    ] = None,
    apply_stem: Annotated[
        bool, typer.Option("--apply-stem", help="With --apply of one kernel: replace the stem's conv too.")
    ] = False,
    train_mode: Annotated[
        bool,
        typer.Option(
            "--train-mode",
            help="Trace in training mode (auxiliary heads, batch statistics); default: eval mode, as the "
            "peers count. Your module is never changed: a copy is traced.",
        ),
    ] = False,
    latency: Annotated[
        bool,
        typer.Option(
            "--latency",
            help="Also time the model on this CPU, end to end and per module (a copy, eval mode), beside "
            "each layer's roofline prediction on --profile.",
        ),
    ] = False,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            help="With --latency or --suggest: a device profile (file or shipped name) to predict times on.",
        ),
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", help="With --latency: torch's CPU threads.")
    ] = None,
    repeats: Annotated[
        int | None,
        typer.Option("--repeats", help="With --latency: timed forward passes (median; default 10)."),
    ] = None,
    max_memory: MemoryOpt = None,
) -> None:
    """Read your own PyTorch model in the notation: per-layer params and MACs, design units and their fields."""
    from . import checks

    options = ModelOptions.parse(
        fmt=output_format("model", fmt, json_out, csv=csv_out),
        input_shape=input_shape,
        conventions=conventions,
        suggest=suggest,
        closed_form=closed_form,
        budget=budget,
        resolution=resolution,
        plot=plot,
        macs=macs,
        width_arg=width_arg,
        width_step=width_step,
        apply_design=apply_design,
        apply_stem=apply_stem,
        train_mode=train_mode,
        latency=latency,
        profile=profile,
        threads=threads,
        repeats=repeats,
        max_memory=max_memory,
    )
    checks.need_torch("model")
    from ..render import render

    typer.echo(render("model", run(target, options), options.fmt), nl=False)


@dataclass(frozen=True)
class ModelOptions:
    """The flags of `skanalyze model`, parsed and checked against each other (before torch is imported)."""

    fmt: str
    shape: tuple
    conventions: tuple = ()
    suggest: bool = False
    closed_form: bool = False
    budget: int | None = None
    resolution: tuple | None = None
    plot: str | None = None
    macs: bool = False
    width_arg: str | None = None
    width_step: Fraction = Fraction(1, 100)
    apply_design: str | None = None
    apply_stem: bool = False
    train_mode: bool = False
    latency: bool = False
    profile: str | None = None
    threads: int | None = None
    repeats: int | None = None  # None: 10
    max_memory: str | None = None

    @classmethod
    def parse(cls, *, fmt, input_shape, conventions, budget, resolution, width_step, **flags) -> ModelOptions:
        """The options from the command line's values; a contradiction or a malformed value is an error."""
        from . import targets
        from .parsing import parse_budget, parse_resolution, parse_width_step

        shape = targets.parse_input(input_shape)
        extras = [f for f, on in (("--closed-form", flags["closed_form"]), ("--suggest", flags["suggest"]),
                                  ("--convention", conventions), ("--apply", flags["apply_design"]),
                                  ("--latency", flags["latency"])) if on]  # fmt: skip
        _check_latency_flags(**flags)
        if flags["apply_stem"] and flags["apply_design"] is None:
            raise SkanalyzeError("--apply-stem needs --apply KERNEL")
        if fmt == "csv" and extras:
            raise SkanalyzeError(
                f"--csv prints the per-layer table only; {extras[0]} needs the text or --json output"
            )
        _check_closed_form_flags(budget, resolution, width_step, **flags)
        step = parse_width_step(width_step)
        if flags["plot"]:
            from ..core.outputs import PLOT_FORMATS, writable_file

            writable_file(flags["plot"], "--plot", PLOT_FORMATS)  # before any work
        return cls(
            fmt,
            shape,
            parse_conventions(conventions),
            budget=parse_budget(budget) if budget is not None else None,
            resolution=parse_resolution(resolution) if resolution is not None else None,
            width_step=step,
            **flags,
        )


def _check_latency_flags(*, latency, profile, threads, repeats, train_mode, max_memory, suggest, **_) -> None:
    from ..analyses.profiles import check_threads, load_profile
    from ..core.memory import parse_bytes

    flags = (("--threads", threads), ("--repeats", repeats is not None), ("--max-memory", max_memory))
    given = [flag for flag, on in flags if on]
    if profile is not None and not (latency or suggest):
        raise SkanalyzeError(
            "--profile belongs to --latency (time the model) or --suggest (time replacements)"
        )
    if given and not latency:
        raise SkanalyzeError(f"{given[0]} belongs to --latency (time the model); add --latency")
    if latency and train_mode:
        raise SkanalyzeError("--latency times the model in eval mode; drop --train-mode")
    if repeats is not None and repeats < 1:
        raise SkanalyzeError(f"--repeats {repeats} must be a positive integer")
    check_threads(threads)
    if profile is not None:
        load_profile(profile)  # a missing or unreadable profile is an error before any work
    if max_memory is not None:
        parse_bytes(max_memory)


def _check_closed_form_flags(budget, resolution, width_step, **flags) -> None:
    if flags["macs"] and budget is None:
        raise SkanalyzeError("--macs needs --budget (the MACs budget)")
    given = (("--budget", budget), ("--resolution", resolution), ("--plot", flags["plot"]))
    needs = [flag for flag, value in given if value]
    if needs and not flags["closed_form"]:
        raise SkanalyzeError(f"{needs[0]} needs --closed-form")
    width_arg = flags["width_arg"]
    if width_arg is not None and budget is None:
        raise SkanalyzeError("--width-arg needs --closed-form and --budget (the widest width under a budget)")
    if width_step != "1/100" and width_arg is None:
        raise SkanalyzeError("--width-step needs --width-arg")
    if width_arg is not None and not width_arg.isidentifier():
        raise SkanalyzeError(f"--width-arg {width_arg!r} must be a keyword argument name, e.g. width_mult")


def parse_conventions(items: list[str] | None) -> tuple:
    """--convention's names as given (repeated or comma-separated); an empty one is an error. They are checked
    against the peers' rule tables once torch is imported (convention_names)."""
    names = tuple(c.strip() for item in items or [] for c in item.split(",") if c.strip())
    if items is not None and not names:
        raise SkanalyzeError(
            "--convention is empty; valid: skanalyze, torch, fvcore, ptflops, ptflops-aten, thop, all"
        )
    return names


def convention_names(names: tuple) -> tuple:
    """The conventions asked for, each checked, in order, once (all: every one)."""
    from ..nn.importer import CONVENTIONS

    for name in names:
        if name not in (*CONVENTIONS, "all"):
            raise SkanalyzeError(f"--convention {name!r} is unknown; valid: {', '.join(CONVENTIONS)}, all")
    return CONVENTIONS if "all" in names else tuple(dict.fromkeys(names))


def run(target: str, options: ModelOptions) -> dict:
    """The report of `skanalyze model`: the traced model, and what the options add to it."""
    from ..nn import importer
    from . import targets

    conventions = convention_names(options.conventions)
    module = targets.load(target, importer.is_module)
    model_ = importer.from_module(module, options.shape, training=options.train_mode)
    data = importer.report(model_, target, conventions)
    if options.closed_form:
        data["closed_form"] = _closed_form(target, module, model_, options)
    if options.suggest:
        from ..analyses.profiles import load_profile

        chosen = load_profile(options.profile) if options.profile is not None else None
        data["suggestions"] = importer.suggest(model_, profile=chosen)
    if options.apply_design is not None:
        from ..nn import measure, rebuild

        applied = rebuild.apply(
            module, options.apply_design, options.shape, stem=options.apply_stem, model=model_
        )
        data["applied"] = rebuild.report(applied)
        data["applied"]["measured"] = {
            "params": measure.count_params(applied.module),
            "macs": measure.count_macs_meta(applied.module, options.shape),
        }
    if options.latency:
        from ..analyses.profiles import load_profile
        from ..core.memory import check
        from ..nn.model_latency import memory_needed, time_model
        from .checks import memory_limit

        limit = memory_limit(options.max_memory)
        needed = memory_needed(model_.layers, model_.params)
        check(needed, limit, f"model --latency {target}", given=options.max_memory is not None)
        chosen = load_profile(options.profile) if options.profile is not None else None
        data["latency"] = time_model(
            module,
            options.shape,
            model_.layers,
            profile=chosen,
            repeats=options.repeats or 10,
            threads=options.threads,
        )
    return data


def _closed_form(target: str, module, model_, options: ModelOptions) -> dict:
    """--closed-form: params and MACs in alpha_w and the input size, the widest under a budget, the plot."""
    from ..nn import importer
    from . import targets

    shape, size, budget = options.shape, options.resolution, options.budget
    forms = importer.closed_forms(model_, module)
    report = importer.closed_form_report(forms, model_, budget, size, macs=options.macs)
    if budget is not None and options.width_arg is None:
        report["widest"]["built"] = importer.check_widest(
            targets.maybe_factory(target, importer.is_module), report["widest"], shape
        )
    if options.width_arg is not None:
        fn = targets.factory(target, importer.is_module)
        at = (shape[0], shape[1], *(size or shape[2:]))
        report["own_rule"] = importer.own_width_rule(
            fn, options.width_arg, at, budget, macs=options.macs, step=options.width_step,
            label=target.rpartition(":")[2],
        )  # fmt: skip
    if options.plot:
        from ..analyses.figures import scaling_data
        from ..render import plots

        data = scaling_data(forms.params, forms.macs, size or shape[2:], step=report["alpha_w_step"])
        plots.save(plots.model_scaling(target.rpartition(":")[2], data), options.plot)
    return report
