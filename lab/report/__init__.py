"""The report and the class: running and exporting the chapters (`run`), their kernels (`kernels`), what the
chapters displayed read back (`bundles`), the index and summary (`report_page`), the hand-in and its PDF
(`handin`), the class view (`classview`), a student's output made harmless (`sanitize`). Imports
`lab.grading` and below."""

from .run import build, find_chapters, inject_parameters, parameter_names

__all__ = ["build", "find_chapters", "inject_parameters", "parameter_names"]
