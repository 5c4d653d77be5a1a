"""HL7 v2.5 for shuangyong: ADT^A04 and DFT^P03 in (hl7apy), decisions back in the ACK, over MLLP."""

from shuangyong_hl7.hooks import Hl7Adapter
from shuangyong_hl7.listener import MllpListener, send
from shuangyong_hl7.messages import Hl7Error
from shuangyong_hl7.service import Hl7Service

__all__ = ["Hl7Adapter", "Hl7Error", "Hl7Service", "MllpListener", "send"]
