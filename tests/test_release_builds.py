"""Every release through the builder, from one declarative table: splits, counts, features, labels,
pairing, bad input, zips, streaming and num_proc on each release's synthetic sample; the real ISIC
pairs of ../shared arranged in each layout; the `also_in` column against the shipped id lists."""

from __future__ import annotations

import shutil
import warnings
import zipfile
from pathlib import Path

import datasets
import pytest
from datasets import load_dataset

import skin_cancer
from skin_cancer.cli import main
from skin_cancer.dataset.builder import features
from skin_cancer.dataset.overlap import IDS_FOLDER, split_key
from skin_cancer.dataset.transforms import prepare_pair
from skin_cancer.errors import DataError, PartialSplitWarning, find_skin_cancer_error
from skin_cancer.releases import RELEASES, Release
from skin_cancer.tools.sample import SAMPLE_PAIRS, write_sample_tree

from .helpers import copy_tree_as, prepared_files

# What each release's synthetic sample must build into.
TABLE = {
    "isic2016": {
        "counts": {"train": 4, "test": 2},
        "diagnoses": ["benign", "malignant"],
        "metadata": False,
        "real_counts": {"train": 11, "test": 3},
    },
    "isic2017": {
        "counts": {"train": 6, "valid": 2, "test": 2},
        "diagnoses": ["nevus", "melanoma", "seborrheic_keratosis"],
        "metadata": True,
        "real_counts": {"train": 8, "valid": 3, "test": 3},
    },
    "isic2018": {
        "counts": {"train": 4, "valid": 2, "test": 2},
        "diagnoses": [],
        "metadata": False,
        "real_counts": {"train": 8, "valid": 3, "test": 3},
    },
}
NAMES = list(TABLE)
SIZE = 64  # small output: these tests are about files and columns, not pixels
BAD_INPUTS = ["missing folder", "image without mask", "mask without image", "corrupt jpeg"]


def test_the_table_covers_every_release():
    # The ISIC releases here, on synthetic trees; HAM10000, PH2 and IMA++ on their real samples (test_ham10000.py,
    # test_ph2.py, test_imaplusplus.py).
    assert [name for name in RELEASES if name.startswith("isic")] == NAMES
    assert [name for name in RELEASES if not name.startswith("isic")] == ["ham10000", "ph2", "imaplusplus"]


def load(name: str, data_dir: Path, cache: Path, **options) -> datasets.DatasetDict:
    return load_dataset("skin_cancer", name, data_dir=str(data_dir), cache_dir=str(cache), size=SIZE, **options)


def raw_rows(dataset) -> dict[str, dict]:
    """{image_id: row with the image and mask as their stored bytes}, for a Dataset or an IterableDataset."""
    undecoded = dataset.cast_column("image", datasets.Image(decode=False)).cast_column(
        "mask", datasets.Image(decode=False)
    )
    return {row["image_id"]: {**row, "image": row["image"]["bytes"], "mask": row["mask"]["bytes"]} for row in undecoded}


def zip_release(tree: Path, release: Release, destination: Path) -> Path:
    """The release's folders as official-style zips (folder/ inside), its CSVs beside them."""
    destination.mkdir(parents=True)
    for folder in release.folders:
        with zipfile.ZipFile(destination / f"{folder}.zip", "w") as bundle:
            for file in sorted((tree / folder).iterdir()):
                bundle.write(file, f"{folder}/{file.name}")
    for split in release.splits:
        if split.labels_csv:
            shutil.copy(tree / split.labels_csv, destination / split.labels_csv)
    return destination


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("release-samples")
    return {name: write_sample_tree(root / name, release=name) for name in NAMES}


@pytest.fixture(scope="module")
def builds(samples, tmp_path_factory) -> dict[str, datasets.DatasetDict]:
    cache = tmp_path_factory.mktemp("release-cache")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        built = {name: load(name, samples[name], cache) for name in NAMES}
    other = [str(w.message) for w in caught if not issubclass(w.category, PartialSplitWarning)]
    assert not [text for text in other if "diagnosis will be null" in text], other
    return built


@pytest.mark.parametrize("name", NAMES)
def test_splits_counts_and_features(builds, name):
    release, expected = RELEASES[name], TABLE[name]
    dataset = builds[name]
    assert list(dataset) == list(release.split_names)
    assert {split: len(dataset[split]) for split in dataset} == expected["counts"]
    assert dataset["train"].features == features(release)
    assert dataset["train"].features["diagnosis"].names == expected["diagnoses"]
    assert dataset["train"].info.config_name == name


