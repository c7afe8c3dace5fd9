"""Tools for running Gongzhi locally: the process stack, the demo, benchmarks."""
