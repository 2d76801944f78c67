"""The package's one logger.

Every module logs through ``osteoimaging.log.logger``. Nothing logged may carry patient
names, IDs or birth dates: log file *names* only when the user gave them, and never
DICOM patient fields.
"""

import logging

logger = logging.getLogger("osteoimaging")
logger.addHandler(logging.NullHandler())
