"""A headless Slicer for CI that runs the modules' real code with Slicer's real Python layer.

Slicer's pure-Python layer (``../shared/slicer-python/<version>/slicer/``: ``util``,
``ScriptedLoadableModule``, ``parameterNodeWrapper``, ``i18n``, ``packaging``) runs
unchanged on slicer-core's compiled MRML and logics; only the Qt, CTK and qMRML widget
classes that PythonQt would provide are stood in for, strictly (``qobject.py``: undeclared
attributes raise, signals carry C++ signatures). See ``session.SlicerSession`` and, for the
user-level flows the tests and ``.ci/bundled-only`` run, ``flows.py``.
"""

from .application import UnexpectedDialog
from .qobject import NotStoodIn, SignatureError
from .session import SLICER_PYTHON, VERSIONS, SlicerSession, missing_reason

__all__ = [
    "SLICER_PYTHON",
    "VERSIONS",
    "NotStoodIn",
    "SignatureError",
    "SlicerSession",
    "UnexpectedDialog",
    "missing_reason",
]
