import subprocess
import sys

import inversefacenet
import inversefacenet.render

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
    "rotation_matrix",
    "sh_basis",
    "sh_irradiance",
}
RENDER = {
    "Camera",
    "DEFAULT_CAMERA",
    "RenderOutput",
    "project_face",
    "render",
    "rotation_matrix",
    "sh_basis",
    "sh_irradiance",
    "to_uint8",
}


def test_public_names_exist():
    assert PUBLIC == set(inversefacenet.__all__)
    for name in inversefacenet.__all__:
        assert hasattr(inversefacenet, name), name
    assert issubclass(inversefacenet.NoFaceError, inversefacenet.InputError)


def test_render_package_names_exist():
    # ``inversefacenet.render`` is the rendering subpackage (so the package exports no function of that name)
    assert RENDER == set(inversefacenet.render.__all__)
    for name in inversefacenet.render.__all__:
        assert hasattr(inversefacenet.render, name), name
    from inversefacenet import render

    assert render is inversefacenet.render and callable(render.render)


def test_import_and_help_do_not_load_the_heavy_libraries():
    heavy = "('torch', 'numba', 'cv2', 'mediapipe', 'trimesh', 'pyrender')"
    imports = "import sys, inversefacenet, inversefacenet.cli, inversefacenet.render"
    probe = f"{imports}; print(sorted(m for m in {heavy} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"
