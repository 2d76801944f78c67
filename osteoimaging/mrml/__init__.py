"""The bridge between the headless logic layer and Slicer's MRML scene.

This sub-package is the only place in :mod:`osteoimaging` that imports ``slicer`` (and
``vtk``), and it uses only what the ``slicer-core`` wheel provides (MRML nodes, module
logics, storage nodes), never ``qt``, ``ctk``, ``slicer.util`` or ``slicer.app``. So it runs
unchanged inside the Slicer application (where ``slicer`` is the full application module)
and headless in CI (where ``slicer`` comes from ``slicer-core``).

Modules, each small:

* :mod:`.app` — headless application set-up (what Slicer does at start);
* :mod:`.geometry` — IJK→RAS matrices (points flip with :mod:`osteoimaging.geometry`);
* :mod:`.volumes` — scalar / label-map volume node ↔ :class:`~osteoimaging.volume.Volume`;
* :mod:`.segmentations` — segmentation node + segment ID ↔ mask on a reference grid;
* :mod:`.markups` — markups point → seed;
* :mod:`.maps` — result maps → scalar volume nodes with colour, window/level, units, legend;
* :mod:`.views` — a map as slice-view foreground over the CT; headless slice rendering;
* :mod:`.tables` — result rows → table node, saved as CSV/TSV;
* :mod:`.bundles` — .mrb save/load;
* :mod:`.growcut` — Slicer's own GrowCut kernel (``vtkImageGrowCutSegment``) for a click;
* :mod:`.plots` — ROC and other charts as plot nodes;
* :mod:`.report` — the study report of the levels measured on a CT;
* :mod:`.sample_data` — the demo vertebra as Slicer sample data;
* :mod:`.focal_workflow`, :mod:`.radiomics_workflow` — what the modules' Logic classes call.
"""
