"""The network's forward pass behind one interface, in torch or in ONNX Runtime.

Both predictors take (B, S, S, 3) float32 inputs from :func:`inversefacenet.preprocess.face_input`
and return :class:`FaceParameters`; ``config`` carries the crop rule the inputs must follow.
On a CPU, ONNX Runtime runs the shipped network about 3x faster than torch at batch 1, and its int8
graph (``assets/inversefacenet_int8.onnx``, made by ``python -m export.quantize``) 2.6x faster again, so
``load_predictor`` picks that there when it ships beside the checkpoint and was quantized from it;
torch stays for training, the fit and GPUs.

The ONNX graph is exported from the checkpoint on first use (about a second) and cached under
``INVERSEFACENET_CACHE`` (default ``~/.cache/inversefacenet``), named by the checkpoint's
sha256 and the exporter's version, so the cache can never serve another checkpoint's graph.
Nothing is downloaded; an unwritable cache only costs the export on every start.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import torch

from inversefacenet.checkpoint import (
    CheckpointError,
    NetworkConfig,
    Predictor,
    channels_first,
    load_network,
    to_parameters,
)
from inversefacenet.facemodel.model import FaceModel
from inversefacenet.files import write_whole
from inversefacenet.machine import usable_cores
from inversefacenet.mirror import mirror_for
from inversefacenet.params import FaceParameters
from inversefacenet.preprocess import INPUT_CHANNELS

Backend = Literal["auto", "onnxruntime", "onnxruntime-int8", "torch"]
OPSET = 17
QUANTIZED_FROM_KEY = "inversefacenet.quantized_from_sha256"
"""Metadata key of an int8 graph: the sha256 of the checkpoint file it was quantized from."""

log = logging.getLogger(__name__)


class NetworkPredictor(Protocol):
    """What the pipeline needs of a predictor."""

    config: NetworkConfig
    backend: str

    def __call__(self, inputs: np.ndarray) -> FaceParameters: ...

    def outputs(self, inputs: np.ndarray) -> np.ndarray: ...


class OnnxPredictor:
    """The network through ONNX Runtime (CPU); the same interface as the torch ``Predictor``.

    Thread-safe: an ``InferenceSession`` may run concurrently, its runs sharing its threads. ``threads``: intra-op
    threads (default: one per usable core, the fastest for one user: the float graph 1.7 against 3.4 ms per reading
    on 2 cores); the app, whose one session serves N requests at once, gives it cores // N (:mod:`demo.serving`).
    """

    def __init__(self, onnx_model: bytes, config: NetworkConfig, threads: int | None = None,
                 backend: str = "onnxruntime", model: FaceModel | None = None) -> None:  # fmt: skip
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads or usable_cores()
        options.inter_op_num_threads = 1
        # idle threads sleep instead of spinning: MediaPipe's graphs and other requests need the cores between runs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(onnx_model, options, providers=["CPUExecutionProvider"])
        self.config = config
        self.backend = backend
        self.mirror = mirror_for(config.mirror_reading, model)

    @classmethod
    def from_network(cls, network: torch.nn.Module, config: NetworkConfig) -> OnnxPredictor:
        """Export an in-memory network (not cached: it has no file to be named after)."""
        return cls(export_onnx(network, config), config)

    @classmethod
    def load(cls, path: str | Path, model: FaceModel | None = None, threads: int | None = None) -> OnnxPredictor:
        """A checkpoint's network, exported once and then read from the cache."""
        network, config = load_network(path, model)
        return cls(_cached_onnx(Path(path), network, config), config, threads, model=model)

    @classmethod
    def load_int8(cls, path: str | Path, model: FaceModel | None = None,
                  threads: int | None = None) -> OnnxPredictor | None:  # fmt: skip
        """A checkpoint's int8 graph (:func:`int8_graph`), or None when none is usable (said in the log)."""
        graph = int8_graph(path)
        if graph is None:
            return None
        _, config = load_network(path, model)
        try:
            return cls(graph, config, threads, backend="onnxruntime-int8", model=model)
        except Exception as error:  # noqa: BLE001 - ONNX Runtime's load errors share no base class
            log.warning("%s cannot be loaded (%s): the float network is used", int8_path(path).name, error)
            return None

    def __call__(self, inputs: np.ndarray) -> FaceParameters:
        """inputs: (B, S, S, C) float32 from :func:`inversefacenet.preprocess.network_input`."""
        return to_parameters(self.outputs(inputs), self.config)

    def outputs(self, inputs: np.ndarray) -> np.ndarray:
        """(B, config.n_outputs) raw network outputs: parameters, then the crop alignment if it has one."""
        return self._run(inputs) if self.mirror is None else self.mirror.both_ways(self._run, inputs)

    def _run(self, inputs: np.ndarray) -> np.ndarray:
        (vector,) = self.session.run(None, {"image": channels_first(inputs, self.config)})
        return vector


