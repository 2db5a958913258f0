"""A design: a sequence of kernels with a channel plan C -> ... -> F, parsed from the paper's notation.

Notation: kernels joined by ``+``, each ``Name`` or ``Name(arg, key=value, ...)``, then an
optional ``[key=value, ...]`` suffix for design options::

    DW+PW
    GConv(M)+PWGConv(N)
    PWGConv(4)+DW+PWGConv(4)
    PW+DW+PW [K=6*C]
    GConv(4,k=5,s=2)+Shuffle+PWGConv(8) [shuffle=none]

Channel plan (``plan=auto``): kernels that keep the width (DW, Shuffle) never change it.
If the first kernel is pointwise and a later kernel can change the width, the design is a
bottleneck: the first kernel maps C -> K, middle ones keep K, the last width-changing
kernel maps K -> F (K = F/4 unless ``K=`` says otherwise). Otherwise every width-changing
kernel keeps C except the last, which maps to F (so GConv keeps C in GConv+PWGConv).
``plan=keep`` forces the latter, ``plan=bottleneck`` the former, and ``plan=early`` widens
at the first width-changing kernel instead (C -> F, then F -> F), as ResNet's basic block does.
Shuffles (``shuffle=auto``): a Shuffle(g) is inserted before each grouped kernel that
follows another grouped kernel with no full mixing or shuffle in between, g being the
earlier kernel's group number, as the paper requires for a full information field.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache

import sympy as sp

from . import symbols as S
from .errors import SkanalyzeError, did_you_mean
from .exact import compile_exact
from .kernels import Kernel, Shuffle, kernel_fields, lookup

PLANS = ("auto", "bottleneck", "keep", "early")
SHUFFLES = ("auto", "none")
DEFAULT_BOTTLENECK = S.F / 4


@dataclass(frozen=True)
class Layer:
    """One kernel placed in a design, with its input and output widths."""

    kernel: Kernel
    c_in: sp.Expr
    c_out: sp.Expr
    inserted: bool = False  # a shuffle added by the plan, not written by the user

    def params(self) -> sp.Expr:
        """Weights of this layer."""
        return self.kernel.params(self.c_in, self.c_out)

    def subs(self, values: dict) -> Layer:
        """The layer with values substituted into its widths and its group number."""
        return replace(
            self,
            kernel=self.kernel.subs(values),
            c_in=S.at(self.c_in, values),
            c_out=S.at(self.c_out, values),
        )


@dataclass(frozen=True)
class Design:
    """An immutable design: kernels as written plus the options that fix its channel plan."""

    kernels: tuple[Kernel, ...]
    bottleneck: sp.Expr = DEFAULT_BOTTLENECK
    plan: str = "auto"
    shuffles: str = "auto"
    label: str | None = None  # catalog name, when the design came from the catalog

    def __post_init__(self):
        if not self.kernels:
            raise SkanalyzeError("a design needs at least one kernel, e.g. DW+PW")
        if self.plan not in PLANS:
            raise SkanalyzeError(f"plan {self.plan!r} is unknown; valid: {', '.join(PLANS)}")
        if self.shuffles not in SHUFFLES:
            raise SkanalyzeError(f"shuffle {self.shuffles!r} is unknown; valid: {', '.join(SHUFFLES)}")
        extra = sp.sympify(self.bottleneck).free_symbols - {S.C, S.F}
        if extra:
            raise SkanalyzeError(
                f"bottleneck K={self.bottleneck} may use only C and F, not {', '.join(map(str, extra))}"
            )

    # -- notation -------------------------------------------------------------------
    @cached_property
    def notation(self) -> str:
        """The design in the paper's notation, with non-default options in brackets."""
        text = "+".join(kern.notation() for kern in self.kernels)
        opts = []
        # a bottleneck is a rational function of C and F: cancel decides exactly whether it is the default
        # (the same expression or a number, an imported layer's K, needs no cancelling)
        b = sp.sympify(self.bottleneck)
        differs = b.is_number or (b != DEFAULT_BOTTLENECK and sp.cancel(b - DEFAULT_BOTTLENECK) != 0)
        if self.uses_bottleneck and differs:
            opts.append(f"K={_fmt(self.bottleneck)}")
        if self.plan != "auto":
            opts.append(f"plan={self.plan}")
        if self.shuffles != "auto":
            opts.append(f"shuffle={self.shuffles}")
        return text + (f" [{', '.join(opts)}]" if opts else "")

    def __str__(self) -> str:
        return self.notation

    # -- notebooks ------------------------------------------------------------------
    def _repr_markdown_(self) -> str:
        """Jupyter: the notation and one row per kernel with its description."""
        rows = "\n".join(f"| `{k.notation()}` | {k.description} |" for k in self.kernels)
        return f"**`{self.notation}`**\n\n| kernel | what it is |\n|---|---|\n{rows}\n"

    def _repr_latex_(self) -> str:
        """Jupyter (LaTeX front ends): the notation as inline math."""
        return "$\\text{" + self.notation.replace("_", "\\_") + "}$"

    def _repr_html_(self) -> str:
        """Jupyter (HTML front ends): the notation and its kernels."""
        items = "".join(
            f"<li><code>{html.escape(k.notation())}</code>: {html.escape(k.description)}</li>"
            for k in self.kernels
        )
        return f"<p><code>{html.escape(self.notation)}</code></p><ul>{items}</ul>"

    # -- channel plan -----------------------------------------------------------------
    @cached_property
    def is_bottleneck(self) -> bool:
        """True when the plan routes the middle of the design through K channels."""
        changing = [i for i, kern in enumerate(self.kernels) if not kern.keeps_width]
        if len(changing) < 2 or self.plan in ("keep", "early"):
            return False
        if self.plan == "bottleneck":
            return True
        first = self.kernels[0]
        return changing[0] == 0 and not first.spatial

    @property
    def uses_bottleneck(self) -> bool:
        """Whether the symbol K appears in this design's widths."""
        return self.is_bottleneck

    @cached_property
    def widths(self) -> tuple[sp.Expr, ...]:
        """Width after each written kernel, starting with the input: (C, ..., F)."""
        changing = [i for i, kern in enumerate(self.kernels) if not kern.keeps_width]
        out: list[sp.Expr] = [S.C]
        for i, _ in enumerate(self.kernels):
            cur = out[-1]
            if i not in changing:
                out.append(cur)
            elif i == changing[-1] or (self.plan == "early" and i == changing[0]):
                out.append(S.F)
            elif self.is_bottleneck:
                out.append(S.K)
            else:
                out.append(cur)
        return tuple(out)

    @property
    def output(self) -> sp.Expr:
        """The output width: F, or C for designs that cannot change the width (DW alone)."""
        return self.widths[-1]

    @cached_property
    def layers(self) -> tuple[Layer, ...]:
        """The layers with widths, shuffles inserted where the plan puts them."""
        out: list[Layer] = []
        last_groups = None  # group number of the last grouped layer not yet mixed
        for kern, c_in, c_out in zip(self.kernels, self.widths, self.widths[1:], strict=False):
            if isinstance(kern, Shuffle):
                if kern.g is None:
                    if last_groups is None:
                        raise SkanalyzeError(
                            f"design {self.notation!r}: Shuffle needs a group number, "
                            "e.g. Shuffle(4), when no grouped kernel precedes it"
                        )
                    kern = kern.with_arg(last_groups)
                out.append(Layer(kern, c_in, c_out))
                last_groups = None
                continue
            ops = kern.channel_ops(c_in, c_out)  # the kernel's one description of its channel connectivity
            grouped = any(op[0] == "group" and op[1] != 1 and op[1] != c_in for op in ops)
            if grouped and last_groups is not None and self.shuffles == "auto":
                out.append(Layer(Shuffle(g=last_groups), c_in, c_in, inserted=True))
            out.append(Layer(kern, c_in, c_out))
            last_groups = _unmixed_after(ops, c_in, last_groups)
        return tuple(out)

    # -- symbols ----------------------------------------------------------------------
    @cached_property
    def group_symbols(self) -> tuple[sp.Symbol, ...]:
        """Free group-number symbols, in order of appearance (M, N, ...)."""
        seen: list[sp.Symbol] = []
        for kern in self.kernels:
            if kern.free_arg:
                for sym in sorted(kern.arg_symbols(), key=str):
                    if sym not in seen:
                        seen.append(sym)
        return tuple(seen)

    @property
    def free_symbols(self) -> set[sp.Symbol]:
        """Symbols a concrete build needs values for (K comes from the bottleneck rule)."""
        return set(_free_symbols(self))

    def substitute_bottleneck(self, expr: sp.Expr) -> sp.Expr:
        """Replace K by the design's bottleneck value (F/4 by default)."""
        return sp.sympify(expr).subs(S.K, self.bottleneck) if self.uses_bottleneck else expr

    def at(self, values: dict) -> tuple[IntLayer, ...]:
        """The layers at concrete integer values, fast (compiled once per design); raises on invalid sizes."""
        compiled = _compiled_layers(self)
        values = S.keyed(values)
        args = [values.get(sym) for sym in compiled.symbols]
        args = [
            int(a) if isinstance(a, sp.Integer) else a for a in args
        ]  # plain ints: the compiled code's fast path
        if any(a is None for a in args):
            missing = [str(sym) for sym, a in zip(compiled.symbols, args, strict=True) if a is None]
            raise SkanalyzeError(f"design {self.notation!r} needs values for {', '.join(missing)}")
        out = []
        for layer, fns in zip(self.layers, compiled.layers, strict=True):
            c_in, c_out = _int(fns[0](*args)), _int(fns[1](*args))
            ops = tuple((op[0], *(_int(f(*args)) for f in op[1:])) for op in fns[2])
            self._check_layer(layer.kernel, c_in, c_out, ops, values)
            for what, divisor_fn, width_fn in fns[3]:
                g, w = _int(divisor_fn(*args)), _int(width_fn(*args))
                if g is None or g <= 0 or w is None or w % g:
                    raise SkanalyzeError(
                        f"design {self.notation!r}: {what} (={g}) must be a positive integer dividing the {w} channels"
                    )
            out.append(IntLayer(layer, c_in, c_out, ops))
        return tuple(out)

    def _check_layer(self, kernel, c_in, c_out, ops: tuple, values: dict) -> None:
        """One layer at concrete sizes: positive integer widths, its kept width, every group number dividing
        the channels it splits."""
        name = kernel.name
        if c_in is None or c_out is None or c_in <= 0 or c_out <= 0:
            raise SkanalyzeError(
                f"design {self.notation!r}: {name} widths ({c_in}, {c_out}) must be positive integers at {show_values(values)}"
            )
        if kernel.keeps_width and c_in != c_out:
            raise SkanalyzeError(f"design {self.notation!r}: {name} keeps the width, {c_in} != {c_out}")
        width = c_in
        for op in ops:
            g = op[1]
            for w in (width, op[2]) if op[0] == "group" else (width,):
                if g is None or g <= 0 or w is None or w % g:
                    raise SkanalyzeError(
                        f"design {self.notation!r}: {name} group number (={g}) must be a positive integer "
                        f"dividing the {w} channels it splits"
                    )
            width = op[2] if op[0] == "group" else width

    def subs_groups(self, groups: dict) -> Design:
        """The design with group numbers substituted (no longer the catalog entry, so without its label)."""
        return replace(self, kernels=tuple(k.subs(groups) for k in self.kernels), label=None)

    def validate(self, values: dict) -> None:
        """Check every layer's widths and group numbers at concrete values; raise on the first error."""
        values = S.keyed(values)
        for layer in self.layers:
            c_in = S.at(layer.c_in, values)
            c_out = S.at(layer.c_out, values)
            kern = layer.kernel.subs(values)
            try:
                kern.validate(c_in, c_out)
            except SkanalyzeError as err:
                raise SkanalyzeError(f"design {self.notation!r}: {err}") from None


