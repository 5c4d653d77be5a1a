"""shuangyong's batch path on Dask: one task per file of a partitioned dataset, output in order.

Nothing is imported here: every ``shuangyong`` command loads the plugin's hooks at start-up, and
pyarrow and distributed are for ``dask-evaluate`` only (``shuangyong_dask.evaluate``).
"""
