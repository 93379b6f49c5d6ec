"""Requester pages, mounted at / inside i18n_patterns (Korean without prefix, English at /en/)."""

from django.urls import URLPattern, URLResolver, path

from helpdesk.public import views

app_name = "public"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.contact, name="contact"),
    path("submitted/", views.submitted, name="submitted"),
    path("privacy-policy/", views.privacy_policy, name="privacy_policy"),
    path("confirm/<str:token>/", views.confirm_email, name="confirm_email"),
    path("guardian/<str:token>/", views.confirm_guardian, name="confirm_guardian"),
    path("request/<str:token>/", views.status, name="status"),
    path("request/<str:token>/withdraw/", views.withdraw, name="withdraw"),
    path("lost-link/", views.lost_link, name="lost_link"),
]
