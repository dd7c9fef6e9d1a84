"""Files written whole or not at all (inversefacenet.files), and the writers that use it."""

import os
import stat
import threading
from pathlib import Path

import numpy as np
import pytest
import trimesh

from inversefacenet import export_mesh
from inversefacenet.files import replacing, write_whole

TRIANGLE = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0]], float)


def _export_triangle(path: Path) -> list[Path]:
    return export_mesh(path, TRIANGLE, np.array([[0, 1, 2]]), np.eye(3), TRIANGLE[:, :2] / 10)


def test_write_whole_writes_text_and_bytes_with_a_plain_files_permissions(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")  # the permissions the process's umask gives an ordinary new file
    assert write_whole(tmp_path / "a.json", "{\"é\": 1}").read_text(encoding="utf-8") == "{\"é\": 1}"
    assert write_whole(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.bin", "plain.txt"]


def test_errors_name_the_file_not_its_temporary_and_long_names_fit(tmp_path):
    """A user is told which file could not be written (a review: the CLI named ".d.eay7rakk.glb")."""
    (tmp_path / "taken.glb").mkdir()  # a folder where the file should go
    for target in (tmp_path / "taken.glb", tmp_path / "missing" / "face.json"):
        with pytest.raises(OSError) as raised:
            write_whole(target, b"x")
        assert raised.value.filename == str(target) and raised.value.filename2 is None
    long = tmp_path / ("a" * 245 + ".json")  # fits the 255-byte limit; its temporary must too
    assert write_whole(long, "{}").read_text() == "{}"


def test_a_private_file_stays_private(tmp_path):
    target = tmp_path / "params.json"
    target.write_text("old")
    target.chmod(0o600)
    write_whole(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and target.read_text() == "new"


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError])
def test_an_interrupted_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path, interruption):
    target = tmp_path / "face.glb"
    target.write_bytes(b"the last good face")
    with pytest.raises(interruption), replacing(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".glb"  # PIL and trimesh pick formats by it
        temporary.write_bytes(b"half a fa")
        raise interruption()
    assert target.read_bytes() == b"the last good face"
    assert [p.name for p in tmp_path.iterdir()] == ["face.glb"]


def test_a_reader_sees_the_old_file_or_the_new_one_never_a_mix(tmp_path):
    """The app writes a face's preview GLB again on each slider move while the server may be reading the last one."""
    target = tmp_path / "face.glb"
    versions = [bytes([k]) * 2_000_000 for k in (1, 2)]
    write_whole(target, versions[0])
    stop = threading.Event()

    def writer() -> None:
        k = 0
        while not stop.is_set():
            k += 1
            write_whole(target, versions[k % 2])

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reads = [target.read_bytes() for _ in range(200)]
    finally:
        stop.set()
        thread.join()
    assert all(read in versions for read in reads)


def test_a_mesh_export_interrupted_mid_write_keeps_the_earlier_file(tmp_path, monkeypatch):
    target = tmp_path / "face.glb"
    _export_triangle(target)
    earlier = target.read_bytes()

    def half_then_interrupt(self: Path, data: bytes) -> int:
        with open(self, "wb") as file:
            file.write(data[: len(data) // 2])
        raise KeyboardInterrupt  # Ctrl-C while the file is half written

    monkeypatch.setattr(Path, "write_bytes", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        _export_triangle(target)
    monkeypatch.undo()
    assert target.read_bytes() == earlier
    assert len(trimesh.load(target, force="mesh").faces) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["face.glb"]


def test_each_mesh_format_is_written_under_its_own_name_only(tmp_path):
    for suffix in (".obj", ".ply", ".glb"):
        _export_triangle(tmp_path / f"face{suffix}")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "face.glb", "face.mtl", "face.obj", "face.ply", "face_albedo.png"]  # fmt: skip
    assert trimesh.load(tmp_path / "face.ply", process=False).vertices.shape == (3, 3)
    assert not any(name.startswith(".") for name in os.listdir(tmp_path))
