"""Gradio layout and callbacks. All per-user data lives in a ``gr.State``: a ``Session`` (photo tab) or a
``LiveSession`` (live tab: its tracker and recording). The photo tab is built from one function per part (photo
inputs, result panels, lighting, expression, pose, downloads) and wired by job (photo, lighting, edits); ``CSS``
restacks it at phone width.

Slider callbacks run on ``.input`` (user changes only), so setting the controls after a
reconstruction does not trigger a cascade of re-renders; the 3D view and the downloads are
rebuilt on demand (slider release, buttons), since writing a mesh is slower than a preview.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

import gradio as gr
import numpy as np
from gradio.components.dataframe import DataframeData
from pydantic import model_validator

from demo.live import LiveSession
from demo.messages import user_error, without_folders
from demo.photo_input import PhotoInput
from demo.preview_image import PreviewImage
from demo.recording import KEEP, RECORD_LIMIT_S
from demo.serving import SESSION_TTL_S
from demo.session import EXPORT_FORMATS, EXPRESSION_CONTROLS, Edit, Session, browser_draws
from demo.video_tab import video_tab
from inversefacenet.errors import InputError, NoFaceError
from inversefacenet.lighting import PRESETS, Light, hex_to_rgb, light_from_sh, preset_sh, rgb_to_hex, sh_from_light
from inversefacenet.pipeline import FaceResult, Reconstructor
from inversefacenet.preprocess import eye_distance

log = logging.getLogger(__name__)

RECOVERED = "recovered"
CUSTOM = "custom"  # shown once the lamp sliders move away from a preset
EXAMPLES = [str(p) for p in sorted(Path(__file__).resolve().parent.parent.joinpath("assets", "examples").glob("*.jpg"))]
SH_ROWS = ["1", "y", "z", "x", "xy", "yz", "3z²-1", "xz", "x²-y²"]
STREAM_EVERY_S = 0.04
"""Webcam frame interval the page streams at (25 fps asked; the server's frame time sets what is reached)."""
LIVE_TIME_LIMIT_S = 900
"""A live stream stops after this long (press record again): an open tab does not hold a tracker forever."""
LAMP_RANGES = {"elevation_deg": (-90.0, 90.0), "intensity": (0.0, 3.0), "ambient": (0.0, 1.5)}
"""The lamp sliders' ranges (azimuth: the full circle); a recovered lamp is shown inside them."""
PHOTO_TEXTURE = True
"""The photo tab starts in the person's own skin, de-lit from the photo (the live tab too): the model's albedo alone
pastes a smooth, paler face over the person (its switch turns it back on)."""
MAX_UPLOAD_MB = 50
"""Largest photo file the server takes (Gradio refuses a larger one in the browser, with a passing notice, and empties
the photo box); the decoder reduces a photo over 40 megapixels to fit, and refuses one over about 179
(`inversefacenet.images`)."""
NO_PHOTO = f"**No photo: choose one (a file up to {MAX_UPLOAD_MB} MB; a larger one is refused).**"
"""The status line once the photo box is emptied: by the user, or by a refused upload, whose notice passes."""
TWIN_S = 2.0
"""Gradio's second change event for an upload comes at once; a user choosing the same file again takes longer."""
CAMERA_AS_IT_SEES = gr.WebcamOptions(mirror=False)
"""The webcam's frames as the camera sees them, as the browser page reads them: Gradio's default mirror flips the
frames it sends too, so a head turned left was read, relit and recorded turned right (a trial)."""
CLEAR = "() => null"
"""A browser-side event handler: its output emptied, no request made."""
PANEL_HEIGHT = 300  # px: every result panel, the 3D view included, the same height
THUMBNAIL_COLUMNS, THUMBNAIL_ROWS = 3, 3
"""The face thumbnails' grid, and the rows shown before it scrolls."""
THUMBNAIL_LABEL_PX, THUMBNAIL_ROW_PX = 40, 110  # the gallery's label, one row of thumbnails with its gap
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
THUMBNAIL_GRID = f"repeat({THUMBNAIL_COLUMNS}, minmax(0, 1fr))"
PHOTO_MAX_HEIGHT = PANEL_HEIGHT  # px: as tall as a result panel, so that the status line under it stays in view
CSS = (f"#face-thumbnails .grid-container {{ grid-template-columns: {THUMBNAIL_GRID}; }}\n"
       f"#photo img {{ max-height: {PHOTO_MAX_HEIGHT}px; object-fit: contain; }}\n") + """
#downloads .filename { display: block; overflow-wrap: anywhere; font-size: 0; }
#downloads .filename > span { display: inline; white-space: normal; font-size: var(--text-md); }
@media (max-width: 720px) {
  #photo-results { flex-direction: column; flex-wrap: nowrap; align-items: stretch; }
  #photo-column, #result-panels, #result-panels > .row { display: contents; }
  #photo-column > *, #result-panels > .row > * { flex: none; }
  #photo { order: 0; }
  #examples { order: 1; }
  #relit { order: 2; }
  #status { order: 3; }
  #composite { order: 4; }
  #photo-column > .form { order: 5; }
  #face-thumbnails { order: 6; }
  #overlay { order: 7; }
  #geometry { order: 8; }
  #albedo { order: 9; }
  #model3d { order: 10; }
  #expression-column { order: 1; }
}
"""
"""The app's style sheet (pass it to ``launch`` or ``mount_gradio_app``). The face thumbnails share the photo
column's width in THUMBNAIL_COLUMNS (Gradio's gallery gives each at least 100 px, more than the column holds).
A tall photo is shown no taller than a result panel (a 970 x 2204 portrait pushed the status line below the window,
a trial). The download list wraps long file names instead of cutting them (a group photo's GLB and animated GLB both
read "pyfeat_multi_face…" in a trial), as one line of text: Gradio lays the name's stem and extension out side by
side, so a wrapped stem read "astronaut_face1_ani .glb mated" (a trial); the space Gradio's template leaves between
the two is set at size 0 (it read "astronaut_face1 .glb"). Below 720 px (a phone) the photo column's
and the panels' boxes dissolve (``display: contents``), so the upload, the main result and the other panels flow as
one column in the order given, each at its own height (``flex: none``; ``.form`` is Gradio's box around the face
radio), and the 17 expression sliders go below the lighting, pose and download controls; on a desktop the layout does
not change."""
ENTER_COMMITS = """() => document.addEventListener("keydown", (event) => {
    const box = event.target;
    if (event.key === "Enter" && box.matches("input[type=number]") && box.closest(".block")?.querySelector(
        "input[type=range]")) box.blur();
})"""
"""Page script: Enter in a slider's number box ends the typing as leaving the box does: Gradio then shows the value
inside the slider's range and fires the slider's release, which the 3D view and the export wait for (before, a
value typed and entered reached the previews only)."""
STYLE = {"theme": THEME, "css": CSS, "js": ENTER_COMMITS}
"""What ``launch`` or ``mount_gradio_app`` takes besides the app, for the page as designed."""
INTRO = """# InverseFaceNet
Upload a photo (or pick the example, or use the webcam): its faces are found and their pose, shape, expression,
skin albedo and lighting (2nd-order spherical harmonics) are recovered. Relight a face, change its expression and pose,
and download the mesh. The live tab relights your webcam's face frame by frame; the video tab turns a clip into
animated meshes. Everything runs on this server's CPU; nothing is uploaded anywhere else."""


LIGHT_NAMES = ("azimuth_deg", "elevation_deg", "intensity", "ambient", "colour")
EDIT_NAMES = (*EXPRESSION_CONTROLS, "pitch_deg", "yaw_deg", "roll_deg")
"""API parameter names of the lamp and edit controls, in the order of the controls."""


def _named(fn: Callable[..., Any], *names: str) -> Callable[..., Any]:
    """``fn`` with a signature naming its positional inputs, so the API shows names, not param_1..26. A last input
    named "face" (the face choice, :func:`_on_face_shown`) defaults to None: scripts leave it out."""

    @functools.wraps(fn)
    def named(*values: Any) -> Any:
        return fn(*values)

    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter(name, kind, **({"default": None} if name == "face" else {})) for name in names]
    named.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return named


