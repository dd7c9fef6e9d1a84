"""The live tab's recording without a server (demo.recording, demo.live): one recording per session holding the
tracked face's own parameters, its time limit, and its export, which pygltflib and three.js play back frame by
frame (three.js's GLTFLoader and AnimationMixer in Chromium, as in tests/test_animate.py)."""

import base64
import json
import time
from dataclasses import replace

import numpy as np
import pygltflib
import pytest
from scipy.spatial.transform import Rotation

from benchmarks.live_video import moving_frames
from demo.live import FPS_PAUSE_S, LIVE_TRACKING, LiveSession
from demo.recording import Recording
from inversefacenet import FaceParameters, Reconstructor, rotation_matrix
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT
from inversefacenet.detection import LandmarkDetector
from inversefacenet.images import load_image
from inversefacenet.predictor import load_predictor
from inversefacenet.tracking import Tracker
from tests.conftest import known_face, photo_of
from tests.test_animate import accessor, three_page  # noqa: F401 - three_page is a fixture used below

TIMES = np.array([0.0, 0.04, 0.1, 0.2, 0.35])
"""Recorded frame times (s), unevenly spaced as a stream's are."""
CLOCK_S = 1234.5
"""The clock reading of the first recorded frame: recordings count time from their first frame."""


@pytest.fixture(scope="module")
def reconstructor(model):
    """The network without the fit, as the live tab runs it."""
    detector = LandmarkDetector()
    yield Reconstructor(model, detector, load_predictor(DEFAULT_CHECKPOINT, model), fit_mode=None)
    detector.close()


@pytest.fixture(scope="module")
def recorded(model, tmp_path_factory):
    """Five frames: the jaw opening and closing, a smile, the head turning; and their exported files."""
    frames = FaceParameters.concatenate([known_face(model, 7)] * len(TIMES))
    names = model.expression_names
    frames.expression[:, names.index("jawOpen")] = [0.0, 0.6, 1.0, 0.3, 0.1]
    frames.expression[:, names.index("mouthSmileRight")] = [0.2, 0.0, 0.5, 0.9, 0.4]
    frames.rotation[:, 1] = np.radians([-20, -5, 10, 25, 5])
    recording = Recording()
    for k, time_s in enumerate(TIMES):
        assert recording.add(frames.select(slice(k, k + 1)), CLOCK_S + time_s)
    data, glb = recording.export(model, tmp_path_factory.mktemp("recording"))
    return frames, json.loads(data.read_text()), pygltflib.GLTF2.load(glb)


def test_the_json_has_every_frame_with_its_time_and_the_arkit_weights_by_name(model, recorded):
    frames, data, _ = recorded
    assert [frame["time_s"] for frame in data["frames"]] == pytest.approx(TIMES, abs=1e-9)
    assert data["face_model_sha256"] == model.sha256 and len(model.expression_names) == 52
    for k, frame in enumerate(data["frames"]):
        assert list(frame["expression"]) == model.expression_names
        np.testing.assert_allclose(list(frame["expression"].values()), frames.expression[k], atol=1e-7)
        pitch, yaw, roll = np.degrees(frames.rotation[k])
        assert frame["rotation_deg"] == pytest.approx({"pitch": pitch, "yaw": yaw, "roll": roll}, abs=1e-4)
        np.testing.assert_allclose(frame["shape"], frames.shape[k], atol=1e-7)
        np.testing.assert_allclose(frame["albedo"], frames.albedo[k], atol=1e-7)
        np.testing.assert_allclose(frame["sh"], frames.sh[k], atol=1e-7)


def test_the_glb_has_a_keyframe_per_frame_with_its_weights_and_head_rotation(model, recorded):
    frames, _, gltf = recorded
    (animation,) = gltf.animations
    samplers = {channel.target.path: animation.samplers[channel.sampler] for channel in animation.channels}
    assert set(samplers) == {"weights", "rotation"} and {c.target.node for c in animation.channels} == {0}
    assert gltf.meshes[gltf.nodes[0].mesh].extras["targetNames"] == model.expression_names
    for sampler in samplers.values():
        assert sampler.interpolation == "LINEAR"
        np.testing.assert_allclose(accessor(gltf, sampler.input)[:, 0], TIMES, atol=1e-7)
    weights = accessor(gltf, samplers["weights"].output)
    assert weights.shape == (len(TIMES) * 52, 1)
    np.testing.assert_array_equal(weights.reshape(len(TIMES), 52), frames.expression)  # keyframe k = frame k
    matrices = Rotation.from_quat(accessor(gltf, samplers["rotation"].output)).as_matrix()  # glTF: x, y, z, w
    np.testing.assert_allclose(matrices, rotation_matrix(frames.rotation.astype(np.float64)), atol=1e-6)


