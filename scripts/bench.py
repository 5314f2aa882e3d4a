#!/usr/bin/env python
"""Print rlviz's speed table for an agent's network: `python scripts/bench.py --help`.

The same as `rlviz bench`; kept as a script so the benchmark is one obvious file to run.
"""

import sys

from rlviz.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
