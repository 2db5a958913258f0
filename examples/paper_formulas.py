"""Print the closed-form parameter and MAC counts of the paper's four designs and the standard conv.

python examples/paper_formulas.py
"""

from skanalyze import field
from skanalyze.core import catalog, counting

for design in [catalog.get("standard"), *catalog.paper_designs()]:
    f = field(design)
    print(design.notation)
    print("  params :", counting.params(design))
    if design.uses_bottleneck:
        print("           with K =", design.bottleneck, "->", counting.params(design, substitute_k=True))
    print("  MACs   :", counting.macs(design), " (FLOPs = 2 x MACs)")
    print("  field  :", f.as_tuple(), " full when", f.full_condition)
