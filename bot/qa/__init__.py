"""Question answering over the guide: triage, retrieval, scope check, answer composition."""