def test_every_release_has_the_same_columns_and_2017_gains_also_in_and_the_archive_facts(builds):
    columns = {name: list(builds[name]["train"].features) for name in NAMES}
    assert columns["isic2016"] == columns["isic2017"] == columns["isic2018"]
    before = ["image_id", "image", "mask", "diagnosis", "age_approximate", "sex", "original_width", "original_height"]
    archive = ["lesion_id", "patient_id", "license", "attribution"]
    multi = ["masks", "annotators", "tools", "skill_levels", "consensus_staple", "consensus_majority"]
    assert columns["isic2017"] == [*before, "phash", "also_in", *archive, "fold", "dx_type", "localization", *multi]
    for name in NAMES:
        kinds = {column: type(feature) for column, feature in builds[name]["train"].features.items()}
        assert kinds == {column: type(feature) for column, feature in features("isic2017").items()}


@pytest.mark.parametrize("name", NAMES)
def test_labels_and_metadata_follow_the_release(builds, name):
    release, expected = RELEASES[name], TABLE[name]
    for split, pairs in SAMPLE_PAIRS[name].items():
        rows = builds[name][split]
        names = rows.features["diagnosis"].names
        got = {row["image_id"]: row for row in rows.remove_columns(["image", "mask"])}
        for pair in pairs:
            row = got[pair.image_id]
            diagnosis = None if row["diagnosis"] is None else names[row["diagnosis"]]
            assert diagnosis == (pair.diagnosis if release.diagnosis_names else None)
            if expected["metadata"]:
                assert (row["age_approximate"], row["sex"]) == (pair.age, pair.sex)
            else:
                assert row["age_approximate"] is None and row["sex"] is None
            assert row["also_in"] == []  # sample ids (ISIC_9...) are in no release


@pytest.mark.parametrize("name", NAMES)
def test_each_mask_is_its_images_mask(builds, samples, name):
    """Pairing by image id: each example holds exactly what its own two source files give."""
    release = RELEASES[name]
    for split in release.splits:
        rows = raw_rows(builds[name][split.name])
        for image_id, row in rows.items():
            image = (samples[name] / split.data_folder / f"{image_id}.jpg").read_bytes()
            mask = (samples[name] / split.mask_folder / release.mask_name(image_id)).read_bytes()
            pair = prepare_pair(image, mask, SIZE, "pad", "jpeg")
            assert (row["image"], row["mask"]) == (pair.image, pair.mask), image_id


def break_input(tree: Path, release: Release, kind: str) -> str:
    """Damage a copy of a sample tree; return the file or folder name the error must mention."""
    split = release.splits[-1]
    image_id = SAMPLE_PAIRS[release.name][split.name][0].image_id
    image = tree / split.data_folder / f"{image_id}.jpg"
    mask = tree / split.mask_folder / release.mask_name(image_id)
    if kind == "missing folder":
        shutil.rmtree(tree / split.mask_folder)
        return split.mask_folder
    if kind == "image without mask":
        mask.unlink()
        return image.name
    if kind == "mask without image":
        image.unlink()
        return mask.name
    image.write_bytes(image.read_bytes()[:2000])
    return image.name


@pytest.mark.parametrize("kind", BAD_INPUTS)
@pytest.mark.parametrize("name", NAMES)
def test_bad_input_is_one_error_naming_the_file(samples, tmp_path, name, kind):
    tree = tmp_path / "data"
    shutil.copytree(samples[name], tree)
    named = break_input(tree, RELEASES[name], kind)
    cache = tmp_path / "cache"
    with pytest.raises(Exception) as caught:
        load(name, tree, cache)
    found = find_skin_cancer_error(caught.value)
    assert isinstance(found, DataError), repr(caught.value)
    assert named in str(found) and "\n" not in str(found)
    assert not prepared_files(cache)


@pytest.mark.parametrize("name", ["isic2016", "isic2017"])
def test_mask_names_match_in_either_case(samples, builds, tmp_path, name):
    """2016 files say _Segmentation.png, 2017 and 2018 _segmentation.png: either spelling pairs."""
    release = RELEASES[name]
    tree = tmp_path / "data"
    shutil.copytree(samples[name], tree)
    other_spelling = "_segmentation.png" if release.mask_suffix == "_Segmentation.png" else "_Segmentation.png"
    for mask in (tree / release.splits[0].mask_folder).glob("*.png"):
        mask.rename(mask.with_name(release.mask_image_id(mask.name) + other_spelling))
    dataset = load(name, tree, tmp_path / "cache")
    train = release.splits[0].name
    assert raw_rows(dataset[train]).keys() == raw_rows(builds[name][train]).keys()


