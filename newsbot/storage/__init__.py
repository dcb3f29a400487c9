"""newsbot's SQLite database, and its errors as sentences."""
