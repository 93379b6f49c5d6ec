"""Fulfilment pages: actions on the desk's ticket page and the requester's package download."""

from django.urls import URLPattern, URLResolver, path

from helpdesk.fulfilment import views

app_name = "fulfilment"
DESK = "desk/tickets/<str:reference>/fulfilment/"
urlpatterns: list[URLPattern | URLResolver] = [
    path(DESK + "lookup/", views.start_lookup, name="lookup"),
    path(DESK + "lookup/<int:pk>/retry/", views.retry_lookup, name="retry_lookup"),
    path(DESK + "package/", views.build_package, name="build_package"),
    path(DESK + "package/<int:pk>/review/", views.review_package, name="review_package"),
    path(DESK + "package/<int:pk>/download/", views.staff_download, name="staff_download"),
    path(DESK + "package/<int:pk>/release/", views.release_package, name="release_package"),
    path(DESK + "erasure/", views.preview_erasure, name="preview_erasure"),
    path(DESK + "erasure/<int:pk>/approve/", views.approve_erasure, name="approve_erasure"),
    path(DESK + "erasure/<int:pk>/retry/", views.retry_erasure, name="retry_erasure"),
    path(DESK + "erasure/<int:pk>/report/", views.report_erasure, name="report_erasure"),
    path(DESK + "manual/", views.record_manual, name="manual"),
    path("request/<str:token>/access-package/<int:pk>/", views.requester_download, name="requester_download"),
    path("request/<str:token>/access-package/<int:pk>/summary/", views.requester_summary, name="requester_summary"),
]
