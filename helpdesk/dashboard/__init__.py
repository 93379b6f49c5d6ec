"""The managers' dashboard (``/desk/dashboard/``); its figures and exports are :mod:`helpdesk.metrics`."""