@pytest.mark.parametrize("name", NAMES)
def test_zips_streaming_and_two_processes_give_the_same_examples(samples, builds, tmp_path, name):
    release = RELEASES[name]
    zips = zip_release(samples[name], release, tmp_path / "zips")
    expected = {split: raw_rows(builds[name][split]) for split in builds[name]}
    from_zips = load(name, zips, tmp_path / "cache-zips", num_proc=2)
    streamed = load(name, samples[name], tmp_path / "cache-stream", streaming=True)
    streamed_zips = load(name, zips, tmp_path / "cache-stream-zips", streaming=True)
    for split in expected:
        assert raw_rows(from_zips[split]) == expected[split]
        for rows in (streamed[split], streamed_zips[split]):
            assert raw_rows(rows) == expected[split]
    assert not list((tmp_path / "cache-zips").rglob("*.jpg")), "zips are read in place"


# --- the real ISIC pairs of ../shared in every layout ------------------------------------------------


@pytest.fixture(scope="module")
def real_layouts(real_sample, tmp_path_factory) -> dict[str, datasets.DatasetDict]:
    root = tmp_path_factory.mktemp("real-layouts")
    built = {}
    for name in NAMES:
        tree = real_sample if name == "isic2017" else copy_tree_as(real_sample, root / name, name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # partial splits; the 2016 layout of real pairs has no label CSVs
            built[name] = load(name, tree, root / "cache", num_proc=None)
    return built


def test_real_pairs_line_up_in_every_layout_as_in_2017(real_layouts):
    """The same image id gives the same image and mask bytes whichever release layout it is read from."""
    reference = {}
    for split in real_layouts["isic2017"]:
        reference.update(raw_rows(real_layouts["isic2017"][split]))
    for name in NAMES:
        dataset = real_layouts[name]
        assert {split: len(dataset[split]) for split in dataset} == TABLE[name]["real_counts"]
        for split in dataset:
            for image_id, row in raw_rows(dataset[split]).items():
                assert row["image"] == reference[image_id]["image"], (name, image_id)
                assert row["mask"] == reference[image_id]["mask"], (name, image_id)
                assert (row["original_width"], row["original_height"]) == (
                    reference[image_id]["original_width"],
                    reference[image_id]["original_height"],
                )


@pytest.mark.parametrize("name", ["isic2016", "isic2018"])
def test_real_pairs_in_a_layout_stream_and_build_in_two_processes_alike(real_layouts, real_sample, tmp_path, name):
    tree = copy_tree_as(real_sample, tmp_path / "data", name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        two = load(name, tree, tmp_path / "cache", num_proc=2)
        streamed = load(name, tree, tmp_path / "cache-stream", streaming=True)
    for split in real_layouts[name]:
        expected = raw_rows(real_layouts[name][split])
        assert raw_rows(two[split]) == expected
        assert raw_rows(streamed[split]) == expected


# sha256 (first 16 hex digits) of the image and mask bytes of the 14 real pairs built at the defaults
# (pad-512, JPEG) by main (cc2e91a) before releases were wired in, with Pillow 13.0.0 and numpy 2.4.6.
BEFORE_RELEASES_TOOLS = ("13.0.0", "2.4.6")
BEFORE_RELEASES_SHA256 = {
    "ISIC_0001871": ("19eb643b20798fcc", "dcf1d935b90d1553"),
    "ISIC_0007332": ("69aee0b462e45501", "fca9ffd65e68cf04"),
    "ISIC_0009995": ("00257f62d80b7e26", "03bc82af42848df3"),
    "ISIC_0012099": ("f2abe69c446f5276", "25451a90d50d2e87"),
    "ISIC_0012210": ("14eb4d923bd916cb", "502ab3640535aebe"),
    "ISIC_0012254": ("e3beec1187e0fe77", "0e3e5748739804d7"),
    "ISIC_0012316": ("d29fe5aaed38a8c9", "a382f6b8fc76a98c"),
    "ISIC_0012660": ("fa468240f8c3aa61", "0539cb8660bda370"),
    "ISIC_0012927": ("a8ed367c0831443e", "8483c08e8afe2f12"),
    "ISIC_0014162": ("7d29b1720ae2568d", "0406639fea2026ed"),
    "ISIC_0014310": ("f1d14197e02d8575", "6b2c875fac81f99c"),
    "ISIC_0014572": ("3b2bded9287ac614", "8b99a9b2372a701f"),
    "ISIC_0014597": ("ec06a09d3aeda515", "b18f47f47c30a0aa"),
    "ISIC_0014608": ("4b385f38d7d76bcb", "a94fa2e33fe6139a"),
}


def test_isic2017_output_is_byte_identical_to_before_releases(real_dataset):
    import hashlib

    import numpy
    import PIL

    if (PIL.__version__, numpy.__version__) != BEFORE_RELEASES_TOOLS:
        pytest.skip(
            f"the recorded bytes come from Pillow/numpy {BEFORE_RELEASES_TOOLS}; other versions may encode others"
        )
    got = {}
    for split in real_dataset:
        for image_id, row in raw_rows(real_dataset[split]).items():
            got[image_id] = tuple(hashlib.sha256(row[column]).hexdigest()[:16] for column in ("image", "mask"))
    assert got == BEFORE_RELEASES_SHA256


def shipped_lists() -> dict[str, set[str]]:
    """The id lists read straight from the package folder, not through overlap.py."""
    folder = Path(skin_cancer.__file__).parent.joinpath(*IDS_FOLDER)
    lists = {}
    for release in RELEASES.values():
        for split in release.splits:
            if split.ids_file:
                lines = (folder / split.ids_file).read_text().split()
                lists[split_key(release, split.name)] = set(lines)
    return lists


def test_also_in_of_every_real_example_matches_the_shipped_lists(real_layouts):
    lists = shipped_lists()
    seen_overlap = False
    for name in NAMES:
        for split in real_layouts[name]:
            own = f"{name}/{split}"
            for row in real_layouts[name][split].select_columns(["image_id", "also_in"]):
                expected = sorted(key for key, ids in lists.items() if row["image_id"] in ids and key != own)
                assert row["also_in"] == expected, (own, row["image_id"])
                seen_overlap |= bool(expected)
    assert seen_overlap, "the real sample holds ids that other releases share: some also_in must be non-empty"


def test_the_leak_free_filter_recipe(real_layouts):
    train = real_layouts["isic2018"]["train"]
    leak_free = train.filter(lambda ex: "isic2017/test" not in ex["also_in"])
    dropped = set(train["image_id"]) - set(leak_free["image_id"])
    assert dropped == {row["image_id"] for row in train if "isic2017/test" in row["also_in"]}


# --- the command line ------------------------------------------------------------------------------


def test_build_sample_release_2018_from_the_command_line(tmp_path, capsys, monkeypatch):
    from skin_cancer.tools import sample

    monkeypatch.setattr(sample, "default_sample_dir", lambda: tmp_path / "sample")
    command = ["build", "--sample", "--release", "isic2018", "--cache-dir", str(tmp_path / "cache"), "--quiet"]
    assert main([*command, "--size", str(SIZE)]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert rows["train"][1] == "4" and rows["valid"][1] == "2" and rows["test"][1] == "2"
    assert 'load_dataset("skin_cancer", "isic2018"' in out


def test_releases_command_prints_counts_and_overlaps_without_data(capsys):
    assert main(["releases"]) == 0
    out = capsys.readouterr().out
    for release in RELEASES.values():
        for split in release.splits:
            assert split.data_folder in out and str(split.official_count) in out
    assert "isic2017/test (600): 529 in isic2018/train (88%)" in out
    assert "isic2016/test (379): 305 in isic2017/train" in out
    assert "121 in isic2018/train" in out and "1800 in isic2018/train" in out
    assert "Not checked" not in out  # the ISIC 2018 validation and test lists are known
    assert "isic2018/test (1000): 0 in any other release (0%)" in out


# --- every command on every release ------------------------------------------------------------------


@pytest.fixture
def sample_dir(tmp_path, monkeypatch) -> Path:
    from skin_cancer.tools import sample

    monkeypatch.setattr(sample, "default_sample_dir", lambda: tmp_path / "sample")
    return tmp_path / "sample"


@pytest.mark.parametrize("name", ["isic2016", "isic2018"])
def test_stats_of_a_release_record_it_and_draw_every_chart(sample_dir, tmp_path, capsys, name):
    import json

    pytest.importorskip("matplotlib")
    out = tmp_path / "stats"
    command = ["stats", "--sample", "--release", name, "--size", str(SIZE), "--cache-dir", str(tmp_path / "c")]
    assert main([*command, "--output", str(out), "--quiet"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["release"] == name and list(stats["splits"]) == list(RELEASES[name].split_names)
    assert sorted(path.name for path in out.glob("*.png")) == sorted(
        ["pairs_per_split.png", "diagnoses_per_split.png", "lesion_area.png", "original_sizes.png"]
    )


@pytest.mark.parametrize("name", ["isic2016", "isic2018"])
def test_evaluate_ceiling_on_a_release(sample_dir, tmp_path, capsys, name):
    split = RELEASES[name].splits[-1].name
    command = ["evaluate", "--sample", "--release", name, "--ceiling", "--split", split, "--quiet"]
    assert main([*command, "--cache-dir", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "dice" in out.lower() or "jaccard" in out.lower()


@pytest.mark.parametrize("name", ["isic2016", "isic2018"])
def test_a_staged_release_loads_like_the_builder_and_its_card_names_the_release(builds, samples, tmp_path, name):
    from skin_cancer.dataset.overlap import split_overlaps
    from skin_cancer.hub import publish
    from skin_cancer.tools.pipeline import prepare_dataset

    release = RELEASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialSplitWarning)
        build = prepare_dataset(str(samples[name]), cache_dir=str(tmp_path / "cache"), release=name)
    staged = publish.stage(build, f"my-lab/{name}-512", tmp_path / "staged", "500MB", allow_partial=True)
    loaded = load_dataset(str(staged.folder), "pad-512", cache_dir=str(tmp_path / "hub-cache"))
    assert list(loaded) == list(release.split_names)
    for split in loaded:
        assert raw_rows(loaded[split]) == raw_rows(build.dataset[split])
    card = (staged.folder / "README.md").read_text()
    assert f"# {release.pretty_name} (partial)" in card and f"extended|{name[:4]}-{name[4:]}" in card
    assert release.citation in card and "isic2017" not in card.split("## Overlap")[0].lower().replace("isic2017/", "")
    for split_name, counts in split_overlaps(release).items():
        row = next(line for line in card.splitlines() if line.startswith(f"| `{name}/{split_name}` |"))
        if counts is None:
            assert "not checked" in row
        else:
            assert all(f" {count} " in row for key, count in counts.items() if not key.startswith(name))
    assert "is not checked" not in card  # every split's id list is known
    assert "| split | against | image | lesion | patient |" in card  # the leak table of the release
    assert "not confirmed" in card and "LICENSE.txt" in card  # neither licence is confirmed by ../shared


def test_publishing_two_releases_into_one_repository_is_refused(builds, samples, tmp_path):
    from skin_cancer.errors import UsageError
    from skin_cancer.hub import publish
    from skin_cancer.options import BuildOptions
    from skin_cancer.tools.pipeline import prepare_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PartialSplitWarning)
        first = prepare_dataset(str(samples["isic2017"]), cache_dir=str(tmp_path / "c"))
        second = prepare_dataset(
            str(samples["isic2018"]), BuildOptions(256), cache_dir=str(tmp_path / "c"), release="isic2018"
        )
    with pytest.raises(UsageError, match="one repository holds one release"):
        publish.stage([first, second], "my-lab/mixed", tmp_path / "staged", "500MB", allow_partial=True)


def test_the_readme_shows_the_overlap_table_the_code_computes():
    from skin_cancer.tools.summary import render_overlap_table

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert render_overlap_table() in readme


@pytest.mark.parametrize("name", ["isic2016", "isic2018"])
def test_a_release_downloads_from_a_mirror_checked_where_a_checksum_is_known(
    samples, builds, tmp_path, monkeypatch, name
):
    """The official files served by a local HTTP server (the ISIC bucket is unreachable here); ISIC 2018's
    recorded checksums are replaced by those of the synthetic zips, ISIC 2016 has none to check."""
    import functools
    import http.server
    import threading

    from .helpers import RangeRequestHandler, record_checksums

    release = RELEASES[name]
    www = zip_release(samples[name], release, tmp_path / "www")
    if any(download.checksum is not None for download in release.downloads):
        release = record_checksums(monkeypatch, release, www)
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(RangeRequestHandler, directory=str(www))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}/"
        downloaded = load_dataset("skin_cancer", name, cache_dir=str(tmp_path / "cache"), size=SIZE, base_url=base_url)
        for split in builds[name]:
            assert raw_rows(downloaded[split]) == raw_rows(builds[name][split])
        if name == "isic2018":
            record_checksums(monkeypatch, release, www, wrong=release.downloads[0].file_name)
            with pytest.raises(DataError, match=f"{release.downloads[0].file_name}: the downloaded file"):
                load_dataset("skin_cancer", name, cache_dir=str(tmp_path / "c2"), size=SIZE, base_url=base_url)
    finally:
        server.shutdown()
