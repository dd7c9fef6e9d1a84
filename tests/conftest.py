import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from demo.serving import gradio_cache_in_process_folder
from inversefacenet import FaceModel, FaceParameters
from inversefacenet.render.renderer import render, to_uint8

# The app servers the tests start write Gradio's cache (uploads, previews) into this run's own folder, removed at
# its end, as app.py does (before, every run added to /tmp/gradio: 766 MB on one test machine).
gradio_cache_in_process_folder()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With REQUIRE_NO_SKIPS=1 (set by .ci/run) a skipped test fails the run: a browser or OpenGL test that
    silently skips in CI is a test that never ran."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("REQUIRE_NO_SKIPS") == "1" and skipped and exitstatus == pytest.ExitCode.OK:
        reporter.ensure_newline()
        reporter.write_line(f"REQUIRE_NO_SKIPS=1: {len(skipped)} test(s) skipped, failing the run", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session", autouse=True)
def no_empty_download_folders() -> Iterator[None]:
    """gradio_client downloads each file into a new folder directly in the temporary directory (40 hex digits) and
    moves it out, leaving the folder behind: 5,500 empty ones had piled up in /tmp of one test machine. The empty ones
    this run leaves are removed."""
    before = set(_download_folders())
    yield
    for folder in set(_download_folders()) - before:
        with contextlib.suppress(OSError):  # not empty: not one of those
            folder.rmdir()


def _download_folders() -> Iterator[Path]:
    return (path for path in Path(tempfile.gettempdir()).iterdir() if re.fullmatch("[0-9a-f]{40}", path.name))


@pytest.fixture(scope="session")
def model() -> FaceModel:
    return FaceModel.load()


def random_parameters(model: FaceModel, batch: int, seed: int = 0, max_angle: float = 30.0) -> FaceParameters:
    """Parameters drawn like the paper's corpus (section 5), float32 numpy."""
    rng = np.random.default_rng(seed)
    sh = rng.uniform(-0.2, 0.2, (batch, 9, 1)).repeat(3, axis=2)
    sh[:, 0] = rng.uniform(0.6, 1.2, (batch, 1))
    return FaceParameters(
        np.radians(rng.uniform(-max_angle, max_angle, (batch, 3))).astype(np.float32),
        rng.normal(size=(batch, model.n_shape)).astype(np.float32),
        (
            rng.uniform(0, 1, (batch, model.n_expression)) * (rng.uniform(size=(batch, model.n_expression)) < 0.15)
        ).astype(np.float32),
        rng.normal(size=(batch, model.n_albedo)).astype(np.float32),
        sh.astype(np.float32),
    )


def known_face(model, seed: int) -> FaceParameters:
    rng = np.random.default_rng(seed)
    params = FaceParameters.neutral(model.layout)
    params.rotation[:] = np.radians(rng.uniform(-20, 20, (1, 3)))
    params.shape[:] = rng.normal(size=(1, model.n_shape)) * 0.7
    params.albedo[:] = rng.normal(size=(1, model.n_albedo)) * 0.7
    params.expression[0, model.expression_names.index("jawOpen")] = 0.3
    params.expression[0, model.expression_names.index("mouthSmileLeft")] = 0.5
    params.sh[0, 0] = rng.uniform(0.7, 1.1)
    params.sh[0, 1:4] = rng.uniform(-0.2, 0.2, (3, 1))
    return params


def photo_of(model, params, size, background=0.55):
    out = render(model, params, size)
    return to_uint8(out.image[0] + (~out.raster.mask[0])[..., None] * background), out


def two_face_photo(model: FaceModel) -> np.ndarray:
    """A grey canvas with a big face on the right and a small one on the left."""
    canvas = np.full((420, 900, 3), 140, np.uint8)
    canvas[20:400, 480:860] = photo_of(model, known_face(model, 3), 380)[0]
    canvas[110:310, 40:240] = photo_of(model, known_face(model, 5), 200)[0]
    return canvas
