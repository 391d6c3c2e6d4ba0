"""PostgreSQL storage.

``connection`` decides which server to use (a DSN, or an embedded one), ``migrate``
creates and updates the schema, ``store`` writes article batches.
"""
