"""Reading photos from paths, bytes, PIL images or arrays into RGB uint8, safely.

Handles EXIF orientation, grayscale, alpha (composited on white), palette, CMYK and 16-bit
images, reduces photos larger than the working size (a 48 or 108 MP phone photo), and refuses
decompression bombs and truncated or non-image files with :class:`~inversefacenet.errors.InputError`.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from inversefacenet.errors import InputError

MAX_PIXELS = 40_000_000
"""Working size (width x height): a larger photo is reduced by a whole factor to fit, JPEGs while they decode. An
array larger than this is refused (the caller holds it already and can resize it)."""
LARGEST_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
"""Largest photo decoded at all, checked from the header: PIL's own decompression-bomb limit (about 179 MP)."""
EXIF_ORIENTATION = 0x0112
"""The EXIF tag saying how a photo is turned for display (5 to 8: by a quarter turn)."""
REDUCIBLE = {"1": "L", "P": "RGBA", "PA": "RGBA", "I;16": "I", "I;16B": "I", "I;16L": "I"}
"""Modes that cannot be averaged as they are (bits, palette indices, 16-bit), and the mode each is reduced in."""
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif"}
"""File name endings taken for photos when a folder is read (any case)."""
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm"}
"""File name endings the command line reads as videos (:mod:`inversefacenet.video`; named one by one: a folder stands
for its photos only)."""
FLOAT_OVER_RANGE = 2.0
"""A float image array with values above this is taken for 0-255 values and refused (up to it, an overexposed [0, 1]
image, such as a bright render, is clipped)."""


HEIF_SUFFIXES = {".heic", ".heif"}
"""An iPhone's photos: listed in a folder so that each gets its own message (:func:`load_image` cannot read them)."""


def photos_in(folder: Path) -> list[Path]:
    """The image files of a folder, by ``IMAGE_SUFFIXES`` (and ``HEIF_SUFFIXES``), sorted by name. Hidden files are
    not photos: a Mac's ``._IMG_1.jpg`` beside each photo copied to a USB stick holds its metadata, and an
    interrupted write (:mod:`inversefacenet.files`) leaves a ``.face.XXXX.png``."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in IMAGE_SUFFIXES | HEIF_SUFFIXES and not p.name.startswith("."))


def check_file(path: Path, kind: str) -> None:
    """InputError in plain words when ``path`` is a folder, missing or empty; ``kind`` (e.g. "an image file") names
    what a folder is not. Photos and videos say the same (a trial found two wordings)."""
    if path.is_dir():
        raise InputError(f"{path} is a folder, not {kind}")
    if not path.is_file():
        raise InputError(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"{path} is empty (0 bytes)")


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def load_image(source: Any, max_pixels: int | None = None) -> np.ndarray:
    """Return the image as (H, W, 3) uint8 RGB, upright, reduced to fit ``max_pixels`` (default ``MAX_PIXELS``).

    source: a path (str or Path), encoded bytes, a binary file object (an open file, ``io.BytesIO``, a web
    framework's upload: anything with ``read()`` returning bytes, read from where it stands), a PIL image, or an
    array of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) with dtype uint8, uint16 or float in [0, 1].
    """
    max_pixels = max_pixels or MAX_PIXELS
    if isinstance(source, np.ndarray):
        return _from_array(source, max_pixels)
    if isinstance(source, Image.Image):
        return _from_pil(source, max_pixels, name="image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(io.BytesIO(bytes(source)), max_pixels, name="the given bytes")
    if isinstance(source, (str, Path)):
        path = Path(source)
        check_file(path, "an image file")
        try:
            with path.open("rb") as handle:
                return _decode(handle, max_pixels, name=str(path))
        except OSError as error:  # not the photo's content (that is an InputError): the file could not be read
            raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    if callable(getattr(source, "read", None)):
        return _from_file_object(source, max_pixels)
    raise InputError(
        f"expected a path, bytes, a binary file object, a PIL image or a numpy array, got {type(source).__name__}"
    )


def _from_file_object(handle: Any, max_pixels: int) -> np.ndarray:
    """Decode what a file object's ``read()`` gives from where it stands (its bytes, so the object is left alone)."""
    name = str(getattr(handle, "name", None) or f"the given {type(handle).__name__}")
    data = handle.read()
    if isinstance(data, str):
        raise InputError(f"{name} was opened as text; open it in binary mode ('rb')")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InputError(f"{name}'s read() gave {type(data).__name__}, not bytes")
    if len(data) == 0:
        raise InputError(f"{name} is empty (0 bytes)")
    return _decode(io.BytesIO(bytes(data)), max_pixels, name=name)


def frame_count(path: Path) -> int:
    """How many frames a photo file holds (an animated GIF, WebP or PNG, a TIFF of several pages), read from its
    header: :func:`load_image` reads the first. 1 for a file that does not open (``load_image`` says why)."""
    try:
        with _open(path) as image:
            return int(getattr(image, "n_frames", 1))
    except (OSError, Image.DecompressionBombError):  # UnidentifiedImageError is an OSError
        return 1


