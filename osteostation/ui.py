"""The station's page: app bar, the reader's controls, Slicer's slice views, the results.

Only layout lives here; what the buttons do is in :mod:`osteostation.app` (bound through
the trame controller). The page title is fixed ("OsteoImaging station"): nothing from
the data (file names, DICOM fields) appears in titles or URLs.
"""

from __future__ import annotations

from trame.widgets import client, html
from trame.widgets import vuetify3 as v3

TITLE = "OsteoImaging station"

#: Results-table columns shown on the page: (row key, header, number format or None).
TABLE_COLUMNS = (
    ("level", "Level", None),
    ("qc", "QC", None),
    ("focal_bmc_loss_mm", "Focal BMC loss (mm)", "{:.3f}"),
    ("focal_bmd_loss", "Focal BMD loss", "{:.4f}"),
    ("intercept_width_mm", "Intercept width (mm)", "{:.3f}"),
    ("trabecular_bmd", "Trabecular BMD", "{:.1f}"),
    ("void_coverage", "Void coverage", "{:.3f}"),
    ("roi_volume_ml", "ROI (ml)", "{:.2f}"),
    ("body_volume_ml", "Body (ml)", "{:.1f}"),
    ("calibration", "Calibration", None),
    ("tilt_deg", "Tilt (°)", "{:.1f}"),
)

CSS = """
html { overflow: hidden; }
.station-views { position: relative; flex: 1 1 auto; min-height: 0; display: flex; }
.station-results { flex: 0 0 auto; max-height: 28vh; overflow: auto; }
.station-results table { width: 100%; border-collapse: collapse; font-size: 13px; }
.station-results th, .station-results td { padding: 2px 8px; text-align: right;
  border-bottom: 1px solid rgba(255,255,255,0.12); white-space: nowrap; }
.station-results th:first-child, .station-results td:first-child,
.station-results td.text { text-align: left; }
.station-results tr.current { background: rgba(98, 160, 234, 0.18); }
.station-results tr { cursor: pointer; }
.station-legend { height: 12px; border-radius: 2px; }
.station-busy { position: absolute; inset: 0; z-index: 10; display: flex;
  align-items: center; justify-content: center; background: rgba(0,0,0,0.35); }
.slice-slider-gutter .v-slider { margin: 0 8px; }
"""

RESULTS_TABLE = (
    """
<div class="station-results" v-if="rows.length">
<table id="results">
<thead><tr>"""
    + "".join(f"<th>{header}</th>" for _, header, _ in TABLE_COLUMNS)
    + """</tr></thead>
<tbody>
<tr v-for="row in rows" :key="row.level" :data-level="row.level" :data-row="row.json"
    :data-seed="row.seed" :title="row.source"
    :class="{ current: row.level === shown_level }" @click="trigger('show_level', [row.level])">"""
    + "".join(
        f"""<td :data-column="'{key}'" :data-value="row.values['{key}']" """
        f"""class="{"num" if fmt else "text"}">{{{{ row.cells['{key}'] }}}}</td>"""
        for key, _, fmt in TABLE_COLUMNS
    )
    + """</tr>
</tbody></table></div>"""
)


def _section(title: str) -> None:
    html.Div(title, classes="text-overline mt-3 mb-1")


