"""Loopback agency simulators that honour the contracts in ``contracts/``."""
