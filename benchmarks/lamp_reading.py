"""Where the lamp sliders start: the lamp read from each real face's recovered light, and how well it lights the face.

    python benchmarks/lamp_reading.py [--photos runs/devset/*.jpg ...] [--report reports/lighting/lamp_reading.json]

For every face of the photos (default: the development set of ``python -m training.devset --out runs/devset`` and
the example) the pipeline's recovered light (network + full fit) is read as one lamp + ambient
(:func:`inversefacenet.lighting.light_from_sh`, where the app's and the page's sliders start). Reported per face and
summed up: the lamp's azimuth and elevation, whether it is behind the head (|azimuth| > 90 deg), and the lamp's error
on the face: the reconstructed face (its pose, shape and expression, white albedo) rendered under the lamp alone and
under the recovered light, RMSE inside the face mask over the mean irradiance under the recovered light (what the
sliders add to the lamp, the rest, is left out: the smaller this is, the more the sliders' lamp is the light the
face shows).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from inversefacenet import FaceModel, NoFaceError, Reconstructor  # noqa: E402
from inversefacenet.images import load_image  # noqa: E402
from inversefacenet.lighting import light_from_sh, sh_from_light  # noqa: E402
from inversefacenet.params import FaceParameters  # noqa: E402
from inversefacenet.preprocess import face_mask  # noqa: E402
from inversefacenet.render.renderer import render  # noqa: E402

REPORT = ROOT / "reports" / "lighting" / "lamp_reading.json"
SIZE = 128
"""Render size (px) of the lamp's error."""


def lamp_error(model: FaceModel, params: FaceParameters, lamp_sh: np.ndarray) -> float:
    """RMSE of the face (white albedo) under ``lamp_sh`` (9, 3) against it under its own light, inside its face
    mask, over the mean irradiance under its own light."""
    white = np.ones((1, model.n_vertices, 3), np.float32)
    own = render(model, params, SIZE, albedo=white)
    lamp = render(model, replace(params, sh=lamp_sh[None].astype(np.float32)), SIZE, albedo=white)
    inside = face_mask(own.pixels[0, model.landmarks_mediapipe], SIZE) & own.raster.mask[0]
    difference = lamp.image[0][inside] - own.image[0][inside]
    return float(np.sqrt((difference**2).mean()) / own.image[0][inside].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    devset = sorted((ROOT / "runs" / "devset").glob("*.[jp][pn]g"))
    parser.add_argument("--photos", nargs="*", type=Path, default=[*devset, ROOT / "assets/examples/astronaut.jpg"])
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()
    reconstructor = Reconstructor.load()
    rows = []
    for path in tqdm(args.photos, desc="photos"):
        try:
            faces = reconstructor(load_image(path))
        except NoFaceError:
            continue
        for k, face in enumerate(faces):
            lamp = light_from_sh(face.params.sh[0])
            rows.append({"photo": path.name, "face": k, "lamp": asdict(lamp),
                         "behind": bool(abs(lamp.azimuth_deg) > 90),
                         "lamp_error": lamp_error(face.model, face.params, sh_from_light(lamp))})  # fmt: skip
    if not rows:
        sys.exit("no face found in the photos (make the development set: python -m training.devset --out runs/devset)")
    errors = [row["lamp_error"] for row in rows]
    summary = {"faces": len(rows), "behind": sum(row["behind"] for row in rows), "lamp_error_median":
               float(np.median(errors)), "lamp_error_p90": float(np.percentile(errors, 90))}  # fmt: skip
    print(json.dumps(summary))
    args.report.parent.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/lamp_reading.py" + (" --photos ..." if "--photos" in sys.argv else "")
    args.report.write_text(json.dumps({"command": command, **summary, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
