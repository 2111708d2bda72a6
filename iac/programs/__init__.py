"""One module per Pulumi program: a typed spec and a function from it to resources.

:mod:`iac.programs.base` holds the binding every program declares and the lazy table of
programs by catalog resource; the program modules themselves import ``pulumi`` and their
provider package, so they are only imported when an IaC action runs.
"""

__all__: list[str] = []
