"""The compile layer: the one driver from a validated module to machine code (driver.py), the
backend registry keyed by target and ISA features (registry.py), the Module it compiles
(module.py), the shared state of an Engine (environment.py), the artifact format (artifact.py)
and the on-disk cache (cache.py). Imports the ground, front end, environ, ir and backends."""
