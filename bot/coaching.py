"""Coach mode: invite links, consent, /clients, /coaches and coach-to-client messages.

A coach is any user who typed /coach; a client is linked to a coach only by pressing
Share on the coach's invitation, and the link row is the whole of the coach's access.
Every button carries at most a link id or an invite code, and every press is checked
against the store and the user who pressed it: a link that is not the presser's (forged,
or stopped meanwhile) shows nothing. Coach and client may be served by different
replicas, so everything is read from the store when it is needed, and messages for the
other side are queued in an :class:`Notices` that the conversation service sends through
the recipient's own channel once the step has committed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.engine import Engine, Incoming, Reply
from bot.engine.core import start_test_button
from bot.engine.messages import Button
from bot.payloads import (
    INVITE_CODE,
    ClientAction,
    ClientFaq,
    Consent,
    NewInvite,
    ReportRequest,
    StopSharing,
    encode,
)
from bot.report import build_report, change_summary, findings_summary, render_pdf, render_png
from bot.report.content import ReportContent
from bot.storage.base import Coach, CoachLink, Store, StoredResult, UserKey, UserSession
from knowledge.texts import CoachText, load_coach_text

log = logging.getLogger(__name__)

START_PREFIX = "coach_"
_CODE = re.compile(INVITE_CODE)
MAX_NAME = 40


def new_code() -> str:
    """An unguessable invite code (144 random bits) in Telegram's start-parameter alphabet."""
    return secrets.token_urlsafe(18)  # 24 characters of A-Z a-z 0-9 _ -


@dataclass(frozen=True)
class Push:
    """Replies for another user (``to``, reached at ``address``), stored in the outbox
    with this step's commit and sent from there. A coach's copy of a report is a reply
    with ``report_link``, drawn when it is sent (:meth:`Coaching.prepare`)."""

    to: UserKey
    address: str
    replies: tuple[Reply, ...] = ()


@dataclass
class Notices:
    """What a step has to say to users other than the one it serves."""

    pushes: list[Push] = field(default_factory=list)


def _clean_name(raw: str | None) -> str:
    """A display name as text: control characters dropped, spaces squeezed, 40 at most."""
    text = "".join(ch for ch in (raw or "") if ch.isprintable())
    return " ".join(text.split())[:MAX_NAME]


