"""`skanalyze train` and `skanalyze train summarize`: the accuracy-vs-width experiment and the summary of a
folder of its runs."""

from __future__ import annotations

from typing import Annotated

import typer

from ..core.errors import SkanalyzeError
from .common import (
    DesignsOpt,
    FormatOpt,
    JsonOpt,
    output_format,
)
from .parsing import parse_shard

DEFAULT_TRAIN = ("standard", "dw-pw", "gconv-pwgconv", "pw-dw-pw", "pwgconv-dw-pwgconv")


def train(
    designs: DesignsOpt = None,
    budget: Annotated[
        str, typer.Option("--budget", help="Parameter budget of every network (e.g. 100k).")
    ] = "100k",
    epochs: Annotated[int, typer.Option("--epochs")] = 10,
    seeds: Annotated[
        str,
        typer.Option(
            "--seeds",
            help="Seeds per design (0 .. S-1), or auto: a 3-seed pilot, then the seeds the power table asks for.",
        ),
    ] = "3",
    effect: Annotated[
        float | None,
        typer.Option(
            "--effect", help="With --seeds auto: the slope to detect, points per doubling (default 1)."
        ),
    ] = None,
    limit_train: Annotated[
        int | None, typer.Option("--limit-train", help="Use the first N training images.")
    ] = None,
    limit_test: Annotated[
        int | None, typer.Option("--limit-test", help="Use the first N test images.")
    ] = None,
    device: Annotated[str, typer.Option("--device", help="auto | cpu | cuda")] = "auto",
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Folder of per-run results (reruns resume from it); default: runs/<budget>-<epochs>-<hash of the settings>.",
        ),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Folder with the four IDX files (default: Debian's Fashion-MNIST)."),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 128,
    lr: Annotated[float, typer.Option("--lr")] = 0.1,
    schedule: Annotated[str, typer.Option("--schedule", help="cosine | step")] = "cosine",
    augment: Annotated[
        bool, typer.Option("--augment/--no-augment", help="Random crop (pad 2) and flip.")
    ] = True,
    blocks: Annotated[str, typer.Option("--blocks", help="Blocks per stage of the 28x28 layout.")] = "1,1,1",
    bn: Annotated[
        bool,
        typer.Option("--bn/--no-bn", help="The budget counts BatchNorm parameters (BN is always built)."),
    ] = False,
    plot: Annotated[
        str | None, typer.Option("--plot", help="Also write accuracy vs width (PNG/SVG/PDF).")
    ] = None,
    shard: Annotated[
        str, typer.Option("--shard", help="Train only slice I of N (1-based), e.g. 2/8 for a job array task.")
    ] = "1/1",
    threads: Annotated[int | None, typer.Option("--threads", help="Torch threads of this process.")] = None,
    precision: Annotated[
        str, typer.Option("--precision", help="auto (bf16 autocast on CUDA, fp32 on CPU) | bf16 | fp32")
    ] = "auto",
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Train each design's widest network under one parameter budget and test whether accuracy follows width."""
    from ..core.outputs import PLOT_FORMATS, writable_dir, writable_file
    from ..render import render
    from . import checks
    from .parsing import given_designs, parse_budget

    fmt = output_format("training", fmt, json_out)
    names = given_designs(designs) or list(DEFAULT_TRAIN)
    auto = seeds.strip() == "auto"
    if not auto and not seeds.strip().isdigit():
        raise SkanalyzeError(f"--seeds {seeds!r} must be a positive integer or auto")
    if effect is not None and not auto:
        raise SkanalyzeError(
            "--effect is the slope --seeds auto powers the experiment for; it needs --seeds auto"
        )
    shard_at = parse_shard(shard)
    checks.need_torch("train")
    from ..nn import train as T

    if plot:
        writable_file(plot, "--plot", PLOT_FORMATS)

    block_tuple = (
        tuple(int(b) for b in blocks.split(","))
        if all(b.strip().isdigit() for b in blocks.split(","))
        else None
    )
    if not block_tuple or any(b <= 0 for b in block_tuple):
        raise SkanalyzeError(f"--blocks {blocks!r} must be positive integers, e.g. 1,1,1")
    config = T.Config(
        tuple(names),
        parse_budget(budget),
        epochs,
        3 if auto else int(seeds),
        batch_size,
        lr,
        schedule=schedule,
        augment=augment,
        limit_train=limit_train,
        limit_test=limit_test,
        data=data,
        device=device,
        blocks=block_tuple,
        bn=bn,
        out=out,
        shard=shard_at,
        threads=threads,
        precision=precision,
    )
    from ..nn.data import locate

    locate(data)  # the data before any folder is made
    if out is None:  # one folder per experiment, so that two experiments never share one by accident
        from dataclasses import replace

        writable_dir("runs", "--out")
        config = replace(config, out=T.default_out(config))
    writable_dir(config.out, "--out")
    log = lambda m: typer.echo(m, err=True)  # noqa: E731
    summary = T.run_auto(config, effect or 1.0, log=log) if auto else T.run(config, log=log)
    typer.echo(render("training", summary, fmt), nl=False)  # results first
    if plot:
        from ..render import plots

        plots.save(plots.accuracy_vs_width(summary), plot)


def train_summarize(
    folder: Annotated[
        str, typer.Argument(help="A folder of one experiment's result files (--out of train).")
    ],
    fmt: FormatOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """`skanalyze train summarize DIR`: the summary of the finished runs in a folder; reads, never trains."""
    from ..analyses.results import summarize
    from ..render import render

    fmt = output_format("training", fmt, json_out)
    typer.echo(render("training", summarize(folder), fmt), nl=False)
