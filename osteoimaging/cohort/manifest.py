"""The batch manifest: one CSV row per case, read and validated up front.

Columns (header names are case-insensitive; spaces and hyphens count as ``_``):

==============  ========  =================================================================
column          required  meaning
==============  ========  =================================================================
case_id         yes       the case's name in results.csv, kept as written (any Unicode);
                          its folder is :func:`case_folder` of it
ct              yes       CT image file or DICOM series folder (relative to the manifest)
mask            one of    mask or label-map file (relative to the manifest)
seed            one of    point(s) ``x,y,z`` inside the body, RAS mm as Slicer shows them
                          (as ``osteo segment --seed``), ``;`` between levels; GrowCut
label           no        label value(s) in the mask, ``;`` between levels (default: > 0)
level           no        level name(s) such as ``L1;L2`` (one result row per level); each
                          becomes a folder name, so only letters, digits, ``.``, ``_``, ``-``
calibration     no        ``none`` (default), ``manual:SLOPE,INTERCEPT`` or a profile JSON
group, age,     no        covariates: group (e.g. fracture/control), age (years), sex
sex, match_id,            (``M``/``F``), matched-set id (case–control), scan–rescan subject
rescan_id                 id (rows sharing it are repeat scans of one subject)
anything else   no        kept as a covariate and copied into ``results.csv``
==============  ========  =================================================================

Every problem in every row is collected and reported at once in one
:class:`~osteoimaging.errors.InputError`. Case ids come only from this file: nothing
read from a DICOM header (patient name, ID, birth date) ever becomes a file name. No
value of the manifest can name a path outside the batch's output folder: case folders
are :func:`case_folder` names and level names must already be plain names.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from osteoimaging.errors import InputError

ALIASES = {
    "case_id": ("case_id", "case", "id"),
    "ct": ("ct", "ct_path", "image"),
    "mask": ("mask", "mask_path", "segmentation"),
    "label": ("label", "labels"),
    "seed": ("seed", "seeds", "seed_point"),
    "level": ("level", "levels", "vertebra"),
    "calibration": ("calibration", "calibration_profile"),
    "match_id": ("match_id", "matched_set", "match"),
    "rescan_id": ("rescan_id", "scan_rescan_id", "pair_id"),
}
#: Columns interpreted by the batch; every other column is a covariate.
INPUT_COLUMNS = ("case_id", "ct", "mask", "label", "seed", "level", "calibration")
#: Runs of characters that never go into a file name (``\\w`` is Unicode-aware: letters and
#: digits of every script stay).
_UNSAFE = re.compile(r"[^\w.\-]+")
#: Names Windows reserves for devices, in any case and with any extension.
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}
#: Longest folder name in UTF-8 bytes (file systems allow 255).
MAX_NAME_BYTES = 100
_SEXES = {"m": "M", "male": "M", "man": "M", "f": "F", "female": "F", "woman": "F"}
MAX_ID_LENGTH = 64


@dataclass
class Case:
    """One validated manifest row (paths absolute; one entry per level in the lists)."""

    case_id: str
    folder: str
    ct: str
    mask: str | None
    labels: list[int | None]
    seeds: list[tuple[float, float, float]] | None
    levels: list[str]
    calibration: str
    covariates: dict[str, Any] = field(default_factory=dict)
    row: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A plain, picklable dict: what the job function receives."""
        return {
            "case_id": self.case_id,
            "folder": self.folder,
            "ct": self.ct,
            "mask": self.mask,
            "labels": list(self.labels),
            "seeds": None if self.seeds is None else [list(s) for s in self.seeds],
            "levels": list(self.levels),
            "calibration": self.calibration,
            "covariates": dict(self.covariates),
        }


def safe_name(text: str) -> str:
    """A file-name-safe form of ``text`` that keeps letters of every script.

    NFC-normalised; runs of anything but letters, digits, ``.``, ``_`` and ``-`` become
    ``_``; no leading or trailing ``.`` or ``_``; at most :data:`MAX_NAME_BYTES` bytes.
    """
    name = _UNSAFE.sub("_", unicodedata.normalize("NFC", text.strip())).strip("._")
    while len(name.encode("utf-8")) > MAX_NAME_BYTES:
        name = name[:-1].rstrip("._")
    return name


