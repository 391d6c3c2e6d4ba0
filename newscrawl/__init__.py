"""newscrawl: a production news crawler built on Scrapy.

The Python API (:mod:`newscrawl.api`; its functions import the crawler's parts on
first call, so loading the crawler's settings stays cheap)::

    import newscrawl

    record = newscrawl.extract(html, url="https://example.com/2025/05/17/story")
    for article in newscrawl.crawl("https://example.com/", spider="news", max_pages=50):
        print(article["headline"])
"""

from newscrawl.api import crawl, extract

__version__ = "0.1.0"
__all__ = ["crawl", "extract"]
