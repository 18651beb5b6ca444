"""``rnnkit reproduce``: the project's published results, shipped in the package, each run with
the command its page quotes and judged against its expected range.

    results   the entries (``ENTRIES``, ``get_entries``): command, figures, ranges, budgets
    entries   ``Entry`` and ``Metric``, and how ``--scale`` shortens a budget
    readback  a figure read back from the run's files (or ``rnnkit evaluate --json``)
    runner    each entry in its own working directory; the machine it ran on
    report    the list and the table ``rnnkit reproduce`` prints
"""
