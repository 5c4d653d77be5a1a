"""shuangyong-dask on a LocalCluster: the dataset's output is the serial run's, byte for byte."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from distributed import Client, LocalCluster

from shuangyong.batch import BatchEngine
from shuangyong.batch.run import write_decisions
from shuangyong.batch.sources import records_in_tables, write_records_in_chunks
from shuangyong.batch.sources.csv import flatten
from shuangyong.batch.sources.table import VISITS
from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.errors import InputError
from shuangyong.generate import visits, write_json_lines
from shuangyong_dask.dataset import DatasetError, partitions
from shuangyong_dask.evaluate import evaluate_dataset


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as connected:
        yield connected


def dataset(folder: Path, fmt: str, parts: int = 3, per_part: int = 150) -> Path:
    """``parts`` files of generated visits, in hive-style month folders (part 2 sorts last)."""
    for part in range(parts):
        target = folder / f"month={part + 1:02d}" / f"part-{part}.{fmt}"
        target.parent.mkdir(parents=True, exist_ok=True)
        records = visits(per_part, seed=part)
        if fmt == "jsonl":
            with target.open("w", encoding="utf-8") as handle:
                write_json_lines(records, handle)
        else:
            write_records_in_chunks(records_in_tables(records, size=64), target, fmt)
    return folder


def serial(files: list[Path]) -> bytes:
    out = io.BytesIO()
    engine = BatchEngine(Engine.from_packs())
    for path in files:
        write_decisions(engine, path, out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_partitions_on_the_cluster_equal_the_serial_run(client: Client, tmp_path: Path, fmt: str) -> None:
    files = partitions(dataset(tmp_path, fmt))
    assert [p.name for p in files] == ["part-0." + fmt, "part-1." + fmt, "part-2." + fmt]
    done: list[int] = []
    answers = list(evaluate_dataset(client, files, ("seed-example",), done=done.append))
    assert b"".join(text for text, _ in answers) == serial(files)
    assert ([bad for _, bad in answers], len(done)) == ([0, 0, 0], 3)
    assert b"".join(text for text, _ in answers).count(b"\n") == 450


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_partitions_without_a_record_give_none(client: Client, tmp_path: Path, fmt: str) -> None:
    """An empty part file (a 0-byte or blank JSON Lines file, a Parquet or CSV file of 0 rows, as
    Spark and Dask write them) decides nothing and stops nothing: the other parts are decided."""
    folder = dataset(tmp_path, fmt, parts=2, per_part=20)
    empty = folder / "month=03" / f"part-9.{fmt}"
    empty.parent.mkdir()
    if fmt == "jsonl":
        empty.write_text("\n  \n", encoding="utf-8")
    elif fmt == "parquet":
        pq.write_table(VISITS.empty_table(), empty)
    else:
        pa_csv.write_csv(flatten(VISITS.empty_table()), empty)  # the header alone
    files = partitions(folder)
    answers = list(evaluate_dataset(client, files, ("seed-example",)))
    assert [(b"", 0)] == answers[2:]
    assert b"".join(text for text, _ in answers) == serial(files[:2])
    with pytest.raises(InputError, match="empty input: no visit records"):  # a lone file is still refused
        serial(files[2:])


def test_cli_on_a_scheduler_address_and_bad_records(client: Client, tmp_path: Path) -> None:
    folder = dataset(tmp_path / "visits", "jsonl", parts=2, per_part=40)
    with (folder / "month=01" / "part-0.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"visit_id": "bad", "date": "2025-02-30"}\n')
    target = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["--lang", "en", "dask-evaluate", str(folder), "--scheduler",
                                       client.scheduler.address, "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "1 record(s) had errors" in result.stderr
    assert target.read_bytes() == serial(partitions(folder))
    assert json.loads(target.read_bytes().splitlines()[40])["visit_id"] == "bad"


def test_cli_glob_pattern(client: Client, tmp_path: Path) -> None:
    folder = dataset(tmp_path, "parquet", parts=2, per_part=20)
    result = CliRunner().invoke(main, ["dask-evaluate", str(folder / "*" / "*.parquet"), "--scheduler",
                                       client.scheduler.address])
    assert result.exit_code == 0, result.output
    assert result.stdout_bytes == serial(partitions(folder))


def test_an_empty_or_mixed_dataset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no partition files"):
        partitions(tmp_path)
    (tmp_path / "a.parquet").write_bytes(b"")
    (tmp_path / "b.csv").write_text("", encoding="utf-8")
    with pytest.raises(DatasetError, match="mixes formats: csv, parquet"):
        partitions(tmp_path)


def test_cli_errors_exit_2_and_write_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    result = CliRunner().invoke(main, ["--lang", "zh", "dask-evaluate", str(tmp_path / "none"), "-o", str(target)])
    assert result.exit_code == 2 and "没有可读的分区文件" in result.stderr
    folder = dataset(tmp_path / "visits", "jsonl", parts=1, per_part=5)
    result = CliRunner().invoke(main, ["--lang", "en", "dask-evaluate", str(folder), "-p", "no-such-pack",
                                       "-o", str(target)])
    assert result.exit_code == 2 and "no-such-pack" in result.stderr
    assert not target.exists()


def test_the_command_is_listed_with_its_hook() -> None:
    result = CliRunner().invoke(main, ["plugins", "--format", "json"])
    listed = {info["name"]: info["hooks"] for info in json.loads(result.stdout)}
    assert listed["dask"] == ["register_commands"]
    assert "dask-evaluate" in CliRunner().invoke(main, ["--help"]).stdout


def test_workers_write_the_parts_themselves(client: Client, tmp_path: Path) -> None:
    files = partitions(dataset(tmp_path / "visits", "parquet", parts=3, per_part=30))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["dask-evaluate", str(tmp_path / "visits"), "--scheduler",
                                       client.scheduler.address, "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    parts = sorted(out.iterdir())
    assert [p.name for p in parts] == ["part-00000.jsonl", "part-00001.jsonl", "part-00002.jsonl"]
    assert b"".join(p.read_bytes() for p in parts) == serial(files)


def test_output_and_output_dir_exclude_each_other(tmp_path: Path) -> None:
    folder = dataset(tmp_path / "visits", "jsonl", parts=1, per_part=3)
    result = CliRunner().invoke(main, ["--lang", "en", "dask-evaluate", str(folder), "-o", str(tmp_path / "a"),
                                       "--output-dir", str(tmp_path / "b")])
    assert result.exit_code == 2 and "not both" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["visits"]
