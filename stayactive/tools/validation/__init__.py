"""Validation harnesses: the analytics against the simulator's ground truth.

:mod:`~stayactive.tools.validation.analytics` checks the mobility metrics
(``stayactive validate analytics``), :mod:`~stayactive.tools.validation.savings` the savings
effect estimator (``stayactive validate savings``).
"""
