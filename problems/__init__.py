"""The optbench problem catalogue.

Each module registers its problems with :func:`optbench.register_problem` and is named in
optbench's ``optbench.problems`` entry-point group -- the same path a third-party package
uses. Import a module directly only to subclass a problem; look problems up with
:func:`optbench.get_problem`.
"""
