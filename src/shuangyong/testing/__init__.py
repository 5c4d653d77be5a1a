"""The testing toolkit shipped with the library, for anyone who checks a policy.

- :mod:`shuangyong.testing.strategies`: hypothesis strategies (needs the ``testing`` extra).
- :mod:`shuangyong.testing.properties`: the engine's invariants as reusable checks.
- :mod:`shuangyong.testing.cases`: YAML test cases and their runner (``shuangyong test``).
- :mod:`shuangyong.testing.pytest_plugin`: fixtures and YAML case collection for pytest.

Importing this package imports none of them, so that the pytest plugin and the case runner
work where hypothesis is not installed.
"""
