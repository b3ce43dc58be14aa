"""`manage.py demo_s3`: the local S3 that `make run` starts beside the LiveKit sandbox.

moto's server on 127.0.0.1:DEMO_S3_PORT, in memory (its objects go when it stops), with the demo
bucket that seed_demo's storage profile uploads to. Development only, like seed_demo.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from egress_app.management.commands.seed_demo import (
    DEMO_BUCKET,
    DEMO_REGION,
    DEMO_S3_KEYS,
    demo_s3_endpoint,
)


class Command(BaseCommand):
    help = "Run the demo's local S3 (moto's server) with the demo bucket, until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.ENVIRONMENT == "production" or not settings.DEBUG:
            raise CommandError("demo_s3 only runs in development (DEBUG on, not production).")
        try:
            import boto3
            from moto.server import ThreadedMotoServer
        except ImportError as exc:
            raise CommandError(
                "moto is not installed: pip install -e '.[demo]' (make run does)"
            ) from exc
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        server = ThreadedMotoServer(
            ip_address="127.0.0.1", port=settings.DEMO_S3_PORT, verbose=False
        )
        server.start()
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        try:
            client = boto3.client(
                "s3",
                endpoint_url=demo_s3_endpoint(),
                region_name=DEMO_REGION,
                aws_access_key_id=DEMO_S3_KEYS["access_key"],
                aws_secret_access_key=DEMO_S3_KEYS["secret"],
            )
            client.create_bucket(Bucket=DEMO_BUCKET)
            self.stdout.write(f"Demo S3 on {demo_s3_endpoint()} (bucket {DEMO_BUCKET})")
            stop.wait()
        finally:
            server.stop()