def build_ui(server, layout_manager, ctrl) -> v3.VApp:
    """Build the page; returns the layout (also kept as ``server.ui.main``)."""
    from trame_vuetify.ui.vuetify3 import VAppLayout

    server.state.trame__title = TITLE
    with VAppLayout(server, theme="dark") as layout:
        client.Style(CSS)
        with v3.VAppBar(density="compact", flat=True):
            v3.VToolbarTitle(TITLE, classes="text-subtitle-1", style="flex: 0 0 auto")
            v3.VSelect(
                v_model=("series_id", None),
                items=("series_items", []),
                label="CT series",
                density="compact",
                hide_details=True,
                variant="outlined",
                style="max-width: 380px",
                classes="mx-3",
                disabled=("busy",),
                id="series-select",
            )
            with v3.VBtnToggle(
                v_model=("window_preset", "bone"),
                density="compact",
                mandatory=True,
                variant="outlined",
                divided=True,
                classes="mr-3",
            ):
                for key, (label, *_rest) in WINDOW_PRESETS.items():
                    v3.VBtn(label, value=key, size="small")
            v3.VSpacer()
            html.Div("{{ status }}", classes="text-body-2 mr-4", id="status")

        with v3.VNavigationDrawer(permanent=True, width=330, classes="pa-3"):
            _section("Vertebra")
            html.Div(
                "Click the vertebral body in a slice view.",
                classes="text-body-2 mb-2",
            )
            with html.Div(classes="d-flex align-center"):
                v3.VBtn(
                    icon="mdi-chevron-up",
                    size="small",
                    variant="text",
                    click=ctrl.previous_vertebra,
                    disabled=("busy",),
                    id="previous-button",
                    title="previous vertebra (cranial)",
                )
                v3.VSelect(
                    v_model=("level", "L1"),
                    items=("level_items", []),
                    label="level of the next click",
                    density="compact",
                    hide_details=True,
                    variant="outlined",
                    disabled=("busy",),
                    id="level-select",
                )
                v3.VBtn(
                    icon="mdi-chevron-down",
                    size="small",
                    variant="text",
                    click=ctrl.next_vertebra,
                    disabled=("busy",),
                    id="next-button",
                    title="next vertebra (caudal)",
                )
            html.Div("{{ hint }}", classes="text-caption mt-1", id="hint")

            _section("Overlay")
            v3.VSelect(
                v_model=("map_key", "focal_bmc_loss"),
                items=("map_items", []),
                density="compact",
                hide_details=True,
                variant="outlined",
                id="map-select",
            )
            with html.Div(v_if=("legend",), classes="mt-2", id="legend"):
                html.Div("{{ legend.title }}", classes="text-caption")
                html.Div(classes="station-legend", style=("{ background: legend.gradient }",))
                with html.Div(classes="d-flex text-caption"):
                    html.Span("{{ legend.min }}")
                    v3.VSpacer()
                    html.Span("{{ legend.max }}")
            v3.VSlider(
                v_model=("opacity", 0.6),
                min=0,
                max=1,
                step=0.05,
                label="opacity",
                density="compact",
                hide_details=True,
                classes="mt-1",
            )

            _section("Calibration")
            with v3.VRadioGroup(
                v_model=("calibration_kind", "none"),
                density="compact",
                hide_details=True,
                inline=True,
                disabled=("busy",),
            ):
                v3.VRadio(label="none", value="none")
                v3.VRadio(label="manual", value="manual")
                v3.VRadio(label="profile", value="profile")
            with html.Div(v_if=("calibration_kind === 'manual'",)):
                with html.Div(classes="d-flex"):
                    v3.VTextField(
                        v_model=("slope", ""),
                        label="slope",
                        density="compact",
                        hide_details=True,
                        classes="mr-1",
                    )
                    v3.VTextField(
                        v_model=("intercept", ""),
                        label="intercept mg/cm³",
                        density="compact",
                        hide_details=True,
                    )
                v3.VSelect(
                    v_model=("material", "HA"),
                    items=("['HA', 'K2HPO4']",),
                    label="material",
                    density="compact",
                    hide_details=True,
                    classes="mt-1",
                )
            v3.VSelect(
                v_if=("calibration_kind === 'profile'",),
                v_model=("profile_id", None),
                items=("profile_items", []),
                label="calibration profile",
                no_data_text="no profile (osteo calibrate) under the data folder",
                density="compact",
                hide_details=True,
            )
            html.Div("{{ calibration_text }}", classes="text-caption mt-1")

            _section("Outputs")
            with html.Div(classes="d-flex align-center"):
                with v3.VBtn(
                    "Report",
                    prepend_icon="mdi-file-document-outline",
                    click=ctrl.save_report,
                    disabled=("busy || !rows.length",),
                    variant="tonal",
                    size="small",
                    id="report-button",
                ):
                    v3.VTooltip("Study report of the measured levels", activator="parent")
                html.A(
                    "open report",
                    v_if=("report_url",),
                    href=("report_url",),
                    target="_blank",
                    rel="noopener",
                    classes="text-body-2 ml-3",
                    id="report-link",
                )
            with html.Div(classes="d-flex align-center mt-2"):
                with (
                    html.Span(),
                    v3.VBtn(
                        "DICOM",
                        prepend_icon="mdi-database-export-outline",
                        click=ctrl.export_dicom,
                        disabled=("busy || !dicom_enabled",),
                        variant="tonal",
                        size="small",
                        id="dicom-button",
                    ),
                ):
                    v3.VTooltip("{{ dicom_tooltip }}", activator="parent")
                v3.VCheckbox(
                    v_model=("deidentify", True),
                    label="de-identify",
                    density="compact",
                    hide_details=True,
                    disabled=("!dicom_enabled",),
                    classes="ml-2",
                )
            html.A(
                "download DICOM (zip)",
                v_if=("dicom_url",),
                href=("dicom_url",),
                download="osteoimaging-dicom.zip",
                classes="text-body-2",
                id="dicom-link",
            )

        with (
            v3.VMain(),
            html.Div(classes="d-flex flex-column", style="height: calc(100vh - 48px);"),
        ):
            with v3.VAlert(
                v_if=("error",),
                type="error",
                density="compact",
                closable=True,
                click_close="error = ''",
                classes="ma-1",
                id="error",
            ):
                html.Span("{{ error }}")
            v3.VProgressLinear(
                model_value=("progress", 0),
                active=("busy",),
                height=4,
                color="primary",
            )
            with html.Div(classes="station-views"):
                layout_manager.initialize_layout_grid(layout)
                with (
                    html.Div(v_if=("busy",), classes="station-busy", id="busy"),
                    v3.VCard(min_width=320, classes="pa-3"),
                ):
                    html.Div("{{ progress_text }}", classes="text-body-2 mb-2", id="progress")
                    v3.VProgressLinear(model_value=("progress", 0), height=8, color="primary")
                    with html.Div(classes="d-flex mt-2"):
                        v3.VSpacer()
                        v3.VBtn("Cancel", size="small", variant="text", click=ctrl.cancel)
            html.Div(RESULTS_TABLE.strip(), classes="px-1")
    return layout


#: Window presets (name → label, window, level in HU): Slicer's CT presets (Volumes
#: module: CT-Bone, CT-Abdomen, CT-Lung) and Slicer's automatic window/level.
WINDOW_PRESETS = {
    "bone": ("Bone", 1000.0, 400.0),
    "abdomen": ("Abdomen", 350.0, 40.0),
    "lung": ("Lung", 1400.0, -500.0),
    "auto": ("Auto", None, None),
}
