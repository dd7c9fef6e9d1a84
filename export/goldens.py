"""Golden data for the page's re-implementations of Python code: inputs and what Python makes of them.

The page (TypeScript) re-implements the rotation matrix, lamp -> SH, vertex normals, the crop rule,
the face mask, the de-lit photo texture and the live tracker's identity hold. ``python -m export.onnx``
writes ``goldens.json`` next to the face model; the Node parity test (``tests/test_web_parity.py``) runs
the page's own functions on the same inputs. Regenerate with
``python -m export.onnx assets/inversefacenet.safetensors --out build/web`` (or call :func:`write_goldens`);
every value comes from a fixed seed and the shipped face model.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from inversefacenet.animate import frame_dict
from inversefacenet.atlas import UVAtlas
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.fitting import desaturated
from inversefacenet.lighting import PRESETS, Light, light_from_sh, matched, matched_sh, sh_from_light
from inversefacenet.mirror import ParameterMirror
from inversefacenet.params import FaceParameters
from inversefacenet.photo_texture import delight, texel_map
from inversefacenet.pipeline import is_grey_face
from inversefacenet.preprocess import (
    EYES,
    FACE_OVAL,
    INNER_LIPS,
    Crop,
    crop_for_landmarks,
    face_mask,
    network_input,
)
from inversefacenet.render.camera import DEFAULT_CAMERA, Camera, rotation_matrix
from inversefacenet.render.raster_numba import vertex_normals
from inversefacenet.render.renderer import render, to_uint8
from inversefacenet.tracking import IdentityHold

PAGE_INPUT_MASKS = ("face", "none", "split")
"""The input rules (``inversefacenet.preprocess.INPUT_MASKS``) the browser page implements
(webassets/src/preprocess.ts): all but "soft", a training experiment that was not shipped."""
FACE_MASK_RULE = {"oval": list(map(int, FACE_OVAL)), "inner_lips": list(map(int, INNER_LIPS)),
                  "eyes": [list(map(int, eye)) for eye in EYES]}  # fmt: skip
"""The mask's polygons as MediaPipe indices (also in facemodel.json, which the page reads)."""
SEED = 2024
MASK_SIZE = 128
PHOTO_TEXTURE_SIZES = (96, 128)
"""The photo-texture golden's crop side and texture side (px): small, so the golden stays a few MB."""


def _lights(rng: np.random.Generator) -> list[Light]:
    """The presets and random lamps (any azimuth and elevation, coloured)."""
    random = [Light(*(float(v) for v in rng.uniform((-180, -90, 0, 0), (180, 90, 2, 1))),
                    tuple(float(c) for c in rng.uniform(0, 1, 3))) for _ in range(6)]  # fmt: skip
    return [*PRESETS.values(), *random]


def _landmarks(model: FaceModel, rng: np.random.Generator, photo_size: float = 900.0) -> np.ndarray:
    """(478, 2) photo pixels: the model's landmark vertices of a random face, turned, projected, placed."""
    shape = rng.normal(size=(1, model.n_shape)).astype(np.float32)
    vertices = model.geometry(shape, np.zeros((1, model.n_expression), np.float32))[0]
    turned = vertices @ rotation_matrix(np.radians(rng.uniform(-25, 25, (1, 3))))[0].T
    points = turned[model.landmarks_mediapipe, :2] * np.array([1.0, -1.0])  # x right, y down
    return points * rng.uniform(1.5, 3.0) + rng.uniform(0.3, 0.7, 2) * photo_size


def _painted_photo(model: FaceModel, rng: np.random.Generator, size: int) -> tuple[FaceParameters, np.ndarray,
                                                                                np.ndarray]:  # fmt: skip
    """A turned face under a side light whose photo has what the photo texture must tell apart: a dark mark on
    the cheek (kept), dark hair over the upper forehead (an occluder: the model albedo there), a highlight on
    the nose (rejected). Returns the parameters, the (size, size, 3) uint8 photo and its (size, size) face mask."""
    params = FaceParameters.neutral(model.layout)
    params.rotation[:] = np.radians([[6.0, -14.0, 2.0]])
    params.shape[:] = rng.normal(size=(1, model.n_shape)) * 0.6
    params.albedo[:] = rng.normal(size=(1, model.n_albedo)) * 0.5
    # a side light that puts a cheek in partial shade (photo_texture.SHADED)
    params.sh[0, 0], params.sh[0, 1], params.sh[0, 3] = [0.85, 0.8, 0.8], 0.15, [0.55, 0.5, 0.45]
    painted = np.clip(model.albedo(params.albedo)[0], 0, 1)
    mean = model.vertices_mean
    painted[np.linalg.norm(mean - mean[model.landmarks_mediapipe[205]], axis=1) < 8.0] *= 0.45  # cheek mark
    painted[mean[:, 1] > 56.0] *= 0.3  # hair
    out = render(model, params, size, albedo=painted[None])
    photo = to_uint8(out.image[0] + (~out.raster.mask[0])[..., None] * 0.45)
    nose = out.pixels[0, model.landmarks_mediapipe[1]]
    rows, cols = np.mgrid[:size, :size]
    shine = np.hypot(cols + 0.5 - nose[0], rows + 0.5 - nose[1]) < 3.0
    photo[shine] = np.minimum(photo[shine].astype(int) + 70, 255)
    return params, photo, face_mask(out.pixels[0, model.landmarks_mediapipe], size)