def _panel(label: str, elem_id: str) -> PreviewImage:
    """One result image, all of the same height (JPEG: previews travel faster), downloaded as ``<elem_id>.jpeg``."""
    return PreviewImage(label=label, interactive=False, elem_id=elem_id, format="jpeg", height=PANEL_HEIGHT,
                        buttons=["download", "fullscreen"])  # not "share": it works on Hugging Face Spaces only


def _on_face_shown(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(session, *values)`` for an edit whose last input is the face choice its controls were shown with: an edit
    of the face just left (a slider event overtaken by a face choice) is skipped, not applied to the face now shown
    and kept as its edit (:attr:`Session.edit`). A choice of None (a script that leaves it out): the face shown."""

    @functools.wraps(fn)
    def guarded(session: Session | None, *values: Any) -> Any:
        *values, choice = values
        if session is not None and choice is not None and int(choice) != session.index:
            return gr.skip()  # one skip: every output stays
        return fn(session, *values)

    return guarded


def _need(session: Session | None) -> Session:
    if session is None:
        raise user_error("Upload a photo first.")
    return session


def _edit(session: Session, sh: Any, values: tuple[float, ...]) -> Edit:
    """Controls -> Edit: SH table (9x3; empty, as a script that leaves it out sends it: the face's recovered
    light), then the expression sliders, then pitch, yaw, roll."""
    expression = dict(zip(EXPRESSION_CONTROLS, (float(v) for v in values[: len(EXPRESSION_CONTROLS)]), strict=True))
    pitch, yaw, roll = (float(v) for v in values[len(EXPRESSION_CONTROLS) :])
    error = user_error("The SH table needs 9 rows of 3 numbers (R, G, B); a light preset refills it.")
    try:
        table = np.asarray(sh, dtype=np.float64) if not hasattr(sh, "to_numpy") else sh.to_numpy(np.float64)
    except (TypeError, ValueError):  # a cell that is not a number
        raise error from None
    if table.size == 0:
        table = session.recovered_edit.sh.astype(np.float64)
    if table.shape != (9, 3) or not np.isfinite(table).all():
        raise error
    return Edit(table.astype(np.float32), expression, (pitch, yaw, roll))


def _light_values(light: Light) -> list[Any]:
    values = [light.azimuth_deg, light.elevation_deg, light.intensity, light.ambient]
    return [*(round(v, 2) for v in values), rgb_to_hex(light.colour)]


def _slider_lamp(sh: np.ndarray) -> tuple[Light, np.ndarray]:
    """The lamp the sliders show for a light ``sh`` (9, 3), inside their ranges and at their precision, and the rest
    of ``sh`` that lamp leaves unexplained (9, 3). One lamp and white ambient explain a photo's light only roughly
    (and may need a negative ambient or more than the sliders' intensity): the sliders' light is their lamp plus
    this rest, so it is ``sh`` itself at the values shown, and a slider moved a degree changes it by a degree."""
    light = light_from_sh(sh)
    light = replace(light, **{name: float(np.clip(getattr(light, name), *limits))
                              for name, limits in LAMP_RANGES.items()})  # fmt: skip
    azimuth, elevation, intensity, ambient, colour = _light_values(light)
    shown = Light(azimuth, elevation, intensity, ambient, hex_to_rgb(colour))
    return shown, (np.asarray(sh, np.float64).reshape(9, 3) - sh_from_light(shown)).astype(np.float32)


class ShTableData(DataframeData):
    """The SH table as a script may send it: the table's own dict (its headers optional), or just its rows (a 9 x 3
    list of numbers). Anything else becomes rows too, so that ``_edit`` answers it in plain words instead of a
    validation error."""

    @model_validator(mode="before")
    @classmethod
    def _rows(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {"headers": ["R", "G", "B"], **value}
        rows = value if isinstance(value, list | tuple) else [value]
        return {"headers": ["R", "G", "B"], "data": [row if isinstance(row, list | tuple) else [row] for row in rows]}


class Slider(gr.Slider):
    """gr.Slider (the same widget in the browser) that takes a value typed beyond its range as the nearest end,
    and an emptied box (None) as 0, as the widget itself shows them once the box loses focus, instead of failing
    the event (which covers every output with an error badge and logs a traceback)."""

    is_template = True

    def preprocess(self, payload: float | None) -> float:
        return super().preprocess(min(max(payload or 0.0, self.minimum), self.maximum))


class ShTable(gr.Dataframe):
    """gr.Dataframe (the same widget in the browser) whose API also takes the bare 9 x 3 rows."""

    data_model = ShTableData
    is_template = True  # the browser draws it with the Dataframe's own component


def _table(sh: np.ndarray) -> list[list[float]]:
    return np.round(np.asarray(sh, np.float64).reshape(9, 3), 4).tolist()


def _preview(session: Session, edit: Edit, with_composite: bool) -> list[Any]:
    preview = session.preview(edit, with_composite)
    face = session.face
    status = f"Face {session.index + 1} of {len(session.faces)} · preview {preview.ms:.0f} ms · {_fit_words(face)}"
    if session.frames > 1:  # the photo box plays them all (a trial)
        status += f" · an animated image of {session.frames} frames: the first is reconstructed"
    return [preview.relit, preview.geometry, preview.albedo, preview.composite, status]


SMALL_EYES_PX = 20
"""Eye distance (photo px) under which a loose fit's words name the face's size among the likely reasons: faces that
fit well at full size, shrunk to an eye distance of 12 / 16 / 24 px, were called loose 18 / 9 / 0 % of the time
upright and 49 / 35 / 15 % turned a quarter (MediaPipe's points scatter a pixel or so, and a small turned face can be
read the wrong way up; `python benchmarks/loose_fit.py`, reports/realphotos/loose_fit_small.json)."""


def _fit_words(face: FaceResult) -> str:
    """The fit's residuals for the status line, the landmarks' also in eye distances (comparable across photo
    sizes), with a word when the fit is loose."""
    words = (f"fit: the model's landmarks {face.landmark_error_iod:.0%} of the eye distance "
             f"({face.landmark_error_px:.1f} px) from the photo's, colour error {face.photometric_rmse:.1f} of 255 "
             "(RMSE)")  # fmt: skip
    if face.loose_fit:
        small = "small in the photo, " if eye_distance(face.detected_landmarks) < SMALL_EYES_PX else ""
        words += f" · a loose fit: the face model does not match this face well ({small}turned away, covered, or an"
        words += " expression it cannot make?)"
    return words


def _light_only(previews: list[Any]) -> list[Any]:
    """The outputs a light change can alter: relit, composite, status (geometry and albedo stay)."""
    relit, _, _, pasted, status = previews
    return [relit, pasted, status]


def _mesh_preview(session: Session, edit: Edit) -> str:
    return str(session.export(edit, session.folder / "3d", formats=("glb",))[0])


def export_recording(session: LiveSession | None) -> list[str]:
    """This session's recording: recording.json (per frame: time_s, rotation_deg, the 52 ARKit expression weights
    by name, shape, albedo, sh) and recording_animated.glb (the 52 blendshapes as morph targets, animated)."""
    if session is None:
        raise user_error(f"Nothing recorded yet: start the webcam and tick “{KEEP}” while your face is in view.")
    try:
        return [str(path) for path in session.export_recording()]
    except ValueError as error:
        raise user_error(str(error)) from None


def live_tab(reconstructor: Reconstructor) -> None:
    """The live tab: webcam frames streamed in, the relit face streamed out, one tracker and one recording per
    browser session."""
    if reconstructor.predictor is None:
        gr.Markdown("The live tab needs the network (no checkpoint was found): the fit is too slow for video.")
        return
    live = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda s: s is not None and s.close())
    with gr.Row():
        with gr.Column():
            camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Webcam", elem_id="live-camera",
                              webcam_options=CAMERA_AS_IT_SEES)
            light = gr.Radio([RECOVERED, *PRESETS], value="side light", label="Light (matched to the video's exposure)",
                             elem_id="live-light")  # fmt: skip
            in_video = gr.Checkbox(True, label="Show the relit face in the video", elem_id="live-in-video")
            own_skin = gr.Checkbox(True, label="Keep the person's own skin (relight the video's pixels; off: the face "
                                   "model's albedo)", elem_id="live-own-skin")  # fmt: skip
            smoothing = gr.Checkbox(True, label="Smooth over time (One Euro filter; shape and skin held from the first "
                                    "second)", elem_id="live-smoothing")  # fmt: skip
            record = gr.Checkbox(False, label=f"{KEEP} (its parameters, up to {RECORD_LIMIT_S:.0f} s; ticking it "
                                 "starts a new recording)", elem_id="live-record")  # fmt: skip
        with gr.Column():
            relit = gr.Image(label="Relit", interactive=False, format="jpeg", elem_id="live-relit",
                             buttons=["fullscreen"])
            status = gr.Markdown(elem_id="live-status")
            export_button = gr.Button("Export recording: per-frame JSON and animated GLB", elem_id="live-export")
            recording = gr.File(file_count="multiple", label="Recording", elem_id="live-recording")

    def frame(image: np.ndarray | None, session: LiveSession | None, *options: Any) -> list[Any]:
        """One webcam frame -> the relit face, this session's tracker (made on its first frame), a status line."""
        if image is None:
            return [gr.skip(), session, gr.skip()]
        session = session or LiveSession(reconstructor)
        answer = session.frame(image, *options)
        return [gr.skip(), session, gr.skip()] if answer is None else [answer[0], session, answer[1]]

    inputs, outputs = [camera, live, light, in_video, smoothing, record, own_skin], [relit, live, status]
    camera.stream(frame, inputs, outputs, api_name=False, stream_every=STREAM_EVERY_S, time_limit=LIVE_TIME_LIMIT_S,
                  show_progress="hidden")  # fmt: skip
    # Scripts (gradio_client cannot feed a stream): one frame per call, through the same session's tracker.
    script_frame = gr.Image(type="numpy", visible=False)
    gr.Button(visible=False).click(_named(frame, "frame", "session", "light", "in_video", "smoothing", "record",
                                          "own_skin"), [script_frame, *inputs[1:]], outputs,
                                   api_name="live_frame")  # fmt: skip
    export_button.click(export_recording, live, recording, api_name="export_recording")


