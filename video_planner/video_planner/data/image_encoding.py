"""sensor_msgs/Image pixel layout <-> numpy (and OpenCV for channel shuffles), without rclpy or message types.

The functions here read only the fields ``encoding, height, width, step, is_bigendian, data`` of the
object they are given, so they decode an rclpy message, a ``rosbags`` message read from a bag, or any
object with those attributes. That keeps the data importers (which must import without rclpy) on
the same code path as the nodes (``ros/conversions.py`` builds the messages).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from video_planner.errors import ImageConversionError


@dataclass(frozen=True)
class PixelFormat:
    dtype: np.dtype
    channels: int
    # Order of the colour channels in memory ('' for mono/depth).
    layout: str


# The encodings named in sensor_msgs/image_encodings.hpp that a camera driver or our nodes publish.
PIXEL_FORMATS: dict[str, PixelFormat] = {
    'rgb8': PixelFormat(np.dtype(np.uint8), 3, 'rgb'),
    'bgr8': PixelFormat(np.dtype(np.uint8), 3, 'bgr'),
    'rgba8': PixelFormat(np.dtype(np.uint8), 4, 'rgba'),
    'bgra8': PixelFormat(np.dtype(np.uint8), 4, 'bgra'),
    'mono8': PixelFormat(np.dtype(np.uint8), 1, ''),
    '8UC1': PixelFormat(np.dtype(np.uint8), 1, ''),
    'mono16': PixelFormat(np.dtype(np.uint16), 1, ''),
    '16UC1': PixelFormat(np.dtype(np.uint16), 1, ''),
    '32FC1': PixelFormat(np.dtype(np.float32), 1, ''),
}
_TO_RGB = {'bgr': cv2.COLOR_BGR2RGB, 'rgba': cv2.COLOR_RGBA2RGB, 'bgra': cv2.COLOR_BGRA2RGB, '': cv2.COLOR_GRAY2RGB}
COLOUR_ENCODINGS = ('rgb8', 'bgr8', 'rgba8', 'bgra8', 'mono8', '8UC1', 'mono16')
DEPTH_ENCODINGS = ('16UC1', 'mono16', '32FC1')
# REP 118: 16UC1 depth images hold millimetres, 32FC1 depth images hold metres.
MM_PER_M = 1000.0


def _as_bytes(data) -> memoryview | np.ndarray:
    """View a message's ``data`` (array.array, bytes, list or numpy) as raw bytes without a copy."""
    if isinstance(data, np.ndarray):
        return data.reshape(-1).view(np.uint8) if data.dtype.itemsize == 1 else data.tobytes()
    if isinstance(data, (bytes, bytearray, memoryview)):
        return memoryview(data).cast('B')
    try:
        return memoryview(data).cast('B')  # array.array('B') from rclpy
    except TypeError:
        return np.asarray(data, dtype=np.uint8)


def validate_image(msg, expected_size: tuple[int, int] | None = None,
                   encodings: tuple[str, ...] | None = None) -> PixelFormat:
    """Check an Image's header fields against its data; return its pixel format.

    ``expected_size`` is (width, height). Raises ImageConversionError naming the offending field.
    """
    allowed = encodings or tuple(PIXEL_FORMATS)
    encoding = str(msg.encoding)
    if encoding not in PIXEL_FORMATS or encoding not in allowed:
        raise ImageConversionError(
            f"Image.encoding '{encoding}' is not supported here; use one of {', '.join(allowed)}")
    fmt = PIXEL_FORMATS[encoding]
    width, height, step = int(msg.width), int(msg.height), int(msg.step)
    if width <= 0 or height <= 0:
        raise ImageConversionError(
            f'Image.width and Image.height must be positive, got width={width} height={height}')
    row_bytes = width * fmt.channels * fmt.dtype.itemsize
    if step < row_bytes:
        raise ImageConversionError(
            f'Image.step={step} is smaller than width*channels*bytes_per_channel={row_bytes} '
            f'for {width} px of {encoding}')
    n_bytes = len(_as_bytes(msg.data))
    if n_bytes != step * height:
        # Longer data is refused as well: the header no longer says what the bytes are (a wrong height or
        # step), and decoding the first step*height bytes would plan on a misread frame.
        raise ImageConversionError(
            f'Image.data holds {n_bytes} bytes, expected step*height={step}*{height}={step * height}')
    if expected_size is not None and (width, height) != tuple(expected_size):
        raise ImageConversionError(
            f'Image is {width}x{height} (width x height), expected {expected_size[0]}x{expected_size[1]}')
    return fmt


