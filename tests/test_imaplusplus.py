"""The `imaplusplus` configuration on trees made in tmp_path from the genuine ISIC-2017 pairs of ../shared.

No IMA++ mask file is available here, so a test tree holds the ten ISIC-2017 sample images that are in IMA++
(as ISIC's client downloads them: ISIC_XXXXXXX.jpg with its metadata.csv, whose rows are IMA++'s own copy of the
ISIC Archive metadata), each challenge mask saved under the name IMAplusplus_seg_metadata.csv gives that image's
mask (three of them are byte-identical to their IMA++ mask by mask_md5), and, for two images, masks derived from
the real one (eroded, dilated) as further annotators with STAPLE and majority-vote consensus masks.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
import shutil
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from PIL import Image, ImageFilter

import skin_cancer
from skin_cancer.cli import main
from skin_cancer.dataset.annotations import AnnotationError, parse_seg_metadata
from skin_cancer.dataset.lesion_splits import lesion_split
from skin_cancer.errors import DataError, UsageError
from skin_cancer.releases import (
    IMAPLUSPLUS,
    IMAPLUSPLUS_SEG_METADATA,
    IMAPLUSPLUS_SPLIT_BOUNDS,
    IMAPLUSPLUS_SPLIT_COUNTS,
)

from .helpers import REAL_SAMPLE, SHARED, raw_bytes
from .test_publish import assert_valid_tables

ARCHIVE = SHARED / "isic-archive-metadata"
# The three sample masks whose bytes are an IMA++ mask's (mask_md5), under their IMA++ names.
IDENTICAL = {
    "ISIC_0014162": "ISIC_0014162_A00_T2_S1_5841e77a9fc3c156c3ef40ec.png",
    "ISIC_0014310": "ISIC_0014310_A00_T2_S1_5841e7ef9fc3c156c3ef42a8.png",
    "ISIC_0014608": "ISIC_0014608_A00_T2_S1_5841e8c89fc3c156c3ef4626.png",
}
# Derived annotators (made here from the real mask): (image, annotator, tool, skill, how).
DERIVED = (
    ("ISIC_0009995", "A07", "T1", "S2", "erode"),
    ("ISIC_0009995", "A09", "T3", "S1", "dilate"),
    ("ISIC_0014597", "A08", "T1", "S2", "dilate"),
)
MULTI = sorted({image_id for image_id, *_ in DERIVED})
# The rule applied by hand to the ten ids (IMA++'s patient_id, else lesion_id, else the id).
COUNTS = {"train": 6, "valid": 1, "test": 3}


def _shared_rows(name: str) -> list[dict[str, str]]:
    with open(ARCHIVE / name, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def _real_masks() -> dict[str, Path]:
    return {path.name[:12]: path for path in REAL_SAMPLE.glob("*_GroundTruth/*_segmentation.png")}


def _real_images() -> dict[str, Path]:
    return {path.stem: path for path in REAL_SAMPLE.glob("*_Data/ISIC_*.jpg")}


def _derive(mask: Image.Image, how: str) -> Image.Image:
    step = ImageFilter.MinFilter(9) if how == "erode" else ImageFilter.MaxFilter(9)
    return mask.convert("L").filter(step)


def write_tree(root: Path) -> Path:
    """The IMA++ layout in root: images/ (JPEGs + metadata.csv), segs/ and IMAplusplus_seg_metadata.csv."""
    seg_rows = _shared_rows(IMAPLUSPLUS_SEG_METADATA)
    images, masks = _real_images(), _real_masks()
    ids = sorted(set(images) & {row["ISIC_id"] for row in seg_rows})
    (root / "images").mkdir(parents=True)
    (root / "segs").mkdir()
    for image_id in ids:
        shutil.copyfile(images[image_id], root / "images" / f"{image_id}.jpg")
    records = [row for row in _shared_rows("IMAplusplus_img_metadata.csv") if row["isic_id"] in ids]
    _write_csv(root / "images" / "metadata.csv", records)
    rows = [row for row in seg_rows if row["ISIC_id"] in ids]
    for row in rows:
        shutil.copyfile(masks[row["ISIC_id"]], root / "segs" / row["seg_filename"])
    for number, (image_id, annotator, tool, skill, how) in enumerate(DERIVED):
        name = f"{image_id}_{annotator}_{tool}_{skill}_test{number:020d}.png"
        _derive(Image.open(masks[image_id]), how).save(root / "segs" / name)
        rows.append(_seg_row(image_id, name, annotator, tool, skill))
    for image_id in MULTI:
        drawn = [np.asarray(Image.open(root / "segs" / row["seg_filename"])) > 0 for row in rows]
        drawn = [mask for mask, row in zip(drawn, rows, strict=True) if row["ISIC_id"] == image_id]
        votes = np.sum(drawn, axis=0)
        majority = Image.fromarray(((2 * votes > len(drawn)) * 255).astype(np.uint8))
        staple = Image.fromarray(((2 * votes >= len(drawn)) * 255).astype(np.uint8))
        for code, mask in (("ST", staple), ("MV", majority)):
            name = f"{image_id}_{code}_{code}_{code}_{code}.png"
            mask.save(root / "segs" / name)
            rows.append(_seg_row(image_id, name, code, code, code))
    _write_csv(root / IMAPLUSPLUS_SEG_METADATA, rows)
    return root


def _seg_row(image_id: str, name: str, annotator: str, tool: str, skill: str) -> dict[str, str]:
    object_id = name.rsplit("_", 1)[1][: -len(".png")]
    return {
        "ISIC_id": image_id,
        "img_filename": f"{image_id}.JPG",
        "seg_filename": name,
        "annotator": annotator,
        "tool": tool,
        "skill_level": skill,
        "mskObjectID": object_id,
        "mask_md5": "",
    }


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def build(data_dir: Path, cache: Path, **options):
    builder = skin_cancer.SkinCancer(config_name="imaplusplus", data_dir=str(data_dir), cache_dir=str(cache), **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)
        builder.download_and_prepare()
    return builder.as_dataset()


@pytest.fixture(scope="module")
def pristine(real_sample, archive_metadata, tmp_path_factory) -> Path:
    return write_tree(tmp_path_factory.mktemp("imaplusplus") / "IMAplusplus")


@pytest.fixture(scope="module")
def ima(pristine, tmp_path_factory):
    return build(pristine, tmp_path_factory.mktemp("ima-cache"))


@pytest.fixture(scope="module")
def isic2017(real_sample, tmp_path_factory):
    """The ISIC-2017 build of the same pairs: each real mask's `mask` there is what `masks` must hold here."""
    builder = skin_cancer.SkinCancer(data_dir=str(real_sample), cache_dir=str(tmp_path_factory.mktemp("c2017")))
    builder.download_and_prepare()
    dataset = builder.as_dataset()
    return {row[0]: row for split in dataset.values() for row in raw_bytes(split)}


