"""``python -m bot run``: the same as the ``ishc-bot`` command."""

import sys

from bot.cli import main

sys.exit(main())
