"""Running scenarios and reading what they wrote: everything between ``amity-sim`` and a world.

``results`` (the result folder and what every kind's files share), ``collector`` (the garbage
collector's thresholds during a run), ``sweep`` (a grid of parameter values and seeds over worker
processes or Ray), ``sweep_results`` (its files), ``stats`` (means and Student-t intervals) and
``plots`` (one figure per metric).
"""
