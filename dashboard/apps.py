from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from dashboard import signins  # noqa: F401  (connects the sign-in receivers)
        from dashboard.people_links import hide_tokens_in_access_logs
        from dashboard.publisher import (
            deliver,
            deliver_audio,
            deliver_caption,
            deliver_level,
            deliver_mix,
            deliver_sign_out,
        )
        from egress_app import events

        # The domain announces, the pages render: events cannot import this package.
        events.publish_with(deliver)
        events.publish_audio_with(deliver_level, deliver_audio)
        events.publish_mix_with(deliver_mix)
        events.publish_captions_with(deliver_caption)
        events.publish_sign_outs_with(deliver_sign_out)
        hide_tokens_in_access_logs()
