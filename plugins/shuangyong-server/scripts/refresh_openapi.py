"""Write the server's OpenAPI document to docs/_static/openapi.json (run after changing a route).

The document is the one ``shuangyong serve`` answers at ``/v1/openapi.json``, byte for byte:
``tests/test_server_openapi.py`` fails when the checked-in copy differs, and names this script.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
TARGET = ROOT / "docs" / "_static" / "openapi.json"


def document() -> bytes:
    """The OpenAPI document as the server serves it, from an app over a throwaway store."""
    from shuangyong_server.app import create_app, openapi_bytes
    from shuangyong_server.settings import ServerSettings

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(ServerSettings(store=f"sqlite:///{Path(folder) / 'server.sqlite3'}"))
        return openapi_bytes(app)


if __name__ == "__main__":
    TARGET.write_bytes(document())
    print(f"wrote {TARGET.relative_to(ROOT)}", file=sys.stderr)
