"""The demo's sample feeds, shipped inside newsbot as newsbot.demo_files so that `newsbot demo` works
from an installed wheel as from a checkout (see pyproject.toml)."""
