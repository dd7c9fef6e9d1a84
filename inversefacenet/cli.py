"""Command line: reconstruct every face in one or more photos, and a face through a video.

    python -m inversefacenet PHOTO_OR_FOLDER_OR_VIDEO... --out DIR [--fit fast|full] [--no-fit | --fit-only] [--json]
        [--photo-texture] [--animated] [--verbose]

A folder stands for its image files (jpg, png, webp, bmp, tif, gif). Per face, largest first, it writes
DIR/<photo>_face<k>/ (k = 1, 2, ...) with params.json, face.obj (+ face.mtl + face_albedo.png), face.ply,
face.glb and, with --animated, face_animated.glb; and per photo DIR/<photo>_overlay.png (fitted silhouettes and
iBUG-68 points, each face numbered as its folder). Two photos with the same name get <photo>, <photo>_2, ... An
earlier run's files for a photo that this run does not write again (face_animated.glb, the folders of faces no
longer found, all of them when the photo now shows none) are removed, and its overlays and face folders in DIR are
never read as photos (a folder that is also DIR, or a shell's DIR/*). A video (mp4, m4v, mov, avi, mkv, webm; named
itself, a folder stands for its photos) is tracked instead (:mod:`inversefacenet.video`: the network on every frame,
no fit, the model's albedo; one face at a time, the largest in view when a track starts): each person, numbered as
first seen, gives
DIR/<video>_face<k>/frames.json (per frame its time and params.json's groups) and face_animated.glb (the
blendshapes as morph targets, animated with the person's expression and head pose), and DIR/<video>_overlay.mp4
shows them as a photo's overlay does.
With --json, one JSON object per photo or video goes to stdout (a failed one's names its error).
Errors go to stderr; a bad photo does not stop the others, the last line counts the files done and failed, and the
exit status is 1 if any failed (130 when stopped by Ctrl-C: each file is written whole or not at all, by a
rename). A progress bar shows on a terminal only. MediaPipe's
native start-up warnings are kept out of the terminal unless --verbose is given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from inversefacenet.errors import InputError, NoFaceError
from inversefacenet.files import replacing, write_whole
from inversefacenet.native_logs import native_logs_silenced

if TYPE_CHECKING:  # the pipeline (torch, MediaPipe, numba) is imported after the arguments parse: --help is instant
    from inversefacenet.pipeline import FaceResult, Reconstructor


def _write_face(face: FaceResult, folder: Path, source: dict[str, object], animated: bool = False) -> dict[str, str]:
    """The face's files in ``folder``; its params.json also names its ``source`` (photo, face number, box)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"params": folder / "params.json"}
    write_whole(files["params"], json.dumps({"source": source, **face.parameters_dict()}, indent=1))
    for suffix in (".obj", ".ply", ".glb"):
        written = face.export(folder / f"face{suffix}")
        files[suffix[1:]] = written[0]
        for extra in written[1:]:
            files[extra.suffix[1:]] = extra
    if animated:
        files["animated_glb"] = face.export_animated(folder / "face_animated.glb")
    return {name: str(path) for name, path in files.items()}


FACE_FILES = ("params.json", "face.obj", "face.mtl", "face_albedo.png", "face.ply", "face.glb", "face_animated.glb",
              "frames.json")  # fmt: skip
"""What the CLI may write in a face's folder (a photo's :func:`_write_face`, a video's person)."""
OVERLAYS = ("_overlay.png", "_overlay.mp4")
"""The endings of a photo's and a video's overlay beside the faces' folders."""
FACE_FOLDER = re.compile(r".+_face\d+")
"""The name of a face's (or a video's person's) folder."""


def _remove_stale(out: Path, name: str, written: list[set[str]], overlay: str) -> None:
    """An earlier run's files for this photo or video that this run did not write again (the CLI's own file names
    only, and a folder they leave empty): in face k's folder the files not in ``written[k - 1]`` (the animated GLB
    without --animated; a photo's files after a video of the same name, and the other way round), the folders of
    faces past this run's, the overlay of the other kind. A trial found an old animated GLB beside new parameters it
    no longer matched."""
    for k, files in enumerate(written, start=1):
        for stale in set(FACE_FILES) - files:
            (out / f"{name}_face{k}" / stale).unlink(missing_ok=True)
    k = len(written) + 1
    while (folder := out / f"{name}_face{k}").is_dir():
        for file in FACE_FILES:
            (folder / file).unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: the user's own files stay
            folder.rmdir()
        k += 1
    for other in OVERLAYS:
        if name + other != overlay:
            (out / (name + other)).unlink(missing_ok=True)


