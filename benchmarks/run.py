"""Every performance figure in one run: the same as `rag bench` (see `rag bench --help`).

    python benchmarks/run.py [--corpus PATH] [--model GGUF] [--quick] [--json FILE]
"""

from __future__ import annotations

from rag.cli.tools import bench_cmd

if __name__ == "__main__":
    bench_cmd(prog_name="benchmarks/run.py")
