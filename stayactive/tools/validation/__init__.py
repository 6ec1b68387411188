"""Validation harnesses: the analytics against the simulator's truth and against real data.

:mod:`~stayactive.tools.validation.analytics` checks the mobility metrics
(``stayactive validate analytics``), :mod:`~stayactive.tools.validation.savings` the savings
effect estimator on the textbook world (``stayactive validate savings``), both against the
simulator, and :mod:`~stayactive.tools.validation.scenarios` the same estimator in worlds where
its assumptions fail, and the money layer against a simulated municipality.
:mod:`~stayactive.tools.validation.gait` scores step detection on real recordings with
reference steps (``stayactive validate gait``, with mobgap side by side and
leave-one-subject-out); :mod:`~stayactive.tools.validation.field` is the field kit, device
against hand counts (``stayactive validate field``), with recordings exported from the database
by :mod:`~stayactive.tools.validation.recording_export` or made by the simulator
(:mod:`~stayactive.tools.validation.field_sim`). :mod:`~stayactive.tools.validation.recordings`
defines the recording files.
"""