def test_three_js_at_frame_ks_time_shows_frame_ks_weights(model, recorded, three_page):  # noqa: F811
    frames, _, gltf = recorded
    glb = base64.b64encode(b"".join(gltf.save_to_bytes())).decode()
    # the page's clip loops, and a looping clip at its very end is back at frame 0: the last keyframe is read 1 us
    # before (its weights then differ from frame 4's by at most 1e-6 s / 0.15 s x 0.5, about 3e-6)
    for k, time_s in enumerate([*TIMES[:-1], TIMES[-1] - 1e-6]):
        result = three_page.evaluate("([glb, time]) => window.morphed(glb, {}, time)", [glb, time_s])
        assert result["names"] == model.expression_names
        np.testing.assert_allclose(result["sampled"]["influences"], frames.expression[k], atol=1e-5)
    halfway = three_page.evaluate("([glb, time]) => window.morphed(glb, {}, time)", [glb, 0.15])  # frames 2 and 3
    np.testing.assert_allclose(halfway["sampled"]["influences"], frames.expression[2:4].mean(0), atol=1e-6)


def test_a_recording_stops_at_its_limit_and_counts_time_from_its_first_frame(model):
    recording = Recording(limit_s=1.0)
    params = known_face(model, 1)
    kept = [recording.add(params, CLOCK_S + t) for t in (0.0, 0.5, 0.5, 1.0, 1.2, 0.9)]
    assert kept == [True, True, False, True, False, False]  # a repeated time, then past the limit: full for good
    assert recording.full and "full" in recording.status()
    _, times = recording.snapshot()
    np.testing.assert_allclose(times, [0.0, 0.5, 1.0])
    params.expression[:] = 0.9  # the caller reuses its arrays: the recording keeps what it was given
    frames, _ = recording.snapshot()
    assert frames.expression[0, model.expression_names.index("jawOpen")] == pytest.approx(0.3)
    recording.restart()
    assert len(recording) == 0 and not recording.full and recording.add(params, CLOCK_S + 5)
    with pytest.raises(ValueError, match="one face, got a batch of 2"):
        recording.add(FaceParameters.concatenate([params, params]), CLOCK_S + 6)
    with pytest.raises(ValueError, match="Nothing recorded yet"):
        Recording().snapshot()


def test_a_recording_keeps_to_one_person_and_says_when_another_is_tracked(model):
    """The tracker moved to another face (a new person): those frames are not kept and the status line says so; the
    first person's frames go on when they are back; a new recording takes whoever comes first."""
    frames = FaceParameters.neutral(model.layout, 6)
    recording = Recording()
    kept = [recording.add(frames.select(slice(k, k + 1)), k / 10, person) for k, person in enumerate([4, 4, 7, 7])]
    assert kept == [True, True, False, False] and len(recording) == 2
    assert "another face is tracked" in recording.status()
    assert recording.add(frames.select(slice(4, 5)), 0.4, 4) and "another" not in recording.status()
    recording.restart()
    assert recording.add(frames.select(slice(5, 6)), 0.5, 7) and len(recording) == 1


def test_two_sessions_keep_separate_recordings_of_their_own_tracked_faces(reconstructor):
    frames = moving_frames(12)[::3]  # four frames, the head visibly moved between them
    blank = np.full_like(frames[0], 90)
    alice, bob = LiveSession(reconstructor), LiveSession(reconstructor)
    options = ("side light", True, False)  # light, in_video, no smoothing: the tracker alone decides the parameters
    try:
        for frame in frames[:3]:
            assert "recording: " in alice.frame(frame, *options, record=True)[1]
        bob.frame(blank, *options, record=True)  # no face: nothing to keep
        assert bob.frame(frames[3], *options, record=True)[1].endswith("recording: 1 frame, 0.0 s")
        alice.frame(frames[3], *options, record=False)  # Record off: not kept
        assert (len(alice.recording), len(bob.recording)) == (3, 1)
        alice_files, bob_files = alice.export_recording(), bob.export_recording()
        assert alice_files[0].parent != bob_files[0].parent
        assert [len(json.loads(files[0].read_text())["frames"]) for files in (alice_files, bob_files)] == [3, 1]
        # what each kept is its own tracker's face: the same frames through a fresh tracker, same times
        recorded, times = alice.recording.snapshot()
        tracker = Tracker(reconstructor, replace(LIVE_TRACKING, smoothing=False))
        expected = [tracker(frame, time_s)[0][0].params for frame, time_s in zip(frames[:3], times, strict=True)]
        tracker.close()
        np.testing.assert_allclose(recorded.pack(), FaceParameters.concatenate(expected).pack(), atol=1e-5)
        assert np.abs(recorded.rotation[2] - bob.recording.snapshot()[0].rotation[0]).max() > np.radians(1)
        alice.frame(frames[0], *options, record=True)  # switched on again: a new recording
        assert len(alice.recording) == 1 and len(bob.recording) == 1
    finally:
        alice.close()
        bob.close()
    assert not alice.folder.exists() and not bob.folder.exists()


