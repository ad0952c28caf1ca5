"""The parts of benchmarks/node_throughput.py: measure, crypto (the bare limit), peers, report."""