def mirror_arrays(mirror: ParameterMirror) -> dict[str, np.ndarray]:
    """The parameter mirror's maps as facemodel.bin arrays (the SH signs go into facemodel.json)."""
    return {"mirror_shape_map": mirror.shape_map.astype(np.float32),
            "mirror_shape_offset": mirror.shape_offset.astype(np.float32),
            "mirror_albedo_map": mirror.albedo_map.astype(np.float32),
            "mirror_albedo_offset": mirror.albedo_offset.astype(np.float32),
            "mirror_expression_order": mirror.expression_order.astype(np.uint32)}  # fmt: skip


def _flat(array: np.ndarray) -> list:
    return np.asarray(array).ravel().tolist()


def photo_texture_golden(model: FaceModel, rng: np.random.Generator,
                         sizes: tuple[int, int] = PHOTO_TEXTURE_SIZES) -> dict[str, object]:  # fmt: skip
    """Inputs and outputs of :func:`inversefacenet.photo_texture.delight` on a painted render, with the face
    model arrays the page's texel map is built from. ``delight`` renders with the default camera.
    sizes: crop side and texture side (px)."""
    crop_size, size = sizes
    params, photo, mask = _painted_photo(model, rng, crop_size)
    texture = delight(model, params, photo, mask, size)
    texels = texel_map(model, size)
    atlas = UVAtlas.for_model(model)
    pixel = texels.rows * size + texels.cols
    zones = {name: _flat(getattr(texels, name).astype(int)) for name in ("skin", "cheeks", "bridge", "outer")}
    return {
        "camera": {"distance_mm": DEFAULT_CAMERA.distance_mm, "crop_scale": DEFAULT_CAMERA.crop_scale},
        "model": {"mean": _flat(model.vertices_mean), "triangles": _flat(model.triangles),
                  "landmarks": _flat(model.landmarks_mediapipe),
                  "atlas": {"vertex": _flat(atlas.vertex), "weight": _flat(atlas.weight), "uv": _flat(atlas.uv),
                            "triangles": _flat(atlas.triangles), "island": _flat(atlas.island)}},
        "face": {"vertices": _flat(model.geometry(params.shape, params.expression)[0]),
                 "albedo": _flat(np.clip(model.albedo(params.albedo)[0], 0, 1)),
                 "rotation": _flat(rotation_matrix(params.rotation)[0]), "sh": params.sh[0].tolist()},
        "crop": {"rgb": _flat(photo), "mask": _flat(mask.astype(int)), "size": crop_size},
        "size": size,
        "texels": {"pixel": _flat(pixel), "mirror": _flat(np.where(texels.mirror >= 0, pixel[texels.mirror], -1)),
                   **zones},
        "texture": _flat(texture.texture_uint8()),
        "vertex_albedo": _flat(texture.vertex_albedo),
        "seen": _flat(texture.seen),
    }  # fmt: skip


KEPT_TIMELINE = [(0.0, 1.0), (0.033, 1.0), (0.067, 1.0), (0.1, 1.0), (0.4, None), (0.7, None), (1.0, 1.0),
                 (1.033, 1.0), (1.5, None), (2.5, None), (2.933, 1.0), (2.966, 1.0), (3.5, None), (4.5, None),
                 (5.033, 1.0), (5.066, 1.0), (5.2, None), (5.4, 0.5)]  # fmt: skip
"""Live frames (s, the face's size, None: no face) for the page's tracker: the face unseen for 0.9 s, 1.9 s, 2.07 s,
then 0.33 s before a face at half the size. Each run of face frames has an even length: the page holds its landmarks
on every 2nd tracked frame, so a face gone on such a frame is read once more, where it was."""


