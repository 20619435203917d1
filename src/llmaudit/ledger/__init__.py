"""The SQLite ledger (``store``, ``migrations``, ``query``) and the usage record (``record``).

Import from the submodules; this package stays empty so that the record can be used without
loading sqlite3.
"""
