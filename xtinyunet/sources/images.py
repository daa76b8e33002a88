"""Reading and writing the images and masks of a dataset conversion.

Two families, as nnU-Net's readers split them: natural 2D images (PNG, JPEG, TIFF, BMP), read
with Pillow and written as PNG for NaturalImage2DIO; and medical images (NIfTI, MHA, NRRD), read
with SimpleITK and written as NIfTI with their geometry. Every reading error names the file.

Every file is decoded completely, and an incomplete one is an error rather than a damaged case:
Pillow refuses a truncated file (whatever LOAD_TRUNCATED_IMAGES says), SimpleITK refuses
truncated MHA and NRRD data, but it reads a truncated NIfTI with the missing voxels as zeros, so
a NIfTI file's gzip stream must be complete with its CRC right and hold the data its header
describes.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile

NATURAL_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
MEDICAL_SUFFIXES = (".nii.gz", ".nii", ".mha", ".mhd", ".nrrd", ".gipl")
# What nnU-Net's dataset.json says for each family: the written files' ending and reader.
FILE_ENDING = {"natural": ".png", "medical": ".nii.gz"}
READER = {"natural": "NaturalImage2DIO", "medical": "SimpleITKIO"}


def family(path: Path) -> str:
    """'natural' or 'medical', from the file name; ValueError naming the file otherwise."""
    name = path.name.lower()
    if name.endswith(NATURAL_SUFFIXES):
        return "natural"
    if name.endswith(MEDICAL_SUFFIXES):
        return "medical"
    supported = ", ".join(NATURAL_SUFFIXES + MEDICAL_SUFFIXES)
    raise ValueError(f"{path}: unsupported image format (supported: {supported})")


def strip_suffix(name: str) -> str:
    """The file name without its image suffix (.nii.gz counts as one)."""
    lower = name.lower()
    for suffix in MEDICAL_SUFFIXES + NATURAL_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem


@dataclass
class Picture:
    """Pixels, channels first for images ((C, H, W) or (C, Z, Y, X)), no channel axis for masks,
    and for medical images the SimpleITK image whose geometry the written files keep."""

    pixels: np.ndarray
    geometry: object = None

    @property
    def shape(self) -> tuple[int, ...]:
        return self.pixels.shape[-self.spatial_dims :]

    @property
    def spatial_dims(self) -> int:
        return 2 if self.geometry is None else self.geometry.GetDimension()


def _open(path: Path):
    """The file fully decoded, as a Pillow or SimpleITK image; ValueError naming the file if it
    is missing, unreadable or incomplete."""
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    try:
        if family(path) == "natural":
            return _decode_natural(path)
        if path.name.lower().endswith((".nii", ".nii.gz")):
            _check_nifti_complete(path)
        import SimpleITK as sitk

        return sitk.ReadImage(str(path))
    except ValueError:
        raise
    except Exception as error:  # the libraries raise many kinds; all mean "cannot read"
        raise ValueError(f"{path}: cannot read the image ({error})") from None


def _decode_natural(path: Path) -> Image.Image:
    image = Image.open(path)  # reads the header only; load() decodes the pixels
    # Pillow fills a truncated file's missing pixels with gray if this flag is set (by anyone).
    fill_truncated, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        image.load()
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = fill_truncated
    return image


GZIP_MAGIC = b"\x1f\x8b"
NIFTI1_HEADER_BYTES = 348


def _check_nifti_complete(path: Path) -> None:
    """ValueError naming the file if its gzip stream ends early or fails its CRC, or if it holds
    less data than its header describes."""
    with open(path, "rb") as handle:
        compressed = handle.read(2) == GZIP_MAGIC  # some tools write plain NIfTI as .nii.gz
    if compressed:
        size, header = 0, b""
        try:
            with gzip.open(path) as stream:  # checks the CRC and length at the stream's end
                while chunk := stream.read(1 << 20):
                    header += chunk[: NIFTI1_HEADER_BYTES - len(header)]
                    size += len(chunk)
        except (OSError, EOFError, zlib.error) as error:
            raise ValueError(f"{path}: incomplete or damaged gzip data ({error})") from None
    else:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            header = handle.read(NIFTI1_HEADER_BYTES)
    needed = _nifti_data_end(header)
    if needed is not None and size < needed:
        raise ValueError(
            f"{path}: incomplete: its NIfTI header describes {needed} bytes, the file holds "
            f"{size}{' once decompressed' if compressed else ''}"
        )


def _nifti_data_end(header: bytes) -> int | None:
    """Where a single-file NIfTI-1 image's data ends (its offset plus its voxels' bytes); None
    if `header` is no such header: SimpleITK then judges the file (it reads no NIfTI-2)."""
    if len(header) < NIFTI1_HEADER_BYTES or header[344:348] != b"n+1\0":
        return None
    order = next((o for o in "<>" if struct.unpack_from(f"{o}i", header)[0] == 348), None)
    if order is None:
        return None
    ndim, *shape = struct.unpack_from(f"{order}8h", header, 40)
    (bits,) = struct.unpack_from(f"{order}h", header, 72)
    (offset,) = struct.unpack_from(f"{order}f", header, 108)
    if not 1 <= ndim <= 7 or min(shape[:ndim]) < 1 or bits < 1:
        return None
    voxels = int(np.prod(shape[:ndim], dtype=np.int64))
    return int(offset) + (voxels * bits + 7) // 8


def check_complete(path: Path) -> None:
    """Decode the file as a conversion would, for a folder that is used as it is."""
    _open(path)


def read_image(path: Path) -> Picture:
    """One image file: gray, 16-bit gray or RGB for natural images; any medical image."""
    image = _open(path)
    if isinstance(image, Image.Image):
        if image.mode in ("P", "RGBA", "LA", "CMYK", "YCbCr", "1"):
            image = image.convert("L" if image.mode in ("LA", "1") else "RGB")
        pixels = np.asarray(image)
        if image.mode == "F" or (pixels.dtype.kind in "iu" and pixels.dtype.itemsize > 2):
            _check_fits_sixteen_bits(pixels, path)
            pixels = pixels.astype(np.uint16)
        pixels = pixels[None] if pixels.ndim == 2 else np.moveaxis(pixels, -1, 0)
        return Picture(pixels)
    import SimpleITK as sitk

    pixels = sitk.GetArrayFromImage(image)
    if image.GetNumberOfComponentsPerPixel() > 1:
        pixels = np.moveaxis(pixels, -1, 0)
    else:
        pixels = pixels[None]
    return Picture(pixels, geometry=image)


def _check_fits_sixteen_bits(pixels: np.ndarray, path: Path) -> None:
    """A float or 32-bit natural image (TIFF mode F or I) is written as 16-bit PNG, nnU-Net's
    natural image format: only whole values from 0 to 65535 survive that unchanged."""
    if not np.isfinite(pixels).all():
        raise ValueError(f"{path}: NaN or infinite pixel values")
    if not np.array_equal(pixels, np.round(pixels)) or pixels.min() < 0 or pixels.max() > 65535:
        raise ValueError(
            f"{path}: {pixels.dtype} pixels from {pixels.min():g} to {pixels.max():g}; a natural "
            "image (PNG/JPEG/TIFF/BMP) must hold whole values from 0 to 65535. Rescale it, or "
            "store it as NIfTI, whose values are kept as they are"
        )


def _integer_labels(pixels: np.ndarray, path: Path) -> np.ndarray:
    """A mask's values as integers; a float mask must hold whole numbers."""
    if np.issubdtype(pixels.dtype, np.integer):
        return pixels
    if not np.isfinite(pixels).all() or not np.array_equal(pixels, np.round(pixels)):
        raise ValueError(f"{path}: non-integer mask values")
    return pixels.astype(np.int64)


