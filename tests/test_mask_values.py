"""One rule for what a mask value means (dataset/masks.py), in the build and in evaluate, and one frame for a
pair whatever its EXIF orientation says (issue 14, sections 1 and 2).

Ground-truth cases are made from the real pairs in ../shared/isic-2017-mini, rewritten into copies under
tmp_path; predictions are scored against `isic-challenge-scoring`, ISIC's own scorer, on the same files.
"""

from __future__ import annotations

import io
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

import skin_cancer
from skin_cancer import DataError
from skin_cancer.cli import main
from skin_cancer.dataset.masks import FULL_FRACTION, MaskValueError, read_truth
from skin_cancer.dataset.transforms import placement, prepare_mask, read_mask
from skin_cancer.errors import find_skin_cancer_error
from skin_cancer.evaluate import ceiling_predictions, collect_predictions, load_truth, score
from skin_cancer.evaluate.metrics import METRIC_NAMES
from skin_cancer.evaluate.truth import decode_truth
from skin_cancer.releases import ISIC2017
from skin_cancer.tools.sample import png_bytes

official = pytest.importorskip(
    "isic_challenge_scoring", reason="isic-challenge-scoring (dev extra) is not installed: no official reference"
)
from isic_challenge_scoring.segmentation import SegmentationScore  # noqa: E402

SIZE = 128  # small squares: the rule does not depend on the size, and the builds stay quick
VALID = ISIC2017.splits[1]
TRAIN = ISIC2017.splits[0]


def build(data_dir: Path, cache: Path, num_proc: int | None = None, streaming: bool = False):
    builder = skin_cancer.SkinCancer(data_dir=str(data_dir), cache_dir=str(cache), size=SIZE)
    if streaming:
        return builder.as_streaming_dataset()
    builder.download_and_prepare(num_proc=num_proc)
    return builder.as_dataset()


def rows_by_id(split) -> dict[str, dict]:
    import datasets

    split = split.cast_column("image", datasets.Image(decode=False)).cast_column("mask", datasets.Image(decode=False))
    return {row["image_id"]: row for row in split}


def messages(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(warning.message) for warning in caught]


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mask-values-cache")


@pytest.fixture(scope="module")
def reference(real_sample, cache):
    """The untouched real sample, built and read as evaluate's ground truth."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = build(real_sample, cache)
    assert not [text for text in messages(caught) if "mask" in text or "EXIF" in text], messages(caught)
    truth = load_truth(str(real_sample), split="valid", size=SIZE, cache_dir=str(cache))
    return dataset, truth


def copy_tree(real_sample: Path, destination: Path) -> Path:
    tree = destination / "ISIC-2017"
    shutil.copytree(real_sample, tree)
    for path in tree.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # ../shared is read-only
    return tree


def rewrite_masks(tree: Path, split, change) -> list[Path]:
    paths = sorted((tree / split.mask_folder).glob("*.png"))
    for path in paths:
        with Image.open(path) as mask:
            mask.load()
        change(mask).save(path)
    return paths


def ceiling(truth) -> list[dict]:
    return score(ceiling_predictions(truth), truth).per_image


# ------------------------------------------------------------------ ground truth: the same pixels everywhere


def zero_one(mask: Image.Image) -> Image.Image:
    return Image.fromarray((np.asarray(mask) > 128).astype(np.uint8), mode="L")


def grey_rgb(mask: Image.Image) -> Image.Image:
    return mask.convert("RGB")


def grey_rgba(mask: Image.Image) -> Image.Image:
    return mask.convert("RGBA")


@pytest.mark.parametrize(
    ("change", "warned"),
    [(zero_one, "hold only the values 0 and 1: read as class indices"), (grey_rgb, None), (grey_rgba, None)],
)
def test_zero_one_and_grey_colour_truth_build_and_score_as_the_official_files(
    change, warned, real_sample, reference, tmp_path
):
    """0/1 masks (common in pipelines) scored 0.0 in evaluate while the build found the lesions."""
    official_dataset, official_truth = reference
    tree = copy_tree(real_sample, tmp_path)
    rewrite_masks(tree, VALID, change)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = build(tree, tmp_path / "cache")
        truth = load_truth(str(tree), split="valid", size=SIZE, cache_dir=str(tmp_path / "cache"))
        rows = ceiling(truth)
    ours, theirs = rows_by_id(dataset["valid"]), rows_by_id(official_dataset["valid"])
    for image_id, row in theirs.items():
        assert ours[image_id]["mask"]["bytes"] == row["mask"]["bytes"], image_id
    assert rows == ceiling(official_truth)
    assert min(row["jaccard"] for row in rows) > 0.9
    about_masks = [text for text in messages(caught) if "mask(s)" in text]
    if warned is None:
        assert about_masks == []
    else:
        # Once in the build (per split) and once in evaluate (per run), not once per image.
        assert len(about_masks) == 2 and all(warned in text for text in about_masks), about_masks
        assert [text.startswith("3 mask(s) of the valid split") for text in about_masks] == [True, True]


def jpeg_noised(mask: Image.Image) -> Image.Image:
    """Through JPEG once and back to PNG, at a widely used pre-resized copy's range (values 0..222)."""
    buffer = io.BytesIO()
    mask.save(buffer, format="JPEG", quality=75)
    values = np.asarray(Image.open(buffer)).astype(np.float64) * 222 / 255
    return Image.fromarray(np.round(values).astype(np.uint8), mode="L")


