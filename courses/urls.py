from rest_framework.routers import SimpleRouter

from courses.api import CourseViewSet

router = SimpleRouter()
router.register("", CourseViewSet, basename="course")

urlpatterns = router.urls
