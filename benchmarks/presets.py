"""How the light presets expose a face: the share of its pixels blown out (a channel at 255) and its brightness.

    python benchmarks/presets.py [--photos assets/examples/astronaut.jpg runs/devset/*.jpg runs/devset/*.png]

Each photo's first face (the app's reconstruction, in the photo texture) is rendered at 128 px under its recovered
light and under each preset as the app applies it (``lighting.preset_sh``: the photo's exposure, or less where the
face's lit side would outshine the photo's), and under each preset at the photo's mean face irradiance alone (the rule
before 2026-12-05). Per preset and rule: the mean and 90th percentile over faces of the share of face pixels with a
channel at 255, and the median over faces of the face's mean brightness over that under the recovered light. Writes
reports/relight/presets.json (``--report`` elsewhere).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inversefacenet import Reconstructor  # noqa: E402
from inversefacenet.errors import InputError  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.lighting import PRESETS, face_irradiance, preset_sh, sh_from_light, white_balance  # noqa: E402
from inversefacenet.pipeline import FaceResult  # noqa: E402

SIZE = 128


def at_mean(name: str, recovered_sh: np.ndarray) -> np.ndarray:
    """(9, 3) the preset at the recovered light's mean face irradiance and white balance alone."""
    sh = sh_from_light(PRESETS[name])
    return sh * face_irradiance(recovered_sh) / face_irradiance(sh) * white_balance(recovered_sh)


def exposure(face: FaceResult, sh: np.ndarray, inside: np.ndarray, base: float) -> tuple[float, float]:
    """The share of the face's pixels with a channel at 255 under ``sh``, and its mean brightness over ``base``."""
    image = face.render(SIZE, replace(face.params, sh=np.asarray(sh, np.float32)[None])).astype(np.float64)
    return float((image == 255).any(-1)[inside].mean()), float(image[inside].mean() / base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, nargs="+", default=[ROOT / "assets" / "examples" / "astronaut.jpg"])
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "relight" / "presets.json")
    args = parser.parse_args()
    reconstructor = Reconstructor.load()
    rows: dict[str, list[tuple[float, float]]] = {}
    for path in tqdm(args.photos):
        try:
            photo = load_image(path)
            faces = reconstructor(photo)
        except InputError:
            continue
        if not faces:
            continue
        face = faces[0].with_photo_texture(photo)
        as_shot = face.render(SIZE).astype(np.float64)
        inside = as_shot.sum(-1) > 0
        base, sh = float(as_shot[inside].mean()), face.params.sh[0]
        rows.setdefault("recovered light", []).append(exposure(face, sh, inside, base))
        for name in PRESETS:
            rows.setdefault(f"{name} (as applied)", []).append(exposure(face, preset_sh(name, sh), inside, base))
            rows.setdefault(f"{name} (the mean alone)", []).append(exposure(face, at_mean(name, sh), inside, base))
    if not rows:
        raise SystemExit("no face was found in the photos given")
    command = " ".join(["python benchmarks/presets.py", *sys.argv[1:]])
    report = {"command": command, "faces": len(rows["recovered light"])}
    for row, values in rows.items():
        clipped, brightness = np.array(values).T
        report[row] = {"clipped_mean": float(clipped.mean()), "clipped_p90": float(np.percentile(clipped, 90)),
                       "brightness_median": float(np.median(brightness))}  # fmt: skip
    print(json.dumps(report, indent=1))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
