"""Exports for the browser page: ONNX variants of the network and the face model (``python -m export.onnx``)."""
