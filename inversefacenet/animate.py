"""Animatable GLB: the 52 ARKit blendshapes as morph targets, recorded sessions as glTF animations.

    python -m inversefacenet.animate SESSION.json --out face_anim.glb [--json frames.json]

The mesh is the static GLB's (:func:`inversefacenet.export.export_face`): the same atlas vertices,
uvs and texture, in metres, with the head pose as its node's rotation. Its base is the face's
identity at the neutral expression; morph target i is blendshape i at weight 1 minus the base, in
positions (metres, head frame, like the base) and unit normals. The model is linear in the
expression, so base + sum_i w_i * delta_i is the model's own geometry for any weights; the normal
deltas are exact for one target at a time (viewers renormalise mixes). Target names (ARKit) are in
``mesh.extras.targetNames``, where three.js and Blender read them; the mesh's default ``weights``
are the face's expression. Targets are sparse accessors: a blendshape moves about a quarter of the
vertices, and the others are stored as exact zeros.

A session, N parameter sets with their times (s), adds the animation "session": linear samplers
for the morph weights and for the node's rotation (the head pose). Its frames as JSON
(:func:`session_dict`) are params.json's groups per frame, with ``time_s``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from scipy.spatial.transform import Rotation
from trimesh.iteration import IndexedDict

from inversefacenet.atlas import UVAtlas
from inversefacenet.export import bake_face_texture, face_normals, glb_bytes
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.files import write_whole
from inversefacenet.params import N_SH_BANDS, FaceParameters
from inversefacenet.render.camera import rotation_matrix

__all__ = ["animated_glb", "morph_targets", "read_session", "session_dict"]

FLOAT, UNSIGNED_INT = 5126, 5125  # glTF component types
ANIMATION_NAME = "session"


def morph_targets(model: FaceModel, shape: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The neutral face of identity ``shape`` (1, Ns) and its blendshape deltas, at the atlas vertices.

    Returns base positions (W, 3) mm and unit normals (W, 3), position deltas (Ne, W, 3) mm and
    normal deltas (Ne, W, 3): target i is the face with expression weight i = 1, the others 0.
    """
    one_hot = np.eye(model.n_expression + 1, model.n_expression, k=-1, dtype=np.float32)  # row 0: neutral
    geometry = model.geometry(np.repeat(shape, len(one_hot), axis=0), one_hot)  # (1 + Ne, V, 3) mm
    positions = UVAtlas.for_model(model).split(geometry.transpose(1, 0, 2)).transpose(1, 0, 2)
    normals = face_normals(model, geometry)
    return positions[0], normals[0], positions[1:] - positions[:1], normals[1:] - normals[:1]


def animated_glb(
    model: FaceModel, frames: FaceParameters, times: np.ndarray | None = None, texture: np.ndarray | None = None
) -> bytes:
    """GLB bytes of a textured face with its blendshapes as morph targets; with ``times``, animated.

    frames: N parameter sets (numpy; N = 1 without times); times: (N,) s, increasing.
    The identity (shape, albedo) is the frames' mean; default weights and node rotation are frame 0's.
    texture: the albedo as baked by :func:`inversefacenet.export.bake_face_texture` (baked here when omitted).
    """
    _check_frames(frames, times)
    shape, albedo = frames.shape.mean(0, keepdims=True), frames.albedo.mean(0, keepdims=True)
    base, normals, position_deltas, normal_deltas = morph_targets(model, shape)
    rotations = rotation_matrix(frames.rotation.astype(np.float64))

    def extend(buffers: IndexedDict, tree: dict) -> None:
        (primitive,) = tree["meshes"][0]["primitives"]
        primitive["targets"] = [
            {"POSITION": _sparse(buffers, tree, ("POSITION", i), delta * 1e-3),
             "NORMAL": _sparse(buffers, tree, ("NORMAL", i), normal)}
            for i, (delta, normal) in enumerate(zip(position_deltas, normal_deltas, strict=True))
        ]  # fmt: skip
        tree["meshes"][0]["weights"] = frames.expression[0].astype(float).tolist()
        tree["meshes"][0].setdefault("extras", {})["targetNames"] = list(model.expression_names)
        if times is not None:
            tree["animations"] = [_animation(buffers, tree, times, frames.expression, rotations)]

    if texture is None:
        texture = bake_face_texture(model, np.clip(model.albedo(albedo)[0], 0, 1))
    atlas = UVAtlas.for_model(model)
    return glb_bytes(base, atlas.triangles, atlas.uv, Image.fromarray(texture), rotations[0], normals, extend)


def _check_frames(frames: FaceParameters, times: np.ndarray | None) -> None:
    n = frames.batch_size
    if times is None:
        if n != 1:
            raise ValueError(f"expected one parameter set without times, got {n}")
        return
    if np.shape(times) != (n,):
        raise ValueError(f"expected {n} times in s, one per frame, got shape {np.shape(times)}")
    if not np.all(np.diff(times) > 0):  # NaN fails too
        raise ValueError("the frames' times must increase from each frame to the next")


