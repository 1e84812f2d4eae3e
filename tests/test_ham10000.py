"""The `ham10000` configuration on the 16 genuine HAM10000 pairs in ../shared/ham10000-mini (full metadata table)."""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import http.server
import importlib.util
import io
import shutil
import threading
import warnings
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from PIL import Image

import skin_cancer
from skin_cancer.cli import main
from skin_cancer.dataset.lesion_splits import (
    deal_lesions,
    lesion_fraction,
    lesion_split,
    lesion_table,
    release_lesion_split,
    shipped_lesion_table,
    split_diagnosis_counts,
)
from skin_cancer.errors import DataError
from skin_cancer.releases import (
    HAM10000,
    HAM10000_DIAGNOSES,
    HAM10000_SPLIT_BOUNDS,
    HAM10000_SPLIT_COUNTS,
    HAM10000_SPLIT_DX_COUNTS,
    RELEASES,
    file_digest,
)

from .helpers import PROJECT_ROOT, RangeRequestHandler, raw_bytes
from .test_publish import assert_valid_tables

IMAGE_FOLDERS = ("HAM10000_images_part_1", "HAM10000_images_part_2")
MASKS = "HAM10000_segmentations_lesion_tschandl"
METADATA = "HAM10000_metadata.csv"
# The rule applied to the sample's 16 ids (ham10000-{train,valid,test}.txt list them so).
SAMPLE_COUNTS = {"train": 8, "valid": 6, "test": 2}
SHARES = {"train": 0.70, "valid": 0.10, "test": 0.20}


def table(sample: Path) -> dict[str, dict[str, str]]:
    with open(sample / METADATA, newline="") as file:
        return {row["image_id"]: row for row in csv.DictReader(file)}


def sample_ids(sample: Path) -> list[str]:
    return sorted(path.stem for folder in IMAGE_FOLDERS for path in (sample / folder).glob("*.jpg"))


def build(data_dir: Path, cache: Path, **options):
    builder = skin_cancer.SkinCancer(config_name="ham10000", data_dir=str(data_dir), cache_dir=str(cache), **options)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)
        builder.download_and_prepare()
    return builder.as_dataset()


@pytest.fixture(scope="module")
def ham(ham10000_sample, tmp_path_factory):
    return build(ham10000_sample, tmp_path_factory.mktemp("ham-cache"))


@pytest.fixture
def tree(ham10000_sample, tmp_path) -> Path:
    """A copy of the sample a test may damage (read where it is otherwise)."""
    return Path(shutil.copytree(ham10000_sample, tmp_path / "HAM10000"))


def official_lesions(sample: Path) -> dict[str, tuple[str, int]]:
    return lesion_table({image_id: (row["lesion_id"], row["dx"]) for image_id, row in table(sample).items()})


def readme_rule(lesions: dict[str, tuple[str, int]]) -> dict[str, str]:
    """The README's rule, written out again from its words (not through folds.assign_groups)."""
    images_of_dx = Counter()
    for dx, images in lesions.values():
        images_of_dx[dx] += images
    totals, split_of = [0] * 10, {}
    for dx in sorted(images_of_dx, key=lambda code: (images_of_dx[code], code)):
        counts = [0] * 10

        def tie(lesion_id: str) -> int:
            return int.from_bytes(hashlib.sha256(f"skin-cancer-splits-1\0{lesion_id}".encode()).digest()[:8], "big")

        members = [lesion_id for lesion_id, (code, _) in lesions.items() if code == dx]
        for lesion_id in sorted(members, key=lambda key: (-lesions[key][1], tie(key), key)):
            bucket = min(range(10), key=lambda index: (counts[index], totals[index], index))
            counts[bucket] += lesions[lesion_id][1]
            totals[bucket] += lesions[lesion_id][1]
            split_of[lesion_id] = "train" if bucket <= 6 else "valid" if bucket == 7 else "test"
    return split_of


