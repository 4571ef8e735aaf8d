"""Parties as the fund deals with them: their kinds, where they are, and who belongs to whom.

CODI lends only to groups (savings groups, registered housing cooperatives, networks); a group
lends on to its members and collects their savings in its own book. So there are three tiers:
CODI -> organisation -> member. A **member** is a party of kind `member` that belongs to one
organisation (`member_of`); no other kind has `member_of`, and it names an organisation that
people can belong to (`MEMBER_ORGANISATION_KINDS`):

- a savings group, a housing cooperative, a network: the borrowers of the three tiers;
- a community enterprise: at least seven members of different households (the Act of B.E. 2548);
- a community welfare fund: its members pay one baht a day.

Not an incubation centre, a government agency or a local authority (they serve communities but
have no members of their own here), not `other` (unknown), and not a member itself.

Where a party is: its region, its province (จังหวัด) and its district (อำเภอ).

Every kind, region and field of a party has its words here, in English and Thai, once: the
pages, the personal-data export and the reports show them from these `Label`s, never the
machine's enum value.

>>> PartyKind.member in MEMBER_ORGANISATION_KINDS, PartyKind.cooperative in MEMBER_ORGANISATION_KINDS
(False, True)
>>> KIND_LABELS[PartyKind.cooperative].th
'สหกรณ์เคหสถาน'
"""

from enum import StrEnum

from ledger.errors import LedgerError, Rejection
from ledger.tabular import Label


class PartyKind(StrEnum):
    network = "network"
    cooperative = "cooperative"  # a registered housing cooperative (สหกรณ์เคหสถาน)
    savings_group = "savings_group"
    community_enterprise = "community_enterprise"
    welfare_fund = "welfare_fund"
    incubation_centre = "incubation_centre"
    government = "government"
    local_authority = "local_authority"  # a public organisation of local government (อปท.)
    member = "member"  # a person who belongs to an organisation (member_of)
    other = "other"


class Region(StrEnum):
    north = "north"
    northeast = "northeast"
    central = "central"
    east = "east"
    west = "west"
    south = "south"
    bangkok = "bangkok"


MEMBER_ORGANISATION_KINDS = frozenset({
    PartyKind.savings_group, PartyKind.cooperative, PartyKind.network, PartyKind.community_enterprise,
    PartyKind.welfare_fund,
})  # fmt: skip

KIND_LABELS = {
    PartyKind.savings_group: Label("Savings group", "กลุ่มออมทรัพย์"),
    PartyKind.cooperative: Label("Housing cooperative", "สหกรณ์เคหสถาน"),
    PartyKind.network: Label("Network", "เครือข่าย"),
    PartyKind.community_enterprise: Label("Community enterprise", "วิสาหกิจชุมชน"),
    PartyKind.welfare_fund: Label("Community welfare fund", "กองทุนสวัสดิการชุมชน"),
    PartyKind.incubation_centre: Label("Incubation centre", "ศูนย์บ่มเพาะ"),
    PartyKind.government: Label("Government agency", "หน่วยงานรัฐ"),
    PartyKind.local_authority: Label("Local authority", "องค์กรปกครองส่วนท้องถิ่น"),
    PartyKind.member: Label("Member", "สมาชิก"),
    PartyKind.other: Label("Other", "อื่น ๆ"),
}
REGION_LABELS = {
    Region.north: Label("North", "ภาคเหนือ"),
    Region.northeast: Label("Northeast", "ภาคตะวันออกเฉียงเหนือ"),
    Region.central: Label("Central", "ภาคกลาง"),
    Region.east: Label("East", "ภาคตะวันออก"),
    Region.west: Label("West", "ภาคตะวันตก"),
    Region.south: Label("South", "ภาคใต้"),
    Region.bangkok: Label("Bangkok", "กรุงเทพมหานคร"),
}
FIELD_LABELS = {
    "id": Label("Number", "เลขที่"),
    "kind": Label("Kind", "ประเภท"),
    "name_th": Label("Name in Thai", "ชื่อภาษาไทย"),
    "name_en": Label("Name in English", "ชื่อภาษาอังกฤษ"),
    "region": Label("Region", "ภาค"),
    "province": Label("Province", "จังหวัด"),
    "district": Label("District", "อำเภอ"),
    "centre_id": Label("Incubation centre", "ศูนย์บ่มเพาะ"),
    "member_of": Label("Member of", "เป็นสมาชิกของ"),
    "created_at": Label("Registered", "ลงทะเบียนเมื่อ"),
    "national_id": Label("Thai identification number", "เลขประจำตัวประชาชน"),
    "contact": Label("Contact", "ผู้ติดต่อ"),
    "known_duplicate": Label("Known duplicate identification number", "เลขประจำตัวซ้ำที่ทราบแล้ว"),
}


def kind_label(kind: str) -> Label:
    """The words of a kind; an unknown one (none is: the database refuses it) as it is."""
    return KIND_LABELS.get(kind, Label(kind, kind))  # type: ignore[call-overload]


def region_label(region: str) -> Label:
    return REGION_LABELS.get(region, Label(region, region))  # type: ignore[call-overload]


def may_have_members(kind: str) -> bool:
    return kind in MEMBER_ORGANISATION_KINDS


def check_membership(*, party_id: int | None, kind: str, member_of: int | None, organisation_kind: str | None) -> None:
    """Refuse a party whose `member_of` does not fit its kind: a member belongs to one
    organisation of a kind that has members (`organisation_kind`, the kind of the party
    `member_of` names), and no other kind belongs to one.

    >>> check_membership(party_id=None, kind="member", member_of=7, organisation_kind="savings_group")
    >>> check_membership(party_id=None, kind="member", member_of=7, organisation_kind="government")
    Traceback (most recent call last):
    ledger.errors.LedgerError: invalid_member_of: a member belongs to a savings group, housing cooperative, network, \
community enterprise or welfare fund; party 7 is a government
    """
    if kind != PartyKind.member:
        if member_of is not None:
            raise LedgerError(Rejection.invalid_member_of, "only a member belongs to an organisation (member_of)")
        return
    if member_of is None:
        raise LedgerError(Rejection.invalid_member_of, "a member belongs to an organisation: give member_of")
    if member_of == party_id or not may_have_members(organisation_kind or ""):
        raise LedgerError(
            Rejection.invalid_member_of,
            f"a member belongs to a savings group, housing cooperative, network, community enterprise or welfare "
            f"fund; party {member_of} is a {organisation_kind}",
        )
