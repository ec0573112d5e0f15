"""Hydra configs shipped with pcnet (a package so that `pcnet.conf` can be composed from Python)."""