@dataclass
class PhotoInputs:
    """The photo column: the upload, the face selector (radio and thumbnails) and the status line; ``emptied`` is
    whether the app itself just emptied the photo box (a file it cannot read, a TIFF without a face), whose change
    then comes back; ``message`` is the status line the last photo left (the previews of a slow photo before it may
    still overwrite the line meanwhile: the views that follow the photo write it again); ``fresh`` whether the box's
    last change was a new photo (or none), which the views follow, not the app's own change coming back; ``loaded``
    the file the session came from."""

    photo: PhotoInput
    face_choice: gr.Radio
    thumbnails: gr.Gallery
    status: gr.Markdown
    emptied: gr.State
    message: gr.State
    fresh: gr.State
    loaded: gr.State


@dataclass
class ResultPanels:
    """The result views, all ``PANEL_HEIGHT`` high."""

    overlay: gr.Image
    relit: gr.Image
    composite: gr.Image
    geometry: gr.Image
    albedo: gr.Image
    model3d: gr.Model3D


@dataclass
class LightingControls:
    """The lamp (``LIGHT_NAMES`` order), its preset, the raw SH table and the two display switches."""

    preset: gr.Radio
    lamp: list[gr.Slider | gr.ColorPicker]
    with_composite: gr.Checkbox
    photo_texture: gr.Checkbox
    sh_table: ShTable


