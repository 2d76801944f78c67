"""Values reported by Li et al., JOR Spine 2022;5(1):e1195, for side-by-side tables.

Reproducibility: 21 scan–rescan pairs, "ICC for single measures". Microarchitecture:
27 vertebrae against high-resolution CT binarised at 200 mg/cm³ and measured with CTAn;
the paper gives |r| (lower BV/TV and wider Tb.Sp go with more focal loss) and calls the
correlations with Tb.Th poor without a number (None here).
"""

from __future__ import annotations

MEASURES = ("focal_bmc_loss_mm", "focal_bmd_loss", "intercept_width_mm", "trabecular_bmd")

LABELS = {
    "focal_bmc_loss_mm": "focal BMC loss (mm)",
    "focal_bmd_loss": "focal BMD loss",
    "intercept_width_mm": "intercept width (mm)",
    "trabecular_bmd": "BMD (mg/cm³)",
    "bvtv": "BV/TV",
    "tb_th_mm": "Tb.Th (mm)",
    "tb_sp_mm": "Tb.Sp (mm)",
    "tb_n_per_mm": "Tb.N (1/mm)",
}

PAPER_ICC = {
    "focal_bmc_loss_mm": 0.97,
    "focal_bmd_loss": 0.98,
    "intercept_width_mm": 0.96,
    "trabecular_bmd": 0.99,
}
PAPER_RMSSD = {"focal_bmc_loss_mm": 0.011}

#: |Pearson r| of each focal measure against each HR-CT index (None: "poor", no value).
PAPER_ABS_R = {
    ("focal_bmc_loss_mm", "bvtv"): 0.79,
    ("focal_bmc_loss_mm", "tb_sp_mm"): 0.76,
    ("focal_bmc_loss_mm", "tb_th_mm"): None,
    ("focal_bmd_loss", "bvtv"): 0.87,
    ("focal_bmd_loss", "tb_sp_mm"): 0.60,
    ("focal_bmd_loss", "tb_th_mm"): None,
    ("intercept_width_mm", "bvtv"): 0.53,
    ("intercept_width_mm", "tb_sp_mm"): 0.60,
    ("intercept_width_mm", "tb_th_mm"): None,
}
