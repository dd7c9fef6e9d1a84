"""Wall time of each download format for one reconstructed face (the example photo), warm, median of repeats.

    python benchmarks/export.py [--photo assets/examples/astronaut.jpg] [--repeats 5]

Times ``FaceResult.export`` per format and ``FaceResult.export_animated`` with the texture already baked (the app's
case: the bake is shared by the formats of one download) and the bake alone, and prints the file sizes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from train import timed  # noqa: E402  (median after one warm-up call)

from inversefacenet.export import bake_face_texture  # noqa: E402
from inversefacenet.pipeline import Reconstructor  # noqa: E402


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
        ms = timed(action, args.repeats) * 1000
        file = folder / name.split(" ")[0]
        size = f"{file.stat().st_size / 1024:.0f}" if file.exists() else "–"
        print(f"| {name} | {ms:.0f} | {size} |")


if __name__ == "__main__":
    main()
