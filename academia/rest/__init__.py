"""The REST core every app's API shares: DRF's exception handler (errors → one
JSON shape), the JSON parser with a depth limit, the throttles, the viewset base
that describes each action's body, and the id field."""
