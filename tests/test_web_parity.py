"""The page's TypeScript re-implementations against Python, by golden data (Node, no browser).

export/goldens.py writes inputs and Python's outputs; ``npm run parity`` runs the page's own
functions (rotation matrix, lamp -> SH, vertex normals, crop rule, face mask) on the same inputs.
"""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from export.goldens import write_goldens
from inversefacenet.camera import Camera

WEB = Path(__file__).resolve().parents[1] / "webassets"


@pytest.fixture(scope="module")
def parity(model, tmp_path_factory):
    if shutil.which("npm") is None or not (WEB / "node_modules" / "vite").is_dir():
        pytest.skip("Node.js and webassets/node_modules are needed (make web-build installs them)")
    folder = tmp_path_factory.mktemp("goldens")
    path = write_goldens(model, Camera(crop_scale=1.4), folder)  # not the default crop scale: nothing assumed
    result = subprocess.run(["npm", "run", "--silent", "parity", "--", str(path)], cwd=WEB, capture_output=True,
                            text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(path.read_text()), json.loads(result.stdout)


def test_rotation_matrices_and_lamp_sh(parity):
    golden, page = parity
    np.testing.assert_allclose(page["rotation"], golden["rotation"]["matrices"], atol=1e-12)
    np.testing.assert_allclose(page["lamp_sh"], golden["lamp_sh"]["sh"], atol=1e-6)


def test_vertex_normals(parity):
    golden, page = parity
    np.testing.assert_allclose(page["normals"], golden["normals"]["normals"], atol=1e-5)


def test_crop_rule(parity):
    golden, page = parity
    assert page["crop"]["scale"] == pytest.approx(golden["crop"]["scale"], rel=1e-6)
    np.testing.assert_allclose(page["crop"]["offset"], golden["crop"]["offset"], atol=1e-3)  # float32 landmarks


def test_face_mask_follows_cv2_up_to_its_outline(parity):
    """cv2.fillPoly fills pixel centres and draws the outline with fixed-point lines; the page does the
    same in floating point, so pixels may differ only where an edge passes within a pixel of their centre."""
    golden, page = parity
    size = golden["mask"]["size"]
    ours, theirs = (np.array(m, bool).reshape(size, size) for m in (page["mask"], golden["mask"]["mask"]))
    assert (ours & theirs).sum() / (ours | theirs).sum() > 0.98
    points = np.array(golden["mask"]["landmarks"]).reshape(-1, 2)
    rule = golden["mask"]["rule"]
    starts, ends = [], []
    for polygon in (rule["oval"], rule["inner_lips"], *rule["eyes"]):
        starts.append(points[polygon])
        ends.append(points[np.roll(polygon, -1)])
    starts, ends = np.concatenate(starts), np.concatenate(ends)
    centres = np.argwhere(ours != theirs)[:, ::-1] + 0.5  # x, y
    along = ends - starts
    t = np.clip(np.einsum("pkd,kd->pk", centres[:, None] - starts, along) / np.einsum("kd,kd->k", along, along), 0, 1)
    distance = np.linalg.norm(centres[:, None] - (starts + t[..., None] * along), axis=2).min(axis=1)
    assert distance.max() < 1.0
