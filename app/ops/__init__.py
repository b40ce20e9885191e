"""Operations: health, readiness and metrics."""
