"""The bottom layer, used by every other: one-sentence errors (`errors`), counts and gaps in words (`text`),
fixes written for where they are read (`fix`), the look of a verdict (`marks`). It imports nothing of the lab."""
