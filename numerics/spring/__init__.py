"""The spring-block models compiled and solved: :mod:`overdamped` (model a, the authors'
map with lax.scan), :mod:`underdamped` (model b, stick-slip stepping or a diffrax SDE),
:mod:`flows` (noiseless and mean-field ODEs, diffrax), :mod:`statistics` (load-curve
statistics), :mod:`phase_diagram` (the (friction, noise) sweep)."""
