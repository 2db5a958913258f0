"""`skanalyze device` and `skanalyze latency`: device profiles (calibrate, show) and a design timed beside its
roofline prediction."""

from __future__ import annotations

from typing import Annotated

import typer

from ..core import symbols as S
from ..core.errors import SkanalyzeError
from .common import (
    BottleneckOpt,
    DesignArg,
    FormatOpt,
    JsonOpt,
    MemoryOpt,
    ShuffleOpt,
    SubsOpt,
    ValuesArg,
    chosen_design,
    output_format,
    split_args,
    with_hw,
)

ThreadsOpt = Annotated[int | None, typer.Option("--threads", help="Torch CPU threads (fixed while timing).")]


DeviceOpt = Annotated[str, typer.Option("--device", help="cpu | cuda | auto")]


def device(
    action: Annotated[str, typer.Argument(help="calibrate: measure this machine | show: print a profile")],
    profile: Annotated[
        str | None, typer.Argument(help="With show: a profile file or a shipped profile's name.")
    ] = None,
    out: Annotated[
        str | None, typer.Option("--out", help="With calibrate: write the profile (JSON) here.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="With calibrate: the profile's name.")] = None,
    threads: ThreadsOpt = None,
    device_name: DeviceOpt = "cpu",
    quick: Annotated[
        bool, typer.Option("--quick", help="With calibrate: smaller micro-benchmarks (faster, noisier).")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="With calibrate: save the profile even when its numbers cannot be trusted."
        ),
    ] = False,
    batch: Annotated[
        int | None,
        typer.Option("--batch", help="With calibrate: the batch the micro-benchmarks run at (default 1)."),
    ] = None,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A roofline device profile: measure this machine's peak MAC rate, bandwidth and per-layer overhead, or
    show a profile (shipped: h100-sxm-datasheet)."""
    from ..analyses.profiles import (
        check_threads,
        load_profile,
        positive_batch,
        profile_dict,
        shipped_profiles,
    )
    from ..core.outputs import write_text
    from ..render import render
    from . import checks

    fmt = output_format("profile", fmt, json_out)
    if action not in ("calibrate", "show"):
        raise SkanalyzeError(f"device {action!r} is unknown; valid: calibrate, show")
    if action == "show":
        extra = [
            flag
            for flag, v in (("--out", out), ("--name", name), ("--threads", threads), ("--batch", batch))
            if v is not None
        ]
        extra += ["--quick"] if quick else []
        extra += ["--force"] if force else []
        if extra:
            raise SkanalyzeError(f"{extra[0]} is an option of device calibrate, not device show")
        if profile is None:
            raise SkanalyzeError(
                f"device show needs a profile: a file or one of {', '.join(shipped_profiles())}"
            )
        typer.echo(render("profile", profile_dict(load_profile(profile)), fmt), nl=False)
        return
    if profile is not None:
        raise SkanalyzeError(
            f"device calibrate takes no profile argument (got {profile!r}); --out FILE writes one"
        )
    if out is not None:
        from ..core.outputs import writable_file

        writable_file(out, "profile file", (".json",))
    check_threads(threads)  # before torch is needed
    batch = positive_batch(1 if batch is None else batch)
    nn = checks.need_torch("device calibrate")
    result = profile_dict(
        nn.calibrate(threads=threads, device=device_name, name=name, quick=quick, batch=batch)
    )
    problems = result["details"].get("warnings") or []
    if out is not None and problems and not force:
        raise SkanalyzeError(
            f"calibration not saved to {out}: {problems[0]}"
            + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else "")
            + "; calibrate on a quiet machine, or --force saves it with the warnings recorded"
        )
    if out is not None:
        import json

        write_text(out, json.dumps(result, indent=2) + "\n", "profile file")
    typer.echo(render("profile", {**result, "written": out}, fmt), nl=False)


def latency(
    design: DesignArg,
    values: ValuesArg = None,
    subs: SubsOpt = None,
    hw: Annotated[int | None, typer.Option("--hw", help="Output size H = W.")] = None,
    batch: Annotated[int, typer.Option("--batch", help="Batch size.")] = 1,
    threads: ThreadsOpt = 1,
    device_name: DeviceOpt = "cpu",
    repeats: Annotated[int, typer.Option("--repeats", help="Timed calls (median and IQR).")] = 20,
    warmup: Annotated[int, typer.Option("--warmup", help="Untimed calls first.")] = 3,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="A profile (file or shipped name): also predict the latency."),
    ] = None,
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
    bottleneck: BottleneckOpt = None,
    shuffle: ShuffleOpt = None,
    max_memory: MemoryOpt = None,
) -> None:
    """Time the design's torch module (warm-up, median of repeats, IQR, fixed threads), beside its MACs, bytes
    and, with --profile, the roofline prediction."""
    from ..analyses.profiles import check_threads, load_profile
    from ..analyses.reports import complete_values, require_values
    from ..render import render
    from . import checks

    fmt = output_format("latency", fmt, json_out)
    check_threads(threads)  # before torch is needed
    if batch < 1 or repeats < 1 or warmup < 0:
        raise SkanalyzeError(
            f"--batch ({batch}) and --repeats ({repeats}) must be >= 1, --warmup ({warmup}) >= 0"
        )
    d = chosen_design(design, bottleneck, shuffle)
    _, vals = split_args(values, subs)
    vals = with_hw(vals, hw)
    require_values(d, vals, "latency")
    missing = [n for n in ("H", "W") if getattr(S, n) not in vals]
    if missing:
        raise SkanalyzeError(f"latency needs the output size: --hw 56 (or --subs {'=56 '.join(missing)}=56)")
    vals = complete_values(d, vals)
    chosen = load_profile(profile) if profile is not None else None
    checks.guard_design(d, {**vals}, max_memory, f"latency {d.notation!r}")
    nn = checks.need_torch("latency")
    data = nn.latency_report(
        d,
        vals,
        batch=batch,
        threads=threads,
        device=device_name,
        warmup=warmup,
        repeats=repeats,
        profile=chosen,
    )
    typer.echo(render("latency", data, fmt), nl=False)
