"""The transformers route of the card (skin_cancer/hub/recipes.py), run as the card writes it on a repository
staged by `skin-cancer publish --sample --dry-run` (a local folder stands in for the Hub), with a tiny SegFormer
made here (no weights are downloaded)."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from skin_cancer import cli
from skin_cancer.errors import UsageError
from skin_cancer.hub import recipes

REPO_ID = "my-lab/isic-2017-512"


@pytest.fixture(scope="module")
def staged(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("recipes") / "staged"
    cache = tmp_path_factory.mktemp("recipes-cache")
    argv = ["publish", "--sample", "--allow-partial", "--repo-id", REPO_ID, "--dry-run", str(out)]
    assert cli.main([*argv, "--cache-dir", str(cache), "--quiet"]) == 0
    return out


def test_the_splits_are_train_validation_test_with_image_and_label(staged):
    from datasets import load_dataset

    splits = recipes.segmentation_splits(load_dataset(str(staged), "pad-512"))
    assert list(splits) == ["train", "validation", "test"]
    assert [len(splits[name]) for name in splits] == [6, 2, 2]  # validation is the official valid split
    assert all(split.column_names == ["image", "label"] for split in splits.values())
    assert set(np.unique(np.array(splits["validation"][0]["label"]))) <= {0, 1}


def test_a_missing_validation_split_is_one_usage_error(staged):
    from datasets import load_dataset

    ds = load_dataset(str(staged), "pad-512")
    ds.pop("valid")
    with pytest.raises(UsageError, match=r"no split 'valid'.*train, test"):
        recipes.segmentation_splits(ds)


def test_scores_count_both_classes_and_average_per_image():
    labels = np.zeros((2, 4, 4), dtype=np.int64)
    labels[0, :2] = 1  # 8 lesion pixels
    predictions = labels.copy()
    predictions[0, 2] = 1  # 4 false positives: Jaccard 8/12
    scores = recipes.segmentation_scores(predictions, labels)  # image 1: both empty, scores 1
    assert scores["jaccard"] == pytest.approx((8 / 12 + 1) / 2)
    assert scores["dice"] == pytest.approx((16 / 20 + 1) / 2)
    assert scores["pooled_miou"] == pytest.approx((20 / 24 + 8 / 12) / 2)  # background counts too


def card_command(staged: Path) -> list[str]:
    """The card's training command, word for word (continuation lines joined)."""
    card = (staged / "README.md").read_text().replace("\\\n", " ")
    (line,) = [line for line in card.splitlines() if line.startswith("python -m skin_cancer.hub.recipes")]
    return shlex.split(line)


def test_the_card_command_trains_on_valid_with_the_chosen_configuration(staged, tmp_path, monkeypatch):
    pytest.importorskip("torch", reason="the transformers route needs torch (pip install '.[train]')")
    pytest.importorskip("transformers", reason="the transformers route needs transformers (pip install '.[train]')")
    pytest.importorskip("accelerate", reason="transformers' Trainer needs accelerate (pip install '.[train]')")
    from transformers import SegformerConfig, SegformerForSemanticSegmentation, SegformerImageProcessor

    model_dir = tmp_path / "tiny-segformer"
    config = SegformerConfig(
        depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 24, 32], num_attention_heads=[1, 1, 1, 1], decoder_hidden_size=16
    )
    SegformerForSemanticSegmentation(config).save_pretrained(model_dir)
    SegformerImageProcessor().save_pretrained(model_dir)

    command = card_command(staged)
    assert command[:3] == ["python", "-m", "skin_cancer.hub.recipes"]
    args = command[3:]
    args[args.index("--dataset") + 1] = str(staged)  # the stand-in for the Hub repository
    assert args[args.index("--config") + 1] == "pad-512"
    args[args.index("--model") + 1] = str(model_dir)
    output = tmp_path / "out"
    args[args.index("--output-dir") + 1] = str(output)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert recipes.main([*args, "--max-steps", "2", "--batch-size", "2", "--num-workers", "0"]) == 0

    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["validation_split"] == "valid" and metrics["eval_samples"] == 2
    assert 0 <= metrics["eval_jaccard"] <= 1 and 0 <= metrics["eval_pooled_miou"] <= 1
    trained = json.loads((output / "config.json").read_text())
    assert trained["id2label"] == {"0": "background", "1": "lesion"}
    assert re.search(r"ignore_index=0", (staged / "README.md").read_text())  # the card warns about the script


def test_albumentations_workers_draw_alike_unless_reseeded_as_the_readme_does():
    """Why the README's albumentations recipe has `seed_worker`: a seeded Compose is copied into every worker."""
    A = pytest.importorskip("albumentations", reason="pip install '.[train]'")
    torch = pytest.importorskip("torch", reason="pip install '.[train]'")
    from torch.utils.data import DataLoader

    augment = A.Compose([A.HorizontalFlip(), A.VerticalFlip(), A.RandomRotate90()], seed=137)
    image = np.arange(16, dtype=np.uint8).reshape(4, 4)

    class Draws(torch.utils.data.Dataset):
        def __len__(self):
            return 16

        def __getitem__(self, index):
            return torch.from_numpy(augment(image=image)["image"].copy()).flatten()

    def seed_worker(worker_id):  # as in the README and the card
        augment.set_random_seed(torch.initial_seed() % 2**32)

    def per_worker(worker_init_fn):
        torch.manual_seed(0)
        draws = [tuple(b[0].tolist()) for b in DataLoader(Draws(), num_workers=2, worker_init_fn=worker_init_fn)]
        return draws[0::2], draws[1::2]  # the DataLoader takes from its two workers in turn

    first, second = per_worker(None)
    assert first == second
    first, second = per_worker(seed_worker)
    assert first != second


def test_without_the_train_extra_the_recipe_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # `import torch` raises ModuleNotFoundError
    argv = ["--dataset", str(tmp_path), "--config", "pad-512", "--model", "m", "--output-dir", str(tmp_path / "o")]
    assert recipes.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'pip install "skin-cancer[train]"' in err and "torch" in err


def test_a_test_only_release_is_one_usage_error_not_a_key_error():
    import datasets

    ds = datasets.DatasetDict({"test": datasets.Dataset.from_dict({"image": [None], "mask": [None]})})
    with pytest.raises(UsageError, match=r"no `train` split.*test"):
        recipes.segmentation_splits(ds, validation="test")


def test_the_train_extra_pins_a_transformers_with_eval_strategy():
    text = (Path(__file__).parents[1] / "pyproject.toml").read_text()
    pin = re.search(r'"transformers>=(\d+)\.(\d+)', text)
    assert pin and (int(pin[1]), int(pin[2])) >= (4, 41)  # TrainingArguments(eval_strategy=) is new in 4.41
