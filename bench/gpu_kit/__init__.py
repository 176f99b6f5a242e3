"""The GPU check kit behind ``bench/gpu_check.py``: what it runs (``plan``), the models and data it builds
(``build``), the app's worker training each path (``paths``), the app against plain TRL (``speed``), the jobs
that run in a process of their own (``jobs``: plain TRL, the memory cases, chat), and the table it prints
(``report``). ``t4_worker`` is the app's worker on a GPU made to look like one without bf16."""
