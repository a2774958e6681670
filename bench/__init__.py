"""ember's benchmark against PyTorch: ``make bench`` or ``python -m bench --only W3``.

``bench.workloads`` defines each workload once; ``bench.run`` times them in one worker
process per framework, alternating ember and torch runs; ``README.md`` describes the method.
"""
