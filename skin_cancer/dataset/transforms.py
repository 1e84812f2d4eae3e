"""Pixel transforms: encoded bytes in, encoded bytes out, no file system.

The image and its mask go through the same `Placement`, so they stay aligned to the pixel.
Images are decoded with libjpeg's DCT scaling (Pillow's `draft`) at the smallest scale that
still covers their footprint in the output (and the decode the perceptual hash is taken from,
`hash_decode_request`), and are resized in their stored orientation; an EXIF
rotation, when the pair follows it, is applied to the small result. The pair always shares one frame
(`pair_orientation`): ISIC masks are drawn on the stored pixels, so an image whose mask has its stored
size keeps its stored frame whatever its EXIF tag says. Masks are read by the one rule of `masks`, and
an output pixel is lesion when at least half the area under it is lesion, computed exactly in
integers, so they stay binary and do not shift.
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import Image

from ..options import DEFAULTS, IMAGE_FORMATS, RESIZE_MODES, ImageFormat, ResizeMode
from .masks import NOTE_ORIENTATION_IGNORED, MaskValueError, TruthMask, read_truth
from .phash import HASH_DECODE_SIDE, phash

JPEG_QUALITY = 95
# Antialiased bilinear, as torchvision's default Resize; the DCT decode already did most of the shrinking.
IMAGE_FILTER = Image.Resampling.BILINEAR
# The seed generator filled the padding with the colour found this far from the bottom-right corner.
PAD_COLOUR_INSET = 80

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
# Pillow clips these to 255 when converting to RGB; they are scaled to 8 bits here instead.
_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
# 32-bit integer and float pixels carry no range that says which value is white: refused.
_UNSCALABLE_MODES = ("I", "F")

Box = tuple[float, float, float, float]


class PixelError(ValueError):
    """The bytes cannot become a valid example; the caller adds the file name."""


class ImageDecodeError(PixelError):
    """The image bytes cannot be decoded by Pillow: empty, truncated, corrupt or not an image format; the caller
    adds the file name.
    """

    pass


class UnsupportedImageError(ImageDecodeError):
    """The image decodes but its pixels have no defined 8-bit meaning; not a corrupt file."""


class MaskDecodeError(PixelError):
    """The mask bytes cannot be decoded by Pillow: empty, truncated, corrupt or not an image format; the caller
    adds the file name.
    """

    pass


class MaskSizeError(PixelError):
    """The mask's size in pixels is neither its image's stored size nor (with an EXIF orientation) its displayed
    size, so the two cannot be aligned; the message gives both sizes (see `pair_orientation`).
    """

    pass


class MaskMeaningError(PixelError):
    """The mask decodes but its values have no defined meaning (see `masks`); not a corrupt file."""


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
    # What a split's warnings count (masks.NOTE_*): how the mask was read, an EXIF orientation ignored.
    notes: tuple[str, ...] = ()
    phash: str = ""  # of the source image, whatever the size and mode: see source_phash


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
        left, right = _padded_span(width, side, size)
        top, bottom = _padded_span(height, side, size)
        return Placement((0.0, 0.0, float(width), float(height)), (left, top, right, bottom))
    raise ValueError(f"resize_mode must be one of {RESIZE_MODES}, not {mode!r}")


def _padded_span(length: int, side: int, size: int) -> tuple[int, int]:
    """Where a frame edge of `length` centred in `side` lands on `size` output pixels.

    Edges are rounded to the nearest pixel in exact arithmetic (halves to even, as `round` does),
    so float noise cannot move them. A sliver that would round to nothing (a 4000x5 image at 512)
    keeps the one pixel under its centre, so every image leaves at least one output pixel of content.
    """
    offset = (side - length) // 2
    start, end = round(Fraction(offset * size, side)), round(Fraction((offset + length) * size, side))
    if end > start:
        return start, end
    centre = min(math.floor(Fraction((2 * offset + length) * size, 2 * side)), size - 1)
    return centre, centre + 1


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
    """The (x, y) pixel, in the displayed frame of a width x height image (pixels), whose colour fills the padding
    in `pad` mode: PAD_COLOUR_INSET pixels up and left of the bottom-right corner (as the seed generator did),
    clamped into the image for images smaller than that.
    """
    return (
        min(max(width - PAD_COLOUR_INSET, 0), width - 1),
        min(max(height - PAD_COLOUR_INSET, 0), height - 1),
    )


def prepare_pair(
    image_bytes: bytes,
    mask_bytes: bytes,
    size: int = DEFAULTS.size,
    resize_mode: ResizeMode = DEFAULTS.resize_mode,
    image_format: ImageFormat = DEFAULTS.image_format,
) -> PreparedPair:
    """The square image and mask of one pair, in the one frame they share (see `pair_orientation`).

    image_bytes, mask_bytes: the files as ISIC ships them (JPEG/PNG image; PNG mask, {0, 255} or any
        values `masks.read_truth` gives a meaning to).
    size: the side of the square output in pixels. resize_mode: "pad" (the whole image, letterboxed with
        the colour at `pad_colour_position`), "stretch" (aspect ratio not kept) or "center_crop" (the
        central square of the image); the mask always goes through the same `Placement` as the image.
    image_format: "jpeg" (quality JPEG_QUALITY) or "png" for the encoded square image.

    Returns a PreparedPair: `image`, the encoded RGB size x size image; `mask`, a palette PNG of size x size
    whose `np.array` is uint8 {0, 1} (1: lesion, where at least half the source area under the pixel is
    lesion); `original_width`/`original_height`, the image's size in pixels in the frame the pair shares;
    `notes`, how the mask was read; `phash`, the source image's perceptual hash (`source_phash`).
    Raises ImageDecodeError / UnsupportedImageError for the image, MaskDecodeError, MaskSizeError and
    MaskMeaningError for the mask; the caller adds the file name.
    """
    with _open(image_bytes, ImageDecodeError) as image:
        with _open(mask_bytes, MaskDecodeError) as mask_file:
            mask_size = mask_file.size  # the header only: nothing decoded yet
        tag = _orientation(image)
        orientation, ignored = pair_orientation(tag, image.size, mask_size)
        encoded, (width, height), fingerprint = _prepare_open_image(
            image, image_bytes, orientation, size, resize_mode, image_format
        )
    mask, reading = _prepare_mask(mask_bytes, (width, height), size, resize_mode)
    notes = reading.notes + ((NOTE_ORIENTATION_IGNORED,) if ignored else ())
    return PreparedPair(encoded, mask, width, height, notes, fingerprint)


def pair_orientation(tag: int, stored: tuple[int, int], mask_size: tuple[int, int]) -> tuple[int, bool]:
    """The EXIF orientation to apply to an image whose mask is `mask_size`, and whether its tag is ignored.

    ISIC's data pages say the images' remaining EXIF tags should not be relied upon, and ISIC masks are
    drawn on the stored pixels: a mask of the stored size keeps the image in its stored frame (a square
    image, and orientations 2 to 4, always do); a mask of only the oriented size makes the image oriented.
    Raises MaskSizeError naming the EXIF tag when the mask fits neither.
    """
    if tag not in _TRANSPOSE_FOR_ORIENTATION:
        if mask_size != stored:
            raise MaskSizeError(_size_mismatch(mask_size, stored))
        return 1, False
    if mask_size == stored:
        return 1, True
    oriented = _oriented_size(stored, tag)
    if mask_size == oriented:
        return tag, False
    raise MaskSizeError(
        f"{_size_mismatch(mask_size, stored)} as stored, {oriented[0]}x{oriented[1]} with its EXIF Orientation {tag}"
    )


def _size_mismatch(mask_size: tuple[int, int], image_size: tuple[int, int]) -> str:
    return f"mask is {mask_size[0]}x{mask_size[1]} but its image is {image_size[0]}x{image_size[1]}"


def prepare_image(
    image_bytes: bytes, size: int, resize_mode: ResizeMode, image_format: ImageFormat
) -> tuple[bytes, tuple[int, int], str]:
    """Return the encoded square image, the source's displayed size (its EXIF orientation applied) and its
    perceptual hash (`source_phash`)."""
    with _open(image_bytes, ImageDecodeError) as image:
        return _prepare_open_image(image, image_bytes, _orientation(image), size, resize_mode, image_format)


def _prepare_open_image(
    image: Image.Image,
    image_bytes: bytes,
    orientation: int,
    size: int,
    resize_mode: ResizeMode,
    image_format: ImageFormat,
) -> tuple[bytes, tuple[int, int], str]:
    """The encoded square image, the size of the frame it was taken in (`orientation` applied) and the
    source's perceptual hash in that frame (`source_phash`; `image_bytes` are the bytes `image` was opened
    from, decoded again only when the output needed a finer decode than the hash's)."""
    stored_width, stored_height = image.size
    width, height = _oriented_size(image.size, orientation)
    place = placement(width, height, size, resize_mode)
    stored_box = _box_in_stored_frame(place.source_box, orientation, (stored_width, stored_height))
    stored_target = _stored_size(place.target_size, orientation)

    scale = 1.0
    if image.format == "JPEG":
        needed = decode_request((stored_width, stored_height), stored_box, stored_target)
        # No coarser than the hash's own decode, so that one decode serves both whenever the output needs
        # no finer one (the default build, and every smaller one).
        needed = tuple(map(max, needed, hash_decode_request((stored_width, stored_height))))
        drafted = image.draft("RGB" if image.mode == "RGB" else None, needed)
        if drafted is not None:
            scale = stored_width / drafted[1][2]
    if image.mode in _UNSCALABLE_MODES:
        raise UnsupportedImageError(
            f"the image has {'floating-point' if image.mode == 'F' else '32-bit integer'} pixels "
            f"(Pillow mode {image.mode}), whose brightness range is unknown: save it with 8 or 16 bits per channel"
        )
    try:
        image.load()
        rgb = to_rgb(image)
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
        pixel = _box_in_stored_frame((pad_x, pad_y, pad_x + 1, pad_y + 1), orientation, (stored_width, stored_height))
        reduced_pixel = (
            min(int(pixel[0] / scale), rgb.width - 1),
            min(int(pixel[1] / scale), rgb.height - 1),
        )
        square = Image.new("RGB", (size, size), rgb.getpixel(reduced_pixel))
        square.paste(resized, place.target_box[:2])
    fingerprint = source_phash(image_bytes, rgb, orientation)
    return encode_image(square, image_format), (width, height), fingerprint


