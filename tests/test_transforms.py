"""The pixel transforms on bytes: geometry, binary masks, decoding corners and errors."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFilter

from skin_cancer.dataset import transforms
from skin_cancer.dataset.transforms import (
    ImageDecodeError,
    MaskDecodeError,
    MaskSizeError,
    decode_request,
    placement,
    prepare_image,
    prepare_mask,
    prepare_pair,
)
from skin_cancer.tools.sample import jpeg_bytes, png_bytes, synthetic_pair


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def pair_bytes(width: int, height: int, seed: int = 1) -> tuple[bytes, bytes, Image.Image, Image.Image]:
    image, mask = synthetic_pair(width, height, seed)
    return jpeg_bytes(image), png_bytes(mask), image, mask


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.logical_and(a, b).sum() / np.logical_or(a, b).sum())


@pytest.mark.parametrize(
    ("width", "height", "size", "expected"),
    [
        (3008, 2000, 512, (0, 86, 512, 426)),  # landscape: bars top and bottom
        (767, 1023, 512, (64, 0, 448, 512)),  # portrait: bars left and right
        (800, 800, 256, (0, 0, 256, 256)),
        (641, 479, 333, (0, 42, 333, 291)),
    ],
)
def test_pad_places_the_frame_centred(width, height, size, expected):
    assert placement(width, height, size, "pad").target_box == expected


def test_center_crop_and_stretch_fill_the_square():
    assert placement(3000, 2000, 512, "center_crop").source_box == (500.0, 0.0, 2500.0, 2000.0)
    assert placement(3000, 2000, 512, "stretch").source_box == (0.0, 0.0, 3000.0, 2000.0)
    assert placement(3000, 2000, 512, "stretch").target_box == (0, 0, 512, 512)


def test_decoder_is_asked_for_the_footprint_not_the_square(real_sample):
    """3008x2000 at 512: the footprint is 512x340, so libjpeg may decode at 1/4 (752x500), not 1/2."""
    path = real_sample / "ISIC-2017_Validation_Data" / "ISIC_0012254.jpg"
    place = placement(3008, 2000, 512, "pad")
    request = decode_request((3008, 2000), place.source_box, place.target_size)
    assert request == (512, 340)
    with Image.open(path) as image:
        assert image.size == (3008, 2000)
        image.draft("RGB", request)
        assert image.size == (752, 500)


@pytest.mark.parametrize("mode", ["pad", "stretch", "center_crop"])
@pytest.mark.parametrize(("width", "height"), [(1024, 768), (767, 1023), (641, 479)])
def test_outputs_are_square_rgb_and_binary(mode, width, height):
    image_bytes, mask_bytes, _, _ = pair_bytes(width, height)
    pair = prepare_pair(image_bytes, mask_bytes, size=300, resize_mode=mode)
    image, mask = Image.open(io.BytesIO(pair.image)), Image.open(io.BytesIO(pair.mask))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (300, 300))
    assert (mask.format, mask.mode, mask.size) == ("PNG", "P", (300, 300))
    assert set(np.unique(np.asarray(mask))) <= {0, 1}, "class indices: 0 background, 1 lesion"
    assert mask.getpalette()[:6] == [0, 0, 0, 255, 255, 255], "shown black and white"
    assert set(np.unique(np.asarray(mask.convert("L")))) <= {0, 255}, "ISIC's own {0, 255} in one call"
    assert (pair.original_width, pair.original_height) == (width, height)


def test_png_option_is_lossless_png():
    image_bytes, mask_bytes, _, _ = pair_bytes(640, 480)
    pair = prepare_pair(image_bytes, mask_bytes, size=128, image_format="png")
    assert Image.open(io.BytesIO(pair.image)).format == "PNG"


def test_pad_fills_with_the_colour_near_the_bottom_right():
    image = Image.new("RGB", (1000, 500), (10, 20, 30))
    image.paste((200, 100, 50), (900, 400, 940, 440))  # around (w-80, h-80) = (920, 420)
    data = decode(prepare_image(jpeg_bytes(image), 200, "pad", "jpeg")[0])
    top_band = data[:40].reshape(-1, 3).astype(int)
    assert np.abs(top_band - [200, 100, 50]).max() <= 6


def test_mask_is_aligned_with_an_independent_pad_and_resize():
    image_bytes, mask_bytes, _, mask = pair_bytes(1500, 1000, seed=7)
    ours = decode(prepare_pair(image_bytes, mask_bytes, size=512).mask) > 0
    canvas = Image.new("L", (1500, 1500), 0)
    canvas.paste(mask, (0, 250))
    reference = np.asarray(canvas.resize((512, 512), Image.Resampling.BILINEAR)) >= 128
    assert iou(ours, reference) > 0.98


def test_image_and_mask_share_the_geometry():
    """The dark synthetic lesion must sit where the mask says, in every mode."""
    image_bytes, mask_bytes, _, _ = pair_bytes(1200, 700, seed=3)
    for mode in ("pad", "stretch", "center_crop"):
        pair = prepare_pair(image_bytes, mask_bytes, size=256, resize_mode=mode)
        dark = decode(pair.image).mean(axis=2) < 100
        assert iou(dark, decode(pair.mask) > 0) > 0.9, mode


@pytest.mark.parametrize("values", ["zero_one", "antialiased"])
def test_zero_one_masks_are_class_indices_and_others_are_read_at_the_official_threshold(values):
    _, _, _, mask = pair_bytes(900, 600, seed=5)
    lesion = np.asarray(mask) > 0
    if values == "zero_one":
        source = Image.fromarray(lesion.astype(np.uint8), mode="L")
        expected_lesion = lesion
    else:
        source = mask.filter(ImageFilter.GaussianBlur(4))
        expected_lesion = np.asarray(source) > 128  # ISIC's scorer's reading, not "any non-zero value"
        assert (np.asarray(source) > 0).sum() > expected_lesion.sum() * 1.02
    reference = Image.fromarray(np.where(expected_lesion, 255, 0).astype(np.uint8), mode="L")
    ours = decode(prepare_mask(png_bytes(source), (900, 600), 256, "pad"))
    expected = decode(prepare_mask(png_bytes(reference), (900, 600), 256, "pad"))
    assert set(np.unique(ours)) == {0, 1}
    assert np.array_equal(ours, expected)


def test_rgb_and_bilevel_masks_are_accepted():
    _, _, _, mask = pair_bytes(400, 300, seed=2)
    expected = decode(prepare_mask(png_bytes(mask), (400, 300), 128, "pad"))
    for converted in (mask.convert("RGB"), mask.convert("1")):
        assert np.array_equal(decode(prepare_mask(png_bytes(converted), (400, 300), 128, "pad")), expected)


def test_output_is_deterministic():
    image_bytes, mask_bytes, _, _ = pair_bytes(2048, 1536, seed=9)
    assert prepare_pair(image_bytes, mask_bytes) == prepare_pair(image_bytes, mask_bytes)


# Pillow's exif_transpose applies these; the stored pixels are the inverse of the displayed ones.
INVERSE_OF_DISPLAY = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_exif_orientation_is_applied_when_only_the_oriented_frame_fits_the_mask(orientation):
    displayed, mask = synthetic_pair(1203, 801, seed=11)
    displayed.paste((0, 0, 255), (0, 0, 300, 200))  # an asymmetric marker in the top-left corner
    stored = displayed.transpose(INVERSE_OF_DISPLAY[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    rotated_bytes = jpeg_bytes(stored, exif=exif.tobytes())
    assert Image.open(io.BytesIO(rotated_bytes)).getexif()[0x0112] == orientation

    expected = prepare_pair(jpeg_bytes(displayed), png_bytes(mask), size=256)
    ours = prepare_pair(rotated_bytes, png_bytes(mask), size=256)
    assert (ours.original_width, ours.original_height) == (1203, 801)
    assert np.array_equal(decode(ours.mask), decode(expected.mask))
    difference = np.abs(decode(ours.image).astype(int) - decode(expected.image).astype(int))
    assert difference.mean() < 2.5
    assert ours.notes == ()


@pytest.mark.parametrize("orientation", sorted(INVERSE_OF_DISPLAY))
def test_a_mask_of_the_stored_size_keeps_the_image_in_its_stored_frame(orientation):
    """ISIC masks are drawn on the stored pixels: the tag is ignored (and counted) when the mask fits them."""
    stored, mask = synthetic_pair(1203, 801, seed=11)
    stored.paste((0, 0, 255), (0, 0, 300, 200))
    exif = Image.Exif()
    exif[0x0112] = orientation
    expected = prepare_pair(jpeg_bytes(stored), png_bytes(mask), size=256)
    ours = prepare_pair(jpeg_bytes(stored, exif=exif.tobytes()), png_bytes(mask), size=256)
    assert (ours.original_width, ours.original_height) == (1203, 801)
    assert ours.mask == expected.mask and ours.image == expected.image
    assert ours.notes == ("orientation_ignored",)


def test_a_square_image_keeps_its_stored_frame_and_a_misfit_names_the_tag():
    stored, mask = synthetic_pair(700, 700, seed=12)
    exif = Image.Exif()
    exif[0x0112] = 6
    ours = prepare_pair(jpeg_bytes(stored, exif=exif.tobytes()), png_bytes(mask), size=128)
    assert ours.image == prepare_pair(jpeg_bytes(stored), png_bytes(mask), size=128).image
    assert ours.notes == ("orientation_ignored",)
    other, other_mask = synthetic_pair(900, 700, seed=13)
    with pytest.raises(MaskSizeError, match="800x600 but its image is 900x700 as stored, 700x900 with its EXIF Orie"):
        prepare_pair(jpeg_bytes(other, exif=exif.tobytes()), png_bytes(other_mask.resize((800, 600))), size=128)


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grey_and_cmyk_jpegs_become_rgb(mode):
    image, mask = synthetic_pair(800, 600, seed=4)
    pair = prepare_pair(jpeg_bytes(image.convert(mode)), png_bytes(mask), size=128)
    out = Image.open(io.BytesIO(pair.image))
    assert out.mode == "RGB"
    reference = decode(prepare_pair(jpeg_bytes(image.convert(mode).convert("RGB")), png_bytes(mask), 128).image)
    assert np.abs(decode(pair.image).astype(int) - reference.astype(int)).mean() < 3


def test_palette_source_becomes_rgb():
    image, mask = synthetic_pair(500, 400, seed=6)
    pair = prepare_pair(png_bytes(image.convert("P")), png_bytes(mask), size=128)
    assert Image.open(io.BytesIO(pair.image)).mode == "RGB"


def test_truncated_and_garbage_images_raise_image_errors():
    image_bytes, mask_bytes, _, _ = pair_bytes(1024, 768)
    for broken in (image_bytes[: len(image_bytes) // 2], b"not a jpeg at all"):
        with pytest.raises(ImageDecodeError):
            prepare_pair(broken, mask_bytes)


def test_truncated_mask_raises_a_mask_error():
    image_bytes, mask_bytes, _, _ = pair_bytes(1024, 768)
    with pytest.raises(MaskDecodeError):
        prepare_pair(image_bytes, mask_bytes[: len(mask_bytes) // 2])


def test_mask_of_another_size_is_refused():
    image_bytes, _, _, _ = pair_bytes(1024, 768)
    _, other_mask, _, _ = pair_bytes(1000, 768)
    with pytest.raises(MaskSizeError, match="1000x768 but its image is 1024x768"):
        prepare_pair(image_bytes, other_mask)


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="resize_mode"):
        transforms.placement(10, 10, 5, "squash")  # type: ignore[arg-type]


def test_empty_and_full_masks():
    empty = Image.new("L", (640, 480), 0)
    full = Image.new("L", (640, 480), 255)
    assert not decode(prepare_mask(png_bytes(empty), (640, 480), 64, "pad")).any()
    filled = decode(prepare_mask(png_bytes(full), (640, 480), 64, "pad")) > 0
    content = np.zeros((64, 64), dtype=bool)
    content[8:56] = True  # 480 of 640 rows, centred
    assert np.array_equal(filled, content)


def png_16_bit(values: np.ndarray) -> bytes:
    """A 16-bit PNG written by hand: Pillow writes 16-bit greyscale but not 16-bit colour or grey+alpha."""
    height, width = values.shape[:2]
    channels = 1 if values.ndim == 2 else values.shape[2]
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = values.astype(">u2").reshape(height, width * channels)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def real_rgb(real_sample) -> np.ndarray:
    """A real dermoscopy image, reduced so that the 16-bit variants below stay quick to write."""
    with Image.open(real_sample / "ISIC-2017_Validation_Data" / "ISIC_0012254.jpg") as image:
        return np.asarray(image.reduce(4).convert("RGB"))


def square_image(data: bytes, mode: str = "pad") -> np.ndarray:
    return decode(prepare_image(data, 256, mode, "png")[0]).astype(int)


@pytest.mark.parametrize("mode", ["pad", "center_crop"])
def test_16_bit_greyscale_is_scaled_not_clipped_to_white(real_rgb, mode):
    grey = np.asarray(Image.fromarray(real_rgb).convert("L"))
    expected = square_image(png_bytes(Image.fromarray(grey)), mode)
    assert 100 < expected.mean() < 200
    wide = grey.astype(np.uint16) * 257  # the same picture in 16 bits: 255 becomes 65535
    little = Image.fromarray(wide)
    assert little.mode == "I;16"
    big = Image.frombytes("I;16B", little.size, wide.astype(">u2").tobytes())
    for source in (png_bytes(little), png_16_bit(wide), tiff_bytes(little), tiff_bytes(big)):
        assert Image.open(io.BytesIO(source)).mode in ("I;16", "I;16B")
        assert np.array_equal(square_image(source, mode), expected)


def test_16_bit_greyscale_rounds_to_the_nearest_8_bit_value():
    values = np.array([[0, 128, 129, 256, 32767, 32768, 65407, 65408, 65535]], dtype=np.uint16)
    scaled = np.asarray(transforms.to_rgb(Image.fromarray(values)))[0, :, 0]
    assert scaled.tolist() == [round(v * 255 / 65535) for v in values[0].tolist()]


def test_16_bit_colour_and_alpha_pngs_match_their_8_bit_pictures(real_rgb):
    expected_rgb = square_image(png_bytes(Image.fromarray(real_rgb)))
    grey = np.asarray(Image.fromarray(real_rgb).convert("L"))
    expected_grey = square_image(png_bytes(Image.fromarray(grey)))
    alpha = np.full(grey.shape, 200, dtype=np.uint8)
    wide_rgb, wide_grey, wide_alpha = (
        real_rgb.astype(np.uint16) * 257,
        grey.astype(np.uint16) * 257,
        alpha.astype(np.uint16) * 257,
    )
    cases = [
        (png_16_bit(wide_rgb), expected_rgb),
        (png_16_bit(np.dstack([wide_rgb, wide_alpha])), expected_rgb),
        (png_16_bit(np.dstack([wide_grey, wide_alpha])), expected_grey),
        (png_bytes(Image.fromarray(np.dstack([grey, alpha]), mode="LA")), expected_grey),
    ]
    for source, expected in cases:
        assert np.array_equal(square_image(source), expected), Image.open(io.BytesIO(source)).mode


@pytest.mark.parametrize(("dtype", "mode"), [(np.int32, "I"), (np.float32, "F")])
def test_32_bit_and_float_images_are_refused_by_name(dtype, mode):
    source = tiff_bytes(Image.fromarray(np.full((40, 60), 1000, dtype=dtype)))
    assert Image.open(io.BytesIO(source)).mode == mode
    with pytest.raises(transforms.UnsupportedImageError, match=f"mode {mode}.*8 or 16 bits"):
        prepare_image(source, 64, "pad", "jpeg")


def tiff_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF")
    return buffer.getvalue()


EXTREME_SIZES = [(4000, 5), (5, 4000), (1, 1), (2, 3000), (3000, 2)]


@pytest.mark.parametrize("mode", ["pad", "stretch", "center_crop"])
@pytest.mark.parametrize("size", [16, 512])
@pytest.mark.parametrize(("width", "height"), EXTREME_SIZES)
def test_extreme_aspect_ratios_give_a_valid_example(width, height, size, mode):
    """The content keeps at least one output pixel each way, and image and mask still share it."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    pad_x, pad_y = transforms.pad_colour_position(width, height)
    image.putpixel((pad_x, pad_y), (40, 40, 200))  # the pad colour differs from the content in big images
    mask = Image.new("L", (width, height), 255)
    pair = prepare_pair(png_bytes(image), png_bytes(mask), size, mode, "png")
    left, top, right, bottom = placement(width, height, size, mode).target_box
    assert right - left >= 1 and bottom - top >= 1
    lesion = decode(pair.mask) > 0
    expected = np.zeros((size, size), dtype=bool)
    expected[top:bottom, left:right] = True
    assert np.array_equal(lesion, expected)
    pixels = decode(pair.image)
    assert pixels.shape == (size, size, 3)
    if mode == "pad" and width * height > 1:
        content = pixels[lesion].astype(int)
        assert (content[:, 0] > content[:, 2]).mean() > 0.9  # red where the mask is: the same geometry
        assert (pixels[~lesion][:, 2] > 150).all()  # the blue pad everywhere else


