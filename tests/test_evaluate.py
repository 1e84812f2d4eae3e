"""evaluate: mapping square predictions back, the ISIC metrics against the official scorer, the CLI.

The official scorer (`isic-challenge-scoring`, a dev dependency) is called through its real Python
API on real files; its tests skip with a reason when it is not installed.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from skin_cancer import DataError, to_original
from skin_cancer.cli import main
from skin_cancer.dataset.transforms import RESIZE_MODES, placement, prepare_mask
from skin_cancer.evaluate import (
    ceiling_predictions,
    collect_predictions,
    load_truth,
    score,
)
from skin_cancer.evaluate import evaluate as evaluate_function
from skin_cancer.evaluate.metrics import METRIC_NAMES, Confusion, confusion, scores
from skin_cancer.releases import ISIC2017

from .helpers import zip_official_folders

# Only the tests that compare with the official scorer skip without it; the rest of this module still runs.
NO_OFFICIAL = "isic-challenge-scoring (dev extra) is not installed: no official reference"

SPLITS = ISIC2017.splits

KINDS = ("perfect", "dilated", "eroded", "shifted", "empty", "full")


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("evaluate-cache")


@pytest.fixture(scope="module")
def truths(real_sample, cache):
    """Ground truth of every split of the default build (512, pad)."""
    return {split.name: load_truth(str(real_sample), split=split.name, cache_dir=str(cache)) for split in SPLITS}


@pytest.fixture(scope="module")
def official_macro():
    """The official scorer's macro averages of a truth folder and a prediction folder (skips without it)."""
    segmentation = pytest.importorskip("isic_challenge_scoring.segmentation", reason=NO_OFFICIAL)

    def macro(truth_folder: Path, prediction_folder: Path) -> dict[str, float]:
        return segmentation.SegmentationScore.from_dir(truth_folder, prediction_folder).macro_average.to_dict()

    return macro


def assert_same(ours: dict, theirs: dict, label: str = "") -> None:
    for name in METRIC_NAMES:
        assert abs(ours[name] - theirs[name]) <= 1e-9, f"{label} {name}: ours {ours[name]!r}, official {theirs[name]!r}"


# ------------------------------------------------------------------ metrics against the official definitions


def _shift_max(binary: np.ndarray, radius: int, axis: int) -> np.ndarray:
    result = binary.copy()
    for step in range(1, radius + 1):
        result[(slice(None),) * axis + (slice(step, None),)] |= binary[(slice(None),) * axis + (slice(None, -step),)]
        result[(slice(None),) * axis + (slice(None, -step),)] |= binary[(slice(None),) * axis + (slice(step, None),)]
    return result


def dilate(binary: np.ndarray, radius: int) -> np.ndarray:
    return _shift_max(_shift_max(binary, radius, 0), radius, 1)


def erode(binary: np.ndarray, radius: int) -> np.ndarray:
    return ~dilate(~binary, radius)


