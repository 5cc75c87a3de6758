"""``markbook demo``: the whole paper loop on a fresh embedded database (``run``), its scan
half (``scan``) and its error-book half (``loop``)."""
