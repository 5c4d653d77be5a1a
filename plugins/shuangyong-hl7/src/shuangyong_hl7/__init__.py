"""HL7 v2 (2.3-2.6) for shuangyong: registrations and charges in (hl7apy), decisions back in the ACK, over MLLP."""

from shuangyong_hl7.hooks import Hl7Adapter
from shuangyong_hl7.listener import MllpListener, send
from shuangyong_hl7.messages import Hl7Error
from shuangyong_hl7.service import Hl7Service
from shuangyong_hl7.store import PatientStore

__all__ = ["Hl7Adapter", "Hl7Error", "Hl7Service", "MllpListener", "PatientStore", "send"]
