"""Validation experiments of issue 8: the paper's reproducibility and microarchitecture
studies (Li et al., JOR Spine 2022;5(1):e1195) repeated on simulated and real bone.

:func:`osteoimaging.experiments.run.run_all` (``osteo validate --out DIR``) regenerates
every table and figure of ``docs/validation-experiments.md``. This package file stays
light (the CLI imports it to build its parser).
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
#: Sizes of the run: ``full`` (the paper's 21 pairs and 27 ROIs) and ``quick`` (CI).
SCALE_NAMES = ("full", "quick")
#: Tb.Th designs of the microarchitecture cohort (see ``microarchitecture_study``).
COHORTS = ("independent", "physiological")