def make_prediction(truth: np.ndarray, kind: str) -> np.ndarray:
    if kind == "perfect":
        return truth
    if kind == "dilated":
        return dilate(truth, 25)
    if kind == "eroded":
        return erode(truth, 25)
    if kind == "shifted":
        return np.roll(truth, (truth.shape[0] // 10, truth.shape[1] // 12), axis=(0, 1))
    if kind == "empty":
        return np.zeros_like(truth)
    return np.ones_like(truth)


def test_scores_match_the_official_definitions_on_edge_cases(tmp_path):
    """Empty truth, empty prediction, full frames and a below-0.65 Jaccard, through SegmentationScore."""
    load_image = pytest.importorskip("isic_challenge_scoring.load_image", reason=NO_OFFICIAL)
    segmentation = pytest.importorskip("isic_challenge_scoring.segmentation", reason=NO_OFFICIAL)
    shape = (40, 60)
    blob = np.zeros(shape, bool)
    blob[10:30, 20:45] = True
    small = np.zeros(shape, bool)
    small[12:16, 22:26] = True
    cases = {
        "ISIC_0000001": (np.zeros(shape, bool), np.zeros(shape, bool)),  # both empty: 1.0 on the ratios
        "ISIC_0000002": (np.zeros(shape, bool), blob),  # truth empty, prediction not
        "ISIC_0000003": (blob, np.zeros(shape, bool)),  # prediction empty
        "ISIC_0000004": (np.ones(shape, bool), np.ones(shape, bool)),  # no negatives at all
        "ISIC_0000005": (blob, small),  # Jaccard far below 0.65
        "ISIC_0000006": (blob, dilate(blob, 2)),  # Jaccard above 0.65
    }
    pairs, rows = [], []
    for image_id, (truth, prediction) in cases.items():
        pair = load_image.ImagePair(truth_file=tmp_path / f"{image_id}_segmentation.png")
        pair.image_id = image_id
        pair.truth_image = truth.astype(np.uint8) * 255
        pair.prediction_image = prediction.astype(np.uint8) * 255
        pairs.append(pair)
        rows.append(scores(confusion(truth, prediction)))
    theirs = segmentation.SegmentationScore(pairs).macro_average.to_dict()
    ours = {name: float(np.mean([row[name] for row in rows])) for name in METRIC_NAMES}
    assert_same(ours, theirs)
    both_empty, truth_empty = rows[0], rows[1]
    assert all(both_empty[name] == 1.0 for name in METRIC_NAMES)
    assert (truth_empty["jaccard"], truth_empty["dice"], truth_empty["sensitivity"]) == (0.0, 0.0, 1.0)
    assert rows[4]["threshold_jaccard"] == 0.0 and rows[4]["jaccard"] > 0


def test_confusion_in_a_window_counts_the_rest_as_true_negatives():
    truth = np.array([[True, False], [True, True]])
    prediction = np.array([[True, True], [False, True]])
    assert confusion(truth, prediction) == Confusion(tp=2, fp=1, fn=1, tn=0)
    assert confusion(truth, prediction, total=100) == Confusion(tp=2, fp=1, fn=1, tn=96)


@pytest.fixture(scope="module")
def native_predictions(real_sample, tmp_path_factory) -> dict[str, dict[str, Path]]:
    """{kind: {split: folder}} of native-size {0,255} PNGs made from the 14 real masks."""
    root = tmp_path_factory.mktemp("native-predictions")
    folders: dict[str, dict[str, Path]] = {kind: {} for kind in KINDS}
    for split in SPLITS:
        for mask_path in sorted((real_sample / split.mask_folder).glob("*.png")):
            truth = np.asarray(Image.open(mask_path)) > 128
            for kind in KINDS:
                folder = folders[kind].setdefault(split.name, root / kind / split.name)
                folder.mkdir(parents=True, exist_ok=True)
                Image.fromarray(make_prediction(truth, kind).astype(np.uint8) * 255).save(folder / mask_path.name)
    return folders


@pytest.mark.parametrize("kind", KINDS)
def test_macro_averages_equal_the_official_scorer_on_native_pngs(
    kind, native_predictions, truths, real_sample, official_macro
):
    for split in SPLITS:
        folder = native_predictions[kind][split.name]
        report = score(collect_predictions(folder), truths[split.name])
        assert len(report.per_image) == len(truths[split.name].rows)
        theirs = official_macro(real_sample / split.mask_folder, folder)
        assert_same(report.summary["native"], theirs, f"{kind}/{split.name}")
    if kind == "perfect":
        assert report.summary["native"]["jaccard"] == 1.0


# ------------------------------------------------------------------ mapping back


@pytest.mark.parametrize("mode", RESIZE_MODES)
def test_ceiling_written_natively_is_accepted_and_scored_identically_by_the_official_scorer(
    mode, real_sample, cache, tmp_path, official_macro
):
    truth = load_truth(str(real_sample), split="train", resize_mode=mode, cache_dir=str(cache))
    native = tmp_path / "native"
    report = score(ceiling_predictions(truth), truth, write_native=native)
    written = sorted(path for path in native.iterdir() if not path.name.startswith("."))  # the marker is hidden
    assert [path.name for path in written] == [f"{image_id}_segmentation.png" for image_id in truth.ids]
    for path, row in zip(written, truth.rows, strict=True):
        image = Image.open(path)
        assert (image.mode, image.size) == ("L", (row.width, row.height))
        assert set(np.unique(np.asarray(image))) <= {0, 255}
    assert_same(report.summary["native"], official_macro(real_sample / "ISIC-2017_Training_Part1_GroundTruth", native))
    assert report.summary["square"]["jaccard"] == 1.0  # the masks against themselves
    # Mapping back the builder's own masks must nearly reproduce the native truth; a one-pixel
    # misplacement of the square would cost far more than this.
    floor = 0.95 if mode == "center_crop" else 0.985
    assert report.summary["native"]["jaccard"] > floor, report.table()


def _random_blob(shape: tuple[int, int], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]]
    centre_y, centre_x = rng.uniform(0.3, 0.7) * shape[0], rng.uniform(0.3, 0.7) * shape[1]
    return ((rows - centre_y) / (0.25 * shape[0])) ** 2 + ((columns - centre_x) / (0.2 * shape[1])) ** 2 < 1


def test_every_prediction_encoding_maps_back_to_the_same_mask(tmp_path):
    example = {"image_id": "ISIC_0000042", "original_width": 301, "original_height": 203}
    binary = _random_blob((64, 64), seed=1)
    reference = to_original(binary, example)
    assert reference.shape == (203, 301) and reference.dtype == bool and reference.any()
    palette = Image.fromarray(binary.astype(np.uint8), mode="P")
    palette.putpalette([0, 0, 0, 255, 255, 255])
    np.save(tmp_path / "ISIC_0000042.npy", binary.astype(np.uint8))
    Image.fromarray(binary.astype(np.uint8) * 255).save(tmp_path / "ISIC_0000042_segmentation.png")
    palette.save(tmp_path / "palette.png")
    encodings = {
        "uint8 0/1": binary.astype(np.uint8),
        "int64 0/1": binary.astype(np.int64),
        "float 0/1": binary.astype(np.float32),
        "channel axis": binary[:, :, None],
        "PIL L": Image.fromarray(binary.astype(np.uint8) * 255),
        "PIL 1": Image.fromarray(binary),
        "PIL P {0,1}": palette,
        "npy file": tmp_path / "ISIC_0000042.npy",
        "png file": str(tmp_path / "ISIC_0000042_segmentation.png"),
        "P png file": tmp_path / "palette.png",
    }
    for label, prediction in encodings.items():
        assert np.array_equal(to_original(prediction, example), reference), label
    # 8-bit arrays are class indices unless the run says otherwise: 0/255 needs the official reading.
    eight_bit = binary.astype(np.uint8) * 255
    assert np.array_equal(to_original(eight_bit, example, prediction_values="official"), reference)
    with pytest.raises(DataError, match=r"ISIC_0000042: holds values from 0 to 255.*--prediction-values"):
        to_original(eight_bit, example)


def test_thresholds_are_the_official_ones():
    example = {"original_width": 90, "original_height": 60}
    for value, lesion in ((128, False), (129, True)):
        assert to_original(np.full((32, 32), value, np.uint8), example, "stretch", None, "official").all() == lesion
        grey = Image.fromarray(np.full((32, 32), value, np.uint8))  # a greyscale image: official by default
        assert to_original(grey, example, "stretch").all() == lesion
    for value, lesion in ((0.5, False), (0.5001, True)):
        assert to_original(np.full((32, 32), value, np.float32), example, "stretch").all() == lesion


def test_bilinear_upsampling_gives_smooth_not_blocky_edges():
    """One lit pixel of 8x8 stretched to 80x80: nearest would give a 10x10 block; bilinear a rounded blob."""
    prediction = np.zeros((8, 8), bool)
    prediction[3, 3] = True
    native = to_original(prediction, {"original_width": 80, "original_height": 80}, "stretch", size=8)
    ys, xs = np.nonzero(native)
    assert 0 < native.sum() < 100
    assert native.sum() < (np.ptp(ys) + 1) * (np.ptp(xs) + 1)  # not a filled rectangle
    assert abs(ys.mean() - 35) < 1 and abs(xs.mean() - 35) < 1  # centred on the pixel's footprint


def test_windowed_mapping_equals_a_full_frame_bilinear_resize():
    """Resampling only around the lesion must give exactly what resizing the whole square gives."""
    rng = np.random.default_rng(7)
    soft = (rng.random((48, 48)) * _random_blob((48, 48), seed=3)).astype(np.float32)
    native = to_original(soft, {"original_width": 500, "original_height": 330}, "stretch")
    full = np.asarray(Image.fromarray(soft, mode="F").resize((500, 330), Image.Resampling.BILINEAR)) > 0.5
    assert np.mean(native != full) < 1e-4


@pytest.mark.parametrize("mode", RESIZE_MODES)
def test_mapping_back_inverts_the_builder_geometry(mode):
    """A native mask through the builder's prepare_mask and back lands where it was."""
    width, height = 640, 400
    truth = np.zeros((height, width), bool)
    truth[150:300, 260:420] = True  # inside the central square, so center_crop keeps it
    square = np.asarray(Image.open(__import__("io").BytesIO(_prepare(truth, mode))))
    back = to_original(square, {"original_width": width, "original_height": height}, mode)
    jaccard = np.logical_and(back, truth).sum() / np.logical_or(back, truth).sum()
    assert jaccard > 0.98, (mode, jaccard)


def _prepare(truth: np.ndarray, mode: str) -> bytes:
    from skin_cancer.dataset.transforms import encode_png

    return prepare_mask(encode_png(Image.fromarray(truth.astype(np.uint8) * 255)), truth.shape[::-1], 128, mode)


def test_center_crop_ends_are_background_and_pad_bands_are_ignored():
    example = {"original_width": 300, "original_height": 200}
    full = np.ones((100, 100), bool)
    cropped = to_original(full, example, "center_crop")
    assert cropped[:, 50:250].all() and not cropped[:, :50].any() and not cropped[:, 250:].any()
    assert to_original(full, example, "pad").all()
    band_only = np.zeros((100, 100), bool)
    place = placement(300, 200, 100, "pad")
    band_only[: place.target_box[1], :] = True  # lesion painted in the top padding band only
    assert not to_original(band_only, example, "pad").any()


def test_a_native_size_prediction_is_taken_as_is():
    example = {"original_width": 50, "original_height": 30}
    native = _random_blob((30, 50), seed=5)
    assert np.array_equal(to_original(native.astype(np.uint8), example), native)


def test_bad_predictions_get_one_line_naming_the_file(tmp_path):
    example = {"image_id": "ISIC_0000009", "original_width": 300, "original_height": 200}
    path = tmp_path / "ISIC_0000009.png"
    Image.new("L", (64, 48)).save(path)
    with pytest.raises(
        DataError, match=r"ISIC_0000009\.png: is 64x48, .*square size \(512x512\).*native size \(300x200\)"
    ):
        to_original(path, example, size=512)
    Image.new("RGB", (64, 64), (10, 200, 30)).save(path)
    with pytest.raises(DataError, match=r"ISIC_0000009\.png: is a colour image \(mode RGB\) whose channels differ"):
        to_original(path, example)
    path.write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"ISIC_0000009\.png: cannot be decoded"):
        to_original(path, example)
    with pytest.raises(DataError, match="probabilities lie in"):
        to_original(np.full((8, 8), 3.0), example)
    with pytest.raises(DataError, match="single-channel"):
        to_original(np.zeros((8, 8, 3), np.uint8), example)


