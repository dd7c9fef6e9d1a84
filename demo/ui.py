"""Gradio layout and callbacks. All per-user data lives in a ``gr.State`` holding a ``Session``.

Slider callbacks run on ``.input`` (user changes only), so setting the controls after a
reconstruction does not trigger a cascade of re-renders; the 3D view and the downloads are
rebuilt on demand (slider release, buttons), since writing a mesh is slower than a preview.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from demo.live import LiveSession
from demo.photo_input import PhotoInput
from demo.session import EXPRESSION_CONTROLS, Edit, Session
from inversefacenet.errors import InputError
from inversefacenet.lighting import PRESETS, Light, hex_to_rgb, light_from_sh, matched, rgb_to_hex, sh_from_light
from inversefacenet.pipeline import Reconstructor

log = logging.getLogger(__name__)

RECOVERED = "recovered"
CUSTOM = "custom"  # shown once the lamp sliders move away from a preset
SESSION_TTL_S = 3600  # a session's faces and files are dropped an hour after its last use
EXAMPLES = [str(p) for p in sorted(Path(__file__).resolve().parent.parent.joinpath("assets", "examples").glob("*.jpg"))]
SH_ROWS = ["1", "y", "z", "x", "xy", "yz", "3z²-1", "xz", "x²-y²"]
STREAM_EVERY_S = 0.04
"""Webcam frame interval the page streams at (25 fps asked; the server's frame time sets what is reached)."""
LIVE_TIME_LIMIT_S = 900
"""A live stream stops after this long (press record again): an open tab does not hold a tracker forever."""
PANEL_HEIGHT = 300  # px: every result panel, the 3D view included, the same height
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
INTRO = """# InverseFaceNet
Upload a photo (or pick the example, or use the webcam): every face is found and its pose, shape, expression,
skin albedo and lighting (2nd-order spherical harmonics) are recovered. Relight it, change its expression and pose,
and download the mesh. The live tab relights your webcam's face frame by frame. Everything runs on this server's
CPU; nothing is uploaded anywhere else."""


LIGHT_NAMES = ("azimuth_deg", "elevation_deg", "intensity", "ambient", "colour")
EDIT_NAMES = (*EXPRESSION_CONTROLS, "pitch_deg", "yaw_deg", "roll_deg")
"""API parameter names of the lamp and edit controls, in the order of the controls."""


def _named(fn: Callable[..., Any], *names: str) -> Callable[..., Any]:
    """``fn`` with a signature naming its positional inputs, so the API shows names, not param_1..26."""

    @functools.wraps(fn)
    def named(*values: Any) -> Any:
        return fn(*values)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    named.__signature__ = inspect.Signature([inspect.Parameter(name, kind) for name in names])  # type: ignore[attr-defined]
    return named


def _panel(label: str, elem_id: str) -> gr.Image:
    """One result image, all of the same height (JPEG: previews travel faster)."""
    return gr.Image(label=label, interactive=False, elem_id=elem_id, format="jpeg", height=PANEL_HEIGHT)


def _need(session: Session | None) -> Session:
    if session is None:
        raise gr.Error("Upload a photo first.")
    return session


def _edit(sh: Any, values: tuple[float, ...]) -> Edit:
    """Controls -> Edit: SH table (9x3), then the expression sliders, then pitch, yaw, roll."""
    expression = dict(zip(EXPRESSION_CONTROLS, (float(v) for v in values[: len(EXPRESSION_CONTROLS)]), strict=True))
    pitch, yaw, roll = (float(v) for v in values[len(EXPRESSION_CONTROLS) :])
    table = np.asarray(sh, dtype=np.float64) if not hasattr(sh, "to_numpy") else sh.to_numpy(np.float64)
    if table.shape != (9, 3) or not np.isfinite(table).all():
        raise gr.Error("The SH table needs 9 rows of 3 numbers (R, G, B).")
    return Edit(table.astype(np.float32), expression, (pitch, yaw, roll))


def _light_values(light: Light) -> list[Any]:
    values = [light.azimuth_deg, light.elevation_deg, light.intensity, light.ambient]
    return [*(round(v, 2) for v in values), rgb_to_hex(light.colour)]


def _table(sh: np.ndarray) -> list[list[float]]:
    return np.round(np.asarray(sh, np.float64).reshape(9, 3), 4).tolist()


def _preview(session: Session, edit: Edit, with_composite: bool) -> list[Any]:
    preview = session.preview(edit, with_composite)
    face = session.face
    status = (
        f"Face {session.index + 1} of {len(session.faces)} · preview {preview.ms:.0f} ms · fit residual: "
        f"{face.landmark_error_px:.1f} px to the landmarks, photometric RMSE {face.photometric_rmse:.1f}"
    )
    return [preview.relit, preview.geometry, preview.albedo, preview.composite, status]


def _light_only(previews: list[Any]) -> list[Any]:
    """The outputs a light change can alter: relit, composite, status (geometry and albedo stay)."""
    relit, _, _, pasted, status = previews
    return [relit, pasted, status]


def _mesh_preview(session: Session, edit: Edit) -> str:
    return str(session.export(edit, session.folder / "3d", formats=("glb",))[0])


def live_tab(reconstructor: Reconstructor) -> None:
    """The live tab: webcam frames streamed in, the relit face streamed out, one tracker per browser session."""
    if reconstructor.predictor is None:
        gr.Markdown("The live tab needs the network (no checkpoint was found): the fit is too slow for video.")
        return
    live = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda s: s is not None and s.close())
    with gr.Row():
        with gr.Column():
            camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam", elem_id="live-camera")
            light = gr.Radio([RECOVERED, *PRESETS], value="side light", label="Light (matched to the video's exposure)",
                             elem_id="live-light")  # fmt: skip
            in_video = gr.Checkbox(True, label="Show the relit face in the video", elem_id="live-in-video")
            smoothing = gr.Checkbox(True, label="Smooth over time (One Euro filter)", elem_id="live-smoothing")
        with gr.Column():
            relit = gr.Image(label="Relit", interactive=False, format="jpeg", elem_id="live-relit")
            status = gr.Markdown(elem_id="live-status")

    def frame(image: np.ndarray | None, session: LiveSession | None, *options: Any) -> list[Any]:
        """One webcam frame -> the relit face, this session's tracker (made on its first frame), a status line."""
        if image is None:
            return [gr.skip(), session, gr.skip()]
        session = session or LiveSession(reconstructor)
        relit_frame, line = session.frame(image, *options)
        return [relit_frame, session, line]

    inputs, outputs = [camera, live, light, in_video, smoothing], [relit, live, status]
    camera.stream(frame, inputs, outputs, api_name=False, stream_every=STREAM_EVERY_S, time_limit=LIVE_TIME_LIMIT_S,
                  show_progress="hidden")  # fmt: skip
    # Scripts (gradio_client cannot feed a stream): one frame per call, through the same session's tracker.
    script_frame = gr.Image(type="numpy", visible=False)
    gr.Button(visible=False).click(_named(frame, "frame", "session", "light", "in_video", "smoothing"),
                                   [script_frame, *inputs[1:]], outputs, api_name="live_frame")  # fmt: skip


