"""What the dataset is, who made it and how to cite it: shared by the builder and the Hub card."""

from __future__ import annotations

HOMEPAGE = "https://challenge.isic-archive.com/landing/2017/"
LICENSE = (
    "CC-0 (https://creativecommons.org/publicdomain/zero/1.0/); "
    "ISIC-2017 data by the International Skin Imaging Collaboration"
)
LICENSE_ID = "cc0-1.0"

DESCRIPTION = (
    "ISIC-2017 Task 1 skin-lesion segmentation: dermoscopy images and binary lesion masks, "
    "made square (default 512x512) with image and mask aligned pixel for pixel, plus the Part3 "
    "diagnosis (nevus, melanoma, seborrheic keratosis) and the age and sex metadata."
)

CITATION = """@article{codella2017skin,
  title   = {Skin Lesion Analysis Toward Melanoma Detection: A Challenge at the 2017 International
             Symposium on Biomedical Imaging (ISBI), Hosted by the International Skin Imaging
             Collaboration (ISIC)},
  author  = {Codella, Noel C. F. and Gutman, David and Celebi, M. Emre and Helba, Brian and
             Marchetti, Michael A. and Dusza, Stephen W. and Kalloo, Aadi and Liopyris, Konstantinos
             and Mishra, Nabin and Kittler, Harald and Halpern, Allan},
  journal = {arXiv preprint arXiv:1710.05006},
  year    = {2017}
}"""

# The package's version (the builder's VERSION, which tracks the bytes written, lives in builder.py).
VERSION = "1.1.0"
