"""Verdicts, each a `lab.core.marks.Mark`: a chapter's checkpoints (`checkpoints`: `show(results...)`), the exercises (`exercises`: the API;
`exercise_checks`: one check each, `eviction_checks`: chapter 08's; `exercise_places`, `exercise_runner`: where and how an answer runs;
`sandbox`: the child process it runs in). Imports `lab.lessons` and below."""
