"""Qt-side helpers shared by the OsteoImaging Slicer modules (runs only inside Slicer).

Kept to what every widget needs and what cannot live in the logic layer: a progress
dialog with Cancel driving a ``progress(fraction, message)`` callback, and installing
optional Python packages on first use after the user confirms.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import qt
import slicer

from osteoimaging.errors import CancelledError


def run_with_progress(title: str, work: Callable):
    """Run ``work(progress)`` under a modal progress dialog with a Cancel button.

    The logic reports through ``progress(fraction, message)``; Cancel makes it return
    False, which the logic turns into CancelledError at its next check. Returns
    ``work``'s result, or None when the user cancelled.
    """
    dialog = slicer.util.createProgressDialog(
        parent=slicer.util.mainWindow(), windowTitle=title, labelText=title, maximum=1000
    )
    dialog.setCancelButtonText("Cancel")
    dialog.setMinimumDuration(0)

    def progress(fraction: float, message: str = "") -> bool:
        dialog.setValue(round(1000 * fraction))
        if message:
            dialog.setLabelText(f"{title}: {message}")
        slicer.app.processEvents()
        return not dialog.wasCanceled

    try:
        with slicer.util.WaitCursor():
            return work(progress)
    except CancelledError:
        slicer.util.showStatusMessage(f"{title}: cancelled", 3000)
        return None
    finally:
        dialog.close()


def missing_packages(requirements: dict[str, str]) -> list[str]:
    """Pip requirement strings whose import name (the dict key) is not importable."""
    return [req for name, req in requirements.items() if importlib.util.find_spec(name) is None]


def ensure_packages(requirements: dict[str, str], purpose: str) -> bool:
    """Install missing packages after the user confirms; False if the user declined.

    ``requirements`` maps import names to pip requirement strings. Uses
    ``slicer.pydeps.pip_ensure`` (Slicer ≥ 5.11) or ``slicer.util.pip_install``.
    """
    missing = missing_packages(requirements)
    if not missing:
        return True
    text = (
        f"{purpose} needs these Python packages, which are not installed yet:\n\n"
        + "\n".join(missing)
        + "\n\nInstall them now? This downloads them from the Python Package Index and "
        "may take a few minutes."
    )
    if not slicer.util.confirmOkCancelDisplay(text, windowTitle="Install Python packages"):
        return False
    with slicer.util.WaitCursor():
        if hasattr(slicer, "pydeps") and hasattr(slicer.pydeps, "pip_ensure"):
            from packaging.requirements import Requirement

            slicer.pydeps.pip_ensure([Requirement(r) for r in missing], requester="OsteoImaging")
        else:
            slicer.util.pip_install(missing)
    importlib.invalidate_caches()
    return not missing_packages(requirements)


def save_file_name(caption: str, default_name: str, file_filter: str) -> str:
    """A file name from a save dialog ('' if cancelled)."""
    return qt.QFileDialog.getSaveFileName(
        slicer.util.mainWindow(), caption, default_name, file_filter
    )
