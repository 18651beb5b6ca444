"""``python -m rnnkit``: the ``rnnkit`` command (for ``torchrun -m rnnkit`` too)."""

import sys

from rnnkit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
