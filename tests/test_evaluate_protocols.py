"""The literature's summaries beside the official ones: pooled square protocol, bootstrap intervals, the
per-image Jaccard distribution and native HD95/ASSD, each checked against an independent computation
(SciPy's distance transform and bootstrap) on the real masks in ../shared."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage, stats

from skin_cancer.evaluate import score
from skin_cancer.evaluate.metrics import (
    METRIC_NAMES,
    bootstrap_intervals,
    boundary_scores,
    confusion,
    jaccard_distribution,
    scores,
)
from skin_cancer.releases import ISIC2017

from .test_evaluate import _square_predictions, cache, prediction_folder, truths  # noqa: F401  (fixtures)


def reference_boundary(truth: np.ndarray, prediction: np.ndarray) -> tuple[float, float]:
    """MedPy's hd95/assd written with SciPy's exact Euclidean distance transform over the whole frame."""
    cross = ndimage.generate_binary_structure(2, 1)
    truth_surface = truth ^ ndimage.binary_erosion(truth, structure=cross, border_value=0)
    prediction_surface = prediction ^ ndimage.binary_erosion(prediction, structure=cross, border_value=0)
    forward = ndimage.distance_transform_edt(~truth_surface)[prediction_surface]
    backward = ndimage.distance_transform_edt(~prediction_surface)[truth_surface]
    return float(np.percentile(np.hstack([forward, backward]), 95)), float((forward.mean() + backward.mean()) / 2)


def test_boundary_metrics_equal_scipy_s_distance_transform_on_real_masks(real_sample):
    paths = sorted(real_sample.glob("*_Part1_GroundTruth/*.png"))[:6]
    for truth in (np.asarray(Image.open(path)) > 128 for path in paths):
        candidates = [
            np.roll(truth, (7, -13), (0, 1)),  # shifted (the frame edge cuts it)
            ndimage.binary_dilation(truth, iterations=3),
            np.fliplr(truth),  # far apart
            truth[::-1, :] & truth,  # a different, smaller shape
        ]
        for prediction in candidates:
            if not prediction.any():
                continue
            ours = boundary_scores(truth, prediction)
            hd95, assd = reference_boundary(truth, prediction)
            assert ours["hd95"] == pytest.approx(hd95, abs=1e-9)
            assert ours["assd"] == pytest.approx(assd, abs=1e-9)


def test_boundary_metrics_of_empty_masks_are_defined():
    empty, lesion = np.zeros((5, 6), bool), np.zeros((5, 6), bool)
    lesion[1:3, 2:4] = True
    assert boundary_scores(empty, empty) == {"hd95": 0.0, "assd": 0.0}
    assert boundary_scores(empty, lesion) == {"hd95": None, "assd": None}
    assert boundary_scores(lesion, empty) == {"hd95": None, "assd": None}
    assert boundary_scores(lesion, lesion) == {"hd95": 0.0, "assd": 0.0}


def test_evaluate_s_boundary_metrics_equal_the_reference_on_the_native_frames(
    real_sample,
    truths,  # noqa: F811
    prediction_folder,  # noqa: F811
    tmp_path,
):
    """Scored around the masks' bounding boxes, as the whole native frame gives with SciPy."""
    from skin_cancer.evaluate import collect_predictions

    native = tmp_path / "native"
    report = score(collect_predictions(prediction_folder), truths["test"], write_native=native)
    split = ISIC2017.splits_by_name["test"]
    for row in report.per_image:
        truth = np.asarray(Image.open(real_sample / split.mask_folder / f"{row['image_id']}_segmentation.png")) > 128
        prediction = np.asarray(Image.open(native / f"{row['image_id']}_segmentation.png")) > 128
        hd95, assd = reference_boundary(truth, prediction)
        assert row["hd95"] == pytest.approx(hd95, abs=1e-9) and row["assd"] == pytest.approx(assd, abs=1e-9)
    boundary = report.summary["boundary_native"]
    assert boundary["images"] == 3 and boundary["undefined"] == 0
    assert boundary["hd95"] == pytest.approx(np.mean([row["hd95"] for row in report.per_image]))


