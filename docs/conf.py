"""Sphinx configuration: Markdown pages through MyST; warnings are errors (`make docs`, tests)."""

project = "shuangyong"
author = "shuangyong developers"
copyright = "2026, shuangyong developers"
extensions = ["myst_parser"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3  # links such as policy-packs.md#stacking reach headings down to ###
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "_sources_national.md"]
html_theme = "alabaster"
language = "en"
