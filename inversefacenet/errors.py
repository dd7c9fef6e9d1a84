"""The one documented exception family for bad user input."""

from __future__ import annotations


class InputError(ValueError):
    """The input cannot be used: not an image, truncated, too large, or no face in it."""


class NoFaceError(InputError):
    """The image was read, but no face was found in it."""
