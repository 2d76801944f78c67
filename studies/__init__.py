"""Validation studies (issue 8): the paper's reproducibility and microarchitecture studies
(Li C, et al., JOR Spine 2022;5(1):e1195) repeated on simulated and real bone.

Not part of the installed ``osteoimaging`` package (nor of the Slicer extension): a source
checkout has this folder next to ``osteoimaging/``, and ``osteo validate --out DIR`` finds it
there (:func:`osteoimaging.cli.validate.load_studies`) and runs :func:`studies.run.run_all`,
which regenerates every table and figure of ``docs/validation-experiments.md``. The
microarchitecture reference measures (``studies.microarchitecture``: BV/TV, Tb.Th, Tb.Sp, Tb.N by
local thickness) are the ground truth of these studies and live here too. This file stays light.
"""

#: The experiments, in the order they run.
EXPERIMENTS = (
    "reproducibility",
    "microarchitecture",
    "microct",
    "equal_bmd",
    "sensitivity",
    "real",
)
#: The real data each experiment reads, relative to the shared data folder (``../shared/data``
#: of the checkout, or ``--data``); the others are synthetic.
REAL_DATA = {
    "microct": "microct/mil-gst/Trabecular-Bone-Test.mhd",
    "real": "ct",
}
#: Sizes of the run: ``full`` (the paper's 21 pairs and 27 ROIs) and ``quick`` (CI).
SCALE_NAMES = ("full", "quick")
#: Tb.Th designs of the microarchitecture cohort (see ``microarchitecture_study``).
COHORTS = ("independent", "physiological")
