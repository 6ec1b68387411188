"""Request and response models of the API, split by use (``…Create`` in, ``…Public`` out)."""
