"""The docs stay true: they build without warnings or stray Markdown, every page's examples run
(Python blocks in order, marked shell blocks, transcripts compared with what they print), and
every fingerprint they quote is the one its pack has today. The conventions for writers are in
docs/testing.md, "The docs are tests"."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.doc_blocks import PAGES, ROOT, Block, blocks, files_from_other_pages, matches, transcript

#: What a page's working directory holds before its blocks run: a clone's sample files, at the
#: same paths as in the repository, so a page may say "from the root of a clone".
SAMPLES = ("examples", "tests/cases", "plugins/shuangyong-fhir/tests/fixtures")

#: Python blocks that do not run as blocks, each with its marker: the list is exact, so that it
#: cannot grow unseen. (plugins.md's hooks.py is written as a file, and imported by a later block.)
NOT_RUN = {
    ("docs/plugins.md", "# shuangyong_elders/hooks.py"): "file: shuangyong_elders/hooks.py",
    ("docs/plugins.md", "from shuangyong import Engine, plugins"):
        "skip: needs the plugin installed; section 4 builds the same engine from the entry point",
    ("docs/plugins.md",
     'MERITORIOUS_ELDER = Term("meritorious_elder", Text("“三老”功臣", "“Three elders” meritorious veteran"))'):
        "skip: an excerpt of the plugin's src/shuangyong_guangxi/hooks.py, which its own tests load",
    ("docs/plugins.md", "def open_sql_ledger(url: str, *, create: bool = True) -> SQLLedger:"):
        "skip: an excerpt of plugins/shuangyong-sql/src/shuangyong_sql/hooks.py, which its tests load",
}


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


# -- Sphinx ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sphinx_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One `sphinx-build -W` of docs/ for the session, into a temporary folder."""
    out = tmp_path_factory.mktemp("html")
    result = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(ROOT / "docs"), str(out)],
                            capture_output=True, text=True, check=False)
    return result, out


