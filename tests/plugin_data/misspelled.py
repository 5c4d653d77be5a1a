"""A plugin with a typo in a hook's name (``register_category``), which must be refused on load."""

from shuangyong import hookimpl


@hookimpl
def register_category() -> list[object]:
    return []
