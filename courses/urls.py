from rest_framework.routers import SimpleRouter

from academia.rest.not_found import catch_all
from courses.api import CourseViewSet

router = SimpleRouter()
router.register("", CourseViewSet, basename="course")

urlpatterns = [*router.urls, catch_all()]
