"""Tools around the product: the demo, simulation set-up, benchmarks and validation harnesses.

This is the only hub code that imports :mod:`firmware_sim` (import-linter's ``protected``
contract in ``pyproject.toml`` holds it to that): the product's packages never depend on the
simulator, and the tools use the product as a municipality would, through its public functions.
"""