def build_app(reconstructor: Reconstructor) -> gr.Blocks:
    """The whole UI around one shared, read-only ``Reconstructor``."""

    def start(session: Session, with_composite: bool) -> list[Any]:
        """Everything that follows a new photo or a face selection: controls at the recovered values."""
        edit = session.recovered_edit
        choices = [f"Face {i + 1}" for i in range(len(session.faces))]
        expression, pose = (round(v, 3) for v in edit.expression.values()), (round(v, 2) for v in edit.rotation_deg)
        controls = [*_light_values(light_from_sh(edit.sh)), _table(edit.sh), RECOVERED, *expression, *pose]
        return [session, session.overlay(), gr.update(choices=choices, value=choices[session.index]), *controls,
                *_preview(session, edit, with_composite)]  # fmt: skip

    def load(path: str | None, previous: Session | None, photo_texture: bool = False) -> tuple[Session | None, str]:
        """A new photo -> its session (showing the photo texture when that switch is on), or None and a message
        in plain words (NoFaceError included)."""
        if previous is not None:
            previous.close()
        if path is None:
            return None, ""
        try:
            session = Session.reconstruct(reconstructor, path)
            session.use_photo_texture(bool(photo_texture))
            return session, ""
        except InputError as error:
            message = str(error).replace(str(Path(path).parent) + "/", "")  # no server paths
            gr.Warning(message)
            return None, f"**{message}**"

    def show(session: Session | None, with_composite: bool) -> list[Any]:
        """The views of a new session, or every view cleared when the photo gave none."""
        if session is None:  # the status keeps load's message
            return [None, gr.update(choices=[], value=None), *[gr.skip()] * (7 + len(edit_controls)),
                    None, None, None, None, gr.skip()]  # fmt: skip
        return start(session, with_composite)[1:]

    def reconstruct(path: str | None, with_composite: bool, previous: Session | None) -> list[Any]:
        """For scripts: one call, the same outputs as the page, and an error for unusable input."""
        session, message = load(path, previous)
        if session is None:
            if message:
                raise gr.Error(message.strip("*"))
            return [None, *show(None, with_composite)[:-1], ""]
        return start(session, with_composite)

    def select_face(choice: int | None, session: Session | None, with_composite: bool) -> list[Any]:
        """Face ``choice`` (0 = the first, numbered 1 on the overlay)."""
        session = _need(session)
        if choice is None or choice == session.index:
            return [gr.skip()] * len(start_outputs)
        if not 0 <= int(choice) < len(session.faces):
            raise gr.Error(f"There are {len(session.faces)} faces: choose 0 to {len(session.faces) - 1}.")
        session.select(int(choice))
        return start(session, with_composite)

    def face_thumbnails(session: Session | None) -> dict[str, Any]:
        """The thumbnails, shown only when there is more than one face to choose from."""
        many = session is not None and len(session.faces) > 1
        return gr.update(value=session.thumbnails() if many else None, visible=many)

    def pick_face(session: Session | None, with_composite: bool, selected: gr.SelectData) -> list[Any]:
        return select_face(selected.index, session, with_composite)

    def reset(session: Session | None, with_composite: bool) -> list[Any]:
        return start(_need(session), with_composite)

    def relight(session: Session | None, *values: Any) -> list[Any]:
        session = _need(session)
        azimuth, elevation, intensity, ambient, colour, *rest = values
        light = Light(float(azimuth), float(elevation), float(intensity), float(ambient), hex_to_rgb(colour))
        sh = sh_from_light(light)
        edit = _edit(sh, tuple(rest[:-1]))
        return [_table(sh), CUSTOM, *_light_only(_preview(session, edit, bool(rest[-1])))]

    def apply_preset(session: Session | None, preset: str, *values: Any) -> list[Any]:
        session = _need(session)
        recovered = session.recovered_edit.sh
        if preset == CUSTOM:
            return [gr.skip()] * (len(light_controls) + 1 + len(lit_previews))
        light = light_from_sh(recovered) if preset == RECOVERED else matched(PRESETS[preset], recovered)
        sh = recovered if preset == RECOVERED else sh_from_light(light)
        edit = _edit(sh, tuple(values[:-1]))
        return [*_light_values(light), _table(sh), *_light_only(_preview(session, edit, bool(values[-1])))]

    def edit_face(session: Session | None, table: Any, *values: Any) -> list[Any]:
        return _preview(_need(session), _edit(table, tuple(values[:-1])), bool(values[-1]))

    def recovered_3d(session: Session | None) -> str | None:
        return None if session is None else _mesh_preview(session, session.recovered_edit)

    def refresh_3d(session: Session | None, table: Any, *values: Any) -> str:
        return _mesh_preview(_need(session), _edit(table, tuple(values)))

    def use_photo_texture(session: Session | None, on: bool, table: Any, *values: Any) -> list[Any]:
        """Switch between the photo texture and the model albedo: previews, 3D view and downloads follow."""
        session = _need(session)
        session.use_photo_texture(bool(on))
        edit = _edit(table, tuple(values[:-1]))
        return [*_preview(session, edit, bool(values[-1])), _mesh_preview(session, edit)]

    def export(session: Session | None, table: Any, *values: Any) -> list[str]:
        return [str(p) for p in _need(session).export(_edit(table, tuple(values)))]

    with gr.Blocks(title="InverseFaceNet", analytics_enabled=False, delete_cache=(1800, 3600)) as app:
        state = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda s: s is not None and s.close())
        gr.Markdown(INTRO)
        with gr.Tab("Photo", id="photo-tab"):
            with gr.Row():
                with gr.Column(scale=1, min_width=280):
                    photo = PhotoInput(type="filepath", sources=["upload", "webcam", "clipboard"], label="Photo",
                                     elem_id="photo")  # fmt: skip
                    if EXAMPLES:
                        gr.Examples(EXAMPLES, inputs=photo)
                    face_choice = gr.Radio([], type="index", label="Face", elem_id="face-choice")
                    thumbnails = gr.Gallery(label="Faces (numbered as on the overlay; click one)", columns=6,
                                            height=130, allow_preview=False, visible=False,
                                            elem_id="face-thumbnails")  # fmt: skip
                    status = gr.Markdown(elem_id="status")
                with gr.Column(scale=3):
                    with gr.Row():
                        overlay = _panel("Fitted contour and landmarks", "overlay")
                        relit = _panel("Reconstruction (relit)", "relit")
                        composite = _panel("In the photo (recovered pose)", "composite")
                    with gr.Row():
                        geometry = _panel("Geometry", "geometry")
                        albedo = _panel("Albedo", "albedo")
                        model3d = gr.Model3D(label="3D view (GLB)", clear_color=(1, 1, 1, 1), elem_id="model3d",
                                             height=PANEL_HEIGHT)  # fmt: skip
            with gr.Row():
                with gr.Column():
                    gr.Markdown("### Lighting")
                    preset = gr.Radio([RECOVERED, *PRESETS, CUSTOM], value=RECOVERED, elem_id="preset",
                                      label="Preset (matched to the photo's brightness)")  # fmt: skip
                    azimuth = gr.Slider(-180, 180, 0, step=1, label="Azimuth (°, + from the right)", elem_id="azimuth")
                    elevation = gr.Slider(-90, 90, 20, step=1, label="Elevation (°)", elem_id="elevation")
                    intensity = gr.Slider(0, 3, 1.2, step=0.01, label="Intensity", elem_id="intensity")
                    ambient = gr.Slider(0, 1.5, 0.5, step=0.01, label="Ambient", elem_id="ambient")
                    colour = gr.ColorPicker("#ffffff", label="Light colour", elem_id="colour")
                    with_composite = gr.Checkbox(True, label="Show the relit face in the photo")
                    photo_texture = gr.Checkbox(False, label="Photo texture: the person's own skin, de-lit from the "
                                                "photo (off: the face model's albedo)", elem_id="photo-texture")
                    with gr.Accordion("Raw SH coefficients (9 × RGB)", open=False):
                        sh_table = gr.Dataframe(headers=["R", "G", "B"], row_count=9, column_count=3, datatype="number",
                                                type="array", interactive=True, label=" · ".join(SH_ROWS),
                                                elem_id="sh-table")  # fmt: skip
                with gr.Column():
                    gr.Markdown("### Expression")
                    expression = [gr.Slider(0, 1, 0, step=0.01, label=name, elem_id=f"expr-{name}")
                                  for name in EXPRESSION_CONTROLS]  # fmt: skip
                with gr.Column():
                    gr.Markdown("### Head pose")
                    pitch = gr.Slider(-60, 60, 0, step=0.5, label="Pitch (°)", elem_id="pitch")
                    yaw = gr.Slider(-80, 80, 0, step=0.5, label="Yaw (°)", elem_id="yaw")
                    roll = gr.Slider(-45, 45, 0, step=0.5, label="Roll (°)", elem_id="roll")
                    reset_button = gr.Button("Reset to the recovered face", elem_id="reset")
                    gr.Markdown("### Download (with the current edits)")
                    export_button = gr.Button("Prepare OBJ, PLY, GLB, animatable GLB and params.json",
                                              variant="primary", elem_id="export")  # fmt: skip
                    downloads = gr.File(file_count="multiple", label="Files", elem_id="downloads")
        with gr.Tab("Live (webcam)", id="live-tab"):
            live_tab(reconstructor)

        light_controls = [azimuth, elevation, intensity, ambient, colour]
        edit_controls = [*expression, pitch, yaw, roll]
        previews = [relit, geometry, albedo, composite, status]
        lit_previews = [relit, composite, status]
        start_outputs = [state, overlay, face_choice, *light_controls, sh_table, preset, *edit_controls, *previews]

        # The page: a failed photo leaves one message (status + toast), not an error badge on every
        # output; the 3D view follows the first preview instead of delaying it.
        photo.change(load, [photo, state, photo_texture], [state, status], api_name=False).then(
            show, [state, with_composite], start_outputs[1:], api_name=False
        ).then(recovered_3d, state, model3d, api_name=False).then(
            face_thumbnails, state, thumbnails, api_name=False
        )
        thumbnails.select(pick_face, [state, with_composite], start_outputs, api_name=False).then(
            recovered_3d, state, model3d, api_name=False
        )
        # Scripts: the same in one call, with an error for unusable input.
        gr.Button(visible=False).click(reconstruct, [photo, with_composite, state], start_outputs,
                                       api_name="reconstruct")  # fmt: skip
        face_choice.input(select_face, [face_choice, state, with_composite], start_outputs, api_name=False).then(
            recovered_3d, state, model3d, api_name=False
        )
        face_index = gr.Number(visible=False, precision=0)  # scripts pick a face by its index
        gr.Button(visible=False).click(_named(select_face, "face_index", "session", "with_composite"),
                                       [face_index, state, with_composite], start_outputs,
                                       api_name="select_face")  # fmt: skip
        reset_button.click(reset, [state, with_composite], start_outputs, api_name="reset").then(
            recovered_3d, state, model3d, api_name=False
        )
        for slider in light_controls:
            slider.input(_named(relight, "session", *LIGHT_NAMES, *EDIT_NAMES, "with_composite"),
                         [state, *light_controls, *edit_controls, with_composite],
                         [sh_table, preset, *lit_previews],
                         api_name="relight" if slider is azimuth else False, trigger_mode="always_last")  # fmt: skip
        preset.input(_named(apply_preset, "session", "preset", *EDIT_NAMES, "with_composite"),
                     [state, preset, *edit_controls, with_composite],
                     [*light_controls, sh_table, *lit_previews], api_name="preset")  # fmt: skip
        edit_inputs = [state, sh_table, *edit_controls, with_composite]
        for control in [*edit_controls, with_composite]:
            control.input(_named(edit_face, "session", "sh", *EDIT_NAMES, "with_composite"), edit_inputs, previews,
                          api_name="edit" if control is pitch else False,
                          trigger_mode="always_last")  # fmt: skip
        sh_table.input(lambda *values: _light_only(edit_face(*values)), edit_inputs, lit_previews, api_name=False)
        for control in [azimuth, elevation, intensity, ambient, *edit_controls]:
            control.release(_named(refresh_3d, "session", "sh", *EDIT_NAMES), [state, sh_table, *edit_controls],
                            model3d, api_name="refresh_3d" if control is pitch else False)  # fmt: skip
        photo_texture.input(_named(use_photo_texture, "session", "photo_texture", "sh", *EDIT_NAMES, "with_composite"),
                            [state, photo_texture, sh_table, *edit_controls, with_composite], [*previews, model3d],
                            api_name="photo_texture")  # fmt: skip
        export_button.click(_named(export, "session", "sh", *EDIT_NAMES), [state, sh_table, *edit_controls],
                            downloads, api_name="export")  # fmt: skip
    return app