def test_jpeg_noised_truth_is_read_at_the_official_threshold_in_the_build_and_in_evaluate(
    real_sample, reference, tmp_path
):
    noised_tree = copy_tree(real_sample, tmp_path / "noised")
    paths = rewrite_masks(noised_tree, VALID, jpeg_noised)
    values = np.asarray(Image.open(paths[0]))
    assert len(np.unique(values)) > 10 and values.max() <= 222
    # The same masks binarised by hand at ISIC's > 128: what both commands must read.
    binarised_tree = copy_tree(real_sample, tmp_path / "binarised")
    rewrite_masks(
        binarised_tree,
        VALID,
        lambda mask: Image.fromarray(np.where(np.asarray(jpeg_noised(mask)) > 128, 255, 0).astype(np.uint8)),
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        noised = build(noised_tree, tmp_path / "cache")
        noised_rows = ceiling(load_truth(str(noised_tree), split="valid", size=SIZE, cache_dir=str(tmp_path / "cache")))
    binarised = build(binarised_tree, tmp_path / "cache")
    ours, expected = rows_by_id(noised["valid"]), rows_by_id(binarised["valid"])
    for image_id, row in expected.items():
        assert ours[image_id]["mask"]["bytes"] == row["mask"]["bytes"], image_id
    expected_rows = ceiling(
        load_truth(str(binarised_tree), split="valid", size=SIZE, cache_dir=str(tmp_path / "cache"))
    )
    assert [{**row, "prediction": None} for row in noised_rows] == [
        {**row, "prediction": None} for row in expected_rows
    ]
    warned = [text for text in messages(caught) if "values other than 0 and 255" in text]
    assert len(warned) == 2, messages(caught)  # the build's (per split) and evaluate's (per run)
    assert warned[0].startswith("3 mask(s) of the valid split")
    assert "> 128" in warned[0] and "re-saved as JPEG?" in warned[0] and paths[0].name in warned[0]


def superpixels(mask: Image.Image) -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (mask.height, mask.width, 3), dtype=np.uint8), mode="RGB")


