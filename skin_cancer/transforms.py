"""Pixel transforms: encoded bytes in, encoded bytes out, no file system.

The image and its mask go through the same `Placement`, so they stay aligned to the pixel.
Images are decoded with libjpeg's DCT scaling (Pillow's `draft`) at the smallest scale that
still covers their footprint in the output, and are resized in their stored orientation; the
EXIF rotation is applied to the small result. Masks are made binary ("non-zero is lesion"),
downscaled by pixel area and thresholded at one half, so they stay {0, 255} and do not shift.
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
from PIL import Image

ResizeMode = Literal["pad", "stretch", "center_crop"]
ImageFormat = Literal["jpeg", "png"]
RESIZE_MODES: tuple[str, ...] = get_args(ResizeMode)
IMAGE_FORMATS: tuple[str, ...] = get_args(ImageFormat)

JPEG_QUALITY = 95
# Antialiased bilinear, as torchvision's default Resize; the DCT decode already did most of the shrinking.
IMAGE_FILTER = Image.Resampling.BILINEAR
# The seed generator filled the padding with the colour found this far from the bottom-right corner.
PAD_COLOUR_INSET = 80
MIN_SIZE, MAX_SIZE = 16, 4096

_ORIENTATION_TAG = 0x0112
_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, zlib.error, Image.DecompressionBombError)
_BINARY_LUT = [0] + [255] * 255
_HALF_THRESHOLD_LUT = [0] * 128 + [255] * 128

Box = tuple[float, float, float, float]


class PixelError(ValueError):
    """The bytes cannot become a valid example; the caller adds the file name."""


class ImageDecodeError(PixelError):
    pass


class MaskDecodeError(PixelError):
    pass


class MaskSizeError(PixelError):
    pass


@dataclass(frozen=True)
class Placement:
    """Which region of the source frame lands on which rectangle of the square output."""

    source_box: Box
    target_box: tuple[int, int, int, int]

    @property
    def target_size(self) -> tuple[int, int]:
        left, top, right, bottom = self.target_box
        return right - left, bottom - top


@dataclass(frozen=True)
class PreparedPair:
    image: bytes
    mask: bytes
    original_width: int
    original_height: int


def placement(width: int, height: int, size: int, mode: ResizeMode) -> Placement:
    """Geometry shared by image and mask, in the displayed (EXIF-oriented) frame."""
    if mode == "stretch":
        return Placement((0.0, 0.0, float(width), float(height)), (0, 0, size, size))
    if mode == "center_crop":
        side = min(width, height)
        left, top = (width - side) / 2, (height - side) / 2
        return Placement((left, top, left + side, top + side), (0, 0, size, size))
    if mode == "pad":
        side = max(width, height)
        offset_x, offset_y = (side - width) // 2, (side - height) // 2
        scale = size / side
        target = (
            round(offset_x * scale),
            round(offset_y * scale),
            round((offset_x + width) * scale),
            round((offset_y + height) * scale),
        )
        return Placement((0.0, 0.0, float(width), float(height)), target)
    raise ValueError(f"resize_mode must be one of {RESIZE_MODES}, not {mode!r}")


def decode_request(stored_size: tuple[int, int], stored_box: Box, stored_target: tuple[int, int]) -> tuple[int, int]:
    """The smallest decoded size that still covers the target: the whole frame at the target's scale.

    For pad mode that is the image's footprint inside the square, not size x size, which lets
    libjpeg pick one DCT scale smaller for landscape images.
    """
    box_width, box_height = stored_box[2] - stored_box[0], stored_box[3] - stored_box[1]
    return (
        max(1, math.ceil(stored_size[0] * stored_target[0] / box_width)),
        max(1, math.ceil(stored_size[1] * stored_target[1] / box_height)),
    )


def pad_colour_position(width: int, height: int) -> tuple[int, int]:
    return (
        min(max(width - PAD_COLOUR_INSET, 0), width - 1),
        min(max(height - PAD_COLOUR_INSET, 0), height - 1),
    )


def prepare_pair(
    image_bytes: bytes,
    mask_bytes: bytes,
    size: int = 512,
    resize_mode: ResizeMode = "pad",
    image_format: ImageFormat = "jpeg",
) -> PreparedPair:
    image, (width, height) = prepare_image(image_bytes, size, resize_mode, image_format)
    mask = prepare_mask(mask_bytes, (width, height), size, resize_mode)
    return PreparedPair(image, mask, width, height)


def prepare_image(
    image_bytes: bytes, size: int, resize_mode: ResizeMode, image_format: ImageFormat
) -> tuple[bytes, tuple[int, int]]:
    """Return the encoded square image and the source's displayed size."""
    with _open(image_bytes, ImageDecodeError) as image:
        orientation = _orientation(image)
        stored_width, stored_height = image.size
        width, height = _oriented_size(image.size, orientation)
        place = placement(width, height, size, resize_mode)
        stored_box = _box_in_stored_frame(place.source_box, orientation, (stored_width, stored_height))
        stored_target = _stored_size(place.target_size, orientation)

        scale = 1.0
        if image.format == "JPEG":
            needed = decode_request((stored_width, stored_height), stored_box, stored_target)
            drafted = image.draft("RGB" if image.mode == "RGB" else None, needed)
            if drafted is not None:
                scale = stored_width / drafted[1][2]
        try:
            image.load()
            rgb = image.convert("RGB")
        except _DECODE_ERRORS as error:
            raise ImageDecodeError(f"cannot decode the image: {error}") from error

        reduced_box = tuple(coordinate / scale for coordinate in stored_box)
        resized = rgb.resize(stored_target, IMAGE_FILTER, box=reduced_box)
        if orientation in _TRANSPOSE_FOR_ORIENTATION:
            resized = resized.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])

        if place.target_size == (size, size):
            square = resized
        else:
            pad_x, pad_y = pad_colour_position(width, height)
            pixel = _box_in_stored_frame(
                (pad_x, pad_y, pad_x + 1, pad_y + 1), orientation, (stored_width, stored_height)
            )
            reduced_pixel = (
                min(int(pixel[0] / scale), rgb.width - 1),
                min(int(pixel[1] / scale), rgb.height - 1),
            )
            square = Image.new("RGB", (size, size), rgb.getpixel(reduced_pixel))
            square.paste(resized, place.target_box[:2])
    return encode_image(square, image_format), (width, height)