def test_the_release_counts_are_the_rule_on_the_official_table(ham10000_sample):
    rows = table(ham10000_sample)
    assert len(rows) == 10015
    lesions = official_lesions(ham10000_sample)
    assert len(lesions) == 7470 and sum(images for _, images in lesions.values()) == 10015
    assert shipped_lesion_table("ham10000") == lesions  # the shipped universe is the official table's
    dealt = deal_lesions(lesions, HAM10000_SPLIT_BOUNDS)
    assert dealt == readme_rule(lesions)
    counts = Counter(dealt[row["lesion_id"]] for row in rows.values())
    assert dict(counts) == HAM10000_SPLIT_COUNTS
    by_dx = {split: dict.fromkeys(HAM10000_DIAGNOSES, 0) for split in HAM10000_SPLIT_COUNTS}
    for row in rows.values():
        by_dx[dealt[row["lesion_id"]]][row["dx"]] += 1
    assert by_dx == HAM10000_SPLIT_DX_COUNTS == split_diagnosis_counts("ham10000")
    # Stratified by diagnosis: every dx is 70/10/20 of its images to within 2 points (the hash rule this
    # replaces gave df 60.9/10.4/28.7 and bcc 75.3/8.4/16.3).
    for code in HAM10000_DIAGNOSES:
        total = sum(by_dx[split][code] for split in by_dx)
        for split, share in SHARES.items():
            assert abs(by_dx[split][code] / total - share) < 0.02, (code, split)


def test_the_shipped_id_lists_are_the_rule_on_the_official_table(ham10000_sample):
    from skin_cancer.dataset import overlap

    dealt = deal_lesions(official_lesions(ham10000_sample), HAM10000_SPLIT_BOUNDS)
    expected = defaultdict(set)
    for image_id, row in table(ham10000_sample).items():
        expected[dealt[row["lesion_id"]]].add(image_id)
        assert release_lesion_split("ham10000", row["lesion_id"]) == dealt[row["lesion_id"]]
    for split in HAM10000.splits:
        assert overlap.read_id_list(split.ids_file) == sorted(expected[split.name])
    # None of the 10,015 ids is in an ISIC segmentation release (the Dataverse record's and the claim).
    isic = set().union(*(ids for key, ids in overlap.id_lists().items() if not key.startswith("ham10000/")))
    assert not isic & set(table(ham10000_sample))


def test_a_lesion_outside_the_official_table_goes_by_the_hash_rule():
    # The fraction is the digest's first 64 bits over 2**64.
    digest = hashlib.sha256(b"HAM_0000118").hexdigest()
    assert lesion_fraction("HAM_0000118") == int(digest[:16], 16) / 2**64
    assert lesion_split("x", (("a", 0.0), ("b", 1.0))) == "b"
    outside = [f"HAM_99{number:05d}" for number in range(200)]
    assert not set(outside) & set(shipped_lesion_table("ham10000"))
    found = {release_lesion_split("ham10000", lesion) for lesion in outside}
    assert found == {"train", "valid", "test"}
    for lesion in outside:
        assert release_lesion_split("ham10000", lesion) == lesion_split(lesion, HAM10000_SPLIT_BOUNDS)


def test_the_rule_is_the_one_the_readme_states():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "first 16 hex digits of the SHA-256 of\n  its `lesion_id`" in readme
    assert "SHA-256 of `skin-cancer-splits-1`, a NUL byte\n  and the `lesion_id`" in readme
    assert "buckets 0-6 are `train`, 7 `valid`, 8-9 `test`" in readme
    for split, counts in HAM10000_SPLIT_DX_COUNTS.items():
        cells = " | ".join(
            f"{count} ({100 * count / sum(HAM10000_SPLIT_DX_COUNTS[name][code] for name in SHARES):.1f}%)"
            for code, count in counts.items()
        )
        assert f"| `{split}` | {cells} | {HAM10000_SPLIT_COUNTS[split]} |" in readme


