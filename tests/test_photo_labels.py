"""Real photos labelled by the fit: the labels a network trains on say what the photo's own crop shows."""

import json

import cv2
import numpy as np
import pytest

from inversefacenet.params import FaceParameters
from inversefacenet.pipeline import DEFAULT_CHECKPOINT, Reconstructor
from inversefacenet.preprocess import Crop, crop_input, face_mask
from inversefacenet.render.renderer import render
from tests.conftest import known_face, photo_of
from training.corpus import SyntheticStream, rendered_into_photos
from training.devset import split_halves
from training.evaluate_photos import main as evaluate_photos_main
from training.photo_labels import PhotoFaces, PhotoLabels, label_photos
from training.realism import Realism

SIZE = 96


def known_photo_labels(model, tmp_path, scatter_px: float = 6.0, margin: int = 0) -> PhotoLabels:
    """A photo of a known face labelled with its truth: the face's 256 px crop with ``margin`` px of its grey
    background around it. Its "detected" points are the model's own, moved right by ``scatter_px``
    (MediaPipe's points sit off the model's vertices)."""
    params = known_face(model, 7)
    photo, out = photo_of(model, params, 256)
    photo = np.pad(photo, ((margin, margin), (margin, margin), (0, 0)), mode="edge")
    path = tmp_path / "face.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    points = out.pixels[0, model.landmarks_mediapipe, :2] + [scatter_px + margin, margin]
    framing = np.array([[1 / 256, -margin / 256, -margin / 256]])  # the render's own crop, of side 1
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
    for pixels, alignment in zip(inputs, alignments, strict=True):
        assert label_error(model, known_face(model, 7), pixels, alignment) < 0.02


def label_error(model, params, pixels: np.ndarray, alignment: np.ndarray) -> float:
    """Mean absolute difference, inside the face, between a network input (S, S, 3) and ``params`` rendered at
    the exact crop and moved into the input's crop by its ``alignment`` label."""
    rendered = render(model, params, SIZE)
    exact = Crop(1.0, (0.0, 0.0), SIZE).aligned(alignment)  # the exact crop, in the input crop's pixels
    to_input = np.array([[1 / exact.scale, 0, -exact.offset[0] / exact.scale],
                         [0, 1 / exact.scale, -exact.offset[1] / exact.scale]])  # fmt: skip
    moved = cv2.warpAffine(np.clip(rendered.image[0], 0, 1), to_input, (SIZE, SIZE))
    points = (rendered.pixels[0, model.landmarks_mediapipe, :2] - exact.offset) / exact.scale
    inside = face_mask(points, SIZE) & (np.abs(pixels).sum(axis=2) > 0)
    inside = cv2.erode(inside.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)  # edges resample
    assert inside.sum() > 0.2 * SIZE * SIZE
    return float(np.abs(pixels + 0.5 - moved)[inside].mean())


def test_faces_rendered_into_labelled_photos_show_their_labels_among_the_photos_surroundings(model, tmp_path):
    """Unperturbed and uncut, a face rendered into its labelled photo is that photo: the fit's face where the
    photo's is, the photo around it, nothing to align. Perturbed and jittered, each input shows its own
    parameters where its alignment label says, over the photo's own background."""
    labels = known_photo_labels(model, tmp_path, scatter_px=0.0, margin=64)
    photos = PhotoFaces(labels, SIZE, "none")
    same, params = rendered_into_photos(model, photos, 2, np.random.default_rng(0), Realism.none(), "none",
                                        noise=0.0, jitter=(0.0, 0.0))  # fmt: skip
    np.testing.assert_allclose(params, np.repeat(labels.parameters, 2, axis=0), atol=1e-6)
    np.testing.assert_allclose(same.alignment, 0, atol=0.01)
    photo = crop_input(photos.images[0], labels.landmarks[0], labels.framed(0, SIZE), "none")
    face = cv2.erode(face_mask(labels.framed(0, SIZE).to_crop(labels.landmarks[0]), SIZE).astype(np.uint8),
                     np.ones((5, 5), np.uint8)).astype(bool)  # fmt: skip
    assert np.abs(same.inputs[0] - photo)[face].mean() < 0.01  # the coarse mesh's shading: 0.0027 when written
    assert np.abs(same.inputs[0] - photo)[~face].mean() < 0.01  # its outline: 0.0031 when written
    inputs, params = rendered_into_photos(model, photos, 8, np.random.default_rng(1), Realism.none(), "none")
    assert np.abs(params - labels.parameters).max(axis=1).min() > 0.05  # each face perturbed
    assert np.ptp(inputs.alignment[:, 0]) > 0.02  # and cut at jittered crops
    for pixels, row, alignment in zip(inputs.inputs, params, inputs.alignment, strict=True):
        assert label_error(model, FaceParameters.unpack(model.layout, row[None]), pixels, alignment) < 0.01  # 0.003
        corner = pixels[:8, :8] + 0.5  # the photo's background, not a render's black
        assert np.abs(corner - 0.55).max() < 0.01


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
    with pytest.raises(ValueError, match="needs labelled photos"):
        SyntheticStream(model, SIZE, 8, seed=2, composite_share=0.5)


def test_a_stream_mixes_faces_rendered_into_labelled_photos_into_other_rows(model, tmp_path):
    """Rows of the photos themselves, rows of faces rendered into them (their labels perturbed, near the
    photo's), rows of the corpus: never two kinds in one row, the same rows on every run."""
    labels = known_photo_labels(model, tmp_path)
    stream = SyntheticStream(model, SIZE, 16, seed=3, alignment=True, photos=PhotoFaces(labels, SIZE),
                             photo_share=0.3, composite_share=0.4)  # fmt: skip
    inputs, targets = stream.batch(0)
    np.testing.assert_array_equal(inputs, stream.batch(0)[0])
    distance = np.abs(targets[:, : model.layout.size] - labels.parameters).max(axis=1)
    from_photo, rendered_in = distance == 0, (distance > 0) & (distance < 2.0)  # the corpus's are further
    assert from_photo.sum() > 0 and rendered_in.sum() > 0 and (~from_photo & ~rendered_in).sum() > 0


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


def test_the_development_set_scores_the_networks_alone_without_the_fit(model, tmp_path):
    """``--no-fit``: one row per checkpoint, its network alone, on every face found; a render of a known face
    agrees with the points MediaPipe finds on it to a few percent of the eyes' distance."""
    folder = tmp_path / "photos"
    folder.mkdir()
    photo, _ = photo_of(model, known_face(model, 7), 256)
    cv2.imwrite(str(folder / "face.png"), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    report = tmp_path / "report.json"
    evaluate_photos_main([str(DEFAULT_CHECKPOINT), "--photos", str(folder), "--no-fit", "--report", str(report)])
    rows = json.loads(report.read_text())["results"]
    assert list(rows) == [f"{DEFAULT_CHECKPOINT}: network alone"]
    row = rows[f"{DEFAULT_CHECKPOINT}: network alone"]
    assert row["faces"] == 1 and row["landmark_agreement_iod"] < 0.1 and 0 < row["photometric_rmse"] < 40