@pytest.mark.parametrize(
    ("data", "cause"),
    [(b"", "the file is empty"), (b"not an image at all", "not a recognised image format"), (b"\x00" * 3, "not a")],
)
def test_unreadable_files_are_named_in_words_not_python_objects(data, cause):
    image_bytes, mask_bytes, _, _ = pair_bytes(320, 240)
    for broken_image, broken_mask, error_type, kind in (
        (data, mask_bytes, ImageDecodeError, "image"),
        (image_bytes, data, MaskDecodeError, "mask"),
    ):
        with pytest.raises(error_type) as raised:
            prepare_pair(broken_image, broken_mask)
        message = str(raised.value)
        assert message.startswith(f"cannot read the {kind}: {cause}")
        assert "BytesIO" not in message and "0x" not in message


def test_the_stored_mask_encoding_is_one_function(monkeypatch):
    """Issue 11 will store class-index palette masks: replacing `encode_mask` alone must be enough."""
    image_bytes, mask_bytes, _, _ = pair_bytes(640, 480, seed=8)
    expected = decode(prepare_pair(image_bytes, mask_bytes, size=128).mask) > 0

    def palette(lesion: np.ndarray) -> bytes:
        indices = Image.fromarray(lesion.astype(np.uint8)).convert("P")
        indices.putpalette([0, 0, 0, 255, 255, 255])
        return transforms.encode_png(indices)

    monkeypatch.setattr(transforms, "encode_mask", palette)
    stored = Image.open(io.BytesIO(prepare_pair(image_bytes, mask_bytes, size=128).mask))
    assert stored.mode == "P"
    assert set(np.unique(np.asarray(stored))) == {0, 1}
    assert np.array_equal(np.asarray(stored) == 1, expected)
    assert np.array_equal(np.asarray(stored.convert("L")) == 255, expected)
