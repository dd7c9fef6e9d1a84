"""Landmark correspondences of the face model (build time).

MediaPipe (478 points): the pip ``mediapipe`` face mesh runs on renders of the mean face from
several views; each detected point is back-projected through the rasterizer's triangle id
and barycentrics onto the surface, the 3D hits of views that see the surface well are
averaged (median) and snapped to the nearest vertex. Held-out views measure how far the
stored points reproject from fresh detections.

iBUG 68: taken from the MediaPipe points through the usual index table. The 17 jaw points
are silhouette points in 2D annotations, so each also gets a row of candidate vertices on
its horizontal level, from the face centre outwards; at fit time the outermost visible
candidate is used (:meth:`FaceModel.ibug68_points`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm import tqdm

MEDIAPIPE_TO_IBUG68 = np.array([
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,  # jaw
    71, 63, 105, 66, 107, 336, 296, 334, 293, 301,  # brows
    168, 197, 5, 4, 75, 97, 2, 326, 305,  # nose
    33, 160, 158, 133, 153, 144, 362, 385, 387, 263, 373, 380,  # eyes
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,  # outer lips
    78, 82, 13, 312, 308, 317, 14, 87,  # inner lips
])  # fmt: skip
"""MediaPipe face-mesh index of each iBUG-68 point (0-based iBUG order)."""

N_CONTOUR_CANDIDATES = 12
BUILD_VIEWS = [(p, y) for p in (-12.0, 0.0, 12.0) for y in (-30.0, -15.0, 0.0, 15.0, 30.0)]
HELD_OUT_VIEWS = [(-6.0, -22.0), (6.0, -8.0), (0.0, 8.0), (-8.0, 22.0), (10.0, 0.0)]
RENDER_SIZE = 512


def _render_views(model: Any, views: list[tuple[float, float]], crop_vertices: np.ndarray) -> list[Any]:
    """Render the mean face under soft frontal light from (pitch, yaw) views in degrees."""
    from inversefacenet.params import FaceParameters
    from inversefacenet.render.renderer import render

    outputs = []
    for pitch, yaw in views:
        params = FaceParameters.neutral(model.layout, ambient=0.95)
        params.sh[:, 1], params.sh[:, 2] = 0.15, 0.35
        params.rotation[:] = np.radians([[pitch, yaw, 0.0]])
        outputs.append(render(model, params, RENDER_SIZE, crop_vertices=crop_vertices))
    return outputs


def _detect(images: list[np.ndarray]) -> list[np.ndarray | None]:
    """MediaPipe face mesh (478 points, pixels) on each uint8 RGB image; None if no face."""
    import mediapipe as mp

    found: list[np.ndarray | None] = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                         refine_landmarks=True) as mesh:  # fmt: skip
        for image in images:
            result = mesh.process(image)
            if not result.multi_face_landmarks:
                found.append(None)
                continue
            points = result.multi_face_landmarks[0].landmark
            found.append(np.array([[p.x, p.y] for p in points]) * np.array(image.shape[1::-1]))
    return found


def _with_background(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    from inversefacenet.render.renderer import to_uint8

    grey = np.where(mask[..., None], image, 0.45)
    return to_uint8(grey)


def find_landmarks(arrays: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Compute landmark vertex indices and the face mask from the builder's arrays."""
    from inversefacenet.facemodel.model import FaceModel

    n_vertices = len(arrays["vertices_mean"])
    skin = arrays["region_skin"]
    provisional = FaceModel(
        **{k: v for k, v in arrays.items() if k not in ("expression_names", "region_skin")},
        expression_names=list(arrays["expression_names"]),
        landmarks_mediapipe=np.zeros(478, int), landmarks_ibug68=np.zeros(68, int),
        ibug68_contour_candidates=np.zeros((17, 1), int), mask_face=skin,
    )  # fmt: skip
    crop_vertices = np.flatnonzero(skin)
    mean = provisional.vertices_mean
    renders = _render_views(provisional, BUILD_VIEWS, crop_vertices)
    detections = _detect([_with_background(r.image[0], r.raster.mask[0]) for r in renders])
    hits: list[list[np.ndarray]] = [[] for _ in range(478)]
    for out, points in tqdm(list(zip(renders, detections, strict=False)), desc="back-projecting", leave=False):
        if points is None:
            continue
        normals_z = out.normals[0, :, 2]  # camera frame, as the render shaded
        for k, (x, y) in enumerate(points):
            i, j = int(y), int(x)
            if not (0 <= i < RENDER_SIZE and 0 <= j < RENDER_SIZE):
                continue
            t = out.raster.triangle_id[0, i, j]
            if t < 0:
                continue
            corners = provisional.triangles[t]
            if normals_z[corners].mean() < 0.35 and k < 468:  # grazing view: unreliable hit
                continue
            hits[k].append(out.raster.barycentric[0, i, j] @ mean[corners])
    allowed_face = np.flatnonzero(~arrays["mask_mouth_interior"] & ~arrays["mask_eyes"])
    allowed_iris = np.flatnonzero(arrays["mask_eyes"])
    mediapipe = np.zeros(478, np.int64)
    missing = [k for k in range(478) if not hits[k]]
    if missing:
        raise RuntimeError(f"MediaPipe never located points {missing[:10]}... on the renders")
    for k in range(478):
        target = np.median(np.array(hits[k]), axis=0)
        allowed = allowed_iris if k >= 468 else allowed_face
        mediapipe[k] = allowed[np.argmin(((mean[allowed] - target) ** 2).sum(1))]

    ibug = mediapipe[MEDIAPIPE_TO_IBUG68]
    contour = _contour_candidates(mean, skin, ibug[:17])
    mask_face = _face_mask(mean, skin, mediapipe)
    report = _reprojection_report(provisional, mediapipe, crop_vertices)
    report["detected_build_views"] = int(sum(d is not None for d in detections))
    report["build_views"] = len(BUILD_VIEWS)
    report["route"] = "pip mediapipe 0.10.21 on renders of the mean face, back-projected"
    return {
        "landmarks_mediapipe": mediapipe.astype(np.int32),
        "landmarks_ibug68": ibug.astype(np.int32),
        "ibug68_contour_candidates": contour.astype(np.int32),
        "mask_face": mask_face & (np.arange(n_vertices) >= 0),
    }, report



