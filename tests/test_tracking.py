"""Video tracking: regions follow the face without the detector (a jump is found near its region), optical flow
between meshes, One Euro smoothing."""

import threading

import cv2
import numpy as np
import pytest

from benchmarks.pipeline import shifted_video
from inversefacenet import Reconstructor, detection, tracking
from inversefacenet.checkpoint import DEFAULT_CHECKPOINT, Predictor
from inversefacenet.detection import LandmarkDetector
from inversefacenet.images import load_image
from inversefacenet.preprocess import crop_for_landmarks
from inversefacenet.tracking import OneEuroFilter, Tracker, TrackerConfig

EXAMPLE = "assets/examples/astronaut.jpg"
ANOTHER_CROP_DEG = 2.0
"""How far apart (deg, largest angle) one face's readings on two crops a few pixels apart may lie: the network's
sensitivity to its crop (1.2 on average over three frames of the example video, the shipped network read both ways;
its error on the realistic row is 2.4)."""


@pytest.fixture(scope="module")
def reconstructor(model):
    detector = LandmarkDetector()
    yield Reconstructor(model, detector, predictor=Predictor.load(DEFAULT_CHECKPOINT, model), fit_mode=None)
    detector.close()


@pytest.fixture(scope="module")
def video():
    return shifted_video(load_image(EXAMPLE), 12)


def test_one_euro_filter_steadies_a_still_signal_and_follows_a_moving_one():
    rng = np.random.default_rng(0)
    times = np.arange(120) / 30
    still = 1 + 0.05 * rng.normal(size=(120, 1))
    smooth = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    out = np.array([smooth(x, t) for x, t in zip(still, times, strict=True)])
    assert out[30:].std() < 0.5 * still[30:].std()
    ramp = times[:, None] * 2.0
    follow = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    lag = ramp[-1] - [follow(x, t) for x, t in zip(ramp, times, strict=True)][-1]
    assert 0 < lag[0] < 0.1  # 2 units/s: under 50 ms behind
    assert OneEuroFilter(1.0, 0.0)(np.array([3.0]), 0.0)[0] == 3.0  # the first sample passes unchanged


def test_smoothing_holds_the_identity_from_the_tracks_first_frames(reconstructor, video):
    """With smoothing, shape and albedo are the mean of the first readings, then held; a new track starts afresh.
    The readings come from a tracker without smoothing on the same frames (smoothing does not move the crops)."""
    frames, _ = video
    raw_tracker = Tracker(reconstructor, TrackerConfig(smoothing=False))
    held_tracker = Tracker(reconstructor, TrackerConfig(identity_frames=5))
    raw = [raw_tracker(frame, k / 30)[0][0].params for k, frame in enumerate(frames)]
    held = [held_tracker(frame, k / 30)[0][0].params for k, frame in enumerate(frames)]
    for k, params in enumerate(held):
        first = raw[: min(k + 1, 5)]
        np.testing.assert_allclose(params.shape, np.mean([p.shape for p in first], axis=0), atol=1e-6)
        np.testing.assert_allclose(params.albedo, np.mean([p.albedo for p in first], axis=0), atol=1e-6)
    assert np.abs(raw[-1].shape - raw[4].shape).max() > 1e-4  # the readings did vary after the fifth frame
    assert not np.allclose(held[-1].expression, raw[-1].expression)  # the rest is filtered, not held
    held_tracker.reset()
    again = held_tracker(frames[0], 1.0)[0][0].params
    np.testing.assert_allclose(again.shape, raw[0].shape, atol=1e-6)


def test_tracked_crops_follow_the_face_without_the_detector(reconstructor, video):
    frames, shifts = video
    tracker = Tracker(reconstructor, TrackerConfig(mesh_every=1, smoothing=False))
    first, ms = tracker(frames[0], 0.0)
    assert [face.source for face in first] == ["detector"] and "detection" in ms
    reference = first[0].landmarks[:468, :2] - shifts[0]
    for k in range(1, len(frames)):
        faces, ms = tracker(frames[k], k / 30)
        assert [face.source for face in faces] == ["mesh"] and "detection" not in ms
        moved = np.linalg.norm(faces[0].landmarks[:468, :2] - shifts[k] - reference, axis=1).mean()
        assert moved < 2.0, (k, moved)
    alone = reconstructor.reconstruct_image(frames[-1])[0].params.pack()
    assert np.abs(np.degrees(faces[0].params.rotation - alone[:, :3])).max() < 3


