"""URL map: staff desk at /desk/, requester pages at /, REST API at /api/v1/."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from helpdesk import directory, health, twofactor

# The admin modules load with the URLs (SimpleAdminConfig), not in every process's setup: a
# management command such as ingest_email, started per mail by an MTA, does not need them.
admin.autodiscover()

urlpatterns = [
    path("api/v1/", include("helpdesk.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language, for the language switch
    path("healthz/", health.healthz, name="healthz"),  # load balancer probe, outside i18n (issue 8)
    # Directory sign-in (OpenID Connect): outside i18n so the redirect URI registered at the provider
    # is one address; 404 unless configured.
    path("oidc/authenticate/", directory.oidc_authenticate, name="oidc_authentication_init"),
    path("oidc/callback/", directory.oidc_callback, name="oidc_callback"),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("account/two-factor/", twofactor.verify_view, name="two_factor_verify"),  # issue 8
    path("account/two-factor/enrol/", twofactor.enrol_view, name="two_factor_enrol"),  # DESK_REQUIRE_2FA
    path("desk/dashboard/", include("helpdesk.dashboard.urls")),
    path("", include("helpdesk.fulfilment.urls")),  # issue 13: desk/tickets/…/fulfilment/, request/…/access-package/
    path("desk/", include("helpdesk.desk.urls")),
    path("", include("helpdesk.public.urls")),
    prefix_default_language=False,
)

# Plain pages (JSON under /api/) instead of Django's technical pages: see config/errors.py.
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
