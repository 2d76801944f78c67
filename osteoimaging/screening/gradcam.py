"""Grad-CAM maps of the CNN and how much of their mass falls on the body and on muscle.

Selvaraju RR et al. Grad-CAM: visual explanations from deep networks via gradient-based
localization. ICCV 2017: map = ReLU(Σ_k α_k A^k), α_k = spatial mean of ∂y_c/∂A^k at a
convolutional layer; MONAI's ``monai.visualize.GradCAM`` computes it and upsamples it
(bilinear) to the input size. Layer ``features.transition3.relu`` (an 8 × 8 grid at 128²)
localised better than ``class_layers.relu`` (4 × 4) in the scout.

MONAI 1.6.1 pitfalls handled here (../shared/notes/performance-2026-12.md): the default
post-processing inverts the map, so the identity is passed and each map is min–max scaled
here (all-zero maps stay zero); ``class_idx=None`` with a batch mixes the batch's predicted
classes, so one pass per class with an explicit index; hooks stay on the model, so the
maps are computed on a copy of it, which is then discarded.
"""

from __future__ import annotations

import copy

import numpy as np

from osteoimaging.screening.model import require_torch


def grad_cam(model, images: np.ndarray, layer: str, class_idx=None, batch_size: int = 16):
    """(maps (N, H, W) in [0, 1], class used per image).

    ``class_idx``: None → each image's predicted class; an int → that class for all.
    """
    torch = require_torch()
    from monai.visualize import GradCAM

    images = np.asarray(images, np.float32)
    dev = next(model.parameters()).device
    work = copy.deepcopy(model).eval()
    cam = GradCAM(nn_module=work, target_layers=layer, postprocessing=lambda x: x)
    if class_idx is None:
        from osteoimaging.screening.model import predict

        classes = (predict(model, images) >= 0.5).astype(int)
    else:
        classes = np.full(len(images), int(class_idx))
    maps = np.zeros((len(images), *images.shape[2:]), np.float32)
    with torch.enable_grad():
        for c in np.unique(classes):
            idx = np.flatnonzero(classes == c)
            for start in range(0, len(idx), batch_size):
                part = idx[start : start + batch_size]
                x = torch.from_numpy(np.array(images[part], np.float32)).to(dev)
                raw = cam(x, class_idx=int(c)).detach().cpu().numpy()[:, 0]
                maps[part] = [_minmax(m) for m in raw]
    del cam, work
    return maps, classes


def _minmax(m: np.ndarray) -> np.ndarray:
    m = np.maximum(np.nan_to_num(m, nan=0.0), 0.0)
    lo, hi = float(m.min()), float(m.max())
    return (m - lo) / (hi - lo) if hi > lo else np.zeros_like(m)


def mass_fractions(
    cam: np.ndarray, masks: dict[str, np.ndarray], valid=None, core_level: float = 0.5
) -> dict:
    """Per structure: share of the map's mass inside it (``cam_mass_<name>``), its share of
    the area/volume (``cam_area_<name>``) and their ratio (``cam_enrichment_<name>``: 1 =
    no preference); ``cam_peak_in_<name>`` (the maximum lies inside); and
    ``cam_core_<name>``, the share of the map's core (voxels at or above ``core_level`` × its
    maximum) lying inside. The core follows the localisation of Selvaraju et al. (ICCV 2017,
    §4.1), who binarise Grad-CAM at a fraction of its maximum (15 % there); 0.5 is the half
    maximum. Voxels where the map is NaN (outside the slab) or ``valid`` is False are
    ignored."""
    cam = np.asarray(cam, float)
    ok = np.isfinite(cam) if valid is None else (np.isfinite(cam) & valid)
    w = np.where(ok, cam, 0.0)
    total, n = float(w.sum()), int(ok.sum())
    peak = np.unravel_index(int(np.argmax(w)), w.shape) if total > 0 else None
    core = ok & (w >= core_level * w.max()) if total > 0 else np.zeros(w.shape, bool)
    n_core = int(core.sum())
    out = {}
    for name, mask in masks.items():
        m = np.asarray(mask, bool) & ok
        mass = float(w[m].sum()) / total if total > 0 else float("nan")
        area = m.sum() / n if n else float("nan")
        out[f"cam_mass_{name}"] = mass
        out[f"cam_area_{name}"] = float(area)
        out[f"cam_enrichment_{name}"] = float(mass / area) if area > 0 else float("nan")
        out[f"cam_peak_in_{name}"] = bool(m[peak]) if peak is not None else False
        out[f"cam_core_{name}"] = float((m & core).sum() / n_core) if n_core else float("nan")
    return out