@dataclass
class EditControls:
    """The expression sliders (``EXPRESSION_CONTROLS``), pitch / yaw / roll, and the reset button."""

    expression: list[gr.Slider]
    pose: list[gr.Slider]
    reset: gr.Button

    @property
    def sliders(self) -> list[gr.Slider]:
        """Every edit slider, in ``EDIT_NAMES`` order."""
        return [*self.expression, *self.pose]


@dataclass
class PhotoTab:
    """Every component of the photo tab, and the output lists its events share."""

    state: gr.State
    inputs: PhotoInputs
    panels: ResultPanels
    lighting: LightingControls
    edits: EditControls
    export_button: gr.Button
    export_animated: gr.Checkbox
    downloads: gr.File

    @property
    def previews(self) -> list[Any]:
        """What ``_preview`` fills: relit, geometry, albedo, composite, status."""
        panels = self.panels
        return [panels.relit, panels.geometry, panels.albedo, panels.composite, self.inputs.status]

    @property
    def lit_previews(self) -> list[Any]:
        """What a light change can alter (``_light_only``)."""
        return [self.panels.relit, self.panels.composite, self.inputs.status]

    @property
    def face_controls(self) -> list[Any]:
        """The controls that act on a face: usable only while one is shown (``_usable``)."""
        lighting, edits = self.lighting, self.edits
        return [*lighting.lamp, lighting.preset, lighting.sh_table, lighting.photo_texture, *edits.sliders,
                edits.reset, self.export_button]  # fmt: skip

    @property
    def start_outputs(self) -> list[Any]:
        """What ``_start`` fills: session, overlay, face selector, every control, the previews."""
        lighting = self.lighting
        return [self.state, self.panels.overlay, self.inputs.face_choice, *lighting.lamp, lighting.sh_table,
                lighting.preset, *self.edits.sliders, *self.previews]  # fmt: skip


def _start(session: Session, with_composite: bool) -> list[Any]:
    """Everything that follows a new photo or a face selection: controls at the face's edit as last shown (at first,
    its recovered values)."""
    edit = session.edit
    choices = [f"Face {i + 1}" for i in range(len(session.faces))]
    expression, pose = (round(v, 3) for v in edit.expression.values()), (round(v, 2) for v in edit.rotation_deg)
    session.lamp, session.light_rest = _kept_lamp(session, edit.sh)
    preset = _preset_of(edit.sh, session.recovered_edit.sh)
    controls = [*_light_values(session.lamp), _table(edit.sh), preset, *expression, *pose]
    return [session, session.overlay(), gr.update(choices=choices, value=choices[session.index]), *controls,
            *_preview(session, edit, with_composite)]  # fmt: skip


def _kept_lamp(session: Session, sh: np.ndarray) -> tuple[Light, np.ndarray]:
    """The lamp sliders' values and rest for the selected face's light ``sh`` (9, 3): as they were left when they
    still make that light, else the light's own best lamp (a script's /edit sets the light without the sliders)."""
    kept = session.kept_lamp
    if kept is not None and np.allclose(_lamp_sh(kept[1], kept[0]), sh, rtol=0, atol=1e-4):
        return kept
    return _slider_lamp(sh)


def _preset_of(sh: np.ndarray, recovered: np.ndarray) -> str:
    """The preset whose light (matched to the ``recovered`` one, as applied) ``sh`` is, up to the SH table's rounding
    (an edit after a preset reads its light from the table), else "custom"."""
    lights = {RECOVERED: recovered} | {name: preset_sh(name, recovered) for name in PRESETS}
    return next((name for name, light in lights.items() if np.allclose(sh, light, rtol=0, atol=6e-5)), CUSTOM)


def _show(session: Session | None, with_composite: bool, message: str | None = None) -> list[Any]:
    """The views of a new session, or, when the photo gave none, every view cleared, every control back at its
    starting value (the previous face's smile and lamp are not this photo's) and the status line at ``message``
    (load's; None leaves the line as it is)."""
    if session is None:  # the controls' .input events do not fire on this
        controls = [*_light_values(Light()), _table(sh_from_light(Light())), RECOVERED, *[0.0] * len(EDIT_NAMES)]
        status = gr.skip() if message is None else message
        return [None, gr.update(choices=[], value=None), *controls, None, None, None, None, status]
    return _start(session, with_composite)[1:]


class Loaded(NamedTuple):
    """A photo's session (None when it gave none), the status line's message, and whether the file was no image
    the browser can show either (it then shows a broken-image icon: the page clears the box instead)."""

    session: Session | None
    message: str
    unreadable: bool = False


