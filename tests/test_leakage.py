"""Per-image archive facts, the leak report and `leak_free`, recounted from ../shared where it exists.

The shared CSV (../shared/isic-archive-metadata) is read here with the csv module alone, never through
skin_cancer.dataset.archive or leakage, so that each count is computed twice, independently.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import warnings
from pathlib import Path

import datasets
import pytest
from PIL import Image, ImageDraw

import skin_cancer
from skin_cancer.cli import main
from skin_cancer.dataset import archive, leakage, overlap
from skin_cancer.releases import RELEASES

from .helpers import PROJECT_ROOT

SHIPPED_FACTS = PROJECT_ROOT / "skin_cancer" / "data" / "archive" / "images.tsv"
HUB = {"CC-0": "cc0-1.0", "CC-BY": "cc-by-4.0", "CC-BY-NC": "cc-by-nc-4.0"}
ARCHIVE_COLUMNS = ("lesion_id", "patient_id", "license", "attribution")
# Every split whose ids can be shared (PH2's IMDxxx ids are not ISIC ids; IMA++'s splits are made at build time).
SPLITS = [
    f"{release.name}/{split.name}"
    for release in RELEASES.values()
    if release.isic_ids and not release.archive_collection
    for split in release.splits
]
# The splits whose lists ../shared/isic-releases holds (HAM10000's are computed: tests/test_ham10000.py).
ISIC_SPLITS = [
    f"{release.name}/{split.name}"
    for release in RELEASES.values()
    if release.name.startswith("isic")
    for split in release.splits
]


def _shared_rows(archive_metadata: Path) -> dict[str, dict[str, str | None]]:
    """{isic_id: the four facts as the columns should hold them}, straight from the shared CSV."""
    with open(archive_metadata / "IMAplusplus_img_metadata.csv", newline="", encoding="utf-8") as file:
        return {
            row["isic_id"]: {
                "lesion_id": row["lesion_id"] or None,
                "patient_id": row["patient_id"] or None,
                "license": HUB[row["copyright_license"]] if row["copyright_license"] else None,
                "attribution": row["attribution"] or None,
            }
            for row in csv.DictReader(file)
        }


def _shared_lists(shared_releases: Path) -> dict[str, set[str]]:
    """The ISIC lists from ../shared; HAM10000's computed ones as shipped (tests/test_ham10000.py checks them)."""
    return {
        key: set((shared_releases / (key.replace("/", "-") + ".txt")).read_text().split())
        if key in ISIC_SPLITS
        else set(overlap.id_lists()[key])
        for key in SPLITS
    }


