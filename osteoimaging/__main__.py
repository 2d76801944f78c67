"""``python -m osteoimaging`` is the same as ``osteo``."""

import sys

from osteoimaging.cli.main import main

sys.exit(main())
