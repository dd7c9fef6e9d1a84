import subprocess
import sys

import inversefacenet

PUBLIC = {
    "Camera",
    "FaceModel",
    "FaceModelError",
    "FaceParameters",
    "FaceResult",
    "InputError",
    "NoFaceError",
    "ParameterLayout",
    "Reconstructor",
    "RenderOutput",
    "export_mesh",
    "load_image",
    "render",
    "rotation_matrix",
    "sh_basis",
    "sh_irradiance",
}


def test_public_names_exist():
    assert PUBLIC == set(inversefacenet.__all__)
    for name in inversefacenet.__all__:
        assert hasattr(inversefacenet, name), name
    assert issubclass(inversefacenet.NoFaceError, inversefacenet.InputError)


def test_import_and_help_do_not_load_the_heavy_libraries():
    heavy = "('torch', 'numba', 'cv2', 'mediapipe', 'trimesh')"
    probe = f"import sys, inversefacenet, inversefacenet.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
