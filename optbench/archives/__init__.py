"""The shipped baseline archives of the frozen suites (:mod:`optbench.archive`), one ``<suite>.npz`` each."""
