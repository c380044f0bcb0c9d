"""The paper's trained nets: :mod:`data` (data sets, none downloaded), :mod:`mlp`,
:mod:`train` (one compiled train-and-measure function), :mod:`separation` (D_l and the
load-curve statistics), :mod:`lazy` (laziness indicators), :mod:`sweep` (panels)."""
