"""The bounds every entry point holds input to (docs/limits.md): one place, so that the JSON
contract, the batch path, the packs, the dossiers and the ledger refuse the same things.

Each bound exists because something past it either crashed, ran out of memory or gave a wrong
answer (issue 14); they are generous for real hospital data.
"""

from __future__ import annotations

from decimal import Decimal

#: Largest amount of one charge line, in yuan. 10^12 fen: a visit of up to 9,000 such lines
#: still sums exactly in a float64 (xlsx) and every sum fits int64 fen (ledger, batch).
MAX_AMOUNT = Decimal("9999999999.99")
#: Longest id (visit, line, patient, credential number, code, rule, item …), in characters;
#: the SQL ledger's columns hold this many.
MAX_ID_LENGTH = 200
#: Deepest nesting of arrays and objects in one JSON or YAML document (a visit needs 5).
MAX_DEPTH = 64
#: Largest YAML file read (policy pack, standards pack, dossier, test cases, code table), in bytes.
MAX_YAML_BYTES = 16 * 1024 * 1024
#: Most YAML aliases (``*name``) one YAML file may use: enough for real packs, too few for a bomb.
MAX_YAML_ALIASES = 1000
#: Largest single record (one JSON Lines line, or a whole JSON document), in bytes.
MAX_RECORD_BYTES = 64 * 1024 * 1024
#: Encodings an input may be read in (``--encoding``); UTF-8 with or without a BOM by default.
ENCODINGS = ("utf-8", "gb18030")
#: Most values one YAML document may hold once its aliases are expanded: a few hundred bytes of
#: nested aliases otherwise expand to billions (issue 14, 392 bytes → 5.8 GB).
MAX_YAML_NODES = 1_000_000
#: Largest whole number a pack or dossier may state (a count of people, an age, a level):
#: Python refuses to read integers past 4,300 digits, and no real count comes near this.
MAX_COUNT = 10**9
#: Longest free text (a patient's name, a charge line's description), in characters: carried,
#: never decided on, and an HIS's drug descriptions with their specifications run past 200.
MAX_TEXT_LENGTH = 2000
