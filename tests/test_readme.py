"""The README's and docs/'s tables against the committed reports they quote, so the two cannot drift apart.

Each check names a table (by the text just before it, found in the one page of README.md and docs/*.md that
has it), a row label, the report and the row in it, and the metrics of the row's numeric cells in order; a
cell must equal the report's value rounded to the digits the cell shows. Every relative link of those pages
must lead to a file that exists, and its #anchor to a heading there.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = {path.relative_to(ROOT).as_posix(): path.read_text()
         for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}  # fmt: skip
OUTCOMES = ("rotation_error_deg", "geometric_rmse_mm", "photometric_rmse", "mask_iou")
DEVSET = ("landmark_agreement_iod", "photometric_rmse")

REALISTIC = "Realistic row (`python -m training.evaluate CHECKPOINT --count 300 --fit-count 0"
DEVELOPMENT = "Development set (`python -m training.evaluate_photos"
PLACEMENT = "Placement: `python -m training.evaluate"
PLACEMENT_ROWS = {
    "MediaPipe's points, as detected": ("MediaPipe's points, as detected", ("placement_error_iod",)),
    "MediaPipe's points, moved by the measured offset": (
        "MediaPipe's points, moved by the measured offset",
        ("placement_error_iod",),
    ),
    "mean face, framed by the crop rule on MediaPipe's points": ("mean face", None),
    "shipped network alone": ("network", None),
    "shipped network + full fit (the pipeline's: led by the colours)": ("network + full fit", None),
    "full fit from the mean face (led by MediaPipe's points)": ("full fit from the mean face", None),
    "*shipped network, crops from the true points*": ("network, crops from the true points", None),
}
FIT_START = "`python benchmarks/fit_start.py CHECKPOINT --fractions 1 0.5 0.25` runs the full fit led by the points"
FIT_START_DEVELOPMENT = "On the development set (the fit's residuals"
FIT_ROWS = {"mean face (120 + 60)": "full fit from the mean face",
            "first network (120 + 60)": "network + full fit, 1 x the iterations",
            "first network (60 + 30), the default until the colour-led fit": "network + full fit, 0.5 x the iterations",
            "first network (30 + 15)": "network + full fit, 0.25 x the iterations"}  # fmt: skip
CHECKS = [
    (REALISTIC, "mean face", "reports/realphotos/real2.json", "mean face (real path)", OUTCOMES),
    (REALISTIC, "full fit from the mean face", "reports/realphotos/real2.json",
     "full fit from the mean face (real path)", OUTCOMES),
    (REALISTIC, "first network alone", "reports/realphotos/shipped.json", "network (real path)", OUTCOMES),
    (REALISTIC, "first network + full fit", "reports/realphotos/shipped.json", "network + full fit (real path)",
     OUTCOMES),
    (REALISTIC, "realism network (`runs/real2`) alone", "reports/realphotos/real2.json", "network (real path)",
     OUTCOMES),
    (REALISTIC, "realism network (`runs/real2`) + full fit", "reports/realphotos/real2.json",
     "network + full fit (real path)", OUTCOMES),
    (REALISTIC, "crop-alignment network (`runs/align2`) alone", "reports/realphotos/align2.json", "network (real path)",
     OUTCOMES),
    (REALISTIC, "crop-alignment network (`runs/align2`) + full fit", "reports/realphotos/align2.json",
     "network + full fit (real path)", OUTCOMES),
    (REALISTIC, "*first network, crops from the true points*", "reports/realphotos/shipped.json",
     "network, crops from the true points (real path)", OUTCOMES),
    (REALISTIC, "*realism network (`runs/real2`), crops from the true points*", "reports/realphotos/real2.json",
     "network, crops from the true points (real path)", OUTCOMES),
    (REALISTIC, "*oracle row: crop-alignment network (`runs/align2`)*", "reports/realphotos/align2.json",
     "network (oracle crops)", OUTCOMES),
    (REALISTIC, "*oracle row: first network*", "reports/realphotos/shipped.json", "network (oracle crops)", OUTCOMES),
    (REALISTIC, "*oracle row: realism network (`runs/real2`)*", "reports/realphotos/real2.json",
     "network (oracle crops)", OUTCOMES),
    (DEVELOPMENT, "full fit from the mean face (residual)", "reports/realphotos/devset.json",
     "full fit from the mean face", DEVSET),
    (DEVELOPMENT, "first network alone", "reports/realphotos/devset.json",
     "assets/inversefacenet.safetensors: network alone", DEVSET),
    (DEVELOPMENT, "realism network (`runs/real2`) alone", "reports/realphotos/devset.json",
     "runs/real2/best.safetensors: network alone", DEVSET),
    (DEVELOPMENT, "**shipped network** (`runs/gate11`) alone", "reports/realphotos/devset_gate11.json",
     "assets/inversefacenet.safetensors: network alone", DEVSET),
    (DEVELOPMENT, "shipped network + full fit led by the points (until now; residual)",
     "reports/realphotos/devset_gate11.json", "assets/inversefacenet.safetensors: network + full fit", DEVSET),
    (DEVELOPMENT, "shipped network + full fit led by the colours (the pipeline's; residual)",
     "reports/realphotos/devset_colourfit.json", "assets/inversefacenet.safetensors: network + full fit", DEVSET),
    (DEVELOPMENT, "crop-alignment network (`runs/align2`) alone", "reports/realphotos/devset.json",
     "runs/align2/best.safetensors: network alone", DEVSET),
    (DEVELOPMENT, "crop-alignment network + full fit (residual)", "reports/realphotos/devset.json",
     "runs/align2/best.safetensors: network + full fit", DEVSET),
    (REALISTIC, "unmasked network (`runs/nomask1`) alone", "reports/realphotos/nomask1.json", "network (real path)",
     OUTCOMES),
    (REALISTIC, "*oracle row: unmasked network (`runs/nomask1`)*", "reports/realphotos/nomask1.json",
     "network (oracle crops)", OUTCOMES),
    (DEVELOPMENT, "unmasked network (`runs/nomask1`) alone", "reports/realphotos/devset_nomask1.json",
     "runs/nomask1/best.safetensors: network alone", DEVSET),
    (REALISTIC, "unmasked network with heads (`runs/nomask2`) alone", "reports/realphotos/nomask2.json",
     "network (real path)", OUTCOMES),
    (REALISTIC, "*oracle row: unmasked network with heads (`runs/nomask2`)*", "reports/realphotos/nomask2.json",
     "network (oracle crops)", OUTCOMES),
    (DEVELOPMENT, "unmasked network with heads (`runs/nomask2`) alone", "reports/realphotos/devset_nomask2.json",
     "runs/nomask2/best.safetensors: network alone", DEVSET),
    *[(PLACEMENT, label, "reports/realphotos/placement_colourfit.json", f"{row} (real path)",
       metrics or ("placement_error_iod", *OUTCOMES[:2])) for label, (row, metrics) in PLACEMENT_ROWS.items()],
    *[(FIT_START, label, "reports/realphotos/fit_start.json", f"realistic row: {row}",
       (*OUTCOMES[:3], "ms_per_face")) for label, row in FIT_ROWS.items()],
    *[(FIT_START_DEVELOPMENT, label, "reports/realphotos/fit_start.json", f"development set: {row}",
       (*DEVSET, "ms_per_face")) for label, row in FIT_ROWS.items()],
]  # fmt: skip


def table_after(anchor: str) -> dict[str, list[str]]:
    """The first markdown table after ``anchor``, in the one page that has it: row label -> its other cells."""
    pages = [name for name, text in PAGES.items() if anchor in text]
    assert len(pages) == 1, f"{anchor!r} must be in exactly one of README.md and docs/*.md, not in {pages}"
    text = PAGES[pages[0]]
    rows, started = {}, False
    for line in text[text.index(anchor) :].splitlines():
        if line.startswith("|"):
            started = True
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
        elif started:
            return rows
    return rows


@pytest.mark.parametrize("anchor, label, report, row, metrics", CHECKS, ids=[f"{c[1]} ({c[2]})" for c in CHECKS])
def test_readme_rows_quote_their_reports(anchor, label, report, row, metrics):
    cells = table_after(anchor)[label]
    values = json.loads((ROOT / report).read_text())["results"][row]
    for cell, metric in zip(cells, metrics, strict=False):
        shown = re.sub(r"[*`,]", "", cell)
        digits = len(shown.split(".")[1]) if "." in shown else 0
        assert float(shown) == pytest.approx(round(values[metric], digits), abs=0.51 * 10**-digits), (label, metric)


COLOUR_FIT = "**The fit from a network now follows the photo's colours, not MediaPipe's points**"
COLOUR_FIT_ROWS = {
    "from the network, led by the colours (**the pipeline's**)":
        "network + full fit (the pipeline's, led by the colours)",
    "the same, landmark weight 0.1": "network + full fit, landmark weight 0.1",
    "the same, landmark weight 1": "network + full fit, landmark weight 1",
    "from the network, led by the points (landmark stage, the pipeline's until now)":
        "network + full fit led by the points, 0.5 x the iterations",
    "from the mean face, led by the points": "full fit from the mean face",
}  # fmt: skip


@pytest.mark.parametrize("label, row", COLOUR_FIT_ROWS.items())
def test_the_colour_led_fit_table_quotes_its_report(label, row):
    """Its cells: the realistic row's rotation, geometry and IoU, then the development set's two residuals."""
    cells = table_after(COLOUR_FIT)[label]
    results = json.loads((ROOT / "reports/realphotos/fit_start_colours.json").read_text())["results"]
    quoted = [(cells[k], results[f"realistic row: {row}"][metric])
              for k, metric in enumerate(("rotation_error_deg", "geometric_rmse_mm", "mask_iou"))]  # fmt: skip
    quoted += [(cells[3 + k], results[f"development set: {row}"][metric]) for k, metric in enumerate(DEVSET)]
    for cell, value in quoted:
        shown = re.sub(r"[*`,]", "", cell)
        digits = len(shown.split(".")[1])
        assert float(shown) == pytest.approx(round(value, digits), abs=0.51 * 10**-digits), (label, cell)


TILTED = "`python benchmarks/tilted.py --faces 100 --fit` (`reports/tilted/report.json`)"


@pytest.mark.parametrize("label", ["network, read upright (as shipped)", "network, read as it is (before)",
                                   "network + full fit, read upright (as shipped)",
                                   "network + full fit, read as it is (before)"])  # fmt: skip
def test_the_tilted_heads_table_quotes_its_report(label):
    rows = json.loads((ROOT / "reports/tilted/report.json").read_text())["rows"]
    values = rows[label.replace(" (before)", "")]
    for cell, metric in zip(table_after(TILTED)[label], OUTCOMES, strict=True):
        digits = len(cell.split(".")[1])
        assert float(cell) == pytest.approx(round(values[metric], digits), abs=0.51 * 10**-digits), (label, metric)


def assert_quotes(shown: str, value: float, what: object) -> None:
    """``shown`` (a number as a page writes it) is ``value`` rounded to the digits it shows."""
    digits = len(shown.split(".")[1]) if "." in shown else 0
    assert float(shown) == pytest.approx(round(value, digits), abs=0.51 * 10**-digits), what


# The README's current numbers: each row's "now" cell quotes, in order, the report's values at these paths.
ACCURACY = "**Accuracy of the shipped network**"
DETECTION = "**Detection** (`python benchmarks/detection.py --composites 24 --browser`"
PHOTO_TEXTURE = "**Photo texture** (`reports/photo_texture/`"
SPEED = "**Speed** (2-core CPU"
SHIPPED_BANDS = ("checkpoints", "assets/inversefacenet.safetensors")
PLACED = (
    "network",
    "network + full fit",
    "MediaPipe's points, as detected",
    "MediaPipe's points, moved by the measured offset",
)
REALISTIC_NOW = "reports/realphotos/realistic_shipped.json"  # the shipped network re-measured after detection changed
CURRENT = [
    (ACCURACY, "realistic row, network alone", REALISTIC_NOW,
     [("results", "network (real path)", metric) for metric in OUTCOMES]),
    (ACCURACY, "realistic row, network + full fit (the pipeline's default)", REALISTIC_NOW,
     [("results", "network + full fit (real path)", metric) for metric in OUTCOMES]),
    (ACCURACY, "oracle row, network alone", REALISTIC_NOW,
     [("results", "network (oracle crops)", metric) for metric in OUTCOMES]),
    (ACCURACY, "placement on the realistic row, against MediaPipe's own points", REALISTIC_NOW,
     [("results", f"{row} (real path)", "placement_error_iod") for row in PLACED]),
    (ACCURACY, "development set, network + full fit", "reports/realphotos/devset_soup36.json",
     [("results", "assets/inversefacenet.safetensors: network + full fit", metric) for metric in DEVSET]),
    (ACCURACY, "development set's held-out half, network alone over the fit",
     "reports/realphotos/devb_soup36.json",
     [("results", "assets/inversefacenet.safetensors: network alone", f"{metric} / fit") for metric in DEVSET]),
    (ACCURACY, "turned heads, network alone", "reports/turned/soup36.json",
     [(*SHIPPED_BANDS, band, "rows", "network", metric) for metric in ("yaw_error_deg", "detected")
      for band in range(4)]),
    (DETECTION, "detection recall / precision, faces from 20 px", "reports/detection/report.json",
     [(side, ">=20", metric) for side in ("python", "browser") for metric in ("recall", "precision")]),
    (DETECTION, "detection recall, faces of 12–20 px", "reports/detection/report.json",
     [(side, "12-20", "recall") for side in ("python", "browser")]),
    (DETECTION, "detection time, 12 MP group photo", "reports/detection/quiet/report.json",
     [("timings", "group 12 MP", "detection_ms"), ("timings", "group 12 MP", "mesh_ms")]),
    (PHOTO_TEXTURE, "relighting error, photo texture vs model albedo", "reports/photo_texture/synthetic.json",
     [("real_path", metric) for metric in ("photo_texture", "model_albedo", "ratio", "composite", "ratio_composite")]),
    (PHOTO_TEXTURE, "the same under a harsh film-still light", "reports/photo_texture/synthetic_harsh.json",
     [("real_path", metric) for metric in ("photo_texture", "model_albedo", "ratio", "composite", "ratio_composite")]),
    (PHOTO_TEXTURE, "re-render of real faces, photo texture vs model albedo", "reports/photo_texture/real.json",
     [("under_recovered_light", metric) for metric in ("photo_texture", "model_albedo")]),
    (PHOTO_TEXTURE, "time per face, Python", "reports/photo_texture/timing.json", [("median_wall_ms",)]),
    (PHOTO_TEXTURE, "time per face, page", "reports/photo_texture/page_timing.json",
     [("browser", "median_ms"), ("browser", "first_ms")]),
    (SPEED, "ONNX network, fp32 / fp16 / int8 weights", "reports/onnx/parity.json",
     [(variant, metric) for metric in ("size_mb", "onnxruntime_cpu_ms") for variant in ("fp32", "fp16", "int8w")]),
    (SPEED, "network reading on a CPU, int8 graph (the default) against float", "reports/onnx/int8.json",
     [("rows", graph, "ms_batch1_one_thread") for graph in ("int8", "float")]
     + [("rows", graph, metric) for graph in ("int8", "float")
        for metric in ("rotation_error_deg", "geometric_rmse_mm")]),
]  # fmt: skip


@pytest.mark.parametrize("anchor, label, report, paths", CURRENT, ids=[c[1] for c in CURRENT])
def test_the_current_numbers_quote_their_reports(anchor, label, report, paths):
    shown = re.findall(r"\d+(?:\.\d+)?", table_after(anchor)[label][0].replace(",", ""))
    data = json.loads((ROOT / report).read_text())
    assert len(shown) == len(paths), (label, shown)
    for number, path in zip(shown, paths, strict=True):
        value = data
        for key in path:
            value = value[key]
        assert_quotes(number, value, (label, path))


LINK = re.compile(r"\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a page's headings: lowercase, spaces to '-', punctuation but '-' and '_' dropped."""
    found, seen = set(), {}
    for heading in re.findall(r"^#{1,6} +(.+?)[ #]*$", FENCE.sub("", text), re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        found.add(f"{slug}-{seen[slug]}" if slug in seen else slug)  # a repeated heading: slug-1, slug-2, ...
        seen[slug] = seen.get(slug, 0) + 1
    return found


@pytest.mark.parametrize("page", PAGES)
def test_relative_links_lead_to_files_and_headings(page):
    broken = []
    for target in LINK.findall(FENCE.sub("", PAGES[page])):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        file = ((ROOT / page).parent / path).resolve() if path else ROOT / page
        if not file.exists():
            broken.append(f"{target}: no such file")
        elif anchor and anchor not in anchors(file.read_text()):
            broken.append(f"{target}: no heading #{anchor} in {file.relative_to(ROOT)}")
    assert not broken, broken