def _view(buffers: IndexedDict, key: tuple, data: np.ndarray) -> int:
    """Store 4-byte data (float32 / uint32, so glTF's alignment holds) as its own buffer view."""
    buffers[key] = np.ascontiguousarray(data).tobytes()
    return buffers.index(key)


def _accessor(tree: dict, key: tuple, data: np.ndarray, accessor: dict) -> int:
    """Add an accessor of (count, k) ``data`` (min and max included: glTF requires them on positions and times)."""
    tree["accessors"][key] = {
        "componentType": FLOAT, "type": "SCALAR" if data.shape[1] == 1 else f"VEC{data.shape[1]}", "count": len(data),
        "min": data.min(0).tolist(), "max": data.max(0).tolist(), **accessor,
    }  # fmt: skip
    return tree["accessors"].index(key)


def _dense(buffers: IndexedDict, tree: dict, key: tuple, data: np.ndarray) -> int:
    data = data.astype(np.float32).reshape(len(data), -1)
    return _accessor(tree, key, data, {"bufferView": _view(buffers, key, data)})


def _sparse(buffers: IndexedDict, tree: dict, key: tuple, data: np.ndarray) -> int:
    """A (count, 3) accessor that stores only its non-zero rows (all zeros: no data at all, as glTF allows)."""
    data = data.astype(np.float32)
    rows = np.flatnonzero(np.any(data != 0, axis=1)).astype(np.uint32)
    if len(rows) == 0:
        return _accessor(tree, key, data, {})
    indices = {"bufferView": _view(buffers, (*key, "rows"), rows), "componentType": UNSIGNED_INT}
    values = {"bufferView": _view(buffers, (*key, "values"), data[rows])}
    sparse = {"count": len(rows), "indices": indices, "values": values}
    return _accessor(tree, key, data, {"sparse": sparse})


def _animation(buffers: IndexedDict, tree: dict, times: np.ndarray, weights: np.ndarray, rotations: np.ndarray) -> dict:
    """Linear samplers of the morph weights (N, Ne) and node rotations (N, 3, 3) at ``times`` (N,) s."""
    quaternions = Rotation.from_matrix(rotations).as_quat()  # x, y, z, w as glTF
    # q and -q are one rotation: keep neighbours in one hemisphere, so interpolation takes the short way.
    signs = np.cumprod(np.where(np.sum(quaternions[1:] * quaternions[:-1], axis=1) < 0, -1.0, 1.0))
    quaternions[1:] *= signs[:, None]
    time = _dense(buffers, tree, ("animation", "time"), times)
    outputs = {"weights": weights.reshape(-1), "rotation": quaternions}  # weights: frame-major, as glTF
    return {
        "name": ANIMATION_NAME,
        "samplers": [{"input": time, "output": _dense(buffers, tree, ("animation", path), data),
                      "interpolation": "LINEAR"} for path, data in outputs.items()],
        "channels": [{"sampler": i, "target": {"node": 0, "path": path}} for i, path in enumerate(outputs)],
    }  # fmt: skip


def frame_dict(model: FaceModel, frames: FaceParameters, k: int) -> dict[str, Any]:
    """Frame k's groups as params.json names them (rotation in degrees to 1e-4, expression by ARKit name), each
    other number the shortest decimal that reads back to its float32 (0.88, not 0.8799999952316284)."""
    pitch, yaw, roll = (round(float(angle), 4) for angle in np.degrees(frames.rotation[k].astype(np.float64)))
    return {
        "rotation_deg": {"pitch": pitch, "yaw": yaw, "roll": roll},
        "shape": _decimals(frames.shape[k]),
        "expression": dict(zip(model.expression_names, _decimals(frames.expression[k]), strict=True)),
        "albedo": _decimals(frames.albedo[k]),
        "sh": _decimals(frames.sh[k]),
    }


def _decimals(values: np.ndarray) -> Any:
    """float32 values as the shortest decimals that read back to them, nested as ``values`` (lists of floats)."""
    return np.asarray(values, np.float32).astype(str).astype(np.float64).tolist()  # str: numpy's shortest digits


def session_dict(model: FaceModel, frames: FaceParameters, times: np.ndarray) -> dict[str, Any]:
    """JSON-ready per-frame parameters of a session: N frames (numpy) at ``times`` (N,) s."""
    _check_frames(frames, times)
    return {
        "face_model_sha256": model.sha256,
        "frames": [{"time_s": float(t), **frame_dict(model, frames, k)} for k, t in enumerate(times)],
    }


