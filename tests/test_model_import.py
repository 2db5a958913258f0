"""Bring your own model: totals against sum(p.numel()) and FlopCounterMode and published counts, units in
the notation, fields against autograd, the user's module untouched, one-line errors."""

from __future__ import annotations

import json

import pytest

from .conftest import TORCH_REASON, load_example

torch = pytest.importorskip("torch", reason=TORCH_REASON)
from fractions import Fraction  # noqa: E402

from torch import nn as tnn  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from skanalyze import from_module  # noqa: E402
from skanalyze import nn as sknn  # noqa: E402
from skanalyze.core import symbols as S  # noqa: E402
from skanalyze.nn.importer import closed_forms, widest_multiplier  # noqa: E402

MODELS = load_example("models")
PUBLISHED = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "mobilenet_v2": 3_504_872,
    "densenet40": 1_019_722,  # Huang et al. 2017 print "1.0M"; 1,019,722 is the count of their Torch code
}


def flops(model, shape):
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(shape))
    return counter.get_total_flops()


def numel(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    "name, shape",
    [
        ("resnet18", (1, 3, 224, 224)),
        ("resnet50", (1, 3, 112, 112)),
        ("mobilenet_v2", (2, 3, 224, 224)),
        ("shufflenet_v1", (1, 3, 224, 224)),
        ("densenet40", (2, 3, 32, 32)),
    ],
)
def test_totals_equal_torch(name, shape):
    model = getattr(MODELS, name)()
    m = from_module(model, shape)
    assert m.traced_on == "meta"
    assert m.params == numel(model) == PUBLISHED.get(name, numel(model))
    assert 2 * m.macs == flops(model, shape)
    if name == "densenet40":
        assert round(m.params / 1e6, 1) == 1.0  # the paper's table


def test_units_read_in_the_notation():
    units = {u.name: u for u in from_module(MODELS.mobilenet_v2()).units}
    assert units["features.1"].notation == "DW+PW"
    assert units["features.3"].notation == "PW+DW+PW [K=144]" and units["features.3"].residual
    assert units["features.4"].notation == "PW+DW(s=2)+PW [K=144]" and not units["features.4"].residual
    units = {u.name: u for u in from_module(MODELS.shufflenet_v1()).units}
    assert units["stages.1"].notation == "PWGConv(3)+Shuffle(3)+DW+PWGConv(3) [K=60]"
    units = {u.name: u for u in from_module(MODELS.resnet18()).units}
    assert units["layer1.0"].notation == "Conv+Conv" and units["layer1.0"].residual
    assert units["layer2.0"].notation == "Conv(s=2)+Conv [plan=early]"
    assert units["layer2.0 (shortcut)"].notation == "PW(s=2)" and units["layer2.0 (shortcut)"].shortcut
    assert units["conv1"].notation == "Conv(k=7,s=2)"


class GroupedBlock(tnn.Module):
    """PWGConv(g) [+ shuffle] + DW + PWGConv(g), written as a user would."""

    def __init__(self, c, g, shuffle):
        super().__init__()
        self.g, self.shuffle = g, shuffle
        self.a = tnn.Conv2d(c, c, 1, groups=g, bias=False)
        self.b = tnn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
        self.c = tnn.Conv2d(c, c, 1, groups=g, bias=False)

    def forward(self, x):
        x = self.a(x)
        if self.shuffle:
            x = MODELS.channel_shuffle(x, self.g)
        return self.c(self.b(x))


class Wrapper(tnn.Module):
    def __init__(self, block):
        super().__init__()
        self.block = block

    def forward(self, x):
        return self.block(x)


@pytest.mark.parametrize("shuffle", [True, False])
def test_unit_field_equals_autograd(shuffle):
    block = GroupedBlock(12, 3, shuffle)
    unit = next(u for u in from_module(Wrapper(block), (1, 12, 16, 16)).units if u.name == "block")
    assert unit.notation.startswith("PWGConv(3)+Shuffle(3)+DW" if shuffle else "PWGConv(3)+DW")
    measured = sknn.measure_field(block, 12, (16, 16))
    assert unit.field == (measured.x, measured.y, measured.c_min)
    assert unit.field[2] == (12 if shuffle else 4)  # without the shuffle an output sees one group of 4


def test_the_users_module_is_untouched():
    model = MODELS.resnet18()
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    from_module(model, (1, 3, 64, 64))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(v.device.type == "cpu" for v in model.state_dict().values())
    assert model.training
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


class Fails(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 4, 3)

    def forward(self, x):
        raise RuntimeError("this model refuses every input")


def test_no_hooks_left_after_an_exception():
    model = Fails()
    with pytest.raises(Exception, match="refuses every input"):
        from_module(model, (1, 3, 8, 8))
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


class Odd(tnn.Module):
    """A bias, a non-square kernel, a shared module run twice, a LayerNorm and a bare parameter."""

    def __init__(self):
        super().__init__()
        self.stem = tnn.Conv2d(3, 8, 3, padding=1, bias=True)
        self.row = tnn.Conv2d(8, 8, (1, 3), padding=(0, 1), bias=False)
        self.shared = tnn.Conv2d(8, 8, 1, bias=False)
        self.norm = tnn.LayerNorm(8)
        self.scale = tnn.Parameter(torch.ones(1))
        self.fc = tnn.Linear(8, 5)

    def forward(self, x):
        x = self.shared(self.shared(self.row(self.stem(x))))
        x = x.mean(dim=(2, 3))
        return self.fc(self.norm(x) * self.scale)


