import io
import warnings

import numpy as np
import pytest
from PIL import Image

from inversefacenet import InputError, load_image
from inversefacenet.images import photos_in, upright_size


def gradient(width=40, height=30):
    x = np.linspace(0, 255, width, dtype=np.uint8)[None, :, None]
    y = np.linspace(0, 255, height, dtype=np.uint8)[:, None, None]
    return np.concatenate([np.broadcast_to(x, (height, width, 1)), np.broadcast_to(y, (height, width, 1)),
                           np.full((height, width, 1), 128, np.uint8)], axis=2)  # fmt: skip


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def test_sources_agree(tmp_path):
    rgb = gradient()
    path = tmp_path / "g.png"
    Image.fromarray(rgb).save(path)
    for source in (path, str(path), path.read_bytes(), Image.fromarray(rgb), rgb):
        out = load_image(source)
        assert out.dtype == np.uint8 and out.shape == (30, 40, 3)
        np.testing.assert_array_equal(out, rgb)


def test_binary_file_objects_are_read(tmp_path):
    rgb = gradient()
    path = tmp_path / "g.png"
    Image.fromarray(rgb).save(path)
    with path.open("rb") as handle:
        np.testing.assert_array_equal(load_image(handle), rgb)
    np.testing.assert_array_equal(load_image(io.BytesIO(path.read_bytes())), rgb)


@pytest.mark.parametrize(
    ("handle", "words"),
    [
        (io.StringIO("not bytes"), "binary mode"),
        (io.BytesIO(b""), "empty"),
        (io.BytesIO(b"%PDF-1.4 no image"), "not an image file"),
    ],
)
def test_unusable_file_objects_say_why(handle, words):
    with pytest.raises(InputError, match=words):
        load_image(handle)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16"])
def test_modes_become_rgb(mode):
    rgb = Image.fromarray(gradient())
    if mode == "I;16":
        gray = np.asarray(rgb.convert("L"), np.uint16) * 257
        image = Image.fromarray(gray)
        assert image.mode.startswith("I;16")
        expected = np.repeat(np.asarray(rgb.convert("L"))[..., None], 3, axis=2)
    else:
        image = rgb.convert(mode)
        expected = np.asarray(image.convert("RGB"))
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    out = load_image(encode(image, fmt))
    assert out.shape == (30, 40, 3)
    tolerance = 12 if fmt == "JPEG" else 1
    assert np.abs(out.astype(int) - expected.astype(int)).mean() < tolerance


def test_transparent_pixels_become_white():
    rgba = np.zeros((20, 20, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:10, :, 3] = 255  # top half opaque red, bottom half transparent
    out = load_image(encode(Image.fromarray(rgba), "PNG"))
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(out[-1, 0], [255, 255, 255])


def test_exif_orientation_is_applied():
    rgb = gradient(40, 30)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(Image.fromarray(rgb), "JPEG", exif=exif, quality=95)
    out = load_image(data)
    assert out.shape == (40, 30, 3)
    # the top row of the stored image (red ramps left to right) becomes the right column
    assert out[0, -1, 0] < out[-1, -1, 0]


def test_float_and_uint16_arrays():
    rgb = gradient()
    np.testing.assert_allclose(load_image(rgb.astype(np.float32) / 255), rgb, atol=1)
    np.testing.assert_allclose(load_image(rgb.astype(np.uint16) * 257), rgb, atol=1)
    gray = load_image(rgb[..., 0])
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])


@pytest.mark.parametrize(
    "source, message",
    [
        (b"definitely not an image", "not an image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64), "is a HEIC/HEIF photo"),  # an iPhone's
        (b"\x00\x00\x00\x18ftypisom" + bytes(64), "not an image"),  # an MP4's box, not a HEIF brand
        (np.full((20, 20, 3), np.nan, np.float32), "NaN"),
        (np.full((20, 20, 3), 200.0), "divide 0-255 values by 255"),
        (np.zeros((20, 20, 5), np.uint8), "expected an image array"),
        (np.zeros((20, 20, 3), np.int64), "unsupported image dtype"),
        (np.zeros((8, 8, 3), np.uint8), "only 8x8"),
        (12345, "expected a path"),
        ("/no/such/photo.jpg", "no such file"),
        ("/", "is a folder"),
    ],
)
def test_bad_inputs_raise_input_error(source, message):
    with pytest.raises(InputError, match=message):
        load_image(source)


def test_a_folder_lists_its_heic_photos_so_that_each_says_what_it_is(tmp_path):
    """A trial's folder of iPhone photos said it held no image files; each HEIC now gets its own message."""
    (tmp_path / "IMG_0001.HEIC").write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64))
    (tmp_path / "notes.txt").write_text("not a photo")
    assert [path.name for path in photos_in(tmp_path)] == ["IMG_0001.HEIC"]
    with pytest.raises(InputError, match="HEIC/HEIF photo"):
        load_image(tmp_path / "IMG_0001.HEIC")


