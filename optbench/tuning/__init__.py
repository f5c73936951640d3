r"""The tuning protocol: what is searched, how trials are drawn and chosen, and what the trials say.

This package is pure -- it runs nothing and writes no file; :mod:`optbench.tune` runs the
trials and the evaluations and writes the tuned-hyperparameter file. Data flows one way:
suite -> tune -> execute -> runner, and suite and tune both read the protocol from here.

``settings``   the ``[tune]`` table of a suite and :class:`~.settings.TuneSettings`
``search``     the trial configurations drawn from an optimizer's declared search space
``selection``  the metric of a trial, the choice of the best one (of the first ``b``), the median study
``statistics`` the expected best after ``k`` trials, the trials' order, tuned performance against budget
``frames``     the trials and the tuned-vs-default evaluations as tidy frames for the report

The modules import nothing of optbench at module level but :mod:`optbench.errors`, so that
:mod:`optbench.suite` can read the ``[tune]`` table without importing the orchestration.
"""
