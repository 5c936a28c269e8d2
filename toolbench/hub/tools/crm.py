"""DeskPilot CRM: helpdesk tickets, on-site technician visits and sales leads, like an enterprise CRM.

Stateful per API key. Enums, lists and nested bodies throughout (``crm_models.py``); invalid status transitions
get 409.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from toolbench.hub.base import (
    ERROR_RESPONSES,
    ErrorBody,
    HubTool,
    bad_request,
    conflict,
    hub_clock,
    not_found,
    rng,
    tool_state,
)
from toolbench.hub.tools.crm_models import (
    TICKET_ID,
    Comment,
    CommentCreate,
    CompanySize,
    Customer,
    Industry,
    Lead,
    LeadCompany,
    LeadContact,
    LeadCreate,
    LeadList,
    LeadSource,
    Priority,
    Site,
    SiteAddress,
    Skill,
    Stage,
    StageChange,
    Ticket,
    TicketCategory,
    TicketCreate,
    TicketList,
    TicketStatus,
    TicketUpdate,
    Visit,
    VisitCreate,
    VisitList,
    VisitStatus,
)

SLUG = "crm"
router = APIRouter(prefix=f"/{SLUG}", tags=["DeskPilot CRM"], responses=ERROR_RESPONSES)
NOT_FOUND = {404: {"model": ErrorBody, "description": "No such ticket, visit or lead"}}
CONFLICT = {409: {"model": ErrorBody, "description": "The change is not allowed in the current status"}}


_TECHS = {Skill.electrical: ["Ines Vidal", "Marc Olsen"], Skill.network: ["Ravi Shah", "Julia Kent"],
          Skill.hvac: ["Tom Berg"], Skill.plumbing: ["Ana Lopez"], Skill.general: ["Chris Park", "Nina Roy"]}
_OWNERS = ["alice.sales", "bob.sales", "carla.sales"]
_FINAL_TICKET = {TicketStatus.closed}
_FINAL_STAGE = {Stage.won, Stage.lost}


class Crm:
    def __init__(self, seed: int):
        self.seed = seed
        self.tickets: dict[str, Ticket] = {}
        self.visits: dict[str, Visit] = {}
        self.leads: dict[str, Lead] = {}
        self.next_ticket, self.next_visit, self.next_lead, self.next_comment = 1001, 1, 501, 1
        self.tick = 0
        r = rng(seed, SLUG, "seed-data")
        samples = [("VPN drops every hour", TicketCategory.technical, Priority.high),
                   ("Invoice shows wrong VAT number", TicketCategory.billing, Priority.normal),
                   ("Badge reader at entrance broken", TicketCategory.hardware, Priority.urgent)]
        for i, (subject, cat, prio) in enumerate(samples):
            tid = f"TCK-{self.next_ticket}"
            self.next_ticket += 1
            ts = datetime(2025, 1, 10 + i, 9, 0).isoformat()
            self.tickets[tid] = Ticket(id=tid, subject=subject, description=subject + ".", priority=prio, category=cat,
                                       status=[TicketStatus.open, TicketStatus.in_progress, TicketStatus.resolved][i],
                                       customer=Customer(name=r.choice(["Dana Smith", "Lee Wong"]),
                                                         email=f"customer{i + 1}@example.com", company="Globex"),
                                       tags=[cat.value], assignee=None if i == 0 else "support-agent",
                                       created_at=ts, updated_at=ts, comments=[])
        # The visit the documentation's example (VIS-0001) names: booked for the ticket in progress.
        site = Site(address=SiteAddress(street="1 Industrial Way", city="Lyon", postal_code="69007", country_code="FR"),
                    contact_name="Dana Smith", contact_phone="+33 4 55 50 10 10", access_notes="Badge at reception")
        self.visits["VIS-0001"] = Visit(id="VIS-0001", ticket_id="TCK-1002", technician="Chris Park",
                                        skill=Skill.general, date="2025-01-17", start_time="09:00", end_time="11:00",
                                        status=VisitStatus.scheduled, site=site)
        self.next_visit = 2
        # The lead the documentation's example (LEAD-501) names, early in the pipeline.
        self.leads["LEAD-501"] = Lead(
            id="LEAD-501", company=LeadCompany(name="Globex", industry=Industry.manufacturing, size=CompanySize.s51_200),
            contact=LeadContact(name="Hank Scorpio", email="hank@globex.example", title="COO"), estimated_value=48000.0,
            currency="USD", stage=Stage.qualified, source=LeadSource.referral, products_of_interest=["support plan"],
            notes="", owner="alice.sales", created_at=datetime(2025, 1, 13, 10, 0).isoformat(),
            history=["new", "qualified"])
        self.next_lead = 502

    def ticket(self, tid: str) -> Ticket:
        if tid not in self.tickets:
            raise not_found("ticket", tid, "list tickets with /crm/tickets")
        return self.tickets[tid]

    def lead(self, lid: str) -> Lead:
        if lid not in self.leads:
            raise not_found("lead", lid, "list leads with /crm/leads")
        return self.leads[lid]


State = Annotated[Crm, Depends(tool_state(SLUG))]
Clock = Annotated[datetime, Depends(hub_clock)]
TicketP = Annotated[str, Path(description="Ticket id", pattern=TICKET_ID, examples=["TCK-1001"])]
LeadP = Annotated[str, Path(description="Lead id", examples=["LEAD-501"])]


def _stamp(state: Crm, clock: datetime) -> str:
    """The sandbox clock plus one minute per change made with this key: ordered, repeatable timestamps."""
    state.tick += 1
    return (clock.replace(tzinfo=None) + timedelta(minutes=state.tick)).isoformat()


@router.post("/tickets", operation_id="create_ticket", summary="Create ticket", status_code=201,
             description="Open a support ticket for a customer with priority, category and tags.")
async def create_ticket(state: State, clock: Clock, body: TicketCreate) -> Ticket:
    tid = f"TCK-{state.next_ticket}"
    state.next_ticket += 1
    ts = _stamp(state, clock)
    ticket = Ticket(id=tid, status=TicketStatus.open, assignee=None, created_at=ts, updated_at=ts, comments=[],
                    **body.model_dump(exclude={"customer"}), customer=body.customer)
    state.tickets[tid] = ticket
    return ticket


@router.get("/tickets", operation_id="list_tickets", summary="List tickets",
            description="Tickets filtered by status, priority, customer email or tag; newest first.")
async def list_tickets(state: State,
                       status: Annotated[TicketStatus | None, Query(description="Ticket status")] = None,
                       priority: Annotated[Priority | None, Query(description="Ticket priority")] = None,
                       customer_email: Annotated[str | None, Query(description="Customer email")] = None,
                       tag: Annotated[str | None, Query(description="Has this tag")] = None,
                       limit: Annotated[int, Query(ge=1, le=100)] = 20) -> TicketList:
    found = [t for t in state.tickets.values() if (status is None or t.status == status)
             and (priority is None or t.priority == priority)
             and (customer_email is None or t.customer.email.lower() == customer_email.lower())
             and (tag is None or tag in t.tags)]
    found.sort(key=lambda t: t.id, reverse=True)
    return TicketList(count=len(found[:limit]), tickets=found[:limit])


@router.get("/tickets/{ticket_id}", operation_id="get_ticket", summary="Get ticket",
            description="A ticket with its comments.", responses=NOT_FOUND)
async def get_ticket(state: State, ticket_id: TicketP) -> Ticket:
    return state.ticket(ticket_id)


@router.patch("/tickets/{ticket_id}", operation_id="update_ticket", summary="Update ticket",
              description="Change a ticket's status, priority, assignee or tags. Closed tickets cannot change.",
              responses={**NOT_FOUND, **CONFLICT})
async def update_ticket(state: State, clock: Clock, ticket_id: TicketP, body: TicketUpdate) -> Ticket:
    ticket = state.ticket(ticket_id)
    if ticket.status in _FINAL_TICKET:
        raise conflict(f"ticket {ticket_id} is closed; open a new ticket instead")
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise bad_request("nothing to update; send at least one of status, priority, assignee, tags")
    for key, value in changes.items():
        setattr(ticket, key, value)
    ticket.updated_at = _stamp(state, clock)
    return ticket


@router.post("/tickets/{ticket_id}/comments", operation_id="add_ticket_comment", summary="Add ticket comment",
             status_code=201, description="Add a public or internal comment to a ticket.",
             responses={**NOT_FOUND, **CONFLICT})
async def add_comment(state: State, clock: Clock, ticket_id: TicketP, body: CommentCreate) -> Comment:
    ticket = state.ticket(ticket_id)
    if ticket.status in _FINAL_TICKET:
        raise conflict(f"ticket {ticket_id} is closed; comments are no longer accepted")
    comment = Comment(id=state.next_comment, author=body.author, body=body.body, internal=body.internal,
                      created_at=_stamp(state, clock))
    state.next_comment += 1
    ticket.comments.append(comment)
    return comment


@router.post("/visits", operation_id="schedule_visit", summary="Schedule on-site visit", status_code=201,
             description="Book a technician with the needed skill for the first preferred slot in which one is "
                         "free. 409 when no preferred slot is free.",
             responses={**NOT_FOUND, **CONFLICT, 400: {"model": ErrorBody, "description": "Slot in the past"}})
async def schedule_visit(state: State, clock: Clock, body: VisitCreate) -> Visit:
    ticket = state.ticket(body.ticket_id)
    if ticket.status in (TicketStatus.resolved, TicketStatus.closed):
        raise conflict(f"ticket {ticket.id} is {ticket.status.value}; reopen it before scheduling a visit")
    today = clock.date()
    for slot in body.preferred_slots:
        if slot.date < today:
            raise bad_request(f"slot on {slot.date.isoformat()} is in the past")
        if (slot.date - today).days > 365:
            raise bad_request(f"slot on {slot.date.isoformat()} is more than a year ahead; visits are booked "
                              "up to 365 days in advance")
        if slot.date.weekday() >= 5:
            continue  # technicians work Monday to Friday
        start = datetime.combine(slot.date, slot.start_time)
        end = start + timedelta(hours=body.duration_hours)
        if end.time() > slot.end_time and end.date() == slot.date or end.date() != slot.date:
            continue
        for tech in _TECHS[body.skill]:
            busy = [v for v in state.visits.values() if v.technician == tech and v.status == VisitStatus.scheduled
                    and v.date == slot.date.isoformat()]
            clash = any(datetime.combine(slot.date, time.fromisoformat(v.start_time)) < end
                        and start < datetime.combine(slot.date, time.fromisoformat(v.end_time)) for v in busy)
            if not clash and rng(state.seed, SLUG, tech, slot.date.isoformat()).random() > 0.2:
                vid = f"VIS-{state.next_visit:04d}"
                state.next_visit += 1
                visit = Visit(id=vid, ticket_id=ticket.id, technician=tech, skill=body.skill,
                              date=slot.date.isoformat(), start_time=start.time().strftime("%H:%M"),
                              end_time=end.time().strftime("%H:%M"), status=VisitStatus.scheduled, site=body.site)
                state.visits[vid] = visit
                ticket.status = TicketStatus.in_progress
                return visit
    raise conflict("no technician with skill " + body.skill.value + " is free in any preferred slot "
                   "(weekdays only); offer other slots")


@router.get("/visits", operation_id="list_visits", summary="List visits",
            description="Scheduled and past on-site visits, optionally for one ticket, status or date.")
async def list_visits(state: State,
                      ticket_id: Annotated[str | None, Query(description="Only visits for this ticket",
                                                             pattern=TICKET_ID)] = None,
                      status: Annotated[VisitStatus | None, Query()] = None,
                      date_: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD")] = None,
                      ) -> VisitList:
    found = [v for v in state.visits.values() if (ticket_id is None or v.ticket_id == ticket_id)
             and (status is None or v.status == status) and (date_ is None or v.date == date_.isoformat())]
    return VisitList(count=len(found), visits=found)


@router.post("/visits/{visit_id}/cancel", operation_id="cancel_visit", summary="Cancel visit",
             description="Cancel a scheduled visit.", responses={**NOT_FOUND, **CONFLICT})
async def cancel_visit(state: State, visit_id: Annotated[str, Path(examples=["VIS-0001"])]) -> Visit:
    if visit_id not in state.visits:
        raise not_found("visit", visit_id, "list visits with /crm/visits")
    visit = state.visits[visit_id]
    if visit.status != VisitStatus.scheduled:
        raise conflict(f"visit {visit_id} is {visit.status.value}")
    visit.status = VisitStatus.cancelled
    return visit


@router.post("/leads", operation_id="create_lead", summary="Create lead", status_code=201,
             description="Record a sales lead: company, contact, estimated value, stage and source.")
async def create_lead(state: State, clock: Clock, body: LeadCreate) -> Lead:
    lid = f"LEAD-{state.next_lead}"
    state.next_lead += 1
    owner = _OWNERS[rng(state.seed, SLUG, "owner", body.company.name).randrange(len(_OWNERS))]
    lead = Lead(id=lid, owner=owner, created_at=_stamp(state, clock), history=[body.stage.value],
                **body.model_dump(exclude={"company", "contact"}), company=body.company, contact=body.contact)
    state.leads[lid] = lead
    return lead


@router.get("/leads", operation_id="list_leads", summary="List leads",
            description="Leads filtered by stage, source, minimum value or owner, with their total value.")
async def list_leads(state: State, stage: Annotated[Stage | None, Query()] = None,
                     source: Annotated[LeadSource | None, Query()] = None,
                     min_value: Annotated[float | None, Query(ge=0, description="Smallest estimated value")] = None,
                     owner: Annotated[str | None, Query(description="Sales owner")] = None) -> LeadList:
    found = [ld for ld in state.leads.values() if (stage is None or ld.stage == stage)
             and (source is None or ld.source == source)
             and (min_value is None or ld.estimated_value >= min_value) and (owner is None or ld.owner == owner)]
    return LeadList(count=len(found), total_value=round(sum(ld.estimated_value for ld in found), 2), leads=found)


@router.get("/leads/{lead_id}", operation_id="get_lead", summary="Get lead", description="One lead.",
            responses=NOT_FOUND)
async def get_lead(state: State, lead_id: LeadP) -> Lead:
    return state.lead(lead_id)


@router.post("/leads/{lead_id}/stage", operation_id="update_lead_stage", summary="Update lead stage",
             description="Move a lead to another pipeline stage. Won and lost leads are final.",
             responses={**NOT_FOUND, **CONFLICT})
async def update_stage(state: State, lead_id: LeadP, body: StageChange) -> Lead:
    lead = state.lead(lead_id)
    if lead.stage in _FINAL_STAGE:
        raise conflict(f"lead {lead_id} is {lead.stage.value}; create a new lead for a new opportunity")
    lead.stage = body.stage
    lead.history.append(body.stage.value + (f": {body.note}" if body.note else ""))
    return lead


TOOL = HubTool(slug=SLUG, name="DeskPilot CRM", category="Business_Software",
               description="Helpdesk and CRM: support tickets with comments, on-site technician visits scheduled "
                           "against availability, and a sales lead pipeline.",
               router=router, make_state=Crm, stateful=True)