@pytest.mark.parametrize("seed", [2, 4])
def test_the_face_pasted_into_the_frame_covers_the_face_that_was_there(model, reconstructor, seed):
    """The model's face under a preset, pasted where the tracked parameters are framed, lands on the rendered face
    of a known face: the frame's changed pixels against its true silhouette."""
    canvas = np.full((360, 480, 3), 140, np.uint8)
    face, out = photo_of(model, known_face(model, seed), 240)
    canvas[60:300, 120:360] = face
    session = LiveSession(reconstructor)
    try:
        relit, status = session.frame(canvas, "side light", True, False, own_skin=False)
    finally:
        session.close()
    assert status.startswith("detector")
    changed = np.abs(relit.astype(int) - canvas.astype(int)).max(axis=-1) > 0
    truth = np.zeros(canvas.shape[:2], bool)
    truth[60:300, 120:360] = out.raster.mask[0]
    centres = [np.argwhere(region).mean(axis=0) for region in (changed, truth)]
    assert (changed & truth).sum() / (changed | truth).sum() > 0.85  # measured: 0.90, 0.92
    assert np.linalg.norm(centres[0] - centres[1]) < 6  # px, of a face about 160 px wide (measured: 3.3, 4.3)


def test_with_the_persons_own_skin_the_hair_around_the_face_is_relit_and_the_background_is_not(reconstructor):
    """The example photo as webcam frames under the side light: the hair above the forehead, beyond the face model
    and the fade around it, changes with the face, as the photo tab's person mask makes it (it stayed as shot
    before); the background does not."""
    frame = load_image("assets/examples/astronaut.jpg")
    x0, y0, x1, y1 = reconstructor.detector(frame)[0].box
    session = LiveSession(reconstructor)
    try:
        for _ in range(3):  # the first frame finds the face; then it is tracked
            relit, _ = session.frame(frame, "side light", True, False, own_skin=True)
    finally:
        session.close()
    change = np.abs(relit.astype(int) - frame).max(axis=-1)
    hair = change[int(y0 - 0.25 * (y1 - y0)) : int(y0 - 0.15 * (y1 - y0)), int(x0) : int(x1)]
    assert hair.mean() > 5
    assert change[:40, :40].max() == 0  # the background's corner


def test_the_frame_rate_after_a_pause_counts_the_frames_since(reconstructor):
    """A stream stopped and started again: the rate shown is the new stream's, not one averaged over the pause."""
    session = LiveSession(reconstructor)
    blank = np.full((240, 320, 3), 90, np.uint8)
    for _ in range(3):
        session.frame(blank, "side light", True, True)
    time.sleep(FPS_PAUSE_S + 0.5)
    for _ in range(3):
        session.frame(blank, "side light", True, True)
    session.close()
    assert session.fps > 5, session.fps  # averaged over the pause: 5 frames in over 1.5 s, under 3.4


def test_a_frame_that_comes_while_one_is_processed_is_dropped_and_changes_nothing(reconstructor):
    """The stream sends the next frame before the last is answered: it gets None (the app's outputs stay as they
    are) instead of the last image again, which Gradio wrote again to the cache file it was serving."""
    session = LiveSession(reconstructor)
    blank = np.full((240, 320, 3), 90, np.uint8)
    with session._busy:  # the frame before, still being processed
        assert session.frame(blank, "side light", True, True) is None
    image, status = session.frame(blank, "side light", True, True)
    session.close()
    assert image.shape == blank.shape and status.startswith("No face in view")
