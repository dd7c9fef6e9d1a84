"""One user's reconstruction and edits, independent of the UI toolkit.

The app keeps one ``Session`` per browser session (Gradio state), so users never share
faces or edits. Edits are applied to the recovered parameters, never accumulated, so
"reset" is exact.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from demo.person import person_mask
from demo.serving import session_folder
from demo.views import PREVIEW_SIZE, FaceViews, composite, grey_change
from inversefacenet.files import replacing, write_whole
from inversefacenet.images import frame_count, load_image
from inversefacenet.lighting import Light
from inversefacenet.params import EXPRESSION_CONTROLS, FaceParameters
from inversefacenet.pipeline import FaceResult, Reconstructor, draw_overlay
from inversefacenet.preprocess import Crop, crop_image

DISPLAY_PIXELS = 1024
"""Longest side of the photo as the app shows it (overlay, composite)."""
BROWSER_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP"}
"""Formats (Pillow's names) of the photos ``load_image`` reads that browsers draw; the others (TIFF) the photo box
showed as a broken-image icon."""
EXPORT_FORMATS = ("obj", "ply", "glb", "photo")
"""What a download holds by default ("photo": the photo with the face relit, at the file's resolution, where the
panel shows it at DISPLAY_PIXELS); ``"animated"`` (the 9 MB animatable GLB) joins it only on request."""
PHOTO_QUALITY = 95
"""JPEG quality of the relit photo in the downloads."""
FEATHER_PX = 2.0
"""Width (display px) of the pasted render's soft edge in the composite."""


@dataclass
class Edit:
    """What the user changed: light (9x3 SH), named expression weights, pose in degrees."""

    sh: np.ndarray
    expression: dict[str, float]
    rotation_deg: tuple[float, float, float]  # pitch, yaw, roll


@dataclass(frozen=True)
class KeptEdit:
    """A face's edit as last previewed, with the lamp sliders' values and rest that made its light."""

    edit: Edit
    lamp: Light
    light_rest: np.ndarray  # (9, 3)


@dataclass
class Preview:
    relit: np.ndarray
    geometry: np.ndarray
    albedo: np.ndarray
    composite: np.ndarray | None
    ms: float


def _one_at_a_time(method: Callable[..., Any]) -> Callable[..., Any]:
    """A :class:`Session` method that changes or reads the selected face throughout, run one at a time per session:
    the app serves two requests at once, and a face chosen during an export mixed two faces in its files (a review)."""

    @functools.wraps(method)
    def locked(self: Session, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return locked


@dataclass
class Session:
    """A photo's faces, the selected one, and the views of the selected one."""

    photo: np.ndarray  # (H, W, 3) uint8 as decoded (EXIF-rotated)
    faces: list[FaceResult]
    index: int = 0
    name: str = "photo"  # the downloads' names start with it (:func:`file_stem` of the photo's file)
    frames: int = 1  # the photo file's frames (an animated GIF): the first is reconstructed
    views: FaceViews = field(init=False, repr=False)
    _geometry_key: np.ndarray | None = field(default=None, init=False, repr=False)
    _geometry_views: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)
    photo_texture: bool = field(default=False, init=False)  # show and export the person's de-lit skin
    _textured: dict[int, FaceResult] = field(default_factory=dict, init=False, repr=False)  # per face, made once
    _kept: dict[int, KeptEdit] = field(default_factory=dict, init=False, repr=False)
    """Each face's edit as last previewed: a face chosen again shows it (the app's Reset forgets it; a trial lost its
    edits of one face of a group photo on looking at another), its lamp sliders as they were left (a trial typed an
    azimuth of -60 and read -61.89 on coming back: the light's own best lamp is not the lamp typed, a coloured one
    least of all)."""
    lamp: Light = field(default_factory=Light, init=False, repr=False)  # the lamp sliders' values, as shown
    light_rest: np.ndarray = field(default_factory=lambda: np.zeros((9, 3), np.float32), init=False, repr=False)
    """(9, 3) SH the lamp sliders add to their lamp: what their lamp leaves unexplained of the light they started
    from (the recovered light or a preset), so that a slider moved a little moves the light a little."""
    folder: Path = field(init=False, repr=False)  # this session's files (3D view, downloads), removed by close()
    display: np.ndarray = field(init=False, repr=False)  # the photo at display size, shrunk once
    shown_copy: Path = field(init=False, repr=False)  # the display as a PNG, for a browser that cannot draw the file
    _person: np.ndarray | None = field(default=None, init=False, repr=False)  # the display's person mask, made once
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.folder = session_folder("session")
        self.display = _shrink(self.photo)
        self.shown_copy = self.folder / f"photo-{secrets.token_hex(8)}.png"  # a name no upload has
        self.select(self.index)

    def close(self) -> None:
        """Delete the session's files (the app calls this when the session expires or gets a new photo)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    @classmethod
    def reconstruct(cls, reconstructor: Reconstructor, source: object) -> Session:
        """Decode and reconstruct a photo (raises InputError / NoFaceError with a user-facing message)."""
        photo = load_image(source)
        faces = reconstructor.reconstruct_image(photo)
        if isinstance(source, str | Path):
            return cls(photo, faces, name=file_stem(str(source)), frames=frame_count(Path(source)))
        return cls(photo, faces)

    def photo_for_browser(self) -> Path:
        """The photo at display size as a PNG, written once: what the photo box shows of a file browsers cannot draw
        (:func:`browser_draws`). Its name is the session's own, so the box's change that brings it back is known
        (:meth:`is_shown_copy`)."""
        if not self.shown_copy.is_file():
            with replacing(self.shown_copy) as temporary:
                Image.fromarray(self.display).save(temporary, compress_level=1)
        return self.shown_copy

    def is_shown_copy(self, path: str | Path) -> bool:
        """Whether an upload is :meth:`photo_for_browser`'s file, back from the browser (Gradio keeps its name)."""
        return Path(path).name == self.shown_copy.name

    @_one_at_a_time
    def select(self, index: int) -> None:
        if not 0 <= index < len(self.faces):
            raise IndexError(f"there are {len(self.faces)} faces; no face {index + 1}")
        self.index = index
        self.views = FaceViews(self.face.model, self.face.params, PREVIEW_SIZE)
        self._geometry_key, self._geometry_views = None, None

    @property
    def face(self) -> FaceResult:
        return self.faces[self.index]

    @property
    def shown(self) -> FaceResult:
        """The selected face as the previews and downloads show it: wearing its photo texture when switched on."""
        if not self.photo_texture:
            return self.face
        if self.index not in self._textured:
            self._textured[self.index] = self.face.with_photo_texture(self.photo)
        return self._textured[self.index]

    def use_photo_texture(self, on: bool) -> None:
        self.photo_texture = on
        self._geometry_key = None  # the albedo view changes

    def _skin(self) -> np.ndarray | None:
        """(1, V, 3) albedo for the previews: the photo texture's, the model's desaturated for a face that is grey
        in its photo, or None for the model's own."""
        shown = self.shown
        return shown.albedo[None] if shown.skin is not None or shown.grey else None

    @property
    def edit(self) -> Edit:
        """The selected face's edit as last previewed, or its recovered values."""
        kept = self._kept.get(self.index)
        return self.recovered_edit if kept is None else kept.edit

    @property
    def kept_lamp(self) -> tuple[Light, np.ndarray] | None:
        """The selected face's ``lamp`` and ``light_rest`` as its edit was last previewed (None before an edit)."""
        kept = self._kept.get(self.index)
        return None if kept is None else (kept.lamp, kept.light_rest)

    def forget_edit(self) -> None:
        """Back to the selected face's recovered values (the app's Reset)."""
        self._kept.pop(self.index, None)

    @property
    def recovered_edit(self) -> Edit:
        params = self.face.params
        names = self.face.model.expression_names
        expression = {name: float(params.expression[0, names.index(name)]) for name in EXPRESSION_CONTROLS}
        pitch, yaw, roll = np.degrees(params.rotation[0]).tolist()
        return Edit(params.sh[0].copy(), expression, (pitch, yaw, roll))

    def parameters(self, edit: Edit) -> FaceParameters:
        """The recovered parameters with the edit applied."""
        params = self.face.params
        names = self.face.model.expression_names
        expression = params.expression.copy()
        for name, value in edit.expression.items():
            expression[0, names.index(name)] = value
        rotation = np.radians(np.asarray(edit.rotation_deg, np.float32))[None]
        sh = np.asarray(edit.sh, np.float32).reshape(1, 9, 3)
        return replace(params, rotation=rotation.astype(np.float32), expression=expression, sh=sh)

    def overlay(self) -> np.ndarray:
        """The photo with every face's fitted contour and landmarks, the shown face's box marked when there are
        several (a trial could not tell which face the previews showed), shrunk for display."""
        return _shrink(draw_overlay(self.photo, self.faces, self.index if len(self.faces) > 1 else None))

    def thumbnails(self, size: int = 96) -> list[tuple[np.ndarray, str]]:
        """Each face's crop from the photo (size x size) with its label, in the selector's order."""
        return [(cv2.resize(crop_image(self.photo, face.crop), (size, size), interpolation=cv2.INTER_AREA),
                 f"Face {k}") for k, face in enumerate(self.faces, start=1)]  # fmt: skip

    @_one_at_a_time
    def preview(self, edit: Edit, with_composite: bool = False) -> Preview:
        """Render the edited face (kept as its :attr:`edit`). A light-only edit reuses the cached geometry and albedo
        views."""
        start = time.perf_counter()
        self._kept[self.index] = KeptEdit(edit, self.lamp, self.light_rest)
        params = self.parameters(edit)
        skin = self._skin()
        relit, mask = self.views.relit(params, skin)
        key = np.concatenate([params.rotation[0], params.expression[0]])
        # sliders round what they show (0.001, 0.01°): treat that as the same shape
        if self._geometry_key is None or not np.allclose(key, self._geometry_key, rtol=0, atol=2e-3):
            self._geometry_views = self.views.geometry(params), self.views.albedo(params, skin)
            self._geometry_key = key
        pasted = self._composite(params, skin, (relit, mask)) if with_composite else None
        ms = (time.perf_counter() - start) * 1000
        return Preview(relit, *self._geometry_views, pasted, ms)

    def _composite(self, params: FaceParameters, skin: np.ndarray | None,
                   drawn: tuple[np.ndarray, np.ndarray] | None = None, full: bool = False) -> np.ndarray:  # fmt: skip
        """:meth:`_pasted` into the photo at display size, or ``full`` size; a face that is grey in its photo changes
        only in brightness there (a black-and-white photo stays black and white under a sunset or with the model's
        red mouth pasted in, a trial)."""
        photo = self.photo if full else self.display
        pasted = self._pasted(params, skin, drawn, photo)
        return grey_change(photo, pasted) if self.face.grey else pasted

    def _pasted(self, params: FaceParameters, skin: np.ndarray | None, drawn: tuple[np.ndarray, np.ndarray] | None,
                photo: np.ndarray) -> np.ndarray:  # fmt: skip
        """The edited face in ``photo`` (the display or the photo itself), always at its recovered pose (a turned face
        would leave the original behind it). With the photo texture: the photo's own face relit (its pixels times the
        change of shading), and where an edited expression moves the face, the render (in the person's de-lit skin)
        pasted over it; else the render pasted in. ``drawn``: the preview's (image, mask) of ``params``, used where
        the pose is the recovered one; else the face is drawn here."""
        recovered = self.face.params
        factor = photo.shape[1] / self.photo.shape[1]
        crop = self.views.in_photo(Crop(self.face.crop.scale / factor, self.face.crop.offset, self.face.crop.size))
        here = replace(params, rotation=recovered.rotation)
        if drawn is None or not np.allclose(params.rotation, recovered.rotation, rtol=0, atol=1e-4):
            drawn = self.views.relit(here, skin)
        relit, mask = drawn
        feather_px = FEATHER_PX * photo.shape[1] / self.display.shape[1]  # as wide on the face at any size
        if not self.photo_texture:
            return composite(photo, relit, mask, crop, feather_px)
        if self._person is None:  # two requests of one session may both make it: the same mask
            self._person = person_mask(self.display)
        own = self.views.own_skin(photo, here, crop, self._person, (relit, mask))
        if np.allclose(params.expression, recovered.expression, rtol=0, atol=2e-3):
            return own
        return composite(own, relit, mask * self.views.moved(here), crop, feather_px)

    @_one_at_a_time
    def export(
        self, edit: Edit, folder: str | Path | None = None, formats: tuple[str, ...] = EXPORT_FORMATS
    ) -> list[Path]:
        """Write the edited face as <photo>_face<k>_obj.zip (OBJ + MTL + albedo PNG), <photo>_face<k>.ply,
        <photo>_face<k>.glb and <photo>_face<k>_params.json (e.g. astronaut_face1.glb: the faces of a group photo do
        not all download as face.glb), <photo>_face<k>_relit_photo.jpg (the photo with this face relit and edited, as
        the composite panel shows it, at the photo's own resolution), and with "animated" in ``formats``
        <photo>_face<k>_animated.glb (the 52 ARKit blendshapes as morph targets, the edited weights as defaults; about
        9 MB, so only on request).

        By default into the session's own folder, overwriting the previous export.
        """
        folder = Path(folder) if folder is not None else self.folder / "export"
        folder.mkdir(parents=True, exist_ok=True)
        shown = self.shown
        edited = replace(shown, params=self.parameters(edit))
        written, stem = [], f"{self.name}_face{self.index + 1}"
        for suffix in formats:
            if suffix == "animated":
                written.append(edited.export_animated(folder / f"{stem}_animated.glb"))
            elif suffix == "photo":
                photo = Image.fromarray(self._composite(edited.params, self._skin(), full=True))
                written.append(folder / f"{stem}_relit_photo.jpg")
                with replacing(written[-1]) as temporary:
                    photo.save(temporary, quality=PHOTO_QUALITY)
            elif suffix == "obj":  # in the archive as face.obj, face.mtl and face_albedo.png, as the CLI writes them
                archive = folder / f"{stem}_obj.zip"
                with replacing(archive) as temporary, zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as bundle:
                    for file in edited.export(folder / "face.obj"):
                        bundle.write(file, file.name)
                written.append(archive)
            else:
                written.extend(edited.export(folder / f"{stem}.{suffix}"))
        params_path = folder / f"{stem}_params.json"
        write_whole(params_path, json.dumps(edited.parameters_dict(), indent=1))
        shown._texture = edited._texture  # the albedo is not editable: keep the baked texture
        return [*written, params_path]


def browser_draws(path: str | Path) -> bool:
    """Whether browsers draw the image file at ``path`` (by its format, not its name); a file that is no image says
    yes: it gets its own message."""
    try:
        with Image.open(path) as image:
            return image.format in BROWSER_FORMATS
    except (OSError, UnidentifiedImageError):
        return True


def file_stem(path: str) -> str:
    """A file's name without its extension, in letters, digits, "-" and "_" (others become "_"), at most 40 of them:
    the start of the downloads' names (the page's rule, ``stem`` in webassets/src/main.ts)."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", re.sub(r"\.[^.]*$", "", Path(path).name))[:40]
    return stem or "photo"


def _shrink(image: np.ndarray) -> np.ndarray:
    longest = max(image.shape[:2])
    if longest <= DISPLAY_PIXELS:
        return image
    factor = DISPLAY_PIXELS / longest
    size = (round(image.shape[1] * factor), round(image.shape[0] * factor))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