# ------------------------------------------------------------------ evaluate() and its bad input


def _square_predictions(truth, kind: str = "dilated") -> dict[str, np.ndarray]:
    masks = ceiling_predictions(truth)
    return {
        image_id: make_prediction(np.asarray(Image.open(__import__("io").BytesIO(data)).convert("L")) > 128, kind)
        for image_id, data in masks.items()
    }


def test_evaluate_reports_native_and_square_side_by_side(real_sample, cache, truths):
    predictions = _square_predictions(truths["train"], "eroded")
    report = evaluate_function(predictions, data_dir=str(real_sample), split="train", cache_dir=str(cache))
    assert [row["image_id"] for row in report.per_image] == truths["train"].ids
    summary = report.summary
    assert summary["images"] == summary["square_images"] == 8 and summary["missing"] == 0
    assert set(summary["native"]) == set(summary["square"]) == set(METRIC_NAMES)
    assert summary["native"]["jaccard"] != summary["square"]["jaccard"]
    assert summary["native"]["sensitivity"] < 1.0 and summary["native"]["specificity"] > 0.99
    # The shared sample holds 8 of the 2000 official training images: the report says so, on every run.
    first = report.table().splitlines()[0]
    assert first.startswith("PARTIAL SPLIT: scored all 8 of 8 train images") and "has 2000 images" in first
    assert summary["official_images_in_split"] == 2000 and summary["note"] == first
    two = score(predictions, truths["train"], num_proc=2)
    assert two.per_image == report.per_image


