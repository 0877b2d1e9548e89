"""The actor of a ticket change, as recorded in its history."""

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User

from incidents.models import ActorKind
from members.models import Member


@dataclass(frozen=True)
class Actor:
    kind: str
    user: User | None = None
    member: Member | None = None

    @classmethod
    def resident(cls) -> "Actor":
        return cls(ActorKind.RESIDENT)

    @classmethod
    def system(cls) -> "Actor":
        return cls(ActorKind.SYSTEM)

    @classmethod
    def for_user(cls, user: User | AnonymousUser) -> "Actor":
        """Return the actor for a signed-in user: staff first, then a linked member."""
        if not user.is_authenticated:
            return cls.resident()
        member = getattr(user, "member", None)
        if getattr(user, "is_staff", False):
            return cls(ActorKind.STAFF, user=user, member=member)
        if member is not None:
            return cls(ActorKind.MEMBER, user=user, member=member)
        return cls(ActorKind.RESIDENT, user=user)

    @property
    def is_staff(self) -> bool:
        return self.kind == ActorKind.STAFF

    @property
    def is_member(self) -> bool:
        return self.kind == ActorKind.MEMBER