def test_optical_flow_carries_the_landmarks_between_meshes(reconstructor, video):
    frames, shifts = video
    tracker = Tracker(reconstructor, TrackerConfig(mesh_every=3, smoothing=False))
    sources = []
    for k, frame in enumerate(frames):
        faces, _ = tracker(frame, k / 30)
        sources.append(faces[0].source)
        if k == 0:
            reference = faces[0].landmarks[:468, :2] - shifts[0]
        moved = np.linalg.norm(faces[0].landmarks[:468, :2] - shifts[k] - reference, axis=1).mean()
        assert moved < 2.0, (k, sources[-1], moved)
    assert sources[:7] == ["detector", "flow", "flow", "mesh", "flow", "flow", "mesh"]


def test_the_mesh_runs_beside_the_network_and_gives_the_same_points(reconstructor, video, monkeypatch):
    """The default: on a mesh frame the network reads the crop that optical flow gives while the mesh runs in the mesh
    thread. The mesh's points (which place the next frame's crop) are those the network would have waited for; the
    crops differ (they come from other points) and the readings stay within about a degree of the waiting ones.
    Where the flow fails, the mesh is waited for, still in the mesh thread (the graphs serve one caller at a time)."""
    frames, _ = video
    threads = []

    def mesh_in_roi(*args):  # noqa: ANN002, ANN202
        threads.append(threading.current_thread().name)
        return detection.mesh_in_roi(*args)

    monkeypatch.setattr(tracking, "mesh_in_roi", mesh_in_roi)
    parallel = Tracker(reconstructor, TrackerConfig(mesh_every=1, smoothing=False))
    waiting = Tracker(reconstructor, TrackerConfig(mesh_every=1, smoothing=False, parallel_mesh=False))
    differences, shifts = [], []
    try:
        for k, frame in enumerate(frames[:-1]):
            (beside,), (after,) = parallel(frame, k / 30)[0], waiting(frame, k / 30)[0]
            assert beside.source == after.source == ("detector" if k == 0 else "mesh")
            np.testing.assert_array_equal(beside.landmarks, after.landmarks)
            differences.append(np.abs(np.degrees(beside.params.rotation - after.params.rotation)).max())
            shifts.append(np.abs(np.subtract(beside.crop.offset, after.crop.offset)).max())
        assert threads == ["mesh_0", "MainThread"] * (len(frames) - 2)  # each tracked frame: parallel, then waiting
        assert np.mean(differences[1:]) < 1.0 and max(shifts[1:]) > 0.01, (differences, shifts)
        monkeypatch.setattr(tracking, "_flow", lambda *args: None)
        threads.clear()
        carried, config = parallel._tracks[0].alignment, reconstructor.predictor.config
        (face,), _ = parallel(frames[-1], len(frames) / 30)
        assert face.source == "mesh" and threads == ["mesh_0"]
        rule = crop_for_landmarks(face.landmarks, config.input_size, config.camera)  # the mesh's points placed it
        np.testing.assert_allclose(face.crop.offset, rule.aligned(carried).offset, atol=1e-6)
    finally:
        parallel.close()
        waiting.close()


