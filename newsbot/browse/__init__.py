"""`newsbot browse`: the database as read-only web pages (Datasette), with the labels, facets and
queries newsbot knows its tables by."""
