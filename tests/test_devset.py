"""The development set's builder reads images out of every kind of package it takes them from (no network here)."""

import io
import shutil
import subprocess
import tarfile
import zipfile

import pytest

from training.devset import MORE, SOURCES, output_name, read_member, sources_table

IMAGE = b"\xff\xd8\xff\xe0 a JPEG's first bytes"


def _tar(path, member, mode):
    with tarfile.open(path, mode) as tar:
        info = tarfile.TarInfo(member)
        info.size = len(IMAGE)
        tar.addfile(info, io.BytesIO(IMAGE))
    return path


def test_members_come_out_of_wheels_zips_and_tarballs(tmp_path):
    with zipfile.ZipFile(tmp_path / "bob.ip.x-1.0.zip", "w") as archive:
        archive.writestr("bob.ip.x-1.0/data/face.jpg", IMAGE)
    assert read_member(tmp_path / "bob.ip.x-1.0.zip", "bob.ip.x-1.0/data/face.jpg") == IMAGE
    for name, mode in (("x.tar.gz", "w:gz"), ("x.orig.tar.bz2", "w:bz2"), ("x.tar.xz", "w:xz")):
        assert read_member(_tar(tmp_path / name, "x-1/examples/faces/a.jpg", mode), "x-1/examples/faces/a.jpg") == IMAGE
    with pytest.raises(KeyError):
        read_member(tmp_path / "x.tar.gz", "x-1/missing.jpg")


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb is Debian's; CI runs on Debian")
def test_members_come_out_of_a_debian_package(tmp_path):
    root = tmp_path / "pkg"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text("Package: demo\nVersion: 1\nArchitecture: all\nMaintainer: x <x@y>\n"
                                             "Description: a test\n")
    (root / "usr/share/demo").mkdir(parents=True)
    (root / "usr/share/demo/face.jpg").write_bytes(IMAGE)
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(tmp_path / "demo.deb")],
                   check=True, capture_output=True)
    assert read_member(tmp_path / "demo.deb", "./usr/share/demo/face.jpg") == IMAGE


def test_the_teaching_photos_are_kept_apart_from_the_development_set():
    """Their names never meet the development set's, so its halves (and every score on them) stay as they were."""
    development = {output_name(s, m) for s in SOURCES for m in s.images}
    more = [output_name(s, m) for s in MORE for m in s.images]
    assert len(set(more)) == len(more) and not development & set(more)
    table = sources_table(more=True)
    assert "| dlib_tom_cruise_avp_2014_4.jpg | Debian source | dlib | 19.24+dfsg-1 |" in table
    assert "| kpa_wayne.jpg | Debian | kphotoalbum | 5.9.1-1 | /usr/share/kphotoalbum/demo/wayne.jpg |" in table
    assert table.startswith("# Photos for teaching only") and sources_table().startswith("# Development set")
