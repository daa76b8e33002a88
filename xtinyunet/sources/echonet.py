"""EchoNet-Dynamic: one 2D case per traced frame of each echocardiography video.

`Videos/<name>.avi` (112x112), `FileList.csv` (FileName, Split = TRAIN/VAL/TEST) and
`VolumeTracings.csv` (FileName, X1, Y1, X2, Y2, Frame): per traced frame, the first row is the
long axis and the others are chords; the left-ventricle polygon runs down the X1/Y1 ends of the
chords and back up their X2/Y2 ends, and is filled as EchoNet-Dynamic's own loader fills it.
Frames are gray (the AVIs store gray in three colour channels). VAL becomes the single fold of
splits_final.json.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xtinyunet.io import read_csv
from xtinyunet.sources.images import Picture
from xtinyunet.sources.raw_dataset import RawDataset

log = logging.getLogger(__name__)

SPLITS = {"TRAIN": ("train", None), "VAL": ("train", 0), "TEST": ("test", None)}
TRACING_COLUMNS = ("FileName", "X1", "Y1", "X2", "Y2", "Frame")


def video_name(file_name: str) -> str:
    """FileList.csv names videos without `.avi`, VolumeTracings.csv with it."""
    return file_name[:-4] if file_name.lower().endswith(".avi") else file_name


def left_ventricle_mask(x1, y1, x2, y2, shape: tuple[int, int]) -> np.ndarray:
    """The traced polygon, filled: chords' first ends downwards, then second ends upwards."""
    from skimage.draw import polygon

    xs = np.concatenate([x1[1:], np.flip(x2[1:])])
    ys = np.concatenate([y1[1:], np.flip(y2[1:])])
    rows, cols = polygon(np.rint(ys).astype(int), np.rint(xs).astype(int), shape)
    mask = np.zeros(shape, dtype=np.uint8)
    mask[rows, cols] = 1
    return mask


def read_frame(video: Path, frame: int) -> np.ndarray:
    """Frame `frame` (0-based) of the video, gray; read in order, since seeking is unreliable."""
    import cv2

    if not video.is_file():
        raise ValueError(f"{video}: file not found")
    capture = cv2.VideoCapture(str(video))
    try:
        if not capture.isOpened():
            raise ValueError(f"{video}: cannot read the video")
        for index in range(frame + 1):
            ok, image = capture.read()
            if not ok:
                raise ValueError(f"{video}: cannot read frame {frame} (the video has {index})")
    finally:
        capture.release()
    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


@dataclass(frozen=True)
class TracedFrame:
    case_id: str
    split: str
    video: Path
    frame: int
    chords: tuple  # (x1, y1, x2, y2) arrays, long axis first
    shape: tuple[int, int]  # FileList.csv's FrameHeight, FrameWidth
    fold: int | None = None
    family = "natural"

    @property
    def origin(self) -> str:
        return f"{self.video} frame {self.frame}"

    @property
    def mask_origin(self) -> str:
        return f"VolumeTracings.csv {self.video.name} frame {self.frame}"

    def load_image(self) -> Picture:
        return Picture(read_frame(self.video, self.frame)[None])

    def load_mask(self) -> Picture:
        return Picture(left_ventricle_mask(*map(np.asarray, self.chords), self.shape))


def whole_number(row: dict, key: str, table: Path, minimum: int) -> int:
    """`row[key]` as an integer of at least `minimum`; ValueError naming the table and video."""
    try:
        value = int(row[key])
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(
            f"{table}: {row['FileName']}: {key} {row[key]!r} is not a whole number of at least "
            f"{minimum}"
        )
    return value


def check(source: dict, where: str) -> None:
    root = Path(source["path"])
    for required in ("Videos", "FileList.csv", "VolumeTracings.csv"):
        if not (root / required).exists():
            raise ValueError(f"{where}: source.path {root}: missing {required}")


def describe(source: dict, name: str, where: str) -> RawDataset:
    root = Path(source["path"])
    file_list = root / "FileList.csv"
    splits = {}
    shapes = {}
    columns = ("FileName", "Split", "FrameHeight", "FrameWidth")
    for row in read_csv(file_list, required_columns=columns):
        if row["Split"] not in SPLITS:
            raise ValueError(
                f"{file_list}: {row['FileName']}: Split {row['Split']!r} is not one of "
                f"{', '.join(SPLITS)}"
            )
        splits[video_name(row["FileName"])] = SPLITS[row["Split"]]
        shapes[video_name(row["FileName"])] = tuple(
            whole_number(row, key, file_list, minimum=1) for key in ("FrameHeight", "FrameWidth")
        )
    tracings = root / "VolumeTracings.csv"
    chords = defaultdict(list)
    for row in read_csv(tracings, required_columns=TRACING_COLUMNS):
        try:
            point = tuple(float(row[key]) for key in ("X1", "Y1", "X2", "Y2"))
        except ValueError as error:
            raise ValueError(f"{tracings}: {row['FileName']}: {error}") from None
        frame = whole_number(row, "Frame", tracings, minimum=0)
        chords[video_name(row["FileName"]), frame].append(point)
    cases = []
    for (video, frame), points in sorted(chords.items()):
        if video not in splits:
            raise ValueError(f"{tracings}: video {video} is not listed in {file_list}")
        if len(points) < 3:
            raise ValueError(f"{tracings}: {video} frame {frame}: fewer than 3 rows")
        split, fold = splits[video]
        columns = tuple(tuple(column) for column in zip(*points))
        path = root / "Videos" / f"{video}.avi"
        cases.append(
            TracedFrame(f"{video}_{frame}", split, path, frame, columns, shapes[video], fold)
        )
    untraced = len(set(splits) - {video for video, _ in chords})
    if untraced:
        log.warning("%d videos of %s have no tracing and give no case", untraced, file_list)
    return RawDataset(
        name=name,
        labels={"background": 0, "left ventricle": 1},
        cases=cases,
        description="EchoNet-Dynamic left ventricle, traced end-systolic and end-diastolic frames",
        extra={"reference": "https://echonet.github.io/dynamic/"},
    )
