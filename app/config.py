"""Settings read from the environment (prefix TOLLGATE_); built by the runners, never at import."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GIB = 1024**3


class Settings(BaseSettings):
    """Every knob of a Tollgate process. See the README's settings table."""

    model_config = SettingsConfigDict(env_prefix="TOLLGATE_", extra="ignore")

    data_dir: Path = Field(default=Path("data"), description="Embedded default's home.")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default sqlite:///<data_dir>/tollgate.db"
    )
    storage_url: str = Field(default="", description="Blob storage; default <data_dir>/blobs")
    admin_key: str | None = Field(default=None, description="Admin key ensured on every start.")
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_bytes: int = 2 * GIB
    max_contract_bytes: int = 1024 * 1024
    workers: int = Field(default=1, ge=0, le=64, description="in-process validation workers")

    @property
    def scratch_dir(self) -> Path:
        """Where uploads are spooled and validation writes its temporary files."""
        return self.data_dir / "tmp"

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'tollgate.db').as_posix()}"
        if not self.storage_url:
            self.storage_url = (self.data_dir / "blobs").resolve().as_posix()
        return self