def test_held_landmarks_stay_between_meshes_and_the_network_follows_the_face(reconstructor, video):
    """The browser page's rule (no optical flow there): the mesh on every 2nd frame, the landmarks held between;
    the network still reads each frame, on the crop its last mesh frame pointed to. The video only shifts the
    photo, so the true head rotation is the same on every frame: the readings stay within about a degree of it
    (the mesh on every frame: std 0.89, 0.53, 0.24 deg; held: 0.75, 0.45, 0.64)."""
    frames, _ = video
    tracker = Tracker(reconstructor, TrackerConfig(mesh_every=2, between="hold", smoothing=False))
    sources, rotations, last_mesh = [], [], None
    for k, frame in enumerate(frames):
        face = tracker(frame, k / 30)[0][0]
        sources.append(face.source)
        rotations.append(np.degrees(face.params.rotation[0]))
        if face.source == "hold":
            np.testing.assert_array_equal(face.landmarks, last_mesh)
        last_mesh = face.landmarks
    tracker.close()
    assert sources[:6] == ["detector", "hold", "mesh", "hold", "mesh", "hold"]
    assert (np.std(rotations, axis=0) < 1.0).all(), np.std(rotations, axis=0)
    with pytest.raises(ValueError, match="between"):
        TrackerConfig(between="guess")


def test_a_face_that_jumps_out_of_its_region_is_found_near_it_without_the_search(reconstructor, video):
    """The example moved by 50 px right and 30 down (half its 109 px landmark box) between two frames, as a slow
    stream gives: the landmark model finds no face in the previous region, the short-range look around it does, and
    the mesh lands where the whole search puts it."""
    frames, _ = video
    jumped = cv2.warpAffine(frames[0], np.float32([[1, 0, 50], [0, 1, 30]]), frames[0].shape[1::-1],
                            borderMode=cv2.BORDER_REFLECT)  # fmt: skip
    tracker = Tracker(reconstructor, TrackerConfig(mesh_every=1, smoothing=False))
    before = tracker(frames[0], 0.0)[0][0].landmarks
    mesh = detection.landmark_graph()
    assert detection.mesh_in_roi(mesh, jumped, detection.roi_of_landmarks(before)) is None
    mesh.close()
    faces, ms = tracker(jumped, 1 / 30)
    assert [face.source for face in faces] == ["mesh"] and "detection" not in ms
    searched = reconstructor.detector(jumped)[0].landmarks[:468, :2]
    assert np.linalg.norm(faces[0].landmarks[:468, :2] - searched, axis=1).mean() < 1.0
    tracker.close()