def _forget(out: Path, name: str) -> None:
    """An earlier run's files of a photo or video that now shows no face; one that cannot be removed stays (the
    user then reads why the photo failed, not why a file could not be removed)."""
    with contextlib.suppress(OSError):
        _remove_stale(out, name, [], overlay="")


def _named(photos: list[Path]) -> list[tuple[Path, str]]:
    """Each photo with the name its outputs take: its stem, or the first of stem_2, stem_3, ... not yet taken."""
    used: set[str] = set()
    named = []
    for photo in photos:
        name, count = photo.stem, 1
        while name in used:  # a.jpg, a.jpg, a_2.jpg -> a, a_2, a_2_2
            count += 1
            name = f"{photo.stem}_{count}"
        used.add(name)
        named.append((photo, name))
    return named


def _expanded(arguments: list[Path], out: Path) -> tuple[list[Path], list[Path]]:
    """The photos the arguments name (a folder's image files, :func:`photos_in`; other paths as given), less this
    command's own outputs in ``out`` (:func:`_ours`), and the folders among them that hold none. A trial ran the
    command twice with --out its photos' folder, and the second run read the first one's overlays as photos."""
    from inversefacenet.images import photos_in

    kept = [path for path in arguments if not _ours(path, out)]  # a shell's photos/* names the face folders too
    listed = [(path, [photo for photo in photos_in(path) if not _ours(photo, out)] if path.is_dir() else [path])
              for path in kept]  # fmt: skip
    return [photo for _, photos in listed for photo in photos], [path for path, photos in listed if not photos]


def _ours(path: Path, out: Path) -> bool:
    """Whether ``path`` is an output of this command in ``out``: an overlay, or a face's folder (one that holds its
    params.json or frames.json)."""
    try:
        if not path.parent.samefile(out):
            return False
    except OSError:  # either is missing
        return False
    if path.is_dir():
        return bool(FACE_FOLDER.fullmatch(path.name)) and any((path / name).is_file() for name in FACE_FILES)
    return path.name.endswith(OVERLAYS)


def _process_video(
    reconstructor: Reconstructor, video: Path, out: Path, name: str, progress: bool
) -> dict[str, object]:  # fmt: skip
    """Track the people of ``video``; write each one's frames.json and face_animated.glb, and the video with them
    drawn on it. The report says when the file ended well before its header's count of frames."""
    from inversefacenet.video import track_video, write_people

    overlay = out / f"{name}_overlay.mp4"
    tracked = track_video(reconstructor, video, progress=progress, overlay=overlay)

    def files_of(k: int) -> tuple[Path, Path]:
        folder = out / f"{name}_face{k}"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / "frames.json", folder / "face_animated.glb"

    written = write_people(reconstructor.model, tracked, files_of, str(video))
    people = [{"person": k, "tracked_frames": len(person.times), "from_s": round(float(person.times[0]), 3),
               "to_s": round(float(person.times[-1]), 3), "files": {"frames": str(data), "animated_glb": str(glb)}}
              for k, (person, (data, glb)) in enumerate(zip(tracked.people, written, strict=True), start=1)]
    _remove_stale(out, name, [{data.name, glb.name} for data, glb in written], overlay.name)
    report = {**tracked.source(str(video)), "ms_per_frame": round(tracked.ms_per_frame, 2), "overlay": str(overlay),
              "people": people}  # fmt: skip
    return report if tracked.warning is None else {**report, "warning": tracked.warning}


