"""The example config, watchlists and OPML, shipped inside newsbot as newsbot.example_files so that an
installed newsbot can show and check them (see pyproject.toml). Copy the files, not this one."""