def _unmixed_after(ops: tuple, c_in, before):
    """The group number whose groups a kernel's output still keeps apart (None: mixed), read from its
    channel_ops: a final shuffle or a full connection mixes them; a channel-wise op (DW: one group per
    channel) keeps what came before; any other grouping leaves its own groups apart."""
    kind, *rest = ops[-1]
    if kind == "shuffle" or rest[0] == 1:
        return None
    return before if rest[0] == c_in else rest[0]


def _fmt(expr) -> str:
    return str(expr).replace(" ", "")


@dataclass(frozen=True)
class IntLayer:
    """A layer at concrete sizes: the symbolic layer, integer widths and integer channel ops."""

    layer: Layer
    c_in: int
    c_out: int
    ops: tuple


@dataclass(frozen=True)
class _Compiled:
    symbols: tuple
    layers: tuple  # per layer: (c_in fn, c_out fn, ((kind, fn, ...), ...))


def show_values(values: dict) -> str:
    """Values as `C=64, M=4` for messages."""
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _int(value) -> int | None:
    return value if isinstance(value, int) else None


@lru_cache(maxsize=512)
def _free_symbols(design: Design) -> frozenset[sp.Symbol]:
    """Design.free_symbols, once per design (every validated count asks for it)."""
    out: set[sp.Symbol] = set()
    for lay in design.layers:
        out |= sp.sympify(lay.c_in).free_symbols | sp.sympify(lay.c_out).free_symbols
        out |= lay.kernel.arg_symbols()
        for e in lay.kernel.extent():
            out |= sp.sympify(e).free_symbols
    if design.uses_bottleneck:
        out = (out - {S.K}) | sp.sympify(design.bottleneck).free_symbols
    return frozenset(out)


