"""Storage: the interface (``storage.base``) and its SQLite backend (``storage.sqlite``)."""
