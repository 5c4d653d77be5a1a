"""双拥 creation standards: a unit's dossier of records checked against standards packs, with its gaps."""
