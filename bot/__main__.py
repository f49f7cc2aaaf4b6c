"""``python -m bot`` runs the ``calfcoach`` command line."""

import sys

from bot.cli import main

sys.exit(main())
