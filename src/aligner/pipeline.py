"""The align run as `datatrove <https://github.com/huggingface/datatrove>`_ pipelines: on
many processes of one machine, on a Slurm cluster or on Ray (``aligner align --workers N``,
``--executor slurm|ray --executor-config FILE``; docs/usage/cluster.md).

    from aligner.pipeline import build, execute

    stages = build("out", "reports/en", "reports/ar", pair_by="name")
    execute(stages, executor="local", workers=4)        # or executor="slurm", options={...}

:func:`build` returns the three stages as lists of datatrove steps (``stages.pair``,
``stages.align``, ``stages.merge``), for datatrove executors of your own::

    from datatrove.executor import LocalPipelineExecutor

    for steps, tasks in zip(stages, (1, 8, 1)):
        LocalPipelineExecutor(steps, tasks=tasks, workers=min(tasks, 4), logging_dir=f"logs/{tasks}").run()

See :mod:`aligner.run.distributed` for what each stage does and how a rerun resumes.
"""

from __future__ import annotations

from aligner.run.distributed import (
    EXECUTORS, AlignDocuments, DatasetSource, MergeCorpus, PairDocuments, PipelineError, PipelineResult,
    ReadPairs, RunConfig, Stages, build, clear_aligners, default_workers, execute, executor_options,
    load_executor_config, record_adapter,
)

__all__ = ["EXECUTORS", "AlignDocuments", "DatasetSource", "MergeCorpus", "PairDocuments", "PipelineError",
           "PipelineResult", "ReadPairs", "RunConfig", "Stages", "build", "clear_aligners", "default_workers",
           "execute", "executor_options", "load_executor_config", "record_adapter"]
