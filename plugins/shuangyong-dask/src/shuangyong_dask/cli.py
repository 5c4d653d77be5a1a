"""``shuangyong dask-evaluate DATASET``: a partitioned dataset decided on a Dask cluster."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path

import click

from shuangyong import InputError, Text
from shuangyong.cli.base import BAD_INPUT, exit_on_error, fail, policy_option, say, strict_option, writing_to
from shuangyong.cli.batch import batch_engine, input_format_option, progress_option


@click.command("dask-evaluate")
@click.argument("dataset")
@click.option("--scheduler", metavar="ADDRESS",
              help="A running scheduler (tcp://host:8786). Default: a local cluster of --workers processes.")
@click.option("--workers", type=click.IntRange(min=1), default=2, show_default=True,
              help="Worker processes of the local cluster (without --scheduler).")
@policy_option
@strict_option
@input_format_option
@click.option("--output", "-o", metavar="FILE", help="Write here instead of standard output.")
@click.option("--output-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Workers write part-NNNNN.jsonl here themselves (the parts, in name order, are the "
                   "output): nothing but counts crosses the network. DIR must be shared with the workers.")
@progress_option
def dask_evaluate(dataset: str, scheduler: str | None, workers: int, policies: tuple[str, ...], strict: bool,
                  input_fmt: str, output: str | None, output_dir: str | None, show: bool | None) -> None:
    """Decide every visit of a partitioned DATASET (a folder or a glob of Parquet, CSV or JSON
    Lines files) on Dask; JSON Lines out, in file order, identical to a serial run."""
    # imported here, not with the plugin: every shuangyong command loads the plugin at start-up
    from distributed import Client, LocalCluster

    from shuangyong.batch.progress import progress, wanted
    from shuangyong_dask.dataset import partitions
    from shuangyong_dask.evaluate import evaluate_dataset

    with exit_on_error():
        files = partitions(dataset)
    if output and output_dir:
        fail(InputError(Text("--output 与 --output-dir 只能选一个", "give --output or --output-dir, not both"),
                        field="output-dir"))
    batch_engine(policies, strict, None)  # a bad pack stops here, before any cluster starts
    failures = 0
    with ExitStack() as stack:
        if scheduler:
            client = stack.enter_context(Client(scheduler))
        else:
            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1,
                                                       dashboard_address=None))
            client = stack.enter_context(Client(cluster))
        out = stack.enter_context(writing_to(None if output_dir else output, binary=True))
        done = stack.enter_context(progress(wanted(show), len(files), "dask"))
        stack.enter_context(exit_on_error())
        for text, bad in evaluate_dataset(client, files, policies, strict=strict,
                                          fmt=None if input_fmt == "auto" else input_fmt,
                                          output_dir=Path(output_dir) if output_dir else None, done=done):
            out.write(text)
            failures += bad
    if failures:
        say(Text(f"{failures} 条记录有误，已逐条输出错误",
                 f"{failures} record(s) had errors; each is reported in the output"), err=True)
        sys.exit(BAD_INPUT)