def test_missing_predictions_are_an_error_unless_allowed(truths):
    predictions = _square_predictions(truths["train"])
    some = {image_id: predictions[image_id] for image_id in truths["train"].ids[:3]}
    with pytest.raises(DataError, match=r"5 of 8 train images have no prediction, e.g. ISIC_"):
        score(some, truths["train"])
    report = score(some, truths["train"], allow_missing=True)
    assert len(report.per_image) == 3
    assert report.summary["note"].startswith("PARTIAL: scored only 3 of 8 train images")
    assert report.table().startswith("PARTIAL")


def test_predictions_for_other_ids_warn_with_their_count(truths):
    predictions = _square_predictions(truths["test"])
    predictions["ISIC_9999998"] = predictions["ISIC_9999999"] = np.zeros((512, 512), bool)
    with pytest.warns(UserWarning, match="2 predictions are for ids not in the test split"):
        score(predictions, truths["test"])


def test_a_folder_with_two_files_for_one_id_is_an_error_naming_both(tmp_path):
    Image.new("L", (8, 8)).save(tmp_path / "ISIC_0012345.png")
    np.save(tmp_path / "ISIC_0012345_segmentation.npy", np.zeros((8, 8)))
    with pytest.raises(DataError, match=r"ISIC_0012345_segmentation\.npy: is a second prediction .*ISIC_0012345\.png"):
        collect_predictions(tmp_path)


def test_wrong_size_prediction_in_evaluate_names_the_file(truths, tmp_path):
    folder = tmp_path / "preds"
    folder.mkdir()
    for image_id in truths["test"].ids:
        Image.new("L", (256, 256)).save(folder / f"{image_id}_segmentation.png")
    with pytest.raises(DataError, match=r"_segmentation\.png: is 256x256, but .*\(512x512\)"):
        score(collect_predictions(folder), truths["test"])


# ------------------------------------------------------------------ the command line, --data-dir and --dataset


def _cli(real_sample, cache, *arguments: str) -> int:
    return main(["evaluate", "--data-dir", str(real_sample), "--cache-dir", str(cache), "--quiet", *arguments])


