"""The generate → edit → judge pipeline: job specs, the asyncio runner, chains, limits, cost, job rows."""

from picobanana.pipeline.jobs import cancel_job, create_job, get_job, list_jobs
from picobanana.pipeline.runner import Backends, JobSummary, run_job
from picobanana.pipeline.spec import ChainSettings, EditMix, JobSpec, Price

__all__ = ["Backends", "ChainSettings", "EditMix", "JobSpec", "JobSummary", "Price", "cancel_job", "create_job",
           "get_job", "list_jobs", "run_job"]
