"""portrait.study — the Portrait identitaire des Hauts-de-France: frames, questionnaire, fieldwork, ingest,
weighting recipes, comparison and validation. Built on :mod:`portrait.survey` and :mod:`portrait.pipeline`."""
