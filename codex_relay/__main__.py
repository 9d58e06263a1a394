import sys

from codex_relay._run.cli import main

sys.exit(main())
