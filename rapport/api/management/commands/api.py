"""``rapport api token create|revoke|list``: personal access tokens for integrations."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.accounts.models import User
from rapport.api.models import ApiToken, Scope
from rapport.api.tokens import DEFAULT_LIFETIME_DAYS, TokenError, create_token, revoke_token


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (see docs/api.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        objects = parser.add_subparsers(dest="object", required=True)
        token = objects.add_parser("token", help="personal access tokens")
        actions = token.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a token; it is printed once")
        create.add_argument("--user", required=True, help="username of the token's owner")
        create.add_argument(
            "--scope",
            action="append",
            choices=Scope.values,
            required=True,
            help="repeat for several scopes: read, write, identity",
        )
        create.add_argument("--days", type=int, default=DEFAULT_LIFETIME_DAYS)
        create.add_argument("--name", default="integration", help="what the token is for")
        revoke = actions.add_parser("revoke", help="revoke a token at once")
        revoke.add_argument("token_id", help="the token's id, as printed by create or list")
        listing = actions.add_parser("list", help="list a user's tokens (never the tokens)")
        listing.add_argument("--user", required=True)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            user = _user(options["user"])
            try:
                token, raw = create_token(
                    user, name=options["name"], scopes=options["scope"], days=options["days"]
                )
            except TokenError as error:
                raise CommandError(str(error)) from None
            self.stderr.write(
                f"token {token.public_id} for {user.username} ({', '.join(token.scopes)}), "
                f"expires {token.expires_at:%Y-%m-%d}. It is shown once; store it now:"
            )
            self.stdout.write(raw)
        elif action == "revoke":
            token = _token(options["token_id"])
            revoke_token(token)
            self.stdout.write(f"revoked token {token.public_id}")
        else:
            for token in ApiToken.objects.filter(user=_user(options["user"])):
                state = (
                    "revoked" if token.revoked_at else "live" if token.is_usable() else "expired"
                )
                self.stdout.write(
                    f"{token.public_id}  {token.prefix}…  {state:8} {','.join(token.scopes):20} "
                    f"expires {token.expires_at:%Y-%m-%d}  {token.name}"
                )


def _user(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}")
    return user


def _token(token_id: str) -> ApiToken:
    try:
        public_id = uuid.UUID(token_id)
    except ValueError:
        raise CommandError(f"{token_id!r} is not a token id (a UUID)") from None
    token = ApiToken.objects.filter(public_id=public_id).first()
    if token is None:
        raise CommandError(f"no token {token_id}")
    return token
