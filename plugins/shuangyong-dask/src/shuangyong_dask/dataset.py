"""A partitioned dataset: a folder (searched recursively) or a glob of visit files, in name order."""

from __future__ import annotations

import glob
from pathlib import Path

from shuangyong import InputError, Text
from shuangyong.batch.sources import detect_format

SUFFIXES = (".parquet", ".pq", ".csv", ".jsonl", ".ndjson")


class DatasetError(InputError):
    """A dataset with no partition to read, or partitions of mixed formats."""


def partitions(dataset: str | Path) -> list[Path]:
    """The dataset's files in a stable order (sorted paths): the order of the output.

    A folder contributes every file below it with a known suffix (hive-style ``month=01/``
    folders included); anything else is read as a glob pattern.
    """
    root = Path(dataset)
    if root.is_dir():
        found = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
    else:
        found = sorted(Path(p) for p in glob.glob(str(dataset), recursive=True) if Path(p).is_file())
    if not found:
        raise DatasetError(Text(f"数据集 {dataset} 中没有可读的分区文件（{', '.join(SUFFIXES)}）",
                                f"no partition files ({', '.join(SUFFIXES)}) in the dataset {dataset}"),
                           record=str(dataset))
    formats = {detect_format(p) for p in found}
    if len(formats) > 1:
        raise DatasetError(Text(f"数据集 {dataset} 混有多种格式：{', '.join(sorted(formats))}",
                                f"the dataset {dataset} mixes formats: {', '.join(sorted(formats))}"),
                           record=str(dataset))
    return found
