import numpy as np
import pytest
import torch

from inversefacenet import FaceParameters, ParameterLayout


def test_layout_order_and_sizes():
    layout = ParameterLayout(80, 52, 50)
    assert list(layout.slices) == ["rotation", "shape", "expression", "albedo", "sh"]
    assert layout.size == 3 + 80 + 52 + 50 + 27
    assert layout.slices["sh"] == slice(layout.size - 27, layout.size)


@pytest.mark.parametrize("xp", [np, torch])
def test_pack_unpack_round_trip(xp):
    layout = ParameterLayout(4, 3, 2)
    vector = np.arange(2 * layout.size, dtype=np.float32).reshape(2, -1)
    vector = torch.tensor(vector) if xp is torch else vector
    params = FaceParameters.unpack(layout, vector)
    assert tuple(params.sh.shape) == (2, 9, 3)
    assert float(params.shape[1, 0]) == float(vector[1, 3])
    assert (params.pack() == vector).all()


def test_wrong_size_is_reported():
    with pytest.raises(ValueError, match=r"expected a parameter vector of shape \(B, 36\), got \(1, 5\)"):
        FaceParameters.unpack(ParameterLayout(4, 0, 2), np.zeros((1, 5)))
