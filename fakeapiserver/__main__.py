"""``python -m fakeapiserver``: the same as the ``fakeapiserver`` command."""

import sys

from fakeapiserver.cli import main

sys.exit(main())
