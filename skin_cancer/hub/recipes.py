"""The `transformers` route from a published repository to a trained segmentation model, as the card states it.

transformers' example script `examples/pytorch/semantic-segmentation/run_semantic_segmentation.py` (read at
transformers 4.51) cannot train on these repositories as written: it calls `load_dataset(dataset_name)` without
the configuration name, carves a random 15% off `train` when there is no split named `validation` (ours is the
official `valid`), keeps only columns a model's `forward` names unless given `--remove_unused_columns False`,
wants the masks in a column named `label`, and scores with `mean_iou(..., ignore_index=0)`, which drops the
background class and leaves a "mean" IoU of the lesion class alone. This module is the small entry point that
does the same job with the chosen configuration, the official `valid` split as validation and the masks as
labels, and reports the lesion Jaccard per image as ISIC does:

    python -m skin_cancer.hub.recipes --dataset my-lab/isic-2017 --config pad-512 --model nvidia/mit-b0 \\
        --output-dir segformer-isic2017

`--dataset` is a Hub repository id or a folder staged by `skin-cancer publish --dry-run`. torch, transformers
and accelerate come with the `train` extra; `segmentation_splits` and `segmentation_scores` need neither.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .publish import ID2LABEL_PATH as LABEL_FILE  # written at the top of every staged repository


def segmentation_splits(dataset, validation: str = "valid"):
    """`train`, `validation` and (where present) `test`, each with exactly the columns `image` and `label`.

    `dataset` is a `datasets.DatasetDict` as loaded from a repository (`image`, `mask` and metadata columns);
    `validation` names the split to validate on (`valid`, the official validation split, by default).
    `label` is the mask: a palette PNG of class indices (0 background, 1 lesion), the column name and values
    transformers' segmentation models and example script expect. Raises UsageError when the split is missing
    (ISIC 2016 has no validation split: choose one knowingly, e.g. `test`, or hold out part of `train`), or when
    there is no `train` split (PH2 has only `test`: it is an external test set).
    """
    import datasets

    if "train" not in dataset:
        raise UsageError(
            f"the dataset has no `train` split to train on (its splits: {', '.join(dataset)}): it is a test set; "
            "score a model trained elsewhere on it with `skin-cancer evaluate`"
        )
    if validation not in dataset:
        raise UsageError(
            f"the dataset has no split {validation!r} to validate on (its splits: {', '.join(dataset)}); "
            "pass --validation with one of them"
        )
    splits = {"train": dataset["train"], "validation": dataset[validation]}
    if "test" in dataset and validation != "test":
        splits["test"] = dataset["test"]
    return datasets.DatasetDict(
        {name: split.select_columns(["image", "mask"]).rename_column("mask", "label") for name, split in splits.items()}
    )


def segmentation_scores(predictions: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Scores of class-index predictions against class-index labels, both (N, H, W) integer arrays of 0/1.

    `jaccard` and `dice`: the lesion class's Jaccard index and Dice coefficient of each image, averaged over
    images, as the ISIC challenge averages (an image where both are empty scores 1); `pooled_miou`: the IoU of
    background and of lesion over all pixels pooled, averaged over the two classes, with no class ignored.
    Measured at the dataset's square size, not at native resolution: `skin-cancer evaluate` gives the official
    numbers.
    """
    if predictions.shape != labels.shape or predictions.ndim != 3:
        raise UsageError(f"predictions {predictions.shape} and labels {labels.shape} must both be (N, H, W)")
    pred, true = predictions == 1, labels == 1
    intersection = (pred & true).sum(axis=(1, 2)).astype(np.float64)
    union = (pred | true).sum(axis=(1, 2)).astype(np.float64)
    total = pred.sum(axis=(1, 2)) + true.sum(axis=(1, 2)).astype(np.float64)
    jaccard = np.where(union > 0, intersection / np.maximum(union, 1), 1.0)
    dice = np.where(total > 0, 2 * intersection / np.maximum(total, 1), 1.0)
    ious = []
    for cls in (0, 1):
        p, t = predictions == cls, labels == cls
        union_all = (p | t).sum()
        ious.append((p & t).sum() / union_all if union_all else 1.0)
    return {"jaccard": float(jaccard.mean()), "dice": float(dice.mean()), "pooled_miou": float(np.mean(ious))}


