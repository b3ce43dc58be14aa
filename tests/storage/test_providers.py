from __future__ import annotations

import json

import pytest
from livekit.protocol import egress

from egress_app.storage.providers import (
    PROVIDERS,
    format_key_values,
    parse_key_values,
    path_template_error,
)

S3 = PROVIDERS["s3"]
GCP = PROVIDERS["gcp"]
AZURE = PROVIDERS["azure"]
OSS = PROVIDERS["alioss"]

S3_KEYS = {
    "access_key": "AKIAIOSFODNN7EXAMPLE",
    "secret": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}
SERVICE_ACCOUNT = {
    "type": "service_account",
    "project_id": "demo",
    "client_email": "egress@demo.iam.gserviceaccount.com",
    "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
}
GCP_KEYS = {"credentials": json.dumps(SERVICE_ACCOUNT)}
AZURE_KEYS = {"account_key": "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq=="}
OSS_KEYS = {"access_key": "LTAI5tExample", "secret": "oss-secret-value"}


def s3_errors(**config):
    return S3.validate({"bucket": "recordings", **config}, S3_KEYS)


def test_it_offers_the_four_livekit_providers():
    assert list(PROVIDERS) == ["s3", "gcp", "azure", "alioss"]
    assert [p.storage_field for p in PROVIDERS.values()] == ["s3", "gcp", "azure", "aliOSS"]


def test_it_marks_the_credentials_secret_and_the_rest_not():
    secret = {p.key: [f.name for f in p.secret_fields] for p in PROVIDERS.values()}
    assert secret == {
        "s3": [
            "access_key",
            "secret",
            "session_token",
            "assume_role_external_id",
            "proxy_password",
        ],
        "gcp": ["credentials", "proxy_password"],
        "azure": ["account_key"],
        "alioss": ["access_key", "secret"],
    }


# --- required fields --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        (
            S3,
            {
                "bucket": "Bucket is required.",
                "access_key": "Access key ID is required.",
                "secret": "Secret access key is required.",
            },
        ),
        (
            GCP,
            {
                "bucket": "Bucket is required.",
                "credentials": "Service account key (JSON) is required.",
            },
        ),
        (
            AZURE,
            {
                "account_name": "Storage account name is required.",
                "account_key": "Account key is required.",
                "container_name": "Container is required.",
            },
        ),
        (
            OSS,
            {
                "bucket": "Bucket is required.",
                "endpoint": "Endpoint URL is required.",
                "access_key": "AccessKey ID is required.",
                "secret": "AccessKey secret is required.",
            },
        ),
    ],
)
def test_it_requires_each_providers_essential_fields(provider, expected):
    assert provider.validate({}, {}) == expected


def test_it_counts_whitespace_only_values_as_missing():
    assert "bucket" in S3.validate({"bucket": "   "}, S3_KEYS)
    assert "secret" in S3.validate({"bucket": "recordings"}, {**S3_KEYS, "secret": "  "})


@pytest.mark.parametrize(
    ("provider", "config", "secrets"),
    [
        (S3, {"bucket": "my-bucket.2024"}, S3_KEYS),
        (GCP, {"bucket": "my_bucket-2024"}, GCP_KEYS),
        (AZURE, {"account_name": "devstoreaccount1", "container_name": "recordings"}, AZURE_KEYS),
        (
            OSS,
            {
                "bucket": "my-bucket",
                "endpoint": "https://oss-cn-hangzhou.aliyuncs.com",
                "region": "cn-hangzhou",
            },
            OSS_KEYS,
        ),
    ],
)
def test_it_accepts_a_valid_profile_of_each_provider(provider, config, secrets):
    assert provider.validate(config, secrets) == {}


# --- bucket and container names -----------------------------------------------------------------
LENGTH = "Bucket names are 3 to 63 characters long."
EDGES = "Start and end the bucket name with a lowercase letter or a digit."
DOTS = "A bucket name cannot contain two dots in a row."
IP = "A bucket name cannot be an IP address."


@pytest.mark.parametrize(
    ("bucket", "message"),
    [
        ("ab", LENGTH),
        ("a" * 64, LENGTH),
        ("My-Bucket", "Use only lowercase letters, digits, dots (.) and hyphens (-)."),
        ("my_bucket", "Use only lowercase letters, digits, dots (.) and hyphens (-)."),
        ("-bucket", EDGES),
        ("bucket.", EDGES),
        ("my..bucket", DOTS),
        ("192.168.5.4", IP),
    ],
)
def test_it_applies_s3_bucket_naming_rules(bucket, message):
    assert s3_errors(bucket=bucket) == {"bucket": message}


