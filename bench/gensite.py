"""The benchmark site on its own, to crawl by hand.

    python -m bench.gensite --pages 100000 --out /tmp/site [--serve] [--server auto]

The site itself is ``tests/support/gensite.py``, shared with ``tests/test_bench.py``.
"""

from tests.support.gensite import main

if __name__ == "__main__":
    main()
