"""Image headers read before any voxel: the files a reader will read, declared sizes, spacing.

ITK trusts a header: a 1 KB NRRD declaring 1600³ voxels makes it allocate 8 GB before it
finds the data missing, a NIfTI ``pixdim`` of 0 becomes 1 mm, and NaN voxels of a float
NIfTI become 0. These functions read the NRRD, MetaImage and NIfTI headers themselves so
that :func:`osteoimaging.imageio.read_image` can refuse such files up front:

* :func:`data_files` — the header and every detached data file (``.nhdr``/``.mhd``;
  patterns and ``LIST`` included): what the batch hashes to decide whether a case changed;
* :func:`check_data_present` — the declared voxel data against the bytes actually present
  (raw data at least as large as declared; compressed data at most 1032 times smaller, the
  deflate format's maximum ratio; text at least one character per value);
* :func:`max_image_bytes` — the size limit checked before allocating (see its docstring);
* NIfTI: :func:`nifti_header`, :func:`check_nifti_spacing`, :func:`nifti_nonfinite`.

Every failure raises :class:`~osteoimaging.errors.InputError` naming the file.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from osteoimaging.errors import InputError

#: Deflate (zlib/gzip) cannot expand data more than this (RFC 1951: 258 bytes per 2 bits).
DEFLATE_MAX_RATIO = 1032
#: Header files (``.nhdr``, ``.mhd``) larger than this are not image headers.
MAX_HEADER_BYTES = 16 << 20
#: Environment variable overriding the image size limit (GB of voxel data).
LIMIT_ENV = "OSTEO_MAX_IMAGE_GB"


def physical_memory_bytes() -> int | None:
    """The machine's RAM, or None when the platform does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def max_image_bytes() -> int:
    """The largest voxel data (bytes, as loaded) any reader accepts.

    ``OSTEO_MAX_IMAGE_GB`` if set, else a quarter of the machine's RAM (reading needs
    the ITK image and its numpy copy, and every analysis makes float copies), else 8 GB.
    On the 24 GB reference machine: 6 GB, e.g. 1500³ int16 voxels or a 512×512×12000 CT.
    """
    text = os.environ.get(LIMIT_ENV, "").strip()
    if text:
        try:
            value = float(text)
        except ValueError:
            raise InputError(f"{LIMIT_ENV}={text!r} is not a number of GB") from None
        if not value > 0:
            raise InputError(f"{LIMIT_ENV}={text!r} must be positive")
        return int(value * (1 << 30))
    ram = physical_memory_bytes()
    return ram // 4 if ram else 8 << 30


def check_image_size(n_bytes: int, path: str | Path) -> None:
    """Refuse voxel data larger than :func:`max_image_bytes`."""
    limit = max_image_bytes()
    if n_bytes > limit:
        source = (
            f"set by {LIMIT_ENV}"
            if os.environ.get(LIMIT_ENV, "").strip()
            else f"a quarter of this machine's memory; set {LIMIT_ENV} to change it"
        )
        raise InputError(
            f"the header declares {n_bytes / (1 << 30):.3g} GB of voxel data, more than the "
            f"limit of {limit / (1 << 30):.3g} GB ({source})",
            path,
        )


# ---------------------------------------------------------------------------------------
# NRRD and MetaImage text headers


@dataclass
class TextHeader:
    """A NRRD or MetaImage header: its fields (lower-case keys) and where its data is."""

    kind: str  # "nrrd" or "meta"
    fields: dict[str, str]
    header_bytes: int  # length of the header in the file (data follows when attached)
    attached: bool  # the data is in the header's own file
    files: list[Path]  # detached data files, in order


def _read_head(path: Path) -> bytes:
    detached_header = path.suffix.lower() in (".nhdr", ".mhd")
    with path.open("rb") as fh:
        head = fh.read(MAX_HEADER_BYTES if detached_header else 1 << 20)
    return head


def _file_pattern(spec: list[str], base: Path) -> list[Path] | None:
    """``fmt min max step`` (printf pattern) → the file names, or None if not a pattern."""
    if len(spec) < 4 or "%" not in spec[0]:
        return None
    try:
        lo, hi, step = int(spec[1]), int(spec[2]), int(spec[3])
    except ValueError:
        return None
    if step == 0:
        return None
    stop = hi + (1 if step > 0 else -1)
    return [base / (spec[0] % i) for i in range(lo, stop, step)]


