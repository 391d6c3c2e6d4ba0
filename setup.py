"""Packaging: an installable project and a scrapyd egg (``scrapyd-deploy``)."""

from pathlib import Path

from setuptools import find_packages, setup


def requirements() -> list[str]:
    lines = Path(__file__).with_name("requirements.txt").read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="newscrawl",
    version="0.1.0",
    description="A production news crawler built on Scrapy",
    packages=find_packages(include=["newscrawl", "newscrawl.*"]),
    package_data={"newscrawl": ["db/migrations/*.sql"]},
    include_package_data=True,
    python_requires=">=3.11",
    install_requires=requirements(),
    entry_points={
        "scrapy": ["settings = newscrawl.settings"],
        "console_scripts": ["newscrawl = newscrawl.cli:main"],
    },
    zip_safe=False,
)
