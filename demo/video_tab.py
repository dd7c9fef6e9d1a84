"""The app's video tab: a clip uploaded, its people tracked, the tracked video shown and each person's files offered.

The same tracking as ``python -m inversefacenet clip.mp4`` (:func:`inversefacenet.video.track_video`: the network on
every frame, no fit); the tracked video is VP8 WebM, which browsers play, shrunk to ``OVERLAY_SIDE``. One
``VideoFiles`` per browser session (a ``gr.State``) holds its files until the session expires or its next video.
One clip is tracked at a time (its own queue, ``concurrency_id="video"``); photo requests still run beside it.
"""

from __future__ import annotations

import functools
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from demo.messages import user_error, without_folders
from demo.serving import SESSION_TTL_S, session_folder
from inversefacenet.errors import InputError
from inversefacenet.images import VIDEO_SUFFIXES
from inversefacenet.pipeline import Reconstructor
from inversefacenet.video import TrackedVideo, track_video, write_people

VIDEO_LIMIT_S = 60.0
"""Longest clip tracked (s, by its header): about a minute of the server's time at 30 fps."""
OVERLAY_SIDE = 640
"""The tracked video's longer side (px): VP8 takes about 32 ms a 640 x 480 frame of a moving face here."""
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
    session's files; the previous clip's are removed once these are written. A plain gr.Error for no file, a long
    clip, no video, no face; whatever fails leaves no folder behind."""
    if path is None:
        raise user_error("Choose a video file first.")
    files, clip = VideoFiles(), Path(path)

    def files_of(k: int) -> tuple[Path, Path]:
        return files.folder / f"{clip.stem}_person{k}_frames.json", files.folder / f"{clip.stem}_person{k}_animated.glb"

    try:
        progress(0, desc="tracking")
        overlay = files.folder / f"{clip.stem}_tracked.webm"
        tracked = track_video(reconstructor, clip, progress=True, overlay=overlay, overlay_side=OVERLAY_SIDE,
                              limit_s=VIDEO_LIMIT_S)  # fmt: skip
        written = write_people(reconstructor.model, tracked, files_of, clip.name)
    except BaseException as error:
        files.close()
        if isinstance(error, InputError):
            raise user_error(without_folders(str(error), path)) from None
        raise
    if previous is not None:
        previous.close()
    return str(overlay), [str(file) for pair in written for file in pair], _status(tracked), files


def _on_the_page(track: Callable[..., tuple]) -> Callable[..., list[Any]]:
    """``track`` for the page's button: a clip that cannot be used clears the views, removes the last clip's files
    (no longer shown) and says why in the status line and a toast (a trial saw error badges over the previous clip's
    video and files, the reason gone with the toast)."""

    @functools.wraps(track)  # its signature: Gradio passes the progress bar it names
    def on_the_page(path: str | None, previous: VideoFiles | None, *progress: Any) -> list[Any]:
        try:
            return list(track(path, previous, *progress))
        except gr.Error as error:
            if previous is not None:
                previous.close()
            gr.Warning(error.message)
            return [None, None, f"**{error.message}**", None]

    return on_the_page


def _frames(count: int) -> str:
    return f"{count} frame{'' if count == 1 else 's'}"


def _status(tracked: TrackedVideo) -> str:
    """The tracked people and frames in words, with the tracker's time per frame."""
    people = ", ".join(f"person {k}: {person.times[0]:.1f}–{person.times[-1]:.1f} s ({_frames(len(person.times))})"
                       for k, person in enumerate(tracked.people, start=1))  # fmt: skip
    words = f"{_frames(tracked.decoded)} at {tracked.fps:.0f} fps · {people} · {tracked.ms_per_frame:.1f} ms a frame"
    return words if tracked.warning is None else f"{words} · {tracked.warning}"


def video_tab(reconstructor: Reconstructor) -> None:
    """The tab: a video file in; the tracked video, the status line and the files out."""
    if reconstructor.predictor is None:
        gr.Markdown("The video tab needs the network (no checkpoint was found): the fit is too slow for video.")
        return
    files = gr.State(None, time_to_live=SESSION_TTL_S, delete_callback=lambda s: s is not None and s.close())
    gr.Markdown(f"Tracks one face at a time (the largest in view when a track starts; others beside it are not "
                f"tracked), each person numbered as first seen. Clips up to {VIDEO_LIMIT_S:.0f} s.")  # fmt: skip
    with gr.Row():
        with gr.Column():
            # a file, not a gr.Video: that one previews in the browser and says "Video not playable" of an AVI, a
            # MKV or MPEG-4 part 2, which OpenCV reads well
            clip = gr.File(file_types=sorted(VIDEO_SUFFIXES), label="Video file", elem_id="video-in")
            button = gr.Button("Track", variant="primary", elem_id="video-track")
        with gr.Column():
            tracked = gr.Video(label="Tracked", interactive=False, height=480, elem_id="video-tracked")
            status = gr.Markdown(elem_id="video-status")
            downloads = gr.File(file_count="multiple", label="Per person: frames.json and animated GLB",
                                elem_id="video-files")  # fmt: skip

    def run(path: str | None, previous: VideoFiles | None,
            progress: gr.Progress = PROGRESS) -> tuple[str, list[str], str, VideoFiles]:  # fmt: skip
        return track_clip(reconstructor, path, previous, progress)

    outputs, queue = [tracked, downloads, status, files], {"concurrency_limit": 1, "concurrency_id": "video"}
    button.click(_on_the_page(run), [clip, files], outputs, api_name=False, **queue)
    gr.Button(visible=False).click(run, [clip, files], outputs, api_name="track_video", **queue)  # scripts: errors
