"""Regenerate skin_cancer/data/archive/images.tsv from the ISIC Archive metadata published by IMA++.

python scripts/archive_facts.py [PATH/IMAplusplus_img_metadata.csv] [--output FILE]

Only the facts the package needs, for the ids of the shipped release lists (skin_cancer/data/ids/*.txt):
image_id, lesion_id, patient_id, license (as the Hub spells licences), attribution. An id the archive
does not list gets no row (every fact unknown). The source is named in skin_cancer/data/archive/SOURCES.md.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDS = ROOT / "skin_cancer" / "data" / "ids"
DEFAULT_CSV = ROOT.parent / "shared" / "isic-archive-metadata" / "IMAplusplus_img_metadata.csv"
DEFAULT_OUTPUT = ROOT / "skin_cancer" / "data" / "archive" / "images.tsv"
COLUMNS = ("image_id", "lesion_id", "patient_id", "license", "attribution")
# The archive's `copyright_license` values, as the Hub spells them (ISIC Archive: CC-0 is CC0 1.0,
# CC-BY is CC BY 4.0, CC-BY-NC is CC BY-NC 4.0). Any other value stops the script: it needs a decision.
HUB_LICENSES = {"CC-0": "cc0-1.0", "CC-BY": "cc-by-4.0", "CC-BY-NC": "cc-by-nc-4.0"}


def release_ids(folder: Path = IDS) -> set[str]:
    return {line.strip() for path in sorted(folder.glob("*.txt")) for line in path.read_text().splitlines() if line}


def facts_rows(csv_path: Path, wanted: set[str]) -> list[list[str]]:
    """One row per wanted id the archive lists, sorted by id; an empty cell is an unknown fact."""
    rows = []
    with open(csv_path, newline="", encoding="utf-8") as file:
        for record in csv.DictReader(file):
            image_id = record["isic_id"]
            if image_id not in wanted:
                continue
            licence = record["copyright_license"].strip()
            if licence and licence not in HUB_LICENSES:
                raise SystemExit(f"{csv_path}: {image_id} has the licence {licence!r}, which has no Hub spelling here")
            rows.append(
                [
                    image_id,
                    record["lesion_id"].strip(),
                    record["patient_id"].strip(),
                    HUB_LICENSES.get(licence, ""),
                    record["attribution"].strip(),
                ]
            )
    return sorted(rows)


def write_tsv(rows: list[list[str]], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file, delimiter="\t", lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT_CSV, help="IMAplusplus_img_metadata.csv")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    rows = facts_rows(args.csv, release_ids())
    write_tsv(rows, args.output)
    print(f"Wrote {len(rows)} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