def _process(reconstructor: Reconstructor, photo: Path, out: Path, name: str, photo_texture: bool = False,
             animated: bool = False) -> dict[str, object]:  # fmt: skip
    from PIL import Image

    from inversefacenet.images import load_image, upright_size
    from inversefacenet.pipeline import draw_overlay

    start = time.perf_counter()
    image = load_image(photo)  # decoded once, for the reconstruction and the overlay
    to_file = upright_size(photo)[0] / image.shape[1]  # a photo over MAX_PIXELS was reduced: coordinates scale back
    faces = reconstructor.reconstruct_image(image, decode_ms=(time.perf_counter() - start) * 1000)
    overlay = out / f"{name}_overlay.png"
    with replacing(overlay) as temporary:
        Image.fromarray(draw_overlay(image, faces)).save(temporary)
    report, written = [], []
    for k, face in enumerate(faces):
        worn = face.with_photo_texture(image) if photo_texture else face
        box = [round(v * to_file, 2) for v in face.box]
        source = {"image": str(photo), "face": k + 1, "box": box}
        files = _write_face(worn, out / f"{name}_face{k + 1}", source, animated)
        written.append({Path(path).name for path in files.values()})
        files["overlay"] = str(overlay)
        report.append({
            "box": box,
            "landmarks68": (face.landmarks68 * to_file).round(2).tolist(),  # continuous: the photo spans [0, W]
            "files": files,
            "ms": {stage: round(ms, 2) for stage, ms in face.ms.items()},
            "landmark_error_px": round(face.landmark_error_px * to_file, 3),
            "landmark_error_iod": round(face.landmark_error_iod, 4),
            "loose_fit": face.loose_fit,
            "photometric_rmse": round(face.photometric_rmse, 3),
        })  # fmt: skip
    _remove_stale(out, name, written, overlay.name)
    reduced = {"reduced_by": round(to_file, 4)} if to_file != 1 else {}  # the overlay and the fit saw it reduced
    return {"image": str(photo), **reduced, "faces": report}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m inversefacenet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("photos", nargs="+", type=Path, metavar="PHOTO_OR_FOLDER_OR_VIDEO",
                        help="photos, folders of photos and videos to reconstruct")
    parser.add_argument("--out", type=_folder, required=True, help="output folder (made if missing)")
    parser.add_argument("--fit", choices=["fast", "full"], default=None, help="fit quality (default: full)")
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--no-fit", action="store_true", help="network only (needs a network checkpoint)")
    choice.add_argument("--fit-only", action="store_true", help="ignore the network; fit from the mean face")
    parser.add_argument("--checkpoint", type=Path, default=None, help="network checkpoint (default: the shipped one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per photo or video on stdout")
    parser.add_argument("--photo-texture", action="store_true",
                        help="export the person's own skin, de-lit from the photo, instead of the model's albedo")
    parser.add_argument("--animated", action="store_true",
                        help="also write face_animated.glb: the 52 ARKit blendshapes as morph targets (about 9 MB)")
    parser.add_argument("--verbose", action="store_true", help="also show MediaPipe's native log lines")
    args = parser.parse_args(argv)
    if args.no_fit and args.fit:
        parser.error("--no-fit and --fit exclude each other: --no-fit skips the fit")
    from inversefacenet.images import is_video

    if args.fit_only and any(is_video(path) for path in args.photos):
        parser.error("a video is read by the network, which --fit-only leaves out")
    if not any(path.exists() for path in args.photos):  # before the load and before --out is made
        for path in args.photos:
            print(f"error: no such file: {path}", file=sys.stderr)
            if args.json:  # one object per file, a failed one's with its error
                print(_failed_json(path, f"no such file: {path}"))
        return 1
    try:  # before the minutes-long load, so that a wrong --out costs nothing
        args.out.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=args.out).close()  # a folder it cannot write in (a trial: /sys) fails here too
    except OSError as error:
        why = "it is a file" if args.out.is_file() else error.strerror or str(error)
        print(f"error: cannot use --out {args.out} as the output folder: {why}", file=sys.stderr)
        return 2
    try:
        with contextlib.nullcontext() if args.verbose else native_logs_silenced():
            return _run(args)
    except KeyboardInterrupt:  # Ctrl-C: a line, not a traceback through whatever module was running
        print("interrupted (Ctrl-C); the photo being done then may have only some of its files", file=sys.stderr)
        return 130


