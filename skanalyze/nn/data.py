"""IDX datasets (the MNIST family format), Fashion-MNIST by default, as numpy arrays (no torch here).

Debian's ``dataset-fashion-mnist`` package puts the four files in /usr/share/datasets/fashion-mnist
(gzipped); ``--data DIR`` points at another copy, gzipped or not.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import SkanalyzeError

DEFAULT_DIR = Path(os.environ.get("SKANALYZE_DATA", "/usr/share/datasets/fashion-mnist"))
INSTALL = "apt-get update && apt-get install -y dataset-fashion-mnist"
FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (optionally gzipped): magic 0 0 <type> <ndim>, big-endian dims, then the data."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise SkanalyzeError(f"cannot read IDX file {str(path)!r}: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise SkanalyzeError(f"{str(path)!r} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - header != expected:
        raise SkanalyzeError(
            f"{str(path)!r} is truncated: {len(raw) - header} data bytes, expected {expected}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write an uint8 array as an IDX file (gzipped when the name ends in .gz); used to make test fixtures."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as fh:
        fh.write(header + array.tobytes())


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (directory / name).exists():
            return directory / name
    return None


@dataclass(frozen=True)
class Dataset:
    """Train and test images (N, 28, 28) uint8 and labels (N,) int64."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    def identity(self) -> str:
        """A hash of the images and labels themselves (after any limit): what a result was trained on."""
        digest = hashlib.sha256()
        for array in (self.train_images, self.train_labels, self.test_images, self.test_labels):
            digest.update(str(array.shape).encode())
            digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()[:16]

    @property
    def classes(self) -> int:
        """Number of classes."""
        return int(max(self.train_labels.max(), self.test_labels.max())) + 1


def locate(directory: str | Path | None = None) -> Path:
    """The dataset folder (default: Debian's Fashion-MNIST), checked to hold the four IDX files; an error names
    what is missing (checked before any folder is made or any work starts)."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    missing = [stem for stem in FILES.values() if _find(directory, stem) is None]
    if missing:
        if directory == DEFAULT_DIR:
            raise SkanalyzeError(
                f"Fashion-MNIST not found in {directory}; install it with: {INSTALL} (or pass --data DIR)"
            )
        raise SkanalyzeError(
            f"dataset folder {str(directory)!r} lacks {', '.join(missing)} (IDX files, .gz or not)"
        )
    return directory


def load(
    directory: str | Path | None = None, *, limit_train: int | None = None, limit_test: int | None = None
) -> Dataset:
    """Load the four IDX files from a folder (default: Debian's Fashion-MNIST), optionally the first N of each split."""
    directory = locate(directory)
    arrays = {key: read_idx(_find(directory, stem)) for key, stem in FILES.items()}
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise SkanalyzeError(
                f"{directory}: {split} images {images.shape} and labels {labels.shape} do not match"
            )
    for name, limit in (("--limit-train", limit_train), ("--limit-test", limit_test)):
        if limit is not None and limit <= 0:
            raise SkanalyzeError(f"{name} (={limit}) must be positive")
    tr, te = slice(0, limit_train), slice(0, limit_test)
    return Dataset(
        arrays["train_images"][tr],
        arrays["train_labels"][tr].astype(np.int64),
        arrays["test_images"][te],
        arrays["test_labels"][te].astype(np.int64),
        str(directory),
    )