def test_everything_is_counted_once_and_unmodelled_parts_are_listed():
    model = Odd()
    m = from_module(model, (2, 3, 8, 8))
    assert m.params == numel(model)
    assert 2 * m.macs == flops(model, (2, 3, 8, 8))
    assert dict(m.unmodelled) == {"(the model)": 1}  # the bare parameter: no layer consumes it
    norm = next(lay for lay in m.layers if lay.name == "norm")
    assert (norm.kind, norm.params, norm.bias) == ("norm", 16, 8)  # a norm's weight and bias are its own
    row = next(lay for lay in m.layers if lay.name == "row")
    assert row.kernel is None and "not in the notation" in row.notation
    stem = next(lay for lay in m.layers if lay.name == "stem")
    assert (stem.notation, stem.bias, stem.params) == ("Conv", 8, 3 * 8 * 9 + 8)
    shared = [lay for lay in m.layers if lay.name == "shared"]
    assert len(shared) == 2 and sum(lay.params for lay in shared) == 64  # counted once, run twice


class DataDependent(tnn.Module):
    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 4, 3, padding=1, bias=False)

    def forward(self, x):
        return self.conv(x) if bool(x.sum() >= 0) else x


def test_a_forward_that_needs_values_runs_on_zeros():
    m = from_module(DataDependent(), (1, 3, 8, 8))
    assert m.traced_on == "zeros" and m.params == 108 and m.macs == 108 * 64


def test_cli_json_csv_and_text(cli):
    code, out, err = cli("model", "examples/models.py:resnet18", "--input", "1x3x64x64", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["params"] == 11_689_512
    assert (
        sum(r["params"] for r in data["layers"]) + sum(u["params"] for u in data["unmodelled"]) == 11_689_512
    )
    code, out, _ = cli("model", "examples/models.py:resnet18", "--input", "1x3x64x64", "--csv")
    lines = out.splitlines()
    assert code == 0 and lines[0].startswith("name,kind,notation") and len(lines) == 1 + len(data["layers"])
    code, out, _ = cli("model", "examples/models.py:mobilenet_v2")
    assert code == 0 and "total: 3,504,872 params" in out and "PW+DW+PW [K=144]" in out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("nowhere.py:net",), "does not exist"),
        (("examples/models.py",), "FILE.py:NAME"),
        (("examples/models.py:nothing",), "has no 'nothing'"),
        (("examples/models.py:make_divisible",), "calling"),
        (("no_such_package_xyz:net",), "importing module"),
        (("examples/models.py:resnet18", "--input", "1x1x64x64"), "rejects an input of shape 1x1x64x64"),
        (("examples/models.py:resnet18", "--input", "64x64"), "--input '64x64'"),
        (("examples/models.py:resnet18", "--json", "--csv"), "contradict"),
        (("examples/models.py:resnet18", "--format", "latex"), "format 'latex'"),
    ],
)
def test_bad_targets_are_one_line_errors(cli, args, fragment):
    code, out, err = cli("model", *args)
    assert code == 2 and out == "" and fragment in err and err.count("\n") == 1, err


def test_a_model_without_convolutions_and_a_factory_that_raises(cli, tmp_path):
    path = tmp_path / "user_models.py"
    path.write_text(
        "from torch import nn\n"
        "def linear():\n    return nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 10))\n"
        "def broken():\n    raise ValueError('no weights here')\n"
        "number = 3\n"
    )
    for name, fragment in (
        ("linear", "no convolution"),
        ("broken", "ValueError: no weights here"),
        ("number", "int"),
    ):
        code, out, err = cli("model", f"{path}:{name}", "--input", "1x3x8x8")
        assert code == 2 and out == "" and fragment in err and err.count("\n") == 1, err


class Mixed(tnn.Module):
    """Biased and shared convs, affine and plain BN, ReLU6, max, average and adaptive pools, a functional pool."""

    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 4, 3, padding=1, bias=True)
        self.bn, self.plain = tnn.BatchNorm2d(4), tnn.BatchNorm2d(4, affine=False)
        self.act, self.max, self.avg = tnn.ReLU6(), tnn.MaxPool2d(2), tnn.AvgPool2d(2)
        self.pool, self.fc = tnn.AdaptiveAvgPool2d(1), tnn.Linear(4, 5)

    def forward(self, x):
        y = self.bn(self.conv(x))
        y = self.plain(y + self.conv(x))
        y = tnn.functional.avg_pool2d(self.avg(self.max(self.act(y))), 1)
        return self.fc(self.pool(y).flatten(1))


def peer_total(peer, model, shape, device="cpu"):
    """The peer's own total on the model (eval mode), on ``device``'s tensors: the zoo test's runner
    (tests/zoo/zoo.py); a peer that is not installed skips, one that fails fails the test."""
    from .zoo import zoo

    model.eval().to(device)
    total = zoo.peer(peer, model, shape, device)
    if isinstance(total, ImportError):
        pytest.skip(f"{peer} is not installed: pip install 'skanalyze[peers]'")
    if isinstance(total, Exception):
        raise total
    return total