@pytest.mark.parametrize("bucket", ["abc", "a" * 63, "logs.example.com", "1-2-3"])
def test_it_accepts_valid_s3_bucket_names(bucket):
    assert s3_errors(bucket=bucket) == {}


GCS_LENGTH = "Bucket names are 3 to 63 characters long (up to 222 if they contain dots)."


@pytest.mark.parametrize(
    ("bucket", "message"),
    [
        ("ab", GCS_LENGTH),
        ("a" * 64, GCS_LENGTH),
        (".".join(["a" * 60] * 4), GCS_LENGTH),
        (
            "a" * 64 + ".example",
            "Each dot-separated part of a bucket name is at most 63 characters long.",
        ),
        (
            "Bucket",
            "Use only lowercase letters, digits, dots (.), hyphens (-) and underscores (_).",
        ),
        ("_bucket", EDGES),
        ("a..b", DOTS),
        ("10.0.0.1", IP),
    ],
)
def test_it_applies_gcs_bucket_naming_rules(bucket, message):
    assert GCP.validate({"bucket": bucket}, GCP_KEYS) == {"bucket": message}


def test_it_allows_long_dotted_gcs_bucket_names():
    assert GCP.validate({"bucket": ".".join(["a" * 60] * 3)}, GCP_KEYS) == {}


@pytest.mark.parametrize(
    ("container", "message"),
    [
        ("ab", "Container names are 3 to 63 characters long."),
        ("a" * 64, "Container names are 3 to 63 characters long."),
        ("Records", "Use only lowercase letters, digits and hyphens (-)."),
        ("rec.ords", "Use only lowercase letters, digits and hyphens (-)."),
        ("-records", "Start and end the container name with a lowercase letter or a digit."),
        ("rec--ords", "A container name cannot contain two hyphens in a row."),
    ],
)
def test_it_applies_azure_container_naming_rules(container, message):
    config = {"account_name": "devstoreaccount1", "container_name": container}
    assert AZURE.validate(config, AZURE_KEYS) == {"container_name": message}


@pytest.mark.parametrize("account", ["ab", "a" * 25, "Account1", "my-account"])
def test_it_applies_azure_account_naming_rules(account):
    config = {"account_name": account, "container_name": "recordings"}
    assert AZURE.validate(config, AZURE_KEYS) == {
        "account_name": "Storage account names are 3 to 24 lowercase letters and digits."
    }


@pytest.mark.parametrize(
    ("bucket", "message"),
    [
        ("ab", LENGTH),
        ("my.bucket", "Use only lowercase letters, digits and hyphens (-)."),
        ("my_bucket", "Use only lowercase letters, digits and hyphens (-)."),
        ("bucket-", EDGES),
    ],
)
def test_it_applies_oss_bucket_naming_rules(bucket, message):
    config = {"bucket": bucket, "endpoint": "https://oss-cn-hangzhou.aliyuncs.com"}
    assert OSS.validate(config, OSS_KEYS) == {"bucket": message}


# --- regions, endpoints, proxies ------------------------------------------------------------------
@pytest.mark.parametrize("region", ["us-east-1", "eu-west-2", "ap-southeast-2", "us-gov-west-1"])
def test_it_accepts_aws_regions(region):
    assert s3_errors(region=region) == {}


@pytest.mark.parametrize("region", ["auto", "US-EAST-1", "us_east_1", "useast1", "us-east"])
def test_it_refuses_non_aws_regions_without_a_custom_endpoint(region):
    assert s3_errors(region=region) == {
        "region": "AWS regions look like us-east-1 or eu-west-2. For another S3-compatible "
        "service, enter its endpoint URL too."
    }


def test_it_accepts_any_simple_region_with_a_custom_endpoint():
    assert s3_errors(region="auto", endpoint="https://acct.r2.cloudflarestorage.com") == {}
    assert s3_errors(region="garage", endpoint="http://127.0.0.1:3900") == {}


def test_it_refuses_odd_characters_in_a_custom_region():
    assert s3_errors(region="Auto Region", endpoint="https://s3.example.com") == {
        "region": "Use lowercase letters, digits and hyphens, e.g. auto or us-east-1."
    }


@pytest.mark.parametrize(
    "endpoint", ["s3.example.com", "ftp://s3.example.com", "https://", "https://exa mple.com"]
)
def test_it_wants_an_http_endpoint_url_with_a_host(endpoint):
    assert s3_errors(endpoint=endpoint) == {
        "endpoint": "Enter a URL that starts with http:// or https:// followed by a host name."
    }


