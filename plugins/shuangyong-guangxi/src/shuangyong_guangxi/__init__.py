"""Example region plugin: a category and a policy pack for 广西 (GB/T 2260 prefix 45).

Written to be copied: ``hooks.py`` registers, ``guangxi.yaml`` holds the rules, ``tests/`` shows
how to check both. See ``docs/plugins.md``.
"""

from shuangyong_guangxi.hooks import MERITORIOUS_ELDER, PACK

__all__ = ["MERITORIOUS_ELDER", "PACK"]
