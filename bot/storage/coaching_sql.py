"""Coaches and their consenting clients in SQL (SQLite and PostgreSQL alike).

Each method is one short transaction through the store's runner (bounded by its
timeout). A coach and a client can be served by different replicas, so nothing here is
cached: /clients, a report button and a notification all read the rows as they are now,
and a "Stop sharing" is in force for every replica the moment its transaction commits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.storage.base import Coach, CoachLink, CoachRegistry, Conflict, StoredResult, UserKey
from bot.storage.schema import assessments, coach_links, coaches, stored_result
from bot.storage.schema import utc as _utc

if TYPE_CHECKING:
    from bot.storage.sql import SqlStore


def _coach(row: Any) -> Coach:
    return Coach(row.channel, row.user_id, row.display_name, row.invite_code, row.address)


def _link(row: Any) -> CoachLink:
    return CoachLink(
        row.id,
        (row.coach_channel, row.coach_user_id),
        (row.client_channel, row.client_user_id),
        row.client_name,
        row.client_address,
        _utc(row.created_at),
    )


def _is_coach(key: UserKey) -> sa.ColumnElement[bool]:
    return sa.and_(coaches.c.channel == key[0], coaches.c.user_id == key[1])


def _coach_side(key: UserKey) -> sa.ColumnElement[bool]:
    return sa.and_(coach_links.c.coach_channel == key[0], coach_links.c.coach_user_id == key[1])


def _client_side(key: UserKey) -> sa.ColumnElement[bool]:
    return sa.and_(coach_links.c.client_channel == key[0], coach_links.c.client_user_id == key[1])


def forget(conn: sa.Connection, key: UserKey) -> None:
    """/delete_my_data, inside the user's deletion transaction: their coach row and every
    link where they are the coach or the client."""
    conn.execute(coaches.delete().where(_is_coach(key)))
    conn.execute(coach_links.delete().where(sa.or_(_coach_side(key), _client_side(key))))


class SqlCoaching(CoachRegistry):
    """The :class:`CoachRegistry` of a :class:`~bot.storage.sql.SqlStore`."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    async def coach(self, key: UserKey) -> Coach | None:
        def load(conn: sa.Connection) -> Coach | None:
            row = conn.execute(sa.select(coaches).where(_is_coach(key))).first()
            return _coach(row) if row else None

        return await self._store.read(load)

    async def save_coach(self, key: UserKey, *, name: str, code: str, address: str | None) -> Coach:
        values = {"display_name": name[:64], "invite_code": code, "address": address}

        def save(conn: sa.Connection) -> Coach:
            updated = conn.execute(coaches.update().where(_is_coach(key)).values(**values))
            if updated.rowcount == 0:
                conn.execute(
                    coaches.insert().values(
                        channel=key[0], user_id=key[1], created_at=datetime.now(UTC), **values
                    )
                )
            return Coach(key[0], key[1], values["display_name"], code, address)

        try:
            return await self._store.write(save)
        except IntegrityError as exc:  # another replica created this coach meanwhile
            raise Conflict(f"coach {key[1]} was created meanwhile") from exc

    async def coach_by_code(self, code: str) -> Coach | None:
        def load(conn: sa.Connection) -> Coach | None:
            row = conn.execute(sa.select(coaches).where(coaches.c.invite_code == code)).first()
            return _coach(row) if row else None

        return await self._store.read(load)

    async def add_link(
        self, coach: UserKey, client: UserKey, client_name: str, client_address: str | None
    ) -> CoachLink:
        values = {"client_name": client_name[:64], "client_address": client_address}
        pair = sa.and_(_coach_side(coach), _client_side(client))

        def add(conn: sa.Connection) -> CoachLink:
            if conn.execute(coach_links.update().where(pair).values(**values)).rowcount == 0:
                conn.execute(
                    coach_links.insert().values(
                        coach_channel=coach[0],
                        coach_user_id=coach[1],
                        client_channel=client[0],
                        client_user_id=client[1],
                        created_at=datetime.now(UTC),
                        **values,
                    )
                )
            return _link(conn.execute(sa.select(coach_links).where(pair)).one())

        try:
            return await self._store.write(add)
        except IntegrityError as exc:
            raise Conflict("coach link was created meanwhile") from exc

    async def _links(self, where: sa.ColumnElement[bool]) -> list[CoachLink]:
        def load(conn: sa.Connection) -> list[CoachLink]:
            rows = conn.execute(sa.select(coach_links).where(where).order_by(coach_links.c.id))
            return [_link(row) for row in rows]

        return await self._store.read(load)

    async def links_of_coach(self, coach: UserKey) -> list[CoachLink]:
        return await self._links(_coach_side(coach))

    async def links_of_client(self, client: UserKey) -> list[CoachLink]:
        return await self._links(_client_side(client))

    async def get_link(self, link_id: int) -> CoachLink | None:
        links = await self._links(coach_links.c.id == link_id)
        return links[0] if links else None

    async def remove_link(self, link_id: int) -> None:
        await self._store.write(
            lambda conn: conn.execute(coach_links.delete().where(coach_links.c.id == link_id))
        )

    async def results_of(self, key: UserKey) -> list[StoredResult]:
        def load(conn: sa.Connection) -> list[StoredResult]:
            rows = conn.execute(
                sa.select(assessments.c.taken_at, assessments.c.input, assessments.c.result)
                .where(assessments.c.channel == key[0], assessments.c.user_id == key[1])
                .order_by(assessments.c.taken_at, assessments.c.id)
            )
            return [stored_result(row) for row in rows]

        return await self._store.read(load)