def test_exact_counts_per_split_and_the_usual_partial_warning(ham10000_sample, tmp_path):
    with pytest.warns(skin_cancer.PartialSplitWarning) as caught:
        dataset = load_dataset("skin_cancer", "ham10000", data_dir=str(ham10000_sample), cache_dir=str(tmp_path))
    assert {split: len(part) for split, part in dataset.items()} == SAMPLE_COUNTS
    messages = [str(warning.message) for warning in caught if warning.category is skin_cancer.PartialSplitWarning]
    assert "found 8 of 7012 official training images (train split of HAM10000); the dataset is partial" in messages
    assert "found 6 of 1001 official validation images (valid split of HAM10000); the dataset is partial" in messages


def test_every_split_is_the_lesion_rule_and_lesions_never_cross(ham, ham10000_sample):
    rows = table(ham10000_sample)
    split_of_lesion = defaultdict(set)
    for split, dataset in ham.items():
        for image_id, lesion_id in zip(dataset["image_id"], dataset["lesion_id"], strict=True):
            assert lesion_id == rows[image_id]["lesion_id"]
            assert split == release_lesion_split("ham10000", lesion_id)
            split_of_lesion[lesion_id].add(split)
    assert all(len(splits) == 1 for splits in split_of_lesion.values())
    images_per_lesion = Counter(lesion for split in ham.values() for lesion in split["lesion_id"])
    assert images_per_lesion["HAM_0000778"] == 3 and images_per_lesion["HAM_0003937"] == 2
    assert sorted(image_id for split in ham.values() for image_id in split["image_id"]) == sample_ids(ham10000_sample)


def test_a_subset_gives_each_lesion_the_same_split(ham, tree, tmp_path):
    whole = {image_id: split for split, dataset in ham.items() for image_id in dataset["image_id"]}
    # Drop the second image part and half of the first: what a partial download leaves.
    for image in (tree / IMAGE_FOLDERS[1]).glob("*.jpg"):
        image.unlink()
        (tree / MASKS / f"{image.stem}_segmentation.png").unlink()
    kept = sorted((tree / IMAGE_FOLDERS[0]).glob("*.jpg"))
    for image in kept[::2]:
        image.unlink()
        (tree / MASKS / f"{image.stem}_segmentation.png").unlink()
    part = build(tree, tmp_path / "cache", size=64)
    subset = {image_id: split for split, dataset in part.items() for image_id in dataset["image_id"]}
    assert 0 < len(subset) < len(whole)
    assert all(whole[image_id] == split for image_id, split in subset.items())


def test_schema_labels_and_metadata_match_the_table(ham, ham10000_sample):
    rows = table(ham10000_sample)
    features = ham["train"].features
    assert features["diagnosis"].names == ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
    assert {"dx_type", "localization", "lesion_id"} <= set(features)
    names = features["diagnosis"].names
    for dataset in ham.values():
        for row in dataset.remove_columns(["image", "mask"]):
            source = rows[row["image_id"]]
            assert names[row["diagnosis"]] == source["dx"]
            assert row["dx_type"] == source["dx_type"]
            assert row["age_approximate"] == (int(float(source["age"])) if source["age"] else None)
            assert row["sex"] == (None if source["sex"] == "unknown" else source["sex"])
            assert row["localization"] == (None if source["localization"] == "unknown" else source["localization"])
            assert row["license"] == "cc-by-nc-4.0"
            assert row["also_in"] == []


