"""newscrawl: a production news crawler built on Scrapy.

The Python API (``newscrawl.api``), imported on first use so that loading the
crawler's settings stays cheap::

    import newscrawl

    record = newscrawl.extract(html, url="https://example.com/2025/05/17/story")
    for article in newscrawl.crawl("https://example.com/", spider="news", max_pages=50):
        print(article["headline"])

``newscrawl.extract`` is also the name of the extraction module: that module is
callable, with the same signature as :func:`newscrawl.api.extract`.
"""

from typing import Any

__version__ = "0.1.0"
__all__ = ["crawl", "extract"]


def __getattr__(name: str) -> Any:
    if name == "crawl":
        from newscrawl.api import crawl

        return crawl
    if name == "extract":
        import newscrawl.extract

        return newscrawl.extract
    raise AttributeError(f"module 'newscrawl' has no attribute {name!r}")
