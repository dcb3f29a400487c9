"""`python -m newsbot` from the repository root, the same as the installed `newsbot` command."""

import sys

from newsbot.launch import main

sys.exit(main())