def test_pooled_square_is_one_confusion_matrix_over_all_square_pixels(truths):  # noqa: F811
    truth = truths["train"]
    predictions = _square_predictions(truth, "dilated")
    report = score(predictions, truth)
    squares = {
        row.image_id: np.asarray(Image.open(io.BytesIO(row.square_mask)).convert("L")) > 128 for row in truth.rows
    }
    all_truth = np.concatenate([squares[image_id].ravel() for image_id in truth.ids])
    all_prediction = np.concatenate([predictions[image_id].ravel() for image_id in truth.ids])
    expected = scores(confusion(all_truth, all_prediction))
    summary = report.summary
    assert summary["pooled_square"] == pytest.approx(expected, abs=1e-12)
    assert summary["pooled_square"]["jaccard"] != pytest.approx(summary["square"]["jaccard"])  # not the macro one
    table = report.table()
    assert "pooled square 512x512, one confusion matrix (not official)" in table
    assert "native resolution, macro average (official)" in table


def test_bootstrap_intervals_equal_scipy_s_percentile_bootstrap():
    values = np.random.default_rng(5).random(37)
    rows = [dict.fromkeys(METRIC_NAMES, float(value)) for value in values]
    ours = bootstrap_intervals(rows, seed=3, draws=1000)
    theirs = stats.bootstrap(
        (values,), np.mean, n_resamples=1000, method="percentile", rng=np.random.default_rng(3), vectorized=True
    ).confidence_interval
    assert ours["jaccard"] == pytest.approx([theirs.low, theirs.high], abs=1e-12)
    assert bootstrap_intervals(rows, seed=3) == ours  # seeded: the same every run
    assert bootstrap_intervals(rows, seed=4) != ours
    # One image resamples to itself: no interval, not a zero-width one.
    assert bootstrap_intervals(rows[:1]) == dict.fromkeys(METRIC_NAMES) == bootstrap_intervals([])
    assert all(bootstrap_intervals(rows[:2]).values())


def test_jaccard_distribution_and_the_report_s_fields(truths, tmp_path):  # noqa: F811
    values = [0.2, 0.64, 0.65, 0.9, 1.0]
    distribution = jaccard_distribution(values)
    assert distribution["median"] == 0.65 and distribution["share_below_threshold"] == 0.4
    assert (distribution["q1"], distribution["q3"]) == (0.64, 0.9)
    report = score(_square_predictions(truths["train"], "shifted"), truths["train"])
    report.write(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["bootstrap_native"]["seed"] == 0 and summary["bootstrap_native"]["draws"] == 1000
    low, high = summary["bootstrap_native"]["intervals"]["jaccard"]
    assert low <= summary["native"]["jaccard"] <= high
    per_image = [row["jaccard"] for row in report.per_image]
    assert summary["jaccard_distribution_native"]["median"] == pytest.approx(float(np.median(per_image)))
    markdown = (tmp_path / "summary.md").read_text()
    assert "Bootstrap: 1000 resamples of the images, seed 0" in markdown and "HD95" in markdown


def test_summary_json_names_the_official_protocol_and_counts_both_empty_boundaries(truths, tmp_path):  # noqa: F811
    truth = truths["train"]
    empty = {image_id: np.zeros_like(mask) for image_id, mask in _square_predictions(truth).items()}
    report = score(empty, truth)
    report.write(tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["protocols"]["native"].startswith("OFFICIAL ISIC challenge protocol")
    assert summary["protocols"]["pooled_square"].startswith("NOT the official protocol")
    assert set(summary["protocols"]) <= set(summary)  # every label names a summary that is there
    # Every truth mask is non-empty and every prediction empty: all undefined, none both empty.
    assert summary["boundary_native"] == {
        "images": 0, "undefined": len(truth.rows), "both_empty": 0,
        "hd95": None, "hd95_median": None, "assd": None, "assd_median": None,
    }  # fmt: skip
    assert "0 of the 0 had both empty" in report.table()


@pytest.mark.parametrize("seed", range(6))
def test_nearest_surface_distances_equal_brute_force_on_scattered_and_far_sets(seed):
    from skin_cancer.evaluate.metrics import nearest_distances

    generator = np.random.default_rng(seed)
    points = generator.integers(0, 300, size=(int(generator.integers(1, 400)), 2))
    shift = generator.integers(0, 5000, size=2) if seed % 2 else np.zeros(2, dtype=np.int64)  # far sets too
    targets = generator.integers(0, 200, size=(int(generator.integers(1, 400)), 2)) + shift
    expected = np.sqrt(((points[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2).min(axis=1))
    assert np.array_equal(nearest_distances(points, targets), expected)  # bit for bit, not approximately
