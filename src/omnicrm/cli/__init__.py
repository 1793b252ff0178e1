"""The ``omnicrm`` command line: ``omnicrm demo`` and, later, batch jobs."""

from omnicrm.cli.main import main

__all__ = ["main"]
