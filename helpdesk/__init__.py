"""Privacy Desk: the ticket domain (the Django project around it is ``config``)."""
