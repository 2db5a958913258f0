"""Analyses built on the core: efficiency ratios and Theorem 1, buildable optima, whole networks,
the design space and its reduction, the paper's tables, comparisons of kernel families."""
