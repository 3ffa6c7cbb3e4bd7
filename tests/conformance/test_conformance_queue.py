"""The queue contract holds identically everywhere.

Every program of `queue_programs/` runs through the SDK and, transformed by `infrar transform`,
as plain native code (from `OUT/<provider>/`, with an `infrar` package first on PYTHONPATH
that refuses to import), on every backend: local folders, moto (SQS), Azurite (Queue
Storage), the Cloud SDK's Pub/Sub emulator and a Pub/Sub server in the test process that
records what the code asks (`pubsub_fake.py`). Each run must print exactly the transcript of
the SDK on the local backend, pinned in `queue_transcripts/` (regenerate with
INFRAR_UPDATE_GOLDEN=1 and review).

Queue names come from the environment (`CONFORMANCE_QUEUE`, `CONFORMANCE_MISSING_QUEUE`),
fresh for each test: emulators are shared by the tests of a worker.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import runner
from pubsub_fake import FakePubSub

HERE = Path(__file__).resolve().parent
PROGRAMS_DIR = HERE / "queue_programs"
TRANSCRIPTS_DIR = HERE / "queue_transcripts"
PROGRAMS = sorted(p.stem for p in PROGRAMS_DIR.glob("*.py"))
BACKENDS = ("local", "aws", "azure", "gcp", "gcp-fake")
"""gcp twice: against the Pub/Sub emulator, and against the recording server."""
PROVIDER = {"gcp-fake": "gcp"}
REQUIREMENTS = {
    "local": "",
    "aws": "boto3>=1.28\n",
    "gcp": "google-cloud-pubsub>=2.18\n",
    "azure": "azure-storage-queue>=12.8\n",
}
NATIVE_PACKAGE = {"infrar_native/__init__.py", "infrar_native/resources.py",
                  "infrar_native/queue.py"}
# What could point a run at another Pub/Sub; those, those of the storage tests and the shared
# ones are dropped from the runs' environment.
FOREIGN = ("PUBSUB_EMULATOR_HOST", "PUBSUB_PROJECT_ID")
_env = runner.environment_without(
    "AWS_ENDPOINT_URL_S3", "STORAGE_EMULATOR_HOST", "API_ENDPOINT_OVERRIDE",
    "AZURE_STORAGE_ACCOUNT_URL", *FOREIGN)


def _queue_name() -> str:
    return runner.fresh_name("conf-", 20)


@dataclass
class Backend:
    """A provider ready for one test: a fresh queue made on it, and the name of one that is
    not."""

    name: str
    env: dict[str, str]
    create: Callable[[str], None]
    queue: str = field(default_factory=_queue_name)
    missing: str = field(default_factory=_queue_name)
    fake: FakePubSub | None = None

    def __post_init__(self) -> None:
        self.create(self.queue)

    @property
    def provider(self) -> str:
        return PROVIDER.get(self.name, self.name)

    def run(self, script: Path, *, pythonpath: Path | None = None,
            arguments: tuple[str, ...] = ()) -> runner.Run:
        env = _env({**self.env, "INFRAR_PROVIDER": self.provider,
                    "CONFORMANCE_QUEUE": self.queue, "CONFORMANCE_MISSING_QUEUE": self.missing})
        return runner.run_python([str(script), *arguments], env, script.parent,
                                 pythonpath=pythonpath)


def _local(folder: Path) -> Backend:
    root = folder / "local-root"
    return Backend("local", {"INFRAR_LOCAL_ROOT": str(root)},
                   lambda name: (root / ".infrar-queues" / name).mkdir(parents=True))


def _aws(request: pytest.FixtureRequest) -> Backend:
    import boto3

    emulator = request.getfixturevalue("moto_s3")  # moto serves SQS at the same endpoint
    client = boto3.session.Session().client(
        "sqs", endpoint_url=emulator.endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing")
    return Backend("aws", dict(emulator.env), lambda name: client.create_queue(QueueName=name))


def _azure(request: pytest.FixtureRequest) -> Backend:
    from azure.storage.queue import QueueServiceClient

    emulator = request.getfixturevalue("azurite_queue")
    client = QueueServiceClient.from_connection_string(emulator.connection_string)
    return Backend("azure", dict(emulator.env), lambda name: client.create_queue(name))


def _gcp(request: pytest.FixtureRequest) -> Backend:
    import grpc
    from google.pubsub_v1 import PublisherClient, SubscriberClient
    from google.pubsub_v1.services.publisher.transports import PublisherGrpcTransport
    from google.pubsub_v1.services.subscriber.transports import SubscriberGrpcTransport

    emulator = request.getfixturevalue("pubsub_emulator")
    publisher = PublisherClient(transport=PublisherGrpcTransport(
        channel=grpc.insecure_channel(emulator.host)))
    subscriber = SubscriberClient(transport=SubscriberGrpcTransport(
        channel=grpc.insecure_channel(emulator.host)))

    def create(name: str) -> None:
        topic = f"projects/{emulator.project}/topics/{name}"
        publisher.create_topic(name=topic)
        subscriber.create_subscription(
            name=f"projects/{emulator.project}/subscriptions/{name}", topic=topic)

    return Backend("gcp", dict(emulator.env), create)


def _gcp_fake(request: pytest.FixtureRequest) -> Backend:
    fake: FakePubSub = request.getfixturevalue("fake_pubsub")
    return Backend("gcp-fake", fake.env, fake.add_queue, fake=fake)


@pytest.fixture
def fake_pubsub() -> Iterator[FakePubSub]:
    yield from runner.until_stopped(FakePubSub().start())


@pytest.fixture
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    name: str = request.param
    if name == "local":
        return _local(tmp_path)
    return {"aws": _aws, "azure": _azure, "gcp": _gcp, "gcp-fake": _gcp_fake}[name](request)


@pytest.fixture(scope="session")
def queue_transformed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Provider -> the folder `infrar transform --provider P --out` wrote the programs to."""
    return runner.transformed_programs(PROGRAMS_DIR, tmp_path_factory, "queue", _env({}))


