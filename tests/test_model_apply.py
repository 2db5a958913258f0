"""`--apply`: the rebuilt module's sum(p.numel()) and FlopCounterMode equal the predicted counts exactly, the
chosen group numbers are the cheapest full-field ones (a brute force by autograd), the user's module is
untouched, what cannot be replaced is listed, and the headline comparisons in docs/model-import.md are
regenerated here."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from .conftest import TORCH_REASON, load_example

torch = pytest.importorskip("torch", reason=TORCH_REASON)
from torch import nn as tnn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from skanalyze.core.catalog import PAPER  # noqa: E402
from skanalyze.core.errors import SkanalyzeError  # noqa: E402
from skanalyze.nn.rebuild import apply  # noqa: E402

MODELS = load_example("models")
DOC = Path(__file__).resolve().parents[1] / "docs" / "model-import.md"
KERNELS = (
    "SSC(4)",
    "SSC(2,rest=none,pattern=block)",
    "SCC(mode=space)",
    "SCC(mode=channel)",
    "Line(orient=fixed)",
    "Line(angle=45)",
    "Line(orient=filter)",
)


def numel(model):
    return sum(p.numel() for p in model.parameters())


def torch_macs(model, shape):
    """FlopCounterMode on a real forward of zeros, / 2."""
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        out = model(torch.zeros(shape))
    flops = counter.get_total_flops()
    assert flops % 2 == 0
    return flops // 2, out


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, designs",
    [
        ("resnet18", (*PAPER, "SCC+PW", *KERNELS)),
        ("resnet50", (*PAPER, "PW+Conv+PW")),
        ("mobilenet_v2", (*PAPER, "DW+PW", "SCC+PW")),
        ("shufflenet_v1", PAPER),
        ("densenet40", ("Line(orient=fixed)", "SCC(mode=space)", "SSC(4)")),
    ],
)
def test_rebuilt_counts_equal_the_prediction(name, designs):
    model = getattr(MODELS, name)()
    shape = (2, 3, 32, 32) if name == "densenet40" else (1, 3, 64, 64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    reference, _ = torch_macs(model, shape)
    for design in designs:
        applied = apply(model, design, shape)
        assert applied.params_before == numel(model) and applied.macs_before == reference
        assert applied.replaced and not applied.skipped, (design, applied.skipped)
        assert numel(applied.module) == applied.params, design
        macs, out = torch_macs(applied.module, shape)
        assert macs == applied.macs, design
        assert out.shape[:1] == shape[:1] and torch.isfinite(out).all()
        # each replacement's own counts add up to the change
        assert applied.params - applied.params_before == sum(
            r.params_after - r.params_before for r in applied.replaced
        )
    state = model.state_dict()
    assert state.keys() == before.keys() and all(torch.equal(state[k], before[k]) for k in before)


def test_the_rebuilt_model_trains():
    model = apply(MODELS.resnet18(), "pwgconv-dw-pwgconv", (1, 3, 32, 32)).module
    model.train()
    x, y = torch.randn(4, 3, 32, 32), torch.tensor([0, 1, 2, 3])
    loss = tnn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_what_runs_where():
    """ResNet-18's layer2.0 (stride 2): the design runs in conv1's place with the stride on its spatial kernel,
    conv2 and the BN between them are Identity, bn2 stays."""
    applied = apply(MODELS.resnet18(), "PW+DW+PW", (1, 3, 64, 64))
    block = applied.module.layer2[0]
    assert isinstance(block.conv2, tnn.Identity) and isinstance(block.bn1, tnn.Identity)
    assert isinstance(block.bn2, tnn.BatchNorm2d) and block.bn2.num_features == 128
    convs = [m for m in block.conv1.modules() if isinstance(m, tnn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.groups, c.stride) for c in convs] == [
        (64, 32, 1, (1, 1)),
        (32, 32, 32, (2, 2)),
        (32, 128, 1, (1, 1)),
    ]
    assert isinstance(block.downsample[0], tnn.Conv2d)  # shortcuts stay
    row = next(r for r in applied.replaced if r.target == "layer2.0")
    assert row.values == {"C": 64, "F": 128, "K": 32}


def _full(module, c_in, size=9):
    """Every output channel depends on every input channel and a 3x3 window (autograd)."""
    x = torch.zeros(1, c_in, size, size, requires_grad=True)
    out = module(x)
    for f in range(out.shape[1]):
        (g,) = torch.autograd.grad(out[0, f, size // 2, size // 2], x, retain_graph=True)
        seen = g[0].abs().sum(dim=(1, 2)) > 0
        if not bool(seen.all()):
            return False
    return True


class Shuffle(tnn.Module):
    """The channel shuffle the design puts between its group convs, written out."""

    def __init__(self, g):
        super().__init__()
        self.g = g

    def forward(self, x):
        b, c, h, w = x.shape
        return x.reshape(b, self.g, c // self.g, h, w).transpose(1, 2).reshape(b, c, h, w)


def test_group_numbers_are_the_cheapest_full_field_ones():
    """A brute force over every M | C, N | F (GConv(M), shuffle, PWGConv(N) built in torch, field by autograd,
    params by numel) picks the same group numbers as --apply at C = F = 64, and they satisfy M*N = C."""
    torch.manual_seed(0)
    best = None
    divisors = [d for d in range(1, 65) if 64 % d == 0]
    for m, n in itertools.product(divisors, divisors):
        module = tnn.Sequential(
            tnn.Conv2d(64, 64, 3, padding=1, groups=m, bias=False),
            Shuffle(m),
            tnn.Conv2d(64, 64, 1, groups=n, bias=False),
        )
        for p in module.parameters():
            tnn.init.uniform_(p, 0.5, 1.0)  # no accidental zeros
        cost = numel(module)
        if (best is None or (cost, m, n) < best) and _full(module, 64):
            best = (cost, m, n)
    applied = apply(MODELS.resnet18(), "GConv(M)+PWGConv(N)", (1, 3, 64, 64))
    row = next(r for r in applied.replaced if r.target == "layer1.0")
    bn_between = 2 * 64  # the BN --apply puts between the two kernels
    assert (row.params_after - bn_between, row.values["M"], row.values["N"]) == best
    assert row.values["M"] * row.values["N"] == 64


class Functional(tnn.Module):
    """A block whose second conv is functional and whose first conv module runs twice."""

    def __init__(self):
        super().__init__()
        self.stem = tnn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.a = tnn.Conv2d(8, 8, 3, padding=1)
        self.w = tnn.Parameter(torch.zeros(8, 8, 3, 3))
        self.b = tnn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.c = tnn.Conv2d(8, 8, 3, padding=1, bias=False)

    def forward(self, x):
        x = self.stem(x)
        x = tnn.functional.conv2d(self.a(x), self.w, padding=1)
        x = self.b(self.b(x))
        return self.c(x)


def test_what_cannot_be_replaced_is_listed():
    model = Functional()
    applied = apply(model, "Line(orient=fixed)", (1, 3, 8, 8))
    assert [r.target for r in applied.replaced] == ["a", "c"]
    skipped = dict(applied.skipped)
    assert "b" in skipped and "run once" in skipped["b"]
    assert any("not a Conv2d module" in why for why in skipped.values())  # the functional conv
    assert numel(applied.module) == applied.params  # a's bias is dropped with its conv: predicted too
    assert torch_macs(applied.module, (1, 3, 8, 8))[0] == applied.macs
    stem = apply(model, "Line(orient=fixed)", (1, 3, 8, 8), stem=True)
    assert "stem" in [r.target for r in stem.replaced]


@pytest.mark.parametrize(
    "design, fragment",
    [
        ("SSC", "give SSC its number, e.g. SSC(4)"),
        ("Foo", "unknown kernel 'Foo'"),
    ],
)
def test_bad_designs(design, fragment):
    with pytest.raises(SkanalyzeError, match=re.escape(fragment)):
        apply(MODELS.resnet18(), design, (1, 3, 32, 32))


def test_a_kernel_with_nothing_to_replace():
    with pytest.raises(SkanalyzeError, match="17 other spatial convs are depthwise or grouped"):
        apply(MODELS.mobilenet_v2(), "Line(orient=fixed)", (1, 3, 32, 32))


@pytest.mark.slow
def test_cli_apply(cli):
    code, out, err = cli(
        "model", "examples/models.py:resnet18", "--input", "1x3x64x64", "--apply", "pw-dw-pw"
    )
    assert code == 0, err
    assert "rebuilt with PW+DW+PW in place of every unit (8 replaced)" in out
    assert "predicted = measured" in out
    model = MODELS.resnet18()
    applied = apply(model, "pw-dw-pw", (1, 3, 64, 64))
    assert f"-> {applied.params:,} predicted" in out and f"rebuilt module: {numel(applied.module):,}" in out
    code, out, _ = cli(
        "model", "examples/models.py:resnet18", "--input", "1x3x64x64", "--apply", "SCC(mode=space)", "--json"
    )
    data = json.loads(out)["applied"]
    assert code == 0 and data["predicted"] == data["measured"] and data["mode"] == "conv"
    assert len(data["replaced"]) == 16 and data["skipped"] == []
    for args, fragment in [
        (("--apply-stem",), "--apply-stem needs --apply KERNEL"),
        (("--apply", "DW+PW", "--csv"), "--csv prints the per-layer table only; --apply"),
        (("--apply", "SSC"), "give SSC its number"),
    ]:
        code, out, err = cli("model", "examples/models.py:resnet18", "--input", "1x3x32x32", *args)
        assert code == 2 and fragment in err and not out and len(err.strip().splitlines()) == 1


# -- the headline comparisons of docs/model-import.md ---------------------------------------------------
HEADLINES = [
    ("DenseNet-40", "densenet40", (1, 3, 32, 32), "Line(orient=fixed)", "69% fewer params, 59% fewer MACs"),
    ("DenseNet-40", "densenet40", (1, 3, 32, 32), "Line(orient=filter)", "69% fewer params, 59% fewer MACs"),
    ("DenseNet-40", "densenet40", (1, 3, 32, 32), "SCC(mode=space)", "2-4x"),
    ("ResNet-18", "resnet18", (1, 3, 224, 224), "SCC(mode=space)", "2-4x"),
    ("ResNet-50", "resnet50", (1, 3, 224, 224), "SCC(mode=space)", "2-4x"),
    ("ResNet-18", "resnet18", (1, 3, 224, 224), "SCC", "2-4x"),
    ("ResNet-50", "resnet50", (1, 3, 224, 224), "SCC", "2-4x"),
]


def change(before, after):
    share = 100 * (before - after) / before
    word = "fewer" if share >= 0 else "more"
    return f"{abs(share):.1f}% {word} ({before / after:.2f}x)"


def headline_rows():
    rows = []
    for label, name, shape, design, paper in HEADLINES:
        model = getattr(MODELS, name)()
        a = apply(model, design, shape)
        assert numel(a.module) == a.params
        rows.append(
            f"| {label} | `{design}` -> `{a.design}` | {len(a.replaced)} | {a.params_before:,} -> {a.params:,} "
            f"| {change(a.params_before, a.params)} | {a.macs_before:,} -> {a.macs:,} "
            f"| {change(a.macs_before, a.macs)} | {paper} |"
        )
    return rows


@pytest.mark.slow
def test_docs_headline_table_is_regenerated():
    text = DOC.read_text()
    missing = [row for row in headline_rows() if row not in text]
    assert not missing, "docs/model-import.md is out of date; expected rows:\n" + "\n".join(missing)


@pytest.mark.slow
def test_docs_prose_numbers():
    """The numbers quoted beside the table, recomputed from the torch models themselves."""
    text = " ".join(DOC.read_text().split())
    model = MODELS.densenet40()
    three = sum(
        m.weight.numel()
        for name, m in model.named_modules()
        if isinstance(m, tnn.Conv2d) and m.kernel_size == (3, 3) and name != "conv1"
    )
    assert f"hold {three:,} of DenseNet-40's {numel(model):,} parameters" in text
    assert f"{100 * 2 / 3:.1f}%" in text
    fixed = apply(model, "Line(orient=fixed)", (1, 3, 32, 32))
    # two-weight segments (2 of 9 weights), by arithmetic on the 3-weight rebuild: the 3x3 convs' MACs are
    # 3/2 of what three-weight segments remove
    conv_macs = (fixed.macs_before - fixed.macs) * 3 // 2
    two_params = 100 * (three * 7 / 9) / numel(model)
    two_macs = 100 * (conv_macs * 7 / 9) / fixed.macs_before
    assert f"give {two_params:.1f}% fewer parameters and {two_macs:.1f}% fewer MACs" in text
    learned = apply(model, "Line(orient=filter)", (1, 3, 32, 32))
    assert f"({learned.params - fixed.params} in all)" in text
    assert learned.params - fixed.params == sum(r.values["F"] for r in learned.replaced)
    # "the same counts as the fixed line"
    assert apply(model, "SSC(4)", (1, 3, 32, 32)).params == fixed.params
    resnet50 = MODELS.resnet50()
    fused = apply(resnet50, "SCC", (1, 3, 64, 64))
    assert f"{fused.params / fused.params_before:.1f} times the parameters" in text


@pytest.mark.slow
def test_docs_commands_run(cli, monkeypatch, tmp_path):
    """The command lines of docs/model-import.md (all but the placeholder package) run and exit 0."""
    import shlex

    examples = Path(__file__).resolve().parents[1] / "examples"
    lines = [
        line.strip().split("  #")[0]
        for line in DOC.read_text().splitlines()
        if line.startswith("    skanalyze ") and "mypackage" not in line
    ]
    assert len(lines) >= 6
    monkeypatch.chdir(tmp_path)
    for line in lines:
        args = [a.replace("examples/", f"{examples}/") for a in shlex.split(line)[1:]]
        code, out, err = cli(*args)
        assert code == 0 and out, (line, err)
    assert (tmp_path / "scaling.png").stat().st_size > 0


class SplitBlock(tnn.Module):
    """ShuffleNet V2's downsampling block, written out: two branches of C channels (DW at stride 2 + PW; PW +
    DW at stride 2 + PW), concatenated to 2C and shuffled in two groups."""

    def __init__(self, c: int = 8):
        super().__init__()
        self.branch1 = tnn.Sequential(
            tnn.Conv2d(c, c, 3, 2, 1, groups=c, bias=False), tnn.BatchNorm2d(c),
            tnn.Conv2d(c, c, 1, bias=False), tnn.BatchNorm2d(c), tnn.ReLU(inplace=True),
        )  # fmt: skip
        self.branch2 = tnn.Sequential(
            tnn.Conv2d(c, c, 1, bias=False), tnn.BatchNorm2d(c), tnn.ReLU(inplace=True),
            tnn.Conv2d(c, c, 3, 2, 1, groups=c, bias=False), tnn.BatchNorm2d(c),
            tnn.Conv2d(c, c, 1, bias=False), tnn.BatchNorm2d(c), tnn.ReLU(inplace=True),
        )  # fmt: skip

    def forward(self, x):
        y = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        n, c, h, w = y.shape
        return y.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)


def test_a_unit_that_ends_in_a_concatenation_is_rebuilt_at_its_convs_widths():
    """The block's unit (branch 1, its concatenation and shuffle) runs 8 -> 16, its convs 8 -> 8: the design
    goes in at the convs' widths (it was built 8 -> 16 and the rebuilt model did not run), and the rebuilt
    module runs and counts as predicted (sum(p.numel()), FlopCounterMode)."""
    model, shape = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1, bias=False), SplitBlock(8)), (1, 3, 16, 16)
    applied = apply(model, "dw-pw", shape)
    (unit,) = applied.replaced
    assert (unit.target, unit.before, unit.values) == ("1", "DW(s=2)+PW+Shuffle(2)", {"C": 8, "F": 8})
    assert numel(applied.module) == applied.params
    macs, out = torch_macs(applied.module, shape)
    assert macs == applied.macs and out.shape == (1, 16, 8, 8) and torch.isfinite(out).all()
