"""HL7 v2 (2.3-2.6) for shuangyong: registrations and charges in (hl7apy), decisions back in the ACK, over MLLP.

The names are imported on first use: loading the plugin (``shuangyong_hl7.hooks``, at every
``shuangyong`` command) imports this package, and must not import asyncio or SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shuangyong_hl7.hooks import Hl7Adapter
    from shuangyong_hl7.listener import MllpListener, send
    from shuangyong_hl7.messages import Hl7Error
    from shuangyong_hl7.service import Hl7Service
    from shuangyong_hl7.store import PatientStore

#: public name → the module defining it
_MODULES = {"Hl7Adapter": "hooks", "Hl7Error": "messages", "Hl7Service": "service", "MllpListener": "listener",
            "PatientStore": "store", "send": "listener"}

__all__ = ["Hl7Adapter", "Hl7Error", "Hl7Service", "MllpListener", "PatientStore", "send"]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(f"shuangyong_hl7.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'shuangyong_hl7' has no attribute {name!r}")
