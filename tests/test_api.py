import inversefacenet

PUBLIC = {
    "Camera",
    "FaceModel",
    "FaceModelError",
    "FaceParameters",
    "ParameterLayout",
    "RenderOutput",
    "export_mesh",
    "render",
    "rotation_matrix",
    "sh_basis",
    "sh_irradiance",
}


def test_public_names_exist():
    assert PUBLIC <= set(inversefacenet.__all__)
    for name in inversefacenet.__all__:
        assert hasattr(inversefacenet, name), name
