"""MeetBot configuration: one validated Settings object read from the environment and `.env`."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

BOTFRAMEWORK_OAUTH_URL = "https://api.botframework.com"
GOVERNMENT_OAUTH_URL = "https://api.botframework.azure.us"
GOVERNMENT_CHANNEL_SERVICE = "https://botframework.azure.us"
GLOBAL_GRAPH_BASE_URL = "https://graph.microsoft.com/v1.0"
SANDBOX_PREFIX = "/sandbox"


class AppType(StrEnum):
    """How the bot's Entra app registration authenticates (Azure Bot `MicrosoftAppType`)."""

    MULTI_TENANT = "MultiTenant"
    SINGLE_TENANT = "SingleTenant"
    USER_ASSIGNED_MSI = "UserAssignedMSI"


class Settings(BaseSettings):
    """Everything MeetBot reads from its environment; built once in `main()` and passed down."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    microsoft_app_id: str = Field(default="", validation_alias="MicrosoftAppId")
    microsoft_app_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="MicrosoftAppPassword"
    )
    microsoft_app_type: AppType = Field(
        default=AppType.MULTI_TENANT, validation_alias="MicrosoftAppType"
    )
    microsoft_app_tenant_id: str = Field(default="", validation_alias="MicrosoftAppTenantId")
    connection_name: str = Field(default="graph", validation_alias="ConnectionName")

    host: str | None = Field(default=None, validation_alias="HOST")
    port: int = Field(default=3978, ge=1, le=65535, validation_alias="PORT")
    public_url: str | None = Field(default=None, validation_alias="PUBLIC_URL")
    graph_base_url: str | None = Field(default=None, validation_alias="GRAPH_BASE_URL")
    oauth_url: str | None = Field(default=None, validation_alias="OAUTH_URL")
    default_timezone: str = Field(default="UTC", validation_alias="DEFAULT_TIMEZONE")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias="LOG_LEVEL"
    )
    storage: Literal["sqlite", "memory", "blob"] = Field(
        default="sqlite", validation_alias="STORAGE"
    )
    sqlite_path: str = Field(default="data/meetbot.sqlite3", validation_alias="SQLITE_PATH")
    azure_storage_connection_string: SecretStr = Field(
        default=SecretStr(""), validation_alias="AZURE_STORAGE_CONNECTION_STRING"
    )
    azure_storage_container: str = Field(
        default="meetbot-state", validation_alias="AZURE_STORAGE_CONTAINER"
    )
    auth_mode: Literal["tokenservice", "obo"] = Field(
        default="tokenservice", validation_alias="AUTH_MODE"
    )
    graph_scopes: str = Field(
        default=(
            "https://graph.microsoft.com/OnlineMeetings.ReadWrite "
            "https://graph.microsoft.com/User.ReadBasic.All"
        ),
        validation_alias="GRAPH_SCOPES",
    )
    aad_authority_host: str = Field(
        default="https://login.microsoftonline.com", validation_alias="AAD_AUTHORITY_HOST"
    )
    allowed_tenants: str = Field(default="", validation_alias="ALLOWED_TENANTS")
    meetings_per_user_per_hour: int = Field(
        default=30, ge=1, le=10_000, validation_alias="MEETINGS_PER_USER_PER_HOUR"
    )
    reminder_minutes: int = Field(default=10, ge=0, le=1440, validation_alias="REMINDER_MINUTES")
    reminder_poll_s: float = Field(
        default=30.0, ge=0.05, le=3600, validation_alias="REMINDER_POLL_S"
    )
    max_request_bytes: int = Field(
        default=512 * 1024,
        ge=16 * 1024,
        le=16 * 1024 * 1024,
        validation_alias="MAX_REQUEST_BYTES",
    )
    body_read_timeout_s: float = Field(
        default=10.0, gt=0, le=300, validation_alias="BODY_READ_TIMEOUT_S"
    )
    # Teams answers an invoke within about 5 s: a sign-in step must fail before that.
    token_service_timeout_s: float = Field(
        default=4.0, gt=0, le=60, validation_alias="TOKEN_SERVICE_TIMEOUT_S"
    )
    store_check_interval_s: float = Field(
        default=5.0, ge=0.1, le=300, validation_alias="STORE_CHECK_INTERVAL_S"
    )

    # botbuilder's own endpoint overrides, passed through unchanged.
    to_bot_from_channel_openid_metadata_url: str | None = Field(
        default=None, validation_alias="TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL"
    )
    to_bot_from_channel_token_issuer: str | None = Field(
        default=None, validation_alias="TO_BOT_FROM_CHANNEL_TOKEN_ISSUER"
    )
    to_channel_from_bot_login_url: str | None = Field(
        default=None, validation_alias="TO_CHANNEL_FROM_BOT_LOGIN_URL"
    )
    to_channel_from_bot_oauth_scope: str | None = Field(
        default=None, validation_alias="TO_CHANNEL_FROM_BOT_OAUTH_SCOPE"
    )
    channel_service: str | None = Field(default=None, validation_alias="CHANNEL_SERVICE")
    validate_authority: bool = Field(default=True, validation_alias="VALIDATE_AUTHORITY")

    @field_validator(
        "graph_base_url",
        "oauth_url",
        "public_url",
        "to_bot_from_channel_openid_metadata_url",
        "to_channel_from_bot_login_url",
        mode="after",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")) or len(value) < 10:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("default_timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r} (try Europe/Berlin)") from exc
        return value

    @field_validator("host", "microsoft_app_id", "microsoft_app_tenant_id", "connection_name")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _production_needs_credentials(self) -> Settings:
        if self.storage == "blob" and not self.azure_storage_connection_string.get_secret_value():
            raise ValueError("AZURE_STORAGE_CONNECTION_STRING is required when STORAGE=blob")
        if self.auth_mode == "obo" and self.local_mode:
            raise ValueError("AUTH_MODE=obo needs the bot's app credentials (MicrosoftAppId)")
        if self.local_mode:
            return self
        if (
            self.microsoft_app_type is not AppType.USER_ASSIGNED_MSI
            and not self.microsoft_app_password.get_secret_value()
        ):
            raise ValueError("MicrosoftAppPassword is required when MicrosoftAppId is set")
        if self.microsoft_app_type is not AppType.MULTI_TENANT and not self.microsoft_app_tenant_id:
            raise ValueError(
                f"MicrosoftAppTenantId is required when MicrosoftAppType is "
                f"{self.microsoft_app_type.value}"
            )
        if not self.connection_name:
            raise ValueError("ConnectionName is required when MicrosoftAppId is set")
        return self

    @property
    def local_mode(self) -> bool:
        """No app id: no inbound auth, and the seams point at the embedded sandbox."""
        return not self.microsoft_app_id

    @property
    def bind_host(self) -> str:
        if self.host:
            return self.host
        return "127.0.0.1" if self.local_mode else "0.0.0.0"

    @property
    def self_url(self) -> str:
        """Where this process reaches its own routes (the embedded sandbox lives here)."""
        host = self.bind_host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def browser_url(self) -> str:
        """Where a person's browser reaches this bot (sandbox sign-in page, calendar files)."""
        return self.public_url or f"http://localhost:{self.port}"

    @property
    def resolved_graph_base_url(self) -> str:
        if self.graph_base_url:
            return self.graph_base_url
        if self.local_mode:
            return f"{self.self_url}{SANDBOX_PREFIX}/graph/v1.0"
        return GLOBAL_GRAPH_BASE_URL

    @property
    def resolved_oauth_url(self) -> str:
        if self.oauth_url:
            return self.oauth_url
        if self.local_mode:
            return f"{self.self_url}{SANDBOX_PREFIX}/token"
        if self.channel_service == GOVERNMENT_CHANNEL_SERVICE:
            return GOVERNMENT_OAUTH_URL
        return BOTFRAMEWORK_OAUTH_URL

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)

    @property
    def tenant_allowlist(self) -> frozenset[str]:
        """`ALLOWED_TENANTS` (comma-separated tenant ids); empty means every tenant."""
        return frozenset(t.strip().lower() for t in self.allowed_tenants.split(",") if t.strip())