def int8_graph(checkpoint: str | Path) -> bytes | None:
    """The int8 graph (ONNX bytes) beside ``checkpoint`` (:func:`int8_path`), or None when none ships, or when it is
    unreadable or was quantized from other weights (a checkpoint replaced without a new ``python -m
    export.quantize``: said in the log)."""
    checkpoint = Path(checkpoint)
    path = int8_path(checkpoint)
    if not path.is_file():
        return None
    graph = path.read_bytes()
    if quantized_from(graph) != hashlib.sha256(checkpoint.read_bytes()).hexdigest():
        log.warning("%s is unreadable or was quantized from other weights than %s: the float network is used "
                    "(re-run python -m export.quantize)", path.name, checkpoint.name)  # fmt: skip
        return None
    return graph


def quantized_from(graph: bytes) -> str | None:
    """The sha256 of the checkpoint an int8 graph (ONNX bytes) was quantized from; None if it says none or is not
    ONNX."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        properties = onnx.load_model_from_string(graph).metadata_props
    except DecodeError:
        return None
    return next((prop.value for prop in properties if prop.key == QUANTIZED_FROM_KEY), None)


def int8_path(checkpoint: str | Path) -> Path:
    """Where a checkpoint's int8 graph ships: beside it, ``<name>_int8.onnx``."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}_int8.onnx")


def export_onnx(network: torch.nn.Module, config: NetworkConfig) -> bytes:
    """The network as an ONNX graph: image (B, C, S, S) float32 -> params (B, P), dynamic batch (C: 3, or 4 for the
    "split" input rule)."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated; the new one needs onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            network.eval(), torch.zeros(1, INPUT_CHANNELS[config.input_mask], config.input_size, config.input_size),
            buffer, dynamo=False,
            opset_version=OPSET, input_names=["image"], output_names=["params"],
            dynamic_axes={"image": {0: "batch"}, "params": {0: "batch"}},
        )  # fmt: skip
    return buffer.getvalue()


def cache_dir() -> Path:
    return Path(os.environ.get("INVERSEFACENET_CACHE") or Path.home() / ".cache" / "inversefacenet")


def _cached_onnx(path: Path, network: torch.nn.Module, config: NetworkConfig) -> bytes:
    """The checkpoint's ONNX graph from the cache, exported and written (atomically) on a miss."""
    key = hashlib.sha256(path.read_bytes() + f"torch {torch.__version__} opset {OPSET}".encode()).hexdigest()
    cached = cache_dir() / f"network-{key[:32]}.onnx"
    if cached.is_file():
        return cached.read_bytes()
    graph = export_onnx(network, config)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        write_whole(cached, graph)  # two app threads exporting at once each write their own temporary
    except OSError as error:
        log.info("ONNX cache not writable (%s): the network is exported on every start", error)
    return graph


def load_predictor(path: str | Path, model: FaceModel | None = None, backend: Backend = "auto",
                   threads: int | None = None) -> NetworkPredictor:  # fmt: skip
    """A checkpoint's predictor. "auto": torch on a GPU; else ONNX Runtime, on the checkpoint's int8 graph where
    one ships for it, else on its float graph; else (not installed) torch. ``threads``: ONNX Runtime's threads
    (see :class:`OnnxPredictor`)."""
    if backend == "auto":
        if torch.cuda.is_available() or not _has_onnxruntime():
            return Predictor.load(path, model)
        return OnnxPredictor.load_int8(path, model, threads) or OnnxPredictor.load(path, model, threads)
    if backend == "onnxruntime-int8":
        predictor = OnnxPredictor.load_int8(path, model, threads)
        if predictor is None:
            raise CheckpointError(f"no int8 graph quantized from {path} at {int8_path(path)}: "
                                  "run python -m export.quantize")  # fmt: skip
        return predictor
    if backend == "onnxruntime":
        return OnnxPredictor.load(path, model, threads)
    if backend == "torch":
        return Predictor.load(path, model)
    raise ValueError(f"unknown backend {backend!r}; choose auto, onnxruntime, onnxruntime-int8 or torch")


def _has_onnxruntime() -> bool:
    try:
        import onnx  # noqa: F401 - the torch exporter needs it
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True
