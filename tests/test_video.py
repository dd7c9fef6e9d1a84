"""A video file through the command line: one person's parameters per frame on the video's clock, their animated GLB,
and plain errors for a file that is no video or shows no face."""

import json
from pathlib import Path

import cv2
import numpy as np
from matplotlib import cbook
from pygltflib import GLTF2

from inversefacenet import Reconstructor
from inversefacenet.animate import read_session
from inversefacenet.cli import main
from inversefacenet.images import load_image
from inversefacenet.video import track_video

EXAMPLE = "assets/examples/astronaut.jpg"
FPS = 25


def write_video(path: Path, frames: list[np.ndarray]) -> Path:
    """RGB frames as an MP4 (OpenCV's mp4v) at FPS."""
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def turning(degrees: np.ndarray) -> list[np.ndarray]:
    """The example turned in the image plane (counterclockwise, about its centre) by each of ``degrees``."""
    photo = load_image(EXAMPLE)
    height, width = photo.shape[:2]
    turns = [cv2.getRotationMatrix2D((width / 2, height / 2), float(angle), 1.0) for angle in degrees]
    return [cv2.warpAffine(photo, turn, (width, height), borderMode=cv2.BORDER_REFLECT) for turn in turns]


def test_a_video_gives_each_frame_s_parameters_on_its_clock_and_an_animated_glb(tmp_path, capsys, model):
    """The example turned steadily by 15 degrees over 30 frames: every frame is tracked at k / 25 s, its head's roll
    turns with the picture (a turn about the camera's axis is one in the image plane; the network reads about 0.85
    of a roll, see benchmarks/tilted.py), and the GLB animates its 52 ARKit weights and head over those times."""
    applied = np.linspace(0, 15, 30)
    video = write_video(tmp_path / "turning.mp4", turning(applied))
    status = main([str(video), "--out", str(tmp_path / "out"), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert status == 0 and report["fps"] == FPS and report["frames"] == report["tracked_frames"] == 30
    files = report["files"]
    data = json.loads(Path(files["frames"]).read_text())
    assert data["source"] == {"video": str(video), "fps": FPS, "frames": 30}
    frames, times = read_session(model, data)
    np.testing.assert_allclose(times, np.arange(30) / FPS)
    roll = np.degrees(frames.rotation[:, 2])
    turned = roll[-1] - roll[0]
    assert 0.7 * 15 < turned < 1.15 * 15 and (np.diff(roll) > -1.0).all()  # steady, the picture's way round
    glb = GLTF2().load(files["animated_glb"])
    assert len(glb.meshes[0].extras["targetNames"]) == 52 and "jawOpen" in glb.meshes[0].extras["targetNames"]
    sampler = glb.animations[0].samplers[0]
    assert glb.accessors[sampler.input].count == 30 and glb.accessors[sampler.input].max == [np.float32(times[-1])]
    drawn = read_video(Path(files["overlay"]))  # every frame, with the face's silhouette drawn in green
    assert len(drawn) == 30 and drawn[0].shape == (512, 512, 3)
    assert min(map(green_pixels, drawn)) > 200 and green_pixels(turning(applied[:1])[0]) == 0


def green_pixels(frame: np.ndarray) -> int:
    """How many pixels of an RGB frame are the overlay's green (as the video's compression leaves it)."""
    return int(((frame[..., 1] > 150) & (frame[..., 0] < 140) & (frame[..., 2] < 140)).sum())


def read_video(path: Path) -> list[np.ndarray]:
    """Every frame of a video file, RGB."""
    capture, frames = cv2.VideoCapture(str(path)), []
    while (read := capture.read())[0]:
        frames.append(cv2.cvtColor(read[1], cv2.COLOR_BGR2RGB))
    capture.release()
    return frames


def test_a_file_that_is_no_video_and_a_video_without_a_face_get_plain_errors(tmp_path, capsys):
    """Neither stops the run: each gets its line on stderr and its JSON object with the error; the exit status is 1."""
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all")
    grey = write_video(tmp_path / "grey.mp4", [np.full((240, 320, 3), 128, np.uint8)] * 5)
    status = main([str(broken), str(grey), "--out", str(tmp_path / "out"), "--json"])
    captured = capsys.readouterr()
    errors = [json.loads(line) for line in captured.out.strip().splitlines()]
    assert status == 1 and [error["video"] for error in errors] == [str(broken), str(grey)]
    assert "cannot read" in errors[0]["error"] and "not a video" in errors[0]["error"]
    assert errors[1]["error"] == f"no face was found in any of the 5 frames of {grey}"
    assert "Traceback" not in captured.err and captured.err.count("error:") == 2


def test_the_first_person_s_frames_are_kept_and_another_s_left_out(tmp_path):
    """20 frames of the astronaut on the left, then 20 of Grace Hopper on the right: the track is the astronaut's
    first 20 frames (the tracker counts Grace Hopper as another person), not a face that becomes someone else."""
    astronaut = cv2.resize(load_image(EXAMPLE), (240, 240), interpolation=cv2.INTER_AREA)
    grace = load_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    grace = cv2.resize(grace, (200, 240), interpolation=cv2.INTER_AREA)
    frames = [np.full((360, 640, 3), 100, np.uint8) for _ in range(40)]
    for k, frame in enumerate(frames):
        if k < 20:
            frame[60:300, 20:260] = astronaut
        else:
            frame[60:300, 420:620] = grace
    reconstructor = Reconstructor.load(fit_mode=None)
    try:
        tracked = track_video(reconstructor, write_video(tmp_path / "two.mp4", frames), progress=False)
    finally:
        reconstructor.detector.close()
    assert tracked.decoded == 40 and len(tracked.times) == 20
    np.testing.assert_allclose(tracked.times, np.arange(20) / FPS)
