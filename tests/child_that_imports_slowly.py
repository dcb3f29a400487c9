"""A child for tests/test_child_process.py: a second of importing (newsbot's children import lxml,
trafilatura and sqlite-utils first), then one line on stdout."""

import sys
import time

time.sleep(1.0)
sys.stdout.write("imported\n")
