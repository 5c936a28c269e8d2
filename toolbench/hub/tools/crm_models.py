"""DeskPilot CRM's request and response bodies (:mod:`toolbench.hub.tools.crm`): tickets, on-site visits, sales
leads, their enums and nested objects. Their names are the schema names of the hub's OpenAPI document."""

from __future__ import annotations

from datetime import date as Date
from datetime import time as Time
from enum import Enum

from pydantic import BaseModel, Field, model_validator

# Ticket ids as the hub issues them. Validated (422) wherever a ticket id is an argument, and published with
# that pattern in the OpenAPI document, so what is documented is what is enforced.
TICKET_ID = r"^TCK-\d{4,}$"


class Priority(str, Enum):
    low = "low"
    normal = "normal"
    high = "high"
    urgent = "urgent"


class TicketCategory(str, Enum):
    billing = "billing"
    technical = "technical"
    account = "account"
    hardware = "hardware"
    other = "other"


class TicketStatus(str, Enum):
    open = "open"
    in_progress = "in_progress"
    waiting_on_customer = "waiting_on_customer"
    resolved = "resolved"
    closed = "closed"


class Skill(str, Enum):
    electrical = "electrical"
    network = "network"
    hvac = "hvac"
    plumbing = "plumbing"
    general = "general"


class Stage(str, Enum):
    new = "new"
    qualified = "qualified"
    proposal = "proposal"
    negotiation = "negotiation"
    won = "won"
    lost = "lost"


class LeadSource(str, Enum):
    web = "web"
    referral = "referral"
    event = "event"
    cold_call = "cold_call"
    partner = "partner"


class Industry(str, Enum):
    retail = "retail"
    manufacturing = "manufacturing"
    healthcare = "healthcare"
    finance = "finance"
    software = "software"
    education = "education"


class CompanySize(str, Enum):
    s1_10 = "1-10"
    s11_50 = "11-50"
    s51_200 = "51-200"
    s201_1000 = "201-1000"
    s1000_plus = "1000+"


class Customer(BaseModel):
    name: str = Field(min_length=1, examples=["Dana Smith"])
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["dana@example.com"])
    company: str | None = None
    phone: str | None = None


class TicketCreate(BaseModel):
    subject: str = Field(min_length=3, max_length=200, examples=["Printer on floor 3 is offline"])
    description: str = Field(min_length=1, max_length=5000)
    priority: Priority = Priority.normal
    category: TicketCategory = TicketCategory.other
    customer: Customer
    tags: list[str] = Field(default_factory=list, max_length=10, description="Free-form labels")


class Comment(BaseModel):
    id: int
    author: str
    body: str
    internal: bool
    created_at: str


class Ticket(BaseModel):
    id: str
    subject: str
    description: str
    priority: Priority
    category: TicketCategory
    status: TicketStatus
    customer: Customer
    tags: list[str]
    assignee: str | None
    created_at: str
    updated_at: str
    comments: list[Comment]


class TicketList(BaseModel):
    count: int
    tickets: list[Ticket]


class TicketUpdate(BaseModel):
    status: TicketStatus | None = None
    priority: Priority | None = None
    assignee: str | None = Field(None, description="Agent name")
    tags: list[str] | None = Field(None, description="Replaces the tags")


class CommentCreate(BaseModel):
    author: str = Field(min_length=1, examples=["support-agent"])
    body: str = Field(min_length=1, max_length=5000)
    internal: bool = Field(False, description="Hidden from the customer")


class SiteAddress(BaseModel):
    street: str
    city: str
    postal_code: str
    country_code: str = Field(min_length=2, max_length=2)


class Site(BaseModel):
    address: SiteAddress
    contact_name: str
    contact_phone: str
    access_notes: str | None = Field(None, description="Badge, floor, parking...")


class Slot(BaseModel):
    date: Date = Field(description="YYYY-MM-DD")
    start_time: Time = Field(description="HH:MM, local time")
    end_time: Time = Field(description="HH:MM, local time")

    @model_validator(mode="after")
    def ordered(self) -> Slot:
        # Local times of the site: an offset ("09:00Z", allowed by format "time") is dropped, never compared
        # with a naive time (that raised TypeError: HTTP 500).
        self.start_time, self.end_time = self.start_time.replace(tzinfo=None), self.end_time.replace(tzinfo=None)
        if self.end_time <= self.start_time:
            raise ValueError("end_time must be after start_time")
        return self


class VisitCreate(BaseModel):
    ticket_id: str = Field(pattern=TICKET_ID, description="Ticket id", examples=["TCK-1001"])
    site: Site
    preferred_slots: list[Slot] = Field(min_length=1, max_length=5, description="In order of preference")
    skill: Skill = Field(description="What the technician must know")
    duration_hours: float = Field(2.0, gt=0, le=8)

    model_config = {"json_schema_extra": {"examples": [{
        "ticket_id": "TCK-1001", "skill": "network", "duration_hours": 2,
        "site": {"address": {"street": "5 Harbour St", "city": "Sydney", "postal_code": "2000",
                             "country_code": "AU"}, "contact_name": "Sam Lee", "contact_phone": "+61 2 5550 1234"},
        "preferred_slots": [{"date": "2025-01-20", "start_time": "09:00", "end_time": "12:00"}]}]}}


class VisitStatus(str, Enum):
    scheduled = "scheduled"
    completed = "completed"
    cancelled = "cancelled"


class Visit(BaseModel):
    id: str
    ticket_id: str
    technician: str
    skill: Skill
    date: str
    start_time: str
    end_time: str
    status: VisitStatus
    site: Site


class VisitList(BaseModel):
    count: int
    visits: list[Visit]


class LeadCompany(BaseModel):
    name: str = Field(min_length=1, examples=["Globex"])
    industry: Industry
    size: CompanySize
    website: str | None = None


class LeadContact(BaseModel):
    name: str = Field(min_length=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    title: str | None = None
    phone: str | None = None


class LeadCreate(BaseModel):
    company: LeadCompany
    contact: LeadContact
    estimated_value: float = Field(ge=0, description="Expected deal size")
    currency: str = Field("USD", min_length=3, max_length=3)
    stage: Stage = Stage.new
    source: LeadSource
    products_of_interest: list[str] = Field(default_factory=list)
    notes: str = ""


class Lead(BaseModel):
    id: str
    company: LeadCompany
    contact: LeadContact
    estimated_value: float
    currency: str
    stage: Stage
    source: LeadSource
    products_of_interest: list[str]
    notes: str
    owner: str
    created_at: str
    history: list[str] = Field(description="Stage changes, oldest first")


class LeadList(BaseModel):
    count: int
    total_value: float
    leads: list[Lead]


class StageChange(BaseModel):
    stage: Stage
    note: str = ""