class Written(tnn.Module):
    """What ptflops' default backend tells apart: activation modules and functions, norms, torch.add,
    Tensor.add and the + operator, in-place adds."""

    def __init__(self):
        super().__init__()
        self.conv, self.ln = tnn.Conv2d(3, 8, 3, padding=1), tnn.LayerNorm([8, 8, 8])
        self.gn, self.plain = tnn.GroupNorm(2, 8), tnn.GroupNorm(2, 8, affine=False)
        self.relu, self.gelu, self.leaky, self.fc = tnn.ReLU(), tnn.GELU(), tnn.LeakyReLU(), tnn.Linear(8, 3)

    def forward(self, x):
        y = self.plain(self.gn(self.ln(self.relu(self.conv(x)))))
        y = torch.add(y, self.gelu(y))
        y = y.add(tnn.functional.silu(y))
        y = self.leaky(y) + torch.relu(y)
        y += y
        y = tnn.functional.max_pool2d(tnn.functional.relu6(y), 2)
        return self.fc(tnn.functional.adaptive_avg_pool2d(y, 1).flatten(1))


@pytest.mark.parametrize("peer", ["torch", "fvcore", "ptflops", "ptflops-aten", "thop"])
@pytest.mark.parametrize(
    "make, shape",
    [
        (MODELS.resnet18, (1, 3, 112, 112)),
        (MODELS.mobilenet_v2, (1, 3, 112, 112)),
        (MODELS.shufflenet_v1, (1, 3, 112, 112)),
        (MODELS.densenet40, (1, 3, 32, 32)),
        (Mixed, (1, 3, 16, 16)),
        (Written, (1, 3, 8, 8)),
    ],
    ids=["resnet18", "mobilenet_v2", "shufflenet_v1", "densenet40", "mixed", "written"],
)
def test_conventions_reproduce_each_peer_exactly(peer, make, shape):
    from skanalyze.nn.importer import convention

    expected = peer_total(peer, make(), shape)
    model = make()
    got = convention(from_module(model, shape), peer)
    assert got["total"] == expected and got["params"] == numel(model)
    assert got["total"] == sum(line["count"] for line in got["lines"])


def test_cli_conventions(cli):
    code, out, err = cli(
        "model", "examples/models.py:resnet18", "--input", "1x3x64x64", "--convention", "fvcore,thop"
    )
    assert code == 0, err
    assert "\nfvcore: " in out and "\nthop: " in out and "\nptflops: " not in out
    code, out, err = cli("model", "examples/models.py:resnet18", "--convention", "flopth")
    assert code == 2 and "'flopth' is unknown" in err and err.count("\n") == 1


def test_string_padding_and_depth_multiplier():
    model = tnn.Sequential(
        tnn.Conv2d(4, 4, 3, padding="same", bias=False),
        tnn.Conv2d(4, 8, 3, padding="valid", groups=4, bias=False),
    )
    m = from_module(model, (1, 4, 10, 10))
    assert [lay.notation for lay in m.layers] == ["Conv", "GConv(4,p=0)"]
    assert m.params == numel(model) and 2 * m.macs == flops(model, (1, 4, 10, 10))


def test_suggestions_build_to_their_predicted_counts():
    """Each suggested replacement, built in torch at its values: sum(p.numel()) and the field by autograd."""
    from skanalyze.core import symbols as S
    from skanalyze.core.design import parse
    from skanalyze.nn.importer import suggest

    model = MODELS.resnet18()
    rows = suggest(from_module(model, (1, 3, 64, 64)))
    assert rows and all(r["unit"] != "conv1" and "shortcut" not in r["unit"] for r in rows)
    layer = model.layer2[0]
    row = next(r for r in rows if r["unit"] == "layer2.0")
    weights = sum(p.numel() for m in (layer.conv1, layer.conv2) for p in m.parameters())
    assert row["params"] == weights and row["param_ratio"] == sp_rational(weights, 9 * 64 * 128)
    checked = 0
    for r in rows[:3]:
        for rep in r["replacements"]:
            design = parse(rep["design"])
            values = {S.by_name[k]: v for k, v in rep["values"].items()}
            module = sknn.build(design, values)
            assert sknn.count_params(module) == rep["params"] == r["params"] - rep["saved"]
            measured = sknn.measure_field(module, values[S.C], sknn.field_probe_size(design, values))
            assert [measured.x, measured.y, measured.c_min] == rep["field"]
            if rep["at_equal_params"]:  # the wider layer fits the unit's parameters, at the unit's F/C
                at = {S.by_name[k]: v for k, v in rep["at_equal_params"].items()}
                assert at[S.C] == rep["width_at_equal_params"] and at[S.F] * r["c_in"] == at[S.C] * r["c_out"]
                assert sknn.count_params(sknn.build(design, at)) <= r["params"]
            checked += 1
    assert checked >= 8


def sp_rational(p, q):
    import sympy

    return sympy.Rational(p, q)


def test_cli_suggest(cli):
    code, out, err = cli("model", "examples/models.py:mobilenet_v2", "--suggest")
    assert code == 0, err
    assert "replacing each unit by one paper design" in out and "every unit replaced" in out


