"""The staff desk, mounted at /desk/ (and /en/desk/)."""

from django.urls import URLPattern, URLResolver, path

from helpdesk.desk import views
from helpdesk.desk.views import accounts, bulk

app_name = "desk"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.queue, name="queue"),
    path("login/", views.DeskLoginView.as_view(), name="login"),
    path("logout/", views.DeskLogoutView.as_view(), name="logout"),
    path("away/", views.away, name="away"),
    path("password/", accounts.change_password, name="password"),
    path("staff/", accounts.staff_list, name="staff"),
    path("staff/<int:pk>/password/", accounts.reset_password, name="reset_password"),
    path("queues/<slug:slug>/", views.queue, name="queue_named"),
    path("bulk/", bulk.bulk_start, name="bulk"),
    path("bulk/<int:pk>/", bulk.bulk_job, name="bulk_job"),
    path("tickets/new/", views.new_ticket, name="new_ticket"),
    path("tickets/<str:reference>/", views.ticket_detail, name="ticket"),
    path("tickets/<str:reference>/transitions/<slug:name>/", views.transition, name="transition"),
    path("tickets/<str:reference>/reply/", views.reply, name="reply"),
    path("tickets/<str:reference>/note/", views.note, name="note"),
    path("tickets/<str:reference>/reclassify/", views.reclassify, name="reclassify"),
    path("tickets/<str:reference>/assign/", views.assign, name="assign"),
    path("tickets/<str:reference>/take/", views.take, name="take"),
    path("tickets/<str:reference>/extend/", views.extend, name="extend"),
    path("tickets/<str:reference>/notices/<int:pk>/given/", views.notice_given, name="notice_given"),
    path("tickets/<str:reference>/representation/", views.representation_check, name="representation_check"),
    path("tickets/<str:reference>/participants/", views.participants, name="participants"),
    path("tickets/<str:reference>/merge/", views.merge, name="merge"),
    path("tickets/<str:reference>/related/", views.related, name="related"),
    path("tickets/<str:reference>/tasks/", views.send_task, name="send_task"),
    path("tickets/<str:reference>/tasks/<int:pk>/close/", views.close_task, name="close_task"),
    path("tickets/<str:reference>/fee/", views.fee, name="fee"),
    path("tickets/<str:reference>/record.pdf", views.case_record, name="case_record"),
    path("attachments/<int:pk>/", views.attachment_download, name="attachment"),
    path("messages/<int:pk>/raw/", views.raw_message_download, name="raw_message"),
    path("quarantine/", views.quarantine_list, name="quarantine"),
    path("quarantine/<int:pk>/", views.quarantine_detail, name="quarantine_detail"),
    path("quarantine/<int:pk>/raw/", views.quarantine_raw, name="quarantine_raw"),
    path("quarantine/<int:pk>/<slug:action>/", views.quarantine_action, name="quarantine_action"),
]
