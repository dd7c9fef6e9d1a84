"""Network checkpoints: safetensors weights with their configuration inside and beside them.

The configuration (architecture, input size, parameter layout, crop rule, face-model hash)
travels in the safetensors metadata, so one file is enough to rebuild the predictor; a JSON
sidecar with the same content plus metrics is written for people and tools.
Never pickle: loading a checkpoint cannot run code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file

from inversefacenet.facemodel.model import FaceModel
from inversefacenet.files import replacing, write_whole
from inversefacenet.mirror import mirror_for
from inversefacenet.networks import build_network
from inversefacenet.params import FaceParameters, ParameterLayout
from inversefacenet.preprocess import ALIGNMENT_SIZE, INPUT_CHANNELS, MASK_CHANNEL_RULES
from inversefacenet.render.camera import DEFAULT_CAMERA, Camera

DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[1] / "assets" / "inversefacenet.safetensors"
"""The shipped network (fp16 weights), when there is one."""


log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint is missing, corrupt, or does not match the face model."""


@dataclass(frozen=True)
class NetworkConfig:
    """Everything needed to rebuild a network and feed it the way it was trained."""

    architecture: str
    input_size: int
    n_shape: int
    n_expression: int
    n_albedo: int
    face_model_sha256: str
    crop_scale: float = DEFAULT_CAMERA.crop_scale
    camera_distance_mm: float = DEFAULT_CAMERA.distance_mm
    crop_alignment: bool = False  # also outputs where its crop should have been (preprocess.ALIGNMENT_SIZE values)
    input_mask: str = "face"  # what of the crop it sees (preprocess.INPUT_MASKS)
    mirror_reading: bool = False  # reads each crop flipped too and answers the mean (inversefacenet.mirror)

    @property
    def layout(self) -> ParameterLayout:
        return ParameterLayout(self.n_shape, self.n_expression, self.n_albedo)

    @property
    def n_outputs(self) -> int:
        return self.layout.size + (ALIGNMENT_SIZE if self.crop_alignment else 0)

    @property
    def camera(self) -> Camera:
        """The camera and crop rule the network was trained with: its inputs must be cut the same way."""
        return Camera(distance_mm=self.camera_distance_mm, crop_scale=self.crop_scale)

    @classmethod
    def for_model(cls, model: FaceModel, architecture: str, input_size: int) -> NetworkConfig:
        return cls(architecture, input_size, model.n_shape, model.n_expression, model.n_albedo, model.sha256)


def save_checkpoint(
    path: str | Path, network: torch.nn.Module, config: NetworkConfig, extra: dict[str, Any] | None = None,
    half: bool = False,
) -> Path:  # fmt: skip
    """Write ``path`` (.safetensors) and its ``.json`` sidecar; ``half`` stores fp16 weights."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
    if half:
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    metadata = {"config": json.dumps(asdict(config))}
    with replacing(path) as temporary:  # an interrupted save never leaves a half-written checkpoint to resume from
        save_file(tensors, str(temporary), metadata=metadata)
    sidecar = {"config": asdict(config), **(extra or {})}
    write_whole(path.with_suffix(".json"), json.dumps(sidecar, indent=1))
    return path


def load_network(path: str | Path, model: FaceModel | None = None) -> tuple[torch.nn.Module, NetworkConfig]:
    """Rebuild the network of a checkpoint (float32, eval mode); checks it fits ``model``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
        tensors = load_file(str(path))
        fields = json.loads(metadata["config"])
        fields.pop("input_range", None)  # a label older checkpoints stored (export.onnx.INPUT_RANGES)
        config = NetworkConfig(**fields)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as error:
        raise CheckpointError(f"{path} is not a readable InverseFaceNet checkpoint: {error}") from error
    if model is not None and config.layout != model.layout:
        raise CheckpointError(f"{path} predicts {config.layout}, but the face model has {model.layout}")
    if model is not None and config.face_model_sha256 != model.sha256:
        log.warning("%s was trained with another face-model file (sha256 %.12s); check it matches", path,
                    config.face_model_sha256)  # fmt: skip
    network = build_network(config.architecture, config.input_size, config.n_outputs,
                            config.input_mask in MASK_CHANNEL_RULES)
    try:
        network.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not match {config.architecture}: {error}") from error
    return network.eval(), config


class Predictor:
    """Network inference in torch: masked crops -> parameters, on the GPU when there is one.

    :class:`inversefacenet.predictor.OnnxPredictor` is the same interface through ONNX Runtime.
    """

    backend = "torch"

    def __init__(self, network: torch.nn.Module, config: NetworkConfig, device: str | None = None,
                 model: FaceModel | None = None) -> None:  # fmt: skip
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.network = network.eval().to(self.device)
        self.config = config
        self.mirror = mirror_for(config.mirror_reading, model)

    @classmethod
    def load(cls, path: str | Path, model: FaceModel | None = None, mirror_reading: bool | None = None) -> Predictor:
        """``mirror_reading``: read both ways or not whatever the checkpoint says (None: as it says)."""
        network, config = load_network(path, model)
        if mirror_reading is not None:
            config = replace(config, mirror_reading=mirror_reading)
        return cls(network, config, model=model)

    def __call__(self, inputs: np.ndarray) -> FaceParameters:
        """inputs: (B, S, S, C) float32 from :func:`inversefacenet.preprocess.network_input`."""
        return to_parameters(self.outputs(inputs), self.config)

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        """(B, config.n_outputs) raw network outputs: parameters, then the crop alignment if it has one."""
        return self._run(inputs) if self.mirror is None else self.mirror.both_ways(self._run, inputs)

    @torch.no_grad()
    def _run(self, inputs: np.ndarray) -> np.ndarray:
        images = torch.as_tensor(channels_first(inputs, self.config))
        return self.network(images.to(self.device)).cpu().numpy()


def channels_first(inputs: np.ndarray, config: NetworkConfig) -> np.ndarray:
    """(B, S, S, C) network inputs -> contiguous (B, C, S, S) float32, checked against the config (C: 3, or 4 for
    the "split" input rule)."""
    size, channels = config.input_size, INPUT_CHANNELS[config.input_mask]
    if inputs.ndim != 4 or inputs.shape[1:] != (size, size, channels):
        raise ValueError(f"expected network inputs (B, {size}, {size}, {channels}), got {inputs.shape}")
    return np.ascontiguousarray(inputs.transpose(0, 3, 1, 2), dtype=np.float32)


def to_parameters(vector: np.ndarray, config: NetworkConfig) -> FaceParameters:
    """(B, P) network outputs -> parameters, expression weights clipped to their range [0, 1]."""
    params = FaceParameters.unpack(config.layout, vector[:, : config.layout.size])
    params.expression = np.clip(params.expression, 0, 1)
    return params