class Coaching:
    """The coach-mode commands and buttons, over the store's :class:`CoachRegistry`."""

    def __init__(self, engine: Engine, store: Store, words: CoachText | None = None) -> None:
        self.engine = engine
        self.registry = store.coaching
        self.knowledge = engine.qa.knowledge
        texts = words or load_coach_text()
        self.words, self.report_words = texts.coach, texts.report

    # -- invites ---------------------------------------------------------------------------

    def _invite_reply(self, coach: Coach, incoming: Incoming) -> Reply:
        words = self.words
        start = f"{START_PREFIX}{coach.code}"
        if incoming.start_link:
            text = words.invite.format(
                name=coach.name, link=incoming.start_link.format(start=start)
            )
        else:
            text = words.invite_code_only.format(name=coach.name, code=coach.code)
        button = Button(words.new_link_button, payload=encode(NewInvite()))
        return Reply(text, buttons=((button,),), kind="coach_invite")

    async def coach_command(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        """/coach: become a coach (or see the link again); /coach name NAME renames."""
        registry = self.registry
        command = self.engine.commands.parse(incoming.text)
        argument = command.argument if command else ""
        current = await registry.coach(incoming.key)
        keyword, _, rest = argument.partition(" ")
        if keyword.lower() == "name":
            name = _clean_name(rest)
            if not name:
                return [Reply(self.words.name_invalid)]
            code = current.code if current else new_code()
            await registry.save_coach(incoming.key, name=name, code=code, address=incoming.address)
            return [Reply(self.words.renamed.format(name=name))]
        if current is None:
            name = _clean_name(incoming.first_name) or self.words.default_coach_name
            current = await registry.save_coach(
                incoming.key, name=name, code=new_code(), address=incoming.address
            )
        elif incoming.address and incoming.address != current.address:
            current = await registry.save_coach(
                incoming.key, name=current.name, code=current.code, address=incoming.address
            )
        return [self._invite_reply(current, incoming)]

    async def new_invite(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        """ "Make a new link": a fresh code replaces the old, which stops working at once."""
        registry = self.registry
        current = await registry.coach(incoming.key)
        if current is None:
            return [Reply(self.words.not_a_coach)]
        coach = await registry.save_coach(
            incoming.key, name=current.name, code=new_code(), address=incoming.address
        )
        reply = self._invite_reply(coach, incoming)
        text = f"{self.words.new_link_made}\n\n{reply.text}"
        return [Reply(text, buttons=reply.buttons, kind=reply.kind, edit=True)]

    # -- consent ----------------------------------------------------------------------------

    async def _coach_of(self, session: UserSession, code: str | None) -> Coach | None:
        if code is None or not _CODE.fullmatch(code):
            return None
        return await self.registry.coach_by_code(code)

    async def invitation(self, session: UserSession, incoming: Incoming, code: str) -> list[Reply]:
        """/start coach_CODE: who the coach is and exactly what Share would share."""
        coach = await self._coach_of(session, code)
        if coach is None:
            return [Reply(self.words.link_invalid, kind="coach_invalid")]
        if coach.key == incoming.key:
            return [Reply(self.words.own_link)]
        links = await self.registry.links_of_client(incoming.key)
        if any(link.coach == coach.key for link in links):
            return [Reply(self.words.already_shared.format(coach=coach.name))]
        buttons = (
            (
                Button(
                    self.words.share_button.format(coach=coach.name),
                    payload=encode(Consent(coach.code)),
                ),
                Button(self.words.decline_button, payload=encode(Consent(None))),
            ),
        )
        text = self.words.consent.format(coach=coach.name)
        return [Reply(text, buttons=buttons, kind="coach_consent")]

    async def consent(
        self, session: UserSession, incoming: Incoming, payload: Consent, notices: Notices
    ) -> list[Reply]:
        """Share (the code is checked again: a link replaced meanwhile shares nothing) or
        decline (nothing is written)."""
        if payload.code is None:
            return [Reply(self.words.declined, edit=True)]
        coach = await self._coach_of(session, payload.code)
        if coach is None:
            return [Reply(self.words.link_invalid, edit=True, kind="coach_invalid")]
        if coach.key == incoming.key:
            return [Reply(self.words.own_link, edit=True)]
        name = _clean_name(incoming.first_name) or self.words.default_client_name
        await self.registry.add_link(coach.key, incoming.key, name, incoming.address)
        if coach.address:
            told = Reply(self.words.new_client.format(client=name), kind="coach_new_client")
            notices.pushes.append(Push(coach.key, coach.address, (told,)))
        return [Reply(self.words.shared.format(coach=coach.name), edit=True, kind="coach_shared")]

    # -- the coach's side ---------------------------------------------------------------------

    async def _my_link(self, session: UserSession, incoming: Incoming, link_id: int) -> CoachLink:
        """The link ``link_id`` if the presser is its coach; else :class:`NoAccess`."""
        link = await self.registry.get_link(link_id)
        if link is None or link.coach != incoming.key:
            raise NoAccess
        return link

    async def clients(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        """/clients: each consenting client with their last test, findings and change."""
        registry = self.registry
        coach = await registry.coach(incoming.key)
        if coach is None:
            return [Reply(self.words.not_a_coach)]
        if incoming.address and incoming.address != coach.address:
            await registry.save_coach(
                incoming.key, name=coach.name, code=coach.code, address=incoming.address
            )
        links = await registry.links_of_coach(incoming.key)
        if not links:
            return [Reply(self.words.clients_none)]
        lines = [self.words.clients_heading.format(count=len(links))]
        rows: list[tuple[Button, ...]] = []
        histories = await asyncio.gather(*(registry.results_of(link.client) for link in links))
        for n, (link, results) in enumerate(zip(links, histories, strict=True), 1):
            lines.append("\n" + self._client_summary(n, link, results))
            name = link.client_name
            report = self.words.report_button.format(name=name)[:60]
            retest = self.words.retest_button.format(name=name)[:60]
            faqs = self.words.faqs_button.format(name=name)[:60]
            rows.append((Button(report, payload=encode(ClientAction("report", link.id))),))
            rows.append(
                (
                    Button(retest, payload=encode(ClientAction("retest", link.id))),
                    Button(faqs, payload=encode(ClientAction("faqs", link.id))),
                )
            )
        return [Reply("\n".join(lines), buttons=tuple(rows), kind="coach_clients")]

    def _client_summary(self, n: int, link: CoachLink, results: list[StoredResult]) -> str:
        words = self.words
        if not results:
            return words.client_line.format(n=n, name=link.client_name, last=words.no_test_yet)
        latest = results[-1]
        head = words.client_line.format(
            n=n, name=link.client_name, last=words.last_test.format(date=_date(latest.taken_at))
        )
        found = findings_summary(latest.result, self.knowledge, words.findings_none)
        lines = [head, "   " + words.findings_line.format(names=found)]
        if len(results) < 2:
            lines.append("   " + words.change_first)
        else:
            before = results[-2]
            changes = change_summary(latest.input, before.input, self.report_words)
            lines.append(
                "   "
                + words.change_line.format(
                    date=_date(before.taken_at), changes=changes or words.change_none
                )
            )
        return "\n".join(lines)

    async def client_action(
        self, session: UserSession, incoming: Incoming, payload: ClientAction, notices: Notices
    ) -> list[Reply]:
        """A /clients button: the client's report, a re-test nudge, or the FAQ to send."""
        try:
            link = await self._my_link(session, incoming, payload.link)
        except NoAccess:
            return [self.no_access()]
        if payload.action == "report":
            return await self.client_report(session, link, pdf=False)
        coach = await self.registry.coach(incoming.key)
        if coach is None:
            return [self.no_access()]
        if payload.action == "retest":
            text = self.words.retest_to_client.format(coach=coach.name)
            message = Reply(text, buttons=((start_test_button(self.engine.phrases),),))
            done = self.words.retest_sent.format(client=link.client_name)
            return [self._send_to(link, (message,), notices, done)]
        rows = tuple(
            (Button(entry.question[:60], payload=encode(ClientFaq(link.id, entry.id))),)
            for entry in self.knowledge.faq
        )
        return [Reply(self.words.faq_choose.format(client=link.client_name), buttons=rows)]

    async def client_faq(
        self, session: UserSession, incoming: Incoming, payload: ClientFaq, notices: Notices
    ) -> list[Reply]:
        """Send an FAQ answer card to the client, from the bot, with the coach's name."""
        try:
            link = await self._my_link(session, incoming, payload.link)
        except NoAccess:
            return [self.no_access()]
        coach = await self.registry.coach(incoming.key)
        entry = self.knowledge.faq_entry(payload.faq_id)
        if coach is None or entry is None:
            return [self.no_access()]
        card = self.engine.faq_card(payload.faq_id)
        if card is None:
            return [self.no_access()]
        heading = self.words.faq_to_client.format(coach=coach.name)
        message = Reply(
            f"{heading}\n\n{card.text}", sections=card.sections, buttons=card.buttons, kind="faq"
        )
        done = self.words.faq_sent.format(client=link.client_name, question=entry.question)
        return [self._send_to(link, (message,), notices, done)]

    def _send_to(
        self, link: CoachLink, replies: tuple[Reply, ...], notices: Notices, done: str
    ) -> Reply:
        if link.client_address is None:
            return Reply(self.words.not_reached.format(client=link.client_name))
        notices.pushes.append(Push(link.client, link.client_address, replies))
        return Reply(done, kind="coach_sent")

    # -- the client's side -----------------------------------------------------------------

    async def coaches(self, session: UserSession, incoming: Incoming) -> list[Reply]:
        """/coaches: who the user shares with, each with a "Stop sharing" button."""
        registry = self.registry
        links = await registry.links_of_client(incoming.key)
        if not links:
            return [Reply(self.words.coaches_none)]
        coaches = await asyncio.gather(*(registry.coach(link.coach) for link in links))
        lines = [self.words.coaches_heading]
        rows = []
        for link, coach in zip(links, coaches, strict=True):
            name = coach.name if coach else self.words.default_coach_name
            lines.append(self.words.coaches_line.format(coach=name, date=_date(link.since)))
            label = self.words.stop_button.format(coach=name)[:60]
            rows.append((Button(label, payload=encode(StopSharing(link.id))),))
        return [Reply("\n".join(lines), buttons=tuple(rows), kind="coach_list")]

    async def stop_sharing(
        self, session: UserSession, incoming: Incoming, payload: StopSharing
    ) -> list[Reply]:
        """Remove the link if it is the presser's own; the coach's access ends now."""
        registry = self.registry
        link = await registry.get_link(payload.link)
        if link is None or link.client != incoming.key:
            return [Reply(self.words.stop_unknown, edit=True)]
        coach = await registry.coach(link.coach)
        await registry.remove_link(link.id)
        name = coach.name if coach else self.words.default_coach_name
        return [Reply(self.words.stopped.format(coach=name), edit=True, kind="coach_stopped")]

    async def test_completed(
        self,
        session: UserSession,
        incoming: Incoming,
        results: list[StoredResult],
        notices: Notices,
    ) -> None:
        """Tell each coach the user shares with: a short line and the report."""
        links = await self.registry.links_of_client(incoming.key)
        for link in links:
            coach = await self.registry.coach(link.coach)
            if coach is None or coach.address is None:
                continue
            found = findings_summary(results[-1].result, self.knowledge, self.words.findings_none)
            caption = self.words.test_done.format(client=link.client_name, findings=found)
            pdf = Button(self.report_words.pdf_button, payload=encode(ReportRequest(True, link.id)))
            copy = Reply(caption, buttons=((pdf,),), kind="report", report_link=link.id)
            notices.pushes.append(Push(coach.key, coach.address, (copy,)))

    async def prepare(self, reply: Reply) -> Reply | None:
        """A coach's report copy as it is sent: drawn from the client's stored results
        (the step that finished the test has committed them); None once the client has
        stopped sharing."""
        if reply.report_link is None:
            return reply
        link = await self.registry.get_link(reply.report_link)
        if link is None:
            return None
        results = await self.registry.results_of(link.client)
        content = build_report(results, link.client_name, self.knowledge)
        if content is None:
            return None
        image = await asyncio.to_thread(render_png, content, self.report_words)
        return replace(reply, image=image, report_link=None)

    # -- reports ---------------------------------------------------------------------------

    async def own_report(
        self, session: UserSession, incoming: Incoming, *, pdf: bool
    ) -> list[Reply]:
        """/report and its buttons: the user's latest self-test as an image or a PDF."""
        results = await session.results()
        name = _clean_name(incoming.first_name)
        content = build_report(results, name, self.knowledge)
        if content is None:
            return [
                Reply(
                    self.report_words.nothing_yet,
                    buttons=((start_test_button(self.engine.phrases),),),
                    kind="report_empty",
                )
            ]
        caption = self.report_words.caption.format(date=_date(content.taken_at))
        return [await self.report_reply(content, caption, ReportRequest(True), pdf=pdf)]

    async def client_report(
        self, session: UserSession, link: CoachLink, *, pdf: bool
    ) -> list[Reply]:
        results = await self.registry.results_of(link.client)
        content = build_report(results, link.client_name, self.knowledge)
        if content is None:
            text = self.report_words.client_nothing_yet.format(client=link.client_name)
            return [Reply(text, kind="report_empty")]
        caption = self.report_words.client_caption.format(
            client=link.client_name, date=_date(content.taken_at)
        )
        return [await self.report_reply(content, caption, ReportRequest(True, link.id), pdf=pdf)]

    async def report_request(
        self, session: UserSession, incoming: Incoming, payload: ReportRequest
    ) -> list[Reply]:
        if payload.link is None:
            return await self.own_report(session, incoming, pdf=payload.pdf)
        try:
            link = await self._my_link(session, incoming, payload.link)
        except NoAccess:
            return [self.no_access()]
        return await self.client_report(session, link, pdf=payload.pdf)

    async def report_reply(
        self, content: ReportContent, caption: str, pdf_request: ReportRequest, *, pdf: bool
    ) -> Reply:
        """The report rendered off the event loop: an image with a "PDF" button, or the PDF."""
        words = self.report_words
        if pdf:
            data = await asyncio.to_thread(render_pdf, content, words)
            filename = f"calfcoach-report-{content.taken_at:%Y-%m-%d}.pdf"
            return Reply(
                f"{caption} {words.pdf_caption}",
                document=data,
                filename=filename,
                kind="report_pdf",
            )
        image = await asyncio.to_thread(render_png, content, words)
        button = Button(words.pdf_button, payload=encode(pdf_request))
        return Reply(caption, image=image, buttons=((button,),), kind="report")

    def no_access(self) -> Reply:
        """What a forged or stale coach button shows: nothing about anyone."""
        return Reply(self.words.no_access, kind="coach_no_access")


class NoAccess(Exception):
    """The presser has no access to what the button names."""


def _date(value: datetime) -> str:
    return f"{value:%d %b %Y}"
