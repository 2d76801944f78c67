"""Agreement of our local thickness with the ``localthickness`` package on real and
simulated cubes; writes the table and figure of docs/microarchitecture.md.

Run from the checkout root (``studies/`` must be importable): ``PYTHONPATH=. python
Testing/validation/microarchitecture_agreement.py --out DIR``
(needs ``pip install localthickness``; real cubes from ../shared/data/microct).

Reference: Dahl & Dahl, "Fast local thickness", CVPR Workshops 2023 (package
``localthickness`` 0.1.3): ``local_thickness_conventional`` dilates the distance map with
balls of integer radius (the classic algorithm), ``local_thickness`` is their fast
approximation. Both return radii in voxels to the nearest background voxel *centre*;
the diameter in that convention is our map + ½ voxel (our δ = ¼ voxel per radius).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from osteoimaging.atomic import write_text
from osteoimaging.figures import new_figure, save_figure
from osteoimaging.imageio import read_image
from osteoimaging.phantoms import plate_model, trabecular_bone
from studies.microarchitecture import binarize
from studies.microarchitecture.local_thickness import local_thickness_array

ROOT = Path(__file__).resolve().parents[2]
MAX_CONVENTIONAL_RADIUS = 15.0


def cubes(data: Path) -> dict[str, tuple[np.ndarray, float, str]]:
    out = {}
    mil = data / "microct/mil-gst/Trabecular-Bone-Test.mhd"
    if mil.exists():
        image = read_image(mil)
        bone, thr = binarize(image, method="otsu")
        out["mil-gst (Otsu)"] = (bone.array, image.spacing[0], f"Otsu threshold {thr:.0f}")
    shrew = data / "microct/bonej-shrew/Shrew.nrrd"
    if shrew.exists():
        image = read_image(shrew)
        out["bonej-shrew"] = (image.array > 0, image.spacing[0], "binary as given")
    for bvtv, th, seed in ((0.10, 0.15, 1), (0.20, 0.20, 2), (0.30, 0.25, 3)):
        model = plate_model(bvtv, th)
        note = f"model Tb.Th {th:.2f}, Tb.Sp {model['tb_sp_mm']:.2f} mm (plate model)"
        out[f"phantom BV/TV {bvtv:.2f}"] = (
            trabecular_bone((120, 120, 120), 0.1, bvtv, th, seed=seed),
            0.1,
            note,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    args = p.parse_args(argv)
    import localthickness as ltp

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    maps = {}
    for name, (bone, s, note) in cubes(Path(args.data)).items():
        row = {
            "cube": name,
            "shape": "×".join(map(str, bone.shape)),
            "voxel_mm": s,
            "bvtv": float(bone.mean()),
            "note": note,
        }
        for phase_name, phase in (("Tb.Th", bone), ("Tb.Sp", ~bone)):
            t = time.perf_counter()
            ours = local_thickness_array(phase, (s, s, s))
            row[f"{phase_name} ours s"] = time.perf_counter() - t
            brute = local_thickness_array(phase, (s, s, s), ridge_tolerance=-1)
            row[f"{phase_name} all centres"] = float(brute[phase].mean())
            t = time.perf_counter()
            rmax = float(ndimage.distance_transform_edt(phase).max())
            # The classic algorithm dilates with every ball up to the largest radius:
            # too slow beyond ~15 voxels (the shrew's marrow would take hours).
            ref = (
                2.0 * s * ltp.local_thickness_conventional(phase)
                if rmax <= MAX_CONVENTIONAL_RADIUS
                else None
            )
            row[f"{phase_name} ref s"] = time.perf_counter() - t if ref is not None else np.nan
            fast = 2.0 * s * ltp.local_thickness(phase)
            centre = ours[phase] + 0.5 * s
            row[f"{phase_name} ours"] = float(ours[phase].mean())
            row[f"{phase_name} ours centre"] = float(centre.mean())
            row[f"{phase_name} conventional"] = (
                float(ref[phase].mean()) if ref is not None else np.nan
            )
            row[f"{phase_name} fast"] = float(fast[phase].mean())
            row[f"{phase_name} r"] = (
                float(np.corrcoef(centre, ref[phase])[0, 1]) if ref is not None else np.nan
            )
            if name.startswith("mil") and phase_name == "Tb.Th":
                maps = {"bone": bone, "ours": ours + 0.5 * s * bone, "ref": ref, "s": s}
            print(
                name,
                phase_name,
                {k: v for k, v in row.items() if k.startswith(phase_name)},
                flush=True,
            )
        rows.append(row)
    lines = [
        "| cube | voxels, size (mm) | BV/TV | phase | ours (mm) | ours, all centres "
        "| ours, centre convention | reference conventional | Δ | voxel r | reference fast "
        "| ours s | reference s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for ph in ("Tb.Th", "Tb.Sp"):
            diff = (r[f"{ph} ours centre"] / r[f"{ph} conventional"] - 1) * 100
            line = (
                f"| {r['cube']} | {r['shape']}, {r['voxel_mm']:.4g} | {r['bvtv']:.3f} | {ph} "
                f"| {r[f'{ph} ours']:.4f} | {r[f'{ph} all centres']:.4f} "
                f"| {r[f'{ph} ours centre']:.4f} "
                f"| {r[f'{ph} conventional']:.4f} | {diff:+.1f}% | {r[f'{ph} r']:.3f} "
                f"| {r[f'{ph} fast']:.4f} | {r[f'{ph} ours s']:.2f} | {r[f'{ph} ref s']:.1f} |"
            )
            lines.append(line.replace("+nan%", "—").replace("nan", "—"))
    lines.append("")
    lines += [f"- {r['cube']}: {r['note']}" for r in rows]
    write_text(out / "microarchitecture_agreement.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    if maps:
        k = maps["bone"].shape[0] // 2
        fig, axes = new_figure((10, 3.4), 1, 3)
        axes[0].imshow(maps["bone"][k], cmap="gray")
        axes[0].set_title("mil-gst cube, Otsu", fontsize=9)
        vmax = float(np.percentile(maps["ref"][maps["bone"]], 99.5))
        for ax, key, title in (
            (axes[1], "ours", "ours (+½ voxel)"),
            (axes[2], "ref", "localthickness conventional"),
        ):
            im = ax.imshow(
                np.where(maps["bone"][k], maps[key][k], np.nan), cmap="viridis", vmin=0, vmax=vmax
            )
            ax.set_title(title, fontsize=9)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.colorbar(im, ax=axes.tolist(), shrink=0.8, label="local thickness (mm)")
        save_figure(fig, out / "validation_microct_thickness.png", dpi=80)
    return 0


if __name__ == "__main__":
    sys.exit(main())
