"""Near-duplicates between splits: a planted copy is found, the real distinct images give no pair, and the
threshold's justification (tools/duplicates.py) holds on the real images."""

from __future__ import annotations

import io
import itertools
import shutil
from pathlib import Path

import pytest
from PIL import Image

from skin_cancer.cli import main
from skin_cancer.dataset.phash import hamming
from skin_cancer.dataset.transforms import source_phash
from skin_cancer.tools.duplicates import (
    MAX_DISTANCE,
    DuplicatePair,
    duplicates_grid,
    find_duplicates,
    format_pairs,
    near_duplicates,
)
from skin_cancer.tools.outputs import written_files
from skin_cancer.tools.pipeline import prepare_dataset

from .test_phash import real_images


def encoded(image: Image.Image, file_format: str = "JPEG", quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=file_format, **({"quality": quality} if file_format == "JPEG" else {}))
    return buffer.getvalue()


def shrunk(image: Image.Image, factor: float) -> Image.Image:
    return image.resize((round(image.width * factor), round(image.height * factor)), Image.Resampling.LANCZOS)


def cropped(image: Image.Image, edge: float) -> Image.Image:
    """`edge` of the width and of the height cut off each side."""
    dx, dy = round(image.width * edge), round(image.height * edge)
    return image.crop((dx, dy, image.width - dx, image.height - dy))


def cut_left(image: Image.Image, edge: float) -> Image.Image:
    return image.crop((round(image.width * edge), 0, image.width, image.height))


# --- the threshold, on the real images ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real() -> dict[str, bytes]:
    return real_images()


@pytest.fixture(scope="module")
def real_hashes(real) -> dict[str, str]:
    return {name: source_phash(data) for name, data in real.items()}


def test_no_pair_among_the_distinct_real_images(real_hashes):
    """All 1081 pairs of the 47 real images, each in a split of its own: none within the threshold."""
    one_split_each = {name: [(name, value)] for name, value in real_hashes.items()}
    assert near_duplicates(one_split_each) == []
    closest = min(hamming(first, second) for first, second in itertools.combinations(real_hashes.values(), 2))
    assert closest == 12 > MAX_DISTANCE  # the measurement MAX_DISTANCE's comment reports


# What each real image must be found as: (name, change of the decoded image into a file's bytes).
COPIES = (
    ("jpeg-75", lambda image: encoded(image, quality=75)),
    ("half-size-png", lambda image: encoded(shrunk(image, 0.5), "PNG")),
    ("quarter-size-jpeg", lambda image: encoded(shrunk(image, 0.25), quality=75)),
    # The two copies the threshold is set by: one image of the 47 is 10 bits away in each.
    ("cropped-1%-each-edge-jpeg", lambda image: encoded(cropped(image, 0.01), quality=90)),
    ("cropped-2%-one-edge-half-size-jpeg", lambda image: encoded(shrunk(cut_left(image, 0.02), 0.5), quality=85)),
)


def test_every_real_image_is_found_re_encoded_resized_or_lightly_cropped(real, real_hashes):
    missed = []
    for name, data in real.items():
        with Image.open(io.BytesIO(data)) as image:
            source = image.convert("RGB")
        for change_name, change in COPIES:
            distance = hamming(real_hashes[name], source_phash(change(source)))
            if distance > MAX_DISTANCE:
                missed.append((name, change_name, distance))
    assert missed == []


# --- the search ------------------------------------------------------------------------------------------------


def test_pairs_are_between_splits_sorted_by_distance():
    hashes = {
        "train": [("a", "0000000000000000"), ("b", "00000000000000ff"), ("c", "ffffffffffffffff")],
        "valid": [("d", "0000000000000003")],
        "test": [("e", "000000000000000f"), ("f", "0000000000000000")],
    }
    assert near_duplicates(hashes, max_distance=4) == [
        DuplicatePair("a", "train", "f", "test", 0),
        DuplicatePair("a", "train", "d", "valid", 2),
        DuplicatePair("d", "valid", "e", "test", 2),
        DuplicatePair("d", "valid", "f", "test", 2),
        DuplicatePair("a", "train", "e", "test", 4),
        DuplicatePair("b", "train", "e", "test", 4),
    ]
    # Within one split nothing is reported, however close.
    assert near_duplicates({"train": hashes["train"] + [("g", "0000000000000000")]}) == []


def test_a_bad_hash_is_refused():
    with pytest.raises(ValueError, match="'xyz' is not a 64-bit hash"):
        near_duplicates({"train": [("a", "xyz")], "test": []})


