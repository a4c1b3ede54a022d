"""factory_boy factories. Tenant-owned objects are created inside their tenant's context,
exactly as the app creates them, so the scoping hooks see every write."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from saas.extensions import db
from saas.tenants import scoping, services
from saas.tenants.models import (
    AuditEntry,
    BankAccount,
    Invitation,
    Membership,
    Role,
    Tenant,
    TenantKind,
    User,
)

PASSWORD = "correct horse battery"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 - resolved per test
        # Commit = release a savepoint inside the test transaction: a rollback in the code
        # under test then cannot take the fixtures with it (as in production).
        sqlalchemy_session_persistence = "commit"


class TenantFactory(BaseFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Company {n} AS")
    kind = TenantKind.BUSINESS
    country = "NO"
    currency = "NOK"

    @classmethod
    def _create(cls, model_class, name, kind, country, currency, **kwargs):
        # Through the service, so every tenant gets its branding row as in production.
        tenant = services.create_tenant(name, kind, country=country, currency=currency,
                                        bureau=kwargs.pop("bureau", None))
        for key, value in kwargs.items():
            setattr(tenant, key, value)
        db.session.commit()
        return tenant


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    password_hash = factory.LazyFunction(lambda: _password_hash())


def _password_hash() -> str:
    user = User()
    user.set_password(PASSWORD)
    return user.password_hash


class TenantScopedFactory(BaseFactory):
    """Create the object inside the context of its tenant (pass tenant=...)."""

    class Meta:
        abstract = True

    tenant = factory.SubFactory(TenantFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        tenant = kwargs.pop("tenant")
        with scoping.tenant_context(tenant.id):
            obj = super()._create(model_class, *args, tenant_id=tenant.id, **kwargs)
            # Load it again while its tenant is set: row-level security hides it outside.
            db.session.refresh(obj)
            return obj


class MembershipFactory(TenantScopedFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class InvitationFactory(TenantScopedFactory):
    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    role = Role.STAFF


class BankAccountFactory(TenantScopedFactory):
    class Meta:
        model = BankAccount

    iban = "NO9386011117947"
    bic = "DNBANOKKXXX"
    currency = "NOK"
    label = "Main"


class AuditEntryFactory(TenantScopedFactory):
    class Meta:
        model = AuditEntry

    action = "test.action"
    summary = "Something happened"


def member(tenant: Tenant, role: Role = Role.OWNER, **user_fields) -> User:
    """A new user with a role in tenant."""
    user = UserFactory(**user_fields)
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user