def hash_decode_request(stored_size: tuple[int, int]) -> tuple[int, int]:
    """The decode the perceptual hash is taken from: the whole frame at the DCT scale that covers
    HASH_DECODE_SIDE pixels along its longer side (the default build's own pad decode), whatever the build."""
    place = placement(stored_size[0], stored_size[1], HASH_DECODE_SIDE, "pad")
    return decode_request(stored_size, place.source_box, place.target_size)


def source_phash(image_bytes: bytes, decoded: Image.Image | None = None, orientation: int | None = None) -> str:
    """`phash.phash` of the source as displayed (EXIF orientation applied), decoded at `hash_decode_request`.

    The same photograph decoded at two of libjpeg's DCT scales can differ in up to 4 bits, so the hash is
    always taken of this one decode, which depends on the source alone: a 256 and a 512 build, padded or
    cropped, give the same hash. `decoded` is the caller's 8-bit RGB decode of the same bytes (stored
    orientation, `orientation` its EXIF value); it is reused when it is that decode (same size, hence same
    scale), and otherwise the source is decoded again at the hash's scale. Raises ImageDecodeError.
    """
    with _open(image_bytes, ImageDecodeError) as probe:
        if orientation is None:
            orientation = _orientation(probe)
        if probe.format == "JPEG":
            probe.draft("RGB" if probe.mode == "RGB" else None, hash_decode_request(probe.size))
        if decoded is None or decoded.size != probe.size:
            try:
                probe.load()
                decoded = to_rgb(probe)
            except _DECODE_ERRORS as error:
                raise ImageDecodeError(f"cannot decode the image: {error}") from error
    grey = decoded.convert("L")
    if orientation in _TRANSPOSE_FOR_ORIENTATION:
        grey = grey.transpose(_TRANSPOSE_FOR_ORIENTATION[orientation])
    return phash(grey)


