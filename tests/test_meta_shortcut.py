"""The trace's meta shortcuts (output shapes by torch's rules, without torch's slow Python meta kernels), each
checked against the oracle it replaces: the same call run by torch on meta tensors."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from skanalyze.nn.meta_shapes import meta_shortcut  # noqa: E402


def meta(*shape, dtype=torch.float32):
    return torch.empty(shape, device="meta", dtype=dtype)


def check(func, *args, **kwargs):
    """The shortcut's answer, after checking it against torch's own: the same shape and dtype, the same object
    for an in-place call, and no answer at all for a call torch refuses."""
    got = meta_shortcut(func, args, kwargs)
    try:
        want = func(*args, **kwargs)
    except Exception:
        assert got is None, f"{func.__name__}{args} is refused by torch but answered"
        return None
    if got is not None:
        assert tuple(got.shape) == tuple(want.shape), (func.__name__, args, kwargs)
        assert got.dtype == want.dtype and got.device.type == "meta"
        if want is args[0]:
            assert got is args[0]
    return got


def test_the_common_calls_are_answered_without_torch():
    # the calls a network makes most: each must be answered (else the trace is slow again) and right
    x = meta(2, 8, 14, 14)
    answered = [
        check(F.conv2d, x, meta(16, 4, 3, 3), None, 2, 1, 1, 2),
        check(torch.conv2d, x, meta(8, 1, 5, 5), meta(8), 1, 2, 1, 8),
        check(F.linear, meta(2, 197, 192), meta(576, 192), meta(576)),
        check(F.linear, meta(2, 197, 192), torch.nn.Parameter(meta(576, 192))),
        check(F.layer_norm, meta(2, 197, 192), (192,), meta(192), meta(192), 1e-6),
        check(F.group_norm, x, 4, meta(8), meta(8)),
        check(F.scaled_dot_product_attention, meta(2, 3, 197, 64), meta(2, 3, 197, 64), meta(2, 3, 197, 32)),
        check(torch.matmul, meta(2, 3, 197, 64), meta(2, 3, 64, 197)),
        check(torch.Tensor.__add__, x, meta(1, 8, 1, 1)),
        check(torch.Tensor.__mul__, x, 0.5),
        check(torch.Tensor.__radd__, x, 1),
        check(torch.Tensor.__iadd__, x, meta(8, 14, 14)),
        check(F.softmax, meta(2, 3, 197, 197), -1),
        check(F.max_pool2d, x, 3, 2, 1),
        check(F.avg_pool2d, x, 2),
        check(F.adaptive_avg_pool2d, x, 1),
        check(F.interpolate, x, None, 2.0, "bilinear", False),
        check(F.interpolate, x, (20, 21), None, "bicubic"),
        check(F.normalize, meta(2, 197, 64), 2.0, -1),
        check(F.gelu, x),
        check(torch.Tensor.pow, x, 2),
    ]
    assert all(a is not None for a in answered)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@settings(max_examples=300, deadline=None)
@given(
    dims=st.sampled_from([1, 2, 3]),
    channels=st.integers(1, 4),
    groups=st.sampled_from([1, 2, 3]),
    out_per_group=st.integers(1, 3),
    size=st.integers(1, 9),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    padding=st.one_of(st.integers(0, 3), st.sampled_from(["same", "valid"])),
    dilation=st.integers(1, 2),
    bias=st.booleans(),
    wrong_groups=st.booleans(),
)
def test_convolutions_match_torch(
    dims, channels, groups, out_per_group, size, kernel, stride, padding, dilation, bias, wrong_groups
):
    func = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[dims]
    c_in = channels * groups + (1 if wrong_groups else 0)
    spatial = (size,) * dims
    weight = meta(out_per_group * groups, channels, *(kernel,) * dims)
    check(func, meta(2, c_in, *spatial), weight, meta(out_per_group * groups) if bias else None, stride, padding,
          dilation, groups)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 12),
    kernel=st.integers(1, 4),
    stride=st.one_of(st.none(), st.integers(1, 3)),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    ceil=st.booleans(),
    average=st.booleans(),
    batched=st.booleans(),
)
def test_pools_match_torch(size, kernel, stride, padding, dilation, ceil, average, batched):
    x = meta(2, 3, size, size + 1) if batched else meta(3, size, size + 1)
    if average:
        check(F.avg_pool2d, x, kernel, stride, padding, ceil)
    else:
        check(F.max_pool2d, x, kernel, stride, padding, dilation, ceil)
    check(F.adaptive_avg_pool2d, x, (kernel, padding + 1))


SHAPES = [(), (1,), (3,), (2, 3), (1, 3), (2, 1), (4, 2, 3), (4, 1, 1), (5, 4, 2, 3), (2, 4)]


@pytest.mark.parametrize(
    "func",
    [torch.add, torch.Tensor.__add__, torch.Tensor.__radd__, torch.mul, torch.Tensor.__mul__, torch.sub,
     torch.Tensor.__sub__, torch.div, torch.Tensor.__truediv__, torch.Tensor.add_, torch.Tensor.__iadd__,
     torch.Tensor.mul_, torch.Tensor.__imul__],
)  # fmt: skip
def test_binary_operations_match_torch(func):
    for a in SHAPES:
        for b in SHAPES:
            check(func, meta(*a), meta(*b))
            check(func, meta(*a), meta(*b, dtype=torch.float16))  # mixed dtypes: torch's promotion, not ours
        for number in (2, 0.5, True):
            check(func, meta(*a), number)
            check(func, meta(*a, dtype=torch.int64), number)
    check(torch.add, meta(2, 3), meta(2, 3), alpha=2)


def test_products_norms_and_attention_match_torch():
    for left, right in [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 3, 4), (1, 4, 5)), ((2, 3, 4), (3, 4, 5)),
                        ((3, 4), (5, 4)), ((4,), (4, 5)), ((2, 1, 3, 4), (5, 4, 6))]:  # fmt: skip
        check(torch.matmul, meta(*left), meta(*right))
        check(torch.Tensor.__matmul__, meta(*left), meta(*right))
        check(F.linear, meta(*left), meta(*right[::-1]))
        check(F.linear, meta(*left), meta(*right[::-1]), meta(right[-1]))
        check(F.linear, meta(*left), meta(*right[::-1]), meta(right[-1] + 1))
    for shape, normalized in [((2, 5, 8), 8), ((2, 5, 8), (5, 8)), ((2, 5, 8), (5,)), ((2, 5, 8), [8])]:
        check(F.layer_norm, meta(*shape), normalized)
        check(F.layer_norm, meta(*shape), normalized, meta(8), meta(8))
    for groups in (1, 2, 3, 4):
        check(F.group_norm, meta(2, 8, 3, 3), groups)
        check(F.group_norm, meta(2, 8, 3, 3), groups, meta(8), meta(8))
        check(F.group_norm, meta(2, 8, 3, 3), groups, meta(4))
    for q, k, v, mask in [
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), None),
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), (5, 7)),
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), (2, 1, 5, 7)),
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 7, 4), (5, 6)),
        ((2, 3, 5, 8), (2, 3, 7, 6), (2, 3, 7, 4), None),
        ((2, 3, 5, 8), (2, 3, 7, 8), (2, 3, 6, 4), None),
        ((5, 8), (7, 8), (7, 4), None),
    ]:
        check(
            F.scaled_dot_product_attention,
            meta(*q),
            meta(*k),
            meta(*v),
            None if mask is None else meta(*mask),
        )
        if mask is not None:  # a mask and is_causal together: torch refuses it
            check(F.scaled_dot_product_attention, meta(*q), meta(*k), meta(*v), meta(*mask), is_causal=True)


def test_element_wise_calls_match_torch():
    x = meta(2, 3, 4)
    for dim in (-4, -3, -1, 0, 2, 3):
        check(F.softmax, x, dim)
        check(torch.Tensor.softmax, x, dim)
        check(F.normalize, x, 2.0, dim)
    check(F.softmax, x, -1, dtype=torch.float64)
    for func in (torch.tanh, torch.exp, torch.sqrt, torch.rsqrt, torch.neg, torch.abs, torch.Tensor.__neg__,
                 F.softplus, F.tanh, F.relu, F.gelu, F.silu, F.hardswish, torch.sigmoid):  # fmt: skip
        check(func, x)
        check(func, meta(2, 3, dtype=torch.int64))
    check(torch.pow, x, 2)
    check(torch.Tensor.pow, x, 0.5)
    check(torch.Tensor.pow, x, meta(2, 3, 4))
    check(torch.clamp, x, 0.0, 6.0)
    check(torch.Tensor.clamp_min, x, 1e-6)


@pytest.mark.parametrize(
    "mode", ["nearest", "nearest-exact", "area", "linear", "bilinear", "bicubic", "trilinear"]
)
def test_interpolation_matches_torch(mode):
    for dims in (1, 2, 3):
        x = meta(2, 3, *(5,) * dims)
        for size, scale in [(7, None), ((7,) * dims, None), ((7, 8), None), (None, 2.0), (None, 0.5), (None, 1.7),
                            (None, (1.5,) * dims), (None, (1.5, 2.0)), (7, 2.0), (None, None), (0, None)]:  # fmt: skip
            check(F.interpolate, x, size, scale, mode)
            check(F.interpolate, x, size, scale, mode, True)
            check(F.interpolate, x, size, scale, mode, None, None, True)


def test_settings_torch_refuses_are_never_answered():
    x, w = meta(1, 4, 8, 8), meta(4, 4, 3, 3)
    for stride, padding, dilation in [(0, 1, 1), (-1, 1, 1), (1, -1, 1), (1, 1, 0), (1, 1, -2)]:
        check(F.conv2d, x, w, None, stride, padding, dilation)
    check(F.max_pool2d, x, 3, -1)
    check(F.avg_pool2d, x, 3, 1, -1)


def test_concatenation_matches_torch():
    for shapes, dim in [
        ([(2, 3, 4), (2, 5, 4)], 1),
        ([(2, 3, 4), (2, 5, 4)], -2),
        ([(2, 3, 4), (2, 5, 4)], 0),
        ([(2, 3, 4), (2, 3, 4), (2, 3, 1)], 2),
        ([(2, 3, 4), (2, 3)], 1),
        ([(2, 3, 4), (0,)], 1),
        ([(2, 3, 4)], 3),
        ([(3,), (4,)], 0),
        ([()], 0),
    ]:
        check(torch.cat, [meta(*s) for s in shapes], dim)
        check(torch.cat, tuple(meta(*s) for s in shapes), dim=dim)
    check(torch.cat, [meta(2, 3), meta(2, 3, dtype=torch.float16)], 1)
    assert check(torch.cat, [meta(2, 3), meta(2, 5)], 1) is not None
