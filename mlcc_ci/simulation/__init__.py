"""A synthetic but realistic world over the catalog, replayed through the real scheduling
code to compare policies (`mlcc-ci simulate`): world.py makes the world from a seed,
replay.py drives selection and the record transitions over a SQLite store, metrics.py
says what each policy caught, how fast and at what cost."""