def upright_size(path: Path) -> tuple[int, int]:
    """(width, height) of a photo file as it is displayed (its EXIF turn applied), read from its header: what the
    coordinates of a reduced photo's results scale back to."""
    with _open(path) as image:
        width, height = image.size
        turned = image.getexif().get(EXIF_ORIENTATION, 1) in (5, 6, 7, 8)  # a quarter turn swaps the sides
    return (height, width) if turned else (width, height)


def _open(source: Any) -> Image.Image:
    """``Image.open`` without PIL's decompression-bomb warning: a photo over its warning size (about 89 MP) is
    wanted here, reduced while it decodes, and one over LARGEST_PIXELS is refused in plain words."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(source)


HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
"""The ISO base media file brands of HEIC/HEIF images (an ``ftyp`` box first: size, "ftyp", brand)."""


def _is_heif(handle: Any) -> bool:
    """Whether a seekable binary file holds a HEIC/HEIF image, by its first box."""
    try:
        handle.seek(0)
        head = handle.read(12)
    except (OSError, ValueError):
        return False
    return head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS


def _decode(handle: Any, max_pixels: int, name: str) -> np.ndarray:
    try:
        image = _open(handle)
    except UnidentifiedImageError as error:
        if _is_heif(handle):  # a phone's photo: say what it is (a trial's HEIC got "not an image file")
            raise InputError(f"{name} is a HEIC/HEIF photo (an iPhone's usual format), which this program cannot "
                             "read: convert it to JPEG or PNG first") from error
        raise InputError(f"{name} is not an image file (JPEG, PNG, WebP, BMP, TIFF, GIF)") from error
    except Image.DecompressionBombError as error:
        raise InputError(f"{name} has more than {LARGEST_PIXELS:,} pixels: resize it and try again") from error
    except OSError as error:  # the decoder's words stay in the exception chain
        raise InputError(f"cannot read {name}: the file is damaged or not a supported image") from error
    width, height = image.size
    if width * height > max_pixels:  # a JPEG decodes at 1/2, 1/4 or 1/8 directly (this image is ours to change)
        factor = _factor(width * height, max_pixels)
        image.draft(None, (width // factor, height // factor))
    return _from_pil(image, max_pixels, name)


def _from_pil(image: Image.Image, max_pixels: int, name: str) -> np.ndarray:
    width, height = image.size
    if width * height > LARGEST_PIXELS:
        raise InputError(f"{name} has {width}x{height} pixels, more than {LARGEST_PIXELS:,}: resize it and try again")
    if width < 16 or height < 16:
        raise InputError(f"{name} is only {width}x{height} pixels; a face needs more")
    try:
        image.load()
        image = ImageOps.exif_transpose(_reduced(image, max_pixels))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InputError(f"{name} is truncated or corrupt: the image data ends early or is damaged") from error
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if values.max() > 255 else 255.0
        return _gray_to_rgb(np.clip(values / peak * 255 + 0.5, 0, 255).astype(np.uint8))
    if image.mode == "F":
        return _from_array(np.asarray(image), max_pixels)
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def _factor(pixels: int, max_pixels: int) -> int:
    """The smallest whole factor by which an image of ``pixels`` fits ``max_pixels``."""
    return max(math.ceil(math.sqrt(pixels / max_pixels)), 1)


def _reduced(image: Image.Image, max_pixels: int) -> Image.Image:
    """The image reduced by the smallest whole factor that fits ``max_pixels`` (the mean of each block)."""
    factor = _factor(image.width * image.height, max_pixels)
    if factor == 1:
        return image
    if image.mode in REDUCIBLE:
        image = image.convert(REDUCIBLE[image.mode])
    return image.reduce(factor)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[..., None], 3, axis=2)


def _from_array(array: np.ndarray, max_pixels: int) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InputError(f"expected an image array (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if array.shape[0] * array.shape[1] > max_pixels:
        raise InputError(f"image has {array.shape[1]}x{array.shape[0]} pixels, more than {max_pixels:,}")
    if array.dtype == np.uint8 and array.shape[2:] == (3,):  # RGB: not through floats (12 MP took 1.5 s, 600 MB)
        return _from_pil(Image.fromarray(array), max_pixels, "image array")
    if array.dtype == np.uint8:
        values = array.astype(np.float64) / 255
    elif array.dtype == np.uint16:
        values = array.astype(np.float64) / 65535
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise InputError("image array contains NaN or infinity")
        if array.max() > FLOAT_OVER_RANGE:
            raise InputError(f"a float image must hold values in [0, 1], this one goes up to {array.max():.4g}; "
                             "divide 0-255 values by 255 (or pass them as uint8)")  # fmt: skip
        values = np.clip(array.astype(np.float64), 0, 1)
    else:
        raise InputError(f"unsupported image dtype {array.dtype}; use uint8, uint16 or float in [0, 1]")
    if values.ndim == 2:
        values = _gray_to_rgb(values)
    if values.shape[2] == 4:
        alpha = values[..., 3:]
        values = values[..., :3] * alpha + (1 - alpha)
    return _from_pil(Image.fromarray((values * 255 + 0.5).astype(np.uint8)), max_pixels, "image array")
