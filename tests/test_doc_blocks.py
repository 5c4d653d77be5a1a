"""How the docs tests read a page: fences and their markers, transcripts, and output compared
with `…` standing for what a page leaves out."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.doc_blocks import blocks, files_from_other_pages, matches, transcript

PAGE = """\
# A page

<!-- run -->
```sh
shuangyong policy list
```

<!-- file: packs/a.yaml -->
```yaml
pack: a
```

<!-- skip: needs a server -->
````python
print("```")
````

```text
$ shuangyong evaluate one.json \\
    --format table
a table
$ echo $?
0
```
"""


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "page.md"
    path.write_text(PAGE, encoding="utf-8")
    return path


def test_blocks_and_their_markers(page: Path) -> None:
    found = [(block.line, block.language, block.marker, block.argument, block.text) for block in blocks(page)]
    assert [(5, "sh", "run", "", "shuangyong policy list\n"),
            (10, "yaml", "file", "packs/a.yaml", "pack: a\n"),
            (15, "python", "skip", "needs a server", 'print("```")\n'),
            (19, "text", None, "", "$ shuangyong evaluate one.json \\\n    --format table\na table\n$ echo $?\n0\n")] \
        == found
    assert [False, False, False, True] == [block.is_transcript for block in blocks(page)]
    assert [True, False, False, True] == [block.is_shell for block in blocks(page)]


def test_transcript_commands_go_on_after_a_backslash(page: Path) -> None:
    commands = transcript(list(blocks(page))[-1])
    assert [(19, "shuangyong evaluate one.json \\\n    --format table", "a table\n"), (22, "echo $?", "0\n")] \
        == [(command.line, command.command, command.shown) for command in commands]


def test_a_file_from_another_page(tmp_path: Path, page: Path) -> None:
    other = tmp_path / "other.md"
    other.write_text("<!-- file: packs/a.yaml from page.md -->\n", encoding="utf-8")
    assert {"packs/a.yaml": "pack: a\n"} == files_from_other_pages(other)


def test_a_file_no_page_writes_is_an_error(tmp_path: Path, page: Path) -> None:
    other = tmp_path / "other.md"
    other.write_text("<!-- file: packs/b.yaml from page.md -->\n", encoding="utf-8")
    with pytest.raises(AssertionError, match="other.md asks for packs/b.yaml from page.md, which writes no such file"):
        files_from_other_pages(other)


@pytest.mark.parametrize(("shown", "printed"), [
    ("a\nb\n", "a\nb\n"),
    ("a\nb\n", "a  \nb\n\n"),  # trailing spaces and blank lines at the end do not count
    ("a\n…\nd\n", "a\nb\nc\nd\n"),  # a line of … stands for any lines
    ("a\n…\nb\n", "a\nb\n"),  # … may stand for none
    ("42:…\n", "42:9f3c\n"),  # inside a line, for any text
    ("a\n…\n", "a\nb\n"),
])
def test_output_matches(shown: str, printed: str) -> None:
    assert matches(shown, printed)


@pytest.mark.parametrize(("shown", "printed"), [
    ("a\nb\n", "a\nc\n"),
    ("a\nb\n", "a\n"),
    ("a\n", "a\nb\n"),  # a line printed and not shown
    ("42:…\n", "42:9f3c\n43:0\n"),  # … inside a line stays inside it
    ("  a\n", "a\n"),  # leading spaces count
])
def test_output_does_not_match(shown: str, printed: str) -> None:
    assert not matches(shown, printed)
