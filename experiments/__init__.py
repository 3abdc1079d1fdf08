"""Experiments: scenarios, runs, sweeps, benchmarks and the ``bitswap-sim`` command."""