@pytest.mark.parametrize(
    "make, scaled",
    [
        (MODELS.resnet18, lambda a: MODELS.resnet18(width=a)),
        (MODELS.resnet50, lambda a: MODELS.resnet50(width=a)),
        (
            MODELS.shufflenet_v1,
            lambda a: MODELS.ShuffleNetV1(
                widths=tuple(int(c * a) for c in (240, 480, 960)), stem=int(24 * a)
            ),
        ),
    ],
    ids=["resnet18", "resnet50", "shufflenet_v1"],
)
def test_closed_forms_against_the_rebuilt_models(make, scaled):
    """params(alpha_w) against the model's own constructor at other widths (sum(p.numel())), MACs(alpha_w,
    H_in, W_in) against FlopCounterMode at other widths and input sizes."""
    from fractions import Fraction

    from skanalyze.core import symbols as S
    from skanalyze.nn.importer import closed_forms

    model = make()
    forms = closed_forms(from_module(model, (1, 3, 64, 64)), model)
    assert forms.macs is not None and forms.stride == 32
    for a in (Fraction(1), Fraction(1, 2), Fraction(3, 4)):
        if a == Fraction(3, 4) and make is MODELS.shufflenet_v1:
            continue  # 0.75 x 60 mid channels is not an integer
        other = scaled(int(a) if a == 1 else float(a))
        values = {S.alpha_w: sp_rational(a.numerator, a.denominator)}
        assert forms.params.subs(values) == numel(other)
        for h, w in ((64, 64), (96, 160)):
            assert 2 * forms.macs.subs({**values, S.H_in: h, S.W_in: w}) == flops(other, (1, 3, h, w))


def test_widest_multiplier_under_a_budget():
    from fractions import Fraction

    from skanalyze.nn.importer import closed_forms, widest_multiplier

    model = MODELS.resnet18()
    forms = closed_forms(from_module(model, (1, 3, 64, 64)), model)
    assert forms.base == 64  # every channel count is a multiple of 64: alpha_w in steps of 1/64
    best = widest_multiplier(forms, 3_000_000)
    assert numel(MODELS.resnet18(width=float(best))) <= 3_000_000
    assert numel(MODELS.resnet18(width=float(best + Fraction(1, 64)))) > 3_000_000
    assert widest_multiplier(forms, 1000) is None


def test_cli_closed_form(cli):
    code, out, err = cli(
        "model",
        "examples/models.py:resnet18",
        "--input",
        "1x3x64x64",
        "--closed-form",
        "--budget",
        "3M",
        "--resolution",
        "96x160",
        "--json",
    )
    assert code == 0, err
    cf = json.loads(out)["closed_form"]
    assert cf["widest"]["alpha_w"] == "31/64" and cf["widest"]["params"] == numel(
        MODELS.resnet18(width=31 / 64)
    )
    assert 2 * cf["macs_at"]["macs"] == flops(MODELS.resnet18(), (1, 3, 96, 160))
    for args, fragment in (
        (("--budget", "3M"), "needs --closed-form"),
        (("--closed-form", "--resolution", "100x100"), "multiples of 32"),
        (("--closed-form", "--resolution", "big"), "--resolution 'big'"),
        (("--closed-form", "--budget", "10"), "no width multiplier fits"),
    ):
        code, out, err = cli("model", "examples/models.py:resnet18", "--input", "1x3x64x64", *args)
        assert code == 2 and fragment in err and err.count("\n") == 1, err


def test_cli_closed_form_plot(cli, tmp_path):
    out_file = tmp_path / "scaling.png"
    code, _, err = cli(
        "model",
        "examples/models.py:resnet18",
        "--input",
        "1x3x64x64",
        "--closed-form",
        "--plot",
        str(out_file),
    )
    assert code == 0, err
    assert out_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, err = cli(
        "model", "examples/models.py:resnet18", "--closed-form", "--plot", str(tmp_path / "x.bmp")
    )
    assert code == 2 and "--plot" in err and err.count("\n") == 1


def test_widest_multiplier_under_a_macs_budget(cli):
    code, out, err = cli(
        "model",
        "examples/models.py:resnet18",
        "--input",
        "1x3x64x64",
        "--closed-form",
        "--budget",
        "100M",
        "--macs",
        "--json",
    )
    assert code == 0, err
    widest = json.loads(out)["closed_form"]["widest"]
    num, _, den = widest["alpha_w"].partition("/")
    a = int(num) / int(den or 1)
    assert 2 * widest["macs"] == flops(MODELS.resnet18(width=a), (1, 3, 64, 64)) <= 2 * 100_000_000
    assert flops(MODELS.resnet18(width=a + 1 / 64), (1, 3, 64, 64)) > 2 * 100_000_000


def test_csv_refuses_what_it_cannot_print(cli):
    code, out, err = cli("model", "examples/models.py:resnet18", "--csv", "--closed-form")
    assert code == 2 and out == "" and "--csv prints the per-layer table only" in err


@pytest.mark.slow
def test_own_width_rule_against_a_brute_force():
    """MobileNetV2's own rule (channels rounded to multiples of 8, the last layer never narrower than 1280):
    the widest width on the 1/100 grid under 2M parameters, against building the model at every width."""
    from fractions import Fraction

    from skanalyze.nn.importer import own_width_rule

    budget = 2_000_000
    j = 1
    while numel(MODELS.mobilenet_v2(width=(j + 1) / 100)) <= budget:
        j += 1
    own = own_width_rule(MODELS.mobilenet_v2, "width", (1, 3, 64, 64), budget)
    assert own["width"] == sp_rational(j, 100) and own["next"]["width"] == sp_rational(j + 1, 100)
    model = MODELS.mobilenet_v2(width=j / 100)
    assert own["params"] == numel(model) <= budget < numel(MODELS.mobilenet_v2(width=(j + 1) / 100))
    assert 2 * own["macs"] == flops(model, (1, 3, 64, 64))
    # the exact scaling (no rounding) answers differently for this model: its rule is not a scaling
    forms = closed_forms(from_module(MODELS.mobilenet_v2(), (1, 3, 64, 64)))
    assert widest_multiplier(forms, budget) != Fraction(j, 100)


