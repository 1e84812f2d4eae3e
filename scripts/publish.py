"""Publish a square ISIC release (2016, 2017 or 2018; --release) to the Hugging Face Hub: same as
`skin-cancer publish`.

python scripts/publish.py --data-dir DIR [--release isic2018] --repo-id OWNER/NAME [--dry-run OUT] ...
"""

import sys

from skin_cancer.cli import main

if __name__ == "__main__":
    sys.exit(main(["publish", *sys.argv[1:]]))