def _folder(text: str) -> Path:
    """--out's folder; an empty one (``--out "$OUT"`` with OUT unset) is refused, not taken as the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the output folder is empty")
    return Path(text)


def _run(args: argparse.Namespace) -> int:
    """Load the pipeline and reconstruct every photo of the parsed arguments; the exit status."""
    from inversefacenet.pipeline import Reconstructor

    try:
        fit_mode = None if args.no_fit else args.fit or "full"
        reconstructor = Reconstructor.load(checkpoint=args.checkpoint, fit_mode=fit_mode, use_network=not args.fit_only)
    except (ValueError, OSError) as error:  # no network for --no-fit, unreadable checkpoint or model
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"using {reconstructor.description}", file=sys.stderr)
    try:
        return _run_photos(reconstructor, args)
    finally:  # MediaPipe's graphs close inside the silenced block: after a run that never used them, their start-up
        reconstructor.detector.close()  # threads wrote warnings past it as the process ended


def _run_photos(reconstructor: Reconstructor, args: argparse.Namespace) -> int:
    """Reconstruct every photo (and track every video) of the parsed arguments, writing each one's files; the exit
    status."""
    from tqdm import tqdm

    from inversefacenet.images import IMAGE_SUFFIXES, is_video

    photos, empty = _expanded(args.photos, args.out)
    if any(is_video(photo) for photo in photos):
        print("videos: tracked by the network alone (no fit), with the model's albedo", file=sys.stderr)
    for folder in empty:
        print(f"error: {folder} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})", file=sys.stderr)
    failed = len(empty)
    # a bar only on a terminal (disable=None): written to a log, its redraws were fragments between the files' lines
    for photo, name in tqdm(_named(photos), desc="files", unit="file", disable=True if len(photos) < 2 else None,
                            file=sys.stderr):  # fmt: skip
        try:
            if is_video(photo):  # its own progress bar, unless inside the photos' one
                report = _process_video(reconstructor, photo, args.out, name, progress=len(photos) < 2)
            else:
                report = _process(reconstructor, photo, args.out, name, args.photo_texture, args.animated)
        except (InputError, OSError) as error:  # a bad photo, or its files could not be written (disk full)
            failed += 1
            if isinstance(error, NoFaceError):  # an earlier run's faces of this name are not this file's (a trial)
                _forget(args.out, name)
            message = _failure(photo, error)
            tqdm.write(f"error: {message}", file=sys.stderr)  # on its own line, not inside the progress bar
            if args.json:  # one object per photo, a failed one's with its error
                print(_failed_json(photo, message), flush=True)
            continue
        if "warning" in report:
            tqdm.write(f"warning: {photo}: {report['warning']}", file=sys.stderr)
        if args.json:
            print(json.dumps(report), flush=True)
        else:
            tqdm.write(f"{photo}: {_done(report)} -> {args.out}", file=sys.stderr)
    if len(photos) > 1:  # the last word of a long run: how many of its files failed
        lost = failed - len(empty)
        folders = f"; {len(empty)} folder(s) without images" if empty else ""
        print(f"{len(photos) - lost} of {len(photos)} files done, {lost} failed{folders}", file=sys.stderr)
    return 1 if failed else 0


def _failed_json(path: Path, message: str) -> str:
    """--json's line for a photo or video that failed."""
    from inversefacenet.images import is_video

    return json.dumps({"video" if is_video(path) else "image": str(path), "error": message})


def _failure(photo: Path, error: InputError | OSError) -> str:
    """A failed photo's or video's error line: what was wrong with it, or which of its files could not be written."""
    if isinstance(error, InputError):
        return str(error) if str(photo) in str(error) else f"{photo}: {error}"
    return f"{photo}: could not write {error.filename or 'its files'}: {error.strerror or error}"


def _done(report: dict) -> str:
    """What a photo's or video's report found, in a few words."""
    if "people" in report:
        frames = sum(person["tracked_frames"] for person in report["people"])
        return f"{len(report['people'])} person(s) on {frames} of {report['frames']} frames"
    return f"{len(report['faces'])} face(s)"