@pytest.mark.slow
def test_own_width_rule_equals_the_exact_scaling_when_there_is_no_rounding():
    """ResNet-18 scales exactly: its own rule on a 1/64 grid and the polynomial give the same widest width."""
    from skanalyze.nn.importer import own_width_rule

    forms = closed_forms(from_module(MODELS.resnet18(), (1, 3, 64, 64)))
    for budget in (500_000, 3_000_000, 20_000_000):
        best = widest_multiplier(forms, budget)
        own = own_width_rule(MODELS.resnet18, "width", (1, 3, 64, 64), budget, step=Fraction(1, 64))
        assert own["width"] == sp_rational(best.numerator, best.denominator)
        assert own["params"] == forms.params.subs(S.alpha_w, own["width"])


def test_own_width_rule_errors(cli):
    from skanalyze.core.errors import SkanalyzeError
    from skanalyze.nn.importer import own_width_rule

    def shrinking(width=1.0):
        return tnn.Conv2d(3, max(1, int(64 / width)), 3)

    with pytest.raises(SkanalyzeError, match="do not rise with width"):
        own_width_rule(shrinking, "width", (1, 3, 8, 8), 10**9)
    with pytest.raises(SkanalyzeError, match="no width on the grid of 1/100 fits 10 parameters"):
        own_width_rule(MODELS.mobilenet_v2, "width", (1, 3, 8, 8), 10)
    for args, fragment in [
        (("--width-arg", "width"), "--width-arg needs --closed-form and --budget"),
        (("--closed-form", "--budget", "2M", "--width-arg", "width"), "(a coarser --width-step?)"),
        (("--closed-form", "--budget", "2M", "--width-arg", "width", "--width-step", "2/3"), "must be 1/n"),
        (("--width-step", "1/64"), "--width-step needs --width-arg"),
        (("--closed-form", "--budget", "2M", "--width-arg", "no-name"), "must be a keyword argument name"),
    ]:
        code, out, err = cli("model", "examples/models.py:resnet18", "--input", "1x3x32x32", *args)
        assert code == 2 and fragment in err and not out and len(err.strip().splitlines()) == 1, err
    code, out, err = cli(
        "model",
        "examples/models.py:mobilenet_v2",
        "--input",
        "1x3x32x32",
        "--closed-form",
        "--budget",
        "2M",
        "--width-arg",
        "width",
    )
    assert code == 0 and "widest within 2,000,000 parameters: width = 0.52" in out, err


def test_docs_own_width_rule_numbers():
    from pathlib import Path

    from skanalyze.nn.importer import own_width_rule

    text = " ".join((Path(__file__).resolve().parents[1] / "docs" / "model-import.md").read_text().split())
    forms = closed_forms(from_module(MODELS.mobilenet_v2(), (1, 3, 224, 224)))
    best = widest_multiplier(forms, 2_000_000)
    scaled = forms.params.subs(S.alpha_w, sp_rational(best.numerator, best.denominator))
    own = own_width_rule(MODELS.mobilenet_v2, "width", (1, 3, 224, 224), 2_000_000)
    assert f"alpha_w = {best} ({int(scaled):,} parameters)" in text
    width, after = float(own["width"]), float(own["next"]["width"])
    assert (
        f"width = {width:g} ({own['params']:,} parameters; {after:g} needs {own['next']['params']:,})" in text
    )


