"""Schemathesis hooks for scripts/schemathesis.sh (loaded with SCHEMATHESIS_HOOKS).

Authentication: every generated call gets a fresh source token (DESIGN section 8): ES256,
iss = sub = the demo source, aud = the viewer's audience, iat = now, exp = now + 60 s, and a new
jti. The API refuses a replayed jti, so tokens must never be cached: refresh_interval=None makes
schemathesis call `get` for every case (its default caches a token for 300 s).

Reach: the document types the BSN, `consent`, `status`, `category` and `sensitivity` as plain
strings, so data generated from it alone is refused with 422 nearly always and the 200 and 404
answers (and their schemas) would never be checked. So half of the generated cases use a
valid test BSN and, in the body, valid values for those keyword fields, dates in range, unique
ids and texts without control characters; the rest stays as generated (any other characters,
lengths, nulls, list sizes, numbers). These hooks assume positive data generation
(schemathesis's default, what the script runs): with negative generation the fix-ups could turn
a deliberately invalid case into a valid one.

Guard: 401 and 429 are documented answers, so a run in which every token were refused (a
cached token replayed, a key not registered, a clock off) or the rate limit were hit would pass
every standard check while testing nothing behind the token check. The extra check
`source_token_accepted` (part of `--checks all`) fails on those answers.

Environment: OOIEVAAR_ST_KEY (required) is the PEM file of the source's private key;
OOIEVAAR_ST_SOURCE (default de-wieg-epd) and OOIEVAAR_TOKEN_AUDIENCE (default ooievaar).
"""

import datetime
import json
import pathlib
import os
import time
import unicodedata
import uuid

import jwt
import schemathesis
from hypothesis import strategies as st

SOURCE = os.environ.get("OOIEVAAR_ST_SOURCE", "de-wieg-epd")
# The consent registry (DESIGN 8.3), registered by scripts/schemathesis.sh with the same key:
# the consent-profile endpoint takes a registry's token only.
REGISTRY = os.environ.get("OOIEVAAR_ST_REGISTRY", "mitz-st")
PROFILE_PATH = "/api/v1/consent-profiles/{bsn}"
AUDIENCE = os.environ.get("OOIEVAAR_TOKEN_AUDIENCE", "ooievaar")
with open(os.environ["OOIEVAAR_ST_KEY"], "rb") as key_file:
    PRIVATE_KEY = key_file.read()


def fresh_token(issuer: str = SOURCE) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": issuer,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, PRIVATE_KEY, algorithm="ES256")


@schemathesis.auth(refresh_interval=None)
class SourceToken:
    def get(self, case, context):
        return fresh_token(REGISTRY if case.operation.path == PROFILE_PATH else SOURCE)

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.check
def source_token_accepted(ctx, response, case):
    # Only the generated call's own answer: ignored_auth's calls without a token (401 expected)
    # are not passed to checks.
    if response.status_code in (401, 429):
        raise AssertionError(
            f"the fresh source token was refused: {response.status_code} {response.text[:200]}"
        )


# --- valid values, for half of the generated cases ---------------------------------------------


def passes_eleven_check(bsn: str) -> bool:
    total = sum(int(d) * (9 - i) for i, d in enumerate(bsn[:8])) - int(bsn[8])
    return total != 0 and total % 11 == 0


