"""De-identified copies of the source headers (the DICOM writers then copy these).

What :func:`deidentify_headers` does, following the DICOM Basic Application Level
Confidentiality Profile (PS3.15 Annex E) with the Retain UIDs, Retain Patient
Characteristics and (when dates are shifted) Retain Longitudinal Temporal Information
with Modified Dates options:

* patient: name and ID replaced by a pseudonym (given by the caller, or a random
  ``OI-`` + 10 hex digits; the name defaults to the ID as family name); birth date
  emptied; every other patient attribute removed except sex, age, size and weight;
* dates: every DA and DT value (at any depth) emptied, and TM values too; or, with
  ``date_shift_days``, every DA/DT shifted by that many days and times kept;
* study: accession number, study ID and referring physician emptied; study description
  removed; every person name (PN) other than the patient's removed; institution,
  department, address, station name and device serial number removed (the writers would
  otherwise copy them as contributing equipment); private attributes removed;
* UIDs (study, series, instance, frame of reference) are kept so the outputs still
  reference and overlay the source;
* Patient Identity Removed = YES, with the method in words and as codes
  (DCM 113100, 113108, 113110, and 113107 when dates are shifted).

Pixel data are not read, so burned-in text in the source cannot reach the outputs.
"""

from __future__ import annotations

import copy
import datetime
import secrets
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes

from osteoimaging._version import __version__
from osteoimaging.errors import InputError

_KEEP_PATIENT = {"PatientSex", "PatientAge", "PatientSize", "PatientWeight"}
_EMPTY = ("AccessionNumber", "StudyID", "ReferringPhysicianName")
_REMOVE = (
    "StudyDescription",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "StationName",
    "DeviceSerialNumber",
    "IssuerOfAccessionNumberSequence",
    "ReferencedPatientSequence",
    "RequestAttributesSequence",
    "OtherStudyNumbers",
)


@dataclass(frozen=True)
class Pseudonym:
    """The patient name and ID written instead of the real ones."""

    patient_id: str
    patient_name: str


def make_pseudonym(patient_id: str | None = None, patient_name: str | None = None) -> Pseudonym:
    """The caller's pseudonym, or a random one (not derived from the real identity)."""
    pid = patient_id if patient_id is not None else "OI-" + secrets.token_hex(5).upper()
    name = patient_name if patient_name is not None else pid
    if "^" not in name:
        name += "^"  # a family name alone (PS3.5 6.2.1.2), not a garbled name
    for label, value, limit in (("patient ID", pid, 64), ("patient name", name, 64)):
        if not value.strip() or len(value) > limit or "\\" in value:
            raise InputError(f"pseudonymous {label} must be 1–{limit} characters without '\\'")
    return Pseudonym(pid, name)


def _shift(value: str, vr: str, days: int) -> str:
    if not value:
        return value
    date = datetime.datetime.strptime(value[:8], "%Y%m%d") + datetime.timedelta(days=days)
    return date.strftime("%Y%m%d") + (value[8:] if vr == "DT" else "")


def _clean(ds: Dataset, date_shift_days: int | None) -> None:
    ds.remove_private_tags()
    for elem in list(ds):
        if elem.VR == "SQ":
            for item in elem.value:
                _clean(item, date_shift_days)
        elif elem.VR == "PN" and elem.tag != 0x00100010:
            del ds[elem.tag]
        elif elem.VR in ("DA", "DT"):
            if date_shift_days is None:
                elem.value = ""
            else:
                values = elem.value if elem.VM > 1 else [elem.value]
                shifted = [_shift(str(v), elem.VR, date_shift_days) for v in values]
                elem.value = shifted if elem.VM > 1 else shifted[0]
        elif elem.VR == "TM" and date_shift_days is None:
            elem.value = ""
    for keyword in _REMOVE:
        if keyword in ds:
            delattr(ds, keyword)


def _method(date_shift_days: int | None) -> tuple[str, list]:
    options = [
        codes.DCM.BasicApplicationConfidentialityProfile,
        codes.DCM.RetainUidsOption,
        codes.DCM.RetainPatientCharacteristicsOption,
    ]
    dates = "dates removed"
    if date_shift_days is not None:
        options.append(codes.DCM.RetainLongitudinalTemporalInformationModifiedDatesOption)
        dates = "dates shifted"
    text = f"OsteoImaging {__version__}: pseudonym, {dates}, UIDs retained"[:64]  # LO
    items = []
    for code in options:
        item = Dataset()
        item.CodeValue = code.value
        item.CodingSchemeDesignator = code.scheme_designator
        item.CodeMeaning = code.meaning
        items.append(item)
    return text, items


def deidentify_headers(
    datasets: list[Dataset], pseudonym: Pseudonym, *, date_shift_days: int | None = None
) -> list[Dataset]:
    """De-identified deep copies of ``datasets`` (see the module docstring)."""
    if date_shift_days is not None and not isinstance(date_shift_days, int):
        raise InputError("date_shift_days must be an integer number of days")
    text, method_codes = _method(date_shift_days)
    out = []
    for original in datasets:
        ds = copy.deepcopy(original)
        for elem in list(ds):
            if elem.tag.group == 0x0010 and elem.keyword not in _KEEP_PATIENT:
                del ds[elem.tag]
        _clean(ds, date_shift_days)
        ds.PatientName = pseudonym.patient_name
        ds.PatientID = pseudonym.patient_id
        ds.PatientBirthDate = ""
        for keyword in _EMPTY:
            setattr(ds, keyword, "")
        for keyword in ("StudyDate", "StudyTime"):
            if keyword not in ds:
                setattr(ds, keyword, "")
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = text
        ds.DeidentificationMethodCodeSequence = copy.deepcopy(method_codes)
        out.append(ds)
    return out
