"""Spiders: crawling only (what to fetch next); extraction lives in ``newscrawl.pages``."""
