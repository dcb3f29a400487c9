"""Stories against watchlists: folding, the term automaton, rules, snippets, and the tools that explain them."""
