"""The generic machinery every benchmark family plugs into. Nothing here names a family:
families are found through :mod:`bench.families`."""
