"""PostgreSQL storage. A batch from the pipeline visits each module once:

``writer`` (retry with backoff, outage breaker, spool fallback, dead letters)
→ ``store`` (the SQL; splits a batch to isolate a record PostgreSQL refuses)
→ ``connection`` (which server: a DSN or the embedded one; one connection per user).

``errors`` decides what a failure means (a record's fault, an outage, a wrong
configuration), ``spool`` keeps the files of what an outage left, ``migrate``
creates and updates the schema, ``crawl`` opens the database and shares it among
a crawl's components, ``commands`` is ``newscrawl db``.
"""