@pytest.fixture
def tree(pristine, tmp_path) -> Path:
    """A copy a test may damage."""
    return Path(shutil.copytree(pristine, tmp_path / "IMAplusplus"))


def test_the_three_byte_identical_masks_are_named_as_ima_names_them(archive_metadata, real_sample):
    by_md5 = {row["mask_md5"]: row["seg_filename"] for row in _shared_rows(IMAPLUSPLUS_SEG_METADATA)}
    found = {}
    for image_id, path in _real_masks().items():
        name = by_md5.get(hashlib.md5(path.read_bytes()).hexdigest())
        if name is not None:
            found[image_id] = name
    assert found == IDENTICAL


def test_the_release_counts_are_the_rule_on_the_collection_metadata(archive_metadata):
    records = _shared_rows("IMAplusplus_img_metadata.csv")
    seg = parse_seg_metadata((ARCHIVE / IMAPLUSPLUS_SEG_METADATA).read_text(encoding="utf-8"))
    assert len(records) == 14967 and sorted(seg) == sorted(row["isic_id"] for row in records)
    assert sum(len(rows) for rows in seg.values()) == 22472
    annotators = [row for rows in seg.values() for row in rows if row.annotator not in ("ST", "MV")]
    assert len(annotators) == 17684 and len({row.annotator for row in annotators}) == 16
    split_of = {}
    for row in records:
        split_of[row["isic_id"]] = lesion_split(
            row["patient_id"] or row["lesion_id"] or row["isic_id"], IMAPLUSPLUS_SPLIT_BOUNDS
        )
    assert Counter(split_of.values()) == IMAPLUSPLUS_SPLIT_COUNTS
    assert {split.name: split.official_count for split in IMAPLUSPLUS.splits} == IMAPLUSPLUS_SPLIT_COUNTS
    # No patient and no lesion crosses splits on the whole collection.
    for column in ("patient_id", "lesion_id"):
        splits: dict[str, set[str]] = {}
        for row in records:
            if row[column]:
                splits.setdefault(row[column], set()).add(split_of[row["isic_id"]])
        assert all(len(found) == 1 for found in splits.values()), column
    # Every image with two or more annotators has both consensus masks, and no other image has one.
    for rows in seg.values():
        codes = [row.annotator for row in rows]
        assert ("ST" in codes) == ("MV" in codes) == (len(codes) - codes.count("ST") - codes.count("MV") >= 2)


