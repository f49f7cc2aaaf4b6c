"""Tools around the product, never imported by the running bot: the local Bot API
emulator (tests and the benchmark), ``calfcoach bench``, ``calfcoach eval`` and its
ablation. ``tests/test_architecture.py`` checks that no runtime module reaches them."""
