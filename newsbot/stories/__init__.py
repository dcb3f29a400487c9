"""Bytes to stories: feeds parsed, dates read, URLs made canonical, entries normalised."""
