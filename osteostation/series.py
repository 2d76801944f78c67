"""The CT series under the data folder: image files and DICOM series folders.

Each series gets an opaque id (a keyed hash of its relative path and, for DICOM, its
series UID; the key is random per server run), so URLs, page state and logs never
carry a path, a UID or anything read from DICOM. The listing shows the path relative
to the data folder, the kind, and for DICOM the modality and the number of images —
never a DICOM patient field or free-text description.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from osteoimaging.calibration.profile import PROFILE_FORMAT
from osteoimaging.errors import InputError
from osteoimaging.imageio import READ_SUFFIXES, list_dicom_series
from osteoimaging.log import logger
from osteostation.paths import is_under, relative_name, safe_path

#: Folders deeper than this below the data folder are not searched.
MAX_DEPTH = 8
#: Files looked at per folder when deciding whether it holds DICOM.
DICOM_PROBE_FILES = 16
#: DICOM modalities listed (an empty modality is listed too: some exports omit it).
CT_MODALITIES = {"CT", ""}
#: Calibration profiles larger than this are not opened while listing.
MAX_PROFILE_BYTES = 1 << 20


@dataclass(frozen=True)
class Series:
    """One CT series: an image file, or one series of a DICOM folder."""

    id: str
    relative: str
    kind: str  # "file" or "dicom"
    series_uid: str | None = None
    images: int = 0
    modality: str = ""

    @property
    def label(self) -> str:
        """What the page lists (no DICOM patient or free-text field)."""
        if self.kind == "dicom":
            modality = self.modality or "DICOM"
            return f"{self.relative}/ ({modality}, {self.images} images)"
        return self.relative


@dataclass(frozen=True)
class Profile:
    """A calibration profile (``osteo calibrate``) under the data folder."""

    id: str
    relative: str


def new_key() -> bytes:
    """A random key for this server run's opaque ids."""
    return secrets.token_bytes(32)


def opaque_id(key: bytes, *parts: str) -> str:
    """A 16-hex-digit id of ``parts`` under ``key`` (reveals nothing about them)."""
    message = "\x00".join(parts).encode("utf-8", "surrogateescape")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def _is_image_file(name: str) -> bool:
    lower = name.lower()
    return any(lower.endswith(suffix) for suffix in READ_SUFFIXES)


def _looks_like_dicom(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _has_dicom(folder: Path, names: list[str]) -> bool:
    probed = 0
    for name in sorted(names):
        if name.startswith(".") or _is_image_file(name) or name.lower().endswith(".json"):
            continue
        path = folder / name
        if path.is_file():
            probed += 1
            if _looks_like_dicom(path):
                return True
            if probed >= DICOM_PROBE_FILES:
                return False
    return False


def _walk(root: Path):
    """(folder, file names) under ``root``, hidden entries and symlinks out of it skipped."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        depth = len(here.relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and depth < MAX_DEPTH)
        names = [n for n in files if not n.startswith(".") and is_under(root, here / n)]
        yield here, names


def list_series(root: Path, key: bytes) -> list[Series]:
    """The CT series under ``root`` (image files and DICOM series), sorted by path."""
    found: list[Series] = []
    for folder, names in _walk(root):
        for name in sorted(names):
            if _is_image_file(name) and (folder / name).is_file():
                relative = relative_name(root, folder / name)
                found.append(Series(opaque_id(key, relative), relative, "file"))
        if _has_dicom(folder, names):
            relative = relative_name(root, folder)
            try:
                listing = list_dicom_series(folder)
            except Exception as exc:  # GDCM errors: the folder is skipped, not the listing
                logger.warning("station: a DICOM folder could not be listed (%s)", exc)
                continue
            for info in listing:
                modality = str(info.get("modality", "")).upper()
                if modality not in CT_MODALITIES:
                    continue
                uid = str(info["uid"])
                found.append(
                    Series(
                        opaque_id(key, relative, uid),
                        relative,
                        "dicom",
                        series_uid=uid,
                        images=int(info.get("files", 0)),
                        modality=modality,
                    )
                )
    return sorted(found, key=lambda s: (s.relative, s.id))


def list_profiles(root: Path, key: bytes) -> list[Profile]:
    """The calibration profiles (JSON with the profile format marker) under ``root``."""
    marker = f'"{PROFILE_FORMAT}"'.encode()
    found = []
    for folder, names in _walk(root):
        for name in sorted(names):
            path = folder / name
            if not name.lower().endswith(".json") or not path.is_file():
                continue
            try:
                if path.stat().st_size > MAX_PROFILE_BYTES or marker not in path.read_bytes():
                    continue
            except OSError:
                continue
            relative = relative_name(root, path)
            found.append(Profile(opaque_id(key, "profile", relative), relative))
    return found


def find_by_id(items, item_id: str, what: str):
    """The listed item with ``item_id``; InputError for an id the server did not list."""
    for item in items:
        if item.id == item_id:
            return item
    raise InputError(f"unknown {what}; refresh the list")


def series_path(root: Path, series: Series) -> Path:
    """The file or DICOM folder of ``series``, checked again to be under ``root``."""
    path = safe_path(root, series.relative)
    if not path.exists():
        raise InputError("the series is no longer there; refresh the list", series.relative)
    return path