def test_masks_are_binary_and_aligned_with_an_independent_reference(ham, ham10000_sample):
    palette = 0
    for dataset in ham.values():
        for row in dataset:
            mask = np.asarray(row["mask"])
            assert set(np.unique(mask)) <= {0, 1}, "class indices"
            source = Image.open(ham10000_sample / MASKS / f"{row['image_id']}_segmentation.png")
            palette += source.mode == "P"
            width, height = source.size
            assert (row["original_width"], row["original_height"]) == (width, height) == (600, 450)
            canvas = Image.new("L", (width, width), 0)
            canvas.paste(source.convert("L"), (0, (width - height) // 2))
            reference = np.asarray(canvas.resize((512, 512), Image.Resampling.BILINEAR)) >= 128
            ours = mask > 0
            assert np.logical_and(ours, reference).sum() / np.logical_or(ours, reference).sum() > 0.97, row["image_id"]
    assert palette == 4  # the README's four palette masks are among them


def test_streaming_equals_prepared(ham, ham10000_sample, tmp_path):
    streamed = load_dataset(
        "skin_cancer", "ham10000", data_dir=str(ham10000_sample), cache_dir=str(tmp_path), streaming=True
    )
    assert set(streamed) == set(SAMPLE_COUNTS)
    for split, prepared in ham.items():
        for index, row in enumerate(streamed[split].take(2)):
            expected = prepared[index]
            assert row["image_id"] == expected["image_id"] and row["lesion_id"] == expected["lesion_id"]
            assert np.array_equal(np.asarray(row["image"]), np.asarray(expected["image"]))
            assert np.array_equal(np.asarray(row["mask"]), np.asarray(expected["mask"]))


def test_export_parquet_reads_back(ham10000_sample, tmp_path):
    out = tmp_path / "parquet"
    arguments = ["--data-dir", str(ham10000_sample), "--cache-dir", str(tmp_path / "c"), "--quiet"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)
        code = main(["export", *arguments, "--release", "ham10000", "--output", str(out), "--format", "parquet"])
    assert code == 0
    loaded = load_dataset("parquet", data_dir=str(out), cache_dir=str(tmp_path / "p"))
    assert {split: len(part) for split, part in loaded.items()} == SAMPLE_COUNTS


def test_dataverse_zips_with_files_at_the_top_and_a_table_without_extension(ham, tree, tmp_path):
    """The Dataverse zips hold their files at the top; macOS litter in a zip is ignored."""
    for name in (*IMAGE_FOLDERS, MASKS):
        with zipfile.ZipFile(tmp_path / f"{name}.zip", "w") as archive:
            for path in sorted((tree / name).iterdir()):
                archive.write(path, path.name)
            archive.writestr(f"__MACOSX/._{name}", b"junk")
        shutil.rmtree(tree / name)
        shutil.move(tmp_path / f"{name}.zip", tree / f"{name}.zip")
    (tree / METADATA).rename(tree / "HAM10000_metadata")
    zipped = build(tree, tmp_path / "cache")
    for split in SAMPLE_COUNTS:
        assert raw_bytes(zipped[split]) == raw_bytes(ham[split])


def dataverse_tab(csv_text: str) -> str:
    """The table as Dataverse's ingested `HAM10000_metadata.tab`: tab-separated, strings quoted, numbers bare,
    and a `dataset` column after the official ones."""
    rows = list(csv.reader(io.StringIO(csv_text)))
    age = rows[0].index("age")
    lines = ["\t".join(f'"{name}"' for name in [*rows[0], "dataset"])]
    for row in rows[1:]:
        cells = [cell if index == age else f'"{cell}"' for index, cell in enumerate(row)]
        lines.append("\t".join([*cells, '"vidir_modern"']))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("beside", ["tab-only", "csv-and-tab"])
def test_dataverses_tab_separated_table_is_read_and_a_csv_beside_it_wins(ham, tree, tmp_path, beside):
    tab = dataverse_tab((tree / METADATA).read_text())
    assert "\t" in tab and '"dataset"' in tab
    if beside == "tab-only":
        (tree / METADATA).unlink()
        (tree / "HAM10000_metadata.tab").write_text(tab)
    else:
        (tree / "HAM10000_metadata.tab").write_text(tab.replace('"bkl"', '"not-a-dx"'))  # would be refused if read
    built = build(tree, tmp_path / "cache")
    for split in SAMPLE_COUNTS:
        assert raw_bytes(built[split]) == raw_bytes(ham[split])
        assert (
            built[split].remove_columns(["image", "mask"]).to_list()
            == ham[split].remove_columns(["image", "mask"]).to_list()
        )


def test_a_missing_mask_is_named(tree, tmp_path):
    (tree / MASKS / "ISIC_0029360_segmentation.png").unlink()
    with pytest.raises(DataError, match=r"ISIC_0029360\.jpg: this image has no mask") as caught:
        build(tree, tmp_path / "cache")
    assert "\n" not in str(caught.value)


def test_an_image_without_a_metadata_row_is_named(tree, tmp_path):
    lines = (tree / METADATA).read_text().splitlines(keepends=True)
    (tree / METADATA).write_text("".join(line for line in lines if ",ISIC_0024306," not in line))
    with pytest.raises(DataError, match=r"ISIC_0024306\.jpg: ISIC_0024306 has no row in .*HAM10000_metadata\.csv"):
        build(tree, tmp_path / "cache")


def test_a_missing_metadata_table_is_named(tree, tmp_path):
    (tree / METADATA).unlink()
    with pytest.raises(DataError, match=r"HAM10000_metadata\.csv: missing \(nor HAM10000_metadata\.tab nor"):
        build(tree, tmp_path / "cache")


def test_the_downloads_are_the_dataverse_files_with_their_published_size_and_md5():
    served = {download.file_name: HAM10000.url(download.file_name) for download in HAM10000.downloads}
    access = "https://dataverse.harvard.edu/api/access/datafile/"
    assert served == {
        "HAM10000_images_part_1.zip": access + "3172585",
        "HAM10000_images_part_2.zip": access + "3172584",
        "HAM10000_segmentations_lesion_tschandl.zip": access + "3838943",
        METADATA: access + "4338392?format=original",  # the uploaded CSV, not Dataverse's re-export
    }
    assert {download.folder for download in HAM10000.downloads} == {*IMAGE_FOLDERS, MASKS, None}
    for download in HAM10000.downloads:
        assert download.size and download.checksum is not None and download.checksum.algorithm == "md5"
        assert "10.7910/DVN/DBW86T" in download.checksum.source
    assert HAM10000.downloads_by_name[MASKS + ".zip"].size == 10_808_743


def dataverse_copy(sample: Path, www: Path) -> Path:
    """The sample as Dataverse serves it: each file at its file id, the zips with their files at the top
    (and macOS litter), and the metadata table with the `dataset` column the uploaded v4 table has."""
    www.mkdir()
    for download in HAM10000.downloads:
        target = www / download.served_as.partition("?")[0]
        if download.folder is not None:
            with zipfile.ZipFile(target, "w") as archive:
                for path in sorted((sample / download.folder).iterdir()):
                    archive.write(path, path.name)
                archive.writestr(f"__MACOSX/._{download.folder}", b"junk")
        else:
            lines = (sample / METADATA).read_text().splitlines()
            extended = [f"{lines[0]},dataset", *(f"{line},vidir_modern" for line in lines[1:])]
            target.write_text("\r\n".join(extended) + "\r\n", newline="")
    return www


def recorded(monkeypatch, www: Path, wrong_size: str | None = None, wrong_md5: str | None = None):
    """The release row with the served files' sizes and MD5s, as if Dataverse had published them (the real
    files are not here); `wrong_size` / `wrong_md5` names one file recorded wrongly instead."""
    downloads = []
    for download in HAM10000.downloads:
        path = www / download.served_as.partition("?")[0]
        size = path.stat().st_size + (1 if download.file_name == wrong_size else 0)
        md5 = "0" * 32 if download.file_name == wrong_md5 else file_digest(path, "md5")
        checksum = dataclasses.replace(download.checksum, value=md5)
        downloads.append(dataclasses.replace(download, size=size, checksum=checksum))
    monkeypatch.setitem(RELEASES, "ham10000", dataclasses.replace(HAM10000, downloads=tuple(downloads)))


def test_without_data_dir_the_files_are_downloaded_and_verified(ham, ham10000_sample, tmp_path, monkeypatch):
    """Only the network is replaced: a local HTTP server serves the files at Dataverse's paths."""
    www = dataverse_copy(ham10000_sample, tmp_path / "www")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(RangeRequestHandler, directory=www))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        recorded(monkeypatch, www)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)
            downloaded = load_dataset("skin_cancer", "ham10000", cache_dir=str(tmp_path / "c1"), base_url=base_url)
        assert {split: len(part) for split, part in downloaded.items()} == SAMPLE_COUNTS
        for split in SAMPLE_COUNTS:
            assert raw_bytes(downloaded[split]) == raw_bytes(ham[split])
        part_2 = "HAM10000_images_part_2.zip"
        recorded(monkeypatch, www, wrong_size=part_2)
        with pytest.raises(DataError, match=rf"{part_2}: the downloaded file .* is not the size recorded for it"):
            load_dataset("skin_cancer", "ham10000", cache_dir=str(tmp_path / "c2"), base_url=base_url)
        recorded(monkeypatch, www, wrong_md5=METADATA)
        with pytest.raises(DataError, match=rf"{METADATA}: the downloaded file .* does not match its checksum: md5"):
            load_dataset("skin_cancer", "ham10000", cache_dir=str(tmp_path / "c3"), base_url=base_url)
    finally:
        server.shutdown()