def read_text_header(path: str | Path) -> TextHeader | None:
    """Parse a NRRD (``.nrrd``/``.nhdr``) or MetaImage (``.mha``/``.mhd``) header.

    None for any other file. Raises InputError when the header itself is unreadable.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".nrrd", ".nhdr", ".mha", ".mhd"):
        return None
    try:
        head = _read_head(path)
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror})", path) from exc
    base = path.parent
    if suffix in (".nrrd", ".nhdr"):
        if not head.startswith(b"NRRD"):
            raise InputError("cannot read image: not a NRRD file (no NRRD magic line)", path)
        end = head.find(b"\n\n")
        end_crlf = head.find(b"\r\n\r\n")
        if end_crlf != -1 and (end == -1 or end_crlf < end):
            end, sep = end_crlf, 4
        else:
            sep = 2
        text = head[: end if end != -1 else len(head)].decode("latin-1")
        header_bytes = end + sep if end != -1 else len(head)
        lines = text.splitlines()[1:]
        fields: dict[str, str] = {}
        files: list[Path] = []
        for n, line in enumerate(lines):
            if not line.strip() or line.startswith("#") or ":=" in line:
                continue
            key, sep_, value = line.partition(":")
            if not sep_:
                continue
            key = key.strip().lower().replace(" ", "")
            fields[key] = value.strip()
            if key == "datafile":
                spec = value.split()
                if spec and spec[0] == "LIST":
                    files = [base / ln.strip() for ln in lines[n + 1 :] if ln.strip()]
                    break
                files = _file_pattern(spec, base) or [base / value.strip()]
        return TextHeader("nrrd", fields, header_bytes, not files, files)
    # MetaImage: "Key = Value" lines; ElementDataFile is the last field.
    fields = {}
    files = []
    pos = 0
    attached = False
    lines = head.split(b"\n")
    for n, raw in enumerate(lines):
        pos += len(raw) + 1
        line = raw.decode("latin-1").strip()
        key, sep_, value = line.partition("=")
        if not sep_:
            continue
        key = key.strip().lower()
        fields[key] = value.strip()
        if key == "elementdatafile":
            spec = value.split()
            if spec and spec[0].upper() == "LOCAL":
                attached = True
            elif spec and spec[0].upper() == "LIST":
                rest = b"\n".join(lines[n + 1 :]).decode("latin-1").splitlines()
                files = [base / ln.strip() for ln in rest if ln.strip()]
            else:
                files = _file_pattern(spec, base) or [base / value.strip()]
            break
    return TextHeader("meta", fields, pos, attached, files)


def data_files(path: str | Path) -> list[Path]:
    """Every file a reader reads for the image at ``path``: itself and detached data files."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    try:
        header = read_text_header(path)
    except InputError:  # not a valid header: the reader will say so; hash the file as is
        header = None
    return [path, *(header.files if header else [])]


def _floats(text: str) -> list[float]:
    values = []
    for tok in re.split(r"[\s,()]+", text.strip()):
        if tok and tok.lower() != "none":
            try:
                values.append(float(tok))
            except ValueError:
                continue
    return values


def check_declared_spacing(header: TextHeader, path: Path) -> None:
    """Refuse NaN, infinite, zero or negative spacings written in the header.

    ITK replaces a NRRD ``spacings: nan`` with 1 mm; the file says the spacing is unknown.
    """
    keys = ("spacings", "spacedirections") if header.kind == "nrrd" else ("elementspacing",)
    for key in keys:
        if key not in header.fields:
            continue
        values = _floats(header.fields[key])
        bad = any(not math.isfinite(v) for v in values) or (
            key != "spacedirections" and any(v <= 0 for v in values)
        )
        if bad:
            raise InputError(
                f"invalid voxel spacing in the header ({key}: {header.fields[key]}); spacing "
                "must be positive and finite",
                path,
            )


