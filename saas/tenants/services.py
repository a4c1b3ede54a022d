"""State changes for tenants, users and memberships: one function per change.

Services never commit: the request or job that calls them commits once.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable
from datetime import UTC, datetime

from flask import current_app, g, has_request_context
from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select

from saas.extensions import db
from saas.mail import Mail, queue_email
from saas.tenants import audit, scoping
from saas.tenants.models import (
    BankAccount,
    Branding,
    Invitation,
    Membership,
    Role,
    Tenant,
    TenantKind,
    User,
)
from saas.tenants.tokens import InvalidToken, make_token, read_token
from saas.tenants.validation import slugify

MIN_PASSWORD_LENGTH = 10


class ServiceError(ValueError):
    """A state change was refused; the message says why, fit for the user."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def unique_slug(name: str) -> str:
    """Make a slug from name that no tenant uses yet."""
    base = slugify(name)
    candidate, counter = base, 1
    while db.session.scalar(select(Tenant.id).where(Tenant.slug == candidate)) is not None:
        counter += 1
        candidate = f"{base[:58]}-{counter}"
    return candidate


def create_tenant(
    name: str,
    kind: TenantKind = TenantKind.BUSINESS,
    *,
    slug: str | None = None,
    country: str = "NO",
    currency: str = "EUR",
    locale: str = "en",
    timezone: str = "Europe/Oslo",
    bureau: Tenant | None = None,
) -> Tenant:
    """Create a tenant with default branding (the caller adds members)."""
    if slug and db.session.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None:
        raise ServiceError(f"The address “{slug}” is taken.")
    tenant = Tenant(
        name=name.strip(),
        legal_name=name.strip(),
        slug=slug or unique_slug(name),
        kind=kind,
        country=country.upper(),
        default_currency=currency.upper(),
        locale=locale,
        timezone=timezone,
        bureau_id=bureau.id if bureau else None,
    )
    db.session.add(tenant)
    db.session.flush()
    with scoping.tenant_context(tenant.id):
        db.session.add(Branding(tenant_id=tenant.id, email_sender_name=tenant.name))
        db.session.flush()
    return tenant


def create_user(email: str, name: str, password: str) -> User:
    """Create a user account, refusing an e-mail address already registered."""
    if find_user_by_email(email) is not None:
        raise ServiceError("An account with this e-mail address exists. Sign in instead.")
    check_password_strength(password)
    user = User(email=normalise_email(email), name=name.strip())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ServiceError(f"Use a password of at least {MIN_PASSWORD_LENGTH} characters.")


def add_member(tenant: Tenant, user: User, role: Role) -> Membership:
    """Give user a role in tenant (inside that tenant's context)."""
    with scoping.tenant_context(tenant.id):
        membership = Membership(tenant_id=tenant.id, user_id=user.id, role=role)
        db.session.add(membership)
        db.session.flush()
    return membership


def sign_up(
    company_name: str,
    email: str,
    name: str,
    password: str,
    *,
    country: str = "NO",
    currency: str = "EUR",
    kind: TenantKind = TenantKind.BUSINESS,
) -> tuple[Tenant, User]:
    """Self-serve sign-up: a new tenant and its owner."""
    user = create_user(email, name, password)
    tenant = create_tenant(company_name, kind, country=country, currency=currency)
    add_member(tenant, user, Role.OWNER)
    with scoping.tenant_context(tenant.id):
        audit.record("tenant.created", tenant, f"{tenant.name} signed up", user_id=user.id)
    return tenant, user


def memberships_of(user: User) -> list[Membership]:
    """All tenants the user belongs to (the only read of memberships across tenants)."""
    with scoping.all_tenants():
        return list(
            db.session.scalars(
                select(Membership)
                .where(Membership.user_id == user.id)
                .join(Membership.tenant)
                .order_by(Tenant.name)
            )
        )


def membership_in_current_tenant(user: User) -> Membership | None:
    return db.session.scalar(select(Membership).where(Membership.user_id == user.id))


# --- invitations ---------------------------------------------------------------------------


