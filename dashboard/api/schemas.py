"""What the API takes and answers, as its OpenAPI schema shows it (pydantic, through
django-ninja). A job answers without a secret: its config, texts and results hold none (stream
keys stay in its encrypted secrets, stream outputs show masked)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Schema

NAME = 255
URL = 2000


class Problem(Schema):
    """Every 4xx and 5xx answer: what went wrong in plain words, and where."""

    detail: str
    errors: dict[str, str] = Field(
        default_factory=dict, description="Field path (`config.outputs.file.filepath`) -> message."
    )
    twirp_code: str | None = Field(None, description="LiveKit's Twirp error code, when it refused.")
    job_id: int | None = Field(None, description="The job the refusal is kept on, if any.")


class StartConfig(Schema):
    """A full launch configuration, as the Launch form posts it (its dotted field paths)."""

    config: dict[str, Any] = Field(
        description="A LaunchConfig: `kind`, `room_name`, the kind's section, `encoding`, "
        "`outputs` (`file`, `segments`, `images`, `stream`), `storage_profile_id`."
    )
    adhoc_urls: list[str] = Field(default_factory=list, max_length=20)


class StartRecipe(Schema):
    recipe_id: int
    room_name: str = Field(max_length=NAME)


class Layout(Schema):
    layout: str = Field(max_length=URL)


class StreamsAdd(Schema):
    destination_ids: list[int] = Field(default_factory=list, max_length=50)
    adhoc_urls: list[str] = Field(default_factory=list, max_length=20)


class StreamRemove(Schema):
    output: str = Field(max_length=URL, description="`destination:<id>` or `adhoc:<n>`.")


class StreamOutput(Schema):
    output: str
    label: str = Field(description="The destination's name, or the URL with its key masked.")


class JobOutput(Schema):
    kind: Literal["file", "segments", "images"]
    n: int
    name: str
    key: str
    size: int
    download_url: str | None = Field(
        None, description="Signed now, SIGNED_URL_SECONDS long (files and HLS playlists)."
    )
    error: str = ""


class Job(Schema):
    id: int
    url: str = Field(description="The job's page on the dashboard.")
    egress_id: str | None
    kind: str
    room_name: str
    status: str = Field(description="LiveKit's EgressStatus, or the launch state before one.")
    status_label: str
    launch_state: str
    started_by: str | None
    external: bool
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    error: str
    error_code: int | None
    details: str
    retry_of: int | None
    stream_outputs: list[StreamOutput]


class JobDetail(Job):
    config: dict[str, Any]
    results: dict[str, Any]
    outputs: list[JobOutput]
    outputs_error: str = Field("", description="Why no download link can be made, if so.")


class JobPage(Schema):
    jobs: list[Job]
    next: str | None = Field(description="`after` for the next (older) page; null at the end.")
    previous: str | None = Field(description="`before` for the previous page; null on the first.")


class JobFilters(Schema):
    """The job history's filters and order (the Jobs page's), and its keyset pages."""

    status: str | None = None
    kind: str | None = None
    room: str | None = Field(None, description="Part of the room's name, any case.")
    started_by: int | None = Field(None, description="A user's id (reviewers only).")
    since: date | None = None
    until: date | None = None
    error: str | None = None
    external: Literal["yes", "no"] | None = None
    empty_output: bool | None = None
    sort: Literal["-created", "created", "room", "-room", "status", "kind"] | None = None
    after: str | None = Field(None, description="A page's `next`.")
    before: str | None = Field(None, description="A page's `previous`.")


class Room(Schema):
    name: str
    sid: str
    num_participants: int
    num_publishers: int
    created_at: datetime | None
