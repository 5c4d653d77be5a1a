"""Render the screenshots of docs/export.md: the sample visits' decisions as xlsx and PDF, each
turned into a PNG (LibreOffice for the workbook, pdftoppm for both). Run from the repository root:

    .venv/bin/python plugins/shuangyong-export/scripts/screenshots.py

Needs Debian's libreoffice-calc-nogui and poppler-utils; writes docs/_static/export-*.png.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from shuangyong import plugins
from shuangyong.engine import Engine
from shuangyong.interchange import decision_to_dict, visit_from_dict

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "plugins" / "shuangyong-fhir" / "tests" / "fixtures" / "nanning-outpatient-inpatient.json"
STATIC = ROOT / "docs" / "_static"
CROP = {"export-xlsx": "420", "export-pdf": "880"}  #: pixels kept from the top of page 1 at 110 dpi


def main() -> None:
    engine = Engine.from_packs("seed-example")
    visits = plugins.collect("register_his_adapters")["fhir"].read(FIXTURE)
    decisions = [decision_to_dict(engine.evaluate(visit_from_dict(v))) for v in visits]
    exporters = plugins.exporters("decisions")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for name in ("xlsx", "pdf"):
            with (work / f"decisions.{name}").open("wb") as out:
                exporters[name].write("decisions", decisions, out)
        subprocess.run(["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(work / "xlsx"),
                        str(work / "decisions.xlsx")], check=True, capture_output=True)
        for source, target in ((work / "xlsx" / "decisions.pdf", "export-xlsx"),
                               (work / "decisions.pdf", "export-pdf")):
            subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
                            "-W", "1286", "-H", CROP[target], str(source), str(STATIC / target)], check=True)
    print("wrote", *sorted(p.name for p in STATIC.glob("export-*.png")), file=sys.stderr)


if __name__ == "__main__":
    main()