def test_a_package_module_factory_target(cli, tmp_path, monkeypatch):
    """TARGET as package.module:factory (how a torchvision or timm factory is named), from an importable package."""
    package = tmp_path / "mymodels"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "nets.py").write_text(
        "from torch import nn\n"
        "def build():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),\n"
        "                         nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    code, out, err = cli("model", "mymodels.nets:build", "--input", "1x3x8x8", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["totals"]["params"] == 3 * 8 * 9 + 2 * 8 + 8 * 9
    assert [r["notation"] for r in data["layers"] if r["kind"] == "conv"] == ["Conv", "DW"]


# -- the model-zoo work: never touching the user's module, every parameter once, attention ---------------
def fingerprint(model):
    """Every tensor the model owns (state dict with keep_vars: identity, device, dtype, shape, values, grad
    flag), every module's mode and hooks."""
    tensors = {
        k: (id(t), t.device.type, t.dtype, tuple(t.shape), t.detach().clone(), t.requires_grad)
        for k, t in model.state_dict(keep_vars=True).items()
    }
    modules = [
        (name, m.training, len(m._forward_hooks), len(m._forward_pre_hooks))
        for name, m in model.named_modules(remove_duplicate=False)
    ]
    return tensors, modules


def same(a, b) -> bool:
    (ta, ma), (tb, mb) = a, b
    return (
        ma == mb
        and ta.keys() == tb.keys()
        and all(
            x[:4] == y[:4] and x[5] == y[5] and torch.equal(x[4], y[4])
            for x, y in ((ta[k], tb[k]) for k in ta)
        )
    )


class Tangled(tnn.Module):
    """A submodule under two names, a weight tied between two layers, BN statistics, a non-persistent
    buffer, a frozen parameter, and a forward that refuses real values when asked to."""

    def __init__(self, refuse=False):
        super().__init__()
        self.conv = tnn.Conv2d(3, 8, 3, padding=1)
        self.again = self.conv  # the same module, registered twice
        self.bn = tnn.BatchNorm2d(8)
        self.head, self.tail = tnn.Linear(8, 8), tnn.Linear(8, 8)
        self.tail.weight = self.head.weight  # tied
        self.register_buffer("scratch", torch.arange(4.0), persistent=False)
        self.frozen = tnn.Parameter(torch.ones(2), requires_grad=False)
        self.refuse = refuse

    def forward(self, x):
        if self.refuse:
            raise RuntimeError("no input will do")
        x = self.bn(self.conv(x)).mean(dim=(2, 3))
        return self.tail(self.head(x)) * self.frozen.sum() + self.scratch.sum()


@pytest.mark.parametrize("training", [False, True])
def test_the_users_module_is_never_touched(training):
    model = Tangled()
    model.train(not training)  # the traced mode is the opposite of the model's own
    before = fingerprint(model)
    m = from_module(model, (2, 3, 8, 8), training=training)
    assert same(before, fingerprint(model))
    assert m.params == sum(p.numel() for p in model.parameters())  # the tied weight once, the frozen one too
    failing = Tangled(refuse=True)
    before = fingerprint(failing)
    with pytest.raises(Exception, match="no input will do"):
        from_module(failing, (1, 3, 8, 8))
    assert same(before, fingerprint(failing))


class Functional(tnn.Module):
    """A child's weight used functionally by its parent (as Swin does), a conv whose weight is a buffer
    (an anti-aliasing blur, as TResNet has), a weight-standardised conv (as NFNets have)."""

    def __init__(self):
        super().__init__()
        self.qkv = tnn.Linear(8, 24)
        self.register_buffer("blur", torch.ones(8, 1, 3, 3) / 9)
        self.std = tnn.Conv2d(3, 8, 3, padding=1)
        self.gain = tnn.Parameter(torch.ones(8, 1, 1, 1))

    def forward(self, x):
        w = self.std.weight - self.std.weight.mean(dim=(1, 2, 3), keepdim=True)
        x = tnn.functional.conv2d(x, w * self.gain, self.std.bias, padding=1)
        x = tnn.functional.conv2d(x, self.blur, groups=8, padding=1)
        x = x.mean(dim=(2, 3))
        return tnn.functional.linear(x, self.qkv.weight, self.qkv.bias)


def test_every_parameter_once_and_buffers_are_never_parameters():
    model = Functional()
    m = from_module(model, (1, 3, 8, 8))
    assert m.params == sum(p.numel() for p in model.parameters())  # the blur (a buffer) is not among them
    assert 2 * m.macs == flops(model, (1, 3, 8, 8))
    assert not m.unmodelled  # nothing left over, nothing listed twice
    rows = {(lay.kind, lay.name): lay for lay in m.layers if lay.kind in ("conv", "linear")}
    blur = [lay for lay in m.layers if lay.kind == "conv" and lay.in_shape[1] == 8]
    assert len(blur) == 1 and blur[0].params == 0 and blur[0].macs == 8 * 9 * 64
    assert rows[("linear", "")].params == 8 * 24 + 24  # the child's weight, on the layer that uses it
    std = [lay for lay in m.layers if lay.kind == "conv" and lay.in_shape[1] == 3][0]
    assert (
        std.params == 3 * 8 * 9 + 8 + 8
    )  # the computed weight brings what it was made of: weight, gain; bias


class Attentive(tnn.Module):
    """Attention in every form a zoo model writes it: nn.MultiheadAttention (batch first or not, with or
    without weights), scaled dot-product attention, an einsum, bmm, a broadcast matmul, a transposed and a
    1-D conv."""

    def __init__(self):
        super().__init__()
        self.embed = tnn.Conv2d(3, 16, 4, stride=4)
        self.mha = tnn.MultiheadAttention(16, 4, batch_first=True)
        self.seq = tnn.MultiheadAttention(16, 2)
        self.qkv = tnn.Linear(16, 48)
        self.mix = tnn.Conv1d(16, 16, 3, padding=1, groups=4)
        self.up = tnn.ConvTranspose2d(16, 4, 2, stride=2)
        self.bias = tnn.Parameter(torch.zeros(4, 16, 16))

    def forward(self, x):
        x = self.embed(x)  # 1 x 16 x 4 x 4
        b, c, h, w = x.shape
        t = x.flatten(2).transpose(1, 2)  # 1 x 16 tokens x 16
        t = self.mha(t, t, t, need_weights=False)[0] + t
        s = t.transpose(0, 1)
        t = self.seq(s, s, s)[0].transpose(0, 1) + t  # need_weights=True: the bmm path
        q, k, v = self.qkv(t).reshape(b, h * w, 3, 4, 4).permute(2, 0, 3, 1, 4)
        a = tnn.functional.scaled_dot_product_attention(q, k, v)
        a = a + torch.einsum("bhqd,bhkd->bhqk", q, k) @ v
        a = torch.bmm(a.reshape(4, 16, 4), k.reshape(4, 16, 4).transpose(1, 2)).softmax(-1) @ self.bias
        t = a.reshape(b, 4, 16, 16).mean(1)
        t = self.mix(t)
        return self.up(t.reshape(b, 16, 4, 4))


def flops_on_meta(model, shape):
    """FlopCounterMode on meta tensors (on the CPU, fused kernels count 0: docs/model-import.md)."""
    model = model.to("meta").eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(shape, device="meta"))
    return counter.get_total_flops()


