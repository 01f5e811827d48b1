"""`python -m scenarios.simtime`: the accelerated-time metrics probe (scenarios.simtime.driver)."""

import sys

from scenarios.simtime.driver import main

sys.exit(main())