def identity_golden(model: FaceModel, rng: np.random.Generator, frames: int = 4, count: int = 11) -> dict[str, object]:
    """A track's readings and filtered parameters (stand-ins: any vectors) through :class:`IdentityHold`; and the
    frames of :data:`KEPT_TIMELINE`, which read the readings in turn where a face is in view."""
    layout = model.layout
    readings = rng.normal(size=(count, layout.size)).astype(np.float32)
    filtered = (readings + rng.normal(scale=0.1, size=readings.shape)).astype(np.float32)
    hold = IdentityHold(frames)
    held = [hold(FaceParameters.unpack(layout, r[None]), FaceParameters.unpack(layout, f[None])).pack()[0]
            for r, f in zip(readings, filtered, strict=True)]  # fmt: skip
    return {"frames": frames, "ranges": [[layout.slices[n].start, layout.slices[n].stop] for n in ("shape", "albedo")],
            "readings": readings.tolist(), "filtered": filtered.tolist(), "held": np.array(held).tolist(),
            "timeline": KEPT_TIMELINE}


def grey_golden(rng: np.random.Generator, height: int = 24, width: int = 32) -> dict[str, object]:
    """A grey photo and two tinted copies (one within the grey test's level, one beyond it) with landmarks that also
    fall outside the photo (clipped), ``is_grey_face`` of each; and random colours with ``desaturated``."""
    grey = np.repeat(rng.integers(0, 250, (height, width, 1), dtype=np.uint8), 3, axis=2)
    points = rng.uniform([-3, -3], [width + 3, height + 3], (478, 2)).astype(np.float32)
    photos = [grey + np.array([0, 0, 0], np.uint8), grey + np.array([1, 0, 0], np.uint8),
              grey + np.array([3, 0, 0], np.uint8)]  # fmt: skip
    colours = rng.uniform(0, 1, (20, 3)).astype(np.float32)
    return {"size": [height, width], "points": points.ravel().tolist(), "photos": [_flat(p) for p in photos],
            "grey": [is_grey_face(p, points) for p in photos],
            "colours": colours.ravel().tolist(), "desaturated": desaturated(colours).ravel().tolist()}


def network_input_golden(mask: np.ndarray, rng: np.random.Generator) -> dict[str, object]:
    """A random crop and a face mask -> the network's (channels, size, size) input under each input rule the page
    implements."""
    rgb = rng.integers(0, 256, (*mask.shape, 3), dtype=np.uint8)
    inputs = {rule: network_input(rgb, mask, rule).transpose(2, 0, 1).ravel().tolist() for rule in PAGE_INPUT_MASKS}
    return {"rgb": _flat(rgb), "mask": _flat(mask.astype(int)), "size": mask.shape[0], "inputs": inputs}


def params_json_golden(model: FaceModel, rng: np.random.Generator) -> dict[str, object]:
    """Packed parameter vectors of a few faces (float32: angles in whole hundredths of a degree, as the pose sliders
    set them, noisy values elsewhere) and params.json's groups Python writes for each (:func:`frame_dict`)."""
    faces = FaceParameters.unpack(model.layout, rng.normal(0, 0.5, (4, model.layout.size)).astype(np.float32))
    faces.rotation = np.radians(np.round(rng.uniform(-60, 60, (4, 3)), 2)).astype(np.float32)
    faces.expression = np.clip(faces.expression, 0, 1)  # the page clips what the network says, as Python does
    return {"layout": {name: [s.start, s.stop] for name, s in model.layout.slices.items()},
            "expression_names": list(model.expression_names), "vectors": faces.pack().tolist(),
            "json": [frame_dict(model, faces, k) for k in range(faces.batch_size)]}  # fmt: skip


def mirror_golden(model: FaceModel, rng: np.random.Generator, size: int = 5) -> dict[str, object]:
    """Outputs (parameters and a crop alignment) and their mirror images' (ParameterMirror), with its maps as the page
    reads them from facemodel.bin; and a (4, size, size) input with its flipped copy (a reading both ways' batch)."""
    mirror = ParameterMirror.of(model)
    faces = FaceParameters.neutral(model.layout, 3).pack() + rng.normal(size=(3, model.layout.size))
    vectors = np.concatenate([faces, rng.uniform(-0.1, 0.1, (3, 3))], axis=1).astype(np.float32)
    image = rng.uniform(-0.5, 0.5, (1, size, size, 4)).astype(np.float32)
    return {"maps": {name: _flat(array) for name, array in mirror_arrays(mirror).items()},
            "sh_sign": mirror.sh_sign.tolist(),
            "layout": {name: [part.start, part.stop] for name, part in model.layout.slices.items()},
            "vectors": vectors.tolist(), "mirrored": mirror(vectors.astype(np.float64)).tolist(), "size": size,
            "input": _flat(image.transpose(0, 3, 1, 2)),
            "with_flipped": _flat(np.concatenate([image, image[:, :, ::-1]]).transpose(0, 3, 1, 2))}  # fmt: skip


