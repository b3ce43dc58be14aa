"""The storage providers LiveKit Egress uploads to: their fields, validation and upload messages.

Config field names follow LiveKit's upload messages (S3Upload, GCPUpload, AzureBlobUpload,
AliOSSUpload), with the proxy's three fields flattened to proxy_url/proxy_username/proxy_password.
A profile's `config` holds the non-secret fields; its secret fields are stored encrypted.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from google.protobuf.message import Message
from livekit.protocol import egress

Errors = dict[str, str]

# Placeholders LiveKit Egress fills in file paths and prefixes (livekit/egress README "Filenames").
PLACEHOLDERS = (
    "{room_name}",
    "{room_id}",
    "{time}",
    "{utc}",
    "{publisher_identity}",
    "{track_id}",
    "{track_type}",
    "{track_source}",
    "{retry}",
)
TRUE_STRINGS = {"1", "true", "on", "yes"}

AWS_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d+")
OTHER_REGION = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
METADATA_KEY = re.compile(r"[A-Za-z0-9_.-]+")
MAX_TAGS = 10


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    secret: bool = False
    required: bool = False
    kind: str = "text"  # "text" | "bool" | "json" | "keyvalue" | "url" | "textarea"
    help: str = ""


# --- rules ------------------------------------------------------------------------------------
def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _edges_alnum(name: str) -> bool:
    return name[0].isalnum() and name[-1].isalnum()


_REPEATS = {".": "dots", "-": "hyphens"}


def _name_error(
    name: str, noun: str, allowed: str, allowed_text: str, *, repeat: str = "", ip: bool = False
) -> str | None:
    """The character rules bucket and container names share, once the length is right."""
    if not re.fullmatch(allowed, name):
        return f"Use only {allowed_text}."
    if not _edges_alnum(name):
        return f"Start and end the {noun} name with a lowercase letter or a digit."
    if repeat and repeat * 2 in name:
        return f"A {noun} name cannot contain two {_REPEATS[repeat]} in a row."
    if ip and _is_ip(name):
        return f"A {noun} name cannot be an IP address."
    return None


def s3_bucket_error(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return "Bucket names are 3 to 63 characters long."
    text = "lowercase letters, digits, dots (.) and hyphens (-)"
    return _name_error(name, "bucket", r"[a-z0-9.-]+", text, repeat=".", ip=True)


def gcs_bucket_error(name: str) -> str | None:
    if not 3 <= len(name) <= (222 if "." in name else 63):
        return "Bucket names are 3 to 63 characters long (up to 222 if they contain dots)."
    if any(len(part) > 63 for part in name.split(".")):
        return "Each dot-separated part of a bucket name is at most 63 characters long."
    text = "lowercase letters, digits, dots (.), hyphens (-) and underscores (_)"
    return _name_error(name, "bucket", r"[a-z0-9._-]+", text, repeat=".", ip=True)


def azure_container_error(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return "Container names are 3 to 63 characters long."
    text = "lowercase letters, digits and hyphens (-)"
    return _name_error(name, "container", r"[a-z0-9-]+", text, repeat="-")


def azure_account_error(name: str) -> str | None:
    if not re.fullmatch(r"[a-z0-9]{3,24}", name):
        return "Storage account names are 3 to 24 lowercase letters and digits."
    return None


def oss_bucket_error(name: str) -> str | None:
    if not 3 <= len(name) <= 63:
        return "Bucket names are 3 to 63 characters long."
    return _name_error(name, "bucket", r"[a-z0-9-]+", "lowercase letters, digits and hyphens (-)")


def region_error(region: str, *, custom_endpoint: bool) -> str | None:
    if custom_endpoint:
        if not OTHER_REGION.fullmatch(region):
            return "Use lowercase letters, digits and hyphens, e.g. auto or us-east-1."
        return None
    if not AWS_REGION.fullmatch(region):
        return (
            "AWS regions look like us-east-1 or eu-west-2. For another S3-compatible service, "
            "enter its endpoint URL too."
        )
    return None


def url_error(value: str, *, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    parts = urlsplit(value)
    wanted = " or ".join(f"{scheme}://" for scheme in schemes)
    if parts.scheme not in schemes or not parts.hostname or re.search(r"\s", value):
        return f"Enter a URL that starts with {wanted} followed by a host name."
    try:
        parts.port  # noqa: B018  (raises for a port that is not a number in range)
    except ValueError:
        return "The port must be a number from 1 to 65535."
    return None


def parse_key_values(text: str) -> dict[str, str]:
    """`key=value` lines (blank lines skipped); ValueError naming the first bad line."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"Line {number} is not in the form key=value.")
        if key in values:
            raise ValueError(f"Line {number} repeats the key {key}.")
        values[key] = value.strip()
    return values