def read_id2label(dataset: str) -> dict[int, str]:
    """The class names from the repository's id2label.json, e.g. {0: "background", 1: "lesion"}."""
    folder = Path(dataset)
    if folder.is_dir():
        path = folder / LABEL_FILE
        if not path.is_file():
            raise UsageError(f"{folder}: no {LABEL_FILE}; is it a folder staged by `skin-cancer publish --dry-run`?")
    else:
        from huggingface_hub import hf_hub_download

        path = Path(hf_hub_download(dataset, LABEL_FILE, repo_type="dataset"))
    return {int(key): name for key, name in json.loads(path.read_text()).items()}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m skin_cancer.hub.recipes",
        description="Fine-tune a transformers semantic-segmentation model (SegFormer, ...) on a published "
        "skin-cancer repository: the chosen configuration, `valid` as validation, masks as labels.",
    )
    parser.add_argument("--dataset", required=True, help="Hub repository id, or a `publish --dry-run` folder")
    parser.add_argument("--config", required=True, help="the configuration to train on, e.g. pad-512")
    parser.add_argument("--model", required=True, help="model id or folder, e.g. nvidia/mit-b0")
    parser.add_argument("--output-dir", required=True, help="where the model, checkpoints and metrics go")
    parser.add_argument("--validation", default="valid", help="the split to validate on (default: valid)")
    parser.add_argument("--epochs", type=float, default=50.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (overrides --epochs)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--learning-rate", type=float, default=6e-5)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--num-workers", type=int, default=2, help="DataLoader workers")
    return parser


def _to_model_inputs(mean: np.ndarray, std: np.ndarray, augment: bool):
    """A `with_transform` function: PIL image/label pairs to normalised (3, H, W) float32 `pixel_values` and
    (H, W) int64 `labels`; with `augment`, the same random flips of both (torch's RNG, seeded per worker)."""
    import torch

    def transform(batch: dict) -> dict:
        pixels, labels = [], []
        for image, label in zip(batch["image"], batch["label"], strict=True):
            x = torch.from_numpy(np.array(image.convert("RGB"), dtype=np.float32) / 255).permute(2, 0, 1)
            y = torch.from_numpy(np.array(label, dtype=np.int64))  # palette indices: 0 background, 1 lesion
            if augment:
                for axis in (1, 2):  # vertical, then horizontal
                    if torch.rand(()) < 0.5:
                        x, y = x.flip(axis), y.flip(axis - 1)
            pixels.append((x - torch.from_numpy(mean)[:, None, None]) / torch.from_numpy(std)[:, None, None])
            labels.append(y)
        return {"pixel_values": pixels, "labels": labels}

    return transform


# What the recipe imports beyond the core dependencies: the `train` extra of pyproject.toml.
TRAINING_PACKAGES = ("torch", "transformers", "accelerate")


def _require_training_packages() -> None:
    import importlib

    for name in TRAINING_PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise UsageError(
                f"the training recipe needs {name}, which is not installed ({error}): "
                'pip install "skin-cancer[train]" (or `pip install ".[train]"` in a checkout)'
            ) from None


def train(args: argparse.Namespace) -> dict[str, float]:
    """Fine-tune, evaluate on the validation split, save model and `metrics.json` into `args.output_dir`.

    Raises UsageError naming the `train` extra when torch, transformers or accelerate is not installed.
    """
    _require_training_packages()
    import torch
    from datasets import load_dataset
    from transformers import AutoImageProcessor, AutoModelForSemanticSegmentation, Trainer, TrainingArguments

    splits = segmentation_splits(load_dataset(args.dataset, args.config), args.validation)
    id2label = read_id2label(args.dataset)
    processor = AutoImageProcessor.from_pretrained(args.model)
    mean = np.asarray(processor.image_mean, dtype=np.float32)
    std = np.asarray(processor.image_std, dtype=np.float32)
    model = AutoModelForSemanticSegmentation.from_pretrained(
        args.model,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={name: index for index, name in id2label.items()},
        ignore_mismatched_sizes=True,  # a pretrained head has another number of classes
    )

    def compute_metrics(eval_pred) -> dict[str, float]:
        logits, labels = eval_pred
        with torch.no_grad():  # SegFormer predicts at a quarter of the input size: upsample first
            scaled = torch.nn.functional.interpolate(
                torch.from_numpy(logits), size=labels.shape[-2:], mode="bilinear", align_corners=False
            )
        return segmentation_scores(scaled.argmax(dim=1).numpy(), labels)

    training_args = TrainingArguments(
        output_dir=args.output_dir,
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=2,
        logging_steps=10,
        remove_unused_columns=False,  # the transform needs `image` and `label`, which forward() does not name
        dataloader_num_workers=args.num_workers,
        report_to="none",
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=splits["train"].with_transform(_to_model_inputs(mean, std, augment=True)),
        eval_dataset=splits["validation"].with_transform(_to_model_inputs(mean, std, augment=False)),
        compute_metrics=compute_metrics,
    )
    trainer.train()
    metrics = trainer.evaluate()
    metrics["eval_samples"] = len(splits["validation"])
    metrics["validation_split"] = args.validation
    trainer.save_model(args.output_dir)
    processor.save_pretrained(args.output_dir)
    Path(args.output_dir, "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Fine-tune and evaluate as the card's command line says; prints the validation metrics as JSON.

    Returns 0, or 2 with one line on stderr for a usage error (a missing id2label.json, a wrong config).
    """
    args = _parser().parse_args(argv)
    try:
        metrics = train(args)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(metrics, indent=2, sort_keys=True))
    return 0


__all__ = [
    "main",
    "read_id2label",
    "segmentation_scores",
    "segmentation_splits",
    "train",
]


if __name__ == "__main__":
    sys.exit(main())
