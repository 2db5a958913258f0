"""Output shapes of the calls a model makes most, by torch's own rules, for a trace on meta tensors: torch's meta
kernels for them are slow Python (FlopCounterMode on meta pays it on every call). Anything unusual (a tensor
subclass, mixed dtypes, a shape a rule does not cover) returns None and runs the real kernel, which raises what
it raises. tests/test_meta_shortcut.py checks every rule against torch's meta kernels."""

from __future__ import annotations

import math

import torch
from torch import nn as tnn
from torch.nn import functional as F

from .ops import CONVS, LINEARS, NORMS, arg, first_family

# Element-wise functions whose meta kernels are slow Python: on meta tensors their result is an empty tensor of
# the input's shape and strides (what an element-wise op returns), or the input itself when in place.
# function -> the position of its ``inplace`` argument (None: it has none)
UNARY = {
    F.relu: 1,
    F.relu6: 1,
    F.hardtanh: 3,
    F.gelu: None,
    F.silu: 1,
    F.hardswish: 1,
    F.hardsigmoid: 1,
    F.sigmoid: None,
    F.leaky_relu: 2,
    F.elu: 2,
    F.mish: 1,
    torch.relu: None,
    torch.sigmoid: None,
    torch.Tensor.relu: None,
    torch.Tensor.sigmoid: None,
    torch.Tensor.relu_: None,
    torch.Tensor.sigmoid_: None,
    F.dropout: 3,
    F.softplus: None,
    F.tanh: None,
    torch.tanh: None,
    torch.Tensor.tanh: None,
    torch.exp: None,
    torch.Tensor.exp: None,
    torch.sqrt: None,
    torch.Tensor.sqrt: None,
    torch.rsqrt: None,
    torch.Tensor.rsqrt: None,
    torch.neg: None,
    torch.Tensor.neg: None,
    torch.Tensor.__neg__: None,
    torch.abs: None,
    torch.Tensor.abs: None,
    torch.pow: None,
    torch.Tensor.pow: None,
    torch.Tensor.__pow__: None,
    torch.clamp: None,
    torch.Tensor.clamp: None,
    torch.Tensor.clamp_min: None,
    torch.Tensor.clamp_max: None,
}
IN_PLACE = {torch.Tensor.relu_, torch.Tensor.sigmoid_}


_PLAIN = (torch.Tensor, tnn.Parameter)


def _plain_meta(*values) -> bool:
    """Whether every value is a plain meta tensor (or parameter, not another subclass) of one dtype."""
    return all(type(v) in _PLAIN and v.device.type == "meta" for v in values) and (
        len({v.dtype for v in values}) == 1
    )


