"""`skanalyze model TARGET`: load the user's model from ``path/to/file.py:NAME`` or ``package.module:NAME``
(NAME: a module instance, or a callable returning one), with one-line errors for every way it can fail."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from ..core.errors import SkanalyzeError

FORMAT = "TARGET must be FILE.py:NAME or package.module:NAME (NAME: an nn.Module or a function returning one)"


def _why(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def load_module(where: str):
    """Import the Python file or module a TARGET names."""
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise SkanalyzeError(f"TARGET file {where!r} does not exist; {FORMAT}")
        name = f"skanalyze_target_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.resolve().parent))
        try:
            spec.loader.exec_module(module)
        except Exception as err:
            raise SkanalyzeError(f"importing {where!r} failed: {_why(err)}") from None
        finally:
            sys.path.remove(str(path.resolve().parent))
        return module
    try:
        return importlib.import_module(where)
    except Exception as err:
        raise SkanalyzeError(f"importing module {where!r} failed: {_why(err)}") from None


def factory(target: str, is_module):
    """The function a TARGET names (for --width-arg, which calls it at other widths)."""
    obj = _attribute(target)
    if is_module(obj) or not callable(obj):
        raise SkanalyzeError(
            f"--width-arg needs TARGET to name a function that builds the model; {target!r} is a "
            f"{type(obj).__name__}"
        )
    return obj


def maybe_factory(target: str, is_module):
    """The function a TARGET names, or None when it names a module object."""
    obj = _attribute(target)
    return None if is_module(obj) or not callable(obj) else obj


def _attribute(target: str):
    where, sep, name = target.rpartition(":")
    if not sep or not where or not name:
        raise SkanalyzeError(f"TARGET {target!r} is not of the form FILE.py:NAME; {FORMAT}")
    module = load_module(where)
    if not hasattr(module, name):
        found = sorted(n for n in vars(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise SkanalyzeError(
            f"{where!r} has no {name!r}; it defines: {', '.join(found[:12]) or 'nothing callable'}"
        )
    return getattr(module, name)


def load(target: str, is_module):
    """The model a TARGET names: the attribute itself if ``is_module(it)``, else what calling it returns."""
    obj = _attribute(target)
    if not is_module(obj):
        if not callable(obj):
            raise SkanalyzeError(
                f"{target!r} is a {type(obj).__name__}, not an nn.Module or a function returning one"
            )
        try:
            obj = obj()
        except Exception as err:
            raise SkanalyzeError(f"calling {target!r} failed: {_why(err)}") from None
    if not is_module(obj):
        raise SkanalyzeError(f"{target!r} returned a {type(obj).__name__}, not a torch nn.Module")
    return obj


def parse_input(text: str) -> tuple[int, ...]:
    """'1x3x224x224' -> (1, 3, 224, 224): the input shape N x C x H x W."""
    parts = text.lower().replace(",", "x").split("x")
    if len(parts) != 4 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise SkanalyzeError(f"--input {text!r} must be N x C x H x W positive integers, e.g. 1x3x224x224")
    return tuple(int(p) for p in parts)