@pytest.fixture(scope="session")
def queue_reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Program -> what the SDK prints on the local backend: every run must print the same."""
    return runner.reference_transcripts(lambda program: _local(
        tmp_path_factory.mktemp(f"queue-reference-{program}")).run(PROGRAMS_DIR / f"{program}.py"))


# --- the transcripts --------------------------------------------------------------------------

@pytest.mark.parametrize("program", PROGRAMS)
def test_reference_transcript_is_pinned(program: str, queue_reference: dict[str, str]) -> None:
    transcript = queue_reference[program]
    lines = runner.assert_pinned(transcript, TRANSCRIPTS_DIR / f"{program}.txt")
    assert len(lines) >= 15
    assert not [line for line in lines if "raises" in line and not line.endswith(": True")]
    assert "accepted" not in transcript


def test_every_transcript_has_a_program() -> None:
    assert sorted(p.stem for p in TRANSCRIPTS_DIR.glob("*.txt")) == PROGRAMS


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("program", PROGRAMS)
def test_sdk(program: str, backend: Backend, queue_reference: dict[str, str]) -> None:
    result = backend.run(PROGRAMS_DIR / f"{program}.py")
    runner.assert_same(queue_reference[program], result, f"SDK on {backend.name}")
    if backend.fake is not None:
        _assert_pubsub_requests(program, backend)


@pytest.mark.parametrize("backend", BACKENDS, indirect=True)
@pytest.mark.parametrize("program", PROGRAMS)
def test_transformed(program: str, backend: Backend, queue_reference: dict[str, str],
                     queue_transformed: dict[str, Path], blocker: Path) -> None:
    script = queue_transformed[backend.provider] / f"{program}.py"
    runner.assert_transformed_prints(queue_reference[program], script, backend.run, blocker,
                                     f"transformed for {backend.name}")
    if backend.fake is not None:
        _assert_pubsub_requests(program, backend)


@pytest.mark.parametrize("provider", ("local", "aws", "gcp", "azure"))
def test_transformed_tree(provider: str, queue_transformed: dict[str, Path]) -> None:
    tree = queue_transformed[provider]
    written = {p.relative_to(tree).as_posix() for p in tree.rglob("*.py")}
    assert written == {f"{p}.py" for p in PROGRAMS} | NATIVE_PACKAGE
    assert (tree / "requirements.infrar.txt").read_text() == REQUIREMENTS[provider]
    for program in PROGRAMS:
        text = (tree / f"{program}.py").read_text(encoding="utf-8")
        assert "from infrar_native.queue import" in text and "infrar.queue" not in text


# --- what the code asks of Pub/Sub -----------------------------------------------------------

def _assert_pubsub_requests(program: str, backend: Backend) -> None:
    """What a program asked of the recording server: exactly the calls the generated code
    makes, on the queue's topic and subscription, with the arguments the program gave."""
    fake = backend.fake
    assert fake is not None
    topic, subscription = fake.topic(backend.queue), fake.subscription(backend.queue)
    published = fake.calls("Publish")
    assert all(len(p.messages) == 1 for p in published)
    bodies = [p.messages[0].data.decode("utf-8") for p in published]
    attributes = [dict(p.messages[0].attributes) for p in published]
    pulls = fake.calls("Pull")
    acks = fake.calls("Acknowledge")
    if program == "errors":
        # No invalid argument ever left the process; the missing queue was asked for.
        assert {r.method for r in fake.requests} == {"Publish", "Pull", "ModifyAckDeadline",
                                                     "Acknowledge"}
        assert [p.topic for p in published] == [fake.topic(backend.missing), topic]
        assert bodies == ["x", "real"] and attributes == [{}, {}]
        assert [p.subscription for p in pulls].count(fake.subscription(backend.missing)) == 2
        assert [a.subscription for a in acks] == [fake.subscription(backend.missing),
                                                  subscription]
        return
    assert {r.method for r in fake.requests} == {"Publish", "Pull", "ModifyAckDeadline",
                                                 "Acknowledge"}
    assert [p.topic for p in published] == [topic] * 6
    assert bodies[:5] == ["alpha", "beta", "gamma ✓ 𝄞 <&> \"quoted\"\ttab\nnew line",
                          "unlucky", "later"]
    assert len(published[5].messages[0].data) == 65536  # the next, one byte larger, never left
    assert [sorted(a) for a in attributes] == [[], [], [], [], ["infrar-deliver-after"], []]
    assert attributes[4]["infrar-deliver-after"].isdigit()
    assert {p.subscription for p in pulls} == {subscription}
    assert {p.max_messages for p in pulls} == {10}
    # Ack deadlines: the visibility timeouts asked (30 and 1), and the delayed message handed
    # back for the seconds left (two, rounded up, or one on a later pull).
    deadlines = {m.ack_deadline_seconds for m in fake.calls("ModifyAckDeadline")}
    assert {1, 30} <= deadlines <= {1, 2, 30}
    acked = [ack_id for a in acks for ack_id in a.ack_ids]
    assert len(acked) == 7  # three, the early and the late receipt, delayed, 64 KiB
    assert {a.subscription for a in acks} == {subscription}


