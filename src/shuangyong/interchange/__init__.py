"""JSON contract v1 (DESIGN §7): visits in, decisions out, as JSON or streamed JSON Lines.

Four layers, each importing only those before it: ``json_text`` (depth, duplicate keys, quoting
input in errors), ``visits`` (one record into a ``Visit``), ``framing`` (an input stream into
records: encodings, line bounds, JSON Lines or one document) and ``output`` (decisions,
explanations and error objects as JSON). The names below are the ones the documentation gives.
"""

from shuangyong.interchange.framing import Input, RawRecord, decoded_lines, read_records
from shuangyong.interchange.json_text import json_depth, json_text, too_deep
from shuangyong.interchange.output import decision_to_dict, decision_to_json, explanation_to_dict
from shuangyong.interchange.visits import check_id, visit_from_dict, visit_from_json

__all__ = ["Input", "RawRecord", "check_id", "decision_to_dict", "decision_to_json", "decoded_lines",
           "explanation_to_dict", "json_depth", "json_text", "read_records", "too_deep", "visit_from_dict",
           "visit_from_json"]