def _json_report(capsys, *extra: str) -> list[dict]:
    assert main(["leaks", "--format", "json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def _cell(rows: list[dict], split: str, against: str, level: str) -> dict:
    (row,) = [row for row in rows if (row["split"], row["against"], row["level"]) == (split, against, level)]
    return row


# --- the shipped facts -----------------------------------------------------------------------------


def test_the_shipped_facts_are_what_the_script_makes_from_the_shared_csv(archive_metadata, tmp_path):
    spec = importlib.util.spec_from_file_location("archive_facts", PROJECT_ROOT / "scripts" / "archive_facts.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    output = tmp_path / "images.tsv"
    assert script.main([str(archive_metadata / "IMAplusplus_img_metadata.csv"), "--output", str(output)]) == 0
    assert output.read_bytes() == SHIPPED_FACTS.read_bytes()


def test_the_shipped_facts_equal_the_shared_csv_for_every_release_id(archive_metadata, shared_releases):
    rows, lists = _shared_rows(archive_metadata), _shared_lists(shared_releases)
    ids = set().union(*lists.values())
    assert len(set().union(*(lists[key] for key in ISIC_SPLITS))) == 4075
    for image_id in ids:
        facts = archive.image_facts(image_id)
        expected = rows.get(image_id, dict.fromkeys(ARCHIVE_COLUMNS))
        assert {column: getattr(facts, column) for column in ARCHIVE_COLUMNS} == expected, image_id
    assert set(archive.archive_facts()) == ids & set(rows), "only release ids, and every one the archive lists"
    assert archive.image_facts("ISIC_9000001") == archive.UNKNOWN


def test_facts_are_package_resources_with_their_source():
    folder = skin_cancer.__file__.rsplit("/", 1)[0]
    sources = (Path(folder) / "data" / "archive" / "SOURCES.md").read_text()
    assert "sfu-mial/IMAplusplus" in sources and "9b20f490e5ac690459fbc4ff2c5060d85acff3be" in sources
    assert "Apache-2.0" in sources and "scripts/archive_facts.py" in sources
    pyproject = (PROJECT_ROOT / "pyproject.toml").read_text()
    assert '"data/archive/*.tsv"' in pyproject and '"data/archive/*.md"' in pyproject


def test_bad_facts_are_refused_with_the_line():
    header = "\t".join(archive.COLUMNS)
    with pytest.raises(ValueError, match="line 2 has 2 fields"):
        archive.parse_facts(f"{header}\nISIC_0000001\tIL_1\n")
    with pytest.raises(ValueError, match="unknown licence 'CC-0'"):
        archive.parse_facts(f"{header}\nISIC_0000001\t\t\tCC-0\tAnonymous\n")
    assert archive.stricter_license("cc0-1.0", "cc-by-nc-4.0", None) == "cc-by-nc-4.0"
    assert archive.stricter_license(None) is None


# --- the report ------------------------------------------------------------------------------------


# The counts (and ../shared/isic-archive-metadata/README.md): (split, against, image, lesion, patient).
QUOTED = [
    ("isic2017/test", "isic2017/train", 0, 4, 29),
    ("isic2018/test", "isic2018/train", 0, 47, 53),
    ("isic2017/test", "isic2018/train", 529, 1, 6),
    ("isic2016/test", "isic2017/train", 305, 0, 0),
]


@pytest.mark.parametrize(("split", "against", "image", "lesion", "patient"), QUOTED)
def test_leaks_json_reproduces_the_quoted_counts(capsys, split, against, image, lesion, patient):
    rows = _json_report(capsys)
    for level, count in zip(leakage.LEVELS, (image, lesion, patient), strict=True):
        row = _cell(rows, split, against, level)
        assert row["count"] == count == len(row["ids"]) and row["ids"] == sorted(row["ids"])


def test_the_report_pairs_every_evaluation_split_with_every_training_split(capsys):
    rows = _json_report(capsys)
    evaluation = [key for key in SPLITS if not key.endswith("/train")]
    training = [key for key in SPLITS if key.endswith("/train")]
    assert [(row["split"], row["against"], row["level"]) for row in rows] == [
        (split, against, level) for split in evaluation for against in training for level in leakage.LEVELS
    ]
    assert all(set(row) == {"split", "against", "level", "count", "ids"} for row in rows)
    only = _json_report(capsys, "--release", "isic2016")
    assert only and all("isic2016/" in row["split"] + row["against"] for row in only)
    assert len(only) < len(rows)


def test_every_cell_recounted_from_the_shared_csv(capsys, archive_metadata, shared_releases):
    facts, lists = _shared_rows(archive_metadata), _shared_lists(shared_releases)

    def fact(image_id: str, column: str) -> str | None:
        return facts.get(image_id, {}).get(column)

    rows = _json_report(capsys)
    training = [key for key in SPLITS if key.endswith("/train")]
    assert len(rows) == (len(SPLITS) - len(training)) * len(training) * 3
    for row in rows:
        own, other = lists[row["split"]], lists[row["against"]]
        lesions = {fact(i, "lesion_id") for i in other} - {None}
        patients = {fact(i, "patient_id") for i in other} - {None}
        rest = own - other
        expected = {
            "image": own & other,
            "lesion": {i for i in rest if fact(i, "lesion_id") in lesions},
            "patient": {i for i in rest if fact(i, "lesion_id") in lesions or fact(i, "patient_id") in patients},
        }[row["level"]]
        assert row["ids"] == sorted(expected), (row["split"], row["against"], row["level"])


def test_coverage_is_the_shared_readmes(archive_metadata):
    quoted = {
        "isic2016/train": (900, 895),
        "isic2016/test": (379, 376),
        "isic2017/train": (2000, 1910),
        "isic2017/valid": (150, 128),
        "isic2017/test": (600, 556),
        "isic2018/train": (2594, 2505),
        "isic2018/valid": (100, 95),
        "isic2018/test": (1000, 968),
    }
    for key, (images, listed) in quoted.items():
        found = leakage.coverage(key)
        assert (found.images, found.listed) == (images, listed)
    assert leakage.coverage("isic2016/train").with_lesion == 0  # so its zeros mean "none known"


def test_the_text_report_shows_the_counts_and_the_coverage(capsys):
    assert main(["leaks"]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("isic2017/test") and "isic2017/train" in line)
    assert line.split()[-3:] == ["0", "4", "29"]
    assert "How much of each split the ISIC Archive metadata covers" in out and "556 (93%)" in out
    assert "none known" in out


# --- leak_free -------------------------------------------------------------------------------------


def _split_dataset(key: str, with_columns: bool = True) -> datasets.Dataset:
    """Every image of a shipped split as a dataset of ids (and the archive columns), no pixels."""
    ids = sorted(leakage.id_lists()[key])
    data = {"image_id": ids}
    if with_columns:
        data["lesion_id"] = [archive.image_facts(i).lesion_id for i in ids]
        data["patient_id"] = [archive.image_facts(i).patient_id for i in ids]
    return datasets.Dataset.from_dict(data)


def _report_ids(split: str, against: str, *levels: str) -> set[str]:
    return {i for row in leakage.leak_report() if (row.split, row.against) == (split, against) for i in row.ids
            if row.level in levels}  # fmt: skip


@pytest.mark.parametrize("with_columns", [True, False], ids=["columns", "facts"])
@pytest.mark.parametrize(
    ("level", "levels"), [("image", ("image",)), ("lesion", ("image", "lesion")), ("patient", leakage.LEVELS)]
)
def test_leak_free_drops_exactly_what_the_report_lists(with_columns, level, levels):
    for split, against in [("isic2017/test", "isic2017/train"), ("isic2018/test", "isic2018/train"),
                           ("isic2017/test", "isic2018/train")]:  # fmt: skip
        dataset = _split_dataset(split, with_columns)
        kept = skin_cancer.leak_free(dataset, against=against, level=level)
        dropped = set(dataset["image_id"]) - set(kept["image_id"])
        assert dropped == _report_ids(split, against, *levels)
        assert len(kept) + len(dropped) == len(dataset)


def test_leak_free_against_a_list_and_on_dicts_and_streams():
    dataset = _split_dataset("isic2017/test")
    against = ["isic2017/train", "isic2018/train"]
    expected = _report_ids("isic2017/test", against[0], *leakage.LEVELS) | _report_ids(
        "isic2017/test", against[1], *leakage.LEVELS
    )
    kept = skin_cancer.leak_free(dataset, against=against)
    assert set(dataset["image_id"]) - set(kept["image_id"]) == expected
    assert len(expected) > 529  # the 2018 training images, plus the lesions and patients of 2017 training
    both = skin_cancer.leak_free(datasets.DatasetDict({"test": dataset}), against=against)
    assert isinstance(both, datasets.DatasetDict) and both["test"]["image_id"] == kept["image_id"]
    streamed = skin_cancer.leak_free(dataset.to_iterable_dataset(), against=against)
    assert [row["image_id"] for row in streamed] == kept["image_id"]


def test_leak_free_refuses_unknown_splits_and_levels():
    dataset = _split_dataset("isic2017/test")
    with pytest.raises(skin_cancer.UsageError, match="unknown release split 'isic2017/training'"):
        skin_cancer.leak_free(dataset, against="isic2017/training")
    with pytest.raises(skin_cancer.UsageError, match="level must be one of image, lesion, patient"):
        skin_cancer.leak_free(dataset, against="isic2017/train", level="person")
    with pytest.raises(skin_cancer.UsageError, match="needs an image_id column"):
        skin_cancer.leak_free(datasets.Dataset.from_dict({"x": [1]}), against="isic2017/train")


# --- the columns of real builds --------------------------------------------------------------------


def _columns(dataset: datasets.Dataset) -> dict[str, dict]:
    return {row["image_id"]: row for row in dataset.select_columns(["image_id", *ARCHIVE_COLUMNS, "also_in"])}


def test_the_archive_columns_of_the_real_2017_sample(real_dataset, archive_metadata):
    expected = _shared_rows(archive_metadata)
    licences = set()
    for split in real_dataset:
        assert [real_dataset[split].features[column] for column in ARCHIVE_COLUMNS] == [datasets.Value("string")] * 4
        for image_id, row in _columns(real_dataset[split]).items():
            assert {column: row[column] for column in ARCHIVE_COLUMNS} == expected.get(
                image_id, dict.fromkeys(ARCHIVE_COLUMNS)
            ), image_id
            licences.add(row["license"])
    assert licences == {"cc0-1.0", None}  # 4 of the 14 have no archive record
    lesions = {row["lesion_id"] for split in real_dataset for row in _columns(real_dataset[split]).values()}
    assert "IL_3194227" in lesions


def _mask_for(image: Path, destination: Path) -> None:
    """A real mask cannot be found for these images: an ellipse of the image's own size."""
    with Image.open(image) as source:
        width, height = source.size
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=255)
    mask.save(destination)


def _tree_2018(images: Path, root: Path, swap: bool = False) -> Path:
    """The shared 2018 validation/test images, each with a made mask, in the 2018 layout (a training split
    of one real 2017 pair); with `swap`, validation images go into the test folders and test ones into validation."""
    release = RELEASES["isic2018"]
    top = root / release.top_folder
    sources = {"valid": "ISIC2018_Task1-2_Validation_Input", "test": "ISIC2018_Task1-2_Test_Input"}
    for split in release.splits:
        (top / split.data_folder).mkdir(parents=True)
        (top / split.mask_folder).mkdir(parents=True)
    for name, folder in sources.items():
        target = release.split({"valid": "test", "test": "valid"}[name] if swap else name)
        for image in sorted((images / folder).glob("ISIC_*.jpg")):
            (top / target.data_folder / image.name).write_bytes(image.read_bytes())
            _mask_for(image, top / target.mask_folder / release.mask_name(image.stem))
    return top


@pytest.fixture(scope="module")
def real_2018(isic2018_images, real_sample, tmp_path_factory) -> dict[str, datasets.DatasetDict]:
    root = tmp_path_factory.mktemp("real-2018")
    built = {}
    for swap in (False, True):
        top = _tree_2018(isic2018_images, root / f"swap-{swap}", swap)
        train = RELEASES["isic2018"].split("train")
        for image in ["ISIC_0012099", "ISIC_0014162"]:  # real 2017 pairs: also 2018 training images
            (top / train.data_folder / f"{image}.jpg").write_bytes(
                (real_sample / "ISIC-2017_Training_Data" / f"{image}.jpg").read_bytes()
            )
            (top / train.mask_folder / f"{image}_segmentation.png").write_bytes(
                (real_sample / "ISIC-2017_Training_Part1_GroundTruth" / f"{image}_segmentation.png").read_bytes()
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # partial splits
            built[swap] = datasets.load_dataset(
                "skin_cancer", "isic2018", data_dir=str(top), cache_dir=str(root / "cache"), size=32
            )
        built[f"tree-{swap}"] = top
    built["cache"] = root / "cache"
    return built


def test_the_archive_columns_of_real_2018_validation_and_test_images(real_2018, archive_metadata):
    expected = _shared_rows(archive_metadata)
    dataset = real_2018[False]
    assert {split: len(dataset[split]) for split in dataset} == {"train": 2, "valid": 8, "test": 9}
    licences: dict[str, set] = {}
    for split in dataset:
        for image_id, row in _columns(dataset[split]).items():
            assert {column: row[column] for column in ARCHIVE_COLUMNS} == expected.get(
                image_id, dict.fromkeys(ARCHIVE_COLUMNS)
            ), image_id
            licences.setdefault(split, set()).add(row["license"])
            holders = sorted(key for key, ids in leakage.id_lists().items() if image_id in ids)
            assert holders == ([*holders[:-1], "isic2018/train"] if split == "train" else [f"isic2018/{split}"])
            assert row["also_in"] == [key for key in holders if key != f"isic2018/{split}"], image_id
    assert licences["valid"] == {"cc0-1.0", "cc-by-nc-4.0"}
    assert licences["test"] == {"cc0-1.0", "cc-by-nc-4.0", None}  # ISIC_0021121 has no archive record
    nc = _columns(dataset["valid"])["ISIC_0016351"]
    assert nc["attribution"] == "Department of Dermatology, Medical University of Vienna"


def test_also_in_names_the_2018_validation_and_test_splits(real_2018):
    swapped = real_2018[True]
    for split, other in (("valid", "isic2018/test"), ("test", "isic2018/valid")):
        rows = _columns(swapped[split])
        assert rows and all(row["also_in"] == [other] for row in rows.values()), split


def test_leak_free_on_a_real_build_keeps_the_columns(real_2018):
    dataset = real_2018[True]
    kept = skin_cancer.leak_free(dataset, against="isic2018/valid", level="image")
    assert len(kept["test"]) == 0 and len(kept["valid"]) == len(dataset["valid"])
    assert kept["valid"].features == dataset["valid"].features


# --- licences on a staged ISIC 2018 repository -----------------------------------------------------


def _stage_2018(real_2018, out: Path, *extra: str) -> tuple[dict, str]:
    from huggingface_hub import DatasetCard

    source = ["--data-dir", str(real_2018["tree-False"]), "--release", "isic2018", "--size", "32"]
    command = ["publish", *source, "--cache-dir", str(real_2018["cache"]), "--repo-id", "lab/isic-2018"]
    assert main([*command, "--dry-run", str(out), "--allow-partial", "--quiet", *extra]) == 0
    card = DatasetCard.load(out / "README.md")
    return card.data.to_dict(), card.text


def _staged_ids(out: Path, config: str = "pad-32") -> dict[str, list[str]]:
    loaded = datasets.load_dataset(str(out), config, cache_dir=str(out.parent / f"{out.name}-cache"))
    return {split: loaded[split]["image_id"] for split in loaded}


def test_a_staged_2018_repository_lists_both_licences(real_2018, archive_metadata, tmp_path):
    expected = _shared_rows(archive_metadata)
    metadata, body = _stage_2018(real_2018, tmp_path / "all")
    assert metadata["license"] == ["cc0-1.0", "cc-by-nc-4.0"]
    staged = _staged_ids(tmp_path / "all")
    assert "ISIC_0021121" not in staged["test"]  # no archive record: left out without the flag
    assert all(image_id in expected for ids in staged.values() for image_id in ids)
    assert "| `valid` | 4 | 4 |" in body and "| `test` | 4 | 4 |" in body
    assert "Department of Dermatology, Medical University of Vienna (8 images)" in body
    assert "Follow the stricter licence per image" in body
    assert "- `test`: 1 images: no licence known" in body
    metadata, body = _stage_2018(real_2018, tmp_path / "unknown", "--include-unknown-license")
    assert "ISIC_0021121" in _staged_ids(tmp_path / "unknown")["test"]
    assert metadata["license"] == ["cc0-1.0", "cc-by-nc-4.0", "unknown"]  # 2018's notice is not confirmed here


def test_only_license_stages_only_cc0_images_and_counts_the_rest(real_2018, archive_metadata, tmp_path):
    expected = _shared_rows(archive_metadata)
    metadata, body = _stage_2018(real_2018, tmp_path / "cc0", "--only-license", "cc0-1.0")
    assert metadata["license"] == "cc0-1.0"
    staged = _staged_ids(tmp_path / "cc0")
    assert {split: len(ids) for split, ids in staged.items()} == {"train": 2, "valid": 4, "test": 4}
    assert all(expected[image_id]["license"] == "cc0-1.0" for ids in staged.values() for image_id in ids)
    assert "- `valid`: 4 images: cc-by-nc-4.0 is not among --only-license cc0-1.0" in body
    assert "- `test`: 4 images: cc-by-nc-4.0 is not among --only-license cc0-1.0" in body
    assert "- `test`: 1 images: no licence known" in body
    native = datasets.load_dataset(str(tmp_path / "cc0"), "native_masks", cache_dir=str(tmp_path / "n"))
    assert native["valid"]["image_id"] == staged["valid"]  # the left-out images' masks are left out too


def test_only_license_refuses_an_unknown_licence_and_an_emptied_split(real_2018, tmp_path, capsys):
    source = ["--data-dir", str(real_2018["tree-False"]), "--release", "isic2018", "--size", "32", "--quiet"]
    command = ["publish", *source, "--cache-dir", str(real_2018["cache"]), "--repo-id", "lab/x", "--allow-partial"]
    assert main([*command, "--dry-run", str(tmp_path / "a"), "--only-license", "CC-0"]) == 2
    assert "not a licence of any ISIC image" in capsys.readouterr().err
    assert main([*command, "--dry-run", str(tmp_path / "b"), "--only-license", "cc-by-4.0"]) == 2
    assert "no train image of this ISIC 2018 build is left to publish" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_releases_says_which_licences_each_split_holds(capsys):
    assert main(["releases"]) == 0
    out = capsys.readouterr().out
    table = out.split("Licences of each split's images")[1].splitlines()
    assert table[1].split() == ["split", "images", "cc0-1.0", "cc-by-4.0", "cc-by-nc-4.0", "no", "record"]
    rows = {line.split()[0]: line.split()[1:] for line in table[2:] if line.strip()}
    assert rows["isic2018/test"] == ["1000", "669", "0", "299", "32"]
    assert rows["isic2018/valid"] == ["100", "66", "0", "29", "5"]
    assert rows["isic2017/train"] == ["2000", "1910", "0", "0", "90"]


def test_the_readme_shows_the_leak_and_licence_tables_the_code_computes():
    from skin_cancer.tools.leaks import leak_markdown
    from skin_cancer.tools.licences import split_licences_markdown

    readme = (PROJECT_ROOT / "README.md").read_text()
    assert leak_markdown() in readme
    assert split_licences_markdown() in readme
    assert 'skin_cancer.leak_free(ds["train"], against="isic2017/test", level="patient")' in readme
