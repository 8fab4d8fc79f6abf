"""Webhook form fields: a real Twilio payload parses, anything malformed is a 400."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.inbound import InboundSms, InvalidInbound, Media, parse_inbound
from tests.properties import property_settings

PROPERTY = property_settings(max_examples=500)

SID = "SM" + "0123456789abcdef" * 2
MMS_SID = "MM" + "fedcba9876543210" * 2
ACCOUNT = "AC" + "0123456789ABCDEF" * 2
SERVICE = "MG" + "00112233445566778899aabbccddeeff"
CUSTOMER = "+14158675309"
BUSINESS = "+16175551212"
IMAGE = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"


def twilio_form(**fields: str) -> dict[str, str]:
    """Everything Twilio sends for an SMS to a Messaging Service number."""
    form = {
        "ToCountry": "US",
        "ToState": "MA",
        "SmsMessageSid": SID,
        "NumMedia": "0",
        "ToCity": "BOSTON",
        "FromZip": "94105",
        "SmsSid": SID,
        "FromState": "CA",
        "SmsStatus": "received",
        "FromCity": "SAN FRANCISCO",
        "Body": "Hi, can I book a cleaning for Thursday?",
        "FromCountry": "US",
        "To": BUSINESS,
        "MessagingServiceSid": SERVICE,
        "ToZip": "02108",
        "NumSegments": "1",
        "MessageSid": SID,
        "AccountSid": ACCOUNT,
        "From": CUSTOMER,
        "ApiVersion": "2010-04-01",
    }
    form.update(fields)
    return form


def reason_of(form: dict[str, str]) -> str:
    with pytest.raises(InvalidInbound) as caught:
        parse_inbound(form)
    return caught.value.reason


def test_a_real_twilio_payload_parses() -> None:
    assert parse_inbound(twilio_form()) == InboundSms(
        message_sid=SID,
        account_sid=ACCOUNT,
        from_number=CUSTOMER,
        to_number=BUSINESS,
        body="Hi, can I book a cleaning for Thursday?",
        num_segments=1,
        media=(),
        messaging_service_sid=SERVICE,
    )


def test_metadata_says_which_number_was_texted() -> None:
    form = twilio_form(
        MessageSid=MMS_SID,
        NumMedia="1",
        MediaUrl0=IMAGE,
        MediaContentType0="image/jpeg",
        NumSegments="2",
    )
    assert parse_inbound(form).metadata() == {
        "channel_type": "sms",
        "to": BUSINESS,
        "from": CUSTOMER,
        "message_sid": MMS_SID,
        "num_segments": 2,
        "media": [{"url": IMAGE, "content_type": "image/jpeg"}],
        "messaging_service_sid": SERVICE,
    }
    plain = twilio_form()
    del plain["MessagingServiceSid"]
    assert "messaging_service_sid" not in parse_inbound(plain).metadata()


def test_the_minimal_payload_takes_defaults() -> None:
    sms = parse_inbound({"MessageSid": SID, "From": CUSTOMER, "To": BUSINESS})
    assert (sms.body, sms.num_segments, sms.media) == ("", 1, ())
    assert (sms.account_sid, sms.messaging_service_sid) == ("", None)


@pytest.mark.parametrize("field", ["MessageSid", "From", "To"])
def test_a_missing_required_field_is_named(field: str) -> None:
    form = twilio_form()
    del form[field]
    assert reason_of(form) == f"{field} is missing"


@pytest.mark.parametrize(
    "sid",
    [
        "",
        "SM123",
        "XX" + "0" * 32,
        "SM" + "g" * 32,
        SID + "0",
        SID + "\n",
        "sm" + SID[2:],
    ],
)
def test_a_malformed_message_sid_is_rejected(sid: str) -> None:
    assert reason_of(twilio_form(MessageSid=sid)).startswith("MessageSid is not")


@pytest.mark.parametrize("field", ["From", "To"])
@pytest.mark.parametrize(
    "number",
    ["5551234", "+1555", "abc", "", "16175551212", "+1 617 555 1212", "+1617555121２"],
)
def test_a_number_not_in_e164_is_rejected(field: str, number: str) -> None:
    assert reason_of(twilio_form(**{field: number})) == (
        f"{field} is not an E.164 phone number: {number!r}"
    )


def test_a_number_of_impossible_length_is_rejected() -> None:
    assert "From is not an E.164" in reason_of(twilio_form(From="+1415555267"))
    assert "To is not an E.164" in reason_of(twilio_form(To="+141555526712"))


def test_a_new_range_phonenumbers_may_not_know_is_accepted() -> None:
    """Right length, unknown area code: a real customer must not get a 400."""
    assert parse_inbound(twilio_form(From="+15555550101")).from_number == "+15555550101"


def test_other_countries_parse() -> None:
    sms = parse_inbound(twilio_form(From="+447911123456", To="+4930123456"))
    assert (sms.from_number, sms.to_number) == ("+447911123456", "+4930123456")


def test_body_up_to_1600_characters() -> None:
    assert parse_inbound(twilio_form(Body="x" * 1600)).body == "x" * 1600
    assert reason_of(twilio_form(Body="x" * 1601)) == (
        "Body is 1601 characters, more than 1600"
    )


def test_body_is_kept_verbatim_but_for_crlf() -> None:
    body = "  Hi,\r\n\r\nline two \r ok \u00a0"
    assert (
        parse_inbound(twilio_form(Body=body)).body == "  Hi,\n\nline two \r ok \u00a0"
    )


def test_a_media_only_message_parses() -> None:
    form = twilio_form(
        MessageSid=MMS_SID,
        Body="",
        NumMedia="2",
        MediaUrl0=IMAGE,
        MediaContentType0="image/jpeg",
        MediaUrl1="http://example.com/a.vcf",
        MediaContentType1="text/vcard; charset=utf-8",
    )
    sms = parse_inbound(form)
    assert sms.body == ""
    assert sms.media == (
        Media(IMAGE, "image/jpeg"),
        Media("http://example.com/a.vcf", "text/vcard; charset=utf-8"),
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"NumMedia": "2", "MediaUrl0": IMAGE, "MediaContentType0": "image/png"},
         "MediaUrl1 is missing"),
        ({"NumMedia": "0", "MediaUrl0": IMAGE}, "MediaUrl0 present but NumMedia is 0"),
        ({"MediaContentType0": "image/png"},
         "MediaContentType0 present but NumMedia is 0"),
        ({"NumMedia": "1", "MediaUrl0": IMAGE}, "MediaContentType0 is missing"),
        ({"NumMedia": "x"}, "NumMedia must be an integer 0..10: 'x'"),
        ({"NumMedia": "11"}, "NumMedia must be an integer 0..10: '11'"),
        ({"NumMedia": "-1"}, "NumMedia must be an integer 0..10: '-1'"),
        ({"NumMedia": " 1"}, "NumMedia must be an integer 0..10: ' 1'"),
        ({"NumMedia": "1", "MediaUrl0": "ftp://x/y", "MediaContentType0": "a/b"},
         "MediaUrl0 is not an http(s) URL: 'ftp://x/y'"),
        ({"NumMedia": "1", "MediaUrl0": "http://[::1", "MediaContentType0": "a/b"},
         "MediaUrl0 is not an http(s) URL: 'http://[::1'"),
        ({"NumMedia": "1", "MediaUrl0": IMAGE, "MediaContentType0": "jpeg"},
         "MediaContentType0 is not a content type: 'jpeg'"),
        ({"NumSegments": "0"}, "NumSegments must be an integer 1..999999: '0'"),
        ({"NumSegments": "1.5"}, "NumSegments must be an integer 1..999999: '1.5'"),
        ({"AccountSid": "AC123"}, "AccountSid is not an AC account SID: 'AC123'"),
        ({"MessagingServiceSid": "MGx"},
         "MessagingServiceSid is not an MG messaging service SID: 'MGx'"),
    ],
)  # fmt: skip
def test_inconsistent_fields_are_rejected(fields: dict[str, str], reason: str) -> None:
    assert reason_of(twilio_form(**fields)) == reason


def test_unknown_fields_are_ignored() -> None:
    form = twilio_form(AddOns='{"status":"successful"}', NewField="x", MediaUrl="y")
    assert parse_inbound(form) == parse_inbound(twilio_form())


def test_a_reason_is_one_short_line() -> None:
    reason = reason_of(twilio_form(From="+1\n" + "9" * 5000))
    assert "\n" not in reason
    assert len(reason) < 120
    assert reason.endswith("... (5003 chars)")


def test_an_invalid_inbound_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="To is missing"):
        parse_inbound({"MessageSid": SID, "From": CUSTOMER})


KNOWN = [
    "MessageSid",
    "SmsSid",
    "AccountSid",
    "MessagingServiceSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "NumSegments",
    *(f"MediaUrl{n}" for n in range(12)),
    *(f"MediaContentType{n}" for n in range(12)),
    "MediaUrl01",
]
GOOD = [
    SID,
    MMS_SID,
    ACCOUNT,
    SERVICE,
    CUSTOMER,
    BUSINESS,
    IMAGE,
    "image/png",
    "0",
    "1",
    "2",
    "10",
    "",
]


@PROPERTY
@given(
    st.dictionaries(
        keys=st.one_of(st.sampled_from(KNOWN), st.text(max_size=20)),
        values=st.one_of(st.sampled_from(GOOD), st.text()),
        max_size=20,
    )
)
def test_only_invalid_inbound_is_ever_raised(form: dict[str, str]) -> None:
    parses_or_says_why(form)


def parses_or_says_why(form: dict[str, str]) -> None:
    try:
        sms = parse_inbound(form)
    except InvalidInbound as error:
        assert error.reason and "\n" not in error.reason
        assert len(error.reason) < 200
    else:
        assert sms.message_sid == form["MessageSid"]
        assert len(sms.media) == int(form.get("NumMedia") or 0)


@PROPERTY
@given(
    st.dictionaries(
        keys=st.text(max_size=20).filter(lambda k: k not in twilio_form()),
        values=st.text(),
        max_size=10,
    ).filter(lambda extra: not any(k.startswith("Media") for k in extra))
)
def test_extra_fields_never_change_the_result(extra: dict[str, str]) -> None:
    assert parse_inbound({**extra, **twilio_form()}) == parse_inbound(twilio_form())


@PROPERTY
@given(
    st.dictionaries(
        keys=st.sampled_from(KNOWN),
        values=st.one_of(st.sampled_from(GOOD), st.text()),
        max_size=6,
    ),
    st.sets(st.sampled_from(sorted(twilio_form())), max_size=3),
)
def test_a_mangled_real_payload_raises_only_invalid_inbound(
    changes: dict[str, str], dropped: set[str]
) -> None:
    form = {k: v for k, v in twilio_form(**changes).items() if k not in dropped}
    parses_or_says_why(form)
