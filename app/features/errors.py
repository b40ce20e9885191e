"""Feature-store problems: unknown views (404), bad entity rows or feature names (422)."""

from app.problems import InvalidInput, NotFound


class FeatureViewNotFound(NotFound):
    type = "feature-view-not-found"
    title = "Feature view not found"


class InvalidEntities(InvalidInput):
    """Entity rows the point-in-time join cannot use: missing columns, nulls, wrong types."""

    type = "invalid-entity-rows"
    title = "Invalid entity rows"


class UnknownFeature(InvalidInput):
    type = "unknown-feature"
    title = "Unknown feature column"


class InvalidSnapshot(InvalidInput):
    type = "invalid-snapshot"
    title = "Invalid snapshot"


class TrainingSetNotFound(NotFound):
    type = "training-set-not-found"
    title = "Training set not found"
