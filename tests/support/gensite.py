"""A generated Daily8-style site for the throughput benchmarks, and a fast loopback server.

    python -m bench.gensite --pages 100000 --out /tmp/site [--serve] [--server auto]

(The benchmarks and ``tests/test_bench.py`` share it, so it lives with the test helpers;
``bench/gensite.py`` is its command.)

The site is :class:`~newscrawl.demo.site.SampleSite` (listings, related cards, a
sitemap, the awkward cases) plus one story in :data:`DUPLICATE_EVERY` re-published
under a second id with the text of the story before it, as aggregators do.

A benchmark must measure the crawler, not the server, so with nginx installed the
pages are written out once as static files and nginx serves them (one worker,
loopback only); without nginx a threaded Python server renders them on demand,
which is fine for small sites but may cap throughput on two cores. Either way
the server is a process of its own, so a crawl's CPU and memory are its own.
Absolute URLs (canonical, sitemap) name the server's ``127.0.0.1:port``, so a
static copy is tied to its port; it is reused while that port is free.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from newscrawl.demo.server import SiteServer
from newscrawl.demo.site import SampleSite

DUPLICATE_EVERY = 50
SITEMAP_SIZE = 10_000  # entries per sitemap file, as news sites split them
FORMAT = 2  # bump when the static layout changes, so cached copies are rebuilt
HOST = "127.0.0.1"
CACHE_DIR = Path(tempfile.gettempdir()) / "newscrawl-bench-site"
CACHE_FROM = 10_000  # pages: smaller sites are quicker to write again than to keep
ROOT = Path(__file__).resolve().parents[2]


def build_site(pages: int, seed: int = 8) -> SampleSite:
    """The benchmark site: ``pages`` stories, 2% of them duplicates of their predecessor."""
    site = SampleSite(n_articles=pages, seed=seed, sitemap_size=SITEMAP_SIZE)
    # Index 37 and up: clear of the sample's own special cases (all below 16).
    for i in range(37, pages, DUPLICATE_EVERY):
        site.set_paragraphs(site.ids[i], site.spec(site.ids[i - 1]).paragraphs)
    return site


# --- static copy for nginx -----------------------------------------------------------------


def _static_paths(site: SampleSite) -> Iterator[tuple[str, str]]:
    """``(URL path, file path under root/)`` of every page the site serves."""
    yield "/robots.txt", "robots.txt"
    yield "/sitemap.xml", "sitemap.xml"  # the urlset, or an index of these when they are many
    chunks = -(-site.n_articles // site.sitemap_size)
    for k in range(1, chunks + 1 if chunks > 1 else 1):
        yield f"/sitemap-{k}.xml", f"sitemap-{k}.xml"
    for page in range(1, site.listing_pages() + 1):
        yield f"/en?page={page}", f"_listing/{page}.html"
    yield "/en/private/drafts", "en/private/drafts"
    for path in site.article_paths():
        yield path, path.lstrip("/")


def _nginx_conf(out: Path, port: int, latin1_path: str) -> str:
    root, tmp = out / "root", out / "tmp"
    temp_paths = "".join(
        f"  {kind}_temp_path {tmp}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # One process that never drops privileges: as root, nginx workers would run as nobody
    # and could not read a private temp directory.
    return f"""master_process off;
