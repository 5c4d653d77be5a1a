"""The fenced blocks of a Markdown page, the markers that say what the docs tests do with them,
and how a transcript's output shown in the docs is compared with what the command printed.

A marker is an HTML comment on the line right before a fence (GitHub and Sphinx show nothing of
it); docs/testing.md, "The docs are tests", describes them for writers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Every page whose blocks run: the Sphinx pages and the README.
PAGES = (*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md")
#: A line of a transcript standing for any number of lines; inside a line, it stands for any text.
ELISION = "…"

SHELL_LANGUAGES = frozenset({"sh", "bash", "shell", "console"})
_MARKER = re.compile(r"<!--\s*(run|file|skip|output)\s*(?::\s*(.*?))?\s*-->")
#: ``<!-- file: PATH from PAGE -->`` on a line of its own: the block PAGE writes to PATH, written here too.
_FILE_FROM = re.compile(r"^<!--\s*file:\s*(\S+)\s+from\s+(\S+\.md)\s*-->$", re.M)
_FENCE = re.compile(r"^(`{3,})([^`\s]*)[^\n`]*$")


@dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text and the marker before it."""

    page: Path
    line: int  #: the line of its first content line, counted from 1
    language: str
    text: str
    marker: str | None = None  #: run, file, skip or output
    argument: str = ""  #: the file's path, or why the block is skipped

    @property
    def where(self) -> str:
        page = self.page.relative_to(ROOT) if self.page.is_relative_to(ROOT) else self.page
        return f"{page}:{self.line}"

    @property
    def is_transcript(self) -> bool:
        """Commands after ``$ `` with what they print: run, and the output compared."""
        return self.text.startswith("$ ")

    @property
    def is_shell(self) -> bool:
        return self.language in SHELL_LANGUAGES or self.is_transcript


def blocks(page: Path) -> Iterator[Block]:
    """Every top-level fenced block of ``page``, in order, with the marker on the line before."""
    lines = page.read_text(encoding="utf-8").splitlines()
    number = 0
    while number < len(lines):
        opening = _FENCE.match(lines[number])
        if opening is None:
            number += 1
            continue
        fence, language = opening.groups()
        end = next((i for i in range(number + 1, len(lines)) if lines[i].startswith(fence)
                    and not lines[i].strip("`")), len(lines))
        marker = _MARKER.fullmatch(lines[number - 1].strip()) if number else None
        yield Block(page, number + 2, language, "".join(line + "\n" for line in lines[number + 1:end]),
                    *(marker.groups("") if marker else (None, "")))
        number = end + 1


def files_from_other_pages(page: Path) -> dict[str, str]:
    """What ``<!-- file: PATH from PAGE -->`` lines ask for: PATH → the text PAGE writes there."""
    wanted = _FILE_FROM.findall(page.read_text(encoding="utf-8"))
    found = {}
    for path, other in wanted:
        written = [block.text for block in blocks(page.parent / other) if block.marker == "file"
                   and block.argument == path]
        assert written, f"{page.name} asks for {path} from {other}, which writes no such file"
        found[path] = written[0]
    return found


@dataclass(frozen=True)
class Command:
    """A ``$ `` command of a transcript and the output the docs show after it."""

    line: int
    command: str
    shown: str


def transcript(block: Block) -> list[Command]:
    """The commands of a transcript; a command line ending in ``\\`` goes on on the next line."""
    commands: list[list[Any]] = []  # [line, command, shown]
    continued = False
    for offset, text in enumerate(block.text.splitlines()):
        if continued:
            commands[-1][1] += "\n" + text
        elif text.startswith("$ "):
            commands.append([block.line + offset, text[2:], ""])
        else:
            commands[-1][2] += text + "\n"
        continued = (continued or text.startswith("$ ")) and text.endswith("\\")
    return [Command(*command) for command in commands]


def matches(shown: str, printed: str) -> bool:
    """Whether the output ``printed`` is what the docs show, line for line (trailing spaces and
    blank lines at the end aside), where :data:`ELISION` stands for what the docs leave out."""
    pattern = []
    for line in shown.rstrip("\n").splitlines():
        if line.strip() == ELISION:
            pattern.append(r"(?:[^\n]*\n)*?")
        else:
            pattern.append(".*?".join(re.escape(part) for part in line.rstrip().split(ELISION)) + r"\n")
    lines = "".join(line.rstrip() + "\n" for line in printed.rstrip("\n").splitlines())
    return re.fullmatch("".join(pattern), lines) is not None
