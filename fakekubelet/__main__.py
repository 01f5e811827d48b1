"""``python -m fakekubelet``: the fleet CLI (see ``fakekubelet.cli``)."""

import sys

from fakekubelet.cli import main

sys.exit(main())