def light_from_sh_golden(rng: np.random.Generator) -> dict[str, object]:
    """SH like a fit's (a lamp's plus noise in every coefficient, some with a negative ambient; then no light,
    channels whose lamps cancel, and a lamp under a negative ambient that leaves no light anywhere), the lamp Python
    reads from each (:func:`light_from_sh`, where the page's lamp sliders start) and lamps matched to each one's
    exposure (:func:`matched`) and also its white balance (:func:`matched_sh`, the presets' rule)."""
    lamps = _lights(rng)
    cancelling = np.zeros((9, 3))
    cancelling[0], cancelling[3] = 0.8, [0.3, -0.3, 0.0]  # red's lamp from the right, green's from the left
    darkening = sh_from_light(Light(azimuth_deg=0, elevation_deg=0, intensity=1.0, ambient=-2.0))  # no lamp adds light
    sh = [sh_from_light(lamp) + rng.normal(0, 0.15, (9, 3)) for lamp in lamps] + [np.zeros((9, 3)), cancelling,
                                                                                  darkening]  # fmt: skip
    lamps += [Light(azimuth_deg=80, elevation_deg=10)] * 3  # matched to no light, the cancelling and the darkening
    return {"sh": [s.tolist() for s in sh], "lights": [asdict(light_from_sh(s)) for s in sh],
            "lamps": [asdict(lamp) for lamp in lamps],  # each matched to the exposure of the SH of the same index
            "matched": [asdict(matched(lamp, s)) for lamp, s in zip(lamps, sh, strict=True)],
            "matched_sh": [matched_sh(lamp, s).tolist() for lamp, s in zip(lamps, sh, strict=True)]}  # fmt: skip


def goldens(model: FaceModel, camera: Camera) -> dict[str, object]:
    rng = np.random.default_rng(SEED)
    angles_deg = rng.uniform(-90, 90, (8, 3))
    lights = _lights(rng)
    shape = rng.normal(size=(1, model.n_shape)).astype(np.float32)
    vertices = model.geometry(shape, np.zeros((1, model.n_expression), np.float32))[0]
    landmarks = _landmarks(model, rng)
    crop = crop_for_landmarks(landmarks, MASK_SIZE, camera)
    in_crop = crop.to_crop(landmarks)
    shifts = rng.uniform(-0.1, 0.1, (6, 3))  # crop alignments (dx, dy, log scale) a network may output
    targets = [Crop(crop.scale * float(np.exp(u)), (crop.offset[0] + dx, crop.offset[1] + dy), crop.size)
               for u, dx, dy in rng.uniform([-0.1, -8, -8], [0.1, 8, 8], (6, 3))]  # crops to align to  # fmt: skip
    return {
        "rotation": {"angles_deg": angles_deg.tolist(),
                     "matrices": rotation_matrix(np.radians(angles_deg)).reshape(-1, 9).tolist()},
        "lamp_sh": {"lights": [asdict(light) for light in lights],
                    "sh": [sh_from_light(light).tolist() for light in lights]},
        "normals": {"vertices": vertices.ravel().tolist(), "triangles": model.triangles.ravel().tolist(),
                    "normals": vertex_normals(vertices[None], model.triangles)[0].ravel().tolist()},
        "crop": {"landmarks": landmarks.ravel().tolist(), "size": MASK_SIZE, "crop_scale": camera.crop_scale,
                 "scale": crop.scale, "offset": list(crop.offset)},
        "aligned": {"shifts": shifts.tolist(), "crops": [[c.scale, *c.offset] for c in map(crop.aligned, shifts)]},
        "alignment_to": {"targets": [[c.scale, *c.offset] for c in targets],
                         "alignments": [crop.alignment_to(c).tolist() for c in targets]},
        "mask": {"landmarks": in_crop.ravel().tolist(), "size": MASK_SIZE, "rule": FACE_MASK_RULE,
                 "mask": face_mask(in_crop, MASK_SIZE).astype(int).ravel().tolist()},
        "photo_texture": photo_texture_golden(model, rng),
        "identity": identity_golden(model, rng),
        "grey": grey_golden(rng),
        "network_input": network_input_golden(face_mask(in_crop, MASK_SIZE), rng),  # last: it draws after the others
        "light_from_sh": light_from_sh_golden(np.random.default_rng(SEED + 1)),
        "params_json": params_json_golden(model, np.random.default_rng(SEED + 2)),
        "mirror": mirror_golden(model, np.random.default_rng(SEED + 3)),
    }  # fmt: skip


def write_goldens(model: FaceModel, camera: Camera, out: Path) -> Path:
    path = out / "goldens.json"
    path.write_text(json.dumps(goldens(model, camera)))
    return path
