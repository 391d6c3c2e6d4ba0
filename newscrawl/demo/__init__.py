"""A bundled Daily8-style sample site (:mod:`.site`) and a loopback server for it (:mod:`.server`).

Nothing is re-exported here so that ``python -m newscrawl.demo.server`` runs
the module cleanly (importing it from the package first would make runpy warn).
"""