def format_key_values(values: Mapping[str, str]) -> str:
    """The text form of key/value pairs, as `parse_key_values` reads it."""
    return "\n".join(f"{key}={value}" for key, value in values.items())


def metadata_error(value: Any) -> str | None:
    if isinstance(value, str):
        try:
            value = parse_key_values(value)
        except ValueError as error:
            return str(error)
    bad = next((key for key in value if not METADATA_KEY.fullmatch(key)), None)
    if bad is not None:
        return f"The key {bad} may use only letters, digits, hyphens, underscores and dots."
    return None


def tagging_error(text: str) -> str | None:
    pairs = [pair.partition("=") for pair in text.split("&")]
    if any(not sep or not key.strip() for key, sep, _ in pairs):
        return "Write tags as key=value pairs joined by &, e.g. project=demo&team=video."
    if len(pairs) > MAX_TAGS:
        return f"S3 allows at most {MAX_TAGS} tags on an object."
    return None


def role_arn_error(arn: str) -> str | None:
    if not ROLE_ARN.fullmatch(arn):
        return "An IAM role ARN looks like arn:aws:iam::123456789012:role/egress-uploads."
    return None


def gcs_credentials_error(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return "Paste the service account key file's JSON: this is not valid JSON."
    if not isinstance(data, dict) or data.get("type") != "service_account":
        return 'This JSON is not a service account key: its "type" must be "service_account".'
    missing = [key for key in ("client_email", "private_key") if not data.get(key)]
    if missing:
        return f"The service account key lacks {' and '.join(missing)}."
    return None


def path_template_error(text: str) -> str | None:
    """What is wrong with a default path prefix or filename template, if anything."""
    unknown = [p for p in re.findall(r"\{[^{}]*\}", text) if p not in PLACEHOLDERS]
    if unknown:
        return f"Unknown placeholder {unknown[0]}; LiveKit fills {', '.join(PLACEHOLDERS)}."
    if ".." in re.split(r"[/\\]", text):
        return "A path cannot climb out of its folder with '..'."
    if re.search(r"[\x00-\x1f]", text):
        return "A path cannot contain line breaks or control characters."
    return None


# --- providers --------------------------------------------------------------------------------
PROXY_FIELDS = (
    Field("proxy_url", "Proxy URL", kind="url", help="Only if uploads must go through a proxy."),
    Field("proxy_username", "Proxy user name"),
    Field("proxy_password", "Proxy password", secret=True),
)


def _proxy(config: Mapping[str, Any], secrets: Mapping[str, str]) -> egress.ProxyConfig | None:
    if not config.get("proxy_url"):
        return None
    return egress.ProxyConfig(
        url=config["proxy_url"],
        username=config.get("proxy_username", ""),
        password=secrets.get("proxy_password", ""),
    )


def _proxy_errors(config: Mapping[str, Any], secrets: Mapping[str, str]) -> Errors:
    errors: Errors = {}
    if config.get("proxy_url"):
        if message := url_error(config["proxy_url"], schemes=("http", "https", "socks5")):
            errors["proxy_url"] = message
    elif config.get("proxy_username") or secrets.get("proxy_password"):
        errors["proxy_url"] = "Enter the proxy URL, or clear the proxy user name and password."
    return errors


def _checked(checks: Mapping[str, tuple[Any, Any]]) -> Errors:
    """Run each field's rule on its value when it has one: {field: (value, rule)}."""
    errors: Errors = {}
    for name, (value, rule) in checks.items():
        if value and (message := rule(value)):
            errors[name] = message
    return errors


class Provider:
    key: ClassVar[str]
    label: ClassVar[str]
    fields: ClassVar[tuple[Field, ...]]
    storage_field: ClassVar[str]  # the StorageConfig oneof member

    @property
    def config_fields(self) -> tuple[Field, ...]:
        return tuple(field for field in self.fields if not field.secret)

    @property
    def secret_fields(self) -> tuple[Field, ...]:
        return tuple(field for field in self.fields if field.secret)

    def clean(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """The non-secret fields only, each normalised (text stripped, key/values as a dict)."""
        return {
            field.name: _clean_value(field, config.get(field.name)) for field in self.config_fields
        }

    def clean_secrets(self, secrets: Mapping[str, str]) -> dict[str, str]:
        """The secret fields that have a value, stripped."""
        names = {field.name for field in self.secret_fields}
        return {k: str(v).strip() for k, v in secrets.items() if k in names and str(v).strip()}

    def validate(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> Errors:
        """Field name -> message; `secrets` are the values that will be stored."""
        config, secrets = self.clean(config), self.clean_secrets(secrets)
        errors = {
            field.name: f"{field.label} is required."
            for field in self.fields
            if field.required and not (secrets if field.secret else config).get(field.name)
        }
        for name, message in self.check(config, secrets).items():
            errors.setdefault(name, message)
        return errors

    def check(self, config: dict[str, Any], secrets: dict[str, str]) -> Errors:
        return {}

    def target(self, config: Mapping[str, Any]) -> str:
        return str(config.get("bucket", ""))

    def upload(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> Message:
        raise NotImplementedError

    def storage_config(
        self, config: Mapping[str, Any], secrets: Mapping[str, str]
    ) -> egress.StorageConfig:
        storage = egress.StorageConfig()
        getattr(storage, self.storage_field).CopyFrom(self.upload(config, secrets))
        return storage


def _clean_value(field: Field, value: Any) -> Any:
    if field.kind == "bool":
        return value is True or str(value).strip().lower() in TRUE_STRINGS
    if field.kind == "keyvalue":
        if isinstance(value, Mapping):
            return {str(k).strip(): str(v).strip() for k, v in value.items()}
        try:
            return parse_key_values(str(value or ""))
        except ValueError:
            return str(value)  # left as typed for `validate` to explain
    return "" if value is None else str(value).strip()


class S3(Provider):
    key = "s3"
    label = "Amazon S3 or S3-compatible"
    storage_field = "s3"
    fields = (
        Field("bucket", "Bucket", required=True),
        Field(
            "region",
            "Region",
            help="e.g. us-east-1. With a custom endpoint: the service's region name, e.g. auto.",
        ),
        Field(
            "endpoint",
            "Endpoint URL",
            kind="url",
            help="Only for S3-compatible services (MinIO, R2, B2, Wasabi…), e.g. https://s3.example.com.",
        ),
        Field(
            "force_path_style",
            "Path-style URLs",
            kind="bool",
            help="Address the bucket as endpoint/bucket; most S3-compatible services need this.",
        ),
        Field("access_key", "Access key ID", secret=True, required=True),
        Field("secret", "Secret access key", secret=True, required=True),
        Field(
            "session_token", "Session token", secret=True, help="Only for temporary credentials."
        ),
        Field(
            "assume_role_arn",
            "Role to assume (ARN)",
            help="Egress assumes this IAM role with the keys above.",
        ),
        Field(
            "assume_role_external_id",
            "External ID",
            secret=True,
            help="The external ID the role's trust policy asks for, if any.",
        ),
        Field(
            "metadata",
            "Object metadata",
            kind="keyvalue",
            help="One key=value per line, stored with every uploaded object.",
        ),
        Field("tagging", "Object tags", help="In URL query form, e.g. project=demo&team=video."),
        Field(
            "content_disposition",
            "Content-Disposition",
            help='e.g. attachment; filename="recording.mp4"',
        ),
        *PROXY_FIELDS,
    )

    def check(self, config: dict[str, Any], secrets: dict[str, str]) -> Errors:
        custom = bool(config["endpoint"])
        errors = _checked(
            {
                "bucket": (config["bucket"], s3_bucket_error),
                "endpoint": (config["endpoint"], url_error),
                "region": (config["region"], lambda r: region_error(r, custom_endpoint=custom)),
                "assume_role_arn": (config["assume_role_arn"], role_arn_error),
                "metadata": (config["metadata"], metadata_error),
                "tagging": (config["tagging"], tagging_error),
            }
        )
        if secrets.get("assume_role_external_id") and not config["assume_role_arn"]:
            errors["assume_role_external_id"] = (
                "An external ID needs a role to assume: enter its ARN."
            )
        return errors | _proxy_errors(config, secrets)

    def upload(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> Message:
        config = self.clean(config)
        return egress.S3Upload(
            access_key=secrets.get("access_key", ""),
            secret=secrets.get("secret", ""),
            session_token=secrets.get("session_token", ""),
            assume_role_arn=config["assume_role_arn"],
            assume_role_external_id=secrets.get("assume_role_external_id", ""),
            region=config["region"],
            endpoint=config["endpoint"],
            bucket=config["bucket"],
            force_path_style=config["force_path_style"],
            metadata=config["metadata"] if isinstance(config["metadata"], dict) else {},
            tagging=config["tagging"],
            content_disposition=config["content_disposition"],
            proxy=_proxy(config, secrets),
        )


class GCP(Provider):
    key = "gcp"
    label = "Google Cloud Storage"
    storage_field = "gcp"
    fields = (
        Field("bucket", "Bucket", required=True),
        Field(
            "credentials",
            "Service account key (JSON)",
            secret=True,
            required=True,
            kind="json",
            help="The JSON key file of a service account that may write to the bucket.",
        ),
        *PROXY_FIELDS,
    )

    def check(self, config: dict[str, Any], secrets: dict[str, str]) -> Errors:
        errors = _checked(
            {
                "bucket": (config["bucket"], gcs_bucket_error),
                "credentials": (secrets.get("credentials"), gcs_credentials_error),
            }
        )
        return errors | _proxy_errors(config, secrets)

    def upload(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> Message:
        config = self.clean(config)
        return egress.GCPUpload(
            credentials=secrets.get("credentials", ""),
            bucket=config["bucket"],
            proxy=_proxy(config, secrets),
        )


class Azure(Provider):
    key = "azure"
    label = "Azure Blob Storage"
    storage_field = "azure"
    fields = (
        Field("account_name", "Storage account name", required=True),
        Field("account_key", "Account key", secret=True, required=True),
        Field("container_name", "Container", required=True),
    )

    def check(self, config: dict[str, Any], secrets: dict[str, str]) -> Errors:
        return _checked(
            {
                "account_name": (config["account_name"], azure_account_error),
                "container_name": (config["container_name"], azure_container_error),
            }
        )

    def target(self, config: Mapping[str, Any]) -> str:
        return f"{config.get('account_name', '')}/{config.get('container_name', '')}"

    def upload(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> Message:
        config = self.clean(config)
        return egress.AzureBlobUpload(
            account_name=config["account_name"],
            account_key=secrets.get("account_key", ""),
            container_name=config["container_name"],
        )


class AliOSS(Provider):
    key = "alioss"
    label = "Alibaba Cloud OSS"
    storage_field = "aliOSS"
    fields = (
        Field("bucket", "Bucket", required=True),
        Field(
            "endpoint",
            "Endpoint URL",
            kind="url",
            required=True,
            help="e.g. https://oss-cn-hangzhou.aliyuncs.com",
        ),
        Field("region", "Region", help="e.g. cn-hangzhou"),
        Field("access_key", "AccessKey ID", secret=True, required=True),
        Field("secret", "AccessKey secret", secret=True, required=True),
    )

    def check(self, config: dict[str, Any], secrets: dict[str, str]) -> Errors:
        return _checked(
            {
                "bucket": (config["bucket"], oss_bucket_error),
                "endpoint": (config["endpoint"], url_error),
                "region": (config["region"], lambda r: region_error(r, custom_endpoint=True)),
            }
        )

    def upload(self, config: Mapping[str, Any], secrets: Mapping[str, str]) -> Message:
        config = self.clean(config)
        return egress.AliOSSUpload(
            access_key=secrets.get("access_key", ""),
            secret=secrets.get("secret", ""),
            region=config["region"],
            endpoint=config["endpoint"],
            bucket=config["bucket"],
        )


PROVIDERS: dict[str, Provider] = {spec.key: spec for spec in (S3(), GCP(), Azure(), AliOSS())}