def check_data_present(header: TextHeader, declared: int, n_values: int, path: Path) -> None:
    """Refuse a header declaring more voxel data than its data file(s) can hold."""
    if header.attached:
        present = max(path.stat().st_size - header.header_bytes, 0)
        where = "after the header"
    else:
        missing = [f for f in header.files if not f.is_file()]
        if missing:
            raise InputError(f"data file {missing[0].name} not found next to the header", path)
        present = sum(f.stat().st_size for f in header.files)
        where = "in " + (header.files[0].name if len(header.files) == 1 else "its data files")
    if header.kind == "nrrd":
        encoding = header.fields.get("encoding", "raw").lower()
    else:
        compressed = header.fields.get("compresseddata", "false").lower() == "true"
        encoding = "gzip" if compressed else "raw"
    if encoding in ("raw",):
        needed, what = declared, "bytes"
    elif encoding in ("gzip", "gz"):
        needed, what = -(-declared // DEFLATE_MAX_RATIO), "compressed bytes"
    elif encoding in ("hex",):
        needed, what = 2 * declared, "characters"
    elif encoding in ("txt", "text", "ascii"):
        needed, what = n_values, "characters"
    else:  # bzip2 and others: no bound on the ratio; the size limit still applies
        return
    if present < needed:
        raise InputError(
            f"file truncated or header wrong: it declares {declared} bytes of voxel data, "
            f"which needs at least {needed} {what} {where}; {present} present",
            path,
        )


# ---------------------------------------------------------------------------------------
# NIfTI


@dataclass
class NiftiHeader:
    """The NIfTI-1/2 header fields the checks need."""

    endian: str
    dims: tuple[int, ...]
    datatype: int
    bitpix: int
    offset: int
    pixdim: tuple[float, ...]
    scl_slope: float
    scl_inter: float

    @property
    def n_values(self) -> int:
        ndim = max(1, min(int(self.dims[0]), 7))
        return math.prod(max(1, int(d)) for d in self.dims[1 : ndim + 1])

    @property
    def expected_bytes(self) -> int:
        return max(self.offset, 348) + self.n_values * max(self.bitpix, 8) // 8


#: NIfTI datatype code → numpy dtype of the float types (whose NaN niftilib zeroes).
_NIFTI_FLOATS = {16: "f4", 64: "f8"}


def parse_nifti_header(header: bytes) -> NiftiHeader | None:
    """The NIfTI-1/2 header in the first 540 bytes, or None if not NIfTI."""
    for endian in "<>":
        if len(header) >= 348 and struct.unpack(endian + "i", header[:4])[0] == 348:
            return NiftiHeader(
                endian,
                struct.unpack(endian + "8h", header[40:56]),
                struct.unpack(endian + "h", header[70:72])[0],
                struct.unpack(endian + "h", header[72:74])[0],
                int(struct.unpack(endian + "f", header[108:112])[0]),
                struct.unpack(endian + "8f", header[76:108]),
                struct.unpack(endian + "f", header[112:116])[0],
                struct.unpack(endian + "f", header[116:120])[0],
            )
        if len(header) >= 540 and struct.unpack(endian + "i", header[:4])[0] == 540:
            return NiftiHeader(
                endian,
                struct.unpack(endian + "8q", header[16:80]),
                struct.unpack(endian + "h", header[12:14])[0],
                struct.unpack(endian + "h", header[14:16])[0],
                struct.unpack(endian + "q", header[168:176])[0],
                struct.unpack(endian + "8d", header[104:168]),
                struct.unpack(endian + "d", header[176:184])[0],
                struct.unpack(endian + "d", header[184:192])[0],
            )
    return None


def _is_gz(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def nifti_header(path: Path) -> tuple[NiftiHeader | None, int]:
    """(header, data size in bytes after decompression) of a ``.nii``/``.nii.gz`` file."""
    try:
        if _is_gz(path):
            size, head = 0, b""
            with gzip.open(path, "rb") as fh:
                while chunk := fh.read(1 << 22):
                    if len(head) < 540:
                        head += chunk[: 540 - len(head)]
                    size += len(chunk)
        else:
            size = path.stat().st_size
            with path.open("rb") as fh:
                head = fh.read(540)
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(f"file truncated or corrupted ({exc})", path) from exc
    return parse_nifti_header(head), size


def check_nifti(path: Path) -> NiftiHeader | None:
    """Refuse a truncated NIfTI and zero, negative or NaN ``pixdim`` of its spatial axes.

    ITK reads a truncated NIfTI without complaint and turns a ``pixdim`` of 0 into 1 mm.
    """
    header, size = nifti_header(path)
    if header is None:
        return None
    if size < header.expected_bytes:
        raise InputError(
            f"file truncated: {size} bytes of data, the header needs {header.expected_bytes}",
            path,
        )
    ndim = max(1, min(int(header.dims[0]), 3))
    spatial = header.pixdim[1 : ndim + 1]
    if any(not math.isfinite(v) or v <= 0 for v in spatial):
        raise InputError(
            "invalid voxel spacing in the header (pixdim "
            + " ".join(f"{v:g}" for v in spatial)
            + "); spacing must be positive and finite",
            path,
        )
    return header


def nifti_nonfinite(path: Path, header: NiftiHeader) -> tuple[np.ndarray, np.ndarray] | None:
    """(flat indices, values) of the NaN/±Inf voxels of a float NIfTI, None if there are none.

    niftilib (inside ITK) silently replaces non-finite floats by 0; the caller puts them
    back so that the NaN checks downstream see them. Values are scaled by ``scl_slope``
    and ``scl_inter`` as ITK scales the others.
    """
    dtype = _NIFTI_FLOATS.get(header.datatype)
    if dtype is None:
        return None
    count = header.n_values
    offset = max(header.offset, 348)
    opener = gzip.open if _is_gz(path) else open
    with opener(path, "rb") as fh:
        fh.read(offset)
        raw = np.frombuffer(fh.read(count * np.dtype(dtype).itemsize), dtype=header.endian + dtype)
    bad = np.flatnonzero(~np.isfinite(raw))
    if bad.size == 0:
        return None
    values = raw[bad].astype(np.float64)
    slope, inter = header.scl_slope, header.scl_inter
    if slope != 0 and math.isfinite(slope) and (slope != 1 or inter != 0):
        values = values * slope + (inter if math.isfinite(inter) else 0.0)
    return bad, values
