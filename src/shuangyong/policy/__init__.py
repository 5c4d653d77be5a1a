"""Policy packs: YAML files validated, layered and fingerprinted into a ``PolicySet``.

Internal: ``PolicySet`` is public from :mod:`shuangyong` (docs/api.md); import it from there.
"""

from shuangyong.policy.layers import PolicySet, Rule, merge
from shuangyong.policy.loader import (
           LoadedPack,
           builtin_pack_names,
           load_reference,
           parse_pack,
           resolve_layers,
)

__all__ = ["LoadedPack", "PolicySet", "Rule", "builtin_pack_names", "load_reference", "merge",
           "parse_pack", "resolve_layers"]
