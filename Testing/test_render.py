"""Reading-grade figures without matplotlib (osteoimaging.render).

Geometry is checked against known answers: a bright marker placed at the patient's
right/anterior/superior must land where the orientation letters say, in every view and
for identity, flipped, RAS-stored and oblique direction matrices; a map on another
(shifted, oblique) grid must colour exactly the pixels of its voxels; the scale bar must be
as long as its label says. Slicer's own view presets (slicer-core) fix the convention.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from osteoimaging.render import (
    Outline,
    Overlay,
    bar_chart,
    colormap,
    orientation_letters,
    patient_plane,
    png_bytes,
    render_view,
    save_png,
    slice_figure,
    subregion_grid_figure,
    volume_plane,
)
from osteoimaging.render import text as render_text
from osteoimaging.render.colormaps import colormap_u8, contrast_ratio, readable_ink
from osteoimaging.volume import Volume

CENTRE = np.array([10.0, -20.0, 30.0])  # LPS mm
# Published end points of the tables (BIDS/colormap colormaps.py, CC0).
PUBLISHED = {
    "magma": ((0.001462, 0.000466, 0.013866), (0.987053, 0.991438, 0.749504)),
    "viridis": ((0.267004, 0.004874, 0.329415), (0.993248, 0.906157, 0.143936)),
}


def rotation(ax: float, az: float) -> np.ndarray:
    a, z = np.radians(ax), np.radians(az)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    rz = np.array([[np.cos(z), -np.sin(z), 0], [np.sin(z), np.cos(z), 0], [0, 0, 1]])
    return rz @ rx


def marker_phantom(direction: np.ndarray, n: int = 81, spacing: float = 1.0) -> Volume:
    """A grid centred on CENTRE whose voxels hold 1000 inside three bars, 0 elsewhere.

    The bars sit where each view through CENTRE cuts only one of them: a column along S–I
    at the patient's right-anterior (axial), a bar along A–P at right-superior (coronal),
    a bar along R–L at anterior-superior (sagittal). In LPS: right = −x, anterior = −y.
    """
    d = np.asarray(direction, dtype=float)
    origin = CENTRE - d @ np.full(3, (n - 1) / 2 * spacing)
    vol = Volume(np.zeros((n, n, n), np.float32), (spacing,) * 3, tuple(origin), d)
    k, j, i = np.indices(vol.shape)
    p = vol.index_to_physical(np.stack([i, j, k], axis=-1).astype(float)) - CENTRE
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    near = lambda v, c: np.abs(v - c) <= 4.0  # noqa: E731
    bars = (
        (near(x, -18) & near(y, -18)) | (near(x, -18) & near(z, 18)) | (near(y, -18) & near(z, 18))
    )
    return vol.with_array(np.where(bars, 1000.0, 0.0).astype(np.float32))


def bright_centroid(rgb: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(rgb[..., 0] > 200)
    assert rows.size, "the marker is not on the slice"
    return float(cols.mean()), float(rows.mean())


EXPECTED_SIDE = {  # where the marker must appear, and the letter of that side
    "axial": ("left", "top", "R", "A"),
    "coronal": ("left", "top", "R", "S"),
    "sagittal": ("left", "top", "A", "S"),
}
EXPECTED_POINT = {  # the marker's bar crossing each plane (LPS offsets from CENTRE)
    "axial": (-18.0, -18.0, 0.0),
    "coronal": (-18.0, 0.0, 18.0),
    "sagittal": (0.0, -18.0, 18.0),
}


def test_colormap_tables_equal_the_published_values():
    for name, (first, last) in PUBLISHED.items():
        table = colormap(name)
        assert table.shape == (256, 3)
        np.testing.assert_allclose(table[0], first, atol=1e-6)
        np.testing.assert_allclose(table[-1], last, atol=1e-6)
        # Perceptually ordered: lightness rises monotonically along both maps.
        lum = table @ np.array([0.2126, 0.7152, 0.0722])
        assert np.all(np.diff(lum) > -1e-3)
    with pytest.raises(ValueError, match="unknown colormap"):
        colormap("jet")


def test_orientation_letter_rule():
    assert orientation_letters((1, 0, 0)) == "L"
    assert orientation_letters((-1, 0, 0)) == "R"
    assert orientation_letters((0, -1, 0)) == "A"
    assert orientation_letters((0, 1, 0)) == "P"
    assert orientation_letters((0, 0, 1)) == "S"
    assert orientation_letters((0, 0, -2.5)) == "I"
    t = np.radians(20)
    assert orientation_letters((0, -np.cos(t), np.sin(t))) == "AS"  # tilted 20° up
    t = np.radians(3)
    assert orientation_letters((0, -np.cos(t), np.sin(t))) == "A"  # under the 6° cut-off
    assert orientation_letters((0.6, -0.7, 0.4)) == "AL"  # strongest first, two at most
    with pytest.raises(ValueError):
        orientation_letters((0, 0, 0))


def test_patient_planes_match_slicer_view_presets():
    slicer = pytest.importorskip(
        "slicer", reason="slicer-core not installed (pip install .[slicer])"
    )
    scene = slicer.vtkMRMLScene()
    slicer.vtkMRMLSliceNode.AddDefaultSliceOrientationPresets(scene)
    node = scene.AddNewNodeByClass("vtkMRMLSliceNode")
    ras_to_lps = np.diag([-1.0, -1.0, 1.0])
    for view in ("Axial", "Coronal", "Sagittal"):
        node.SetOrientation(view)
        m = node.GetSliceToRAS()
        screen_right = ras_to_lps @ [m.GetElement(r, 0) for r in range(3)]
        screen_up = ras_to_lps @ [m.GetElement(r, 1) for r in range(3)]
        plane = patient_plane(view.lower(), CENTRE, 100.0, 50)
        np.testing.assert_allclose(plane.right, screen_right, atol=1e-12)
        np.testing.assert_allclose(plane.down, -screen_up, atol=1e-12)


@pytest.mark.parametrize(
    "direction",
    [
        np.eye(3),
        np.diag([-1.0, 1.0, 1.0]),  # x axis flipped (array stored right-to-left)
        np.diag([-1.0, -1.0, 1.0]),  # RAS-stored, as NIfTI files read into LPS
        rotation(15.0, 25.0),  # oblique acquisition
    ],
    ids=["identity", "flip-x", "ras", "oblique"],
)
def test_anatomy_lands_where_the_letters_say(direction):
    ct = marker_phantom(direction)
    for view, (h_side, v_side, h_letter, v_letter) in EXPECTED_SIDE.items():
        plane = patient_plane(view, CENTRE, 70.0, 141)
        letters = plane.letters()
        assert letters[h_side] == h_letter and letters[v_side] == v_letter, (view, letters)
        col, row = bright_centroid(render_view(ct, plane, window=(500, 1000)))
        expect = plane.pixel_of(CENTRE + EXPECTED_POINT[view])
        assert col < 70 and row < 70, f"{view}: marker not in the {v_side}-{h_side} quadrant"
        assert abs(col - expect[0]) < 1.5 and abs(row - expect[1]) < 1.5, (view, col, row, expect)


def test_same_anatomy_gives_the_same_picture_whatever_the_storage_order():
    a = marker_phantom(np.eye(3))
    flipped = Volume(
        a.array[:, :, ::-1].copy(),
        a.spacing,
        tuple(a.index_to_physical(np.array([a.size[0] - 1.0, 0.0, 0.0]))),
        np.diag([-1.0, 1.0, 1.0]),
    )
    for view in EXPECTED_SIDE:
        plane = patient_plane(view, CENTRE, 60.0, 90)
        np.testing.assert_array_equal(render_view(a, plane), render_view(flipped, plane))


def test_stored_order_letters_flip_with_the_direction_matrix():
    """Voxel planes shown as stored: flipping the x direction flips R/L; the marker follows."""
    for direction, left, right in ((np.eye(3), "R", "L"), (np.diag([-1.0, 1, 1]), "L", "R")):
        ct = marker_phantom(direction)
        plane = volume_plane("axial", CENTRE, 70.0, 141, ct, radiological=False)
        letters = plane.letters()
        assert (letters["left"], letters["right"]) == (left, right)
        col, _ = bright_centroid(render_view(ct, plane, window=(500, 1000)))
        assert (col < 70) == (left == "R"), "the right-sided marker must sit at the 'R' side"


def test_oblique_grid_planes_get_two_letter_labels_and_keep_the_anatomy():
    d = rotation(20.0, 0.0)  # tilted 20° about the R–L axis (a kyphotic vertebra)
    ct = marker_phantom(d)
    axial = volume_plane("axial", CENTRE, 70.0, 141, ct)
    assert axial.letters() == {"left": "R", "right": "L", "top": "AI", "bottom": "PS"}
    assert axial.position_label() == "S: 30.0 mm, tilted 20°"
    sagittal = volume_plane("sagittal", CENTRE, 70.0, 141, ct)
    assert sagittal.letters()["left"] == "AI" and sagittal.letters()["top"] == "SA"
    for plane in (axial, sagittal):
        col, row = bright_centroid(render_view(ct, plane, window=(500, 1000)))
        assert col < 70 and row < 70


def test_position_label_is_slicers_ras_offset():
    assert patient_plane("axial", CENTRE, 50, 10).position_label() == "S: 30.0 mm"
    assert patient_plane("coronal", CENTRE, 50, 10).position_label() == "A: 20.0 mm"
    assert patient_plane("sagittal", CENTRE, 50, 10).position_label() == "R: -10.0 mm"
    assert patient_plane("sagittal", (0.01, 0, 0), 50, 10).position_label() == "R: 0.0 mm"


def test_overlay_on_a_shifted_oblique_grid_lands_on_its_pixels():
    ct = Volume(np.zeros((60, 60, 60), np.float32), (1.0, 1.0, 1.0), tuple(CENTRE - 30.0))
    d = rotation(0.0, 30.0)
    hot = CENTRE + np.array([7.3, -11.6, 0.0])  # on the axial plane through CENTRE
    grid = Volume(np.full((40, 40, 40), np.nan, np.float32), (0.5, 0.5, 0.5), (0, 0, 0), d)
    grid = Volume(grid.array, grid.spacing, tuple(hot - d @ np.array([9.25, 10.75, 10.1])), d)
    ijk = np.round(grid.physical_to_index(hot)).astype(int)
    values = grid.array.copy()
    values[ijk[2] - 2 : ijk[2] + 3, ijk[1] - 2 : ijk[1] + 3, ijk[0] - 2 : ijk[0] + 3] = 1.0
    grid = grid.with_array(values)
    plane = patient_plane("axial", CENTRE, 60.0, 240)  # 0.25 mm pixels
    rgb = render_view(ct, plane, window=(0, 100), overlays=[Overlay(grid, "m", vmin=0, vmax=1)])
    coloured = np.argwhere(rgb[..., 0] != rgb[..., 2])
    assert coloured.size
    row, col = coloured.mean(axis=0)
    centre_of_block = grid.index_to_physical(ijk.astype(float))
    expect = plane.pixel_of(centre_of_block)
    assert abs(col - expect[0]) < 0.6 and abs(row - expect[1]) < 0.6
    # The block is 5 voxels of 0.5 mm = 2.5 mm wide, rotated 30°: its area is 2.5² mm².
    assert abs(len(coloured) * 0.25**2 - 2.5**2) < 0.6


def test_scale_bar_is_as_long_as_its_label():
    ct = marker_phantom(np.eye(3))
    for fov in (37.0, 70.0, 80.0):
        fig = slice_figure(ct, CENTRE, fov_mm=fov, panel_px=300)
        for panel in fig.panels:
            x0, x1, y = panel.scale_bar_px
            length_px = x1 - x0 + 1
            assert (
                abs(length_px * panel.plane.pixel_mm - panel.scale_bar_mm)
                <= panel.plane.pixel_mm / 2
            )
            row = np.asarray(fig.image)[y, :, :].min(axis=1)
            assert np.all(row[x0 : x1 + 1] < 60), "the bar is drawn over its whole length"
            assert row[x0 - 2] > 200 and row[x1 + 3] > 200, "and not beyond"
            assert panel.plane.pixel_mm == pytest.approx(fov / 300)


def test_all_nan_overlay_renders_and_says_no_values(tmp_path):
    ct = marker_phantom(np.eye(3))
    empty = ct.with_array(np.full(ct.shape, np.nan, np.float32))
    mask = ct.with_array(ct.array > 0)
    fig = slice_figure(
        ct,
        overlays=[Overlay(empty, "focal BMC loss", "mm")],
        outlines=[Outline(mask, "markers")],
        title="L1 - test",
    )
    assert fig.notes == ["focal BMC loss: no values"]
    for panel in fig.panels:
        x0, y0, x1, y1 = panel.image_box
        pic = np.asarray(fig.image)[y0:y1, x0:x1].astype(int)
        outline = np.all(pic == (0, 215, 255), axis=-1)
        assert not np.any((np.ptp(pic, axis=-1) > 0) & ~outline), "no map colour anywhere"
    assert save_png(fig.image, tmp_path / "f.png").stat().st_size > 5000


def test_figure_layout_letters_and_legend_are_inside_the_image():
    ct = marker_phantom(rotation(10.0, 5.0))
    mask = ct.with_array(ct.array > 0)
    fig = slice_figure(
        ct,
        overlays=[Overlay(ct, "value", "HU", cmap="viridis", clear_below=0.0, opacity=0.7)],
        outlines=[Outline(mask, "marker"), Outline(mask, "ROI (body eroded 6 mm)", width=1)],
        title="L1 - example",
        window=(40, 400),
    )
    w, h = fig.image.size
    assert 1100 <= w <= 1300 and h < 800
    for panel in fig.panels:
        x0, y0, x1, y1 = panel.image_box
        assert 0 < x0 < x1 < w and 0 < y0 < y1 < h
        assert set(panel.letters) == {"left", "right", "top", "bottom"}


def test_subregion_grid_and_bar_chart(tmp_path):
    grid = np.array([[0.1, 0.2, 0.3], [0.0, np.nan, 0.5], [0.6, 0.7, 0.8]])
    img = subregion_grid_figure(
        [grid, grid[::-1]],
        panel_titles=["right half", "left half"],
        counts=[np.full((3, 3), 10), np.full((3, 3), 12)],
        title="L1: focal BMC loss",
        label="focal BMC loss",
        units="mm",
    )
    assert img.width > 700
    bars = bar_chart(
        ["T12", "L1", "L2"],
        [100.0, float("nan"), -20.0],
        errors=[5.0, None, 3.0],
        flags=[None, "segmentation failed", None],
        label="trabecular BMD",
        units="mg/cm³",
        reference=(80.0, "80 mg/cm3"),
    )
    assert bars.width >= 420
    with pytest.raises(ValueError):
        bar_chart([], [])
    data = png_bytes(bars)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    path = save_png(img, tmp_path / "sub" / "grid.png")
    assert Image.open(path).size == img.size
    assert [p.name for p in path.parent.iterdir()] == ["grid.png"], "no temporary file left"


def test_cell_text_contrasts_with_every_cell_colour():
    for name in ("viridis", "magma"):
        for rgb in colormap_u8(name):
            assert contrast_ratio(rgb, readable_ink(rgb)) >= 4.5, (name, rgb)
    assert readable_ink(colormap_u8("viridis")[-1]) == (0, 0, 0)  # dark text on light cells
    assert readable_ink(colormap_u8("viridis")[0]) == (255, 255, 255)
    # And the figure uses it: the darkest cell carries white pixels, the lightest black ones.
    img = np.asarray(subregion_grid_figure([np.arange(9.0).reshape(3, 3)], cmap="viridis"))
    low, high = colormap_u8("viridis")[0], colormap_u8("viridis")[-1]
    for fill, ink in ((low, 255), (high, 0)):
        ys, xs = np.nonzero(np.all(img == fill, axis=-1))
        cell = img[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
        assert np.any(np.all(cell == ink, axis=-1)), "the value is written in the readable ink"


def test_text_without_freetype_falls_back_to_the_bitmap_font(monkeypatch):
    original = render_text.ImageFont.load_default

    def no_freetype(size=None):
        if size is not None:
            raise ImportError("The _imagingft C module is not installed")
        return original()

    render_text.has_freetype.cache_clear()
    render_text._font.cache_clear()
    monkeypatch.setattr(render_text.ImageFont, "load_default", no_freetype)
    try:
        assert not render_text.has_freetype()
        mask = render_text.text_mask("S: 12.5 mm", 22)
        assert mask.height >= 22 and mask.getbbox() is not None
        fig = slice_figure(marker_phantom(np.eye(3)), CENTRE, fov_mm=60, title="bitmap")
        assert fig.image.width > 1000
    finally:
        monkeypatch.undo()
        render_text.has_freetype.cache_clear()
        render_text._font.cache_clear()


def test_text_is_transliterated_to_the_fonts_characters():
    from PIL import features

    assert render_text.has_freetype() == bool(features.check("freetype2"))
    assert render_text.clean("mg/cm³ × 2 − 1 µm") == "mg/cm3 x 2 - 1 um"
    assert render_text.clean("β") == "?"


def test_figures_need_neither_matplotlib_nor_scipy(tmp_path):
    """Only what Slicer bundles everywhere: Pillow, numpy, SimpleITK."""
    code = textwrap.dedent(
        f"""
        import sys
        for name in ("matplotlib", "scipy", "skimage"):  # importing them now fails
            sys.modules[name] = None
        import numpy as np
        from osteoimaging.volume import Volume
        from osteoimaging.figures import mid_slices_png
        from osteoimaging.subregions import subregion_figure, subregion_labels, subregion_means
        ct = Volume(np.random.default_rng(0).normal(0, 50, (30, 40, 40)).astype("float32"))
        mask = ct.with_array(np.zeros(ct.shape, bool))
        mask.array[10:20, 10:30, 10:30] = True
        mid_slices_png(ct, r"{tmp_path}/mid.png", mask, title="t")
        means = subregion_means({{"m": ct}}, mask, left_right=True)
        subregion_figure(means, "m", r"{tmp_path}/grid.png", units="HU")
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
    assert (tmp_path / "mid.png").stat().st_size > 5000


@pytest.mark.shared_data
def test_real_ct_spine_lies_towards_p(shared_data):
    """Example CT (a RAS-stored NIfTI): the L1 body sits posterior in the abdomen, so in the
    axial and sagittal panels it lies towards the 'P' side of the patient's cross-section."""
    from osteoimaging.imageio import read_image
    from osteoimaging.render import sample

    ct = read_image(shared_data("ct/totalseg-example/example_ct.nii.gz"))
    labels = read_image(shared_data("ct/totalseg-example/totalseg_vertebrae_pp_refined.nii.gz"))
    l1 = labels.with_array((labels.array == 20).astype(np.float32))
    fig = slice_figure(ct, outlines=[Outline(l1, "L1")], fov_mm=400.0, panel_px=200)
    for panel, axis, side in ((fig.panels[0], 0, "bottom"), (fig.panels[2], 1, "right")):
        assert panel.letters[side] == "P"
        patient = np.argwhere(sample(ct, panel.plane) > -500).mean(axis=0)
        vertebra = np.argwhere(sample(l1, panel.plane) > 0.5).mean(axis=0)
        assert vertebra[axis] > patient[axis] + 10, f"{panel.plane.view}: the spine is not at P"