def prepare_mask(mask_bytes: bytes, image_size: tuple[int, int], size: int, resize_mode: ResizeMode) -> bytes:
    """Return the square mask, placed exactly like its image, encoded by `encode_mask`.

    The mask's values are read by `masks.read_truth`; raises MaskDecodeError, MaskSizeError, MaskMeaningError.
    """
    return _prepare_mask(mask_bytes, image_size, size, resize_mode)[0]


def prepare_frame_mask(
    mask_bytes: bytes, frame: tuple[int, int], size: int, resize_mode: ResizeMode
) -> tuple[bytes, tuple[str, ...]]:
    """Another mask of a prepared pair (one more annotator's, a consensus): placed exactly like the pair's mask.

    frame: the pair's (original_width, original_height), the frame its image and mask share; the mask must have
    that size. Returns the encoded square mask (`encode_mask`) and how it was read (`masks.ReadingNotes` codes).
    Raises MaskDecodeError, MaskSizeError, MaskMeaningError; the caller adds the file name."""
    encoded, reading = _prepare_mask(mask_bytes, frame, size, resize_mode)
    return encoded, reading.notes


def read_mask(mask_bytes: bytes) -> TruthMask:
    """A mask file's bytes read by the one rule (`masks.read_truth`); MaskDecodeError / MaskMeaningError."""
    with _open(mask_bytes, MaskDecodeError) as mask:
        return _read_open_mask(mask)


