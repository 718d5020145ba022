"""Read and write videos with PyAV (no OpenCV writer, no ``torchvision.io``).

Value conventions
-----------------
* On disk and in the readers: ``uint8`` frames ``(F, H, W, 3)``, RGB.
* In memory (datasets, models, metrics): ``float`` ``(3, F, H, W)`` in ``[-1, 1]``.
  :func:`to_uint8` and :func:`from_uint8` (:mod:`videoar.io.frames`, re-exported here) convert
  between the two (``to_uint8(from_uint8(x))`` is exact).
* The writers (:func:`write_video`, :func:`write_grid`) accept **both**: a ``uint8`` array or
  tensor ``(F, H, W, 3)`` (or ``(F, H, W)`` grey), or a floating array/tensor ``(3, F, H, W)``
  in ``[-1, 1]`` (values outside are clipped). A float input is always read channels-first.

Formats (chosen from the file extension)
----------------------------------------
* ``.mp4`` / ``.mkv`` / ``.mov``: H.264 (``libx264``, ``crf``), ``yuv420p``; ``.avi``: MPEG-4
  part 2 (``mpeg4``, about 4 bits per pixel); ``.webm``: VP9 (``libvpx-vp9``, ``crf``).
  yuv420p needs even sizes, so a frame with an odd height or width is padded by one row/column
  that repeats the edge; the file is then one pixel larger than the input (documented, never
  silently cropped).
* ``.gif``: PyAV's ``gif`` encoder on ``pal8`` frames with one palette per file: exact when the
  video has at most 256 colours, otherwise a median-cut palette on 15-bit colours
  (:mod:`videoar.io.palette`).

Reading decodes only the frames it needs: it seeks to the keyframe before the first wanted
frame (index = timestamp x frame rate, i.e. a constant frame rate is assumed; pass
``seek=False`` to count frames from the start instead) and stops after the last one, with
``thread_type='AUTO'`` (frame + slice threads). Any failure raises :class:`VideoReadError`
naming the file and the reason.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from fractions import Fraction

import av
import numpy as np

from .frames import as_uint8_frames, from_uint8, make_grid, to_uint8
from .palette import palettize

__all__ = [
    'VideoReadError',
    'read_video',
    'probe_video',
    'write_video',
    'write_grid',
    'make_grid',
    'to_uint8',
    'from_uint8',
    'VIDEO_EXTENSIONS',
]

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.webm', '.gif', '.mkv', '.mov')
_H264_EXTENSIONS = ('.mp4', '.mkv', '.mov')
_WRITE_EXTENSIONS = _H264_EXTENSIONS + ('.avi', '.webm', '.gif')


class VideoReadError(RuntimeError):
    """A video file that cannot be read. ``path`` and ``reason`` are attributes."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f'cannot read video {self.path!r}: {reason}')


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------


def _open(path: str):
    if not os.path.isfile(path):
        raise VideoReadError(path, 'no such file')
    if os.path.getsize(path) == 0:
        raise VideoReadError(path, 'empty file (0 bytes)')
    try:
        container = av.open(path, mode='r')
    except Exception as err:  # av.error.* (InvalidDataError, ...) or OSError
        raise VideoReadError(path, f'not a readable video container ({_describe(err)})') from err
    if not container.streams.video:
        container.close()
        raise VideoReadError(path, 'the container has no video stream')
    return container


def _describe(err: BaseException) -> str:
    text = str(err).strip() or err.__class__.__name__
    return f'{err.__class__.__name__}: {text}' if err.__class__.__name__ not in text else text


class _Reading:
    """The open container of ``path`` as a context manager: on exit it is closed, and any error
    but :class:`VideoReadError` becomes ``VideoReadError(path, '<action> failed (<error>)')``."""

    def __init__(self, path: str, action: str) -> None:
        self.path = path
        self.action = action
        self.thread_type: str | None = None
        self.container = _open(path)
        self.stream = self.container.streams.video[0]

    def use_threads(self, thread_type: str) -> None:
        """Decode with PyAV's ``thread_type`` (kept after :meth:`reopen`)."""
        self.thread_type = thread_type
        self.stream.thread_type = thread_type

    def reopen(self) -> None:
        """Start again from the beginning of the file."""
        self.container.close()
        self.container = _open(self.path)
        self.stream = self.container.streams.video[0]
        if self.thread_type is not None:
            self.stream.thread_type = self.thread_type

    def __enter__(self) -> _Reading:
        return self

    def __exit__(self, exc_type, err, traceback) -> None:
        self.container.close()
        if isinstance(err, Exception) and not isinstance(err, VideoReadError):
            raise VideoReadError(self.path, f'{self.action} failed ({_describe(err)})') from err


def _stream_fps(stream) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate is not None and rate > 0:
            return float(rate)
    return None


