"""pyradiomics feature names ↔ IBSI 1 feature tags (Zwanenburg A et al., The Image Biomarker
Standardization Initiative, Radiology 2020;295:328–338; reference manual arXiv:1612.07003).

The mapping covers the IBSI "digital phantom" configuration: no resampling or discretisation
(grey levels used as they are, pyradiomics ``binWidth: 1``), 3-D texture matrices; pyradiomics
averages GLCM and GLRLM features over the 13 directions, i.e. IBSI's ``…_3D_avg``
aggregation; its GLDM with α = 0 and distance 1 is IBSI's NGLDM.

Documented deviations (``DEVIATIONS``, each with the conversion to IBSI's definition):

* kurtosis: pyradiomics reports kurtosis, IBSI excess kurtosis (IBSI = pyradiomics − 3);
* major/minor/least axis lengths: pyradiomics takes 4·√λ of the *population* covariance
  (ddof = 0) of the voxel-centre coordinates, IBSI's reference values use the sample covariance
  (ddof = 1): IBSI = pyradiomics · √(N / (N − 1)) with N voxels in the ROI (elongation and
  flatness, ratios of these lengths, agree as they are).
"""

from __future__ import annotations

FIRSTORDER = {
    "Mean": "stat_mean",
    "Variance": "stat_var",
    "Skewness": "stat_skew",
    "Kurtosis": "stat_kurt",
    "Median": "stat_median",
    "Minimum": "stat_min",
    "10Percentile": "stat_p10",
    "90Percentile": "stat_p90",
    "Maximum": "stat_max",
    "InterquartileRange": "stat_iqr",
    "Range": "stat_range",
    "MeanAbsoluteDeviation": "stat_mad",
    "RobustMeanAbsoluteDeviation": "stat_rmad",
    "Energy": "stat_energy",
    "RootMeanSquared": "stat_rms",
    "Entropy": "ih_entropy",
    "Uniformity": "ih_uniformity",
}
SHAPE = {
    "MeshVolume": "morph_volume",
    "VoxelVolume": "morph_vol_approx",
    "SurfaceArea": "morph_area_mesh",
    "SurfaceVolumeRatio": "morph_av",
    "Sphericity": "morph_sphericity",
    "Maximum3DDiameter": "morph_diam",
    "MajorAxisLength": "morph_pca_maj_axis",
    "MinorAxisLength": "morph_pca_min_axis",
    "LeastAxisLength": "morph_pca_least_axis",
    "Elongation": "morph_pca_elongation",
    "Flatness": "morph_pca_flatness",
}
GLCM = {
    "Autocorrelation": "cm_auto_corr_3D_avg",
    "JointAverage": "cm_joint_avg_3D_avg",
    "ClusterProminence": "cm_clust_prom_3D_avg",
    "ClusterShade": "cm_clust_shade_3D_avg",
    "ClusterTendency": "cm_clust_tend_3D_avg",
    "Contrast": "cm_contrast_3D_avg",
    "Correlation": "cm_corr_3D_avg",
    "DifferenceAverage": "cm_diff_avg_3D_avg",
    "DifferenceEntropy": "cm_diff_entr_3D_avg",
    "DifferenceVariance": "cm_diff_var_3D_avg",
    "JointEnergy": "cm_energy_3D_avg",
    "JointEntropy": "cm_joint_entr_3D_avg",
    "Imc1": "cm_info_corr1_3D_avg",
    "Imc2": "cm_info_corr2_3D_avg",
    "Idm": "cm_inv_diff_mom_3D_avg",
    "Idmn": "cm_inv_diff_mom_norm_3D_avg",
    "Id": "cm_inv_diff_3D_avg",
    "Idn": "cm_inv_diff_norm_3D_avg",
    "InverseVariance": "cm_inv_var_3D_avg",
    "MaximumProbability": "cm_joint_max_3D_avg",
    "SumEntropy": "cm_sum_entr_3D_avg",
    "SumSquares": "cm_joint_var_3D_avg",
}
GLRLM = {
    "ShortRunEmphasis": "rlm_sre_3D_avg",
    "LongRunEmphasis": "rlm_lre_3D_avg",
    "GrayLevelNonUniformity": "rlm_glnu_3D_avg",
    "GrayLevelNonUniformityNormalized": "rlm_glnu_norm_3D_avg",
    "RunLengthNonUniformity": "rlm_rlnu_3D_avg",
    "RunLengthNonUniformityNormalized": "rlm_rlnu_norm_3D_avg",
    "RunPercentage": "rlm_r_perc_3D_avg",
    "GrayLevelVariance": "rlm_gl_var_3D_avg",
    "RunVariance": "rlm_rl_var_3D_avg",
    "RunEntropy": "rlm_rl_entr_3D_avg",
    "LowGrayLevelRunEmphasis": "rlm_lgre_3D_avg",
    "HighGrayLevelRunEmphasis": "rlm_hgre_3D_avg",
    "ShortRunLowGrayLevelEmphasis": "rlm_srlge_3D_avg",
    "ShortRunHighGrayLevelEmphasis": "rlm_srhge_3D_avg",
    "LongRunLowGrayLevelEmphasis": "rlm_lrlge_3D_avg",
    "LongRunHighGrayLevelEmphasis": "rlm_lrhge_3D_avg",
}
GLSZM = {
    "SmallAreaEmphasis": "szm_sze_3D",
    "LargeAreaEmphasis": "szm_lze_3D",
    "GrayLevelNonUniformity": "szm_glnu_3D",
    "GrayLevelNonUniformityNormalized": "szm_glnu_norm_3D",
    "SizeZoneNonUniformity": "szm_zsnu_3D",
    "SizeZoneNonUniformityNormalized": "szm_zsnu_norm_3D",
    "ZonePercentage": "szm_z_perc_3D",
    "GrayLevelVariance": "szm_gl_var_3D",
    "ZoneVariance": "szm_zs_var_3D",
    "ZoneEntropy": "szm_zs_entr_3D",
    "LowGrayLevelZoneEmphasis": "szm_lgze_3D",
    "HighGrayLevelZoneEmphasis": "szm_hgze_3D",
    "SmallAreaLowGrayLevelEmphasis": "szm_szlge_3D",
    "SmallAreaHighGrayLevelEmphasis": "szm_szhge_3D",
    "LargeAreaLowGrayLevelEmphasis": "szm_lzlge_3D",
    "LargeAreaHighGrayLevelEmphasis": "szm_lzhge_3D",
}
GLDM = {
    "SmallDependenceEmphasis": "ngl_lde_3D",
    "LargeDependenceEmphasis": "ngl_hde_3D",
    "LowGrayLevelEmphasis": "ngl_lgce_3D",
    "HighGrayLevelEmphasis": "ngl_hgce_3D",
    "SmallDependenceLowGrayLevelEmphasis": "ngl_ldlge_3D",
    "SmallDependenceHighGrayLevelEmphasis": "ngl_ldhge_3D",
    "LargeDependenceLowGrayLevelEmphasis": "ngl_hdlge_3D",
    "LargeDependenceHighGrayLevelEmphasis": "ngl_hdhge_3D",
    "GrayLevelNonUniformity": "ngl_glnu_3D",
    "DependenceNonUniformity": "ngl_dcnu_3D",
    "DependenceNonUniformityNormalized": "ngl_dcnu_norm_3D",
    "GrayLevelVariance": "ngl_gl_var_3D",
    "DependenceVariance": "ngl_dc_var_3D",
    "DependenceEntropy": "ngl_dc_entr_3D",
}
NGTDM = {
    "Coarseness": "ngt_coarseness_3D",
    "Contrast": "ngt_contrast_3D",
    "Busyness": "ngt_busyness_3D",
    "Complexity": "ngt_complexity_3D",
    "Strength": "ngt_strength_3D",
}
CLASSES = {
    "firstorder": FIRSTORDER,
    "shape": SHAPE,
    "glcm": GLCM,
    "glrlm": GLRLM,
    "glszm": GLSZM,
    "gldm": GLDM,
    "ngtdm": NGTDM,
}
_PCA_REASON = "pyradiomics: population covariance of voxel coordinates; IBSI: sample covariance"
# pyradiomics name → (function (value, N voxels) giving IBSI's value, reason)
DEVIATIONS = {
    "original_firstorder_Kurtosis": (
        lambda v, n: v - 3.0,
        "pyradiomics reports kurtosis; IBSI excess kurtosis",
    ),
    **{
        f"original_shape_{axis}AxisLength": (lambda v, n: v * (n / (n - 1)) ** 0.5, _PCA_REASON)
        for axis in ("Major", "Minor", "Least")
    },
}


def ibsi_mapping() -> dict[str, str]:
    """``original_<class>_<feature>`` → IBSI tag for every mapped feature."""
    return {
        f"original_{cls}_{name}": tag
        for cls, names in CLASSES.items()
        for name, tag in names.items()
    }
