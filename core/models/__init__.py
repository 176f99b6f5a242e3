"""Models: which ones the app can train and how each gets onto disk (``catalog``), what a person picked and
may pick (``refs``), and the models loaded for chat and comparison (``pool``)."""
