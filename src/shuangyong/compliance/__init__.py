"""A unit's year of 双拥 records against the creation standards: dossiers, standards packs,
check kinds and the scored report with its gaps.

Internal: ``StandardsSet``, ``load_dossier``, ``evaluate_compliance`` and ``report_to_dict`` are
public from :mod:`shuangyong`, the check-kind types from :mod:`shuangyong.plugins` (docs/api.md).
"""
