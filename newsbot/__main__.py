"""`python -m newsbot` from the repository root, the same as the installed `newsbot` command."""

import sys

from newsbot.cli.launch import main

sys.exit(main())