@pytest.fixture(scope="module")
def prediction_folder(truths, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("square-predictions")
    for image_id, prediction in _square_predictions(truths["test"], "shifted").items():
        Image.fromarray(prediction.astype(np.uint8) * 255).save(folder / f"{image_id}_segmentation.png")
    return folder


def test_cli_writes_the_report_files(real_sample, cache, prediction_folder, tmp_path, capsys, official_macro):
    output, native = tmp_path / "report", tmp_path / "native"
    code = _cli(
        real_sample,
        cache,
        "--predictions",
        str(prediction_folder),
        "--output",
        str(output),
        "--write-native",
        str(native),
    )
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert sorted(path.name for path in output.iterdir() if not path.name.startswith(".")) == [
        "per_image.csv",
        "summary.json",
        "summary.md",
        "worst.png",
    ]
    summary = json.loads((output / "summary.json").read_text())
    assert summary["images"] == 3 and summary["split"] == "test"
    assert (output / "summary.md").read_text().strip() in printed
    lines = (output / "per_image.csv").read_text().splitlines()
    assert len(lines) == 4 and lines[0].startswith("image_id,prediction,width,height,tp,fp,fn,tn,accuracy")
    worst = Image.open(output / "worst.png")
    assert worst.width > 3 * 200
    theirs = official_macro(real_sample / "ISIC-2017_Test_v2_Part1_GroundTruth", native)
    assert_same(summary["native"], theirs)


def test_cli_ceiling_and_bad_input_messages(real_sample, cache, prediction_folder, tmp_path, capsys):
    assert _cli(real_sample, cache, "--ceiling", "--resize-mode", "center_crop") == 0
    assert "resize_mode center_crop" in capsys.readouterr().out
    broken = tmp_path / "broken"
    shutil.copytree(prediction_folder, broken)
    first = sorted(broken.iterdir())[0]
    first.write_bytes(b"garbage")
    assert _cli(real_sample, cache, "--predictions", str(broken)) == 1
    # The reused partial build repeats its warnings first; the error itself is one line.
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if not line.startswith("warning: ")]
    assert len(lines) == 1 and lines[0].startswith(f"error: {first}: cannot be decoded")
    first.unlink()
    assert _cli(real_sample, cache, "--predictions", str(broken)) == 1
    assert "1 of 3 test images have no prediction" in capsys.readouterr().err
    assert _cli(real_sample, cache, "--predictions", str(broken), "--allow-missing") == 0
    assert capsys.readouterr().out.startswith("PARTIAL: scored only 2 of 3 test images")
    assert _cli(real_sample, cache) == 2  # neither --predictions nor --ceiling


@pytest.fixture(scope="module")
def staged_plain(real_sample, cache, tmp_path_factory) -> Path:
    """A dry-run staged repository of two variants, pad-512 (the default) and center_crop-256."""
    folder = tmp_path_factory.mktemp("staging") / "plain"
    source = ["--data-dir", str(real_sample), "--cache-dir", str(cache), "--quiet", "--repo-id", "lab/isic"]
    variants = ["--variant", "512:pad", "--variant", "256:center_crop"]
    # Every pair, the 4 without an ISIC Archive licence record too, so the folder matches the data_dir.
    code = main(
        ["publish", *source, *variants, "--dry-run", str(folder), "--allow-partial", "--include-unknown-license"]
    )
    assert code == 0
    return folder


@pytest.fixture(scope="module")
def staged(staged_plain) -> Path:
    """The publisher stages the native_masks configuration itself: native_masks/<split>-*.parquet with
    image_id and the original ISIC mask PNG bytes, and a card config `native_masks` (not the default)."""
    assert (staged_plain / "native_masks" / "test-00000-of-00001.parquet").is_file()
    return staged_plain


@pytest.fixture(scope="module")
def staged_without_native(staged_plain, tmp_path_factory) -> Path:
    """What a publish from a download build stages: no native_masks configuration."""
    from datasets.utils.metadata import MetadataConfigs
    from huggingface_hub import DatasetCard

    folder = tmp_path_factory.mktemp("staging") / "no-native"
    shutil.copytree(staged_plain, folder)
    shutil.rmtree(folder / "native_masks")
    card = DatasetCard.load(folder / "README.md")
    configs = MetadataConfigs.from_dataset_card_data(card.data)
    del configs["native_masks"]
    card.data["configs"] = None
    configs.to_dataset_card_data(card.data)
    card.save(folder / "README.md")
    return folder


def _evaluate_dataset(folder: Path, hf_cache: Path, *arguments: str) -> int:
    return main(["evaluate", "--dataset", str(folder), "--cache-dir", str(hf_cache), "--quiet", *arguments])


