"""``python -m metricsd`` = the ``metricsd`` console script."""

import sys

from metricsd.cli import main

sys.exit(main())
