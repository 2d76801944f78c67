"""Coded concepts of the DICOM outputs: anatomy (SCT), units (UCUM), measurements.

Sources (see ``docs/dicom.md``):

* vertebra levels: SNOMED CT codes of DICOM PS3.16 CID 7603 "Vertebra" (as in pydicom's
  code dictionary, ``codes.SCT.T12Vertebra`` …);
* "Vertebral body": SCT 3572006 "Structure of body of vertebra" (the SNOMED CT mapping of
  AAPM TG-263 structure names, "VB"); it is not in a DICOM context group, so the level is
  coded separately as the segment's anatomic region (CID 7603);
* units: UCUM (PS3.16 CID 7181): ``mm``, ``{ratio}``, ``mg/cm3``, ``[hnsf'U]``, ``mL``;
* measurements with no standard code (focal BMC loss, focal BMD loss, intercept width,
  trabecular BMD) use the private coding scheme ``99OSTEO`` declared in each object's
  Coding Scheme Identification Sequence, as PS3.16 Section 8 allows (designators of
  private schemes begin with "99").
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from highdicom.coding_schemes import CodingSchemeIdentificationItem
from highdicom.sr import CodedConcept
from pydicom.sr.codedict import codes

from osteoimaging._version import __version__
from osteoimaging.errors import InputError

PRIVATE_SCHEME = "99OSTEO"


def private(value: str, meaning: str) -> CodedConcept:
    """A concept of the OsteoImaging private coding scheme."""
    return CodedConcept(value=value, scheme_designator=PRIVATE_SCHEME, meaning=meaning)


def coding_schemes() -> list[CodingSchemeIdentificationItem]:
    """The Coding Scheme Identification Sequence item declaring ``99OSTEO``."""
    return [
        CodingSchemeIdentificationItem(
            designator=PRIVATE_SCHEME,
            name="OsteoImaging private codes",
            version=__version__,
            responsible_organization="OsteoImaging developers",
        )
    ]


# -- anatomy ---------------------------------------------------------------------------
ANATOMICAL_STRUCTURE = codes.SCT.AnatomicalStructure  # SCT 91723000, CID 7150
TISSUE = codes.SCT.Tissue  # SCT 85756007, CID 7150
BONE_TISSUE = codes.SCT.BoneTissue  # SCT 3138006 "Bone", CID 7166
VERTEBRAL_BODY = CodedConcept("3572006", "SCT", "Vertebral body")
VERTEBRA = codes.SCT.Vertebra  # SCT 51282000

_LEVELS = [f"C{i}" for i in range(1, 8)] + [f"T{i}" for i in range(1, 13)]
_LEVELS += [f"L{i}" for i in range(1, 6)]


def normalise_level(level: str) -> str:
    """``"t12"``, ``"T12"``, ``" L1 "`` → ``"T12"``/``"L1"``; InputError for anything else."""
    name = str(level).strip().upper()
    if name not in _LEVELS:
        raise InputError(f"unknown vertebral level {level!r} (expected C1–C7, T1–T12, L1–L5)")
    return name


def vertebra_code(level: str) -> CodedConcept:
    """SCT code of a vertebra (CID 7603), e.g. T12 → 23215003 "T12 vertebra"."""
    code = getattr(codes.SCT, f"{normalise_level(level)}Vertebra")
    return CodedConcept(code.value, code.scheme_designator, code.meaning)


# -- units (UCUM) ----------------------------------------------------------------------
UNITS = {
    "mm": codes.UCUM.Millimeter,
    "{ratio}": codes.UCUM.Ratio,
    "fraction": codes.UCUM.Ratio,
    "mg/cm3": codes.UCUM.MilligramsPerCubicCentimeter,
    "mg/cm3 HA": codes.UCUM.MilligramsPerCubicCentimeter,
    "mg/cm3 K2HPO4": codes.UCUM.MilligramsPerCubicCentimeter,
    "mg/cm³ HA": codes.UCUM.MilligramsPerCubicCentimeter,
    "mg/cm³ K2HPO4": codes.UCUM.MilligramsPerCubicCentimeter,
    "[hnsf'U]": codes.UCUM.HounsfieldUnit,
    "HU": codes.UCUM.HounsfieldUnit,
    "HU (uncalibrated)": codes.UCUM.HounsfieldUnit,
    "mL": CodedConcept("mL", "UCUM", "mL"),
    "ml": CodedConcept("mL", "UCUM", "mL"),
    "mm3": codes.UCUM.CubicMillimeter,
}


def ucum(unit: str) -> CodedConcept:
    """The UCUM code of one of our unit strings (``"mm"``, ``"fraction"``, ``"mg/cm3 HA"`` …)."""
    try:
        code = UNITS[str(unit).strip()]
    except KeyError:
        raise InputError(
            f"unit {unit!r} has no UCUM code here (known: {', '.join(sorted(UNITS))})"
        ) from None
    return CodedConcept(code.value, code.scheme_designator, code.meaning)


def is_hounsfield(unit: str) -> bool:
    return ucum(unit).value == "[hnsf'U]"


# -- measurements and map quantities ---------------------------------------------------
@dataclass(frozen=True)
class Quantity:
    """A measured quantity: its concept, a short label (≤ 16 characters) and whether its
    case value is the mean over the ROI (TID 300 "Derivation" = Mean)."""

    concept: CodedConcept
    label: str
    is_mean: bool = True


QUANTITIES: dict[str, Quantity] = {
    "focal_bmc_loss": Quantity(private("FBMCL", "Focal BMC loss"), "Focal BMC loss"),
    "focal_bmd_loss": Quantity(private("FBMDL", "Focal BMD loss"), "Focal BMD loss"),
    "intercept_width": Quantity(private("IW", "Intercept width"), "Intercept width"),
    "trabecular_bmd": Quantity(
        private("TBMD", "Trabecular volumetric bone mineral density"), "Trabecular BMD"
    ),
    "bmd": Quantity(private("VBMD", "Volumetric bone mineral density"), "BMD"),
    "void_coverage": Quantity(private("VOIDCOV", "Void coverage of ROI"), "Void coverage"),
    "roi_volume": Quantity(CodedConcept("118565006", "SCT", "Volume"), "ROI volume", is_mean=False),
}
# Uncalibrated (HU) BMD values are CT numbers: DCM 112031 "Attenuation Coefficient".
ATTENUATION = CodedConcept("112031", "DCM", "Attenuation Coefficient")
HU_QUANTITIES = {"trabecular_bmd", "bmd"}


def quantity(name: str, unit: str) -> Quantity:
    """The quantity of a measurement or map called ``name`` with ``unit``.

    BMD given in HU (no calibration) is reported as a mean attenuation coefficient, not
    as a density.
    """
    if name not in QUANTITIES:
        raise InputError(f"no coded concept for {name!r} (known: {', '.join(sorted(QUANTITIES))})")
    q = QUANTITIES[name]
    if name in HU_QUANTITIES and is_hounsfield(unit):
        return Quantity(ATTENUATION, "Mean CT number" if q.is_mean else "CT number", q.is_mean)
    return q


def name_of(concept) -> str | None:
    """Our measurement/map name of a concept written here (None if not ours)."""
    key = (str(concept.scheme_designator), str(concept.value))
    if key == (ATTENUATION.scheme_designator, ATTENUATION.value):
        return "trabecular_bmd"
    for name, q in QUANTITIES.items():
        if key == (q.concept.scheme_designator, q.concept.value):
            return name
    return None


MEAN = codes.SCT.Mean  # SCT 373098007, TID 300 derivation
METHOD = private("FOCALDEF", "Focal osteoporosis defect (Li C et al., JOR Spine 2022)")
QUALITY_FLAG = private("QFLAG", "Quality flag")
NO_FLAG = private("NOFLAG", "No quality flag raised")


def flag_code(flag: str) -> CodedConcept:
    """A private code for a free-text quality flag: value ≤ 16 characters (SH), the flag
    text as meaning (≤ 64 characters, LO). Long flags get a hash suffix so values stay
    distinct."""
    text = " ".join(str(flag).split())
    if not text:
        raise InputError("empty quality flag")
    slug = re.sub(r"[^A-Z0-9]+", "_", text.upper()).strip("_") or "FLAG"
    if len(slug) > 16:
        slug = slug[:9] + "_" + hashlib.sha1(text.encode()).hexdigest()[:6].upper()
    meaning = text if len(text) <= 64 else text[:61] + "..."
    return private(slug, meaning)