_COMPILED: dict = {}


def _compiled_layers(design: Design) -> _Compiled:
    if design in _COMPILED:
        return _COMPILED[design]
    exprs = [
        e
        for lay in design.layers
        for op in lay.kernel.channel_ops(lay.c_in, lay.c_out)
        for e in (lay.c_in, lay.c_out, *op[1:])
    ] + [e for lay in design.layers for _, *pair in lay.kernel.constraints(lay.c_in, lay.c_out) for e in pair]
    syms = sorted(set().union(*(sp.sympify(e).free_symbols for e in exprs)), key=str)

    def fn(expr):
        return compile_exact(expr, syms)

    layers = tuple(
        (
            fn(lay.c_in),
            fn(lay.c_out),
            tuple((op[0], *(fn(e) for e in op[1:])) for op in lay.kernel.channel_ops(lay.c_in, lay.c_out)),
            tuple((what, fn(d), fn(w)) for what, d, w in lay.kernel.constraints(lay.c_in, lay.c_out)),
        )
        for lay in design.layers
    )
    _COMPILED[design] = _Compiled(tuple(syms), layers)
    return _COMPILED[design]


# -- parsing -------------------------------------------------------------------------------------------
_ITEM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*|1x1)\s*(?:\(([^()]*)\))?\s*$")


