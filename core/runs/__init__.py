"""A training run's one home: its folder, its record, the queue, the two sides of the worker, the TRL run.

    store.py       the run folder: the only module that knows its file names and opens its files
    record.py      the run record: phases, logged rows, snapshots and summaries, how a run ended
    failures.py    why a run failed, in a sentence a beginner can act on
    manager.py     one per app: the queue, ownership, Start / Stop / Resume
    launcher.py    the app's side of the process boundary: start a worker, mirror its folder
    worker.py      the worker's side: ``python -m core.runs.worker --run-dir <folder>``
    train.py       the TRL run and its callback; sft_trainer.py its faster CPU loss
    progress.py    step, ETA and throughput from a snapshot
    remote.py      a run on Hugging Face Jobs: listed like the others, followed from the app (core/hf_jobs/)

The path of one logged loss: the trainer's ``on_log`` → ``CoachCallback`` → ``Run.record_metrics`` →
``RunFolder.append_row`` (worker) → ``RowFollower`` → ``Run.adopt`` (app) → ``RunManager.snapshot`` →
the Train step's chart on its next timer tick.
"""
