"""Coach mode in the store, on SQLite and PostgreSQL: the registry itself, and coach and
client served by two replicas of one database (each with its own output channel)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.channels import CollectingOutput
from bot.coaching import new_code
from bot.conversation import Conversations
from bot.engine import Incoming
from bot.payloads import ClientAction, Consent, DataChoice, ReportRequest, StopSharing, encode
from bot.storage.schema import coach_links, coaches
from bot.storage.sql import SqlStore
from tests.test_storage import _drop, _pg_database

UPDATES = itertools.count(50_000)
TEST = ["/assess", "no", "25", "25", "25", "25", "skip", "neither", "none"]
SECOND_TEST = ["/assess", "no", "27", "24", "20", "25", "skip", "neither", "none"]


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'coach.db'}"
        return
    url = await _pg_database()
    if url is None:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    try:
        yield url
    finally:
        await _drop(url)


@pytest.fixture
async def stores(db_url: str) -> AsyncIterator[list[SqlStore]]:
    both = [SqlStore(db_url), SqlStore(db_url)]
    await asyncio.gather(*(s.migrate() for s in both))
    yield both
    for store in both:
        await store.close()


@pytest.fixture
def replicas(stores: list[SqlStore], make_app) -> list[tuple[Conversations, CollectingOutput]]:
    """Two replicas; each pushes through its own (collecting) Telegram output."""
    out = []
    for store in stores:
        conversations = make_app(store, charts=False).conversations
        output = CollectingOutput("telegram")
        conversations.outputs["telegram"] = output
        out.append((conversations, output))
    return out


def said(user: str, name: str, text: str = "", payload: str | None = None) -> Incoming:
    return Incoming(
        "telegram",
        user,
        text,
        payload,
        update_id=next(UPDATES),
        address=user,
        first_name=name,
        start_link="https://t.me/Bot?start={start}",
    )


async def test_registry_codes_links_and_results(stores: list[SqlStore]) -> None:
    a, b = stores
    coach, client = ("telegram", "1"), ("telegram", "2")
    first = new_code()
    assert len(first) <= 58 and set(first) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
    )
    await a.coaching.save_coach(coach, name="Sam", code=first, address="1")
    assert (await b.coaching.coach_by_code(first)).name == "Sam"  # the other replica sees it
    second = new_code()
    await b.coaching.save_coach(coach, name="Sam", code=second, address="1")
    assert await a.coaching.coach_by_code(first) is None  # the old link stopped working
    assert (await a.coaching.coach_by_code(second)).key == coach
    link = await a.coaching.add_link(coach, client, "Alice", "2")
    again = await b.coaching.add_link(coach, client, "Alicia", "2")  # idempotent
    assert again.id == link.id and again.client_name == "Alicia"
    assert [x.id for x in await b.coaching.links_of_coach(coach)] == [link.id]
    assert [x.id for x in await b.coaching.links_of_client(client)] == [link.id]
    assert await a.coaching.results_of(client) == []
    await b.coaching.remove_link(link.id)
    assert await a.coaching.get_link(link.id) is None
    assert await a.coaching.links_of_coach(coach) == []


async def test_coach_and_client_on_two_replicas(replicas) -> None:
    (coach_side, _), (client_side, client_out) = replicas
    invite = await coach_side.handle(said("1", "Sam", "/coach"))
    start = invite[0].text.split("?start=")[1].split()[0]
    consent = await client_side.handle(said("2", "Alice", f"/start {start}"))
    assert "never see your questions" in consent[0].text
    share = consent[0].buttons[0][0].payload
    assert (await coach_side.handle(said("1", "Sam", "/clients")))[0].text.startswith(
        "No clients"
    )  # nothing shared before Share
    await client_side.handle(said("2", "Alice", payload=share))
    assert "Alice now shares" in client_out.sent[-1][1].text  # the coach was told
    listing = await coach_side.handle(said("1", "Sam", "/clients"))
    assert "1. Alice: no test yet" in listing[0].text
    link_id = int(listing[0].buttons[0][0].payload.rsplit(":", 1)[1])

    for text in TEST:
        await client_side.handle(said("2", "Alice", text))
    await client_side.drain()
    note = client_out.sent[-1]
    assert note[0] == "1" and note[1].kind == "report" and note[1].image.startswith(b"\x89PNG")
    assert "Alice finished a self-test" in note[1].text
    for text in SECOND_TEST:
        await client_side.handle(said("2", "Alice", text))
    listing = await coach_side.handle(said("1", "Sam", "/clients"))
    assert "last self-test" in listing[0].text
    assert "straight knee L 27 (+2), R 24 (-1)" in listing[0].text

    report = await coach_side.handle(
        said("1", "Sam", payload=encode(ClientAction("report", link_id)))
    )
    assert report[0].image is not None and "Alice's CalfCoach report" in report[0].text
    pdf = await coach_side.handle(said("1", "Sam", payload=encode(ReportRequest(True, link_id))))
    assert pdf[0].document.startswith(b"%PDF")

    stop = await client_side.handle(said("2", "Alice", payload=encode(StopSharing(link_id))))
    assert "no longer sees" in stop[0].text
    after = await coach_side.handle(
        said("1", "Sam", payload=encode(ClientAction("report", link_id)))
    )
    assert after[0].kind == "coach_no_access" and after[0].image is None


async def test_a_forged_code_or_declined_invite_links_nothing(replicas) -> None:
    (coach_side, _), (client_side, _) = replicas
    await coach_side.handle(said("1", "Sam", "/coach"))
    forged = await client_side.handle(said("2", "Eve", payload=encode(Consent(new_code()))))
    assert "not valid" in forged[0].text
    declined = await client_side.handle(said("2", "Eve", payload=encode(Consent(None))))
    assert "nothing is shared" in declined[0].text
    assert "No clients" in (await coach_side.handle(said("1", "Sam", "/clients")))[0].text


@pytest.mark.parametrize("who", ["client", "coach"])
async def test_delete_my_data_removes_coach_links_both_ways(
    replicas, stores: list[SqlStore], who: str
) -> None:
    (coach_side, _), (client_side, _) = replicas
    invite = await coach_side.handle(said("1", "Sam", "/coach"))
    start = invite[0].text.split("?start=")[1].split()[0]
    consent = await client_side.handle(said("2", "Alice", f"/start {start}"))
    await client_side.handle(said("2", "Alice", payload=consent[0].buttons[0][0].payload))
    user, side = ("2", client_side) if who == "client" else ("1", coach_side)
    await side.handle(said(user, "X", payload=encode(DataChoice(delete=True))))

    def count(conn: sa.Connection) -> tuple[int, int]:
        links = conn.scalar(sa.select(sa.func.count()).select_from(coach_links))
        mine = conn.scalar(
            sa.select(sa.func.count()).select_from(coaches).where(coaches.c.user_id == user)
        )
        return int(links or 0), int(mine or 0)

    assert await stores[0].read(count) == (0, 0)
    assert "don't share" in (await client_side.handle(said("2", "Alice", "/coaches")))[0].text


async def test_migration_0004_matches_the_schema(stores: list[SqlStore]) -> None:
    """The coach tables Alembic creates are the ones the code queries (schema.py)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from bot.storage.schema import metadata

    def diff(conn: sa.Connection) -> list:
        context = MigrationContext.configure(conn)
        changes = compare_metadata(context, metadata)
        return [c for c in changes if "coach" in repr(c)]

    assert await stores[0].read(diff) == []


async def test_a_coach_notification_survives_a_crash_after_the_commit(replicas) -> None:
    """The coach's notification and report copy are stored with the client's step: if
    the client's process dies before sending them (here: it has no way to send), another
    replica's sweeper sends them, the report drawn from the stored results."""
    (coach_side, coach_out), (client_side, client_out) = replicas
    invite = await coach_side.handle(said("1", "Sam", "/coach"))
    start = invite[0].text.split("?start=")[1].split()[0]
    consent = await client_side.handle(said("2", "Alice", f"/start {start}"))
    await client_side.handle(said("2", "Alice", payload=consent[0].buttons[0][0].payload))
    client_side.outputs.clear()  # from here on, the client's replica cannot send
    for text in TEST:
        await client_side.handle(said("2", "Alice", text))
    await client_side.drain()
    assert not any(to == "1" and r.kind == "report" for to, r in client_out.sent)
    sent = await coach_side.delivery.sweep("other-replica", created_before=datetime.now(UTC))
    assert sent >= 1
    copies = [r for to, r in coach_out.sent if to == "1" and r.kind == "report"]
    assert len(copies) == 1 and copies[0].image.startswith(b"\x89PNG")
    assert "Alice finished a self-test" in copies[0].text
