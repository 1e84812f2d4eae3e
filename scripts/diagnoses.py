"""Regenerate skin_cancer/data/diagnoses/<release>-train.tsv from the official Part 3 label CSVs.

python scripts/diagnoses.py [ISIC2016_TRAINING_CSV] [ISIC2017_TRAINING_CSV] [--output FOLDER]

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

from skin_cancer.dataset.annotations import parse_labels  # noqa: E402
from skin_cancer.dataset.folds import diagnoses_tsv  # noqa: E402
from skin_cancer.releases import get_release  # noqa: E402

SHARED = ROOT.parent / "shared"
DEFAULT_CSVS = {
    "isic2016": SHARED / "isic2016-reference" / "ISBI2016_ISIC_Part3_Training_GroundTruth.csv",
    "isic2017": SHARED / "isic-2017-reference" / "ISIC-2017_Training_Part3_GroundTruth.csv",
}
DEFAULT_OUTPUT = ROOT / "skin_cancer" / "data" / "diagnoses"


def write_all(csvs: dict[str, Path], output: Path) -> list[Path]:
    written = []
    for release, csv_path in csvs.items():
        labels = parse_labels(get_release(release), csv_path.read_text(encoding="utf-8-sig"))
        path = output / f"{release}-train.tsv"
        path.write_text(diagnoses_tsv(labels), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("isic2016", nargs="?", type=Path, default=DEFAULT_CSVS["isic2016"])
    parser.add_argument("isic2017", nargs="?", type=Path, default=DEFAULT_CSVS["isic2017"])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    for path in write_all({"isic2016": args.isic2016, "isic2017": args.isic2017}, args.output):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