def read_channels(paths: tuple[Path, ...]) -> Picture:
    """Several single-channel files of one case, stacked as its channels."""
    pictures = [read_image(path) for path in paths]
    if len(pictures) == 1:
        return pictures[0]
    for path, picture in zip(paths[1:], pictures[1:]):
        if picture.shape != pictures[0].shape:
            raise ValueError(
                f"{path}: size {picture.shape} differs from {paths[0]} size {pictures[0].shape}"
            )
    return Picture(np.concatenate([p.pixels for p in pictures]), geometry=pictures[0].geometry)


def read_mask(path: Path) -> Picture:
    """A label image: integer values, one channel (a colour mask must be gray in colour)."""
    image = _open(path)
    if isinstance(image, Image.Image):
        pixels = np.asarray(image)  # palette images give their indices, which are the labels
        if image.mode == "1":
            pixels = pixels.astype(np.uint8)
        if pixels.ndim == 3:
            if not (pixels == pixels[..., :1]).all():
                raise ValueError(f"{path}: a colour mask; masks must hold one label per pixel")
            pixels = pixels[..., 0]
        return Picture(_integer_labels(pixels, path))
    import SimpleITK as sitk

    if image.GetNumberOfComponentsPerPixel() > 1:
        raise ValueError(f"{path}: a multi-component mask; masks must hold one label per pixel")
    return Picture(_integer_labels(sitk.GetArrayFromImage(image), path), geometry=image)


