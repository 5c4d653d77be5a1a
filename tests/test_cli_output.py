"""Where output goes and how it ends: ``-o`` targets that cannot be written, a full disk, signals,
text a terminal or an encoding cannot take, and Markdown that must show what a dossier says.

Permission failures are simulated (the tests may run as root, whom permissions do not stop): the
probe that creates a file in the target's directory is made to raise PermissionError. A full disk
is simulated by pointing the temporary file's writes at /dev/full, which fails every flush with
ENOSPC exactly as a full file system does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner

from shuangyong.cli import main
from shuangyong.engine import Engine
from shuangyong.interchange import visit_from_dict
from shuangyong.render import decision_table, explanation_text, table, visible

ROOT = Path(__file__).resolve().parent.parent
VISITS = ROOT / "examples" / "visits.jsonl"
SHUANGYONG = [sys.executable, "-m", "shuangyong"]
OLD = "the previous answers\n"


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, ["--lang", "en", *args], input=stdin)


def visits() -> str:
    return VISITS.read_text(encoding="utf-8")


def assert_refused(result: Any, path: str, reason: str) -> None:
    """Exit 2 (not a traceback) with one message naming the path and the reason."""
    message = result.stderr.split(f"cannot write {path!r}: ", 1)
    assert (2, True, 2, True) == (result.exit_code, isinstance(result.exception, SystemExit), len(message),
                                  reason in message[-1]), result.stderr
    assert "" == result.stdout


def bound_socket(path: Path) -> None:
    """A Unix socket file at PATH (the socket is closed; its file stays)."""
    with socket.socket(socket.AF_UNIX) as listening:
        listening.bind(str(path))


class TestTargetsThatCannotBeWritten:
    @pytest.mark.parametrize(("name", "make", "reason"), [
        ("missing/out.jsonl", None, "does not exist"),
        ("a-directory", lambda p: p.mkdir(), "it is a directory"),
        ("a-fifo", lambda p: os.mkfifo(p), "it is not a regular file (a FIFO, device or socket)"),
        ("a-socket", lambda p: bound_socket(p), "it is not a regular file"),
        ("link-to-directory", lambda p: p.symlink_to(p.parent), "it is a directory"),
    ])
    def test_refused_before_any_decision(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                                         make: Any, reason: str) -> None:
        """Nothing is evaluated, nothing is created, and what was there is still there."""
        target = tmp_path / name
        if make:
            make(target)
        before = sorted(tmp_path.iterdir())
        evaluated: list[object] = []
        monkeypatch.setattr(Engine, "evaluate", lambda self, visit: evaluated.append(visit))
        result = run("evaluate", "-o", str(target), "-", stdin=visits())
        assert_refused(result, str(target), reason)
        assert ([], before) == (evaluated, sorted(tmp_path.iterdir()))

    def test_empty_path(self) -> None:
        assert_refused(run("evaluate", "-o", "", "-", stdin=visits()), "", "the path is empty")

    def test_message_in_chinese(self, tmp_path: Path) -> None:
        result = CliRunner().invoke(main, ["--lang", "zh", "evaluate", "-o", str(tmp_path), "-"], input=visits())
        assert (2, f"无法写入 {str(tmp_path)!r}：这是一个目录") == (result.exit_code, result.stderr.split("\n")[0][-len(
            f"无法写入 {str(tmp_path)!r}：这是一个目录"):])

    def test_unwritable_directory(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A directory this process may not create files in (simulated: see the module docstring)."""
        target = tmp_path / "out.jsonl"
        target.write_text(OLD)

        def denied(*args: Any, **kwargs: Any) -> Any:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", denied)
        assert_refused(run("evaluate", "-o", str(target), "-", stdin=visits()), str(target), "Permission denied")
        assert ([target], OLD) == (list(tmp_path.iterdir()), target.read_text())

    @pytest.mark.parametrize("fmt", ["jsonl", "table", "xlsx"])
    def test_full_disk(self, tmp_path: Path, full_disk: None, fmt: str) -> None:
        """A write that fails half way (ENOSPC) exits 2, removes the temporary file, keeps the old target."""
        target = tmp_path / "out"
        target.write_text(OLD)
        result = run("evaluate", "--format", fmt, "-o", str(target), "-", stdin=visits() * 4)
        assert_refused(result, str(target), "No space left on device")
        assert ([target], OLD) == (list(tmp_path.iterdir()), target.read_text())

    def test_full_disk_in_chinese(self, tmp_path: Path, full_disk: None) -> None:
        result = CliRunner().invoke(main, ["--lang", "zh", "evaluate", "-o", str(tmp_path / "o"), "-"], input=visits())
        assert (2, "：磁盘已满") == (result.exit_code, result.stderr.strip()[-5:])
        assert [] == list(tmp_path.iterdir())


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every temporary output file's writes fail as on a full disk (ENOSPC); the file itself exists."""
    real = tempfile.NamedTemporaryFile

    def on_full_disk(mode: str, **kwargs: Any) -> Any:
        handle = real(mode, **kwargs)
        handle.file.close()
        handle.file = handle._closer.file = open("/dev/full", mode, encoding=kwargs.get("encoding"))  # noqa: SIM115
        return handle

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", on_full_disk)
