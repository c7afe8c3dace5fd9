"""Console sessions: what the cookie, the store and the forms hold."""

from __future__ import annotations

from services.stats.console.sessions import SessionCodec

RAW_KEY = "pf-secret-key-value"


def test_session_ids_are_long_random_and_never_repeat() -> None:
    ids = {SessionCodec.new_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) >= 43 for i in ids)  # 32 random bytes


def test_the_store_sees_neither_the_cookie_nor_the_key() -> None:
    codec = SessionCodec("secret-one")
    session_id = codec.new_id()
    storage_id = codec.storage_id(session_id)
    sealed = codec.seal(RAW_KEY, storage_id)
    assert session_id not in storage_id
    assert RAW_KEY not in sealed
    assert codec.unseal(sealed, storage_id) == RAW_KEY
    assert codec.seal(RAW_KEY, storage_id) != sealed  # a fresh nonce each time


def test_a_sealed_key_opens_only_in_its_own_row_and_under_its_own_secret() -> None:
    codec = SessionCodec("secret-one")
    row = codec.storage_id(codec.new_id())
    sealed = codec.seal(RAW_KEY, row)
    assert codec.unseal(sealed, codec.storage_id(codec.new_id())) is None
    assert SessionCodec("secret-two").unseal(sealed, row) is None
    assert codec.unseal("v0:" + sealed[3:], row) is None


def test_the_anti_forgery_token_belongs_to_one_session_and_one_purpose() -> None:
    codec = SessionCodec("secret-one")
    mine, theirs = codec.new_id(), codec.new_id()
    token = codec.csrf_token(mine)
    assert codec.csrf_ok(mine, token)
    assert not codec.csrf_ok(theirs, token)
    assert not codec.csrf_ok(mine, token[:-1] + ("0" if token[-1] != "0" else "1"))
    assert not codec.csrf_ok(mine, None)
    assert not codec.csrf_ok(None, token)
    assert not codec.csrf_ok(mine, token, "sign-in")
    assert not SessionCodec("secret-two").csrf_ok(mine, token)