def test_it_refuses_an_endpoint_port_that_is_not_a_port():
    assert s3_errors(endpoint="http://minio:99999") == {
        "endpoint": "The port must be a number from 1 to 65535."
    }


def test_it_checks_the_oss_endpoint_and_region():
    config = {"bucket": "my-bucket", "endpoint": "oss-cn-hangzhou.aliyuncs.com", "region": "cn hz"}
    errors = OSS.validate(config, OSS_KEYS)
    assert errors["endpoint"].startswith("Enter a URL that starts with http://")
    assert errors["region"] == "Use lowercase letters, digits and hyphens, e.g. auto or us-east-1."


def test_it_checks_the_proxy_url():
    assert s3_errors(proxy_url="proxy:3128") == {
        "proxy_url": "Enter a URL that starts with http:// or https:// or socks5:// followed "
        "by a host name."
    }
    assert s3_errors(proxy_url="socks5://proxy:1080") == {}


def test_it_wants_a_proxy_url_for_proxy_credentials():
    errors = GCP.validate({"bucket": "bucket", "proxy_username": "u"}, GCP_KEYS)
    assert errors == {
        "proxy_url": "Enter the proxy URL, or clear the proxy user name and password."
    }
    errors = GCP.validate({"bucket": "bucket"}, {**GCP_KEYS, "proxy_password": "pw"})
    assert "proxy_url" in errors


# --- metadata, tagging, roles ---------------------------------------------------------------
def test_it_reads_metadata_lines():
    assert parse_key_values("team = video\n\nproject=demo=1\n") == {
        "team": "video",
        "project": "demo=1",
    }
    assert format_key_values({"a": "1", "b": "2"}) == "a=1\nb=2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("team=video\nproject", "Line 2 is not in the form key=value."),
        ("=video", "Line 1 is not in the form key=value."),
        ("a=1\na=2", "Line 2 repeats the key a."),
        ("my key=1", "The key my key may use only letters, digits, hyphens, underscores and dots."),
    ],
)
def test_it_explains_bad_metadata(text, message):
    assert s3_errors(metadata=text) == {"metadata": message}


def test_it_accepts_metadata_as_a_mapping():
    assert s3_errors(metadata={"team": "video"}) == {}
    assert S3.clean({"metadata": "team=video"})["metadata"] == {"team": "video"}


@pytest.mark.parametrize("tagging", ["a=1", "project=demo&team=video", "empty="])
def test_it_accepts_tags_in_query_form(tagging):
    assert s3_errors(tagging=tagging) == {}


@pytest.mark.parametrize("tagging", ["project", "a=1&&b=2", "=1", "a=1;b=2&c"])
def test_it_refuses_tags_not_in_query_form(tagging):
    assert s3_errors(tagging=tagging) == {
        "tagging": "Write tags as key=value pairs joined by &, e.g. project=demo&team=video."
    }


def test_it_refuses_more_than_ten_tags():
    tagging = "&".join(f"t{i}=v" for i in range(11))
    assert s3_errors(tagging=tagging) == {"tagging": "S3 allows at most 10 tags on an object."}


def test_it_checks_the_role_arn():
    assert s3_errors(assume_role_arn="arn:aws:iam::123456789012:role/egress") == {}
    errors = s3_errors(assume_role_arn="egress-role")
    assert errors["assume_role_arn"] == (
        "An IAM role ARN looks like arn:aws:iam::123456789012:role/egress-uploads."
    )


def test_it_wants_a_role_for_an_external_id():
    errors = S3.validate({"bucket": "recordings"}, {**S3_KEYS, "assume_role_external_id": "x"})
    assert errors == {
        "assume_role_external_id": "An external ID needs a role to assume: enter its ARN."
    }


# --- GCS credentials --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("credentials", "message"),
    [
        ("{not json", "Paste the service account key file's JSON: this is not valid JSON."),
        ('["a"]', 'This JSON is not a service account key: its "type" must be "service_account".'),
        (
            json.dumps({**SERVICE_ACCOUNT, "type": "authorized_user"}),
            'This JSON is not a service account key: its "type" must be "service_account".',
        ),
        (
            json.dumps({"type": "service_account", "client_email": "e@x"}),
            "The service account key lacks private_key.",
        ),
        (
            json.dumps({"type": "service_account"}),
            "The service account key lacks client_email and private_key.",
        ),
    ],
)
def test_it_wants_a_service_account_key_for_gcs(credentials, message):
    assert GCP.validate({"bucket": "bucket"}, {"credentials": credentials}) == {
        "credentials": message
    }


