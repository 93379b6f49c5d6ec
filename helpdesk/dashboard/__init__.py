"""The managers' dashboard (``/desk/dashboard/``) and the CSV/XLSX exports."""
