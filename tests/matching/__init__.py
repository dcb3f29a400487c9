"""newsbot.matching in-process: rules, hard cases, snippets, invisible characters, the evaluation set."""