# The first 16 valid numbers of the government's test range: the twelve demo clients (some
# shared by this source already) and four more. A small set, so shares and consent changes
# meet the same clients (consent changes answer 200 for a client this source shared, else 404).
VALID_BSNS = [b for b in (str(n) for n in range(999990000, 999999999)) if passes_eleven_check(b)][:16]
CATEGORIES = [
    "identity", "care_team", "pregnancy", "obstetric_history", "labour_birth", "newborn",
    "postpartum", "medical_history", "medication", "lab_screening", "ultrasound",
    "psychosocial", "lifestyle", "family_situation",
]
SENSITIVITIES = ["normal", "elevated", "high"]
# Dates are drawn from fixed bounds (not from today), so the same seed gives the same calls
# on every day; birth, due and end dates and observation times must not be before 1900, and
# none may lie in the future (due dates at most a year ahead).
EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(2025, 12, 31)
RECENT = datetime.date(2010, 1, 1)
SHARE_PATH = "/api/v1/shares/{bsn}"
FHIR_PATH = "/api/v1/fhir"
# The corpus of realistic FHIR bundles of the integration tests: half of the generated intake
# calls send one of them (schema-generated bundles almost never hold a Patient with a BSN).
FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "server/tests/fixtures/fhir"
FHIR_BUNDLES = [json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json"))]
CONSENT_PATH = "/api/v1/shares/{bsn}/consent"
PROFILES = [
    {"choice": "all"},
    {"choice": "none"},
    {"choice": "selected", "organisations": ["vp-de-wieg"]},
    {"choice": "selected", "organisation_kinds": ["ziekenhuis", "kraamzorg"]},
    {"choice": "selected", "organisations": ["zh-rivierenland"], "organisation_kinds": ["echocentrum"]},
]


def clean_text(value, required=True):
    """The generated text without control characters (the API refuses them), never empty when
    required; other values (null, or a wrong type) unchanged."""
    if not isinstance(value, str):
        return value
    text = "".join(c for c in value if unicodedata.category(c) != "Cc")
    return text if text.strip() or not required else "x" + text


def iso_dates(earliest: datetime.date, latest: datetime.date):
    return st.dates(min_value=earliest, max_value=latest).map(datetime.date.isoformat)


@st.composite
def plausible_share(draw, generated):
    body = draw(generated)
    if not isinstance(body, dict):
        return body
    body["consent"] = "active"
    client = body.get("client")
    if isinstance(client, dict):
        client["name"] = clean_text(client.get("name"))
        client["birth_date"] = draw(iso_dates(EARLIEST, LATEST))
    pregnancy_ids = []
    for i, pregnancy in enumerate(body.get("pregnancies") or []):
        if not isinstance(pregnancy, dict):
            continue
        # A prefix keeps the ids unique (and non-empty) and the generated text after it.
        pregnancy["id"] = f"p{i}-{clean_text(pregnancy.get('id', ''), required=False)}"[:64]
        pregnancy_ids.append(pregnancy["id"])
        pregnancy["edd"] = draw(iso_dates(EARLIEST, LATEST))
        pregnancy["status"] = draw(st.sampled_from(["active", "ended"]))
        # Ended within the retention term (20 years): an older end is refused as past retention.
        pregnancy["ended_on"] = (
            None if pregnancy["status"] == "active" else draw(iso_dates(RECENT, LATEST))
        )
        if isinstance(pregnancy.get("parity"), int) and isinstance(pregnancy.get("gravidity"), int):
            pregnancy["parity"] = min(pregnancy["parity"], pregnancy["gravidity"])
    for i, entry in enumerate(body.get("entries") or []):
        if not isinstance(entry, dict):
            continue
        entry["id"] = f"e{i}-{clean_text(entry.get('id', ''), required=False)}"[:64]
        for field in ("code", "label", "unit"):
            entry[field] = clean_text(entry.get(field))
        entry["value"] = clean_text(entry.get("value"), required=False)
        entry["observed_at"] = draw(iso_dates(EARLIEST, LATEST)) + "T10:00:00Z"
        entry["category"] = draw(st.sampled_from(CATEGORIES))
        entry["sensitivity"] = draw(st.sampled_from(SENSITIVITIES))
        entry["pregnancy_id"] = draw(st.sampled_from([None] + pregnancy_ids))
    return body


@schemathesis.hook
def before_generate_path_parameters(context, strategy):
    if context.operation.path in (SHARE_PATH, CONSENT_PATH, PROFILE_PATH):
        return st.one_of(strategy, st.sampled_from(VALID_BSNS).map(lambda bsn: {"bsn": bsn}))
    return strategy


@schemathesis.hook
def before_generate_body(context, strategy):
    if context.operation.path == SHARE_PATH:
        return st.one_of(strategy, plausible_share(strategy))
    if context.operation.path == FHIR_PATH:
        return st.one_of(strategy, st.sampled_from(FHIR_BUNDLES))
    if context.operation.path == CONSENT_PATH:
        return st.one_of(strategy, st.sampled_from(["active", "withdrawn"]).map(lambda s: {"status": s}))
    if context.operation.path == PROFILE_PATH:
        return st.one_of(strategy, st.sampled_from(PROFILES))
    return strategy
