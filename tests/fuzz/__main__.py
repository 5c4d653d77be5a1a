"""``python -m tests.fuzz``: the large-budget run behind ``make fuzz``."""

import sys

from tests.fuzz.run import main

sys.exit(main())
