"""``python -m sqlml.cli``: the ``sqlml`` command."""

import sys

from sqlml.cli.command import main

sys.exit(main())