def _wanted_indices(
    frame_indices: Sequence[int] | None, start: int, num_frames: int | None, stride: int
) -> list[int] | None:
    if frame_indices is not None:
        indices = [int(i) for i in frame_indices]
    elif num_frames is not None:
        indices = [start + stride * i for i in range(num_frames)]
    else:
        return None  # everything from ``start`` with ``stride``
    if not indices:
        raise ValueError('read_video: no frames requested.')
    if min(indices) < 0:
        raise ValueError(f'read_video: frame indices must be >= 0, got {min(indices)}.')
    return indices


def read_video(
    path: str | os.PathLike,
    frame_indices: Sequence[int] | None = None,
    start: int = 0,
    num_frames: int | None = None,
    stride: int = 1,
    seek: bool = True,
    thread_type: str = 'AUTO',
) -> np.ndarray:
    """Decode frames of a video file as uint8 ``(F, H, W, 3)`` RGB.

    Either ``frame_indices`` (any order, repeats allowed: the output follows it), or
    ``num_frames`` frames ``start, start + stride, ...``; with neither, all frames from ``start``
    with ``stride``. Only frames up to the last wanted one are decoded, starting at the keyframe
    before the first wanted one when ``seek`` is True (see the module docstring).

    Raises:
        VideoReadError: the file is missing, empty, not a video, corrupt, or shorter than a
            requested frame index (the message names the file and the reason).
    """
    if stride < 1:
        raise ValueError(f'read_video: stride must be >= 1, got {stride}.')
    path = os.fspath(path)
    indices = _wanted_indices(frame_indices, start, num_frames, stride)
    first = min(indices) if indices is not None else start
    with _Reading(path, 'decoding') as video:
        video.use_threads(thread_type)
        fps = _stream_fps(video.stream)
        use_pts = (
            seek
            and first > 0
            and fps is not None
            and video.stream.time_base is not None
            and video.container.format.name != 'gif'
        )
        decoded = None
        if use_pts:
            try:
                decoded, last_seen = _decode_by_pts(video, indices, first, fps, stride)
            except _SeekFallback:
                video.reopen()
        if decoded is None:
            decoded, last_seen = _decode_sequential(video, indices, first, stride)

    if indices is None:
        if not decoded:
            raise VideoReadError(path, f'no decodable frame at or after index {start}')
        return np.stack([decoded[i] for i in sorted(decoded)])
    missing = sorted(set(indices) - set(decoded))
    if missing:
        raise VideoReadError(
            path,
            f'frame {missing[0]} was requested but the video ends at frame {last_seen} '
            f'({len(decoded)} of {len(set(indices))} wanted frames decoded; truncated or too '
            'short)',
        )
    return np.stack([decoded[i] for i in indices])


class _SeekFallback(Exception):
    """Timestamps are unusable for this file: decode from the start instead."""


def _is_wanted(index: int, wanted: set | None, first: int, stride: int) -> bool:
    if wanted is not None:
        return index in wanted
    return index >= first and (index - first) % stride == 0


def _decode_sequential(video: _Reading, indices, first, stride) -> tuple[dict, int]:
    wanted = set(indices) if indices is not None else None
    last = max(indices) if indices is not None else math.inf
    decoded: dict[int, np.ndarray] = {}
    index = -1
    for index, frame in enumerate(video.container.decode(video.stream)):
        if _is_wanted(index, wanted, first, stride):
            decoded[index] = frame.to_ndarray(format='rgb24')
        if index >= last:
            break
    return decoded, index


def _decode_by_pts(video: _Reading, indices, first, fps, stride) -> tuple[dict, int]:
    container, stream = video.container, video.stream
    time_base = float(stream.time_base)
    start_pts = stream.start_time or 0
    # aim half a frame early, so rounding never lands after the wanted frame
    target = start_pts + int(math.floor((first - 0.5) / fps / time_base))
    container.seek(max(target, start_pts), stream=stream, backward=True, any_frame=False)
    wanted = set(indices) if indices is not None else None
    last = max(indices) if indices is not None else math.inf
    decoded: dict[int, np.ndarray] = {}
    previous = None
    for frame in container.decode(stream):
        if frame.pts is None:
            raise _SeekFallback
        index = int(round((frame.pts - start_pts) * time_base * fps))
        if previous is None and index > first:
            raise _SeekFallback  # the seek overshot: no keyframe before the first wanted frame
        if previous is not None and index <= previous:
            raise _SeekFallback  # timestamps not increasing one per frame
        previous = index
        if _is_wanted(index, wanted, first, stride):
            decoded[index] = frame.to_ndarray(format='rgb24')
        if index >= last:
            break
    return decoded, (-1 if previous is None else previous)