def test_format_pairs():
    assert "No near-duplicates" in format_pairs([])
    text = format_pairs([DuplicatePair("ISIC_0000001", "train", "ISIC_0000002", "test", 2)])
    assert "1 near-duplicate pair(s)" in text
    assert "ISIC_0000001 (train)  ISIC_0000002 (test)  distance 2" in text


# --- a planted near-duplicate in a real tree ---------------------------------------------------------------------

PLANTED_TEST = "ISIC_9900001"  # ISIC_0012099 (train), halved and re-encoded
PLANTED_VALID = "ISIC_9900002"  # ISIC_0014572 (train), 1% cropped off each edge, resized, re-encoded


def plant(tree: Path, source_id: str, new_id: str, split_prefix: str, change) -> None:
    image_path = next(tree.glob(f"ISIC-2017_Training_Data/{source_id}.jpg"))
    mask_path = next(tree.glob(f"ISIC-2017_Training_Part1_GroundTruth/{source_id}_segmentation.png"))
    with Image.open(image_path) as image, Image.open(mask_path) as mask:
        new_image, new_mask = change(image.convert("RGB")), change(mask)
    (tree / f"{split_prefix}_Data" / f"{new_id}.jpg").write_bytes(encoded(new_image, quality=80))
    new_mask.save(tree / f"{split_prefix}_Part1_GroundTruth" / f"{new_id}_segmentation.png")


@pytest.fixture(scope="module")
def planted_tree(real_sample, tmp_path_factory) -> Path:
    tree = tmp_path_factory.mktemp("planted") / "ISIC-2017"
    shutil.copytree(real_sample, tree)
    plant(tree, "ISIC_0012099", PLANTED_TEST, "ISIC-2017_Test_v2", lambda image: shrunk(image, 0.5))
    plant(
        tree,
        "ISIC_0014572",
        PLANTED_VALID,
        "ISIC-2017_Validation",
        lambda image: shrunk(cropped(image, 0.01), 0.6),
    )
    return tree


@pytest.fixture(scope="module")
def planted_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("planted-cache")


@pytest.mark.filterwarnings("ignore:.*have no row")
def test_planted_near_duplicates_are_found_and_nothing_else(planted_tree, planted_cache):
    build = prepare_dataset(str(planted_tree), cache_dir=str(planted_cache))
    pairs = find_duplicates(build)
    assert [(pair.first_id, pair.first_split, pair.second_id, pair.second_split) for pair in pairs] == sorted(
        [("ISIC_0012099", "train", PLANTED_TEST, "test"), ("ISIC_0014572", "train", PLANTED_VALID, "valid")],
        key=lambda found: [pair.second_id for pair in pairs].index(found[2]),
    )
    assert all(pair.distance <= MAX_DISTANCE for pair in pairs)
    grid = duplicates_grid(build, pairs)
    assert grid.width > 4 * 160 and grid.height > 3 * 160  # two pairs: four columns of image, mask, outline


@pytest.mark.filterwarnings("ignore:.*have no row")
def test_duplicates_command_prints_pairs_and_writes_the_grid(planted_tree, planted_cache, tmp_path, capsys):
    output = tmp_path / "out"
    arguments = ["leaks", "--data-dir", str(planted_tree), "--cache-dir", str(planted_cache), "--quiet"]
    assert main([*arguments, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "2 near-duplicate pair(s)" in printed
    assert f"ISIC_0012099 (train)  {PLANTED_TEST} (test)  distance" in printed
    assert f"{PLANTED_VALID} (valid)" in printed
    assert written_files(output) == ["duplicates.png"]
    with Image.open(output / "duplicates.png") as grid:
        assert grid.width > 4 * 160
    # A second run replaces its own grid; a file of the user's of that name is never replaced.
    assert main([*arguments, "--output", str(output)]) == 0
    user_folder = tmp_path / "user"
    user_folder.mkdir()
    (user_folder / "duplicates.png").write_bytes(b"mine")
    assert main([*arguments, "--output", str(user_folder)]) != 0
    assert (user_folder / "duplicates.png").read_bytes() == b"mine"


def test_duplicates_command_without_pairs(real_sample, tmp_path, capsys):
    output = tmp_path / "out"
    cache = tmp_path / "cache"
    arguments = ["leaks", "--data-dir", str(real_sample), "--cache-dir", str(cache), "--quiet", "--size", "64"]
    assert main([*arguments, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "No near-duplicates between splits" in printed
    assert not (output / "duplicates.png").exists()
