"""The one place sessions and clients are built: region, profile, endpoint, credentials, retries.

Every client of the tool comes from here: DynamoDB and STS for the commands (through `Aws`), and
the DynamoDB client the local engines are probed with (`local_dynamodb_client`). One set of dummy
credentials for local endpoints, one retry configuration.

Clients come from botocore directly (boto3 adds nothing this tool uses, and importing it costs
~0.15 s, s3transfer included); botocore is imported inside functions so that `--help` and
`validate` never pay for it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import urlparse

from snapinfra_db.errors import AwsConfigError, DynamoDBError, SnapinfraError, error_code

if TYPE_CHECKING:
    import botocore.session
    from mypy_boto3_dynamodb import DynamoDBClient

# How long a custom endpoint has to answer its first request (see Aws._check_reachable).
REACHABLE_WITHIN = 10.0
# Control-plane calls (DescribeTable, UpdateTable, CreateTable: DynamoDB works on tables
# asynchronously) are answered in milliseconds; an answer that takes seconds is an endpoint in
# trouble, not a slow success. botocore's own read timeout is 60 s.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 6.0
# How long one call may go without an answer over all its tries: an endpoint that falls silent (or
# goes away) mid-command is one line within this, not 10 tries of 60 s each (see bound_silence).
SILENCE_BUDGET = 15.0
# Commands that move items (export, restore-export, migrate) scan and write pages of up to 1 MB: on
# AWS still a fraction of a second, on an emulator holding a large table (moto scans the whole
# table for every page) seconds. Their client waits longer (Aws.dynamodb_items).
ITEMS_READ_TIMEOUT = 30.0
ITEMS_SILENCE_BUDGET = 65.0
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal"}
DEFAULT_LOCAL_REGION = "us-east-1"

# Local endpoints accept any credentials (newer DynamoDB Local releases want letters and digits
# only); a laptop without an AWS account has none. The one pair used for every local client, and
# the one `snapinfra-db local` prints for the backend's .env.
LOCAL_ACCESS_KEY_ID = "snapinfralocal"
LOCAL_SECRET_ACCESS_KEY = "snapinfralocal"


def client_config(
    region: str | None = None,
    *,
    attempts: int = 10,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    pool: int = 10,
) -> Any:
    """botocore's Config for every client: `attempts` in all, standard-mode retries (throttling, LimitExceeded and
    transient errors with exponential backoff and jitter), timeouts, and a connection pool."""
    from botocore.config import Config

    return Config(
        region_name=region,
        retries={"mode": "standard", "total_max_attempts": attempts},
        max_pool_connections=pool,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        user_agent_extra="snapinfra-db",
    )


def local_dynamodb_client(endpoint_url: str, *, timeout: float = 60, attempts: int = 10) -> DynamoDBClient:
    """A DynamoDB client for a local endpoint (DynamoDB Local, moto's server): dummy credentials,
    region us-east-1, whatever the environment says. `timeout` is the connect and read timeout."""
    import botocore.session

    client = botocore.session.Session().create_client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=DEFAULT_LOCAL_REGION,
        aws_access_key_id=LOCAL_ACCESS_KEY_ID,
        aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
        config=client_config(
            DEFAULT_LOCAL_REGION, attempts=attempts, connect_timeout=min(timeout, 5), read_timeout=timeout
        ),
    )
    return cast("DynamoDBClient", client)


class EndpointSilent(AwsConfigError):
    """A call got no answer at all (timeouts, refused or dropped connections) within SILENCE_BUDGET."""


def bound_silence(client: Any, server: str, budget: float = SILENCE_BUDGET) -> Any:
    """Stop retrying a call that has had no answer for `budget` seconds, with one line naming `server`
    ("DynamoDB at http://localhost:8000").

    botocore's standard retries keep their job for everything that is an answer (throttling,
    LimitExceeded, 5xx: DynamoDB asking to come back later). Only "no answer" is bounded: a retry is
    refused when one more read timeout would end past the budget. Both handlers go on `client`'s own
    event system: the call's start time lives in its request context, which every try shares.
    """
    from botocore.exceptions import (
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    no_answer = (ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError, EndpointConnectionError)
    read_timeout = client.meta.config.read_timeout
    service = client.meta.service_model.service_id.hyphenize()

    def started(context: dict[str, Any], **_: Any) -> None:
        context.setdefault("snapinfra_started", time.monotonic())

    def give_up(
        caught_exception: BaseException | None = None,
        request_dict: dict[str, Any] | None = None,
        attempts: int = 1,
        operation: Any = None,
        **_: Any,
    ) -> None:
        if not isinstance(caught_exception, no_answer) or request_dict is None:
            return  # an answer, or success: botocore's retry handler decides
        began = request_dict.get("context", {}).get("snapinfra_started")
        if began is None:
            return
        waited = time.monotonic() - began
        if waited + read_timeout <= budget:
            return
        name = getattr(operation, "name", "a call")
        tries = f"{attempts} {'try' if attempts == 1 else 'tries'} in {waited:.0f}s"
        if isinstance(caught_exception, EndpointConnectionError):
            raise EndpointSilent(f"cannot reach {server} ({name}: {tries}): is it running?")
        raise EndpointSilent(f"{server} stopped answering: no answer to {name} ({tries})")

    client.meta.events.register(f"before-call.{service}", started)
    client.meta.events.register_first(f"needs-retry.{service}", give_up)
    return client


@dataclass(frozen=True)
class AwsOptions:
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    parallelism: int = 10

    @property
    def effective_endpoint(self) -> str | None:
        """--endpoint-url, else boto3's own AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL."""
        return (
            self.endpoint_url
            or os.environ.get("AWS_ENDPOINT_URL_DYNAMODB")
            or os.environ.get("AWS_ENDPOINT_URL")
            or None
        )

    @property
    def is_local(self) -> bool:
        endpoint = self.effective_endpoint
        return bool(endpoint) and (urlparse(endpoint).hostname or "") in LOOPBACK_HOSTS


