"""The 双拥 office's web pages: a unit's dossier kept with every version of every record, edited
through forms, with the live compliance report, the 公示 notice and the ledger's month view.

:class:`DossierStore` keeps the dossiers (:mod:`.dossiers`); :func:`office_router` serves the
pages (:mod:`.pages`). docs/office.md is the page for the people who use them.
"""

from shuangyong_server.office.dossiers import DossierHead, DossierStore, ImportSummary, NotFound, Version
from shuangyong_server.office.pages import office_router

__all__ = ["DossierHead", "DossierStore", "ImportSummary", "NotFound", "Version", "office_router"]