@dataclass(frozen=True)
class PhotoLoader:
    """Turns an upload into a ``Session`` with the app's one shared, read-only ``Reconstructor``.

    Gradio fires an image's change twice, at once and with the same state, when a photo is dropped onto the one
    shown; so a browser's upload that began loading less than ``twin_s`` ago is not loaded again: the second call
    gets the first's result (``_loading``: each load and when it began, keyed by the browser session and the
    upload; a rejected file fails fast, so its twin may arrive after it is done, and would warn a second time)."""

    reconstructor: Reconstructor
    twin_s: float = TWIN_S
    _loading: dict[tuple[str, str], tuple[Future[Loaded], float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(
        self, path: str | None, previous: Session | None, photo_texture: bool = PHOTO_TEXTURE,
        request: gr.Request | None = None,
    ) -> Loaded:  # fmt: skip
        """A new photo -> its session (showing the photo texture when that switch is on), or None and a message
        in plain words (NoFaceError included). ``request``: the browser's (Gradio passes it), for the dedupe."""
        if request is None or path is None:
            return self._load(path, previous, photo_texture)
        key = (request.session_hash, path)
        with self._lock:
            now = time.monotonic()
            for old in [old for old, (load, started) in self._loading.items()
                        if now - started > self.twin_s and load.done()]:  # a load in progress answers its twin
                del self._loading[old]
            running, _ = self._loading.get(key, (None, now))
            if running is None:
                self._loading[key] = (mine := Future()), now
        if running is not None:  # the first call warns, and closes the session it replaced; this one closes its own
            loaded = running.result()
            if previous is not None and previous is not loaded.session:
                previous.close()
            return loaded
        try:
            mine.set_result(self._load(path, previous, photo_texture))
        except BaseException as error:
            mine.set_exception(error)
        return mine.result()

    def _load(self, path: str | None, previous: Session | None, photo_texture: bool) -> Loaded:
        if previous is not None:
            previous.close()
        if path is None:
            return Loaded(None, "")
        try:
            session = Session.reconstruct(self.reconstructor, path)
            session.use_photo_texture(bool(photo_texture))
            return Loaded(session, "")
        except InputError as error:
            message = without_folders(str(error), path)
            gr.Warning(message)
            return Loaded(None, f"**{message}**", unreadable=not isinstance(error, NoFaceError))

    def upload(
        self, path: str | None, previous: Session | None, photo_texture: bool = PHOTO_TEXTURE,
        emptied: bool = False, request: gr.Request | None = None,
    ) -> tuple[Session | None, Any, Any, bool, Any, bool, Any]:  # fmt: skip
        """The page's :meth:`load`: the session, the status line, the photo box, whether this emptied it, the
        status line again (kept for the views that follow, :class:`PhotoInputs`'s ``message``), whether the views
        follow (``fresh``) and the file loaded. A file that is no image is taken out of the box (no broken-image icon;
        the box is ready for the next file), and the box's emptying, which comes back here as a change with no photo,
        leaves the message in place and ``fresh`` as it is: the views follow it again, empty as they are. (When it
        set ``fresh`` off, the steps of the file's own change still to come read it off and left the last photo's 3D
        view and usable controls beside the message, a trial.) Any other emptying (the user's, or an upload Gradio
        refused for its size) says there is no photo and how large one may be (:data:`NO_PHOTO`). A photo without a
        face stays shown beside its message. A TIFF's PNG (:func:`_photo_for_browser`) coming back changes nothing."""
        if path is None:
            if previous is not None:
                previous.close()  # the last face's files go
            status = gr.skip() if emptied else NO_PHOTO
            return None, status, gr.skip(), False, status, gr.skip() if emptied else True, None
        if previous is not None and previous.is_shown_copy(path):
            return previous, gr.skip(), gr.skip(), False, gr.skip(), False, gr.skip()
        loaded = self.load(path, previous, photo_texture, request)
        box = None if loaded.unreadable else gr.skip()
        return loaded.session, loaded.message, box, loaded.unreadable, loaded.message, True, path

    def reconstruct(self, path: str | None, with_composite: bool, previous: Session | None) -> list[Any]:
        """For scripts: one call, the same outputs as the page, and an error for unusable input. An error leaves
        the script's state as it was, so the previous face stays open until a photo replaces it."""
        session, message, _ = self.load(path, None)
        if session is None and message:
            raise user_error(message.strip("*"))
        if previous is not None:
            previous.close()
        if session is None:
            return [None, *_show(None, with_composite)[:-1], ""]
        return _start(session, with_composite)


def _select_face(choice: int | None, session: Session | None, with_composite: bool) -> Any:
    """Face ``choice`` (0 = the first, numbered 1 on the overlay); the face already shown stays as it is."""
    if choice is None or choice == _need(session).index:
        return gr.skip()  # one skip: every output stays
    return _show_face(choice, session, with_composite)


def _show_face(choice: int, session: Session | None, with_composite: bool) -> list[Any]:
    """Face ``choice`` with its edit as last shown, at first its recovered values (scripts: /select_face)."""
    session = _need(session)
    if choice is None or not 0 <= int(choice) < len(session.faces):
        raise user_error(f"There are {len(session.faces)} faces: choose 0 to {len(session.faces) - 1}.")
    session.select(int(choice))
    return _start(session, with_composite)


def _face_thumbnails(session: Session | None) -> dict[str, Any]:
    """The thumbnails, shown only when there is more than one face to choose from, in a box as tall as their rows
    (up to THUMBNAIL_ROWS, then it scrolls), so that no caption is cut and no empty box is left below them."""
    many = session is not None and len(session.faces) > 1
    rows = min(-(-len(session.faces) // THUMBNAIL_COLUMNS), THUMBNAIL_ROWS) if many else 1
    return gr.update(value=session.thumbnails() if many else None, visible=many, **_thumbnail_shown(session),
                     height=THUMBNAIL_LABEL_PX + rows * THUMBNAIL_ROW_PX)  # fmt: skip


def _thumbnail_shown(session: Session | None) -> dict[str, Any]:
    """The thumbnail highlighted: the face shown (a trial saw the one clicked last stay highlighted after another
    was chosen in the Face list, and after the next photo loaded with its first face shown)."""
    many = session is not None and len(session.faces) > 1
    return {"selected_index": session.index if many else None}


def _pick_face(session: Session | None, with_composite: bool, selected: gr.SelectData) -> Any:
    return _select_face(selected.index, session, with_composite)


def _reset(session: Session | None, with_composite: bool) -> list[Any]:
    session = _need(session)
    session.forget_edit()
    return _start(session, with_composite)


def _relight(session: Session | None, *values: Any) -> list[Any]:
    # values: the lamp (LIGHT_NAMES), the edits (EDIT_NAMES), with_composite (no docstring: the API would show it)
    session = _need(session)
    session.lamp, rest = _slider_light(*values[:5]), values[5:]
    sh = _lamp_sh(session.light_rest, session.lamp)
    edit = _edit(session, sh, tuple(rest[:-1]))
    return [_table(sh), CUSTOM, *_light_only(_preview(session, edit, bool(rest[-1])))]


def _lamp_sh(rest: np.ndarray, lamp: Light) -> np.ndarray:
    """(9, 3) SH of the lamp sliders: their lamp plus the ``rest`` (9, 3) of the light they started from."""
    return sh_from_light(lamp) + rest


def _slider_light(azimuth: float, elevation: float, intensity: float, ambient: float, colour: str) -> Light:
    """The lamp the sliders' values set."""
    try:
        rgb = hex_to_rgb(str(colour))
    except ValueError:
        raise user_error(f"The light colour {colour!r} is not a colour: give it like #ffb070.") from None
    return Light(float(azimuth), float(elevation), float(intensity), float(ambient), rgb)


def _typed_colour(session: Session | None, table: Any, *values: Any) -> Any:
    """A colour typed into the picker (a change, or the picker closed): a relight, unless the light is the one shown
    (a preset's own colour, or the picker opened and closed without a change, leave the preset as it was) or there is
    no face."""
    if session is None:  # the colour put back with the controls when a photo has no face
        return gr.skip()
    shown = _edit(session, table, tuple(values[5:-1])).sh
    typed = _lamp_sh(session.light_rest, _slider_light(*values[:5]))
    return gr.skip() if np.allclose(typed, shown, atol=1e-4) else _relight(session, *values)


def _apply_preset(session: Session | None, preset: str, *values: Any) -> Any:
    # values: the edits (EDIT_NAMES), with_composite; nothing changes for "custom" (the API would show a docstring)
    session = _need(session)
    recovered = session.recovered_edit.sh
    if preset == CUSTOM:
        return gr.skip()
    chosen = recovered if preset == RECOVERED else preset_sh(preset, recovered)
    session.lamp, session.light_rest = _slider_lamp(chosen)  # a preset matched to a bright photo may pass the sliders
    edit = _edit(session, chosen, tuple(values[:-1]))
    return [*_light_values(session.lamp), _table(chosen), *_light_only(_preview(session, edit, bool(values[-1])))]


def _edit_table(session: Session | None, table: Any, *values: Any) -> list[Any]:
    """The SH table edited by hand (values: the lamp controls, the edits, with_composite): its light shown (the lamp
    sliders at its lamp, their rest the remainder, so that a slider moved next starts from the table's light) and
    the preset "custom". A cell that is not a number puts the table back at the light shown, which the lamp controls
    hold, and says so in the status line, instead of failing the event (an error badge on every output); the
    table's edit may come twice, so the message is the status line's, not a toast."""
    session = _need(session)
    lamp, edits, with_composite = values[: len(LIGHT_NAMES)], values[len(LIGHT_NAMES) : -1], bool(values[-1])
    try:
        edit = _edit(session, table, tuple(edits))
    except gr.Error:
        message = "**A cell of the SH table was not a number: the table shows the light in use again.**"
        kept = [gr.skip()] * (len(LIGHT_NAMES) + 3)  # the lamp, the preset, the relit and composite views
        return [_table(_lamp_sh(session.light_rest, _slider_light(*lamp))), *kept, message]
    session.lamp, session.light_rest = _slider_lamp(edit.sh)
    return [gr.skip(), *_light_values(session.lamp), CUSTOM, *_light_only(_preview(session, edit, with_composite))]


def _edit_face(session: Session | None, table: Any, *values: Any) -> list[Any]:
    session = _need(session)
    return _preview(session, _edit(session, table, tuple(values[:-1])), bool(values[-1]))


def _shown_3d(session: Session | None) -> str | None:
    """The 3D view of the face shown, as its previews show it (a face chosen again: with its kept edit)."""
    return None if session is None else _mesh_preview(session, session.edit)


def _refresh_3d(session: Session | None, table: Any, *values: Any) -> str:
    session = _need(session)
    return _mesh_preview(session, _edit(session, table, tuple(values)))


def _use_photo_texture(session: Session | None, on: bool, table: Any, *values: Any) -> list[Any]:
    """Switch between the photo texture and the model albedo: previews, 3D view and downloads follow."""
    session = _need(session)
    session.use_photo_texture(bool(on))
    edit = _edit(session, table, tuple(values[:-1]))
    return [*_preview(session, edit, bool(values[-1])), _mesh_preview(session, edit)]


def _export(session: Session | None, table: Any, *values: Any) -> list[str]:
    """The downloads; the last value says whether the animatable GLB joins them."""
    formats = (*EXPORT_FORMATS, "animated") if values[-1] else EXPORT_FORMATS
    session = _need(session)
    return [str(p) for p in session.export(_edit(session, table, tuple(values[:-1])), formats=formats)]


def _photo_inputs() -> PhotoInputs:
    photo = PhotoInput(type="filepath", sources=["upload", "webcam", "clipboard"], webcam_options=CAMERA_AS_IT_SEES,
                       label=f"Photo (up to {MAX_UPLOAD_MB} MB)", elem_id="photo")  # fmt: skip
    if EXAMPLES:
        gr.Examples(EXAMPLES, inputs=photo, elem_id="examples")
    face_choice = gr.Radio([], type="index", label="Face", elem_id="face-choice")
    thumbnails = gr.Gallery(label="Faces (click one)", columns=THUMBNAIL_COLUMNS, fit_columns=False,
                            allow_preview=False, visible=False, elem_id="face-thumbnails")  # fmt: skip
    states = gr.State(False), gr.State(""), gr.State(True), gr.State(None)  # emptied, message, fresh, loaded
    return PhotoInputs(photo, face_choice, thumbnails, gr.Markdown(elem_id="status"), *states)


def _result_panels() -> ResultPanels:
    with gr.Row():
        overlay = _panel("Fitted contour and landmarks", "overlay")
        relit = _panel("Reconstruction (relit)", "relit")
        composite = _panel("In the photo (recovered pose)", "composite")
    with gr.Row():
        geometry = _panel("Geometry", "geometry")
        albedo = _panel("Albedo", "albedo")
        model3d = gr.Model3D(label="3D view (GLB)", clear_color=(1, 1, 1, 1), elem_id="model3d", height=PANEL_HEIGHT)
    return ResultPanels(overlay, relit, composite, geometry, albedo, model3d)


def _lighting_controls() -> LightingControls:
    gr.Markdown("### Lighting")
    preset = gr.Radio([RECOVERED, *PRESETS, CUSTOM], value=RECOVERED, elem_id="preset",
                      label="Preset (matched to the photo's brightness)")  # fmt: skip
    azimuth, elevation, intensity, ambient, colour = _light_values(Light())  # where a failed photo puts them back
    lamp = [
        Slider(-180, 180, azimuth, step=1, label="Azimuth (°, + from the right)", elem_id="azimuth"),
        Slider(*LAMP_RANGES["elevation_deg"], elevation, step=1, label="Elevation (°)", elem_id="elevation"),
        Slider(*LAMP_RANGES["intensity"], intensity, step=0.01, label="Intensity", elem_id="intensity"),
        Slider(*LAMP_RANGES["ambient"], ambient, step=0.01, label="Ambient", elem_id="ambient"),
        gr.ColorPicker(colour, label="Light colour", elem_id="colour"),
    ]
    with_composite = gr.Checkbox(True, label="Show the relit face in the photo")
    photo_texture = gr.Checkbox(PHOTO_TEXTURE, label="Photo texture: the person's own skin, de-lit from the photo "
                                "(off: the face model's albedo)", elem_id="photo-texture")  # fmt: skip
    with gr.Accordion("Raw SH coefficients (9 × RGB)", open=False):
        sh_table = ShTable(headers=["R", "G", "B"], row_count=9, column_count=3, datatype="number", type="array",
                           interactive=True, show_row_numbers=True, elem_id="sh-table",
                           label="Rows 1-9: the SH basis " + ", ".join(SH_ROWS))  # fmt: skip
    return LightingControls(preset, lamp, with_composite, photo_texture, sh_table)


def _expression_sliders() -> list[gr.Slider]:
    gr.Markdown("### Expression")
    return [Slider(0, 1, 0, step=0.01, label=name, elem_id=f"expr-{name}") for name in EXPRESSION_CONTROLS]


def _pose_controls() -> tuple[list[gr.Slider], gr.Button]:
    gr.Markdown("### Head pose")
    pose = [
        Slider(-60, 60, 0, step=0.5, label="Pitch (°)", elem_id="pitch"),
        Slider(-80, 80, 0, step=0.5, label="Yaw (°)", elem_id="yaw"),
        Slider(-180, 180, 0, step=0.5, label="Roll (°)", elem_id="roll"),  # a tilted head is read upright
    ]
    return pose, gr.Button("Reset to the recovered face", elem_id="reset")


def _download_controls() -> tuple[gr.Button, gr.Checkbox, gr.File]:
    gr.Markdown("### Download (with the current edits)")
    animated = gr.Checkbox(False, label="Also the animatable GLB (52 ARKit blendshapes as morph targets, about 9 MB)",
                           elem_id="export-animated")  # fmt: skip
    button = gr.Button("Prepare OBJ, PLY, GLB, params.json and the relit photo", variant="primary", elem_id="export")
    return button, animated, gr.File(file_count="multiple", label="Files", elem_id="downloads")


def _photo_tab_layout() -> PhotoTab:
    """The photo tab's components: photo and results on top, the controls in three columns below."""
    state = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda s: s is not None and s.close())
    with gr.Row(elem_id="photo-results"):
        with gr.Column(scale=1, min_width=280, elem_id="photo-column"):
            inputs = _photo_inputs()
        with gr.Column(scale=3, elem_id="result-panels"):
            panels = _result_panels()
    with gr.Row():
        with gr.Column():
            lighting = _lighting_controls()
        with gr.Column(elem_id="expression-column"):
            expression = _expression_sliders()
        with gr.Column():
            pose, reset = _pose_controls()
            downloads = _download_controls()
    return PhotoTab(state, inputs, panels, lighting, EditControls(expression, pose, reset), *downloads)


CLOSE_NOTICES = "() => document.querySelectorAll('.toast-close').forEach((button) => button.click())"
"""Page script: closes the notices (toasts) shown, in the browser alone. A trial's "No face was found" stayed over the
next photo's face for seconds."""


def _photo_for_browser(path: str | None, loaded: str | None, session: Session | None) -> tuple[Any, Any]:
    """The photo box and ``emptied`` once a new photo is loaded that browsers cannot draw (a TIFF: a broken-image icon
    in the box, a trial): the session's PNG of it, or, without a face, an empty box; read from the box as it is now,
    so that a newer photo chosen meanwhile stays (``loaded``: the file the session came from). The last step after a
    photo: the box's change that it makes comes back as a change that sets ``fresh`` off."""
    if path is None or path != loaded or browser_draws(path):
        return gr.skip(), gr.skip()
    return (None, True) if session is None else (str(session.photo_for_browser()), gr.skip())


def _for_new_photo(step: Callable[..., Any]) -> Callable[..., Any]:
    """``step`` of the views that follow a new photo, given ``fresh`` first: every output kept (one skip) when the box's
    change was the app's own coming back (a TIFF's PNG: its views would be made again, and edits made meanwhile
    undone)."""
    return lambda fresh, *values: step(*values) if fresh else gr.skip()


def _usable(count: int) -> Callable[[Session | None], list[Any]]:
    """The face controls' interactivity for a session: off without a face, so that a slider moved then neither
    raises "Upload a photo first" on every step nor covers the page with error badges."""
    return lambda session: [gr.update(interactive=session is not None)] * count


def _wire_photo_events(tab: PhotoTab, loader: PhotoLoader) -> None:
    """A new photo and reset: every control and view at the recovered values; a face choice: at that face's edit."""
    state, inputs, model3d = tab.state, tab.inputs, tab.panels.model3d
    with_composite, photo_texture = tab.lighting.with_composite, tab.lighting.photo_texture
    # The page: a failed photo leaves one message (status + toast), not an error badge on every
    # output; the 3D view follows the first preview instead of delaying it. Each step runs for every photo (and face
    # chosen), the last one included: a step still busy with the photo before (a group photo's previews) would by
    # default drop the next photo's turn, leaving the group photo's faces beside a photo without one.
    last = {"api_name": False, "trigger_mode": "always_last"}
    inputs.photo.upload(None, js=CLOSE_NOTICES)  # the last photo's warning is not about this one (a trial)
    fresh = inputs.fresh
    inputs.photo.change(
        loader.upload, [inputs.photo, state, photo_texture, inputs.emptied],
        [state, inputs.status, inputs.photo, inputs.emptied, inputs.message, fresh, inputs.loaded], **last
    ).then(  # fmt: skip
        _for_new_photo(_show), [fresh, state, with_composite, inputs.message], tab.start_outputs[1:], **last
    ).then(_for_new_photo(_shown_3d), [fresh, state], model3d, **last).then(
        _for_new_photo(_face_thumbnails), [fresh, state], inputs.thumbnails, **last
    ).then(_for_new_photo(lambda: None), fresh, tab.downloads, **last).then(  # the last photo's files go
        _for_new_photo(_usable(len(tab.face_controls))), [fresh, state], tab.face_controls, **last
    ).then(  # last: its change coming back marks the views as not to follow it, which would stop this photo's
        _for_new_photo(_photo_for_browser), [fresh, inputs.photo, inputs.loaded, state], [inputs.photo, inputs.emptied],
        **last
    )
    inputs.thumbnails.select(_pick_face, [state, with_composite], tab.start_outputs, **last).then(
        _shown_3d, state, model3d, **last
    )
    # Scripts: the same in one call, with an error for unusable input.
    gr.Button(visible=False).click(loader.reconstruct, [inputs.photo, with_composite, state], tab.start_outputs,
                                   api_name="reconstruct")  # fmt: skip
    inputs.face_choice.input(_select_face, [inputs.face_choice, state, with_composite], tab.start_outputs,
                             **last).then(_shown_3d, state, model3d, **last).then(
        lambda session: gr.update(**_thumbnail_shown(session)), state, inputs.thumbnails, **last
    )  # fmt: skip
    face_index = gr.Number(visible=False, precision=0)  # scripts pick a face by its index
    gr.Button(visible=False).click(_named(_show_face, "face_index", "session", "with_composite"),
                                   [face_index, state, with_composite], tab.start_outputs,
                                   api_name="select_face")  # fmt: skip
    tab.edits.reset.click(_reset, [state, with_composite], tab.start_outputs, api_name="reset").then(
        _shown_3d, state, model3d, **last
    )


def _wire_lighting_events(tab: PhotoTab) -> None:
    """Lamp sliders, presets and the photo texture switch."""
    state, lighting, edits, face = tab.state, tab.lighting, tab.edits.sliders, tab.inputs.face_choice
    relight = _named(_on_face_shown(_relight), "session", *LIGHT_NAMES, *EDIT_NAMES, "with_composite", "face")
    relight_inputs = [state, *lighting.lamp, *edits, lighting.with_composite, face]
    relight_outputs = [lighting.sh_table, lighting.preset, *tab.lit_previews]
    for control in lighting.lamp:
        control.input(relight, relight_inputs, relight_outputs, trigger_mode="always_last",
                      api_name="relight" if control is lighting.lamp[0] else False)  # fmt: skip
    colour = lighting.lamp[-1]  # a colour typed into the picker's field comes as change or blur, not input (a
    # preset's colour is a change too: _typed_colour lets a light that is the one shown pass; unguarded by the face
    # choice, which a new photo's controls, the colour among them, may reach before the choice's new choices do)
    for event in (colour.change, colour.blur):
        event(_typed_colour, [state, lighting.sh_table, *lighting.lamp, *edits, lighting.with_composite],
              relight_outputs, api_name=False, trigger_mode="always_last")  # fmt: skip
    preset = _named(_on_face_shown(_apply_preset), "session", "preset", *EDIT_NAMES, "with_composite", "face")
    lighting.preset.input(preset, [state, lighting.preset, *edits, lighting.with_composite, face],
                          [*lighting.lamp, lighting.sh_table, *tab.lit_previews], api_name="preset")  # fmt: skip
    lighting.photo_texture.input(
        _named(_on_face_shown(_use_photo_texture), "session", "photo_texture", "sh", *EDIT_NAMES, "with_composite",
               "face"),
        [state, lighting.photo_texture, lighting.sh_table, *edits, lighting.with_composite, face],
        [*tab.previews, tab.panels.model3d], api_name="photo_texture",
    )  # fmt: skip


def _wire_edit_events(tab: PhotoTab) -> None:
    """Expression and pose sliders, the SH table, the 3D view on slider release, and the downloads."""
    state, sh_table, edits, face = tab.state, tab.lighting.sh_table, tab.edits.sliders, tab.inputs.face_choice
    with_composite, pitch = tab.lighting.with_composite, tab.edits.pose[0]
    edit_inputs = [state, sh_table, *edits, with_composite, face]
    edit = _named(_on_face_shown(_edit_face), "session", "sh", *EDIT_NAMES, "with_composite", "face")
    for control in [*edits, with_composite]:
        control.input(edit, edit_inputs, tab.previews, api_name="edit" if control is pitch else False,
                      trigger_mode="always_last")  # fmt: skip
    sh_table.input(_on_face_shown(_edit_table), [state, sh_table, *tab.lighting.lamp, *edits, with_composite, face],
                   [sh_table, *tab.lighting.lamp, tab.lighting.preset, *tab.lit_previews], api_name=False)
    for control in [*tab.lighting.lamp[:4], *edits]:  # the sliders among the lamp controls (not the colour)
        control.release(_named(_refresh_3d, "session", "sh", *EDIT_NAMES), [state, sh_table, *edits],
                        tab.panels.model3d, api_name="refresh_3d" if control is pitch else False)  # fmt: skip
    # Files prepared before an edit are not the edited face's: the edit empties the list, in the browser alone.
    colour = tab.lighting.lamp[-1]
    for event in [*(control.input for control in [*tab.lighting.lamp, tab.lighting.preset, tab.lighting.photo_texture,
                                                  sh_table, *edits, tab.export_animated]),
                  colour.change, tab.edits.reset.click]:  # fmt: skip
        event(None, None, tab.downloads, js=CLEAR, api_name=False)
    export_inputs = [state, sh_table, *edits, tab.export_animated]
    tab.export_button.click(_named(_export, "session", "sh", *EDIT_NAMES, "animated"), export_inputs, tab.downloads,
                            api_name="export")  # fmt: skip


def build_app(reconstructor: Reconstructor) -> gr.Blocks:
    """The whole UI around one shared, read-only ``Reconstructor``."""
    with gr.Blocks(title="InverseFaceNet", analytics_enabled=False, delete_cache=(1800, 3600)) as app:
        gr.Markdown(INTRO)
        with gr.Tab("Photo", id="photo-tab"):
            tab = _photo_tab_layout()
        with gr.Tab("Live (webcam)", id="live-tab"):
            live_tab(reconstructor)
        with gr.Tab("Video file", id="video-tab"):
            video_tab(reconstructor)
        _wire_photo_events(tab, PhotoLoader(reconstructor))
        _wire_lighting_events(tab)
        _wire_edit_events(tab)
        app.load(_usable(len(tab.face_controls)), tab.state, tab.face_controls, api_name=False)  # no face yet
    return app
