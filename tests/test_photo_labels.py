"""Real photos labelled by the fit: the labels a network trains on say what the photo's own crop shows."""

import cv2
import numpy as np
import pytest

from inversefacenet.pipeline import Reconstructor
from inversefacenet.preprocess import Crop, face_mask
from inversefacenet.render.renderer import render
from tests.conftest import known_face, photo_of
from training.corpus import SyntheticStream
from training.devset import split_halves
from training.photo_labels import PhotoFaces, PhotoLabels, label_photos

SIZE = 96


def known_photo_labels(model, tmp_path, scatter_px: float = 6.0) -> PhotoLabels:
    """A 256 px photo of a known face labelled with its truth; its "detected" points are the model's own,
    moved right by ``scatter_px`` (MediaPipe's points sit off the model's vertices)."""
    params = known_face(model, 7)
    photo, out = photo_of(model, params, 256)
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    points = out.pixels[0, model.landmarks_mediapipe, :2] + [scatter_px, 0]
    framing = np.array([[1 / 256, 0.0, 0.0]])  # the photo is the render's own crop: its framing, of side 1
    return PhotoLabels([str(path)], np.zeros(1, int), points[None].astype(np.float32), params.pack(), framing)


def test_a_labelled_crop_shows_its_label_where_its_alignment_says(model, tmp_path):
    """Rendered at the exact crop and moved into the input's crop by the alignment label, the label's face
    covers the photo's face: the parameters and the crop alignment both describe the pixels the network sees,
    whether the crop was cut at the scattered points' rule or at the fitted framing, jittered."""
    labels = known_photo_labels(model, tmp_path)
    labels.save(tmp_path / "labels.npz")
    loaded = PhotoLabels.load(tmp_path / "labels.npz")
    assert loaded.photos == labels.photos  # paths, not pixels
    inputs, params, alignments = PhotoFaces(loaded, SIZE).sample(12, np.random.default_rng(1))
    np.testing.assert_array_equal(params, np.repeat(labels.parameters, 12, axis=0))
    assert np.ptp(alignments[:, 0]) > 0.02  # the crops differ: jitter and two starts
    rendered = render(model, known_face(model, 7), SIZE)
    face = np.clip(rendered.image[0], 0, 1)
    for pixels, alignment in zip(inputs, alignments, strict=True):
        exact = Crop(1.0, (0.0, 0.0), SIZE).aligned(alignment)  # the exact crop, in the input crop's pixels
        to_input = np.array([[1 / exact.scale, 0, -exact.offset[0] / exact.scale],
                             [0, 1 / exact.scale, -exact.offset[1] / exact.scale]])  # fmt: skip
        moved = cv2.warpAffine(face, to_input, (SIZE, SIZE))
        points = (rendered.pixels[0, model.landmarks_mediapipe, :2] - exact.offset) / exact.scale
        inside = face_mask(points, SIZE) & (np.abs(pixels).sum(axis=2) > 0)
        inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # edges resample
        assert inside.sum() > 0.2 * SIZE * SIZE
        assert np.abs(pixels + 0.5 - moved)[inside].mean() < 0.02


def test_a_stream_mixes_labelled_photos_into_its_batches(model, tmp_path):
    labels = known_photo_labels(model, tmp_path)
    photos = PhotoFaces(labels, SIZE)
    stream = SyntheticStream(model, SIZE, 8, seed=2, alignment=True, photos=photos, photo_share=0.5)
    inputs, targets = stream.batch(0)
    again, _ = stream.batch(0)
    np.testing.assert_array_equal(inputs, again)  # deterministic: resumable
    size = model.layout.size
    from_photo = np.all(np.isclose(targets[:, :size], labels.parameters), axis=1)
    assert 0 < from_photo.sum() < 8  # some rows are the photo's face, the others rendered faces
    assert np.all(np.abs(targets[from_photo, size:]).max(axis=1) > 0)  # cut off the exact crop: it says where
    with pytest.raises(ValueError, match="needs labelled photos"):
        SyntheticStream(model, SIZE, 8, seed=2, photo_share=0.5)


def test_labelling_a_folder_fits_each_face_and_skips_what_is_not_a_photo(model, tmp_path):
    """The teacher is the pipeline's fit: on a render of a known face its label is near the truth, and its
    framing puts the model's landmarks where the face is in the photo."""
    params = known_face(model, 7)
    photo, _ = photo_of(model, params, 256)
    cv2.imwrite(str(tmp_path / "face.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    (tmp_path / "notes.jpg").write_text("not an image")
    labels = label_photos(tmp_path, Reconstructor.load())  # the shipped network, then the pipeline's fit
    assert labels.photos == [str(tmp_path / "face.png")] and len(labels.parameters) == 1
    fitted = labels.parameters[0]
    rotation_error = np.degrees(np.abs(fitted[:3] - params.rotation[0])).max()
    assert rotation_error < 2.0  # 0.65 deg when written
    framed = labels.framed(0, 256)
    truth = Crop(1.0, (0.0, 0.0), 256)  # the photo is the render's own crop
    np.testing.assert_allclose(framed.alignment_to(truth), 0, atol=0.01)  # 0.5 px of 256 when written


def test_the_development_set_splits_into_alternate_halves(tmp_path):
    """Every other image by name into the first half, the rest into the second; other files stay out."""
    folder = tmp_path / "devset"
    folder.mkdir()
    names = ["a.jpg", "b.png", "c.jpg", "d.webp", "e.JPG"]
    for name in [*names, "SOURCES.md"]:
        (folder / name).write_bytes(b"x")
    split_halves(folder, tmp_path / "one", tmp_path / "two")
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["a.jpg", "c.jpg", "e.JPG"]
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["b.png", "d.webp"]
    assert (tmp_path / "two" / "b.png").resolve() == (folder / "b.png").resolve()
