"""shuangyong-server: the HTTP front door for hospital systems written in Java, C# or Delphi.

``shuangyong serve`` runs :func:`shuangyong_server.app.create_app` under uvicorn. Importing this
package imports nothing heavy: every ``shuangyong`` command imports the plugin's hooks module,
and FastAPI is imported only when the server starts (``tests/test_startup.py``).
"""
