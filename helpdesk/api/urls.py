"""``/api/v1/``: tickets, reference data, figures, exports, and the OpenAPI schema with its UI."""

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from helpdesk.api import bulk, figures, views
from helpdesk.api.permissions import IsDeskStaff

# The schema and its two viewers list every endpoint and field of the desk: staff only (issue 25.15).
STAFF_ONLY = {"permission_classes": [IsDeskStaff]}

app_name = "api"

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("requesters", views.RequesterViewSet, basename="requester")
router.register("sla-policies", views.SlaPolicyViewSet, basename="sla-policy")
router.register("quarantine", views.QuarantineViewSet, basename="quarantine")

urlpatterns: list[URLPattern | URLResolver] = [
    path("request-types/", views.RequestTypeView.as_view(), name="request-types"),
    path("metrics/response-times/", figures.ResponseTimesView.as_view(), name="metrics-response-times"),
    path("exports/tickets/", figures.TicketExportView.as_view(), name="export-tickets"),
    path("exports/figures/", figures.FiguresExportView.as_view(), name="export-figures"),
    path("exports/records/", figures.RecordsExportView.as_view(), name="export-records"),
    # Issue 31 (contract): before the router, whose tickets/{reference}/ would take "bulk" as a reference.
    path("tickets/bulk/", bulk.BulkView.as_view(), name="tickets-bulk"),
    path("bulk-jobs/<int:pk>/", bulk.BulkJobView.as_view(), name="bulk-job"),
    # A contract: no trailing slash, as the file name it is (issue 27).
    path("tickets/<str:reference>/record.pdf", views.TicketViewSet.as_view({"get": "record"}), name="ticket-record"),
    path("schema/", SpectacularAPIView.as_view(**STAFF_ONLY), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema", **STAFF_ONLY), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema", **STAFF_ONLY), name="redoc"),
    *router.urls,
]
