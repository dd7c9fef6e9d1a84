"""The pyrender preview renderer against the numba one: same faces, same framing, and the app's fallbacks."""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import cv2
import numpy as np
import pytest
from conftest import known_face, random_parameters

from demo import views
from inversefacenet.render import render_gl
from inversefacenet.render.renderer import render, to_uint8
from tests.test_edge_cut import (
    BOTTOM_POSES_DEG,
    POSES_DEG,
    cut_columns,
    edge_roughness_px,
    jaw_crossed,
    posed_mean_face,
)

SIZE = 256


@pytest.fixture(scope="module")
def gl():
    problem = render_gl.probe()
    if problem is not None:
        pytest.skip(f"no OpenGL context here: {problem}")
    return render_gl.GLRenderer()


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_pyrender_matches_numba_at_the_same_size(model, gl):
    params = random_parameters(model, 4, seed=7)
    out = render(model, params, SIZE)
    images, coverage = gl.render(model, params, SIZE, (out.crop_scale, out.crop_offset), background=1.0)
    for b in range(len(images)):
        mask, drawn = out.raster.mask[b], coverage[b] >= 0.5
        assert mask.mean() > 0.3  # a face fills the crop: not an empty frame on both sides
        assert iou(mask, drawn) >= 0.98
        numba_image = to_uint8(out.image[b], background=1.0).astype(int)
        assert np.abs(images[b].astype(int) - numba_image)[mask | drawn].mean() <= 4
        # anti-aliased: partial coverage on the silhouette (numba's outline, +-1 px), nowhere else
        partial = (coverage[b] > 0) & (coverage[b] < 1)
        band = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3))) - cv2.erode(mask.astype(np.uint8), np.ones((3, 3)))
        assert partial.sum() > 0.3 * (band > 0).sum() / 2
        assert (partial & (band == 0)).sum() <= 0.02 * partial.sum()


def test_pyrender_draws_the_region_cut_as_smooth_edges(model, gl):
    """The GL preview draws the mesh clipped at the cut: its top edge (upright faces) and bottom edge (faces seen from
    a little below) as smooth as numba's."""
    for poses, flip in ((POSES_DEG, slice(None)), (BOTTOM_POSES_DEG, slice(None, None, -1))):
        params = posed_mean_face(model, poses)
        out = render(model, params, SIZE)
        _, coverage = gl.render(model, params, SIZE, (out.crop_scale, out.crop_offset))
        crossed = None if flip == slice(None) else jaw_crossed(model)
        for b in range(len(coverage)):
            drawn, mask = coverage[b] >= 0.5, out.raster.mask[b]
            assert iou(mask, drawn) >= 0.98
            assert edge_roughness_px(drawn[flip], cut_columns(model, out.raster.triangle_id[b][flip], crossed)) < 1.25


def test_pyrender_views_keep_the_numba_framing_from_many_threads(model, gl, monkeypatch):
    faces = [known_face(model, seed) for seed in (3, 5, 8)]
    face_views = [views.FaceViews(model, params, SIZE) for params in faces]
    monkeypatch.setattr(views, "_gl", None)
    numba = [v.relit(p) for v, p in zip(face_views, faces, strict=True)]
    monkeypatch.setattr(views, "_gl", gl)
    serial = [v.relit(p) for v, p in zip(face_views, faces, strict=True)]
    for (_, numba_mask), (_, mask) in zip(numba, serial, strict=True):
        assert iou(numba_mask, mask) >= 0.98
    jobs = [i % len(faces) for i in range(12)]
    with ThreadPoolExecutor(4) as pool:  # the app serves concurrent users: no face may leak into another's
        results = list(pool.map(lambda i: face_views[i].relit(faces[i]), jobs))
    for i, (image, mask) in zip(jobs, results, strict=True):
        assert np.array_equal(image, serial[i][0]) and np.array_equal(mask, serial[i][1])
    assert views._gl is gl  # no draw failed


def test_preview_choice_uses_pyrender_when_a_context_works_and_numba_when_none_can_be_made(gl, monkeypatch, caplog):
    monkeypatch.setattr(views, "_gl", None)
    assert views.use_preview("auto") == "pyrender" and views._gl is not None
    assert views.use_preview("numba") == "numba" and views._gl is None
    monkeypatch.setenv("PYOPENGL_PLATFORM", "no-such-platform")
    with caplog.at_level(logging.INFO, logger="demo.views"):
        assert views.use_preview("pyrender") == "numba"
    assert views._gl is None
    assert any(r.levelno == logging.WARNING and "numba" in r.getMessage() for r in caplog.records)


def test_a_failed_gl_context_falls_back_to_numba_with_a_log_line(model, gl, monkeypatch, caplog):
    broken = render_gl.GLRenderer()
    monkeypatch.setenv("PYOPENGL_PLATFORM", "no-such-platform")  # its context is made on the first draw
    monkeypatch.setattr(views, "_gl", broken)
    params = known_face(model, 3)
    face_views = views.FaceViews(model, params, SIZE)
    with caplog.at_level(logging.ERROR, logger="demo.views"):
        image, mask = face_views.relit(params)
    out = render(model.closed(), params, SIZE, crop=face_views.framing.at(SIZE))  # the views draw the closed mesh
    assert np.array_equal(image, to_uint8(out.image[0], views.BACKGROUND)) and np.array_equal(mask, out.raster.mask[0])
    assert views._gl is None and any("numba" in r.getMessage() for r in caplog.records)
    turned = replace(params, rotation=np.radians([[0.0, 20.0, 0.0]]).astype(np.float32))
    assert face_views.relit(turned)[1].any()  # and keeps serving