def _contour_candidates(mean: np.ndarray, skin: np.ndarray, jaw: np.ndarray) -> np.ndarray:
    """Per jaw point, skin vertices on its level ordered from the face centre outwards."""
    rows = []
    angle = np.arctan2(mean[:, 0], mean[:, 2])  # 0 at the front, +-90 deg at the sides
    for index in jaw:
        level = skin & (np.abs(mean[:, 1] - mean[index, 1]) < 2.0)
        side = np.sign(mean[index, 0]) if abs(mean[index, 0]) > 5 else 0
        if side == 0:  # the chin point stays where it is
            rows.append(np.full(N_CONTOUR_CANDIDATES, index))
            continue
        outward = level & (side * angle >= side * angle[index] - 0.05) & (side * angle < np.radians(100))
        ids = np.union1d(np.flatnonzero(outward), [index])
        order = ids[np.argsort(side * angle[ids])]
        picks = order[np.linspace(0, len(order) - 1, N_CONTOUR_CANDIDATES).round().astype(int)]
        picks[0] = index
        rows.append(picks)
    return np.array(rows)


def _face_mask(mean: np.ndarray, skin: np.ndarray, mediapipe: np.ndarray) -> np.ndarray:
    """Skin vertices inside the MediaPipe face oval (frontal projection): the photometric region."""
    from matplotlib.path import Path as PolygonPath

    oval = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400,
            377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]  # fmt: skip
    polygon = PolygonPath(mean[mediapipe[oval], :2])
    return skin & polygon.contains_points(mean[:, :2]) & (mean[:, 2] > mean[mediapipe[oval], 2].min() - 5)


def _reprojection_report(model: Any, mediapipe: np.ndarray, crop_vertices: np.ndarray) -> dict[str, Any]:
    """Pixel error at 512 px between fresh detections on held-out views and stored points."""
    renders = _render_views(model, HELD_OUT_VIEWS, crop_vertices)
    detections = _detect([_with_background(r.image[0], r.raster.mask[0]) for r in renders])
    errors, normalised = [], []
    for out, points in zip(renders, detections, strict=False):
        if points is None:
            continue
        projected = out.pixels[0, mediapipe]
        error = np.linalg.norm(projected - points, axis=1)
        inter_ocular = np.linalg.norm(points[33] - points[263])
        errors.append(error.mean())
        normalised.append(error.mean() / inter_ocular)
    return {
        "held_out_views_pitch_yaw_deg": HELD_OUT_VIEWS, "detected_held_out": len(errors),
        "reprojection_px_at_512_mean": float(np.mean(errors)),
        "reprojection_over_interocular_mean": float(np.mean(normalised)),
    }  # fmt: skip