def resize(picture: Picture, size: tuple[int, int], is_mask: bool, where: str) -> Picture:
    """Resample a 2D natural image to `size` (height, width): bilinear, nearest for masks."""
    if picture.geometry is not None:
        raise ValueError(f"{where}: resize applies to 2D PNG/JPEG/TIFF/BMP images only")
    height, width = size
    method = Image.Resampling.NEAREST if is_mask else Image.Resampling.BILINEAR
    planes = picture.pixels[None] if is_mask else picture.pixels
    resized = np.stack(
        [np.asarray(Image.fromarray(plane).resize((width, height), method)) for plane in planes]
    )
    return Picture(resized[0] if is_mask else resized)


def write_image(picture: Picture, stem: Path) -> None:
    """`stem`_0000.png (gray or RGB in one file) or `stem`_XXXX.nii.gz, one file per channel."""
    if picture.geometry is None:
        channels = picture.pixels.shape[0]
        if channels not in (1, 3):
            raise ValueError(f"{stem.name}: {channels} channels; PNG holds 1 (gray) or 3 (RGB)")
        pixels = picture.pixels[0] if channels == 1 else np.moveaxis(picture.pixels, 0, -1)
        Image.fromarray(pixels).save(f"{stem}_0000.png")
        return
    import SimpleITK as sitk

    for channel, pixels in enumerate(picture.pixels):
        image = sitk.GetImageFromArray(pixels)
        image.CopyInformation(_first_component(picture.geometry))
        sitk.WriteImage(image, f"{stem}_{channel:04d}.nii.gz", useCompression=True)


def write_mask(labels: np.ndarray, geometry, path_without_suffix: Path) -> None:
    """The label map as PNG (natural) or NIfTI with the image's geometry (medical)."""
    labels = labels.astype(np.uint8)
    if geometry is None:
        Image.fromarray(labels).save(f"{path_without_suffix}.png")
        return
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(labels)
    image.CopyInformation(_first_component(geometry))
    sitk.WriteImage(image, f"{path_without_suffix}.nii.gz", useCompression=True)


def _first_component(image):
    """A vector image's geometry as a scalar image carries it (CopyInformation needs that)."""
    if image.GetNumberOfComponentsPerPixel() == 1:
        return image
    import SimpleITK as sitk

    return sitk.VectorIndexSelectionCast(image, 0)