def test_a_lone_face_found_again_soon_keeps_its_identity_and_later_takes_a_new_one(reconstructor, video):
    """The same person after a turn away: shape and albedo go on from the lost track's mean (one more reading in
    it), not from the first reading after the gap; after a longer gap, or a face found at half the size (someone
    else, or much further), they start afresh: a new person (``TrackedFace.person``), where the one back is the same."""
    frames, _ = video
    blank = np.full_like(frames[0], 90)
    height, width = frames[0].shape[:2]
    smaller = blank.copy()
    half = (width // 2, height // 2)
    smaller[: half[1], : half[0]] = cv2.resize(frames[0], half, interpolation=cv2.INTER_AREA)
    raw = [Tracker(reconstructor, TrackerConfig(smoothing=False))(f)[0][0].params for f in [*frames[:5], smaller]]
    config = TrackerConfig(identity_frames=10, identity_keep_s=1.0, search_every_s=0)  # faces half size searched for
    tracker = Tracker(reconstructor, config)
    first = [tracker(frame, k / 30)[0][0] for k, frame in enumerate(frames[:4])]
    before = first[-1].params
    assert tracker(blank, 0.5)[0] == [] and tracker(blank, 0.9)[0] == []
    back = tracker(frames[4], 1.0)[0][0]
    assert back.source == "detector" and back.person == first[0].person
    np.testing.assert_allclose(back.params.shape, (4 * before.shape + raw[4].shape) / 5, atol=1e-5)
    np.testing.assert_allclose(back.params.albedo, (4 * before.albedo + raw[4].albedo) / 5, atol=1e-5)
    assert tracker(blank, 1.1)[0] == []
    anew = tracker(frames[0], 2.2)[0][0]  # 1.1 s after the face was last seen
    np.testing.assert_allclose(anew.params.shape, raw[0].shape, atol=1e-6)
    assert tracker(blank, 2.3)[0] == []
    elsewhere = tracker(smaller, 2.4)[0][0]  # soon, but at half the size
    np.testing.assert_allclose(elsewhere.params.shape, raw[5].shape, atol=1e-6)
    assert len({first[0].person, anew.person, elsewhere.person}) == 3
    assert {face.person for face in first} == {first[0].person}
    with pytest.raises(ValueError, match="identity_keep_s"):
        TrackerConfig(identity_keep_s=-1)


def test_the_trackers_search_is_upright_only(reconstructor, video, monkeypatch):
    """A camera's faces are upright: the tracker's search skips the photo search's turned passes (run on a frame
    without a face, they made it twice as slow), as the page's does."""
    calls, detect = [], reconstructor.detector.detect
    monkeypatch.setattr(reconstructor.detector, "detect", lambda image, **kw: calls.append(kw) or detect(image, **kw))
    blank = np.full_like(video[0][0], 90)
    assert Tracker(reconstructor)(blank, 0.0)[0] == [] and calls == [{"rotations": False}]
    assert reconstructor.detector.rotations  # a photo's search still turns the photo


def test_a_lone_face_is_found_by_the_quick_look_and_a_faceless_frame_searches_at_most_once_a_while(
    reconstructor, video, monkeypatch
):
    """Without a tracked face, the short-range detector on the whole frame comes first (the page's rule): a webcam's
    face is found without the whole search, and where the search finds it; a frame without a face gets the whole
    search at most once every ``search_every_s`` (it cost about 28 ms a frame)."""
    frames, _ = video
    calls, detect = [], reconstructor.detector.detect
    monkeypatch.setattr(reconstructor.detector, "detect", lambda image, **kw: calls.append(kw) or detect(image, **kw))
    tracker = Tracker(reconstructor)
    faces, ms = tracker(frames[0], 0.0)
    assert [face.source for face in faces] == ["detector"] and calls == []
    searched = detect(frames[0])[0][0].landmarks[:468, :2]
    iod = np.linalg.norm(searched[33] - searched[263])
    assert np.median(np.linalg.norm(faces[0].landmarks[:468, :2] - searched, axis=1)) < 0.02 * iod
    blank = np.full_like(frames[0], 90)
    every = tracker.config.search_every_s
    assert every > 0
    seconds = [1.0, 1.0 + every / 2, 1.0 + every * 0.99, 1.0 + every]
    assert [len(tracker(blank, t)[0]) for t in seconds] == [0] * 4
    assert calls == [{"rotations": False}] * 2  # at 1 s, then not until search_every_s later
    tracker(blank, 0.5)  # a clock gone back (another video without a reset) searches
    assert len(calls) == 3
    tracker.reset()  # a new video searches at once
    tracker(blank, 0.5)
    assert len(calls) == 4
    several = Tracker(reconstructor, TrackerConfig(max_faces=2))  # several faces: the whole search, every frame
    several(blank, 0.0), several(blank, 0.1)
    assert len(calls) == 6
    tracker.close(), several.close()


@pytest.mark.parametrize("size", [(640, 480), (360, 640)])
def test_the_quick_looks_box_lands_on_the_face_in_a_frame_of_any_shape(size):
    """``largest_box`` shrinks the whole frame into the detector's square input, top-left: its box maps back to the
    face wherever the face lies in a frame wider or taller than square (here at the far corner)."""
    width, height = size
    frame = np.full((height, width, 3), 90, np.uint8)
    around = load_image(EXAMPLE)[23:223, 125:325]  # 200 px about the example's face, as a webcam frames one
    face = cv2.resize(around, (300, 300), interpolation=cv2.INTER_AREA)
    frame[height - 300 :, width - 300 :] = face
    box = detection.largest_box(frame, detection.short_range_graph())
    mesh = detection.landmark_graph()
    expected = detection.mesh_face(mesh, face, detection.largest_box(face, detection.short_range_graph()).roi)
    expected[:, :2] += [width - 300, height - 300]  # the same face meshed alone, moved to where it lies
    points = detection.mesh_face(mesh, frame, box.roi)
    iod = np.linalg.norm(expected[33, :2] - expected[263, :2])
    assert np.median(np.linalg.norm(points[:468, :2] - expected[:468, :2], axis=1)) < 0.02 * iod
    centre = (box.box[:2] + box.box[2:]) / 2
    assert np.abs(centre - expected[:468, :2].mean(axis=0)).max() < 0.5 * iod  # the box itself is on the face


def test_a_lost_face_goes_back_to_the_detector(reconstructor, video):
    """A blank frame loses the face on a frame between meshes too (the default tracks every 3rd frame's mesh): the
    optical flow finds none of its points there."""
    frames, _ = video
    tracker = Tracker(reconstructor)
    assert tracker(frames[0], 0.0)[0][0].source == "detector"
    assert tracker(np.full_like(frames[0], 90), 1 / 30)[0] == []
    assert tracker(frames[1], 2 / 30)[0][0].source == "detector"
    smoothed = tracker(frames[2], 3 / 30)[0][0]
    assert smoothed.source == "flow" and smoothed.params.shape.shape == (1, reconstructor.model.n_shape)  # tracked
    tracker.close()
    with pytest.raises(ValueError, match="at least 1"):
        TrackerConfig(mesh_every=0)


def test_a_tracked_face_is_read_once_on_the_crop_its_last_frame_pointed_to(reconstructor, video):
    frames, _ = video
    assert reconstructor.predictor.config.crop_alignment  # a photo's face is read, then read again where it pointed
    per_photo = 1 if reconstructor.predictor.config.mirror_reading else 2  # unless it is read both ways at once
    points = [reconstructor.detector(frames[0])[0].landmarks]
    calls = []
    outputs = reconstructor.predictor.outputs
    reconstructor.predictor.outputs = lambda inputs: calls.append(len(inputs)) or outputs(inputs)
    try:
        photo, photo_crops = reconstructor.predict(frames[0], points)
        first, _, carried = reconstructor.predict_aligned(frames[0], points, [None])
        again, again_crops, _ = reconstructor.predict_aligned(frames[0], points, carried)
    finally:
        reconstructor.predictor.outputs = outputs
    assert calls == [1] * (2 * per_photo + 1)  # the photo's readings, as many for a new track, then one
    np.testing.assert_allclose(first.pack(), photo.pack(), atol=1e-6)
    # the same frame again: read once, on the crop the photo's reading pointed to; a network read twice ended its
    # photo's reading there too, so the same parameters; one read both ways at once read MediaPipe's crop instead
    np.testing.assert_allclose(again_crops[0].offset, photo_crops[0].offset, atol=1e-6)
    if per_photo == 2:
        np.testing.assert_allclose(again.pack(), photo.pack(), atol=1e-4)
    else:
        apart = np.abs(np.degrees(again.rotation - photo.rotation)).max()
        assert apart < ANOTHER_CROP_DEG, apart


def test_tracked_frames_read_the_network_once(reconstructor, video):
    frames, _ = video
    tracker = Tracker(reconstructor, TrackerConfig(mesh_every=1, smoothing=False))
    calls = []
    outputs = reconstructor.predictor.outputs
    reconstructor.predictor.outputs = lambda inputs: calls.append(len(inputs)) or outputs(inputs)
    try:
        faces = [tracker(frame, k / 30)[0] for k, frame in enumerate(frames[:4])]
    finally:
        reconstructor.predictor.outputs = outputs
    assert [face[0].source for face in faces] == ["detector", "mesh", "mesh", "mesh"]
    per_photo = 1 if reconstructor.predictor.config.mirror_reading else 2  # see the test above
    assert calls == [1] * (per_photo + 3)  # the detector's frame as a photo's, then once per tracked frame
    differences = []
    for frame, (face,) in zip(frames[1:4], faces[1:], strict=True):  # the same points, read as a photo's
        as_photo, _ = reconstructor.predict(frame, [face.landmarks])
        differences.append(np.abs(np.degrees(face.params.rotation - as_photo.rotation)).max())
    # one frame's may reach 1.5 degrees: two readings are not one; a network read both ways at once reads the photo
    # on MediaPipe's crop, the tracked frame on the crop the last frame pointed to
    assert np.mean(differences) < (1.0 if per_photo == 2 else ANOTHER_CROP_DEG), differences