def probe_video(path: str | os.PathLike, exact: bool = False, verify: bool = False) -> dict:
    """Metadata of a video: ``dict(num_frames, fps, height, width, codec, duration)``.

    ``num_frames`` comes from the container when it stores it; otherwise (webm, gif, some avi)
    the video packets are counted by demuxing, which needs no decoding. With ``exact=True`` all
    frames are decoded and counted (slow, but right even for a lying container). With
    ``verify=True`` the first frame is also decoded, so a file whose header parses but whose
    data does not is caught here. ``duration`` is in seconds (``num_frames / fps`` when unknown).

    Raises:
        VideoReadError: the file is missing, empty, not a video, or (``verify``/``exact``) does
            not decode.
    """
    path = os.fspath(path)
    with _Reading(path, 'probing') as video:
        stream = video.stream
        ctx = stream.codec_context
        info = dict(
            num_frames=int(stream.frames or 0),
            fps=_stream_fps(stream),
            height=int(ctx.height),
            width=int(ctx.width),
            codec=ctx.name,
        )
        if exact:
            video.use_threads('AUTO')
            count = 0
            for frame in video.container.decode(stream):
                if count == 0:
                    info['height'], info['width'] = frame.height, frame.width
                count += 1
            info['num_frames'] = count
        else:
            if verify:
                first = next(iter(video.container.decode(stream)), None)
                if first is None:
                    raise VideoReadError(path, 'the video stream holds no decodable frame')
                info['height'], info['width'] = first.height, first.width
            if info['num_frames'] <= 0:  # not stored: count packets (demuxing, no decoding)
                if verify:
                    video.reopen()
                packets = video.container.demux(video.stream)
                info['num_frames'] = sum(1 for packet in packets if packet.size > 0)
    if info['num_frames'] <= 0:
        raise VideoReadError(path, 'the video stream holds no frames')
    if info['height'] <= 0 or info['width'] <= 0:
        raise VideoReadError(path, 'the video stream has no frame size')
    info['duration'] = info['num_frames'] / info['fps'] if info['fps'] else None
    return info


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------


def _rate(fps: float) -> Fraction:
    if not fps > 0:
        raise ValueError(f'fps must be positive, got {fps}.')
    return Fraction(fps).limit_denominator(1001)


def _pad_even(frames: np.ndarray) -> np.ndarray:
    pad_h = frames.shape[1] % 2
    pad_w = frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode='edge')
    return frames


def write_video(
    path: str | os.PathLike, frames, fps: float = 8, crf: int = 18, options: dict | None = None
) -> str:
    """Write a video; the format follows the extension (see the module docstring).

    Args:
        path: output file (``.mp4``, ``.mkv``, ``.mov``, ``.avi``, ``.webm`` or ``.gif``);
            folders are created.
        frames: uint8 ``(F, H, W, 3)`` / ``(F, H, W)``, or float ``(3, F, H, W)`` in ``[-1, 1]``.
        fps: frames per second.
        crf: H.264 / VP9 constant rate factor (lower is better; 18 is visually lossless).
        options: extra encoder options (strings), e.g. ``{'preset': 'slow'}``.

    Returns:
        The path written.
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in _WRITE_EXTENSIONS:
        raise ValueError(
            f'write_video: unsupported extension {ext!r} for {path!r}; '
            f'use one of {list(_WRITE_EXTENSIONS)}.'
        )
    frames = as_uint8_frames(frames)
    if len(frames) == 0:
        raise ValueError('write_video: no frames to write.')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    rate = _rate(fps)
    with av.open(path, mode='w') as container:
        if ext == '.gif':
            indices, palette = palettize(frames)
            stream = container.add_stream('gif', rate=rate)
            stream.pix_fmt = 'pal8'
            argb = np.concatenate([np.full((256, 1), 255, np.uint8), palette], axis=1)
            av_frames = [
                av.VideoFrame.from_ndarray((np.ascontiguousarray(image), argb), format='pal8')
                for image in indices
            ]
        else:
            frames = _pad_even(frames)
            if ext == '.avi':
                stream = container.add_stream('mpeg4', rate=rate)
                stream.bit_rate = int(4 * frames.shape[1] * frames.shape[2] * float(rate))
                stream.options = dict(options or {})
            elif ext == '.webm':
                stream = container.add_stream('libvpx-vp9', rate=rate)
                stream.options = {'crf': str(crf), 'b': '0', **(options or {})}
            else:
                stream = container.add_stream('libx264', rate=rate)
                stream.options = {'crf': str(crf), 'preset': 'medium', **(options or {})}
            stream.pix_fmt = 'yuv420p'
            av_frames = [av.VideoFrame.from_ndarray(image, format='rgb24') for image in frames]
        stream.height, stream.width = frames.shape[1], frames.shape[2]
        if ext == '.gif' and options:
            stream.options = dict(options)
        for frame in av_frames:
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_grid(
    path: str | os.PathLike,
    videos,
    nrow: int | None = None,
    fps: float = 8,
    padding: int = 2,
    pad_value: int = 0,
    **write_kwargs,
) -> str:
    """Write N videos tiled as one file (see :func:`make_grid` for the layout and inputs)."""
    grid = make_grid(videos, nrow=nrow, padding=padding, pad_value=pad_value)
    return write_video(path, grid, fps=fps, **write_kwargs)
