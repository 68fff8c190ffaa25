"""The bottom layer, used by every other: one-sentence errors (`errors`), counts and gaps in words (`text`),
fixes written for where they are read (`fix`), the one mark every verdict is and its look (`marks`), the two
languages and their sentences (`i18n`). It imports nothing of the lab."""