def test_exact_counts_and_the_usual_partial_warning(pristine, tmp_path):
    with pytest.warns(skin_cancer.PartialSplitWarning) as caught:
        dataset = load_dataset("skin_cancer", "imaplusplus", data_dir=str(pristine), cache_dir=str(tmp_path))
    assert {split: len(part) for split, part in dataset.items()} == COUNTS
    messages = [str(warning.message) for warning in caught if warning.category is skin_cancer.PartialSplitWarning]
    assert "found 6 of 10546 official training images (train split of IMA++); the dataset is partial" in messages


def test_every_split_is_the_patient_rule_and_groups_never_cross(ima, archive_metadata):
    records = {row["isic_id"]: row for row in _shared_rows("IMAplusplus_img_metadata.csv")}
    where: dict[str, set[str]] = {}
    for split, dataset in ima.items():
        columns = ["image_id", "patient_id", "lesion_id", "license", "attribution", "age_approximate", "sex"]
        for row in dataset.select_columns(columns):
            record = records[row["image_id"]]
            assert row["age_approximate"] == (int(float(record["age_approx"])) if record["age_approx"] else None)
            assert row["sex"] == (record["sex"] or None)
            assert row["patient_id"] == (record["patient_id"] or None)
            assert row["lesion_id"] == (record["lesion_id"] or None)
            assert row["license"] == {"CC-0": "cc0-1.0", "CC-BY-NC": "cc-by-nc-4.0"}[record["copyright_license"]]
            assert row["attribution"] == record["attribution"]
            key = record["patient_id"] or record["lesion_id"] or row["image_id"]
            assert split == lesion_split(key, IMAPLUSPLUS_SPLIT_BOUNDS)
            for group in (row["patient_id"], row["lesion_id"]):
                if group:
                    where.setdefault(group, set()).add(split)
    assert all(len(splits) == 1 for splits in where.values())


def test_the_annotators_and_consensus_columns(ima):
    rows = {row["image_id"]: row for split in ima.values() for row in split}
    assert len(rows) == sum(COUNTS.values())
    assert rows["ISIC_0009995"]["annotators"] == ["A04", "A07", "A09"]
    assert rows["ISIC_0009995"]["tools"] == ["T1", "T1", "T3"]
    assert rows["ISIC_0009995"]["skill_levels"] == ["S1", "S2", "S1"]
    assert rows["ISIC_0014597"]["annotators"] == ["A00", "A08"]
    for image_id, row in rows.items():
        assert len(row["masks"]) == len(row["annotators"]) == len(row["tools"]) == len(row["skill_levels"])
        if image_id in MULTI:
            staple = np.asarray(row["consensus_staple"])
            assert row["consensus_majority"] is not None
            assert np.array_equal(np.asarray(row["mask"]), staple)  # `mask` is the STAPLE consensus
        else:
            assert len(row["masks"]) == 1 and row["consensus_staple"] is None and row["consensus_majority"] is None
            assert np.array_equal(np.asarray(row["mask"]), np.asarray(row["masks"][0]))


