"""The managers' dashboard, mounted at /desk/dashboard/ (and /en/desk/dashboard/)."""

from django.urls import URLPattern, URLResolver, path

from helpdesk.dashboard import views

app_name = "dashboard"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.index, name="index"),
    path("export/tickets/", views.export_tickets, name="export_tickets"),
    path("export/figures/", views.export_figures, name="export_figures"),
]