def lesion_in_alpha(mask: Image.Image) -> Image.Image:
    white = Image.new("RGB", mask.size, (255, 255, 255))
    white.putalpha(mask)
    return white


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (superpixels, "is a colour image (mode RGB) whose channels differ"),
        (lesion_in_alpha, "is a RGBA image whose alpha channel varies"),
    ],
)
def test_colour_and_alpha_masks_are_refused_alike_by_the_build_and_by_evaluate(change, problem, real_sample, tmp_path):
    """Both were accepted by the build as about 100% lesion, and refused by evaluate."""
    tree = copy_tree(real_sample, tmp_path)
    path = rewrite_masks(tree, TRAIN, change)[0]
    with pytest.raises(Exception) as caught:
        build(tree, tmp_path / "cache")
    error = find_skin_cancer_error(caught.value)
    assert isinstance(error, DataError) and problem in str(error), caught.value
    assert str(error).startswith(str(path)) or path.name in str(error).split(":")[0]
    assert "\n" not in str(error)
    with Image.open(path) as mask:
        size = mask.size
    with pytest.raises(DataError) as refused:
        decode_truth(path.read_bytes(), str(path), size)
    assert str(refused.value) == f"{path}: the mask {problem}" + str(error).split(problem, 1)[1]


def test_the_rule_in_one_place():
    """The table of the README, value by value."""
    grey = np.array([[0, 255, 255, 0]], np.uint8)
    cases = {
        "binary": (Image.fromarray(grey), [False, True, True, False]),
        "indices": (Image.fromarray(grey // 255), [False, True, True, False]),
        "thresholded": (Image.fromarray(np.array([[0, 128, 129, 222]], np.uint8)), [False, False, True, True]),
        "binary ": (Image.fromarray(grey > 0), [False, True, True, False]),  # mode 1
    }
    palette = Image.fromarray(grey // 255, mode="P")
    palette.putpalette([0, 0, 0, 255, 255, 255])
    cases["palette"] = (palette, [False, True, True, False])
    for kind, (mask, lesion) in cases.items():
        read = read_truth(mask)
        assert (read.kind, read.lesion.tolist()) == (kind.strip(), [lesion]), kind
    assert read_truth(Image.fromarray(grey).convert("RGB")).kind == "binary"
    with pytest.raises(MaskValueError, match="mode CMYK"):
        read_truth(Image.new("CMYK", (4, 1)))
    full = read_truth(Image.new("L", (1000, 1000), 255))
    assert full.lesion_fraction >= FULL_FRACTION and "full" in full.notes
    # The builder's own output reads back as it was written: stats, preview and the ceiling rely on it.
    square = prepare_mask(png_bytes(Image.fromarray(grey)), (4, 1), 4, "stretch")
    assert read_mask(square).kind == "palette" and read_mask(square).lesion.tolist() == [[False, True, True, False]] * 4


def test_warnings_are_counted_once_per_split_whatever_the_number_of_processes(synthetic_tree, tmp_path):
    masks = sorted((synthetic_tree / TRAIN.mask_folder).glob("*.png"))
    for path in masks[:3]:
        zero_one(Image.open(path)).save(path)
    Image.new("L", Image.open(masks[3]).size, 255).save(masks[3])
    for num_proc, streaming in ((None, False), (2, False), (None, True)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset = build(synthetic_tree, tmp_path / f"cache-{num_proc}-{streaming}", num_proc, streaming)
            if streaming:
                list(dataset["train"])
        about_masks = [text for text in messages(caught) if "mask(s)" in text]
        assert len(about_masks) == 2, (num_proc, streaming, about_masks)
        assert about_masks[0].startswith("3 mask(s) of the train split hold only the values 0 and 1")
        assert about_masks[1].startswith(f"1 mask(s) of the train split cover {FULL_FRACTION:.1%} or more")
        assert masks[3].name in about_masks[1]


# ------------------------------------------------------------------ predictions against ISIC's scorer


def _official_macro(truth_folder: Path, prediction_folder: Path) -> dict[str, float]:
    return SegmentationScore.from_dir(truth_folder, prediction_folder).macro_average.to_dict()


def _greyscale(truth: np.ndarray, kind: str, index: int = 0) -> np.ndarray:
    lesion = truth > 128
    if kind == "mixed":  # one file of the run 0/1, the others 0/255: each was once read its own way
        return lesion.astype(np.uint8) * (1 if index == 0 else 255)
    if kind == "soft":
        return np.asarray(Image.fromarray(truth).filter(ImageFilter.GaussianBlur(15)))
    if kind == "all_ones":
        return np.ones_like(truth)
    if kind == "zero_one":
        return lesion.astype(np.uint8)
    if kind == "one_pixel_two":  # 0/1 with one pixel raised to 2: once turned a whole lesion into background
        values = lesion.astype(np.uint8)
        values[0, 0] = 2
        return values
    if kind == "background_one":
        return np.where(lesion, 200, 1).astype(np.uint8)
    raise ValueError(kind)


GREYSCALE_KINDS = ("soft", "all_ones", "zero_one", "one_pixel_two", "background_one", "mixed")


@pytest.mark.parametrize("kind", GREYSCALE_KINDS)
def test_every_greyscale_png_prediction_scores_as_isics_scorer_scores_it(kind, real_sample, reference, tmp_path):
    _, truth = reference
    truth_folder = real_sample / VALID.mask_folder
    folder = tmp_path / kind
    folder.mkdir()
    for index, path in enumerate(sorted(truth_folder.glob("*.png"))):
        Image.fromarray(_greyscale(np.asarray(Image.open(path)), kind, index), mode="L").save(folder / path.name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = score(collect_predictions(folder), truth)
    theirs = _official_macro(truth_folder, folder)
    for name in METRIC_NAMES:
        assert abs(report.summary["native"][name] - theirs[name]) <= 1e-9, (kind, name)
    warned = [text for text in messages(caught) if "hold only the values 0 and 1" in text]
    if kind in ("all_ones", "zero_one"):
        assert len(warned) == 1 and "--prediction-values" in warned[0] and "empty" in warned[0], messages(caught)
    else:
        assert warned == []
    if kind == "zero_one":
        indices = score(collect_predictions(folder), truth, prediction_values="indices")
        assert indices.summary["native"]["jaccard"] == 1.0
    if kind == "background_one":
        assert report.summary["native"]["jaccard"] == 1.0


def test_the_command_line_flag_reads_every_prediction_one_way(real_sample, reference, cache, tmp_path, capsys):
    truth_folder = real_sample / VALID.mask_folder
    folder = tmp_path / "zero_one"
    folder.mkdir()
    for path in sorted(truth_folder.glob("*.png")):
        Image.fromarray(_greyscale(np.asarray(Image.open(path)), "zero_one"), mode="L").save(folder / path.name)
    arguments = ["evaluate", "--data-dir", str(real_sample), "--cache-dir", str(cache), "--quiet", "--size", str(SIZE)]
    arguments += ["--split", "valid", "--predictions", str(folder)]
    assert main(arguments) == 0
    default = capsys.readouterr()
    assert "hold only the values 0 and 1" in default.err and "--prediction-values indices" in default.err
    assert main([*arguments, "--prediction-values", "indices"]) == 0
    chosen = capsys.readouterr()
    assert "hold only the values 0 and 1" not in chosen.err
    jaccard_line = lambda text: next(line for line in text.splitlines() if line.lower().startswith("| jaccard"))  # noqa: E731
    assert jaccard_line(default.out) != jaccard_line(chosen.out)
    assert "1.0000" in jaccard_line(chosen.out)
    assert main([*arguments, "--prediction-values", "probabilities"]) == 0
    with pytest.raises(SystemExit) as refused:
        main([*arguments, "--prediction-values", "guess"])
    assert refused.value.code == 2


# ------------------------------------------------------------------ one frame per pair, whatever EXIF says


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG, byte for byte, with an EXIF Orientation tag: an APP1 segment after JFIF's APP0."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    assert jpeg[:4] == b"\xff\xd8\xff\xe0"
    end_of_app0 = 4 + struct.unpack(">H", jpeg[4:6])[0]
    tagged = jpeg[:end_of_app0] + segment + jpeg[end_of_app0:]
    assert Image.open(io.BytesIO(tagged)).getexif()[0x0112] == orientation
    return tagged


@pytest.mark.parametrize("orientation", [3, 6])
def test_a_stray_exif_orientation_is_ignored_when_the_mask_has_the_stored_frame(
    orientation, real_sample, reference, tmp_path
):
    """Orientation 3 built the image turned 180 degrees against its mask; 6 stopped with a size mismatch."""
    official_dataset, official_truth = reference
    tree = copy_tree(real_sample, tmp_path)
    images = sorted((tree / VALID.data_folder).glob("*.jpg"))
    for path in images[:2]:
        path.write_bytes(with_orientation(path.read_bytes(), orientation))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = build(tree, tmp_path / "cache")
        rows = ceiling(load_truth(str(tree), split="valid", size=SIZE, cache_dir=str(tmp_path / "cache")))
    ours, theirs = rows_by_id(dataset["valid"]), rows_by_id(official_dataset["valid"])
    assert ours == theirs  # image, mask and original size: byte for byte the untagged build
    assert [{**row, "prediction": None} for row in rows] == [
        {**row, "prediction": None} for row in ceiling(official_truth)
    ]
    warned = [text for text in messages(caught) if "EXIF orientation" in text]
    assert len(warned) == 1 and warned[0].startswith("2 image(s) of the valid split"), messages(caught)
    assert images[0].name in warned[0]


def test_an_exif_orientation_the_mask_follows_orients_the_image(real_sample, reference, tmp_path):
    official_dataset, official_truth = reference
    tree = copy_tree(real_sample, tmp_path)
    image_path = sorted((tree / VALID.data_folder).glob("*.jpg"))[0]
    image_id = image_path.stem
    image_path.write_bytes(with_orientation(image_path.read_bytes(), 6))
    mask_path = tree / VALID.mask_folder / f"{image_id}_segmentation.png"
    stored_mask = Image.open(mask_path)
    stored_mask.transpose(Image.Transpose.ROTATE_270).save(mask_path)  # drawn on the displayed (oriented) frame
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = build(tree, tmp_path / "cache")
        truth = load_truth(str(tree), split="valid", size=SIZE, cache_dir=str(tmp_path / "cache"))
        rows = {row["image_id"]: row for row in ceiling(truth)}
    assert not [text for text in messages(caught) if "EXIF" in text]
    row, official = rows_by_id(dataset["valid"])[image_id], rows_by_id(official_dataset["valid"])[image_id]
    assert (row["original_width"], row["original_height"]) == (official["original_height"], official["original_width"])
    assert (rows[image_id]["width"], rows[image_id]["height"]) == (stored_mask.height, stored_mask.width)
    # The pair turned together: image and mask are the untagged build's, a quarter turn clockwise.
    turned_mask = np.rot90(np.asarray(Image.open(io.BytesIO(official["mask"]["bytes"]))), k=-1)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(row["mask"]["bytes"]))), turned_mask)
    turned_image = np.rot90(np.asarray(Image.open(io.BytesIO(official["image"]["bytes"]))), k=-1).astype(int)
    ours = np.asarray(Image.open(io.BytesIO(row["image"]["bytes"]))).astype(int)
    left, _, right, _ = placement(row["original_width"], row["original_height"], SIZE, "pad").target_box
    assert np.abs(ours - turned_image)[:, left:right].mean() < 3  # the pad colour is sampled in the displayed frame
    official_row = next(r for r in ceiling(official_truth) if r["image_id"] == image_id)
    assert abs(rows[image_id]["jaccard"] - official_row["jaccard"]) < 0.01


def test_a_size_mismatch_names_the_exif_tag(real_sample, tmp_path):
    tree = copy_tree(real_sample, tmp_path)
    image_path = sorted((tree / TRAIN.data_folder).glob("*.jpg"))[0]
    image_path.write_bytes(with_orientation(image_path.read_bytes(), 6))
    mask_path = tree / TRAIN.mask_folder / f"{image_path.stem}_segmentation.png"
    Image.open(mask_path).resize((100, 80)).save(mask_path)
    with pytest.raises(Exception) as caught:
        build(tree, tmp_path / "cache")
    error = find_skin_cancer_error(caught.value)
    assert isinstance(error, DataError) and "with its EXIF Orientation 6" in str(error), caught.value
    assert "mask is 100x80 but its image is" in str(error)