def test_dataset_folder_gives_the_same_numbers_as_data_dir(
    staged, real_sample, cache, prediction_folder, tmp_path, capsys
):
    from_folder, from_tree = tmp_path / "from-folder", tmp_path / "from-tree"
    arguments = ("--predictions", str(prediction_folder), "--output")
    assert _evaluate_dataset(staged, tmp_path / "hf", *arguments, str(from_folder)) == 0
    assert "resize_mode pad" in capsys.readouterr().out  # from the default configuration, pad-512
    assert _cli(real_sample, cache, *arguments, str(from_tree)) == 0
    ours = json.loads((from_folder / "summary.json").read_text())
    theirs = json.loads((from_tree / "summary.json").read_text())
    assert ours["native"] == theirs["native"] and ours["square"] == theirs["square"]
    assert ours["images"] == theirs["images"] == 3
    assert (from_folder / "per_image.csv").read_text() == (from_tree / "per_image.csv").read_text()


def test_dataset_configuration_names_the_geometry(staged, real_sample, cache, tmp_path, capsys):
    from_folder, from_tree = tmp_path / "from-folder", tmp_path / "from-tree"
    ceiling = ["--ceiling", "--split", "valid", "--output"]
    assert _evaluate_dataset(staged, tmp_path / "hf", "--config", "center_crop-256", *ceiling, str(from_folder)) == 0
    assert "built 256x256, resize_mode center_crop" in capsys.readouterr().out
    geometry = ["--size", "256", "--resize-mode", "center_crop"]
    assert _cli(real_sample, cache, *geometry, *ceiling, str(from_tree)) == 0
    ours = json.loads((from_folder / "summary.json").read_text())
    theirs = json.loads((from_tree / "summary.json").read_text())
    assert ours["native"] == theirs["native"] and ours["native"]["jaccard"] < 1.0
    capsys.readouterr()
    assert _evaluate_dataset(staged, tmp_path / "hf", "--resize-mode", "stretch", "--ceiling") == 2
    assert "(pad-512) was built with resize_mode=pad, not stretch" in capsys.readouterr().err
    assert _evaluate_dataset(staged, tmp_path / "hf", "--config", "pad-1024", "--ceiling") == 2
    error = capsys.readouterr().err
    assert "no configuration 'pad-1024'; it has" in error and "pad-512" in error and "center_crop-256" in error


def test_dataset_folder_without_native_masks_says_what_is_missing(staged_without_native, tmp_path, capsys):
    assert _evaluate_dataset(staged_without_native, tmp_path / "hf", "--ceiling") == 1
    assert "has no native_masks configuration" in capsys.readouterr().err


def test_a_local_folder_that_is_not_staged_is_refused_without_the_hub(tmp_path, monkeypatch, capsys):
    """An export folder given to --dataset: once its missing README.md was sent to the Hub as a repo id (~40 s)."""
    import huggingface_hub

    calls = []

    def no_hub(*args, **kwargs):
        calls.append(args)
        raise AssertionError("the Hub was asked")

    monkeypatch.setattr(huggingface_hub.DatasetCard, "load", no_hub)
    monkeypatch.setattr(huggingface_hub.HfApi, "dataset_info", no_hub)
    folder = tmp_path / "ex"
    (folder / "train").mkdir(parents=True)
    (folder / "train" / "metadata.csv").write_text("file_name\n")
    assert _evaluate_dataset(folder, tmp_path / "hf", "--ceiling") == 2
    error = capsys.readouterr().err
    assert "is not a folder staged by `skin-cancer publish --dry-run`" in error and len(error.splitlines()) == 1
    assert calls == []


def test_resize_mode_comes_from_the_card_yaml_never_from_its_prose(tmp_path):
    from huggingface_hub import DatasetCard

    from skin_cancer.evaluate.truth import _config_resize_mode

    assert _config_resize_mode("center_crop-256", None) == "center_crop"
    card = DatasetCard("---\nlicense: cc0-1.0\n---\n\n- Geometry: `resize_mode=center_crop`: ...\n")
    assert _config_resize_mode("default", card) is None, "the prose is not read"
    record = (
        "skin_cancer:\n  variants:\n    mine: {release: isic2017, size: 64, resize_mode: stretch, image_format: png}\n"
    )
    card = DatasetCard(f"---\nlicense: cc0-1.0\n{record}---\n\n`resize_mode=pad`\n")
    assert _config_resize_mode("mine", card) == "stretch"
    assert _config_resize_mode("default", DatasetCard("---\nlicense: cc0-1.0\n---\n\nnothing\n")) is None


def _copy_of(staged: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "staged-copy"
    shutil.copytree(staged, copy)
    return copy


def _rename_config(folder: Path, old: str, new: str, keep_record: bool = True) -> None:
    """What a person does to rename a configuration: its entries under configs and dataset_info; the shards
    stay in their folder."""
    import yaml

    text = (folder / "README.md").read_text()
    _, head, body = text.split("---\n", 2)
    metadata = yaml.safe_load(head)
    for entry in [*metadata["configs"], *metadata["dataset_info"]]:
        if entry["config_name"] == old:
            entry["config_name"] = new
    if not keep_record:
        del metadata["skin_cancer"]
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(metadata, sort_keys=False)}---\n{body}")


