"""``python -m mvkit`` is the same as the ``mvkit`` command."""
import sys

from mvkit.cli import main

sys.exit(main())
