"""`python -m scenarios` entry point."""

import sys

from scenarios.cli import main

sys.exit(main())