def test_a_configuration_renamed_by_hand_scores_with_its_real_resize_mode(staged, real_sample, cache, tmp_path, capsys):
    folder = _copy_of(staged, tmp_path)
    _rename_config(folder, "center_crop-256", "lowres")  # its prose line says center_crop, after pad's
    report = ["--ceiling", "--split", "valid", "--output"]
    assert _evaluate_dataset(folder, tmp_path / "hf", "--config", "lowres", *report, str(tmp_path / "a")) == 0
    assert "built 256x256, resize_mode center_crop" in capsys.readouterr().out
    assert _cli(real_sample, cache, "--size", "256", "--resize-mode", "center_crop", *report, str(tmp_path / "b")) == 0
    ours = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert ours["native"] == json.loads((tmp_path / "b" / "summary.json").read_text())["native"]
    given = ["--config", "lowres", "--resize-mode", "center_crop", "--ceiling", "--split", "valid"]
    assert _evaluate_dataset(folder, tmp_path / "hf", *given) == 0, "the right --resize-mode is accepted"
    capsys.readouterr()
    _rename_config(folder, "lowres", "lowres", keep_record=False)  # a card without the record: ask, never guess
    assert _evaluate_dataset(folder, tmp_path / "hf", "--config", "lowres", "--ceiling") == 2
    assert "does not say which resize_mode built lowres; pass --resize-mode" in capsys.readouterr().err
    assert _evaluate_dataset(folder, tmp_path / "hf", *given) == 0


class DeletionRecorder:
    """Stands in for the package's one deletion (outputs._delete_tree): records, deletes nothing."""

    def __init__(self):
        self.calls: list[Path] = []

    def __call__(self, folder: Path) -> None:
        self.calls.append(folder)


def _listing(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_evaluate_never_writes_into_a_folder_it_reads(
    staged, real_sample, cache, prediction_folder, tmp_path, monkeypatch, capsys
):
    from skin_cancer.tools import outputs

    recorder = DeletionRecorder()
    monkeypatch.setattr(outputs, "_delete_tree", recorder)
    folder = _copy_of(staged, tmp_path)
    predictions = tmp_path / "predictions"
    shutil.copytree(prediction_folder, predictions)
    before = {place: _listing(place) for place in (folder, predictions)}
    hf = str(tmp_path / "hf")
    dataset = ["evaluate", "--dataset", str(folder), "--cache-dir", hf, "--quiet"]
    cases = {
        "is the --dataset folder evaluate reads": [*dataset, "--ceiling", "--write-native", str(folder), "--overwrite"],
        "is the --dataset folder evaluate reads: refusing": [*dataset, "--ceiling", "--output", str(folder)],
        "is inside the --dataset folder evaluate reads": [*dataset, "--ceiling", "--write-native", str(folder / "n")],
        "is inside the predictions folder": [
            *dataset,
            "--predictions",
            str(predictions),
            "--output",
            str(predictions / "report"),
        ],
        "is the predictions folder": [*dataset, "--predictions", str(predictions), "--write-native", str(predictions)],
        "is the data folder": ["evaluate", "--data-dir", str(real_sample), "--ceiling", "--output", str(real_sample)],
    }
    for message, command in cases.items():
        assert main(command) == 2, message
        error = capsys.readouterr().err.strip()
        assert message in error and len(error.splitlines()) == 1, error
    assert recorder.calls == []
    assert {place: _listing(place) for place in (folder, predictions)} == before


def test_score_in_python_never_replaces_the_staged_folder_it_reads(staged, tmp_path, monkeypatch):
    from skin_cancer.errors import UsageError
    from skin_cancer.tools import outputs

    recorder = DeletionRecorder()
    monkeypatch.setattr(outputs, "_delete_tree", recorder)
    folder = _copy_of(staged, tmp_path)
    before = _listing(folder)
    truth = load_truth(dataset=str(folder), split="valid", cache_dir=str(tmp_path / "hf"))
    with pytest.raises(UsageError, match="a folder the ground truth is read from"):
        score(ceiling_predictions(truth), truth, write_native=str(folder), overwrite=True)
    assert recorder.calls == [] and _listing(folder) == before


def test_evaluate_download_is_refused_before_any_work(tmp_path, monkeypatch, capsys):
    import skin_cancer
    from skin_cancer import cli

    def no_work(*args, **kwargs):
        raise AssertionError("evaluate --download must be refused before any download or build")

    monkeypatch.setattr(cli, "prepare", no_work)
    monkeypatch.setattr(skin_cancer.SkinCancer, "_download", no_work)
    assert main(["evaluate", "--download", "--ceiling", "--cache-dir", str(tmp_path), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert "--download" in error and "--data-dir" in error and len(error.splitlines()) == 1


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            ["--split", "validation", "--ceiling"],
            "--split must be one of train, valid, test (isic2017), not 'validation'",
        ),
        (["--release", "ph2", "--split", "train", "--ceiling"], "--split must be one of test (ph2), not 'train'"),
        (["--predictions", "{missing}"], "--predictions {missing}: not a folder"),
        (["--predictions", "{empty}"], "--predictions {empty}: no ISIC_XXXXXXX*.png or *.npy files"),
    ],
)
def test_a_wrong_split_or_predictions_folder_is_refused_before_the_build(
    given, expected, tmp_path, monkeypatch, capsys
):
    from skin_cancer import cli

    def no_build(*args, **kwargs):
        raise AssertionError("a wrong --split or --predictions must be refused before the build")

    monkeypatch.setattr(cli, "prepare", no_build)
    (tmp_path / "empty").mkdir()
    places = {"missing": str(tmp_path / "missing"), "empty": str(tmp_path / "empty")}
    given = [argument.format(**places) for argument in given]
    data = tmp_path / "data"
    data.mkdir()
    assert main(["evaluate", "--data-dir", str(data), *given, "--cache-dir", str(tmp_path / "hf"), "--quiet"]) == 2
    error = capsys.readouterr().err.strip()
    assert expected.format(**places) in error and len(error.splitlines()) == 1