def prepare_mask(mask_bytes: bytes, image_size: tuple[int, int], size: int, resize_mode: ResizeMode) -> bytes:
    """Return the square {0, 255} PNG mask, placed exactly like its image."""
    with _open(mask_bytes, MaskDecodeError) as mask:
        if mask.size != image_size:
            raise MaskSizeError(
                f"mask is {mask.size[0]}x{mask.size[1]} but its image is {image_size[0]}x{image_size[1]}"
            )
        try:
            mask.load()
            source = mask if mask.mode == "L" else binarize_mask(mask)
            lesion_box = source.getbbox()  # non-zero pixels; output outside it is background anyway
        except _DECODE_ERRORS as error:
            raise MaskDecodeError(f"cannot decode the mask: {error}") from error
    place = placement(image_size[0], image_size[1], size, resize_mode)
    square = Image.new("L", (size, size), 0)
    if lesion_box is not None:
        region = _covering_region(place, lesion_box)
        if region is not None:
            (first_x, first_y, last_x, last_y), crop_box, area_box = region
            # BOX averages by covered area; >= 128 of 255 means at least half the area is lesion.
            binary = binarize_mask(source.crop(crop_box))
            small = binary.resize((last_x - first_x, last_y - first_y), Image.Resampling.BOX, box=area_box)
            square.paste(
                small.point(_HALF_THRESHOLD_LUT), (place.target_box[0] + first_x, place.target_box[1] + first_y)
            )
    return encode_png(square)