def _broadcast(*shapes) -> tuple | None:
    """The broadcast of shapes (torch's rule), or None where they do not broadcast."""
    out: list[int] = []
    length = max(len(s) for s in shapes)
    for at in range(1, length + 1):
        sizes = {s[-at] for s in shapes if len(s) >= at} - {1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


def _empty(shape, like) -> torch.Tensor:
    return torch.empty(shape, dtype=like.dtype, device="meta")


def _window(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool = False
) -> int | None:
    """The output length of a sliding window (a convolution or a pool), torch's formula; None if empty."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if span < 0 or stride <= 0 or padding < 0 or dilation <= 0 or kernel <= 0:
        return None  # torch refuses these (or returns nothing): let it say so
    out = (span + (stride - 1 if ceil else 0)) // stride + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _per_dim(value, dims: int) -> tuple | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * dims
    if isinstance(value, (tuple, list)) and all(type(v) is int for v in value):
        return tuple(value) * dims if len(value) == 1 else tuple(value) if len(value) == dims else None
    return None


def _conv_shape(func, args, kwargs) -> tuple | None:
    dims, transposed = CONVS[func]
    x, w = args[0], arg(args, kwargs, 1, "weight")
    bias = arg(args, kwargs, 2, "bias")
    if transposed or not _plain_meta(x, w) or x.dim() != dims + 2 or w.dim() != dims + 2:
        return None
    if bias is not None and not (_plain_meta(x, bias) and tuple(bias.shape) == (w.shape[0],)):
        return None
    stride = _per_dim(arg(args, kwargs, 3, "stride", 1), dims)
    padding = arg(args, kwargs, 4, "padding", 0)
    dilation = _per_dim(arg(args, kwargs, 5, "dilation", 1), dims)
    groups = arg(args, kwargs, 6, "groups", 1)
    if stride is None or dilation is None or type(groups) is not int or groups <= 0:
        return None
    if x.shape[1] != w.shape[1] * groups or w.shape[0] % groups:
        return None
    if padding == "valid":
        padding = (0,) * dims
    elif padding == "same":
        if any(s != 1 for s in stride):
            return None
        return (x.shape[0], w.shape[0], *x.shape[2:])
    padding = _per_dim(padding, dims)
    if padding is None:
        return None
    spatial = [
        _window(n, k, s, p, d)
        for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation, strict=True)
    ]
    return None if None in spatial or 0 in spatial else (x.shape[0], w.shape[0], *spatial)


POOL_DIMS = {F.max_pool2d: 2, torch.max_pool2d: 2, F.avg_pool2d: 2, torch._C._nn.avg_pool2d: 2}
ADAPTIVE = {F.adaptive_avg_pool2d: 2, torch._C._nn.adaptive_avg_pool2d: 2, F.adaptive_avg_pool1d: 1}


def _pool_shape(func, args, kwargs) -> tuple | None:
    x = args[0]
    if func in ADAPTIVE:
        dims = ADAPTIVE[func]
        size = arg(args, kwargs, 1, "output_size")
        size = _per_dim(size, dims)
        if size is None or x.dim() not in (dims + 1, dims + 2) or min(size) <= 0:
            return None
        return (*x.shape[:-dims], *size)
    dims = POOL_DIMS[func]
    names = ("kernel_size", "stride", "padding")
    kernel, stride, padding = (arg(args, kwargs, i + 1, n) for i, n in enumerate(names))
    is_max = func in (F.max_pool2d, torch.max_pool2d)
    dilation = arg(args, kwargs, 4, "dilation", 1) if is_max else 1
    ceil = arg(args, kwargs, 5 if is_max else 4, "ceil_mode", False)
    if is_max and arg(args, kwargs, 6, "return_indices", False):
        return None
    kernel = _per_dim(kernel, dims)
    stride = kernel if stride is None or stride == [] or stride == () else _per_dim(stride, dims)
    padding, dilation = _per_dim(padding if padding is not None else 0, dims), _per_dim(dilation, dims)
    if (
        None in (kernel, stride, padding, dilation)
        or type(ceil) is not bool
        or x.dim() not in (dims + 1, dims + 2)
    ):
        return None
    if any(2 * p > k for p, k in zip(padding, kernel, strict=True)):
        return None
    spatial = [
        _window(n, k, s, p, d, ceil)
        for n, k, s, p, d in zip(x.shape[-dims:], kernel, stride, padding, dilation, strict=True)
    ]
    return None if None in spatial or 0 in spatial else (*x.shape[:-dims], *spatial)


BINARY = {
    torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__,
    torch.mul, torch.Tensor.mul, torch.Tensor.__mul__, torch.Tensor.__rmul__,
    torch.sub, torch.Tensor.sub, torch.Tensor.__sub__,
    torch.div, torch.Tensor.div, torch.Tensor.__truediv__,
}  # fmt: skip
BINARY_IN_PLACE = {torch.Tensor.add_, torch.Tensor.__iadd__, torch.Tensor.mul_, torch.Tensor.__imul__}


def _binary(func, args, kwargs):
    if len(args) != 2 or set(kwargs) - {"alpha"} or (func in (torch.div, torch.Tensor.div) and kwargs):
        return None
    a, b = args
    tensors = [t for t in (a, b) if isinstance(t, torch.Tensor)]
    if not _plain_meta(*tensors):
        return None
    if len(tensors) == 1:  # a tensor and a Python number: the tensor's shape, if it is floating point
        number = b if tensors[0] is a else a
        if type(number) not in (int, float) or not tensors[0].is_floating_point():
            return None
        shape = tuple(tensors[0].shape)
    else:
        shape = _broadcast(tuple(a.shape), tuple(b.shape))
        if shape is None or (
            not a.is_floating_point() and func in (torch.div, torch.Tensor.div, torch.Tensor.__truediv__)
        ):
            return None
    if func in BINARY_IN_PLACE:
        return a if isinstance(a, torch.Tensor) and shape == tuple(a.shape) else None
    return _empty(shape, tensors[0])


def _linear(args, kwargs):
    x, w = args[0], arg(args, kwargs, 1, "weight")
    bias = arg(args, kwargs, 2, "bias")
    if not _plain_meta(x, w) or w.dim() != 2 or x.dim() < 1 or x.shape[-1] != w.shape[1]:
        return None
    if bias is not None and not (_plain_meta(x, bias) and tuple(bias.shape) == (w.shape[0],)):
        return None
    return _empty((*x.shape[:-1], w.shape[0]), x)


def _norm(func, args, kwargs):
    x = args[0]
    op = NORMS[func]
    if op == "layer_norm":
        shape = arg(args, kwargs, 1, "normalized_shape")
        # a tuple, list or torch.Size; an int is refused by torch
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else None
        if shape is None or not shape or tuple(x.shape[-len(shape) :]) != shape:
            return None
    elif op == "group_norm":
        groups = arg(args, kwargs, 1, "num_groups")
        if type(groups) is not int or groups <= 0 or x.dim() < 2 or x.shape[1] % groups:
            return None
        shape = (x.shape[1],)
    else:
        return None
    at = 2
    weight, bias = arg(args, kwargs, at, "weight"), arg(args, kwargs, at + 1, "bias")
    for t in (weight, bias):
        if t is not None and not (_plain_meta(x, t) and tuple(t.shape) == shape):
            return None
    return _empty(x.shape, x)


def _attention(args, kwargs):
    q, k, v = args[0], arg(args, kwargs, 1, "key"), arg(args, kwargs, 2, "value")
    mask = arg(args, kwargs, 3, "attn_mask")
    if kwargs.get("enable_gqa") or not _plain_meta(q, k, v) or q.dim() < 2:
        return None
    if q.shape[:-2] != k.shape[:-2] or k.shape[:-1] != v.shape[:-1] or q.shape[-1] != k.shape[-1]:
        return None
    if mask is not None:
        if kwargs.get("is_causal") or (len(args) > 5 and args[5]):
            return None  # a mask and is_causal together: torch refuses it
        full = (*q.shape[:-1], k.shape[-2])
        if type(mask) is not torch.Tensor or _broadcast(tuple(mask.shape), full) != full:
            return None
    return _empty((*q.shape[:-1], v.shape[-1]), q)


def _matmul(args, kwargs):
    if len(args) != 2 or kwargs:
        return None
    a, b = args
    if not _plain_meta(a, b) or a.dim() < 2 or b.dim() < 2 or a.shape[-1] != b.shape[-2]:
        return None
    batch = _broadcast(tuple(a.shape[:-2]), tuple(b.shape[:-2]))
    return None if batch is None else _empty((*batch, a.shape[-2], b.shape[-1]), a)


MODES = {"nearest": (1, 2, 3), "nearest-exact": (1, 2, 3), "area": (1, 2, 3), "linear": (1,), "bilinear": (2,),
         "bicubic": (2,), "trilinear": (3,)}  # fmt: skip


def _interpolate(args, kwargs):
    x = args[0]
    names = ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias")
    a = dict(zip(names, args[1:], strict=False)) | kwargs
    dims, mode = x.dim() - 2, a.get("mode", "nearest")
    if set(a) - set(names) or mode not in MODES or dims not in MODES[mode]:
        return None
    if (a.get("align_corners") is not None and mode in ("nearest", "nearest-exact", "area")) or (
        a.get("antialias") and mode not in ("bilinear", "bicubic")
    ):
        return None
    size, scale = a.get("size"), a.get("scale_factor")
    if (size is None) == (scale is None):
        return None
    if size is not None:
        spatial = _per_dim(size, dims)
    else:
        scales = (scale,) * dims if type(scale) in (int, float) else tuple(scale)
        if len(scales) != dims or any(type(f) not in (int, float) or f <= 0 for f in scales):
            return None
        spatial = tuple(math.floor(float(n) * f) for n, f in zip(x.shape[2:], scales, strict=True))
    return None if spatial is None or min(spatial) <= 0 else _empty((*x.shape[:2], *spatial), x)


def _cat(args, kwargs):
    tensors, dim = arg(args, kwargs, 0, "tensors"), arg(args, kwargs, 1, "dim", 0)
    if set(kwargs) - {"tensors", "dim"} or not isinstance(tensors, (list, tuple)) or not tensors:
        return None
    if type(dim) is not int or not _plain_meta(*tensors):
        return None
    first = tensors[0]
    if first.dim() == 0 or not -first.dim() <= dim < first.dim():
        return None
    dim %= first.dim()
    rest = [tuple(t.shape[:dim]) + tuple(t.shape[dim + 1 :]) for t in tensors]
    if any(t.dim() != first.dim() for t in tensors) or len(set(rest)) != 1:
        return None  # torch's legacy rule for 1-D empty tensors among others: run it
    return _empty((*first.shape[:dim], sum(t.shape[dim] for t in tensors), *first.shape[dim + 1 :]), first)


SOFTMAX = {F.softmax, torch.softmax, torch.Tensor.softmax}
MATMULS = {torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__}


def _shaped(func, args, kwargs):
    shape = (_conv_shape if func in CONVS else _pool_shape)(func, args, kwargs)
    return None if shape is None else _empty(shape, args[0])


def _softmax(func, args, kwargs):
    x, dim = args[0], arg(args, kwargs, 1, "dim")
    if type(dim) is not int or kwargs.get("dtype") is not None or (len(args) > 3 and args[3] is not None):
        return None
    return _empty(x.shape, x) if -max(x.dim(), 1) <= dim < max(x.dim(), 1) else None


def _batch_norm(func, args, kwargs):
    x = args[0]
    return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta") if x.dim() >= 2 else None


def _normalize(func, args, kwargs):
    x, dim = args[0], arg(args, kwargs, 2, "dim", 1)
    if arg(args, kwargs, 4, "out") is not None or type(dim) is not int or not -x.dim() <= dim < x.dim():
        return None
    return _empty(x.shape, x) if x.is_floating_point() else None


def _unary(func, args, kwargs):
    x = args[0]
    if any(isinstance(a, torch.Tensor) for a in (*args[1:], *kwargs.values())):
        return None  # a second tensor (a PReLU weight, an exponent): run it
    if not x.is_floating_point() or any(type(a) not in (int, float, bool, str, type(None)) for a in args[1:]):
        return None  # an integer tensor (exp makes it floating point), a complex exponent: run it
    at = UNARY[func]
    inplace = func in IN_PLACE or kwargs.get("inplace") or (at is not None and len(args) > at and args[at])
    if func is F.dropout:
        training = kwargs.get("training", args[2] if len(args) > 2 else True)
        return None if training else x  # F.dropout(training=False) returns its input
    if inplace:
        return x
    return torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device="meta")


def _rules() -> dict:
    """Function -> its shape rule (each ``(func, args, kwargs) -> tensor or None``)."""
    families = [
        ((torch.cat,), lambda func, args, kwargs: _cat(args, kwargs)),
        ((*BINARY, *BINARY_IN_PLACE), _binary),
        (LINEARS, lambda func, args, kwargs: _linear(args, kwargs)),
        ((*CONVS, *POOL_DIMS, *ADAPTIVE), _shaped),
        (NORMS, _norm),
        ((F.scaled_dot_product_attention,), lambda func, args, kwargs: _attention(args, kwargs)),
        (MATMULS, lambda func, args, kwargs: _matmul(args, kwargs)),
        ((F.interpolate,), lambda func, args, kwargs: _interpolate(args, kwargs)),
        (SOFTMAX, _softmax),
        ((F.batch_norm, torch.batch_norm), _batch_norm),
        ((F.normalize,), _normalize),
        (UNARY, _unary),
    ]
    return first_family(families)


RULES = _rules()


def meta_shortcut(func, args, kwargs):
    """The result of a call on meta tensors without running its meta kernel (torch's are slow Python), or None
    to run it: the output's shape by torch's own rule, for the calls a model makes most; anything unusual (a
    subclass, mixed dtypes, a shape the rule does not cover) runs the real kernel, which raises what it raises.
    tests/test_meta_shortcut.py checks each rule against torch's meta kernels."""
    rule = RULES.get(func)
    if rule is None:
        return None
    x = args[0] if args else None
    if func is not torch.cat and (type(x) is not torch.Tensor or x.device.type != "meta"):
        if func in BINARY and isinstance(args[1] if len(args) > 1 else None, torch.Tensor):
            return _binary(func, args, kwargs)  # 1 + x
        return None
    return rule(func, args, kwargs)