@pytest.fixture
def pubsub_runtime(fake_pubsub: FakePubSub, monkeypatch: pytest.MonkeyPatch
                   ) -> dict[str, Callable[..., Any]]:
    """The SDK's gcp backend, built afresh in this process (so its clients are new) and
    pointed at the recording server."""
    from infrar.engine.runtime import build_runtime

    for name in FOREIGN:
        monkeypatch.delenv(name, raising=False)
    for name, value in fake_pubsub.env.items():
        monkeypatch.setenv(name, value)
    return build_runtime("queue", "gcp")


def test_pubsub_invalid_arguments_make_no_call(fake_pubsub: FakePubSub,
                                               pubsub_runtime: dict[str, Callable[..., Any]]
                                               ) -> None:
    fake_pubsub.add_queue("jobs")
    with pytest.raises(ValueError, match="65537 bytes"):
        pubsub_runtime["send"]("jobs", "x" * 65537)
    with pytest.raises(ValueError, match="max_messages"):
        pubsub_runtime["receive"]("jobs", max_messages=11)
    with pytest.raises(TypeError, match="Message"):
        pubsub_runtime["ack"]("jobs", "an-ack-id")
    assert fake_pubsub.requests == []


def test_pubsub_visibility_past_600_seconds_holds_for_600(
        fake_pubsub: FakePubSub, pubsub_runtime: dict[str, Callable[..., Any]]) -> None:
    fake_pubsub.add_queue("jobs")
    pubsub_runtime["send"]("jobs", "long job")
    [message] = pubsub_runtime["receive"]("jobs", visibility_timeout=43200)
    [modified] = fake_pubsub.calls("ModifyAckDeadline")
    assert (modified.ack_deadline_seconds, list(modified.ack_ids)) == (600, [message.receipt])


def test_pubsub_delayed_message_is_handed_back_until_due(
        fake_pubsub: FakePubSub, pubsub_runtime: dict[str, Callable[..., Any]]) -> None:
    fake_pubsub.add_queue("jobs")
    pubsub_runtime["send"]("jobs", "in a quarter of an hour", delay_seconds=900)
    assert pubsub_runtime["receive"]("jobs", max_messages=10) == []
    # Pub/Sub holds a message back 600 seconds at most: the code asks for that, and on the
    # next delivery for the rest.
    [held] = fake_pubsub.calls("ModifyAckDeadline")
    assert held.ack_deadline_seconds == 600
    [pull] = fake_pubsub.calls("Pull")
    assert pull.max_messages == 10