def image_to_array(msg) -> np.ndarray:
    """Decode an Image to its native array: (H,W) for one channel, (H,W,C) otherwise; native byte order.

    Row padding (``step`` larger than a row) is dropped, big-endian data is byte-swapped.
    """
    fmt = validate_image(msg)
    width, height, step = int(msg.width), int(msg.height), int(msg.step)
    raw = np.frombuffer(_as_bytes(msg.data), dtype=np.uint8, count=step * height)
    rows = raw.reshape(height, step)[:, :width * fmt.channels * fmt.dtype.itemsize]
    wire_dtype = fmt.dtype.newbyteorder('>' if msg.is_bigendian else '<')
    # astype copies into native order, so the result never aliases (read-only) message memory.
    pixels = np.ascontiguousarray(rows).view(wire_dtype).astype(fmt.dtype)
    shape = (height, width) if fmt.channels == 1 else (height, width, fmt.channels)
    return pixels.reshape(shape)


def image_to_rgb(msg) -> np.ndarray:
    """Any colour or mono Image -> HxWx3 uint8 RGB (mono16 is scaled down to 8 bits)."""
    validate_image(msg, encodings=COLOUR_ENCODINGS)
    pixels = image_to_array(msg)
    layout = PIXEL_FORMATS[str(msg.encoding)].layout
    if layout == 'rgb':
        return pixels  # already a fresh native copy
    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    # OpenCV's SIMD channel shuffles: a numpy reversed-channel copy is ~50x slower at 720p.
    return cv2.cvtColor(pixels, _TO_RGB[layout])


def image_to_depth_m(msg, allow_all_invalid: bool = False) -> np.ndarray:
    """A depth Image (16UC1/mono16 millimetres or 32FC1 metres) -> HxW float32 metres, NaN where unknown.

    An image with no valid pixel at all is an error (a camera that is not streaming depth), unless
    ``allow_all_invalid``.
    """
    validate_image(msg, encodings=DEPTH_ENCODINGS)
    pixels = image_to_array(msg)
    if pixels.dtype == np.uint16:
        depth_m = pixels.astype(np.float32) / np.float32(MM_PER_M)
        depth_m[pixels == 0] = np.nan
    else:
        depth_m = pixels.astype(np.float32, copy=True)
        depth_m[~np.isfinite(depth_m) | (depth_m <= 0)] = np.nan
    if not allow_all_invalid and not np.isfinite(depth_m).any():
        raise ImageConversionError(
            f'Image.data of the {msg.width}x{msg.height} {msg.encoding} depth image has no valid '
            '(finite, positive) pixel; is the depth stream running?')
    return depth_m


def encode_rgb(rgb: np.ndarray) -> tuple[int, int, int, memoryview]:
    """HxWx3 uint8 RGB -> (height, width, step, raw bytes view) of an rgb8 Image."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ImageConversionError(
            f'an rgb8 image must be an HxWx3 uint8 array, got shape {rgb.shape} dtype {rgb.dtype}')
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageConversionError(f'an rgb8 image must have positive width and height, got {rgb.shape}')
    height, width = rgb.shape[:2]
    return height, width, width * 3, memoryview(np.ascontiguousarray(rgb)).cast('B')


def encode_depth(depth_m: np.ndarray, encoding: str = '32FC1') -> tuple[int, int, int, memoryview]:
    """HxW metres -> (height, width, step, raw bytes view) of a 32FC1 (metres) or 16UC1 (millimetres) Image."""
    depth_m = np.asarray(depth_m)
    if depth_m.ndim != 2 or depth_m.shape[0] == 0 or depth_m.shape[1] == 0:
        raise ImageConversionError(f'a depth image must be a non-empty HxW array, got shape {depth_m.shape}')
    height, width = depth_m.shape
    if encoding == '32FC1':
        pixels = np.ascontiguousarray(depth_m, dtype='<f4')
        return height, width, width * 4, memoryview(pixels).cast('B')
    if encoding == '16UC1':
        mm = np.nan_to_num(depth_m.astype(np.float64) * MM_PER_M, nan=0.0, posinf=0.0, neginf=0.0)
        pixels = np.ascontiguousarray(np.clip(np.rint(mm), 0, np.iinfo(np.uint16).max), dtype='<u2')
        return height, width, width * 2, memoryview(pixels).cast('B')
    raise ImageConversionError(f"depth encoding '{encoding}' is not supported; use one of 32FC1, 16UC1")


def compressed_image_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg/png colour or mono) -> HxWx3 uint8 RGB."""
    data = np.frombuffer(_as_bytes(msg.data), dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise ImageConversionError(
            f"CompressedImage.data ({data.size} bytes, format '{msg.format}') could not be decoded as JPEG/PNG; "
            'compressedDepth and video codecs are not supported')
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def any_image_to_rgb(msg) -> np.ndarray:
    """Image or CompressedImage -> HxWx3 uint8 RGB."""
    if hasattr(msg, 'encoding'):
        return image_to_rgb(msg)
    return compressed_image_to_rgb(msg)
