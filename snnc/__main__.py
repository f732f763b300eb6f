"""`python -m snnc`: the same command as the `snnc` entry point."""

import sys

from snnc.cli import main

sys.exit(main())
