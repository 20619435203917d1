"""The command line: thin commands that parse options, call the core and render the answer.

The root group and `main()` (errors -> exit codes) are in :mod:`llmaudit.cli.main`.
"""
