"""Wall time of each download format for one reconstructed face (the example photo), warm, median of repeats.

    python benchmarks/export.py [--photo assets/examples/astronaut.jpg] [--repeats 5]

Times ``FaceResult.export`` per format and ``FaceResult.export_animated`` with the texture already baked (the app's
case: the bake is shared by the formats of one download) and the bake alone, and prints the file sizes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from inversefacenet.export import bake_face_texture
from inversefacenet.pipeline import Reconstructor


def median_ms(action: Callable[[], object], repeats: int) -> float:
    action()  # warm-up: numba compilation, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", default="assets/examples/astronaut.jpg")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    face = Reconstructor.load()(args.photo)[0]
    folder = Path(tempfile.mkdtemp())
    rows = {
        "texture bake": lambda: bake_face_texture(face.model, face.albedo),
        "face.obj (+ .mtl, .png)": lambda: face.export(folder / "face.obj"),
        "face.ply": lambda: face.export(folder / "face.ply"),
        "face.glb": lambda: face.export(folder / "face.glb"),
        "face_animated.glb": lambda: face.export_animated(folder / "face_animated.glb"),
    }
    print(f"| export of one face ({args.photo}) | ms (median of {args.repeats}, warm) | file size (kB) |")
    print("|---|---:|---:|")
    for name, action in rows.items():
        ms = median_ms(action, args.repeats)
        file = folder / name.split(" ")[0]
        size = f"{file.stat().st_size / 1024:.0f}" if file.exists() else "–"
        print(f"| {name} | {ms:.0f} | {size} |")


if __name__ == "__main__":
    main()