@pytest.mark.parametrize(
    "given", [["--size", "256"], ["--release", "isic2017"], ["--image-format", "png"], ["--rebuild"], ["--no-verify"]]
)
def test_build_options_that_dataset_ignores_are_refused(staged, given, tmp_path, capsys):
    assert _evaluate_dataset(staged, tmp_path / "hf", "--ceiling", *given) == 2
    error = capsys.readouterr().err.strip()
    assert given[0] in error and "--dataset" in error and len(error.splitlines()) == 1


def test_evaluate_errors_are_one_plain_line(staged, tmp_path, capsys):
    assert _evaluate_dataset(staged, tmp_path / "hf", "--config", "native_masks", "--ceiling") == 2
    error = capsys.readouterr().err.strip()
    assert "--config native_masks is the native-size ground truth" in error and len(error.splitlines()) == 1

    missing = tmp_path / "not-here" / "staged"
    assert _evaluate_dataset(missing, tmp_path / "hf", "--ceiling") == 2
    error = capsys.readouterr().err.strip()
    assert error == f"error: {missing}: no such folder (and not a Hub repository id OWNER/NAME)"

    broken = _copy_of(staged, tmp_path)
    for shard in (broken / "native_masks").iterdir():
        shard.unlink()
    assert _evaluate_dataset(broken, tmp_path / "hf2", "--ceiling") == 1
    error = capsys.readouterr().err.strip()
    assert "its native_masks configuration cannot be read for test" in error and len(error.splitlines()) == 1
    assert "(run again with --debug" not in error


def test_predictions_and_ceiling_together_say_not_both(tmp_path, capsys):
    command = ["evaluate", "--sample", "--ceiling", "--predictions", str(tmp_path), "--cache-dir", str(tmp_path)]
    assert main(command) == 2
    assert "not both" in capsys.readouterr().err


def test_evaluate_help_shows_every_default_and_what_num_proc_runs(capsys):
    import argparse

    from skin_cancer import cli

    commands = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    evaluate = commands.choices["evaluate"]
    formatter = evaluate._get_formatter()
    shown = {action.dest: formatter._get_help_string(action) for action in evaluate._actions}
    assert "processes that score" in shown["num_proc"]
    sources = {"data_dir", "dataset", "predictions", "help"}  # the sources, one of which must be given
    takes_value = [action.dest for action in evaluate._actions if action.nargs != 0 and action.dest not in sources]
    assert {"size", "release", "resize_mode", "output", "write_native", "cache_dir"} <= set(takes_value)
    for dest in takes_value:
        assert "default" in shown[dest], f"--{dest}: {shown[dest]}"
    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "(default: None)" not in " ".join(capsys.readouterr().out.split())


def test_native_masks_are_read_from_the_official_zips_in_place(real_sample, truths, tmp_path):
    """Zipped ISIC folders (read where they lie) give the same scores as the folders, in 2 processes too."""
    zips = zip_official_folders(real_sample, tmp_path / "zips", zipfile.ZIP_DEFLATED)
    from_zips = load_truth(str(zips), split="train", cache_dir=str(tmp_path / "cache"))
    assert all(str(row.native_mask.path).startswith(str(zips)) for row in from_zips.rows)
    predictions = _square_predictions(truths["train"], "dilated")
    ours = score(predictions, from_zips, num_proc=2)
    assert ours.per_image == score(predictions, truths["train"]).per_image
