"""The bottom layer: errors, symbols, exact integer helpers, the kernel registry, the design notation,
the catalog, exact parameter and MAC counts, and the information field. Imports only sympy."""
