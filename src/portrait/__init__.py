"""portrait: reproducible quantitative phase of the Portrait identitaire des Hauts-de-France.

Modules follow the workflow: ``paths`` and ``config`` (where things are, which parameters),
``frames`` and ``sampling`` (sampling frames and sample draws), ``run`` and ``render``
(papermill execution and nbconvert HTML), ``report`` (the index of reports).
"""

__version__ = "0.1.0"
