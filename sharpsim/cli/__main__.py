"""``python -m sharpsim.cli``: the same as ``sharpsim``."""

import sys

from .main import main

sys.exit(main())
