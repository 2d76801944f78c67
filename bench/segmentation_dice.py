"""Dice of one-click GrowCut against reference vertebral bodies on the real test CTs, and
how much the result depends on where the click lands.

Usage: ``python bench/segmentation_dice.py [DATA_DIR] [--clicks [N]]`` (default
``../shared/data``). With ``--clicks``, each of T12 (DICOM series) and L1 (example CT) is
also segmented from every click of a grid inside its reference body eroded by 3 mm (every 4th
voxel in-plane and every slice for T12, every voxel for L1; at most N of them, a fixed random
choice), and the share of clicks within 20% of the median volume is printed (issue 13).

* ``ct/totalseg-example``: L1 (label 20 of ``totalseg_vertebrae_pp_refined``), restricted
  to the body part (``totalseg_vertebrae_body`` = 1); also L2–L4 for context.
* ``ct/totalseg-dicom``: T12 (label 32 of the TotalSegmentator v2 map). That map has no
  body/rest split, so the body part is derived here: the label's voxels anterior to the
  vertebral foramen (the hole the arch encloses in axial slices), i.e. anterior to the
  anterior edge of the spinal canal. This derivation is ours, not TotalSegmentator's.

* a synthetic vertebra with posterior elements (``osteoimaging.phantoms``) on the default
  routine-CT grid (0.4×0.4×0.7 mm), clicked at the body centre: Dice against the exact
  body and the time per vertebra at that resolution.

The click is the reference body's centroid (a radiologist clicks near the middle); the
segmentation refines it to the body's centre anyway (``docs/method.md``). Times are
wall-clock seconds of ``segment_vertebral_body`` (numba kernels loaded beforehand).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import scipy.ndimage as ndi

from osteoimaging.imageio import read_image
from osteoimaging.segmentation import dice, segment_vertebral_body
from osteoimaging.validation import read_ct, resample_mask_to
from osteoimaging.volume import Volume


def body_part_anterior_to_canal(vertebra: Volume, min_area_mm2: float = 80.0) -> np.ndarray:
    """Voxels of a whole-vertebra mask anterior to the vertebral foramen (LPS +y posterior).

    In each axial slice the foramen is the largest hole the mask encloses behind the
    mask's centre (at least ``min_area_mm2``); its anterior edge (2nd percentile of y)
    is found per slice and the median over slices is the cut: voxels anterior to it are the body.
    """
    arr = vertebra.array.astype(bool)
    pixel_mm2 = vertebra.spacing[0] * vertebra.spacing[1]
    fronts = []
    for k in range(arr.shape[0]):
        holes, n = ndi.label(ndi.binary_fill_holes(arr[k]) & ~arr[k])
        if n == 0:
            continue
        sizes = np.bincount(holes.ravel())[1:].astype(float)
        # The foramen lies behind the vertebra's centre (in the image row order, which
        # is antero-posterior here); holes in front of it are gaps inside the body.
        centre_row = np.nonzero(arr[k])[0].mean()
        rows = ndi.mean(np.indices(holes.shape)[0], holes, np.arange(1, n + 1))
        behind = (np.asarray(rows) - centre_row) * np.sign(vertebra.direction[1, 1]) > 0
        sizes[~behind] = 0
        biggest = int(np.argmax(sizes)) + 1
        if sizes[biggest - 1] * pixel_mm2 < min_area_mm2:
            continue
        j, i = np.nonzero(holes == biggest)
        pts = np.stack([i, j, np.full_like(i, k)], axis=1).astype(float)
        fronts.append(float(np.percentile(vertebra.index_to_physical(pts)[:, 1], 2)))
    if not fronts:
        raise RuntimeError("no vertebral foramen found in the reference mask")
    front = float(np.median(fronts))
    k, j, i = np.nonzero(arr)
    yy = vertebra.index_to_physical(np.stack([i, j, k], axis=1).astype(float))[:, 1]
    body = np.zeros_like(arr)
    keep = yy < front
    body[k[keep], j[keep], i[keep]] = True
    return body


def run_case(ct: Volume, ref: np.ndarray, name: str) -> float:
    centre = ct.index_to_physical(np.argwhere(ref).mean(axis=0)[::-1])
    t0 = time.perf_counter()
    result = segment_vertebral_body(ct, centre)
    seconds = time.perf_counter() - t0
    d = dice(result.mask.array, ref)
    print(
        f"{name:28s} Dice {d:.3f}  mask {result.volume_ml:6.1f} ml  reference "
        f"{ref.sum() * ct.voxel_volume_mm3 / 1000:6.1f} ml  {seconds:.2f} s"
        + "".join(f"\n{'':30s}flag: {f}" for f in result.flags)
    )
    return d


def clicks_inside(
    ct: Volume, body: np.ndarray, erode_mm: float, step, n: int | None = None, seed: int = 0
) -> np.ndarray:
    """LPS points of a voxel grid (every ``step`` voxels, x y z) inside ``body`` eroded by
    ``erode_mm``: clicks clearly inside it, anywhere in it (at most ``n``, a fixed random
    choice)."""
    inner = ndi.distance_transform_edt(body, sampling=ct.spacing_zyx) > erode_mm
    zyx = np.argwhere(inner)
    keep = (zyx[:, 2] % step[0] == 0) & (zyx[:, 1] % step[1] == 0) & (zyx[:, 0] % step[2] == 0)
    zyx = zyx[keep]
    if n is not None and n < len(zyx):
        zyx = zyx[np.sort(np.random.default_rng(seed).choice(len(zyx), n, replace=False))]
    return ct.index_to_physical(zyx[:, ::-1].astype(float))


def click_grid(ct: Volume, body: np.ndarray, name: str, step, n: int | None) -> float:
    """Segment from every grid click; print and return the share within 20% of the median."""
    results = [segment_vertebral_body(ct, p) for p in clicks_inside(ct, body, 3.0, step, n)]
    volumes = np.array([r.volume_ml for r in results])
    median = float(np.median(volumes))
    within = np.abs(volumes - median) <= 0.2 * median
    unflagged = sum(1 for r, ok in zip(results, within, strict=True) if not ok and not r.flags)
    dices = [dice(r.mask.array, body) for r in results]
    print(
        f"{name:28s} {len(results)} clicks: {100 * within.mean():.0f}% within 20% of the "
        f"median {median:.1f} ml (range {volumes.min():.1f}–{volumes.max():.1f}); outliers "
        f"without a flag: {unflagged}; Dice median {np.median(dices):.3f}"
    )
    return float(within.mean())


def main(data: Path, clicks: int | None = None, grid: bool = False) -> None:
    from osteoimaging.phantoms import CTProtocol, VertebraSpec, vertebra_ct

    ct0, truth, _ = vertebra_ct(VertebraSpec(hires_mm=0.2, scene_mm=0.4), CTProtocol())
    segment_vertebral_body(ct0, (0.0, 0.0, 0.0))  # warm-up: numba loads its cached kernels
    run_case(ct0, truth.array, f"phantom {ct0.describe()}")
    ex = data / "ct" / "totalseg-example"
    ct = read_ct(ex / "example_ct.nii.gz")
    labels = read_image(ex / "totalseg_vertebrae_pp_refined.nii.gz").array
    body = read_image(ex / "totalseg_vertebrae_body.nii.gz").array == 1
    for value, level in ((20, "L1"), (21, "L2"), (22, "L3"), (23, "L4")):
        run_case(ct, (labels == value) & body, f"totalseg-example {level} ({value})")
    dc = data / "ct" / "totalseg-dicom"
    ct2 = read_ct(dc / "series")
    seg = read_image(dc / "example_seg_dicom.nii.gz")
    t12 = resample_mask_to(seg.with_array((seg.array == 32).astype(np.uint8)), ct2)
    ref = body_part_anterior_to_canal(t12.with_array(t12.array > 0))
    run_case(ct2, ref, "totalseg-dicom T12 (32)")
    if grid:
        click_grid(ct2, ref, "totalseg-dicom T12 clicks", (4, 4, 1), clicks)
        click_grid(ct, (labels == 20) & body, "totalseg-example L1 clicks", (1, 1, 1), clicks)


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "data", nargs="?", default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    parser.add_argument("--clicks", nargs="?", type=int, const=0, default=None)
    args = parser.parse_args()
    main(Path(args.data), clicks=args.clicks or None, grid=args.clicks is not None)
