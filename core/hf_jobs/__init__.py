"""Hugging Face Jobs: a rented GPU for the recipe, followed from the app like a local run.

- ``core/hf_jobs/submit.py``: the recipe's command turned into the API call, the data pushed, the Job started.
- ``core/hf_jobs/hardware.py``: the Hub's list of Jobs hardware with prices, and the time and cost estimate.
- ``core/hf_jobs/follow.py``: one look at a Job (stage, logs, machine metrics, the metrics the run pushed),
  Cancel, and the trained result downloaded from the output repo.

``core/runs/remote.py`` applies what ``follow`` reads to a run of the run list. Every function here takes the
token as an argument (found by ``core/hub.py`` from the page, ``HF_TOKEN``, the saved login or a sign-in) and
keeps it nowhere.
"""

from core.hf_jobs.submit import HfJobRequest, HfJobsError, HfJobSubmission, build_job_request, submit_recipe_job

__all__ = ["HfJobRequest", "HfJobSubmission", "HfJobsError", "build_job_request", "submit_recipe_job"]