def parse(text: str, **options) -> Design:
    """Parse the paper's notation into a Design.

    >>> parse("GConv+PWGConv").notation
    'GConv(M)+PWGConv(N)'
    """
    if not isinstance(text, str) or not text.strip():
        raise SkanalyzeError("design is empty; write kernels joined by '+', e.g. DW+PW")
    body, opts = _split_options(text)
    kernels: list[Kernel] = []
    for pos, item in enumerate(body.split("+")):
        if not item.strip():
            raise SkanalyzeError(
                f"design {text!r}: kernel {pos + 1} is empty; write kernels joined by '+', e.g. DW+PW"
            )
        kernels.append(_parse_kernel(item, text))
    kernels = _assign_groups(kernels)
    design_opts = {**_parse_options(opts, text), **options}
    return Design(tuple(kernels), **design_opts)


def _split_options(text: str) -> tuple[str, str]:
    if "[" not in text:
        if "]" in text:
            raise SkanalyzeError(f"design {text!r}: ']' without '['")
        return text, ""
    body, _, rest = text.partition("[")
    if not rest.rstrip().endswith("]") or "[" in rest or rest.count("]") != 1:
        raise SkanalyzeError(f"design {text!r}: options must be one trailing [key=value, ...]")
    return body, rest.rstrip()[:-1]


