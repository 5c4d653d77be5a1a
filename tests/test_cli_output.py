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
from contextlib import suppress
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


def test_symlink_is_written_through(tmp_path: Path) -> None:
    """-o onto a symlink replaces the file it points to; the link stays a link."""
    real, link = tmp_path / "real.jsonl", tmp_path / "link.jsonl"
    real.write_text(OLD)
    link.symlink_to(real.name)
    result = run("evaluate", "-o", str(link), str(VISITS))
    assert (0, True, real.name) == (result.exit_code, link.is_symlink(), os.readlink(link))
    assert len(visits().splitlines()) == len(real.read_text().splitlines())
    assert {"real.jsonl", "link.jsonl"} == {p.name for p in tmp_path.iterdir()}


def writing(target: Path) -> bool:
    """Whether answers are being written to a temporary file beside TARGET (not just the probe)."""
    for path in target.parent.glob(f".{target.name}.*"):
        with suppress(FileNotFoundError):
            if path.stat().st_size:
                return True
    return False


class TestSignals:
    """Run as a user would: a real process, its input a pipe left open so that it is mid-run."""

    @pytest.mark.parametrize(("signum", "status", "said"), [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                                             (signal.SIGINT, 130, "interrupted")])
    def test_signal_mid_output(self, tmp_path: Path, signum: int, status: int, said: str) -> None:
        """The temporary file goes, the old target stays, one line on stderr, the shell's status."""
        target = tmp_path / "out.jsonl"
        target.write_text(OLD)
        with subprocess.Popen([*SHUANGYONG, "--lang", "en", "evaluate", "-", "-o", str(target)],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE) as process:
            assert process.stdin is not None and process.stderr is not None
            process.stdin.write(visits().encode() * 8)
            process.stdin.flush()
            deadline = time.monotonic() + 60
            while not writing(target):
                assert time.monotonic() < deadline, "the output never started"
                time.sleep(0.05)
            process.send_signal(signum)
            stderr = process.stderr.read().decode()
            process.stdin.close()
            assert (status, said) == (process.wait(timeout=60), stderr.strip())
        assert ([target], OLD) == (list(tmp_path.iterdir()), target.read_text())


    def test_closed_standard_output_exits_141_quietly(self, tmp_path: Path) -> None:
        """`shuangyong evaluate … | head -c 10`: the reader goes away; no traceback, the SIGPIPE status."""
        source = tmp_path / "visits.jsonl"
        source.write_text(visits() * 8)  # far more answers than a pipe's buffer holds
        with subprocess.Popen([*SHUANGYONG, "evaluate", str(source)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as process:
            assert process.stdout is not None and process.stderr is not None
            assert b'{"visit_id' == process.stdout.read(10)
            process.stdout.close()
            assert (141, b"") == (process.wait(timeout=120), process.stderr.read())


class TestEncodings:
    def test_ascii_standard_output_gets_escapes_not_a_traceback(self) -> None:
        """PYTHONIOENCODING=ascii (a misconfigured terminal): Chinese is written as \\u escapes."""
        done = subprocess.run([*SHUANGYONG, "--lang", "zh", "evaluate", str(VISITS), "--format", "table"],
                              capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"}, check=False)
        assert (0, b"", True) == (done.returncode, done.stderr, b"\\u5c31\\u8bca" in done.stdout)  # 就诊

    @pytest.mark.parametrize("to_file", [False, True])
    def test_lone_surrogate_never_raises_at_output(self, tmp_path: Path, to_file: bool) -> None:
        """An escaped lone surrogate in an id: refused as input or written as an escape, never a traceback."""
        record = json.loads(visits().splitlines()[0])
        record["visit_id"] = "\ud800x"
        target = tmp_path / "out.jsonl"
        result = run("evaluate", *(["-o", str(target)] if to_file else []), "-",
                     stdin=json.dumps(record) + "\n" + visits())
        written = target.read_text(encoding="utf-8") if to_file else result.stdout
        assert (True, len(visits().splitlines()) + 1) == (isinstance(result.exception, SystemExit),
                                                         len(written.splitlines()))
        assert "\\ud800" in written


def hostile_visit() -> Any:
    """The first example visit with terminal control sequences in its id, a line id and the name."""
    visit = visit_from_dict(json.loads(visits().splitlines()[0]), codes=None)
    lines = (visit.lines[0]._replace(line_id="1\x9b2J"), *visit.lines[1:])
    patient = attrs.evolve(visit.patient, name="韦\u202e建国\x07")
    return attrs.evolve(visit, visit_id="MZ\x1b]0;owned\x07\x1b[2J", lines=lines, patient=patient)


class TestTerminalText:
    def test_visible_escapes_controls_and_keeps_the_rest(self) -> None:
        assert "a\\x1b[31mb\\x0a\\x09\\x7f\\x9b\\u202e中文 ✓" == visible("a\x1b[31mb\n\t\x7f\x9b\u202e中文 ✓")

    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_table_and_explanation_show_control_characters_escaped(self, lang: str) -> None:
        engine = Engine.from_packs()
        visit = hostile_visit()
        for text in (decision_table(engine, visit, engine.evaluate(visit), lang),  # type: ignore[arg-type]
                     explanation_text(engine, visit, engine.explain(visit), lang)):  # type: ignore[arg-type]
            assert [] == [ch for ch in text if ch != "\n" and (ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0
                                                                 or ch == "\u202e")]
            assert ("MZ\\x1b]0;owned\\x07\\x1b[2J", "1\\x9b2J", "韦\\u202e建国\\x07") == tuple(
                s for s in ("MZ\\x1b]0;owned\\x07\\x1b[2J", "1\\x9b2J", "韦\\u202e建国\\x07") if s in text)

    def test_error_messages_show_control_characters_escaped(self, tmp_path: Path) -> None:
        """An error that ends the run names its record (here a pack's path) with ESC shown, not sent."""
        result = run("evaluate", "-p", str(tmp_path / "x\x1b[2J" / "pack.yaml"), "-", stdin=visits())
        assert (2, False, True) == (result.exit_code, "\x1b" in result.stderr, "x\\x1b[2J" in result.stderr)

    def test_columns_stay_aligned(self) -> None:
        rows = table([["id", "amount"], ["a\x1bb", "1.00"], ["c", "12.00"]], right={1})
        assert ["id      amount", "a\\x1bb    1.00", "c        12.00"] == rows


class TestMarkdownReport:
    def test_dossier_text_shows_as_text(self) -> None:
        """Raw HTML, links, images and cell breaks from a dossier are escaped in the Markdown report."""
        from shuangyong.compliance.render import to_markdown
        from tests.test_compliance_report import sample_report

        report = sample_report()
        report["unit"]["name"]["en"] = "<script>alert(1)</script>"
        standard = report["headlines"][0]["standards"][0]
        standard["title"]["en"] = "![x](http://tracker.example/p.png) [click](javascript:alert(1))"
        standard["gaps"] = [{"zh": "a", "en": "cell | break\nnew row <img src=x onerror=alert(1)>"}]
        page = to_markdown(report, "en")
        assert ([], [True, True, True]) == ([s for s in ("<script>", "<img", "\nnew row") if s in page], [
            s in page for s in ("&lt;script&gt;alert(1)&lt;/script&gt;", "!\\[x\\](http://tracker.example/p.png)",
                                "cell \\| break new row &lt;img src=x onerror=alert(1)&gt;")])


def test_a_bad_records_error_line_shows_control_characters_escaped(tmp_path: Path) -> None:
    """The per-record error on standard error (table format) escapes what came from input."""
    source = tmp_path / "v.jsonl"
    source.write_text('{"visit_id": "V\\u001b[31m", "date": "2026-13-01"}\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "shuangyong", "--lang", "en", "evaluate", "--format", "table",
                             str(source)], capture_output=True, text=True, check=False)
    assert (2, False, True) == (result.returncode, "\x1b" in result.stderr, "\\x1b[31m" in result.stderr)