def test_it_never_quotes_secret_values_in_messages():
    secrets = {
        "access_key": "AKIA-LEAK-CHECK",
        "secret": "s",
        "assume_role_external_id": "EXT-LEAK",
    }
    errors = S3.validate({"bucket": "X", "tagging": "bad"}, secrets)
    assert not any("LEAK" in message for message in errors.values())


# --- path templates -----------------------------------------------------------------------------
def test_it_accepts_livekit_placeholders_in_path_templates():
    assert path_template_error("recordings/{room_name}/{time}-{utc}") is None
    assert path_template_error("") is None


def test_it_explains_bad_path_templates():
    assert path_template_error("{room}/x").startswith("Unknown placeholder {room}; LiveKit fills")
    assert path_template_error("a/../b") == "A path cannot climb out of its folder with '..'."
    assert path_template_error("a\nb") == (
        "A path cannot contain line breaks or control characters."
    )


# --- upload messages --------------------------------------------------------------------------
def test_it_builds_an_s3_upload_with_every_field():
    config = {
        "bucket": "recordings",
        "region": "auto",
        "endpoint": "https://s3.example.com",
        "force_path_style": "on",
        "assume_role_arn": "arn:aws:iam::123456789012:role/egress",
        "metadata": "team=video",
        "tagging": "project=demo",
        "content_disposition": "attachment",
        "proxy_url": "http://proxy:3128",
        "proxy_username": "proxy-user",
    }
    secrets = {
        **S3_KEYS,
        "session_token": "token",
        "assume_role_external_id": "ext",
        "proxy_password": "pw",
    }
    assert S3.upload(config, secrets) == egress.S3Upload(
        access_key=S3_KEYS["access_key"],
        secret=S3_KEYS["secret"],
        session_token="token",
        assume_role_arn="arn:aws:iam::123456789012:role/egress",
        assume_role_external_id="ext",
        region="auto",
        endpoint="https://s3.example.com",
        bucket="recordings",
        force_path_style=True,
        metadata={"team": "video"},
        tagging="project=demo",
        content_disposition="attachment",
        proxy=egress.ProxyConfig(url="http://proxy:3128", username="proxy-user", password="pw"),
    )


def test_it_leaves_the_proxy_out_without_a_proxy_url():
    upload = S3.upload({"bucket": "recordings"}, S3_KEYS)
    assert not upload.HasField("proxy")
    assert upload == egress.S3Upload(bucket="recordings", **S3_KEYS)


def test_it_builds_a_gcp_upload():
    config = {"bucket": "bucket", "proxy_url": "http://proxy:3128"}
    assert GCP.upload(config, GCP_KEYS) == egress.GCPUpload(
        credentials=GCP_KEYS["credentials"],
        bucket="bucket",
        proxy=egress.ProxyConfig(url="http://proxy:3128"),
    )


def test_it_builds_an_azure_upload():
    config = {"account_name": "devstoreaccount1", "container_name": "recordings"}
    assert AZURE.upload(config, AZURE_KEYS) == egress.AzureBlobUpload(
        account_name="devstoreaccount1",
        account_key=AZURE_KEYS["account_key"],
        container_name="recordings",
    )


def test_it_builds_an_alioss_upload():
    config = {
        "bucket": "b-1",
        "endpoint": "https://oss-cn-hangzhou.aliyuncs.com",
        "region": "cn-hangzhou",
    }
    assert OSS.upload(config, OSS_KEYS) == egress.AliOSSUpload(
        access_key="LTAI5tExample",
        secret="oss-secret-value",
        region="cn-hangzhou",
        endpoint="https://oss-cn-hangzhou.aliyuncs.com",
        bucket="b-1",
    )


@pytest.mark.parametrize("provider", list(PROVIDERS.values()))
def test_it_puts_each_upload_in_its_storage_config_slot(provider):
    storage = provider.storage_config({"bucket": "b"}, {})
    assert storage.WhichOneof("provider") == provider.storage_field


def test_it_names_the_target_for_lists():
    assert S3.target({"bucket": "recordings"}) == "recordings"
    assert AZURE.target({"account_name": "acct", "container_name": "rec"}) == "acct/rec"


def test_it_keeps_only_known_non_secret_fields_in_config():
    cleaned = S3.clean({"bucket": " b ", "secret": "x", "junk": 1, "force_path_style": False})
    assert set(cleaned) == {f.name for f in S3.config_fields}
    assert cleaned["bucket"] == "b"
    assert cleaned["force_path_style"] is False
