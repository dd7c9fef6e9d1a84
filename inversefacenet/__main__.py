"""``python -m inversefacenet PHOTO... --out DIR``: see :mod:`inversefacenet.cli`."""

import sys

from inversefacenet.cli import main

sys.exit(main())
