"""The ``omnicrm`` command line: ``demo`` and the batch jobs ``rfm``, ``merge``, ``journey``."""

from omnicrm.cli.main import main

__all__ = ["main"]