def test_every_mask_is_aligned_with_its_image(ima, isic2017, pristine):
    """Each real mask in `masks` is byte for byte the `mask` the ISIC-2017 build makes of the same file (same
    geometry, same rule); each derived mask matches an independent letterbox of its source file."""
    seg = parse_seg_metadata((pristine / IMAPLUSPLUS_SEG_METADATA).read_text())
    for split in ima.values():
        stored = split.cast_column("masks", split.features["masks"].__class__(split.features["masks"].feature))
        for row in stored.select_columns(["image_id", "masks", "image", "original_width", "original_height"]):
            image_id = row["image_id"]
            annotators = [entry for entry in seg[image_id] if entry.annotator not in ("ST", "MV")]
            assert row["image"].size == (512, 512)
            for entry, mask in zip(annotators, row["masks"], strict=True):
                ours = np.asarray(mask)
                assert ours.shape == (512, 512) and set(np.unique(ours)) <= {0, 1}
                if not entry.file_name.split("_")[-1].startswith("test"):
                    assert encoded(mask) == isic2017[image_id][2] or np.array_equal(
                        ours, np.asarray(Image.open(io.BytesIO(isic2017[image_id][2])))
                    ), entry.file_name
                    continue
                source = Image.open(pristine / "segs" / entry.file_name)
                width, height = source.size
                assert (width, height) == (row["original_width"], row["original_height"])
                side = max(width, height)
                canvas = Image.new("L", (side, side), 0)
                canvas.paste(source.convert("L"), ((side - width) // 2, (side - height) // 2))
                reference = np.asarray(canvas.resize((512, 512), Image.Resampling.BILINEAR)) >= 128
                union = np.logical_or(ours > 0, reference).sum()
                assert np.logical_and(ours > 0, reference).sum() / union > 0.97, entry.file_name


def encoded(mask: Image.Image) -> bytes:
    buffer = io.BytesIO()
    mask.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_subset_gives_each_image_the_same_split(ima, tree, tmp_path):
    whole = {image_id: split for split, dataset in ima.items() for image_id in dataset["image_id"]}
    for image in sorted((tree / "images").glob("*.jpg"))[::2]:
        image.unlink()  # what a partial download leaves; the tables still list every image
    part = build(tree, tmp_path / "cache", size=64)
    subset = {image_id: split for split, dataset in part.items() for image_id in dataset["image_id"]}
    assert 0 < len(subset) < len(whole)
    assert all(whole[image_id] == split for image_id, split in subset.items())


def test_two_processes_give_the_same_bytes(ima, pristine, tmp_path):
    builder = skin_cancer.SkinCancer(config_name="imaplusplus", data_dir=str(pristine), cache_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)
        builder.download_and_prepare(num_proc=2)
    for split, rows in builder.as_dataset().items():
        assert raw_bytes(rows) == raw_bytes(ima[split])
        stored = rows.cast_column("masks", rows.features["masks"].__class__(rows.features["masks"].feature))
        theirs = ima[split].cast_column("masks", rows.features["masks"].__class__(rows.features["masks"].feature))
        assert [[encoded(m) for m in row] for row in stored["masks"]] == [
            [encoded(m) for m in row] for row in theirs["masks"]
        ]


def test_streaming_equals_prepared(ima, pristine, tmp_path):
    streamed = load_dataset(
        "skin_cancer", "imaplusplus", data_dir=str(pristine), cache_dir=str(tmp_path), streaming=True
    )
    for split, prepared in ima.items():
        for row, expected in zip(streamed[split], prepared, strict=True):
            assert row["image_id"] == expected["image_id"] and row["annotators"] == expected["annotators"]
            assert np.array_equal(np.asarray(row["mask"]), np.asarray(expected["mask"]))
            for ours, theirs in zip(row["masks"], expected["masks"], strict=True):
                assert np.array_equal(np.asarray(ours), np.asarray(theirs))
            for column in ("consensus_staple", "consensus_majority"):
                assert (row[column] is None) == (expected[column] is None)


def test_segs_zip_gives_the_same_bytes(ima, tree, tmp_path):
    shutil.make_archive(str(tree / "segs"), "zip", tree, "segs")
    shutil.rmtree(tree / "segs")
    zipped = build(tree, tmp_path / "cache")
    for split, prepared in ima.items():
        assert raw_bytes(zipped[split]) == raw_bytes(prepared)
        assert zipped[split]["annotators"] == prepared["annotators"]


def test_a_missing_mask_file_is_named(tree, tmp_path):
    (tree / "segs" / IDENTICAL["ISIC_0014162"]).unlink()
    with pytest.raises(
        DataError, match=r"segs/ISIC_0014162_A00_T2_S1_5841e77a9fc3c156c3ef40ec\.png: missing"
    ) as caught:
        build(tree, tmp_path / "cache")
    assert "\n" not in str(caught.value)


def test_an_image_without_a_seg_row_is_named(tree, tmp_path):
    shutil.copyfile(_real_images()["ISIC_0012210"], tree / "images" / "ISIC_0012210.jpg")
    with pytest.raises(DataError, match=r"ISIC_0012210\.jpg: ISIC_0012210 has no mask in .*IMAplusplus_seg_metadata"):
        build(tree, tmp_path / "cache")


def test_an_image_without_a_metadata_row_is_named(tree, tmp_path):
    lines = (tree / "images" / "metadata.csv").read_text().splitlines(keepends=True)
    (tree / "images" / "metadata.csv").write_text("".join(line for line in lines if "ISIC_0014597," not in line))
    with pytest.raises(DataError, match=r"ISIC_0014597\.jpg: ISIC_0014597 has no row in .*images/metadata\.csv"):
        build(tree, tmp_path / "cache")


def test_a_mask_file_without_a_seg_row_is_named(tree, tmp_path):
    shutil.copyfile(tree / "segs" / IDENTICAL["ISIC_0014310"], tree / "segs" / "ISIC_0014310_A99_T1_S1_extra.png")
    with pytest.raises(DataError, match=r"ISIC_0014310_A99_T1_S1_extra\.png: this mask of ISIC_0014310 has no row"):
        build(tree, tmp_path / "cache")


def test_a_seg_row_of_an_absent_image_is_a_partial_download(tree, tmp_path):
    (tree / "images" / "ISIC_0001871.jpg").unlink()
    dataset = build(tree, tmp_path / "cache", size=64)
    assert sum(len(split) for split in dataset.values()) == sum(COUNTS.values()) - 1


def test_missing_tables_and_bad_rows_are_named(tree, tmp_path):
    (tree / "images" / "metadata.csv").rename(tree / "metadata.bak")
    with pytest.raises(DataError, match=r"images/metadata\.csv: missing: ISIC's client writes it"):
        build(tree, tmp_path / "cache")
    (tree / "metadata.bak").rename(tree / "images" / "metadata.csv")
    (tree / IMAPLUSPLUS_SEG_METADATA).unlink()
    with pytest.raises(DataError, match=r"IMAplusplus_seg_metadata\.csv: missing"):
        build(tree, tmp_path / "cache")
    with pytest.raises(AnnotationError, match=r"line 2: the mask ISIC_0000001_A00\.png is not named after its image"):
        parse_seg_metadata("ISIC_id,seg_filename,annotator,tool,skill_level\nISIC_0000002,ISIC_0000001_A00.png,A,T,S\n")


def test_a_mask_of_another_size_is_named(tree, tmp_path):
    name = f"ISIC_0009995_A07_T1_S2_test{0:020d}.png"
    Image.new("L", (100, 80)).save(tree / "segs" / name)
    with pytest.raises(DataError, match=rf"{name}: mask is 100x80 but its image is 1024x768"):
        build(tree, tmp_path / "cache", size=64)


def test_without_data_dir_the_user_is_told_where_to_get_it(tmp_path):
    builder = skin_cancer.SkinCancer(config_name="imaplusplus", cache_dir=str(tmp_path))
    with pytest.raises(
        UsageError, match=r"IMA\+\+ is not downloaded by the builder: get it from https://doi\.org/10\.5281"
    ):
        builder.download_and_prepare()


def test_the_release_row():
    assert IMAPLUSPLUS.folders == ("images", "segs")
    assert sum(IMAPLUSPLUS_SPLIT_COUNTS.values()) == 14967
    assert "arXiv:2512.21472" in IMAPLUSPLUS.citation and IMAPLUSPLUS.license_confirmed
    assert IMAPLUSPLUS.license_id == "cc-by-nc-nd-4.0" and not IMAPLUSPLUS.redistributable
    assert [download.file_name for download in IMAPLUSPLUS.downloads] == ["segs.zip", IMAPLUSPLUS_SEG_METADATA]


def test_splits_says_the_lists_are_made_at_build_time(tmp_path, capsys):
    assert main(["splits", "--release", "imaplusplus", "--format", "ids", "--output", str(tmp_path / "out")]) == 2
    assert "made at build time from the patient and lesion ids" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_export_stats_and_preview_work_on_mask(pristine, tmp_path):
    arguments = ["--data-dir", str(pristine), "--cache-dir", str(tmp_path / "c"), "--quiet", "--release", "imaplusplus"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)
        assert (
            main(["export", *arguments, "--size", "64", "--output", str(tmp_path / "out"), "--format", "parquet"]) == 0
        )
        assert main(["stats", *arguments, "--size", "64", "--output", str(tmp_path / "stats")]) == 0
        assert main(["preview", *arguments, "--size", "64", "--output", str(tmp_path / "preview.png")]) == 0
    loaded = load_dataset("parquet", data_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "p"))
    assert {split: len(part) for split, part in loaded.items()} == COUNTS


def test_publish_stages_a_card_with_licence_citation_split_method_and_counts(pristine, tmp_path):
    out = tmp_path / "repo"
    arguments = ["--data-dir", str(pristine), "--cache-dir", str(tmp_path / "c"), "--quiet", "--release", "imaplusplus"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)
        code = main(["publish", *arguments, "--repo-id", "someone/ima", "--allow-partial", "--dry-run", str(out)])
    assert code == 0
    card = (out / "README.md").read_text()
    # The masks are CC BY-NC-ND 4.0, stricter than every image's own licence (all CC-0 in the sample): the YAML
    # gives the stricter one, and the card says the build must not be shared.
    assert "license: cc-by-nc-nd-4.0" in card and "license: cc0-1.0" not in card
    assert "arXiv:2512.21472" in card and "10.5281/zenodo.14201692" in card
    assert "10.1007/978-3-032-05825-6_3" in card and "not confirmed" not in card
    assert "published under masks: CC BY-NC-ND 4.0" in card and "**Do not upload this folder.**" in card
    assert "made by patient, then lesion, then image" in card
    assert "10546 train / 1523 valid / 2898 test images on the full set" in card
    assert "STAPLE consensus where the image has one" in card
    assert "together with the age and sex metadata. IMA++ has no diagnosis labels." in card
    # Issue 17's review: IMA++'s own split, fold and licence words, every table a table.
    assert "the official `valid` split" not in card and "the `valid` split made by the patient rule" in card
    assert "hash bucket (SHA-256, modulo 5)" in card and "LICENSE.txt in the official zips" not in card
    assert "original ISIC mask PNGs" not in card
    assert_valid_tables(card)


def pairwise_jaccard(masks: list[np.ndarray]) -> float:
    """The mean Jaccard over every pair of annotator masks of one image (both empty: 1), written out here."""
    values = []
    for first, second in itertools.combinations(masks, 2):
        union = np.logical_or(first, second).sum()
        values.append(1.0 if union == 0 else np.logical_and(first, second).sum() / union)
    return float(np.mean(values))


def test_evaluate_prints_the_annotators_agreement_beside_the_score(pristine, tmp_path, capsys):
    """`evaluate --release imaplusplus` on the train split: the masks of the build as predictions score 1, and the
    human reference is the mean pairwise Jaccard of the annotators' source masks, computed here independently."""
    predictions = tmp_path / "predictions"
    predictions.mkdir()
    seg = parse_seg_metadata((pristine / IMAPLUSPLUS_SEG_METADATA).read_text())
    split = "train"
    arguments = ["--data-dir", str(pristine), "--cache-dir", str(tmp_path / "c"), "--quiet", "--release", "imaplusplus"]
    dataset = build(pristine, tmp_path / "c2")
    for image_id in dataset[split]["image_id"]:
        entry = next(e for e in seg[image_id] if e.annotator == "ST") if image_id in MULTI else seg[image_id][0]
        shutil.copyfile(pristine / "segs" / entry.file_name, predictions / f"{image_id}_segmentation.png")
    output = tmp_path / "report"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(
            ["evaluate", *arguments, "--split", split, "--predictions", str(predictions), "--output", str(output)]
        )
    assert code == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    summary = json.loads((output / "summary.json").read_text())
    assert summary["native"]["jaccard"] == 1.0
    multi = [i for i in dataset[split]["image_id"] if i in MULTI]
    assert multi == ["ISIC_0009995"]  # three annotators: the real mask, an eroded and a dilated copy
    expected = []
    for image_id in multi:
        annotators = [e for e in seg[image_id] if e.annotator not in ("ST", "MV")]
        expected.append(
            pairwise_jaccard([np.asarray(Image.open(pristine / "segs" / e.file_name)) > 0 for e in annotators])
        )
    agreement = summary["annotator_agreement"]
    assert agreement["images"] == len(multi)
    assert agreement["jaccard"] == pytest.approx(float(np.mean(expected)), abs=1e-9) and agreement["jaccard"] < 1.0
    assert agreement["model_jaccard"] == 1.0
    assert f"{agreement['jaccard']:.4f}" in printed
    assert "annotator agreement" in (output / "summary.md").read_text()