def test_the_release_row():
    assert HAM10000.license_id == "cc-by-nc-4.0" and HAM10000.license_confirmed
    assert HAM10000.folders == (*IMAGE_FOLDERS, MASKS)
    assert sum(split.official_count for split in HAM10000.splits) == 10015
    assert "Tschandl" in HAM10000.citation and "10.1038/s41591-020-0942-0" in HAM10000.citation


def test_publish_stages_a_card_with_licence_citation_split_method_and_counts(ham10000_sample, tmp_path):
    out = tmp_path / "repo"
    arguments = ["--data-dir", str(ham10000_sample), "--cache-dir", str(tmp_path / "c"), "--quiet"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", skin_cancer.PartialSplitWarning)
        publish = ["publish", *arguments, "--release", "ham10000", "--repo-id", "someone/ham", "--allow-partial"]
        code = main([*publish, "--dry-run", str(out)])
    assert code == 0
    card = (out / "README.md").read_text()
    assert "license: cc-by-nc-4.0" in card
    assert "10.1038/sdata.2018.161" in card and "10.1038/s41591-020-0942-0" in card
    assert "made by lesion and stratified by diagnosis" in card
    assert "first 16 hex digits of the SHA-256 of its `lesion_id`" in card
    for split, counts in HAM10000_SPLIT_DX_COUNTS.items():
        listed = ", ".join(f"{code} {count}" for code, count in counts.items())
        assert f"`{split}` {HAM10000_SPLIT_COUNTS[split]} ({listed})" in card
    assert "`mel` = melanoma" in card and "`nv` = melanocytic nevi" in card
    # The real pairs' card (issue 17's review): HAM10000's own split, fold and origin words, every table a table.
    assert "the official `valid` split" not in card and "the `valid` split made by the lesion rule" in card
    assert "grouped by the `lesion_id` of HAM10000's metadata table" in card and "Vienna" in card
    assert "original ISIC mask PNGs" not in card and "contributed to the ISIC Archive" not in card
    assert_valid_tables(card)


def test_the_benchmark_tree_is_the_real_pairs_under_the_official_ids(ham10000_sample, tmp_path):
    """benchmarks/bench_ham10000.py's tree builds into the shipped splits (loaded by path: not a package)."""
    from skin_cancer.dataset import overlap

    spec = importlib.util.spec_from_file_location("bench_ham10000", PROJECT_ROOT / "benchmarks" / "bench_ham10000.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    made = bench.ham10000_tree(ham10000_sample, tmp_path / "tree", 40)
    assert [image_id for image_id, _, _ in made] == sorted(table(ham10000_sample))[:40]
    real = {path.name: raw for path in ham10000_sample.glob("*/*") if (raw := path.read_bytes())}
    assert all(image.read_bytes() in real.values() and mask.read_bytes() in real.values() for _, image, mask in made)
    built = build(tmp_path / "tree", tmp_path / "cache", size=64)
    for split in HAM10000.splits:
        expected = [image_id for image_id, _, _ in made if image_id in set(overlap.read_id_list(split.ids_file))]
        assert (sorted(built[split.name]["image_id"]) if split.name in built else []) == expected
