"""Publish the ISIC-2017 square dataset to the Hugging Face Hub: same as `skin-cancer publish`.

python scripts/publish.py --data-dir DIR --repo-id OWNER/NAME [--dry-run OUT] [--allow-partial] ...
"""

import sys

from skin_cancer.cli import main

if __name__ == "__main__":
    sys.exit(main(["publish", *sys.argv[1:]]))