def _covering_region(
    place: Placement, lesion_box: tuple[int, int, int, int]
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int], Box] | None:
    """Output pixels whose footprint meets the lesion, the source crop under them, and their box in that crop.

    Resampling only this window gives the same pixels as resampling the whole frame, because
    with BOX each output pixel reads exactly its own footprint; it saves most of the work.
    """
    left, top, right, bottom = place.source_box
    width, height = place.target_size
    step_x, step_y = (right - left) / width, (bottom - top) / height
    first_x = min(max(math.floor((lesion_box[0] - left) / step_x), 0), width)
    last_x = min(max(math.ceil((lesion_box[2] - left) / step_x), 0), width)
    first_y = min(max(math.floor((lesion_box[1] - top) / step_y), 0), height)
    last_y = min(max(math.ceil((lesion_box[3] - top) / step_y), 0), height)
    if first_x >= last_x or first_y >= last_y:
        return None
    area = (left + first_x * step_x, top + first_y * step_y, left + last_x * step_x, top + last_y * step_y)
    crop = (math.floor(area[0]), math.floor(area[1]), math.ceil(area[2]), math.ceil(area[3]))
    in_crop = (area[0] - crop[0], area[1] - crop[1], area[2] - crop[0], area[3] - crop[1])
    return (first_x, first_y, last_x, last_y), crop, in_crop


def binarize_mask(mask: Image.Image) -> Image.Image:
    """Mode L with exactly {0, 255}: any non-zero source value is lesion (0/1 and antialiased masks too)."""
    if mask.mode == "L":
        histogram = mask.histogram()
        if not any(histogram[1:255]):
            return mask  # already {0, 255}: a histogram is cheaper than a lookup pass
        return mask.point(_BINARY_LUT)
    if mask.mode == "1":
        return mask.convert("L")
    if mask.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(mask)
        return Image.fromarray(np.where(values != 0, 255, 0).astype(np.uint8), mode="L")
    values = np.asarray(mask.convert("RGB"))
    return Image.fromarray(np.where(values.any(axis=2), 255, 0).astype(np.uint8), mode="L")


def encode_image(image: Image.Image, image_format: ImageFormat) -> bytes:
    if image_format == "jpeg":
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        return buffer.getvalue()
    if image_format == "png":
        return encode_png(image)
    raise ValueError(f"image_format must be one of {IMAGE_FORMATS}, not {image_format!r}")


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _open(data: bytes, error_type: type[PixelError]) -> Image.Image:
    """`Image.open` on bytes, with every decoder complaint turned into our `PixelError`."""
    try:
        return Image.open(io.BytesIO(data))
    except (Image.UnidentifiedImageError, *_DECODE_ERRORS) as error:
        kind = "image" if error_type is ImageDecodeError else "mask"
        raise error_type(f"cannot read the {kind}: {error}") from error


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION_TAG, 1))
    except _DECODE_ERRORS:
        return 1


def _oriented_size(stored: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (stored[1], stored[0]) if orientation in (5, 6, 7, 8) else stored


def _stored_size(oriented: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (oriented[1], oriented[0]) if orientation in (5, 6, 7, 8) else oriented


def _box_in_stored_frame(box: Box, orientation: int, stored_size: tuple[int, int]) -> Box:
    """Map a box of the displayed frame back to the frame the pixels are stored in."""
    x0, y0, x1, y1 = box
    width, height = stored_size
    if orientation == 2:
        return (width - x1, y0, width - x0, y1)
    if orientation == 3:
        return (width - x1, height - y1, width - x0, height - y0)
    if orientation == 4:
        return (x0, height - y1, x1, height - y0)
    if orientation == 5:
        return (y0, x0, y1, x1)
    if orientation == 6:
        return (y0, height - x1, y1, height - x0)
    if orientation == 7:
        return (width - y1, height - x1, width - y0, height - x0)
    if orientation == 8:
        return (width - y1, x0, width - y0, x1)
    return box
