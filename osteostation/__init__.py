"""OsteoImaging's browser reading station (``osteo station``; the ``station`` extra).

A front end like the Slicer modules: it gathers inputs (a CT series under the data
folder, a click, the level, the calibration) and shows outputs (maps over the CT in
Slicer's own slice views served by trame-slicer, the results row, the study report, DICOM
export); every measurement goes through :func:`osteoimaging.mrml.focal_workflow.run_focal`,
the same case pipeline as ``osteo focal``, the batch and the Slicer module. It may import
``slicer`` (slicer-core) and trame, never Qt.

Modules: :mod:`.paths` (path safety), :mod:`.series` (series and profile listing, opaque
ids), :mod:`.levels` (next/previous level), :mod:`.calibration` (the calibration choice),
:mod:`.session` (scene-side work, no web page), :mod:`.dicom_export` (adapter to
:mod:`osteoimaging.dicom`), :mod:`.render` (headless EGL), :mod:`.ui` (the page),
:mod:`.app` (the trame application), :mod:`.server` (start-up).
"""
