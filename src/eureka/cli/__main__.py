"""`python -m eureka.cli …`: the same as the `eureka` command."""

from __future__ import annotations

import sys

from eureka.cli import main

sys.exit(main())
