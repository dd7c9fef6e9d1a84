"""The app's video tab: a clip uploaded, its people tracked, the tracked video shown and each person's files offered.

The same tracking as ``python -m inversefacenet clip.mp4`` (:func:`inversefacenet.video.track_video`: the network on
every frame, no fit); the tracked video is VP8 WebM, which browsers play, shrunk to ``OVERLAY_SIDE``. One
``VideoFiles`` per browser session (a ``gr.State``) holds its files until the session expires or its next video.
One clip is tracked at a time (its own queue, ``concurrency_id="video"``), so photos keep the other worker.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import gradio as gr

from demo.serving import SESSION_TTL_S, session_folder
from inversefacenet.errors import InputError
from inversefacenet.images import VIDEO_SUFFIXES
from inversefacenet.pipeline import Reconstructor
from inversefacenet.video import TrackedVideo, VideoFile, track_video, write_person

VIDEO_LIMIT_S = 60.0
"""Longest clip tracked (s, by its header): about a minute of the server's time at 30 fps."""
OVERLAY_SIDE = 640
"""The tracked video's longer side (px): VP8 took 10.5 ms a 512 px frame here."""
PROGRESS = gr.Progress(track_tqdm=True)
"""The page's progress bar follows the tracker's tqdm bar (Gradio finds it as a parameter's default)."""


class VideoFiles:
    """One browser session's tracked video and files, in a folder of its own, removed by :meth:`close`."""

    def __init__(self) -> None:
        self.folder = session_folder("video")

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def track_clip(reconstructor: Reconstructor, path: str | None, previous: VideoFiles | None,
               progress: gr.Progress) -> tuple[str, list[str], str, VideoFiles]:  # fmt: skip
    """An uploaded clip -> the tracked video, each person's frames.json and animated GLB, a status line, and the
    session's files (the previous clip's removed). Plain errors for no file, a long clip, no video, no face."""
    if path is None:
        raise gr.Error("Choose a video file first.", print_exception=False)
    try:
        video = VideoFile.open(Path(path))
        if video.frame_count > VIDEO_LIMIT_S * video.fps:
            raise InputError(f"the clip is {video.frame_count / video.fps:.0f} s long: trim it to "
                             f"{VIDEO_LIMIT_S:.0f} s or less, or run python -m inversefacenet on it")  # fmt: skip
    except InputError as error:
        raise _in_words(error, path) from None
    files = VideoFiles()
    progress(0, desc="tracking")
    overlay = files.folder / f"{Path(path).stem}_tracked.webm"
    try:
        tracked = track_video(reconstructor, Path(path), progress=True, overlay=overlay, overlay_side=OVERLAY_SIDE)
    except InputError as error:
        files.close()
        raise _in_words(error, path) from None
    if previous is not None:
        previous.close()
    return str(overlay), _people_files(reconstructor, tracked, Path(path).name, files), _status(tracked), files


def _in_words(error: InputError, path: str) -> gr.Error:
    """An unusable clip's message for the page, without the server's folders."""
    return gr.Error(str(error).replace(str(Path(path).parent) + "/", ""), print_exception=False)


def _people_files(reconstructor: Reconstructor, tracked: TrackedVideo, name: str, files: VideoFiles) -> list[str]:
    """Each person's frames.json and animated GLB in the session's folder, named by the clip and the person."""
    paths = []
    for k, person in enumerate(tracked.people, start=1):
        stem = f"{Path(name).stem}_person{k}"
        frames, glb = files.folder / f"{stem}_frames.json", files.folder / f"{stem}_animated.glb"
        write_person(reconstructor.model, person, frames, glb, {"video": name, "fps": tracked.fps, "person": k})
        paths += [str(frames), str(glb)]
    return paths


def _status(tracked: TrackedVideo) -> str:
    """The tracked people and frames in words, with the tracker's time per frame."""
    people = ", ".join(f"person {k}: {person.times[0]:.1f}–{person.times[-1]:.1f} s ({len(person.times)} frames)"
                       for k, person in enumerate(tracked.people, start=1))  # fmt: skip
    words = f"{tracked.decoded} frames at {tracked.fps:.0f} fps · {people} · {tracked.ms_per_frame:.1f} ms a frame"
    if tracked.cut_short:
        words += f" · the file ended after {tracked.decoded} of the {tracked.header_frames} frames it counts"
    return words


def video_tab(reconstructor: Reconstructor) -> None:
    """The tab: a video file in; the tracked video, the status line and the files out."""
    if reconstructor.predictor is None:
        gr.Markdown("The video tab needs the network (no checkpoint was found): the fit is too slow for video.")
        return
    files = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda s: s is not None and s.close())
    with gr.Row():
        with gr.Column():
            # a file, not a gr.Video: that one previews in the browser and says "Video not playable" of an AVI, a
            # MKV or MPEG-4 part 2, which OpenCV reads well
            clip = gr.File(file_types=sorted(VIDEO_SUFFIXES), label=f"Video file (up to {VIDEO_LIMIT_S:.0f} s)",
                           elem_id="video-in")  # fmt: skip
            button = gr.Button("Track", variant="primary", elem_id="video-track")
        with gr.Column():
            tracked = gr.Video(label="Tracked", interactive=False, elem_id="video-tracked")
            status = gr.Markdown(elem_id="video-status")
            downloads = gr.File(file_count="multiple", label="Per person: frames.json and animated GLB",
                                elem_id="video-files")  # fmt: skip

    def run(path: str | None, previous: VideoFiles | None,
            progress: gr.Progress = PROGRESS) -> tuple[str, list[str], str, VideoFiles]:  # fmt: skip
        return track_clip(reconstructor, path, previous, progress)

    button.click(run, [clip, files], [tracked, downloads, status, files], api_name="track_video",
                 concurrency_limit=1, concurrency_id="video")  # fmt: skip
