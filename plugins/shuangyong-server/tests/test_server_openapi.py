"""The checked-in OpenAPI document (docs/_static/openapi.json) is what the server serves, and the
plugin costs other commands nothing: ``shuangyong evaluate`` with it loaded imports no web stack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from serving import ROOT, Server, environment

SCRIPT = ROOT / "plugins" / "shuangyong-server" / "scripts" / "refresh_openapi.py"
CHECKED_IN = ROOT / "docs" / "_static" / "openapi.json"


def test_the_checked_in_openapi_document_is_what_the_server_serves(api_server: Server) -> None:
    served = api_server.request("GET", "/v1/openapi.json", "his")
    assert 200 == served.status_code
    assert CHECKED_IN.read_bytes() == served.content, f"run: python {SCRIPT.relative_to(ROOT)}"


def test_the_script_writes_what_is_checked_in() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import refresh_openapi
    finally:
        sys.path.pop(0)
    assert CHECKED_IN.read_bytes() == refresh_openapi.document()


def test_every_operation_documents_its_errors_and_its_token() -> None:
    spec = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if path == "/v1/health":
                assert "security" not in operation
                continue
            assert [{"token": []}] == operation["security"], (method, path)
            assert {"401", "403", "413"} <= set(operation["responses"]), (method, path)
            assert operation["description"], (method, path)


#: what `evaluate` must not import with the server plugin loaded (its hooks module imports click only)
HEAVY = ("fastapi", "starlette", "uvicorn", "anyio", "httpx", "multipart", "shuangyong_server.app",
         "shuangyong_server.service", "shuangyong_server.store")
LIST_MODULES = """\
import json, sys
from shuangyong.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
modules = sorted(sys.modules)
from shuangyong import plugins
json.dump({"modules": modules, "plugins": [n for n, _ in plugins.plugin_manager().list_name_plugin()]},
          open(sys.argv[1], "w"))
"""


@pytest.mark.parametrize("args", [["evaluate", "examples/visit.json"], ["--help"], ["serve", "--help"],
                                  ["server", "token", "--help"]])
def test_commands_import_no_web_stack(tmp_path: Path, args: list[str]) -> None:
    listing = tmp_path / "modules.json"
    subprocess.run([sys.executable, "-c", LIST_MODULES, str(listing), *args], cwd=ROOT, check=True,
                   env={**environment(), "SHUANGYONG_LOAD_PLUGINS": "server"}, capture_output=True)
    found = json.loads(listing.read_text(encoding="utf-8"))
    assert "server" in found["plugins"]
    assert [] == [name for name in found["modules"] if name.startswith(HEAVY)]
