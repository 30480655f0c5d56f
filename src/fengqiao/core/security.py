"""Password hashing (Argon2id) and opaque bearer tokens (stored only as hashes)."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from fengqiao.core.errors import Invalid

_hasher = PasswordHasher()  # argon2-cffi defaults: Argon2id, RFC 9106 low-memory profile


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 128
# The 30,000 most common passwords of the leaked lists zxcvbn ships, and a few that
# Chinese users favour which those lists rank lower.
COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"]) | {
    "woaini1314",
    "5201314",
    "a123456",
    "qq123456",
    "aa123456",
    "abc123456",
    "1qaz2wsx",
    "zxcvbnm",
    "iloveyou1314",
}


def check_password(password: str, username: str, *other_inputs: str) -> None:
    """The strength rule for every new password (creation, change, reset; API and CLI):
    long enough, not the user name, not one character repeated or only spaces, not a
    common password, and not guessable by zxcvbn's estimate (score 2 of 4 at least)."""
    bare = password.strip()
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Invalid(
            "密码至少需要 {n} 个字符",
            "A password needs at least {n} characters",
            code="weak_password",
            field="password",
            n=PASSWORD_MIN_LENGTH,
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise Invalid(
            "密码不能超过 {n} 个字符",
            "A password may have at most {n} characters",
            code="weak_password",
            field="password",
            n=PASSWORD_MAX_LENGTH,
        )
    if not bare or len(set(password)) == 1:
        raise Invalid(
            "密码不能只由空格或同一个字符组成",
            "A password cannot be only spaces or one character repeated",
            code="weak_password",
            field="password",
        )
    if bare.lower() == username.strip().lower():
        raise Invalid(
            "密码不能与用户名相同",
            "A password cannot be the user name",
            code="weak_password",
            field="password",
        )
    if bare.lower() in COMMON_PASSWORDS:
        raise Invalid(
            "这是一个常见密码，容易被猜中，请换一个",
            "This is a common password, easy to guess; choose another",
            code="weak_password",
            field="password",
        )
    inputs = [username, *(i for i in other_inputs if i)]
    if zxcvbn(password[:PASSWORD_MAX_LENGTH], user_inputs=inputs)["score"] < 2:
        raise Invalid(
            "密码太容易被猜中：请用更长的密码，混合字母、数字和符号，避免姓名、日期和键盘顺序",
            "This password is too easy to guess: make it longer and mix letters, digits "
            "and symbols; avoid names, dates and keyboard runs",
            code="weak_password",
            field="password",
        )


# Verified against when the user name is unknown, so both paths take the same time.
DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    """Never more than the last four digits, whatever the length: *******1234; a short
    number shows at most half its digits, one of four digits or fewer none."""
    if not phone:
        return phone
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    shown = set(digits[len(digits) - min(4, len(digits) // 2) :]) if len(digits) > 4 else set()
    masked = "".join("*" if ch.isdigit() and i not in shown else ch for i, ch in enumerate(phone))
    return masked if shown else "****"


def mask_id_number(number: str | None) -> str | None:
    if not number:
        return number
    return number[:6] + "*" * max(len(number) - 10, 0) + number[-4:] if len(number) > 10 else "****"
