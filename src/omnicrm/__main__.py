"""``python -m omnicrm``: the same as the ``omnicrm`` command."""

import sys

from omnicrm.cli import main

sys.exit(main())
