"""`manage.py demo_s3`, the local S3 that `make run` starts: moto's server with the demo bucket,
stopped by Ctrl-C like the rest of `make run`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3

from egress_app.management.commands.seed_demo import DEMO_BUCKET, DEMO_REGION, DEMO_S3_KEYS
from tests.emulators import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def test_it_serves_the_demo_bucket_until_interrupted() -> None:
    port = free_port()
    env = os.environ | {"DEMO_S3_PORT": str(port), "DEBUG": "1", "ENVIRONMENT": "development"}
    command = [sys.executable, "manage.py", "demo_s3"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert wait_for_port(port, seconds=30, alive=lambda: process.poll() is None)
        client = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name=DEMO_REGION,
            aws_access_key_id=DEMO_S3_KEYS["access_key"],
            aws_secret_access_key=DEMO_S3_KEYS["secret"],
        )
        # The bucket is made just after the port opens: the first line says it is ready.
        assert process.stdout is not None
        assert process.stdout.readline().startswith(f"Demo S3 on http://127.0.0.1:{port}")
        client.put_object(Bucket=DEMO_BUCKET, Key="hello.txt", Body=b"hi")
        assert client.get_object(Bucket=DEMO_BUCKET, Key="hello.txt")["Body"].read() == b"hi"
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
