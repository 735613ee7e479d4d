"""portrait.reporting — figures, French formatting and text, HTML rendering and the reports' index."""
