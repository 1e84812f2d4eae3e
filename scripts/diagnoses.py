"""Regenerate skin_cancer/data/diagnoses/<release>-train.tsv from the official label tables.

python scripts/diagnoses.py [ISIC2016_TRAINING_CSV] [ISIC2017_TRAINING_CSV] [--ham10000 METADATA_CSV] [--output FOLDER]
                             [--ids-output FOLDER]

HAM10000 has no official split: the table's lesions (lesion_id, dx, images) are its universe,
ham10000-lesions.tsv, which the lesion rule (dataset/lesion_splits.py) deals to train/valid/test; the
`dx` of the training images gives ham10000-train.tsv, their `lesion_id` ham10000-train-lesions.tsv (the
groups of its folds), and the image ids of each split ../ids/ham10000-<split>.txt.

Each file is `image_id<TAB>diagnosis` with a header row, sorted by id, the diagnosis spelled as the
release's `diagnosis_names` (read by the builder's own parser, annotations.parse_labels). The folds
(skin_cancer/dataset/folds.py) are stratified by these facts, so `skin-cancer splits` needs no download.
The sources are named in skin_cancer/data/diagnoses/SOURCES.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skin_cancer.dataset.annotations import parse_ham10000, parse_labels  # noqa: E402
from skin_cancer.dataset.folds import TRAINING_SPLIT, diagnoses_file, diagnoses_tsv, lesions_file, lesions_tsv  # noqa: E402
from skin_cancer.dataset.lesion_splits import deal_lesions, lesion_table, lesion_table_file, lesion_table_tsv  # noqa: E402
from skin_cancer.releases import get_release  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_CSVS = {
    "isic2016": SHARED / "isic2016-reference" / "ISBI2016_ISIC_Part3_Training_GroundTruth.csv",
    "isic2017": SHARED / "isic-2017-reference" / "ISIC-2017_Training_Part3_GroundTruth.csv",
    "ham10000": SHARED / "ham10000-mini" / "HAM10000" / "HAM10000_metadata.csv",
}
DEFAULT_OUTPUT = ROOT / "skin_cancer" / "data" / "diagnoses"
DEFAULT_IDS_OUTPUT = ROOT / "skin_cancer" / "data" / "ids"


def write_all(csvs: dict[str, Path], output: Path, ids_output: Path) -> list[Path]:
    written = []
    for name, csv_path in csvs.items():
        release = get_release(name)
        text = csv_path.read_text(encoding="utf-8-sig")
        if release.split_rule:  # HAM10000: the splits are the lesion rule dealt over the whole table
            rows = parse_ham10000(text, release.diagnosis_names)
            universe = lesion_table({i: (row.lesion_id, row.dx) for i, row in rows.items()})
            table_path = output / lesion_table_file(release)
            table_path.write_text(lesion_table_tsv(universe), encoding="utf-8")
            written.append(table_path)
            split_of = deal_lesions(universe, release.split_bounds)
            for split in release.splits:
                ids = sorted(i for i, row in rows.items() if split_of[row.lesion_id] == split.name)
                ids_path = ids_output / split.ids_file
                ids_path.write_text("".join(f"{image_id}\n" for image_id in ids), encoding="utf-8")
                written.append(ids_path)
            train = {i: row for i, row in rows.items() if split_of[row.lesion_id] == TRAINING_SPLIT}
            labels = {image_id: row.dx for image_id, row in train.items()}
            lesions_path = output / lesions_file(release)
            lesions_path.write_text(lesions_tsv({i: row.lesion_id for i, row in train.items()}), encoding="utf-8")
            written.append(lesions_path)
        else:
            labels = parse_labels(release, text)
        path = output / diagnoses_file(release)
        path.write_text(diagnoses_tsv(labels), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("isic2016", nargs="?", type=Path, default=DEFAULT_CSVS["isic2016"])
    parser.add_argument("isic2017", nargs="?", type=Path, default=DEFAULT_CSVS["isic2017"])
    parser.add_argument("--ham10000", type=Path, default=DEFAULT_CSVS["ham10000"], help="HAM10000_metadata.csv")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--ids-output", type=Path, default=DEFAULT_IDS_OUTPUT, help="where ham10000-<split>.txt go")
    args = parser.parse_args(argv)
    csvs = {"isic2016": args.isic2016, "isic2017": args.isic2017, "ham10000": args.ham10000}
    for path in write_all(csvs, args.output, args.ids_output):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
