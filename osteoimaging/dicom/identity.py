"""Who writes the DICOM objects, and the identifiers each new object gets.

One definition for the SEG, the Parametric Maps and the SR: the manufacturer name, the
Enhanced General Equipment attributes that SEG and Parametric Map require (DICOM PS3.3
C.7.5.2), and fresh Series/SOP Instance UIDs per object.
"""

from __future__ import annotations

import highdicom as hd

from osteoimaging._version import __version__

MANUFACTURER = "OsteoImaging"


def new_instance(series_number: int) -> dict:
    """Keyword arguments of a highdicom constructor for a new single-instance series."""
    return {
        "series_instance_uid": hd.UID(),
        "series_number": series_number,
        "sop_instance_uid": hd.UID(),
        "instance_number": 1,
        "manufacturer": MANUFACTURER,
    }


def enhanced_equipment() -> dict:
    """The Enhanced General Equipment attributes (model, software version, serial number)."""
    return {
        "manufacturer_model_name": MANUFACTURER,
        "software_versions": __version__,
        "device_serial_number": "1",
    }