def _read_open_mask(mask: Image.Image) -> TruthMask:
    try:
        mask.load()
        return read_truth(mask)
    except MaskValueError as error:
        raise MaskMeaningError(f"the mask {error}") from error
    except _DECODE_ERRORS as error:
        raise MaskDecodeError(f"cannot decode the mask: {error}") from error


def _prepare_mask(
    mask_bytes: bytes, image_size: tuple[int, int], size: int, resize_mode: ResizeMode
) -> tuple[bytes, TruthMask]:
    with _open(mask_bytes, MaskDecodeError) as mask:
        if mask.size != image_size:
            raise MaskSizeError(_size_mismatch(mask.size, image_size))
        reading = _read_open_mask(mask)
    source = reading.binary
    lesion_box = source.getbbox()  # non-zero pixels; output outside it is background anyway
    window = np.asarray(source.crop(lesion_box)) != 0 if lesion_box is not None else None
    place = placement(image_size[0], image_size[1], size, resize_mode)
    square = np.zeros((size, size), dtype=bool)
    if window is not None:
        left, top = place.target_box[:2]
        (first_x, first_y), lesion = area_threshold(window, lesion_box[:2], place)
        square[top + first_y : top + first_y + lesion.shape[0], left + first_x : left + first_x + lesion.shape[1]] = (
            lesion
        )
    return encode_mask(square), reading


def area_threshold(window: np.ndarray, origin: tuple[int, int], place: Placement) -> tuple[tuple[int, int], np.ndarray]:
    """Lesion where at least half the area under an output pixel is lesion, decided exactly.

    `window` is the binary source from pixel `origin` (x, y) on; the source is background
    everywhere outside it, so any window holding every lesion pixel gives the same answer as the
    whole frame (the lesion's bounding box is the cheapest). Returns the first output pixel (x, y)
    whose footprint meets the window, and the block of output pixels from there that does.

    Each output pixel's footprint is its share of the source box, with fractional source pixels
    at its edges. Measured in 1/(2 * output pixels) of a source pixel, every footprint edge is a
    whole number (pad and stretch boxes are whole, centre-crop offsets at worst halves), so the
    lesion area under each footprint is an integer sum, and "at least half" is
    compared exactly: no rounding, and ties at exactly one half are lesion.
    """
    left, top, right, bottom = place.source_box
    width, height = place.target_size
    edges_x, unit_x = _footprint_edges(left, right, width)
    edges_y, unit_y = _footprint_edges(top, bottom, height)
    first_x, last_x = _meeting(edges_x, origin[0] * unit_x, (origin[0] + window.shape[1]) * unit_x)
    first_y, last_y = _meeting(edges_y, origin[1] * unit_y, (origin[1] + window.shape[0]) * unit_y)
    if first_x >= last_x or first_y >= last_y:
        return (0, 0), np.zeros((0, 0), dtype=bool)
    # Lesion height under each footprint row, per source column; then lesion area under each footprint.
    heights = _integrate_down(window, edges_y[first_y : last_y + 1] - origin[1] * unit_y, unit_y)
    areas = _integrate_along(heights, edges_x[first_x : last_x + 1] - origin[0] * unit_x, unit_x)
    footprint_area = int(edges_x[1] - edges_x[0]) * int(edges_y[1] - edges_y[0])
    return (first_x, first_y), 2 * areas >= footprint_area


def _footprint_edges(low: float, high: float, count: int) -> tuple[np.ndarray, int]:
    """The count + 1 edges of the output pixels over [low, high], in units of 1/(2 * count) source pixel."""
    unit = 2 * count
    low_units, step = Fraction(low) * unit, Fraction(high - low) * 2
    if low_units.denominator != 1 or step.denominator != 1:
        raise ValueError(f"source box edge {low} or {high} is not a whole or half source pixel")
    return int(low_units) + int(step) * np.arange(count + 1, dtype=np.int64), unit


def _meeting(edges: np.ndarray, start: int, stop: int) -> tuple[int, int]:
    """The output pixels whose footprint overlaps [start, stop) by a positive length."""
    first = int(np.searchsorted(edges[1:], start, side="right"))
    last = int(np.searchsorted(edges[:-1], stop, side="left"))
    return first, last