def test_sphinx_builds_without_warnings(sphinx_build: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """`sphinx-build -W` succeeds: no broken reference, no page left out of the toctree."""
    result, out = sphinx_build
    assert 0 == result.returncode, result.stderr
    assert (out / "index.html").exists()


def stray_markdown(page_html: str) -> list[str]:
    """Lines of Markdown table syntax that reached the HTML as paragraph text, unrendered."""
    found = []
    for paragraph in re.findall(r"<p>(.*?)</p>", page_html, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", paragraph))
        found += [line for line in text.splitlines() if line.lstrip().startswith("|") or "|---" in line]
    return found


def test_stray_markdown_is_found() -> None:
    """The check sees the table row a blank line cut off from its table (policy-packs.md once)."""
    assert ["| per_year | amount |"] == stray_markdown("<p>| <code>per_year</code> | amount |</p><p>a | b</p>")


def test_no_table_is_left_unrendered(sphinx_build: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    """Every Markdown table became a table: none is left as a paragraph of pipes."""
    result, out = sphinx_build
    assert 0 == result.returncode, result.stderr
    stray = {page.name: lines for page in sorted(out.glob("*.html"))
             if (lines := stray_markdown(page.read_text(encoding="utf-8")))}
    assert {} == stray


# -- running the pages ---------------------------------------------------------------------------

def runnable(page: Path) -> list[Block]:
    """The blocks that run: every Python block not skipped or written as a file, every one marked run."""
    return [block for block in blocks(page) if block.marker not in ("skip", "file")
            and (block.language == "python" or block.marker == "run")]


def steps(page: Path) -> Iterator[dict[str, object]]:
    """What the runner does for the page, block by block, in page order."""
    for block in runnable(page):
        if block.language == "python":
            yield {"kind": "python", "page": str(page), "line": block.line, "code": block.text}
        elif block.is_transcript:
            yield {"kind": "transcript", "commands": [command.command for command in transcript(block)]}
        else:
            yield {"kind": "shell", "code": block.text}


def prepare(workdir: Path, page: Path) -> None:
    """The sample files, the page's own files (its ``file:`` blocks) and the venv a reader has."""
    for sample in SAMPLES:
        shutil.copytree(ROOT / sample, workdir / sample)
    (workdir / ".venv").symlink_to(Path(sys.executable).parent.parent, target_is_directory=True)
    written = {block.argument: block.text for block in blocks(page) if block.marker == "file"}
    for name, text in {**files_from_other_pages(page), **written}.items():
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text(text, encoding="utf-8")


def reader_environment() -> dict[str, str]:
    """A reader's shell after `make demo`: the venv's commands first, English, every plugin."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("SHUANGYONG_") and name not in ("PYTHONPATH", "COLUMNS", "LANGUAGE")}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", LANG="C.UTF-8",
               LC_ALL="C.UTF-8", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8")
    return env


def run_page(page: Path, folder: Path) -> list[dict[str, object]]:
    """The page's blocks run by tests/doc_runner.py in ``folder/work``: each one's result."""
    workdir = folder / "work"
    workdir.mkdir()
    prepare(workdir, page)
    (folder / "plan.json").write_text(json.dumps(list(steps(page))), encoding="utf-8")
    runner = (ROOT / "tests" / "doc_runner.py").read_text(encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", runner, str(folder / "plan.json"), str(folder / "results.json")],
                            cwd=workdir, env=reader_environment(), capture_output=True, text=True, check=False)
    assert 0 == result.returncode, result.stderr
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def page_runs(request: pytest.FixtureRequest,
              tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Path, Future[list[dict[str, object]]]]]:
    """Every page this session tests, started at once on as many workers as there are cores:
    most of the time goes to starting `shuangyong` processes, which one core does at a time."""
    pages = {item.callspec.params["page"] for item in request.session.items
             if getattr(item, "originalname", None) == "test_page_runs_as_shown"}
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        yield {page: pool.submit(run_page, page, tmp_path_factory.mktemp(page.stem))
               for page in sorted(pages, key=lambda page: -len(runnable(page)))}


def problems(page: Path, results: list[dict[str, object]]) -> Iterator[str]:
    """What went wrong, block by block: a traceback, a failed command, output other than shown."""
    ran = dict(zip(runnable(page), results, strict=False))
    printed_before: object = None  # what the last Python block printed, for an ``output`` block after it
    for block in blocks(page):
        result = ran.get(block)
        if block.marker == "output":
            if not isinstance(printed_before, str):
                yield f"{block.where}: an output block must follow a Python block that ran"
            elif not matches(block.text, printed_before):
                yield f"{block.where}: the Python block before it printed\n{printed_before}"
            continue
        if result is None:
            continue
        if result["error"] is not None:
            yield f"{block.where}: {result['error']}\n{result.get('output', '')}"
        if block.language == "python":
            printed_before = result["output"]
        elif block.is_transcript:
            for command, printed in zip(transcript(block), result["outputs"], strict=True):  # type: ignore[call-overload]
                if not matches(command.shown, printed):
                    yield (f"{block.where.rsplit(':', 1)[0]}:{command.line}: $ {command.command}\n"
                           f"--- shown\n{command.shown}--- printed\n{printed}")


@pytest.mark.parametrize("page", [page for page in PAGES if runnable(page)], ids=page_id)
def test_page_runs_as_shown(page: Path, page_runs: dict[Path, Future[list[dict[str, object]]]]) -> None:
    """Every Python block of the page runs, in order, in one session; every shell block marked
    ``<!-- run -->`` succeeds; every transcript prints what the page shows."""
    results = page_runs[page].result()
    found = list(problems(page, results))
    assert [] == found, "\n\n".join(found)
    assert len(runnable(page)) == len(results)


LYING_PAGE = """\
<!-- file: data.txt -->
```text
hello
```

```python
print(open("data.txt").read().strip())
```

<!-- output -->
```text
goodbye
```

<!-- run -->
```text
$ echo one; echo two >&2
one
two
$ false
$ echo $?
0
```

```python
raise ValueError("from the page")
```

<!-- run -->
```sh
echo never run
```
"""


def test_a_page_that_lies_is_caught(tmp_path: Path) -> None:
    """Each way a page can be wrong is reported at its line: an output block, a transcript line
    (here an exit status), a Python block that raises; and the page stops at the first error."""
    page = tmp_path / "page.md"
    page.write_text(LYING_PAGE, encoding="utf-8")
    results = run_page(page, tmp_path)
    found = list(problems(page, results))
    assert 3 == len(results) < len(runnable(page))
    assert 3 == len(found), found
    assert found[0].startswith(f"{page}:12: the Python block before it printed\nhello\n")
    assert found[1] == f"{page}:21: $ echo $?\n--- shown\n0\n--- printed\n1\n"
    assert found[2].startswith(f"{page}:26: Traceback") and f'File "{page}", line 26' in found[2]
    assert found[2].rstrip().endswith("ValueError: from the page")


def test_blocks_not_run_are_the_listed_ones() -> None:
    """A Python block that does not run says why (``<!-- skip: REASON -->``) and is listed here;
    a shell block or transcript is either marked to run or says why not."""
    skipped = {(page_id(block.page), block.text.splitlines()[0]): f"{block.marker}: {block.argument}"
               for page in PAGES for block in blocks(page) if block.language == "python"
               and block.marker in ("skip", "file")}
    assert NOT_RUN == skipped
    unmarked = [block.where for page in PAGES for block in blocks(page)
                if block.is_shell and block.marker not in ("run", "skip")]
    assert [] == unmarked
    assert all(block.argument for page in PAGES for block in blocks(page) if block.marker in ("skip", "file"))


# -- fingerprints --------------------------------------------------------------------------------

FINGERPRINT = re.compile(r"(?<![\w-])sha256:([0-9a-f]{16})(?![0-9a-f])")


@pytest.fixture(scope="module")
def fingerprints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Pack id → the fingerprint of that pack with everything it extends, for every pack the docs
    can name: built-in, from a plugin, in examples/, or a complete pack a page writes as a file."""
    from shuangyong import plugins
    from shuangyong.errors import PolicyError
    from shuangyong.policy import PolicySet
    from shuangyong.policy.loader import builtin_pack_names

    registry = plugins.registry()
    folder = tmp_path_factory.mktemp("packs")
    files = list((ROOT / "examples").glob("*.yaml"))
    for page in PAGES:
        for block in blocks(page):
            if block.marker == "file" and block.language == "yaml" and "\npack: " in "\n" + block.text:
                files.append(folder / f"{len(files)}.yaml")
                files[-1].write_text(block.text, encoding="utf-8")
    found = {name: PolicySet.load([name], registry).fingerprint for name in [*builtin_pack_names(), *registry.packs]}
    for path in files:
        try:
            policy = PolicySet.load([str(path)], registry)
        except PolicyError:
            continue  # a standards pack, a dossier, or a pack for a plugin that is not installed
        found[policy.packs[-1]] = policy.fingerprint
    return found


def named_pack(lines: list[str], number: int, start: int, known: dict[str, str]) -> str:
    """The pack a fingerprint at ``lines[number][:start]`` belongs to: the last pack named before
    it on its line, else on the lines before it in its paragraph or block; else the default set,
    seed-example. In ``a → b → c`` that is ``c``, the pack the chain ends in."""
    longest_first = sorted(known, key=len, reverse=True)
    names = re.compile("|".join(rf"(?<![\w.-]){re.escape(name)}(?![\w-])" for name in longest_first))
    text = lines[number][:start]
    while True:
        mentioned = names.findall(text)
        if mentioned:
            return mentioned[-1]
        number -= 1
        if number < 0 or not lines[number].strip() or lines[number].startswith("```"):
            return "seed-example"
        text = lines[number]


def quoted_fingerprints(known: dict[str, str], pages: tuple[Path, ...] = PAGES) -> Iterator[tuple[str, str, str]]:
    """(where, the fingerprint quoted, the pack it names) for every one in the docs and README."""
    for page in pages:
        lines = page.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            for match in FINGERPRINT.finditer(line):
                pack = named_pack(lines, number, match.start(), known)
                yield f"{page.name}:{number + 1}", match.group(0), pack


def stale_fingerprints(known: dict[str, str], pages: tuple[Path, ...] = PAGES) -> list[str]:
    return [f"{where}: {shown} for {pack}, which now has {known[pack]}"
            for where, shown, pack in quoted_fingerprints(known, pages) if shown != known[pack]]


def test_fingerprints_quoted_are_current(fingerprints: dict[str, str]) -> None:
    """Every ``sha256:`` fingerprint in the docs is what the pack it names has today (issue 15: three
    stale ones went unnoticed)."""
    assert len(list(quoted_fingerprints(fingerprints))) >= 10
    stale = stale_fingerprints(fingerprints)
    assert [] == stale, "\n".join(stale)


def test_a_stale_fingerprint_is_named(tmp_path: Path, fingerprints: dict[str, str]) -> None:
    """A fingerprint that is not its pack's is reported with its line and the one it should be."""
    page = tmp_path / "page.md"
    page.write_text(f"`cn-national` alone: {fingerprints['cn-national']}.\n\n"
                    "The built-in packs: sha256:0123456789abcdef.\n", encoding="utf-8")
    assert [f"page.md:3: sha256:0123456789abcdef for seed-example, which now has {fingerprints['seed-example']}"] \
        == stale_fingerprints(fingerprints, (page,))


def test_fingerprint_is_read_with_the_pack_it_names() -> None:
    """The pack named last before a fingerprint is the one checked, across a paragraph's lines."""
    known = {"cn-national": "", "seed-example": "", "hospital": ""}
    lines = ["ok: cn-national → seed-example → hospital, 20 rules, sha256:0",
             "Region `*`; fingerprint of `cn-national` on",
             "its own: sha256:0", "", "a decision: sha256:0"]
    assert "hospital" == named_pack(lines, 0, lines[0].index("sha256"), known)
    assert "cn-national" == named_pack(lines, 2, 9, known)
    assert "seed-example" == named_pack(lines, 4, 12, known)


# -- pages the project promises, and the CLI reference ---------------------------------------------

@pytest.mark.parametrize("page", ["tutorial", "policy-packs", "json-contract", "cli", "money-and-dates"])
def test_required_pages_exist(page: str) -> None:
    """The pages the project promises are there."""
    assert (ROOT / "docs" / f"{page}.md").exists()


def test_cli_reference_matches_help() -> None:
    """docs/cli.md has a section for every command showing its current --help, so the reference
    cannot drift; `python scripts/refresh_cli_docs.py` rewrites the blocks."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import refresh_cli_docs
    finally:
        sys.path.pop(0)
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert text == refresh_cli_docs.refresh(text), "run: python scripts/refresh_cli_docs.py"
