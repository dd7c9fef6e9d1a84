"""A video file through the command line: each person's parameters per frame on the video's clock, their animated
GLBs, the overlay video; a person who looks away is the same person, another face another one; plain errors for a
file that is no video or shows no face, a warning for one cut short, and no files of an earlier photo's run left."""

import json
from dataclasses import replace
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
import pytest
from matplotlib import cbook
from pygltflib import GLTF2

from inversefacenet import Reconstructor
from inversefacenet.animate import read_session
from inversefacenet.cli import main
from inversefacenet.errors import InputError
from inversefacenet.images import load_image
from inversefacenet.tracking import TrackerConfig
from inversefacenet.video import VIDEO_TRACKING, VideoFile, track_video

EXAMPLE = "assets/examples/astronaut.jpg"
FPS = 25


@pytest.fixture(scope="module")
def reconstructor():
    reconstructor = Reconstructor.load(fit_mode=None)
    yield reconstructor
    reconstructor.detector.close()


def write_video(path: Path, frames: list[np.ndarray], fourcc: str = "mp4v", fps: float = FPS) -> Path:
    """RGB frames as a video file (OpenCV's ``fourcc``) at ``fps``."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame of a video file, RGB."""
    capture, frames = cv2.VideoCapture(str(path)), []
    while (read := capture.read())[0]:
        frames.append(cv2.cvtColor(read[1], cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def turning(degrees: np.ndarray) -> list[np.ndarray]:
    """The example turned in the image plane (counterclockwise, about its centre) by each of ``degrees``."""
    photo = load_image(EXAMPLE)
    height, width = photo.shape[:2]
    turns = [cv2.getRotationMatrix2D((width / 2, height / 2), float(angle), 1.0) for angle in degrees]
    return [cv2.warpAffine(photo, turn, (width, height), borderMode=cv2.BORDER_REFLECT) for turn in turns]


def green_pixels(frame: np.ndarray) -> int:
    """How many pixels of an RGB frame are the overlay's green (as the video's compression leaves it)."""
    return int(((frame[..., 1] > 150) & (frame[..., 0] < 140) & (frame[..., 2] < 140)).sum())


def on_grey(face: np.ndarray | None, left: int) -> np.ndarray:
    """A 640 x 360 grey frame with ``face`` (240 px tall) pasted ``left`` px from its left edge (None: no face)."""
    frame = np.full((360, 640, 3), 100, np.uint8)
    if face is not None:
        frame[60:300, left : left + face.shape[1]] = face
    return frame


def faces() -> tuple[np.ndarray, np.ndarray]:
    """The astronaut (240 x 240) and Grace Hopper (200 x 240)."""
    astronaut = cv2.resize(load_image(EXAMPLE), (240, 240), interpolation=cv2.INTER_AREA)
    grace = load_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    return astronaut, cv2.resize(grace, (200, 240), interpolation=cv2.INTER_AREA)


def test_a_video_gives_each_frame_s_parameters_on_its_clock_an_animated_glb_and_an_overlay(tmp_path, capsys, model):
    """The example turned steadily by 15 degrees over 30 frames: every frame is tracked at k / 25 s, its head's roll
    turns with the picture (a turn about the camera's axis is one in the image plane; the network reads about 0.85
    of a roll, see benchmarks/tilted.py), the GLB animates its 52 ARKit weights and head over those times, and the
    overlay video has the face's silhouette drawn on every frame."""
    applied = np.linspace(0, 15, 30)
    video = write_video(tmp_path / "turning.mp4", turning(applied))
    status = main([str(video), "--out", str(tmp_path / "out"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["fps"] == FPS and report["frames"] == 30 and "warning" not in report
    (person,) = report["people"]
    assert person["tracked_frames"] == 30 and person["from_s"] == 0 and person["to_s"] == 29 / FPS
    data = json.loads(Path(person["files"]["frames"]).read_text())
    assert data["source"] == {"video": str(video), "fps": FPS, "frames": 30, "person": 1}
    frames, times = read_session(model, data)
    np.testing.assert_allclose(times, np.arange(30) / FPS)
    roll = np.degrees(frames.rotation[:, 2])
    assert 0.7 * 15 < roll[-1] - roll[0] < 1.15 * 15 and (np.diff(roll) > -1.0).all()  # steady, the picture's way
    glb = GLTF2().load(person["files"]["animated_glb"])
    assert len(glb.meshes[0].extras["targetNames"]) == 52 and "jawOpen" in glb.meshes[0].extras["targetNames"]
    sampler = glb.animations[0].samplers[0]
    assert glb.accessors[sampler.input].count == 30 and glb.accessors[sampler.input].max == [np.float32(times[-1])]
    drawn = read_video(Path(report["overlay"]))
    assert len(drawn) == 30 and drawn[0].shape == (512, 512, 3)
    assert min(map(green_pixels, drawn)) > 200 and green_pixels(turning(applied[:1])[0]) == 0


def test_a_face_that_looks_away_is_one_person_and_another_face_another(tmp_path, reconstructor):
    """10 frames of the astronaut, 3 s without her, 10 more where she was: one person of 20 frames (the webcam's
    2 s splits her in two), found on the frame she is back; then Grace Hopper elsewhere for 10 frames: a second
    person, never a face that becomes someone else."""
    astronaut, grace = faces()
    frames = [on_grey(astronaut, 20)] * 10 + [on_grey(None, 0)] * 75 + [on_grey(astronaut, 20)] * 10
    video = write_video(tmp_path / "away.mp4", frames + [on_grey(grace, 420)] * 10)
    tracked = track_video(reconstructor, video, progress=False)
    assert tracked.decoded == 105 and [len(person.times) for person in tracked.people] == [20, 10]
    np.testing.assert_allclose(tracked.people[0].times, np.r_[np.arange(10), np.arange(85, 95)] / FPS)
    np.testing.assert_allclose(tracked.people[1].times, np.arange(95, 105) / FPS)
    assert VIDEO_TRACKING.identity_keep_s > 3
    webcam_keep = replace(VIDEO_TRACKING, identity_keep_s=TrackerConfig().identity_keep_s)
    assert [len(person.times) for person in track_video(reconstructor, video, webcam_keep, False).people] == [10] * 3


def test_a_video_cut_short_is_read_up_to_its_cut_with_a_warning(tmp_path, capsys):
    """An MJPG AVI of 40 frames cut in the middle of its bytes: its frames up to the cut, exit status 0, and a
    warning that the file ended before the count its header gives."""
    whole = write_video(tmp_path / "whole.avi", turning(np.zeros(40)), fourcc="MJPG")
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    status = main([str(cut), "--out", str(tmp_path / "out"), "--json"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert status == 0 and 10 < report["frames"] < 30 and report["people"][0]["tracked_frames"] == report["frames"]
    assert "ended after" in report["warning"] and f"warning: {cut}" in captured.err


def test_bad_videos_get_plain_errors_and_leave_no_files(tmp_path, capsys):
    """A file that is no video, a video without a face and a missing file: each its line on stderr and its JSON
    object with the error, nothing written for them, the exit status 1; --fit-only with a video is refused."""
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    grey = write_video(tmp_path / "grey.mp4", [np.full((240, 320, 3), 128, np.uint8)] * 5)
    missing, empty, out = tmp_path / "missing.mov", tmp_path / "empty.mp4", tmp_path / "out"
    empty.touch()
    (out / "grey_face1").mkdir(parents=True)  # an earlier run's person of grey.mp4, which now shows none: removed
    (out / "grey_face1" / "frames.json").write_text("{}")
    (out / "grey_overlay.mp4").write_bytes(b"old")
    status = main([str(broken), str(grey), str(missing), str(empty), "--out", str(out), "--json"])
    captured = capsys.readouterr()
    errors = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert status == 1 and [error["video"] for error in errors] == [str(broken), str(grey), str(missing), str(empty)]
    assert errors[0]["error"].startswith(f"cannot read {broken} as a video: the file is damaged")
    assert errors[1]["error"] == f"no face was found in any of the 5 frames of {grey}"
    assert errors[2]["error"] == f"no such file: {missing}"
    assert errors[3]["error"] == f"{empty} is empty (0 bytes)"  # as a photo's words
    assert "Traceback" not in captured.err and captured.err.count("error:") == 4 and not any(out.iterdir())
    with pytest.raises(SystemExit):
        main([str(grey), "--out", str(out), "--fit-only"])
    assert "which --fit-only leaves out" in capsys.readouterr().err


def test_a_video_after_a_photo_of_the_same_name_leaves_none_of_the_photo_s_files(tmp_path, capsys):
    """The same folder, clip.jpg then clip.mp4 then clip.jpg: each run leaves only its own files for that name (a
    review found the photo's parameters and meshes beside the video's frames, and both overlays)."""
    out, photo = tmp_path / "out", tmp_path / "clip.jpg"
    photo.write_bytes(Path(EXAMPLE).read_bytes())
    video = write_video(tmp_path / "clip.mp4", turning(np.zeros(5)))
    photo_files = {"params.json", "face.obj", "face.mtl", "face_albedo.png", "face.ply", "face.glb"}
    for source, expected in [(photo, photo_files), (video, {"frames.json", "face_animated.glb"}), (photo, photo_files)]:
        assert main([str(source), "--out", str(out), "--fit", "fast"]) == 0
        assert {file.name for file in (out / "clip_face1").iterdir()} == expected
        overlay = "clip_overlay.mp4" if source == video else "clip_overlay.png"
        assert {file.name for file in out.iterdir()} == {"clip_face1", overlay}
    capsys.readouterr()


def test_a_clip_past_the_limit_stops_there_even_when_its_header_does_not_count_its_frames(tmp_path, reconstructor,
                                                                                           monkeypatch):  # fmt: skip
    """A browser's recording may not count its frames (a trial's 70 s WebM ran whole through the app's 60 s limit):
    the frame at the limit stops it, as the header's count does when there is one; exactly the limit passes."""
    video = write_video(tmp_path / "clip.mp4", turning(np.zeros(10)))  # 10 frames: 0.4 s
    with pytest.raises(InputError, match=r"clip.mp4 is longer than 0.36 s: trim it to 0.36 s or less"):
        track_video(reconstructor, video, progress=False, limit_s=0.36)  # by the header's 10 frames
    opened = VideoFile.open
    monkeypatch.setattr(VideoFile, "open", lambda path: replace(opened(path), frame_count=0))
    with pytest.raises(InputError, match=r"longer than 0.36 s"):
        track_video(reconstructor, video, progress=False, limit_s=0.36)  # by the 10th frame's time, 0.36 s
    assert track_video(reconstructor, video, progress=False, limit_s=0.4).decoded == 10


def test_the_overlay_is_shrunk_and_a_failed_encoder_leaves_no_video(tmp_path, reconstructor, monkeypatch):
    """A 1280 x 720 clip's overlay at overlay_side 640 is 640 x 360; an encoder that fails (a review made it raise)
    neither hangs the tracking nor leaves a short video, nor its draft, behind: an OSError says so."""
    astronaut, _ = faces()
    frames = [cv2.resize(on_grey(astronaut, 200), (1280, 720))] * 12
    video = write_video(tmp_path / "wide.mp4", frames)
    track_video(reconstructor, video, progress=False, overlay=tmp_path / "small.webm", overlay_side=640)
    assert read_video(tmp_path / "small.webm")[0].shape == (360, 640, 3)

    class Failing:
        def __init__(self, *args: object) -> None:
            pass

        def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
            return True

        def write(self, frame: np.ndarray) -> None:
            raise MemoryError("a stand-in for any failure of the encoder")

        def release(self) -> None:
            pass

    monkeypatch.setattr(cv2, "VideoWriter", Failing)
    with pytest.raises(OSError, match="cannot write the video") as raised:
        track_video(reconstructor, video, progress=False, overlay=tmp_path / "failed.mp4")
    assert str(tmp_path / "failed.mp4") in str(raised.value)  # the file asked for, not its hidden draft
    assert sorted(path.name for path in tmp_path.iterdir()) == ["small.webm", "wide.mp4"]


def test_the_app_s_video_files_are_one_folder_per_session_and_gone_after_an_error_on_the_page(tmp_path, reconstructor):
    """The video tab: a second clip's files replace the first's folder; a file that cannot be used, on the page,
    clears the views, removes the last clip's folder (no longer shown) and leaves no new one; a script's call
    (/track_video) gets the error instead."""
    from demo import video_tab
    from demo.serving import process_folder

    def folders() -> set[Path]:
        return set(process_folder().glob("video-*"))

    video = write_video(tmp_path / "clip.mp4", turning(np.zeros(5)))
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    before, progress = folders(), (lambda *args, **kwargs: None)
    first = video_tab.track_clip(reconstructor, str(video), None, progress)[-1]
    second = video_tab.track_clip(reconstructor, str(video), first, progress)[-1]
    assert folders() - before == {second.folder} and not first.folder.exists()
    with pytest.raises(gr.Error, match="cannot read broken.mp4 as a video"):
        video_tab.track_clip(reconstructor, str(broken), second, progress)
    assert folders() - before == {second.folder}  # a script's error: its last clip stays
    page = video_tab._on_the_page(lambda *inputs: video_tab.track_clip(reconstructor, *inputs))
    cleared = page(str(broken), second, progress)
    assert cleared[:2] == [None, None] and "cannot read broken.mp4" in cleared[2] and cleared[3] is None
    assert folders() == before