def _parse_options(opts: str, text: str) -> dict:
    out: dict = {}
    for part in filter(None, (p.strip() for p in opts.split(","))):
        key, eq, value = (x.strip() for x in part.partition("="))
        if not eq or not value:
            raise SkanalyzeError(f"design {text!r}: option {part!r} is not key=value")
        if key == "K":
            out["bottleneck"] = parse_bottleneck(value)
        elif key == "plan":
            out["plan"] = value
        elif key == "shuffle":
            out["shuffles"] = value
        else:
            raise SkanalyzeError(f"design {text!r}: unknown option {key!r}; valid: K, plan, shuffle")
    return out


def parse_bottleneck(value: str) -> sp.Expr:
    """Parse a bottleneck width K: an expression in C and F (F/4, 6*C) or a number (64)."""
    expr = S.parse_expr(value, what="bottleneck K")
    extra = expr.free_symbols - {S.C, S.F}
    if extra:
        raise SkanalyzeError(f"bottleneck K={value!r} may use only C and F; e.g. F/4, 6*C or 64")
    if expr.is_positive is False:  # a number <= 0, or an expression never positive for positive C and F (-F)
        raise SkanalyzeError(f"bottleneck K={value!r} must be positive; e.g. F/4, 6*C or 64")
    return expr


def _parse_kernel(item: str, text: str) -> Kernel:
    m = _ITEM.match(item)
    if not m:
        raise SkanalyzeError(
            f"design {text!r}: cannot read {item.strip()!r}; a kernel is Name or Name(args), e.g. GConv(4)"
        )
    name, args = m.group(1), m.group(2)
    cls = lookup(name)
    kwargs: dict = {}
    if args is not None and args.strip():
        for pos, arg in enumerate(a.strip() for a in args.split(",")):
            key, eq, value = (x.strip() for x in arg.partition("="))
            if not eq:
                key, value = cls.arg, arg
                if key is None:
                    raise SkanalyzeError(
                        f"design {text!r}: {cls.name} takes no group number (got {arg!r}); "
                        f"keywords: {', '.join(kernel_fields(cls))}"
                    )
                if pos != 0:
                    raise SkanalyzeError(f"design {text!r}: the group number of {cls.name} must come first")
            elif key not in kernel_fields(cls):
                raise SkanalyzeError(
                    f"design {text!r}: {cls.name} has no option {key!r}; "
                    + did_you_mean(key, kernel_fields(cls))
                )
            if not value:
                raise SkanalyzeError(f"design {text!r}: {cls.name} argument {arg!r} has no value")
            if key in kwargs:
                raise SkanalyzeError(f"design {text!r}: {cls.name} gets {key!r} twice")
            kwargs[key] = _parse_arg(key, value, cls, text)
    try:
        return cls(**kwargs)
    except SkanalyzeError as err:
        raise SkanalyzeError(f"design {text!r}: {err}") from None


def _parse_arg(key: str, value: str, cls: type[Kernel], text: str):
    if key in cls.words:
        if value not in cls.words[key]:
            raise SkanalyzeError(
                f"design {text!r}: {cls.name} {key}={value!r} is unknown; valid: {', '.join(cls.words[key])}"
            )
        return value
    expr = S.parse_expr(value, new_symbols=(key in ("g", "k")), what=f"{cls.name} {key}")
    if key in cls.integers:
        if not expr.is_Integer:
            raise SkanalyzeError(f"design {text!r}: {cls.name} {key}={value!r} must be an integer")
        return int(expr)
    if expr.is_number and not expr.is_Integer:
        raise SkanalyzeError(f"design {text!r}: {cls.name} {key}={value!r} must be a positive integer")
    return expr


def _assign_groups(kernels: list[Kernel]) -> list[Kernel]:
    """Give each grouped kernel written without a group number the next free symbol (M, N, ...)."""
    used = set().union(*(kern.arg_symbols() for kern in kernels))
    out, index = [], 0
    for kern in kernels:
        if kern.free_arg and kern.argument() is None:
            sym = S.group_symbol(index)
            while sym in used:
                index += 1
                sym = S.group_symbol(index)
            used.add(sym)
            index += 1
            kern = kern.with_arg(sym)
        out.append(kern)
    return out