def test_attention_and_matrix_products_are_counted_as_flop_counter_mode_counts_them():
    model = Attentive().eval()
    shape = (1, 3, 16, 16)
    m = from_module(model, shape)
    assert m.params == sum(p.numel() for p in model.parameters())
    assert 2 * m.macs == flops_on_meta(Attentive(), shape)
    names = [lay.notation for lay in m.layers]
    assert "Attention(heads=4, tokens=16, dim=4)" in names and "FC(16->48)" in names
    assert any(n.startswith("einsum(") for n in names) and any(n.startswith("bmm(") for n in names)
    # MultiheadAttention seen through: its projections are layers, its weights are not "unmodelled"
    assert not any(name.startswith("mha") or name.startswith("seq") for name, _ in m.unmodelled)
    mha = [lay for lay in m.layers if lay.name == "mha" and lay.kind == "linear"]
    assert [lay.notation for lay in mha] == ["FC(16->48)", "FC(16->16)"]


@pytest.mark.parametrize("peer", ["torch", "fvcore", "ptflops", "ptflops-aten", "thop"])
def test_conventions_reproduce_each_peer_on_attention(peer):
    from skanalyze.nn.importer import convention

    # as the zoo test does: the peers that can, on meta tensors; fvcore and ptflops' default backend on a real
    # forward (on meta they would count torch's own meta kernels)
    device = "cpu" if peer in ("fvcore", "ptflops") else "meta"
    expected = peer_total(peer, Attentive(), (1, 3, 16, 16), device)
    got = convention(from_module(Attentive(), (1, 3, 16, 16)), peer)
    assert got["total"] == expected


class Auxiliary(tnn.Module):
    """A classifier with an auxiliary head that runs only in training mode (as GoogLeNet and Inception)."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc, self.aux = tnn.Conv2d(3, 8, 3), tnn.Linear(8, 10), tnn.Linear(8, 10)

    def forward(self, x):
        x = self.conv(x).mean(dim=(2, 3))
        return (self.fc(x), self.aux(x)) if self.training else self.fc(x)


def auxiliary():
    return Auxiliary()


def test_cli_traces_in_eval_mode_unless_asked(cli, tmp_path):
    path = tmp_path / "aux.py"
    path.write_text(
        "from torch import nn\n"
        "class Auxiliary(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv, self.fc, self.aux = nn.Conv2d(3, 8, 3), nn.Linear(8, 10), nn.Linear(8, 10)\n"
        "    def forward(self, x):\n"
        "        x = self.conv(x).mean(dim=(2, 3))\n"
        "        return (self.fc(x), self.aux(x)) if self.training else self.fc(x)\n"
        "def build():\n    return Auxiliary()\n"
    )
    for args, mode in (((), "eval"), (("--train-mode",), "train")):
        code, out, err = cli("model", f"{path}:build", "--input", "1x3x8x8", "--json", *args)
        assert code == 0, err
        data = json.loads(out)
        model = Auxiliary().train(mode == "train")
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, 3, 8, 8))
        assert data["traced_mode"] == mode and data["totals"]["flops"] == counter.get_total_flops()
        code, out, err = cli("model", f"{path}:build", "--input", "1x3x8x8", *args)
        assert f"{mode} mode" in out.splitlines()[0]


def test_closed_form_budget_is_checked_on_the_factory(cli):
    code, out, err = cli(
        "model", "examples/models.py:mobilenet_v2", "--closed-form", "--budget", "2M", "--json"
    )
    assert code == 0, err
    widest = json.loads(out)["closed_form"]["widest"]
    alpha = float(Fraction(widest["alpha_w"]))
    built = MODELS.mobilenet_v2(width=alpha)  # the oracle: the model the factory really builds
    real = sum(p.numel() for p in built.parameters())
    assert widest["built"]["checked"] and widest["built"]["params"] == real
    assert widest["built"]["fits"] == (real <= 2_000_000)
    code, out, err = cli("model", "examples/models.py:mobilenet_v2", "--closed-form", "--budget", "2M")
    assert ("OVER the budget" in out) == (real > 2_000_000) and f"{real:,} params" in out


@pytest.mark.parametrize(
    "equation, shapes",
    [
        ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
        ("ij,jk", [(3, 4), (4, 5)]),
        ("bhqd,bhkd->bhqk", [(1, 2, 5, 4), (1, 2, 6, 4)]),
        ("...ij,...jk->...ik", [(2, 3, 3, 4), (3, 4, 5)]),
        ("bi,bi->b", [(3, 7), (3, 7)]),
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
        ("bchw,bc->bhw", [(2, 8, 4, 4), (2, 8)]),
    ],
)
def test_einsum_macs_equal_flop_counter_mode(equation, shapes):
    """einsum's MACs, contracted as torch contracts them, against FlopCounterMode on meta tensors."""
    from skanalyze.nn.layers import einsum_macs

    operands = [torch.zeros(s, device="meta") for s in shapes]
    with FlopCounterMode(display=False) as counter:
        torch.einsum(equation, *operands)
    assert 2 * einsum_macs(equation, shapes) == counter.get_total_flops()


