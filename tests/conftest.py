import numpy as np
import pytest

from inversefacenet import FaceModel, FaceParameters


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