daemon off;
pid {out}/nginx.pid;
error_log {out}/nginx.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
{temp_paths}  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  server_tokens off;
  types {{ text/html html; text/plain txt; application/xml xml; }}
  default_type text/html;
  charset utf-8;
  charset_types text/html text/plain application/xml;
  map $arg_page $listing_page {{ "" 1; "~^[0-9]+$" $arg_page; default none; }}
  server {{
    listen {HOST}:{port};
    root {root};
    location = / {{ return 301 /en; }}
    location = /en {{ try_files /_listing/$listing_page.html =404; }}
    location = {latin1_path} {{ charset iso-8859-1; }}
    location /_listing/ {{ internal; }}
  }}
}}
"""


def write_static(site: SampleSite, out: Path, port: int) -> None:
    """Render every page of ``site`` for ``127.0.0.1:port`` into ``out`` with an nginx.conf.

    Skipped when ``out`` already holds this site for this port; the manifest is
    written last, so an interrupted run is redone.
    """
    manifest = _manifest(site, port)
    if _read_manifest(out) == manifest:
        return
    shutil.rmtree(out, ignore_errors=True)
    (out / "tmp").mkdir(parents=True)
    host = f"{HOST}:{port}"
    made: set[Path] = set()
    for url_path, file_path in _static_paths(site):
        resource = site.render(url_path, host)
        assert resource is not None, url_path
        target = out / "root" / file_path
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        target.write_bytes(resource.body)
    latin1 = site.spec(site.special.latin1).path
    (out / "nginx.conf").write_text(_nginx_conf(out, port, latin1))
    (out / "site.json").write_text(json.dumps(manifest))


def _manifest(site: SampleSite, port: int) -> dict[str, int]:
    return {"format": FORMAT, "pages": site.n_articles, "seed": site.seed, "port": port}


def _read_manifest(out: Path) -> dict[str, int] | None:
    with contextlib.suppress(OSError, ValueError):
        return json.loads((out / "site.json").read_text())
    return None


# --- serving ---------------------------------------------------------------------------------


def nginx_binary() -> str | None:
    """nginx, also where ``/usr/sbin`` is not on PATH (non-root shells)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def _free_port(preferred: int | None = None) -> int:
    """``preferred`` if it can be bound on 127.0.0.1 now, else a port the kernel picks."""
    for port in (preferred, 0):
        if port is None:
            continue
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.bind((HOST, port))
            return sock.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"site server exited ({process.returncode}): {log.read_text()}")
        with socket.socket() as sock, contextlib.suppress(OSError):
            sock.connect((HOST, port))
            return
        time.sleep(0.05)
    raise TimeoutError(f"site server not listening on {HOST}:{port}")


@dataclass
class RunningSite:
    """A served benchmark site: crawl from ``url + "/en"``."""

    url: str
    server: str  # "nginx" or "python"
    pages: int


@contextlib.contextmanager
def serve(
    pages: int, *, workdir: Path | None = None, server: str = "auto"
) -> Iterator[RunningSite]:
    """Serve a ``pages``-story site from another process until the block ends.

    ``server``: ``nginx``, ``python`` or ``auto`` (nginx when installed). The nginx
    copy lives in ``workdir``; by default a site of :data:`CACHE_FROM` pages or more
    is kept in the temp directory for the next run, a smaller one is rebuilt each time.
    """
    nginx = nginx_binary() if server in ("auto", "nginx") else None
    if server == "nginx" and nginx is None:
        raise RuntimeError("nginx is not installed")
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="newscrawl-site-")))
        if nginx:
            out = workdir or (CACHE_DIR / str(pages) if pages >= CACHE_FROM else scratch)
            port = _free_port((_read_manifest(out) or {}).get("port"))
            write_static(build_site(pages), out, port)
            command = [nginx, "-p", str(out), "-c", str(out / "nginx.conf"), "-e", "stderr"]
        else:
            port = _free_port()
            command = [sys.executable, "-m", "bench.gensite", "--pages", str(pages), "--serve"]
            command += ["--server", "python", "--port", str(port)]
        log = scratch / "server.log"
        with log.open("wb") as out_file:
            process = subprocess.Popen(command, cwd=ROOT, stdout=out_file, stderr=subprocess.STDOUT)
        try:
            _wait_listening(port, process, log)
            yield RunningSite(f"http://{HOST}:{port}", "nginx" if nginx else "python", pages)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _run_until_stopped(message: str) -> None:
    """Wait for Ctrl-C or SIGTERM; either unwinds the caller's ``with``, stopping the server.

    Both handlers are set: a shell starts background jobs with SIGINT ignored.
    """
    for stop in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop, signal.default_int_handler)
    print(message, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        while True:
            time.sleep(3600)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, required=True, help="article pages (12..100000+)")
    parser.add_argument("--out", type=Path, help="directory for the static copy (nginx)")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--serve", action="store_true", help="serve it until Ctrl-C")
    parser.add_argument("--server", choices=("auto", "nginx", "python"), default="auto")
    args = parser.parse_args(argv)
    if args.serve and args.server == "python":
        with SiteServer(build_site(args.pages), HOST, args.port) as running:
            _run_until_stopped(f"Serving {args.pages} pages at {running.url}/en")
        return
    if args.serve:
        with serve(args.pages, workdir=args.out, server=args.server) as site:
            _run_until_stopped(f"Serving {args.pages} pages with {site.server} at {site.url}/en")
        return
    if args.out is None:
        parser.error("--out is required unless --serve")
    write_static(build_site(args.pages), args.out, _free_port(args.port or None))
    print(f"Wrote {args.pages} pages to {args.out} (nginx -p {args.out} -c nginx.conf)")


if __name__ == "__main__":
    main()
