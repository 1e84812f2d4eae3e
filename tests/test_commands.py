"""export, stats and preview on the real sample: what each command wrote, checked file by file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from datasets import load_dataset
from PIL import Image

from skin_cancer.cli import main
from skin_cancer.tools import export as export_module
from skin_cancer.tools.pipeline import prepare_dataset

from .helpers import REAL_COUNTS


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("commands-cache")


@pytest.fixture(scope="module")
def build(real_sample, cache):
    return prepare_dataset(str(real_sample), cache_dir=str(cache))


def run(real_sample, cache, *arguments: str) -> int:
    return main([arguments[0], "--data-dir", str(real_sample), "--cache-dir", str(cache), "--quiet", *arguments[1:]])


@pytest.fixture(scope="module")
def folders(real_sample, cache, build, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "folders"
    assert run(real_sample, cache, "export", "--output", str(out)) == 0
    return out


def test_export_folders_has_the_seed_layout(folders, build):
    for split, count in REAL_COUNTS.items():
        images = sorted((folders / split / "images").iterdir())
        masks = sorted((folders / split / "masks").iterdir())
        assert len(images) == len(masks) == count
        assert (
            [path.stem for path in images] == [path.stem for path in masks] == sorted(build.dataset[split]["image_id"])
        )
        for image_path, mask_path in zip(images, masks, strict=True):
            image, mask = Image.open(image_path), Image.open(mask_path)
            assert (image_path.suffix, image.format, image.mode, image.size) == (".jpg", "JPEG", "RGB", (512, 512))
            assert (mask_path.suffix, mask.format, mask.mode, mask.size) == (".png", "PNG", "P", (512, 512))
            assert set(np.unique(np.asarray(mask))) <= {0, 1}
            assert set(np.unique(np.asarray(mask.convert("L")))) <= {0, 255}


def test_export_metadata_matches_the_dataset(folders, build):
    for split, dataset in build.dataset.items():
        names = dataset.features["diagnosis"].names
        rows = [json.loads(line) for line in (folders / split / "metadata.jsonl").read_text().splitlines()]
        expected = dataset.remove_columns(["image", "mask"])
        assert len(rows) == len(expected)
        for row, truth in zip(rows, expected, strict=True):
            assert row["image_file_name"] == f"images/{truth['image_id']}.jpg"
            assert row["mask_file_name"] == f"masks/{truth['image_id']}.png"
            assert row["diagnosis"] == names[truth["diagnosis"]]
            for column in ("image_id", "age_approximate", "sex", "original_width", "original_height"):
                assert row[column] == truth[column]


def test_the_folder_export_leaves_out_also_in_and_the_readme_says_so(folders):
    rows = [json.loads(line) for line in (folders / "test" / "metadata.jsonl").read_text().splitlines()]
    assert rows and all("also_in" not in row for row in rows)
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    bullet = readme[readme.index("- `export --format folders`") : readme.index("- `export --format parquet`")]
    assert "`also_in` column is left out" in bullet and "--format parquet" in bullet


def test_imagefolder_loads_the_export_as_pairs(folders, build, tmp_path):
    loaded = load_dataset("imagefolder", data_dir=str(folders), cache_dir=str(tmp_path))
    # datasets names a folder called "valid" as the "validation" split.
    assert {name: len(part) for name, part in loaded.items()} == {"train": 8, "validation": 3, "test": 3}
    first, truth = loaded["train"][0], build.dataset["train"][0]
    assert first["image_id"] == truth["image_id"]
    assert np.array_equal(np.asarray(first["image"]), np.asarray(truth["image"]))
    assert np.array_equal(np.asarray(first["mask"]), np.asarray(truth["mask"]))


def test_export_parquet_reads_back_with_image_features(real_sample, cache, build, tmp_path):
    out = tmp_path / "parquet"
    assert run(real_sample, cache, "export", "--output", str(out), "--format", "parquet") == 0
    loaded = load_dataset("parquet", data_dir=str(out), cache_dir=str(tmp_path / "c"))
    for split, dataset in build.dataset.items():
        assert loaded[split].features == dataset.features
        assert loaded[split]["image_id"] == dataset["image_id"]
        assert np.array_equal(np.asarray(loaded[split][0]["mask"]), np.asarray(dataset[0]["mask"]))


def test_export_refuses_a_folder_it_did_not_write(real_sample, cache, build, tmp_path, capsys):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    for flags in ([], ["--overwrite"]):
        assert run(real_sample, cache, "export", "--output", str(out), *flags) == 2
        assert "not written by skin-cancer" in capsys.readouterr().err
        assert (out / "mine.txt").read_text() == "keep me"


def test_export_replaces_its_own_earlier_export_only_with_overwrite(real_sample, cache, build, tmp_path, capsys):
    out = tmp_path / "again"
    assert run(real_sample, cache, "export", "--output", str(out)) == 0
    assert run(real_sample, cache, "export", "--output", str(out), "--format", "parquet") == 2
    assert "pass --overwrite" in capsys.readouterr().err
    assert (out / "train" / "metadata.jsonl").is_file()
    assert run(real_sample, cache, "export", "--output", str(out), "--format", "parquet", "--overwrite") == 0
    assert not (out / "train").exists() and (out / "data").is_dir()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["again"]


def test_interrupted_export_leaves_no_output(build, tmp_path, monkeypatch):
    written = []
    original = Path.write_bytes

    def interrupt_after_five(self, data):
        written.append(self)
        if len(written) > 5:
            raise KeyboardInterrupt  # what Ctrl-C does halfway through
        return original(self, data)

    monkeypatch.setattr(Path, "write_bytes", interrupt_after_five)
    with pytest.raises(KeyboardInterrupt):
        export_module.export(build, tmp_path / "out", "folders")
    assert len(written) == 6
    assert list(tmp_path.iterdir()) == [], "neither the output nor the scratch folder may remain"


def test_stats_json_and_charts(real_sample, cache, build, tmp_path, capsys):
    out = tmp_path / "stats"
    assert run(real_sample, cache, "stats", "--output", str(out)) == 0
    printed = capsys.readouterr().out
    stats = json.loads((out / "stats.json").read_text())
    for split, dataset in build.dataset.items():
        facts = stats["splits"][split]
        assert facts["pairs"] == len(dataset)
        names = dataset.features["diagnosis"].names
        assert facts["diagnoses"] == {
            **{name: dataset["diagnosis"].count(number) for number, name in enumerate(names)},
            "no label": 0,
        }
        areas, border = [], 0
        for row in dataset:
            width, height = row["original_width"], row["original_height"]
            side = max(width, height)
            top = round((side - height) // 2 * 512 / side)
            bottom = round(((side - height) // 2 + height) * 512 / side)
            lesion = np.asarray(row["mask"])[top:bottom] > 0
            areas.append(lesion.mean())
            border += bool(lesion[0].any() or lesion[-1].any() or lesion[:, 0].any() or lesion[:, -1].any())
        assert facts["lesion_area_fraction"]["mean"] == pytest.approx(np.mean(areas))
        assert facts["empty_masks"] == sum(area == 0 for area in areas)
        assert facts["masks_touching_border"] == border
        sizes = {f"{w}x{h}" for w, h in zip(dataset["original_width"], dataset["original_height"], strict=True)}
        assert set(facts["original_sizes"]) == sizes
        assert f"{split}" in printed
    for chart in ("pairs_per_split.png", "diagnoses_per_split.png", "lesion_area.png", "original_sizes.png"):
        with Image.open(out / chart) as image:
            assert image.format == "PNG" and image.width > 300


def test_stats_without_matplotlib_writes_the_json_and_says_the_charts_were_skipped(
    real_sample, cache, build, tmp_path, monkeypatch, capsys
):
    import sys

    for name in [name for name in sys.modules if name == "matplotlib" or name.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    out = tmp_path / "stats"
    assert run(real_sample, cache, "stats", "--output", str(out)) == 0
    printed = capsys.readouterr().out
    assert json.loads((out / "stats.json").read_text())["splits"]["train"]["pairs"] == len(build.dataset["train"])
    assert sorted(path.name for path in out.iterdir() if not path.name.startswith(".")) == ["stats.json"]
    assert "train" in printed and "the charts were skipped" in printed and 'pip install "skin-cancer[plots]"' in printed


def test_no_verify_without_download_is_a_usage_error(tmp_path, capsys):
    assert main(["build", "--sample", "--no-verify", "--cache-dir", str(tmp_path)]) == 2
    assert "--no-verify only applies to --download" in capsys.readouterr().err


def test_an_isic_2018_tree_without_release_hints_at_it(tmp_path, capsys):
    from skin_cancer.tools.sample import write_sample_tree

    tree = write_sample_tree(tmp_path / "sample", release="isic2018")
    assert main(["build", "--data-dir", str(tree), "--cache-dir", str(tmp_path / "cache"), "--quiet"]) == 1
    error = capsys.readouterr().err.strip()
    assert "pass --release isic2018" in error and len(error.splitlines()) == 1


def test_preview_grid(real_sample, cache, build, tmp_path):
    out = tmp_path / "preview"
    assert run(real_sample, cache, "preview", "--output", str(out), "--n", "3", "--seed", "1") == 0
    first = (out / "preview-train.png").read_bytes()
    with Image.open(out / "preview-train.png") as grid:
        assert grid.format == "PNG" and grid.width > grid.height
    assert run(real_sample, cache, "preview", "--output", str(out), "--n", "3", "--seed", "1") == 0
    assert (out / "preview-train.png").read_bytes() == first, "the same seed gives the same grid"
    assert run(real_sample, cache, "preview", "--output", str(out), "--split", "valid", "--n", "2") == 0
    assert (out / "preview-valid.png").is_file()


def test_preview_bad_usage(real_sample, cache, build, tmp_path, capsys):
    assert run(real_sample, cache, "preview", "--output", str(tmp_path), "--split", "nope") == 2
    assert "--split must be one of train, valid, test" in capsys.readouterr().err


def test_preview_of_a_test_only_release_shows_its_first_split(ph2_sample, tmp_path, capsys):
    """PH2 has no train split: preview once failed on its default --split train, and only after building."""
    cache, out = tmp_path / "cache", tmp_path / "pv"
    arguments = ["preview", "--data-dir", str(ph2_sample), "--release", "ph2", "--cache-dir", str(cache), "--quiet"]
    assert main([*arguments, "--split", "train", "--size", "64", "--output", str(out)]) == 2
    assert "--split must be one of test (ph2), not 'train'" in capsys.readouterr().err
    assert not out.exists() and not any(cache.rglob("*.arrow")), "refused before the build"
    assert main([*arguments, "--size", "64", "--output", str(out)]) == 0
    assert (out / "preview-test.png").is_file()


def test_a_split_the_release_has_but_the_build_lacks_is_said_so(real_dataset):
    from types import SimpleNamespace

    from skin_cancer.errors import UsageError
    from skin_cancer.evaluate import truth_from_build
    from skin_cancer.releases import ISIC2017
    from skin_cancer.tools.preview import sample_preview

    partial = SimpleNamespace(
        dataset={name: real_dataset[name] for name in ("train", "test")}, release=ISIC2017, data_dir=None
    )
    for call in (lambda split: sample_preview(partial, split, 2, None), lambda split: truth_from_build(partial, split)):
        with pytest.raises(UsageError, match="this build holds no valid images"):
            call("valid")
        with pytest.raises(UsageError, match="must be one of train, valid, test, not 'nope'"):
            call("nope")


@pytest.mark.parametrize("command", ["build", "export", "stats", "preview", "publish"])
def test_help_shows_options_with_defaults(command, capsys):
    with pytest.raises(SystemExit) as caught:
        main([command, "--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    assert "--data-dir" in text and "(default: 512)" in text and "--quiet" in text and "--debug" in text


def test_a_split_has_one_size_in_bytes_whatever_num_proc(build, real_sample, tmp_path):
    """stats.json and the build summary used `datasets`' count, which grows by a few bytes with num_proc=2;
    the export and the card used their own: now all read pipeline.split_num_bytes."""
    from skin_cancer.tools.pipeline import split_num_bytes
    from skin_cancer.tools.stats import compute_stats
    from skin_cancer.tools.summary import build_summary

    parallel = prepare_dataset(str(real_sample), cache_dir=str(tmp_path / "cache"), num_proc=2)
    assert parallel.builder.info.splits["train"].num_bytes != build.builder.info.splits["train"].num_bytes
    one, two = compute_stats(build), compute_stats(parallel)
    for split in REAL_COUNTS:
        expected = split_num_bytes(build.dataset[split])
        assert one["splits"][split]["bytes"] == two["splits"][split]["bytes"] == expected
        assert split_num_bytes(parallel.dataset[split]) == expected
    megabytes = [line.split()[-2] for line in build_summary(build).splitlines()[1:]]
    assert megabytes == [line.split()[-2] for line in build_summary(parallel).splitlines()[1:]]