def test_truncated_file_raises_input_error():
    data = encode(Image.fromarray(gradient(200, 200)), "JPEG")
    with pytest.raises(InputError, match="truncated|corrupt|cannot read"):
        load_image(data[: len(data) // 2])


def test_a_file_that_cannot_be_read_says_so(tmp_path, monkeypatch):
    """Not an error of the photo's content: the CLI called a photo it had no permission to read a failed write."""
    photo = tmp_path / "locked.png"
    Image.fromarray(gradient(32, 32)).save(photo)

    def refused(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(photo), "open", refused)
    with pytest.raises(InputError, match=f"cannot read {photo}: Permission denied"):
        load_image(photo)


def block_means(rgb: np.ndarray, factor: int) -> np.ndarray:
    height, width = rgb.shape[0] // factor * factor, rgb.shape[1] // factor * factor
    blocks = rgb[:height, :width].reshape(height // factor, factor, width // factor, factor, 3)
    return blocks.astype(np.float64).mean(axis=(1, 3))


def test_a_photo_larger_than_the_working_size_is_reduced_by_a_whole_factor():
    rgb = gradient(400, 300)
    out = load_image(encode(Image.fromarray(rgb), "PNG"), max_pixels=40_000)  # 120,000 px: factor 2 fits
    assert out.shape == (150, 200, 3)
    np.testing.assert_allclose(out, block_means(rgb, 2), atol=1)  # each pixel the mean of its 2 x 2 block
    palette = Image.fromarray(rgb).quantize(64)  # averaged as colours, not as palette indices
    expected = block_means(np.asarray(palette.convert("RGB")), 2)
    np.testing.assert_allclose(load_image(encode(palette, "PNG"), max_pixels=40_000), expected, atol=1)


def test_a_large_jpeg_is_reduced_while_it_decodes_and_keeps_its_exif_turn():
    rgb = gradient(800, 600)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    out = load_image(encode(Image.fromarray(rgb), "JPEG", exif=exif, quality=95), max_pixels=60_000)
    assert out.shape[0] * out.shape[1] <= 60_000 and out.shape == (200, 150, 3)  # factor 3: 1/2 in the decoder, then 2
    upright = np.rot90(block_means(rgb, 4), k=-1)
    assert np.abs(out - upright).mean() < 2


def test_the_upright_size_of_a_file_follows_its_exif_turn(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(gradient(80, 60)).save(tmp_path / "turned.jpg", exif=exif)
    Image.fromarray(gradient(80, 60)).save(tmp_path / "upright.png")
    assert upright_size(tmp_path / "turned.jpg") == (60, 80) == load_image(tmp_path / "turned.jpg").shape[1::-1]
    assert upright_size(tmp_path / "upright.png") == (80, 60)


def test_a_photo_beyond_the_largest_size_is_refused_from_its_header(monkeypatch):
    monkeypatch.setattr("inversefacenet.images.LARGEST_PIXELS", 100_000)
    data = encode(Image.fromarray(gradient(400, 300)), "PNG")
    with pytest.raises(InputError, match="has 400x300 pixels, more than 100,000: resize it"):
        load_image(data)


def test_a_photo_over_pils_warning_size_loads_without_its_warning(monkeypatch, tmp_path):
    """PIL warns of a decompression bomb from MAX_IMAGE_PIXELS on; such a photo is wanted here (reduced while it
    decodes), so the server's log does not say so on every large upload."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 80 - 1)
    Image.fromarray(gradient(100, 80)).save(tmp_path / "large.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load_image(tmp_path / "large.png").shape == (80, 100, 3)
        assert upright_size(tmp_path / "large.png") == (100, 80)
    with pytest.warns(Image.DecompressionBombWarning):  # PIL's own open still warns: the check is ours
        Image.open(tmp_path / "large.png")


def test_messages_speak_plain_words_not_library_names():
    data = encode(Image.fromarray(gradient(200, 200)), "JPEG")
    for source in (b"not an image at all", data[: len(data) // 2], data[:40]):
        with pytest.raises(InputError) as raised:
            load_image(source)
        assert "PIL" not in str(raised.value) and "Pillow" not in str(raised.value)


def test_a_folder_leaves_out_hidden_files(tmp_path):
    """A Mac's metadata twin ``._photo.jpg`` (AppleDouble, not a JPEG) and an interrupted write's temporary file."""
    Image.new("RGB", (8, 8), "red").save(tmp_path / "photo.jpg")
    (tmp_path / "._photo.jpg").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X" + bytes(64))
    Image.new("RGB", (8, 8), "red").save(tmp_path / ".photo_overlay.k3j2.png")
    assert [path.name for path in photos_in(tmp_path)] == ["photo.jpg"]