class Aws:
    """A configured session; clients are created once and shared (botocore clients are thread-safe)."""

    def __init__(self, options: AwsOptions) -> None:
        endpoint = options.effective_endpoint
        if endpoint:
            parsed = urlparse(endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                source = "--endpoint-url" if options.endpoint_url else "AWS_ENDPOINT_URL(_DYNAMODB)"
                raise AwsConfigError(f"{source} '{endpoint}' is not an http(s) URL (e.g. http://localhost:8000)")
        self.options = options

    @cached_property
    def session(self) -> botocore.session.Session:
        import botocore.session
        from botocore.exceptions import ProfileNotFound

        session = botocore.session.Session(profile=self.options.profile)
        # The AWS CLI v2 and the other SDKs read AWS_REGION before AWS_DEFAULT_REGION; botocore reads
        # only the latter (and then the profile's region), so AWS_REGION is passed on here.
        region = self.options.region or os.environ.get("AWS_REGION") or None
        if region:
            session.set_config_variable("region", region)
        try:
            session.get_scoped_config()  # a profile that does not exist fails here, not at the first call
        except ProfileNotFound:
            raise AwsConfigError(
                f"AWS profile '{self.options.profile}' not found: check ~/.aws/config or pass another --profile"
            ) from None
        if self.options.is_local and session.get_credentials() is None:
            # DynamoDB Local accepts any credentials; a laptop without an AWS account has none.
            session.set_credentials(LOCAL_ACCESS_KEY_ID, LOCAL_SECRET_ACCESS_KEY)
        return session

    @cached_property
    def region(self) -> str:
        region: str | None = self.session.get_config_variable("region")
        if region:
            return region
        if self.options.is_local:
            return DEFAULT_LOCAL_REGION
        raise AwsConfigError(
            "no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set one in your profile"
        )

    def _config(self) -> Any:
        return client_config(self.region, pool=max(10, self.options.parallelism * 4))

    def _check_credentials(self) -> None:
        if self.session.get_credentials() is None:
            raise AwsConfigError(
                "no AWS credentials: run `aws configure` or `aws sso login`, set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY, or pass --profile (for a local DynamoDB, pass --endpoint-url or --local)"
            )

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        self._check_credentials()
        # The probe's round trip overlaps building the real client (CPU: its model, endpoint rules).
        reachable = self._check_reachable_in_background()
        client = self.session.create_client(
            "dynamodb",
            region_name=self.region,
            endpoint_url=self.options.endpoint_url or None,
            config=self._config(),
        )
        reachable()
        return cast("DynamoDBClient", bound_silence(client, f"DynamoDB at {self.describe_endpoint()}"))

    @cached_property
    def streams(self) -> Any:
        """DynamoDB Streams (migrate --follow): at the same endpoint as DynamoDB when one is given
        (DynamoDB Local and moto's server serve both), else AWS's streams endpoint for the region."""
        self._check_credentials()
        client = self.session.create_client(
            "dynamodbstreams",
            region_name=self.region,
            endpoint_url=self.options.effective_endpoint or None,
            config=self._config(),
        )
        return bound_silence(client, f"DynamoDB Streams at {self.describe_endpoint()}")

    @property
    def cloudwatch_endpoint(self) -> str | None:
        """AWS_ENDPOINT_URL_CLOUDWATCH, else the DynamoDB endpoint when one is given (moto's server serves
        both; DynamoDB Local answers that it has no CloudWatch), else None: AWS's for the region."""
        return os.environ.get("AWS_ENDPOINT_URL_CLOUDWATCH") or self.options.effective_endpoint or None

    @cached_property
    def cloudwatch(self) -> Any:
        """CloudWatch, for the catalog's alarms (reconcile.alarms_live)."""
        self._check_credentials()
        endpoint = self.cloudwatch_endpoint
        client = self.session.create_client(
            "cloudwatch", region_name=self.region, endpoint_url=endpoint, config=self._config()
        )
        return bound_silence(client, f"CloudWatch at {endpoint or f'https://monitoring.{self.region}.amazonaws.com'}")

    @cached_property
    def dynamodb_items(self) -> DynamoDBClient:
        """DynamoDB for commands that move items (Scan, BatchWriteItem, ...): the same endpoint and retries
        as `dynamodb`, with a read timeout and no-answer budget sized for 1 MB pages (see above)."""
        self.dynamodb  # noqa: B018  credentials and reachability checked once, as for every command
        client = self.session.create_client(
            "dynamodb",
            region_name=self.region,
            endpoint_url=self.options.endpoint_url or None,
            config=client_config(
                self.region, read_timeout=ITEMS_READ_TIMEOUT, pool=max(10, self.options.parallelism * 4)
            ),
        )
        server = f"DynamoDB at {self.describe_endpoint()}"
        return cast("DynamoDBClient", bound_silence(client, server, budget=ITEMS_SILENCE_BUDGET))

    def _check_reachable_in_background(self) -> Callable[[], None]:
        """Start `_check_reachable` on a daemon thread; the returned function waits for it and raises
        what it raised. (A daemon: a command that fails meanwhile does not wait for the probe.)"""
        import threading

        outcome: list[BaseException | None] = []
        done = threading.Event()

        def probe() -> None:
            try:
                self._check_reachable()
                outcome.append(None)
            except BaseException as exc:  # handed to the caller
                outcome.append(exc)
            finally:
                done.set()

        threading.Thread(target=probe, name="probe", daemon=True).start()

        def wait() -> None:
            while not done.wait(0.2):  # a timeout keeps the main thread responsive to Ctrl-C
                pass
            if outcome and outcome[0] is not None:
                raise outcome[0]

        return wait

    def _check_reachable(self) -> None:
        """One request, not retried, to a custom endpoint before any real work: an endpoint that is down
        or never answers is one line within REACHABLE_WITHIN seconds, not a minute of retries.

        The shared client retries a refused connection 10 times with backoff (about 6 s per call) and
        waits 60 s for each answer; a few concurrent calls each go through all of it. Any answer at all,
        even a refusal of the credentials, means reachable. AWS itself (no endpoint URL) is not probed.
        """
        endpoint = self.options.effective_endpoint
        if not endpoint:
            return
        from botocore.exceptions import (
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        # From this session: its service model is loaded once, for the probe and the real client alike.
        probe: Any = self.session.create_client(
            "dynamodb",
            region_name=self.region,
            endpoint_url=endpoint,
            config=client_config(self.region, attempts=1, read_timeout=REACHABLE_WITHIN),
        )
        try:
            probe.list_tables(Limit=1)
        except (ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError):
            raise AwsConfigError(f"DynamoDB at {endpoint} did not answer within {REACHABLE_WITHIN:g}s") from None
        except EndpointConnectionError:
            raise AwsConfigError(f"cannot reach DynamoDB at {endpoint}: is it running?") from None
        except Exception:  # any answer at all (a refusal, garbage): reachable; the real calls report the rest
            return

    @cached_property
    def sts(self) -> Any:
        """STS, for the account id; never pointed at a custom endpoint."""
        client = self.session.create_client(
            "sts", region_name=self.region, config=client_config(self.region, attempts=3)
        )
        return bound_silence(client, f"STS in {self.region}")

    def kms_key_manager(self, key_arn: str) -> Literal["AWS", "CUSTOMER"] | None:
        """Whether a table's KMS key is the AWS-managed one or a customer's; None if it cannot be told."""
        try:
            kms = self._kms
            manager: str | None = kms.describe_key(KeyId=key_arn)["KeyMetadata"].get("KeyManager")
        except Exception:  # no kms:DescribeKey permission, unknown key: do not guess
            return None
        return "AWS" if manager == "AWS" else "CUSTOMER" if manager == "CUSTOMER" else None

    @cached_property
    def _kms(self) -> Any:
        client = self.session.create_client("kms", region_name=self.region, config=self._config())
        return bound_silence(client, f"KMS in {self.region}")

    @property
    def key_manager_lookup(self) -> Any:
        # Only against AWS itself: emulators have no KMS, and a call to real AWS from a test is wrong.
        return None if self.options.effective_endpoint else self.kms_key_manager

    def endpoint_key_manager(self, key_arn: str) -> Literal["AWS", "CUSTOMER"] | None:
        """kms_key_manager for a custom endpoint that serves KMS too (moto's server, LocalStack), asked
        there and never at AWS: emulators call every key a customer's, so the AWS-managed key is the one
        `alias/aws/dynamodb` names at the endpoint. None when the endpoint cannot tell (no KMS there)."""
        managed = self._endpoint_managed_key
        if managed is None:
            return None
        return "AWS" if key_arn == managed else "CUSTOMER"

    @cached_property
    def _endpoint_managed_key(self) -> str | None:
        """The ARN alias/aws/dynamodb names at the custom endpoint; "" when it names none, None if unknown."""
        endpoint = self.options.effective_endpoint
        if not endpoint:
            return None
        try:
            kms: Any = bound_silence(
                self.session.create_client(
                    "kms",
                    region_name=self.region,
                    endpoint_url=endpoint,
                    config=client_config(self.region, attempts=2),
                ),
                f"KMS at {endpoint}",
            )
            arn = kms.describe_key(KeyId="alias/aws/dynamodb")["KeyMetadata"]["Arn"]
        except Exception as exc:  # no KMS at this endpoint, or a refusal: do not guess
            return "" if error_code(exc) == "NotFoundException" else None
        return arn if isinstance(arn, str) else None

    def describe_endpoint(self) -> str:
        return self.options.effective_endpoint or f"https://dynamodb.{self.region}.amazonaws.com"


def translate(exc: BaseException) -> SnapinfraError | None:
    """A botocore exception → one actionable line, or None if it is not an AWS error."""
    try:
        from botocore import exceptions as bx
    except ImportError:  # pragma: no cover
        return None
    if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
        return AwsConfigError(
            "no usable AWS credentials: run `aws configure`, set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or pass --profile"
        )
    if isinstance(exc, bx.NoRegionError):
        return AwsConfigError("no AWS region: pass --region or set AWS_REGION")
    if isinstance(exc, bx.TokenRetrievalError | bx.SSOTokenLoadError | bx.UnauthorizedSSOTokenError):
        return AwsConfigError(f"AWS SSO session expired or missing ({exc}): run `aws sso login`")
    if isinstance(exc, bx.EndpointConnectionError):
        return AwsConfigError(f"cannot reach DynamoDB at {exc.kwargs.get('endpoint_url')}: is it running?")
    if isinstance(exc, bx.ConnectTimeoutError | bx.ReadTimeoutError | bx.ConnectionClosedError):
        url = str(exc.kwargs.get("endpoint_url") or "").rstrip("/") or "the endpoint"
        what = {
            bx.ConnectTimeoutError: "no connection",
            bx.ReadTimeoutError: "no answer in time",
            bx.ConnectionClosedError: "connection closed without an answer",
        }.get(type(exc), "no answer")
        return AwsConfigError(f"{url} stopped answering ({what}, after every retry)")
    if isinstance(exc, bx.ClientError):
        err = exc.response.get("Error", {})
        # One line, whatever the endpoint sent (an HTML error page arrives as a multi-line "message").
        code, message = _one_line(err.get("Code", "Error")), _one_line(err.get("Message", ""))
        operation = getattr(exc, "operation_name", "call")
        if code in ("UnrecognizedClientException", "InvalidSignatureException", "ExpiredTokenException"):
            return AwsConfigError(f"AWS rejected the credentials ({code}: {message}): check --profile / keys")
        if code in ("AccessDeniedException", "AccessDenied"):
            return DynamoDBError(f"{operation}: access denied: {message}")
        return DynamoDBError(f"{operation} failed: {code}: {message}")
    if isinstance(exc, bx.BotoCoreError):
        return AwsConfigError(_one_line(exc, 500))
    return None


def _one_line(text: object, longest: int = 300) -> str:
    words = " ".join(str(text).split())
    return words if len(words) <= longest else words[: longest - 1] + "…"


def message_of(exc: BaseException) -> str:
    """One line for any failure of one table's work: ours as it is, AWS's translated, else its type."""
    if isinstance(exc, SnapinfraError):
        return str(exc)
    translated = translate(exc)
    return str(translated) if translated is not None else f"{type(exc).__name__}: {exc}"
