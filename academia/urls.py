from datetime import UTC, datetime

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_page
from django.views.decorators.http import last_modified
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import BaseRenderer, JSONRenderer

from academia import health, metrics
from chat.api.views import AsyncApiView


class ApiDocsView(SpectacularSwaggerSplitView):
    """Swagger UI with its script served apart from the page (no inline script, so it
    runs under the Content-Security-Policy, which lets this page alone apply inline
    styles: Swagger UI sets some); ``OPTIONS`` answers DRF's metadata in JSON (the
    page's HTML renderer has no template for it)."""

    def get_renderers(self) -> list[BaseRenderer]:
        if self.request.method == "OPTIONS":
            return [JSONRenderer()]
        return super().get_renderers()


# When this process started: a browser's cached catalogue is fresh until a deploy.
CATALOGUE_BUILT = datetime.now(tz=UTC)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("accounts.urls")),
    path("courses/", include("courses.urls")),
    path("chat/", include("chat.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/asyncapi/", AsyncApiView.as_view(), name="asyncapi"),
    path(
        "api/docs/",
        csp_update({"style-src": ["'unsafe-inline'"]})(ApiDocsView.as_view(url_name="schema")),
        name="api-docs",
    ),
    # The page's strings in the request's language (gettext, ngettext, interpolate),
    # cached per language; the .mo files change only with a deploy.
    path(
        "jsi18n/",
        cache_page(60 * 60)(
            last_modified(lambda request: CATALOGUE_BUILT)(JavaScriptCatalog.as_view())
        ),
        name="javascript-catalog",
    ),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", include("chat.urls")),
]
