"""``python -m podautoscaler``: see :mod:`podautoscaler.cli`."""

import sys

from .cli import main

sys.exit(main())
