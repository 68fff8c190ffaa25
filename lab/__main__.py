"""`python -m lab VERB` — what `./workbook VERB` runs (lab/cli/main.py)."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