def _integrate_down(binary: np.ndarray, edges: np.ndarray, unit: int) -> np.ndarray:
    """Per column, the lesion length between consecutive edges down `binary` (rows beyond it are background).

    Edges are in units of 1/unit source pixel from the first row. Between two edges lie the whole
    rows from one edge's row to the next's, less the part of the first one above the first edge,
    plus the part of the last one above the second edge. Summing runs of whole rows is the
    window's one full pass; numpy adds rows far faster than it accumulates along them.
    """
    count = binary.shape[0]
    whole, part = np.divmod(np.clip(edges, 0, count * unit), unit)
    longest = int(np.diff(whole).max())
    rows = np.empty((len(edges) - 1, binary.shape[1]), dtype=np.uint16 if longest < 2**16 else np.int64)
    counts = binary.view(np.uint8)  # numpy adds bytes faster than booleans
    for index, (start, stop) in enumerate(zip(whole[:-1].tolist(), whole[1:].tolist(), strict=True)):
        np.add.reduce(counts[start:stop], axis=0, dtype=rows.dtype, out=rows[index])
    edge_rows = binary[np.minimum(whole, count - 1)] * part[:, None]  # `part` is 0 past the last row
    return unit * rows.astype(np.int64) + np.diff(edge_rows, axis=0)


def _integrate_along(values: np.ndarray, edges: np.ndarray, unit: int) -> np.ndarray:
    """Per row, the integral of `values` (one per source pixel, zero beyond) between consecutive edges.

    Edges are in units of 1/unit source pixel from the first column; the integral up to an edge
    is `unit` times the sum of the whole pixels before it plus the covered part of the pixel it is in.
    """
    count = values.shape[1]
    whole, part = np.divmod(np.clip(edges, 0, count * unit), unit)
    sums = np.zeros((values.shape[0], count + 1), dtype=np.int64)
    np.cumsum(values, axis=1, out=sums[:, 1:])  # sums[:, k]: the first k pixels
    return np.diff(unit * sums[:, whole] + values[:, np.minimum(whole, count - 1)] * part, axis=1)


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit RGB; 16-bit greyscale is scaled (65535 becomes 255), where Pillow's own conversion clips it to white.

    16-bit RGB(A) and greyscale-with-alpha PNGs already open as 8-bit modes in Pillow; alpha is dropped.
    """
    if image.mode in _SIXTEEN_BIT_MODES:
        values = np.asarray(image).astype(np.uint32)
        return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8)).convert("RGB")
    return image.convert("RGB")


def encode_image(image: Image.Image, image_format: ImageFormat) -> bytes:
    if image_format == "jpeg":
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        return buffer.getvalue()
    if image_format == "png":
        return encode_png(image)
    raise ValueError(f"image_format must be one of {IMAGE_FORMATS}, not {image_format!r}")


# Class indices of the stored masks (named in releases.SEGMENTATION_NAMES), as PASCAL VOC stores them;
# the palette shows them black and white.
MASK_PALETTE = [0, 0, 0, 255, 255, 255]


def encode_mask(lesion: np.ndarray) -> bytes:
    """The stored form of a square mask: a palette PNG of class indices 0/1, shown black and white.

    `np.array(mask)` gives {0, 1} (what `transformers` and PyTorch losses expect: 255 would be
    their ignore_index); `mask.convert("L")` gives the {0, 255} of ISIC's own files.
    """
    image = Image.fromarray(lesion.view(np.uint8), mode="P") if lesion.dtype == bool else Image.fromarray(lesion)
    image = image if image.mode == "P" else image.convert("P")
    image.putpalette(MASK_PALETTE)
    return encode_png(image)


def encode_png(image: Image.Image) -> bytes:
    """`image` as PNG bytes, in its own mode and size (Pillow's default compression: lossless, deterministic for
    the same Pillow and zlib).
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _open(data: bytes, error_type: type[PixelError]) -> Image.Image:
    """`Image.open` on bytes, with every decoder complaint turned into our `PixelError`.

    Pillow's own "cannot identify image file <_io.BytesIO object at 0x...>" names an object
    the user never saw, so the two common causes get words of their own.
    """
    kind = "image" if error_type is ImageDecodeError else "mask"
    if not data:
        raise error_type(f"cannot read the {kind}: the file is empty")
    try:
        return Image.open(io.BytesIO(data))
    except Image.UnidentifiedImageError as error:
        raise error_type(f"cannot read the {kind}: not a recognised image format") from error
    except _DECODE_ERRORS as error:
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


__all__ = [
    "JPEG_QUALITY",
    "PAD_COLOUR_INSET",
    "ImageDecodeError",
    "MaskDecodeError",
    "MaskMeaningError",
    "MaskSizeError",
    "PixelError",
    "Placement",
    "UnsupportedImageError",
    "decode_request",
    "encode_png",
    "hash_decode_request",
    "pad_colour_position",
    "placement",
    "prepare_frame_mask",
    "prepare_image",
    "prepare_mask",
    "prepare_pair",
    "read_mask",
    "source_phash",
    "to_rgb",
]
