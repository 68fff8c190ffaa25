"""The report and the class: the chapters and their paths (`chapters`), the pipeline that runs them and publishes
the pages (`run`), one chapter executed and exported (`execute`), their kernels (`kernels`), what the chapters
displayed read back (`bundles`), the index and summary (`report_page`), the hand-in and its PDF (`handin`), the
class view (`classview`), a student's output made harmless (`sanitize`), the French edition built from one
source (`editions`). Imports `lab.grading` and below."""

from .chapters import find_chapters
from .run import build, inject_parameters, parameter_names

__all__ = ["build", "find_chapters", "inject_parameters", "parameter_names"]