def _frame_parameters(model: FaceModel, frame: dict[str, Any]) -> FaceParameters:
    unknown = set(frame["expression"]) - set(model.expression_names)
    if unknown:
        raise ValueError(f"unknown blendshape names {sorted(unknown)}; expected names of model.expression_names")
    angles = frame["rotation_deg"]
    groups = {
        "rotation": [angles["pitch"], angles["yaw"], angles["roll"]],
        "shape": frame["shape"],
        "expression": [frame["expression"].get(name, 0.0) for name in model.expression_names],
        "albedo": frame["albedo"],
        "sh": frame["sh"],
    }
    shapes = {**{name: (size,) for name, size in model.layout.sizes.items()}, "sh": (N_SH_BANDS, 3)}
    arrays = {name: _numbers(name, value, shapes[name]) for name, value in groups.items()}
    return FaceParameters(**{**arrays, "rotation": np.radians(arrays["rotation"])})


def _numbers(name: str, value: Any, shape: tuple[int, ...] | None) -> np.ndarray:
    """A group of a frame as (1, *shape) float32 (any shape for None), checked: a trial's shortened shape and NaN yaw
    failed deep in numpy."""
    try:
        array = np.asarray(value, np.float32)
    except (TypeError, ValueError):  # ragged lists, words
        raise ValueError(f"{name} is not a list of numbers") from None
    if shape is not None and array.shape != shape:
        expected = " x ".join(map(str, shape))
        raise ValueError(f"{name} has {array.size} values in shape {array.shape}, expected {expected}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds a value that is not a finite number")
    return array[None]


def read_session(model: FaceModel, data: dict[str, Any]) -> tuple[FaceParameters, np.ndarray | None]:
    """Frames and times (s) from JSON: a session (:func:`session_dict`), params.json (one frame, no
    times), or packed vectors ``{"times_s": [N], "parameters": [N][P]}`` in ``model.layout``'s order."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object: not a recorded session, params.json or packed vectors")
    sha = data.get("face_model_sha256", model.sha256)
    if sha != model.sha256:
        raise ValueError(f"parameters of another face model (sha256 {sha[:12]}..., this one {model.sha256[:12]}...)")
    if "parameters" in data:
        packed = _numbers("parameters", data["parameters"], None)[0]
        return FaceParameters.unpack(model.layout, packed), np.asarray(data["times_s"], np.float64)
    if "frames" not in data:
        return _frame_parameters(model, data), None
    if not isinstance(data["frames"], list) or not all(isinstance(frame, dict) for frame in data["frames"]):
        raise ValueError("frames is not a list of frames (objects with time_s, rotation_deg, ...)")
    if not data["frames"]:
        raise ValueError("the session holds no frames")
    frames = FaceParameters.concatenate([_framed(model, frame, k) for k, frame in enumerate(data["frames"], 1)])
    return frames, np.array([frame["time_s"] for frame in data["frames"]], np.float64)


def _framed(model: FaceModel, frame: dict[str, Any], k: int) -> FaceParameters:
    """Frame k (from 1) of a session, its errors naming it."""
    try:
        return _frame_parameters(model, frame)
    except ValueError as error:
        raise ValueError(f"frame {k}: {error}") from None


def _in_words(error: Exception) -> str:
    """Why a session file could not be read, in plain words (a trial saw "KeyError('expression')")."""
    if isinstance(error, OSError):
        return f"cannot read it: {error.strerror or error}"
    if isinstance(error, json.JSONDecodeError):
        return f"not JSON ({error.msg} at line {error.lineno})"
    if isinstance(error, KeyError):
        return f"no {error.args[0]!r} field: not a recorded session, params.json or packed vectors"
    return str(error)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inversefacenet.animate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("session", type=Path, help="session JSON, params.json or packed vectors with times_s")
    parser.add_argument("--out", type=Path, required=True, help="GLB to write")
    parser.add_argument("--json", type=Path, default=None, help="also write the session's per-frame parameters")
    args = parser.parse_args(argv)
    model = FaceModel.load()
    try:
        frames, times = read_session(model, json.loads(args.session.read_text()))
        glb = animated_glb(model, frames, times)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"error: {args.session}: {_in_words(error)}", file=sys.stderr)
        return 2
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_whole(args.out, glb)
        if args.json is not None:
            write_whole(args.json, json.dumps(session_dict(model, frames, np.zeros(1) if times is None else times)))
    except OSError as error:
        taken = isinstance(error, (FileExistsError, NotADirectoryError))  # a file where a folder should be
        where, why = (args.out, "a file is in the way of its folder") if taken else (
            error.filename or args.out, error.strerror or str(error))
        print(f"error: cannot write {where}: {why}", file=sys.stderr)
        return 2
    print(
        f"{args.out}: {frames.batch_size} frame(s), {model.n_expression} morph targets, {len(glb) / 1e6:.1f} MB",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