def test_pubsub_a_waiting_receive_pulls_until_it_may_stop(
        fake_pubsub: FakePubSub, pubsub_runtime: dict[str, Callable[..., Any]]) -> None:
    fake_pubsub.add_queue("jobs")
    assert pubsub_runtime["receive"]("jobs", wait_seconds=2) == []
    assert len(fake_pubsub.calls("Pull")) >= 2
    assert fake_pubsub.calls("ModifyAckDeadline") == []


def test_pubsub_missing_topic_and_subscription(fake_pubsub: FakePubSub,
                                               pubsub_runtime: dict[str, Callable[..., Any]]
                                               ) -> None:
    from infrar.queue import Message, QueueNotFoundError

    with pytest.raises(QueueNotFoundError, match="Topic not found"):
        pubsub_runtime["send"]("gone", "x")
    with pytest.raises(QueueNotFoundError, match="Subscription does not exist"):
        pubsub_runtime["receive"]("gone")
    with pytest.raises(QueueNotFoundError, match="queue 'gone'"):
        pubsub_runtime["ack"]("gone", Message(id="1", body="x", receipt="ack-1"))
    assert [r.method for r in fake_pubsub.requests] == ["Publish", "Pull", "Acknowledge"]
    assert fake_pubsub.calls("Publish")[0].topic == "projects/test-project/topics/gone"


# --- local: processes sharing a queue ------------------------------------------------------

RECEIVER = """\
import sys
from infrar.queue import ack, receive

seen = []
while True:
    batch = receive(sys.argv[1], max_messages=3, visibility_timeout=600)
    if not batch:
        break
    for message in batch:
        seen.append(message.id)
        ack(sys.argv[1], message)
print("\\n".join(seen))
"""


def test_local_receivers_in_parallel_never_share_a_message(tmp_path: Path) -> None:
    backend = _local(tmp_path)
    script = tmp_path / "receiver.py"
    script.write_text(RECEIVER)
    sender = tmp_path / "sender.py"
    sender.write_text("import sys\nfrom infrar.queue import send\n"
                      "print('\\n'.join(send(sys.argv[1], f'job {n}') for n in range(120)))\n")
    sent = backend.run(sender, arguments=(backend.queue,))
    assert sent.returncode == 0, sent.stderr
    env = _env({**backend.env, "INFRAR_PROVIDER": "local"})
    receivers = [subprocess.Popen([sys.executable, str(script), backend.queue], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
    outputs = [r.communicate(timeout=120) for r in receivers]
    assert [r.returncode for r in receivers] == [0, 0, 0, 0], [o[1] for o in outputs]
    received = [line for out, _ in outputs for line in out.split()]
    assert sorted(received) == sorted(sent.stdout.split())  # each once, none lost
    folder = tmp_path / "local-root" / ".infrar-queues" / backend.queue
    assert not list((folder / "ready").iterdir()) and not list((folder / "in-flight").iterdir())


# --- imports cost nothing and need no configuration -----------------------------------------

@pytest.mark.parametrize("provider", ("local", "aws", "gcp", "azure"))
def test_sdk_imports_no_third_party_module(provider: str, tmp_path: Path) -> None:
    imports = "import infrar.queue\nfrom infrar.queue import Message, QueueError, send\n"
    runner.assert_loads_no_third_party(imports, _env({"INFRAR_PROVIDER": provider}), tmp_path,
                                       (*runner.THIRD_PARTY, "grpc"))


LAZY_MODULE = ("worker", "work", (
        "from infrar.queue import QueueNotFoundError, ack, receive\n\n\n"
        "def work():\n"
        "    try:\n"
        "        for message in receive('jobs', wait_seconds=20):\n"
        "            ack('jobs', message)\n"
        "    except QueueNotFoundError:\n"
        "        return False\n"
        "    return True\n"))
"""A queue module whose clients are made on first use, and its function."""


@pytest.mark.parametrize("provider", ("local", "aws", "gcp", "azure"))
def test_transformed_module_imports_without_configuration(provider: str, tmp_path: Path,
                                                          blocker: Path) -> None:
    runner.assert_imports_unconfigured(LAZY_MODULE, provider, tmp_path, blocker, _env)