class Scaled(tnn.Module):
    """A CNN with element-wise products by a scalar parameter and a 1-D tensor, and an interpolation."""

    def __init__(self):
        super().__init__()
        self.conv, self.fc = tnn.Conv2d(3, 8, 3, padding=1), tnn.Linear(8, 4)
        self.scale, self.shift = tnn.Parameter(torch.ones(1)), tnn.Parameter(torch.zeros(8))

    def forward(self, x):
        x = tnn.functional.interpolate(self.conv(x) * self.scale, scale_factor=2)
        v = x.mean(dim=(2, 3))
        return self.fc(torch.add(v, self.shift.mul(2)))  # a 1-D product: no channel dimension


def test_closed_forms_skip_what_has_no_channels_of_its_own():
    from skanalyze.core import symbols as S

    model = Scaled()
    m = from_module(model, (1, 3, 8, 8))
    forms = closed_forms(m, model)
    # at alpha_w = 1 the forms give the model itself: sum(p.numel()) and, at the traced input, its MACs
    assert forms.params.subs(S.alpha_w, 1) == sum(p.numel() for p in model.parameters())
    assert forms.macs is None or forms.macs.subs({S.alpha_w: 1, S.H_in: 8, S.W_in: 8}) == m.macs


class Recurrent(tnn.Module):
    """Every recurrent layer: LSTM (two layers, bidirectional, batch first), GRU, RNN (relu), the cells."""

    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 8, 3)
        self.lstm = tnn.LSTM(8, 6, num_layers=2, bidirectional=True, batch_first=True)
        self.gru, self.rnn = tnn.GRU(12, 5), tnn.RNN(5, 4, nonlinearity="relu")
        self.lcell, self.gcell, self.rcell = tnn.LSTMCell(4, 3), tnn.GRUCell(3, 3), tnn.RNNCell(3, 2)

    def forward(self, x):
        y = self.conv(x).flatten(2).transpose(1, 2)  # batch x steps x 8
        y = self.lstm(y)[0].transpose(0, 1)  # steps x batch x 12
        y = self.rnn(self.gru(y)[0])[0][-1]  # batch x 4
        h, _ = self.lcell(y)
        return self.rcell(self.gcell(h))


def test_recurrent_layers_are_counted_as_flop_counter_mode_counts_them():
    model = Recurrent().eval()
    m = from_module(model, (2, 3, 6, 6))
    assert m.params == sum(p.numel() for p in model.parameters()) and not m.unmodelled
    assert 2 * m.macs == flops_on_meta(Recurrent(), (2, 3, 6, 6))
    assert "LSTM(in=8, hidden=6, layers=2, bidirectional)" in [lay.notation for lay in m.layers]


@pytest.mark.parametrize("peer", ["torch", "fvcore", "ptflops", "ptflops-aten", "thop"])
def test_conventions_reproduce_each_peer_on_recurrent_layers(peer):
    from skanalyze.nn.importer import convention

    device = "cpu" if peer in ("fvcore", "ptflops") else "meta"
    # ptflops runs one image whatever the model is traced at: compare at batch 1
    expected = peer_total(peer, Recurrent(), (1, 3, 6, 6), device)
    assert convention(from_module(Recurrent(), (1, 3, 6, 6)), peer)["total"] == expected


def test_a_model_whose_only_conv_is_no_design_unit_prints_and_suggests(cli, tmp_path):
    """A patch embedding (a 4x4 conv of stride 4, as a vision transformer's) and a linear head: the report
    says it has no design unit, and --suggest that there is nothing to suggest, instead of a traceback."""
    path = tmp_path / "patches.py"
    path.write_text(
        "from torch import nn\n"
        "def patches():\n"
        "    return nn.Sequential(nn.Conv2d(3, 8, 4, stride=4), nn.Flatten(), nn.Linear(8 * 2 * 2, 10))\n"
    )
    code, out, err = cli("model", f"{path}:patches", "--input", "1x3x8x8", "--json")
    assert code == 0 and json.loads(out)["units"] == [], err
    code, out, err = cli("model", f"{path}:patches", "--input", "1x3x8x8", "--suggest")
    assert code == 0 and err == "", err
    assert "design units (0): none (no convolution here is one the notation writes as a design)" in out
    assert (
        "replacing each unit by one paper design: nothing to suggest (no unit with a spatial kernel past the stem)"
        in out
    )
    assert f"total: {3 * 8 * 16 + 8 + 32 * 10 + 10:,} params" in out  # sum(p.numel()), written out


class KeywordCalls(tnn.Module):
    """A conv and a linear layer called with their weights (and bias) as keywords, as BEiT's attention calls
    F.linear(x, weight=..., bias=...)."""

    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 8, 3, padding=1)
        self.fc = tnn.Linear(8, 5)

    def forward(self, x):
        y = tnn.functional.conv2d(x, weight=self.conv.weight, bias=self.conv.bias, padding=1)
        y = y.mean((2, 3))
        return tnn.functional.linear(input=y, weight=self.fc.weight, bias=self.fc.bias)


def test_weights_passed_as_keywords_are_counted():
    """It used to stop the trace ('tuple index out of range'); now its params are sum(p.numel()) and its MACs
    FlopCounterMode's / 2."""
    model, shape = KeywordCalls().eval(), (2, 3, 6, 6)
    m = from_module(model, shape)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(shape))
    assert m.params == sum(p.numel() for p in model.parameters())
    assert 2 * m.macs == counter.get_total_flops()
    assert [lay.kind for lay in m.layers if lay.kind in ("conv", "linear")] == ["conv", "linear"]