def invite_user(tenant: Tenant, email: str, role: Role, invited_by: User) -> Invitation:
    """Invite someone by e-mail to join the current tenant with a role."""
    email = normalise_email(email)
    if role is Role.OWNER:
        raise ServiceError("Owners cannot be invited; invite an admin and transfer later.")
    existing_user = find_user_by_email(email)
    if existing_user and membership_in_current_tenant(existing_user):
        raise ServiceError(f"{email} is already a member.")
    already_open = db.session.scalar(
        select(Invitation).where(
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
    )
    if already_open:
        raise ServiceError(f"{email} has an open invitation already.")
    invitation = Invitation(email=email, role=role, invited_by_id=invited_by.id)
    db.session.add(invitation)
    db.session.flush()
    audit.record("member.invited", invitation, f"Invited {email} as {role.value}")
    token = make_token("invite", {"invitation": invitation.id, "tenant": tenant.id})
    link = absolute_url("auth.accept_invitation", token=token)
    queue_email(
        Mail(
            to=email,
            subject=f"{invited_by.name} invites you to {tenant.name}",
            text=(
                f"{invited_by.name} invites you to work in {tenant.name} as {role.value}.\n\n"
                f"Accept the invitation: {link}\n\n"
                "The link is valid for two days."
            ),
            sender_name=branding_of_current_tenant().email_sender_name or tenant.name,
        )
    )
    return invitation


def load_invitation(token: str) -> tuple[Tenant, Invitation]:
    """Return the tenant and open invitation a link names; enters that tenant."""
    payload = read_token("invite", token)
    tenant = db.session.get(Tenant, payload.get("tenant"))
    if tenant is None:
        raise InvalidToken("This invitation is not valid.")
    scoping.set_current_tenant(tenant.id)
    invitation = db.session.get(Invitation, payload.get("invitation"))
    if invitation is None or not invitation.is_open:
        raise InvalidToken("This invitation has been used or withdrawn.")
    return tenant, invitation


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Turn an open invitation into a membership for user (in the current tenant)."""
    if membership_in_current_tenant(user):
        raise ServiceError("You are already a member of this company.")
    invitation.accepted_at = datetime.now(UTC)
    membership = Membership(user_id=user.id, role=invitation.role)
    db.session.add(membership)
    db.session.flush()
    audit.record(
        "member.joined", membership, f"{user.email} joined as {invitation.role.value}",
        user_id=user.id,
    )
    return membership


def revoke_invitation(invitation: Invitation) -> None:
    if not invitation.is_open:
        raise ServiceError("This invitation is no longer open.")
    invitation.revoked_at = datetime.now(UTC)
    audit.record(
        "member.invitation_revoked", invitation, f"Withdrew invitation of {invitation.email}"
    )


# --- members and roles ---------------------------------------------------------------------


def _owner_count() -> int:
    return db.session.scalar(
        select(func.count()).select_from(Membership).where(Membership.role == Role.OWNER)
    ) or 0


def change_role(membership: Membership, role: Role, acting: Membership) -> None:
    """Change a member's role; only owners grant or take away ownership."""
    if membership.role == role:
        return
    if Role.OWNER in (membership.role, role) and acting.role is not Role.OWNER:
        raise ServiceError("Only an owner can grant or take away the owner role.")
    if membership.role is Role.OWNER and _owner_count() <= 1:
        raise ServiceError("A company needs at least one owner.")
    old = membership.role
    membership.role = role
    audit.record(
        "member.role_changed", membership,
        f"{membership.user.email}: {old.value} → {role.value}",
        {"from": old.value, "to": role.value},
    )


def remove_member(membership: Membership, acting: Membership) -> None:
    if membership.role is Role.OWNER and acting.role is not Role.OWNER:
        raise ServiceError("Only an owner can remove an owner.")
    if membership.role is Role.OWNER and _owner_count() <= 1:
        raise ServiceError("A company needs at least one owner.")
    audit.record("member.removed", membership, f"Removed {membership.user.email}")
    db.session.delete(membership)


# --- passwords -----------------------------------------------------------------------------


def _password_fingerprint(user: User) -> str:
    # Part of the hash: the link stops working once the password has changed.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def request_password_reset(email: str) -> None:
    """E-mail a reset link if the address has an account (say nothing otherwise)."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    token = make_token("reset", {"user": user.id, "pw": _password_fingerprint(user)})
    link = absolute_url("auth.reset_password", token=token)
    queue_email(
        Mail(
            to=user.email,
            subject="Reset your password",
            text=(
                f"Hello {user.name},\n\nSet a new password here: {link}\n\n"
                "The link is valid for two days and works once. "
                "If you did not ask for it, ignore this e-mail."
            ),
        )
    )


def user_for_reset_token(token: str) -> User:
    payload = read_token("reset", token)
    user = db.session.get(User, payload.get("user"))
    if user is None or payload.get("pw") != _password_fingerprint(user):
        raise InvalidToken("This link has been used already. Ask for a new one.")
    return user


def reset_password(token: str, password: str) -> User:
    """Set a new password through a valid reset link."""
    user = user_for_reset_token(token)
    check_password_strength(password)
    user.set_password(password)
    return user


# --- tenant settings -----------------------------------------------------------------------

PROFILE_FIELDS = (
    "name", "legal_name", "org_number", "vat_id", "address_line1", "address_line2",
    "postal_code", "city", "country", "default_currency", "locale", "timezone",
)


def update_tenant_profile(tenant: Tenant, values: dict[str, str]) -> None:
    """Change the company's details (validated by the form)."""
    changes = {}
    for name in PROFILE_FIELDS:
        if name in values and getattr(tenant, name) != values[name]:
            changes[name] = [getattr(tenant, name), values[name]]
            setattr(tenant, name, values[name])
    if changes:
        audit.record("settings.profile_changed", tenant, "Company details changed", changes)


def add_bank_account(values: dict[str, object]) -> BankAccount:
    account = BankAccount(**values)
    if account.is_default or not db.session.scalar(select(func.count()).select_from(BankAccount)):
        _make_default(account)
    db.session.add(account)
    db.session.flush()
    audit.record(
        "settings.bank_account_added", account, f"Bank account {account.iban or account.bban}"
    )
    return account


def _make_default(account: BankAccount) -> None:
    for other in db.session.scalars(select(BankAccount).where(BankAccount.is_default)):
        other.is_default = False
    account.is_default = True


def set_default_bank_account(account: BankAccount) -> None:
    _make_default(account)
    audit.record("settings.bank_account_default", account, f"Default account {account.iban}")


def delete_bank_account(account: BankAccount) -> None:
    audit.record(
        "settings.bank_account_removed", account, f"Bank account {account.iban or account.bban}"
    )
    db.session.delete(account)


def stored_branding() -> Branding | None:
    """The current tenant's branding row, if it has one.

    In a request it is read once per tenant: a page shows it in its header, prints with it
    (the e-invoice check) and colours the portal with it. Keyed by tenant, since a bureau's
    request can work in several tenants' scopes; outside requests (jobs) it is read afresh.
    """
    if not has_request_context():
        return db.session.scalar(select(Branding))
    read: dict[int | None, Branding | None] = g.setdefault("brandings", {})
    tenant_id = scoping.current_tenant_id()
    if tenant_id not in read:
        read[tenant_id] = db.session.scalar(select(Branding))
    return read[tenant_id]


def branding_of_current_tenant() -> Branding:
    branding = stored_branding()
    if branding is None:  # tenants created before branding existed
        branding = Branding()
        db.session.add(branding)
        db.session.flush()
        if has_request_context():  # the request's next look finds this one, not None
            g.setdefault("brandings", {})[scoping.current_tenant_id()] = branding
    return branding


class InvalidLogo(ServiceError):
    pass


LOGO_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
LOGO_MAX_PIXELS = 4000  # a side


def check_logo(data: bytes) -> str:
    """Decode an uploaded logo to make sure it is a real PNG or JPEG; return its MIME type."""
    limit = current_app.config["LOGO_MAX_BYTES"]
    if len(data) > limit:
        raise InvalidLogo(f"The logo is {len(data) // 1024} KB; the limit is {limit // 1024} KB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            # Format and size come from the header: both are checked before decoding, so a
            # small file claiming a huge image (a decompression bomb) is never unpacked.
            if image.format not in LOGO_FORMATS:
                raise InvalidLogo(f"The logo is a {image.format} image; use PNG or JPEG.")
            if image.width > LOGO_MAX_PIXELS or image.height > LOGO_MAX_PIXELS:
                raise InvalidLogo("The logo is larger than 4000×4000 pixels.")
            image.load()  # decode fully: a truncated or forged file fails here
            return LOGO_FORMATS[image.format]
    except InvalidLogo:
        raise
    except Image.DecompressionBombError as exc:  # so large Pillow will not even open it
        raise InvalidLogo("The logo is larger than 4000×4000 pixels.") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidLogo("The logo is not a readable PNG or JPEG image: upload the logo as"
                          " a .png or .jpg picture (not a PDF, SVG or web page).") from exc


def update_branding(
    branding: Branding,
    *,
    primary_color: str,
    footer_text: str,
    email_sender_name: str,
    reply_to: str = "",
    logo: bytes | None = None,
    remove_logo: bool = False,
) -> None:
    """Change how the tenant looks on documents, e-mails and the portal."""
    if logo:
        branding.logo_mime = check_logo(logo)
        branding.logo = logo
        branding.logo_sha256 = hashlib.sha256(logo).hexdigest()
    elif remove_logo:
        branding.logo = branding.logo_mime = branding.logo_sha256 = None
    branding.primary_color = primary_color
    branding.footer_text = footer_text
    branding.email_sender_name = email_sender_name
    branding.reply_to = reply_to.strip().lower()
    audit.record(
        "settings.branding_changed", branding, "Branding changed",
        {"logo": "replaced" if logo else ("removed" if remove_logo else "kept")},
    )


def tenants_and_zones(tenant_ids: Iterable[int] | None = None) -> list[tuple[int, str]]:
    """(id, time zone) of every tenant, or of the ones given: for work done per tenant."""
    statement = select(Tenant.id, Tenant.timezone).order_by(Tenant.id)
    if tenant_ids is not None:
        statement = statement.where(Tenant.id.in_(list(tenant_ids)))
    with scoping.all_tenants():
        tenants = [(tenant_id, zone) for tenant_id, zone in db.session.execute(statement)]
    db.session.commit()
    return tenants


def absolute_url(endpoint: str, **values: object) -> str:
    """An absolute link for e-mails, based on PUBLIC_URL (works in jobs and the CLI too)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