def _is_plain(name: str) -> bool:
    return bool(name) and safe_name(name) == name and name.split(".")[0].lower() not in _RESERVED


def case_folder(case_id: str) -> str:
    """The folder name of a case: the id itself when it is a plain name (``José``,
    ``患者1``, ``case_7``), else its safe form plus 8 hex digits of the id's SHA-256
    (``case 0`` → ``case_0-…``, ``../x`` → ``x-…``), so that different ids never share
    a folder and the same id always gets the same one (resumable)."""
    case_id = unicodedata.normalize("NFC", case_id.strip())
    if _is_plain(case_id):
        return case_id
    digest = hashlib.sha256(case_id.encode("utf-8")).hexdigest()[:8]
    return f"{safe_name(case_id) or 'case'}-{digest}"


def check_plain_name(name: str, what: str) -> str:
    """``name`` if it can be used as one folder name as it is; ValueError otherwise."""
    if not _is_plain(name):
        raise ValueError(
            f"{what} '{name}' is not a plain name (letters, digits, '.', '_', '-'; it "
            "becomes a folder name inside the output folder)"
        )
    return name


def _canonical(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    for canon, aliases in ALIASES.items():
        if key in aliases:
            return canon
    return key


def _split(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[;|]", text)] if text.strip() else []


def _resolve(text: str, base: Path) -> Path:
    p = Path(text).expanduser()
    return p if p.is_absolute() else (base / p)


def _parse_seed(text: str) -> tuple[float, float, float]:
    parts = [float(v) for v in re.split(r"[,\s]+", text.strip()) if v]
    if len(parts) != 3 or not all(math.isfinite(v) for v in parts):
        raise ValueError
    return parts[0], parts[1], parts[2]


def _check_calibration(text: str, base: Path) -> str:
    """Normalise the calibration column; raise ValueError with the problem."""
    t = text.strip()
    if t.lower() in ("", "none"):
        return "none"
    if t.lower().startswith("manual:"):
        try:
            slope, intercept = (float(v) for v in t.split(":", 1)[1].split(","))
        except ValueError:
            raise ValueError(f"calibration '{t}' is not manual:SLOPE,INTERCEPT") from None
        if not (math.isfinite(slope) and math.isfinite(intercept)) or slope <= 0:
            raise ValueError(f"calibration '{t}' needs a positive finite slope")
        return f"manual:{slope!r},{intercept!r}"
    path = _resolve(t, base)
    if not path.is_file():
        raise ValueError(f"calibration profile not found: {path}")
    return str(path)


def _row_problems(raw: dict[str, str], base: Path) -> tuple[list[str], dict[str, Any]]:
    """Validate one row; return (problems, parsed fields)."""
    problems: list[str] = []
    out: dict[str, Any] = {}
    raw_id = unicodedata.normalize("NFC", raw.get("case_id", "").strip())
    out["case_id"] = raw_id
    out["folder"] = case_folder(raw_id)
    if not raw_id:
        problems.append("case id is empty")
    elif any(unicodedata.category(c) == "Cc" for c in raw_id):
        problems.append("case id contains control characters")
    ct = raw.get("ct", "").strip()
    if not ct:
        problems.append("CT path is empty")
    else:
        ct_path = _resolve(ct, base)
        if not ct_path.exists():
            problems.append(f"CT not found: {ct_path}")
        out["ct"] = str(ct_path)
    mask = raw.get("mask", "").strip()
    out["mask"] = None
    if mask:
        mask_path = _resolve(mask, base)
        if not mask_path.is_file():
            problems.append(f"mask not found: {mask_path}")
        out["mask"] = str(mask_path)
    levels = _split(raw.get("level", ""))
    labels: list[int | None] = []
    for text in _split(raw.get("label", "")):
        try:
            labels.append(int(text))
        except ValueError:
            problems.append(f"label '{text}' is not an integer")
    seeds = None
    if raw.get("seed", "").strip():
        seeds = []
        for text in _split(raw["seed"]):
            try:
                seeds.append(_parse_seed(text))
            except ValueError:
                problems.append(f"seed '{text}' is not x,y,z in mm")
    if not mask and not seeds:
        problems.append("neither a mask nor a seed point is given")
    if mask and seeds:
        problems.append("give a mask or seed points, not both")
    if seeds and labels:
        problems.append("labels belong to a mask; a seed point needs none")
    n = max(len(levels), len(labels), len(seeds or []), 1)
    if (
        (levels and len(levels) != n)
        or (labels and len(labels) != n)
        or (seeds and len(seeds) != n)
    ):
        problems.append(
            f"{len(levels)} level(s), {len(labels)} label(s) and {len(seeds or [])} seed(s) "
            "do not pair up (separate several with ';')"
        )
    if not levels:
        if seeds:
            levels = [f"seed{i + 1}" for i in range(len(seeds))] if len(seeds) > 1 else ["body"]
        else:
            levels = [f"label{lab}" if lab is not None else "mask" for lab in labels] or ["mask"]
    out["levels"] = levels
    for level in levels:
        try:
            check_plain_name(level, "level")
        except ValueError as exc:
            problems.append(str(exc))
    if len(set(levels)) != len(levels):
        problems.append(f"level names repeat: {';'.join(levels)}")
    out["labels"] = labels or [None] * len(levels)
    out["seeds"] = seeds
    try:
        out["calibration"] = _check_calibration(raw.get("calibration", ""), base)
    except ValueError as exc:
        problems.append(str(exc))
    covariates: dict[str, Any] = {}
    for key, value in raw.items():
        if key in INPUT_COLUMNS:
            continue
        value = value.strip()
        if key == "age" and value:
            try:
                age = float(value)
                if not (0 <= age < 150):
                    raise ValueError
                covariates[key] = age
            except ValueError:
                problems.append(f"age '{value}' is not a number of years")
        elif key == "sex" and value:
            if value.lower() not in _SEXES:
                problems.append(f"sex '{value}' is not M or F")
            covariates[key] = _SEXES.get(value.lower(), value)
        else:
            covariates[key] = value
    out["covariates"] = covariates
    return problems, out


def read_manifest(path: str | Path) -> list[Case]:
    """Read and validate a manifest CSV; raise one InputError listing every bad row."""
    path = Path(path)
    if not path.is_file():
        raise InputError("manifest not found", path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"not a readable CSV file ({exc})", path) from exc
    if not rows or not any(c.strip() for c in rows[0]):
        raise InputError("manifest is empty (no header row)", path)
    header = [_canonical(c) for c in rows[0]]
    missing = [c for c in ("case_id", "ct") if c not in header]
    if missing:
        raise InputError(
            f"manifest lacks the column(s) {', '.join(missing)} (header: {', '.join(rows[0])})",
            path,
        )
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise InputError(f"manifest repeats the column(s) {', '.join(dup)}", path)
    base = path.parent
    problems: list[str] = []
    cases: list[Case] = []
    seen: dict[str, int] = {}
    folders: dict[str, tuple[int, str]] = {}
    for line_no, values in enumerate(rows[1:], start=2):
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            problems.append(f"row {line_no}: {len(values)} fields, header has {len(header)}")
            continue
        raw = dict(zip(header, values, strict=True))
        row_problems, parsed = _row_problems(raw, base)
        cid = parsed["case_id"]
        folder_key = parsed["folder"].casefold()
        if cid and cid in seen:
            row_problems.append(f"case id '{cid}' repeats row {seen[cid]}")
        elif cid and folder_key in folders:
            other_row, other_id = folders[folder_key]
            row_problems.append(
                f"case id '{cid}' and row {other_row}'s '{other_id}' differ only in letter "
                "case; their folders would be one on macOS and Windows"
            )
        elif cid:
            seen[cid] = line_no
            folders[folder_key] = (line_no, cid)
        if row_problems:
            label = f"row {line_no}" + (f" ({cid})" if cid else "")
            problems.extend(f"{label}: {p}" for p in row_problems)
            continue
        cases.append(Case(row=line_no, **parsed))
    if problems:
        raise InputError(
            f"{len(problems)} problem(s) in the manifest:\n  " + "\n  ".join(problems), path
        )
    if not cases:
        raise InputError("manifest has no case rows", path)
    return cases
