"""Benchmark command (make bench): python -m bnopt.bench --help (this file is the same)."""

from bnopt.bench import main

main()
