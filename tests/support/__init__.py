"""Helpers the tests share (and the benchmarks reuse): sites served on 127.0.0.1,
``scrapy crawl`` subprocesses, scratch databases and extraction scores.

Fixtures stay in ``tests/conftest.py``; what is here is plain code a test imports.
"""
