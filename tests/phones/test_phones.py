"""``normalize_phones`` reaches libphonenumber's verdict for every input, set-wise."""

from __future__ import annotations

import math

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from phonenumbers import phonenumberutil as pnu
from phonenumbers.phonemetadata import PhoneMetadata

from campaign_sdk import LeadValidationError
from campaign_sdk.phones import (
    E164_MAX_DIGITS,
    PhoneNumberError,
    normalize_phone,
    normalize_phones,
    phone_text,
)

Verdict = tuple[str | None, str | None, int | None]


def reference(raw: str | None, region: str | None) -> Verdict:
    """phonenumbers itself, one value at a time, around normalize_phone's preprocessing."""
    if raw is None:
        return None, "missing_phone", None
    text, international = phone_text(raw)
    if not text:
        return None, "missing_phone", None
    if not international and region is None:
        return None, "no_region", None
    try:
        parsed = phonenumbers.parse(text, None if international else region)
    except phonenumbers.NumberParseException as exc:
        return None, "unparseable_phone", exc.error_type
    if not phonenumbers.is_valid_number(parsed):
        return None, "invalid_phone", None
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return (None, "phone_too_long", None) if len(e164) - 1 > E164_MAX_DIGITS else (e164, None, None)


def verdicts(values: list[str | None], region: str | None) -> list[Verdict]:
    result = normalize_phones(values, region)
    return [
        (e164, code or None, None if detail < 0 else detail)
        for e164, code, detail in zip(result.e164.to_pylist(), result.codes().tolist(), result.detail.tolist())
    ]


def assert_agrees(values: list[str | None], region: str | None) -> None:
    got = verdicts(values, region)
    want = [reference(v, region) for v in values]
    wrong = [(v, g, w) for v, g, w in zip(values, got, want) if g != w]
    assert not wrong, f"region {region}: {wrong[:5]}"


REGIONS = [None, "US", "GB", "DE", "FR", "IT", "AR", "BR", "MX", "JP", "IN", "RU", "KZ", "AG", "CA", "AU", "GG", "NG", "SM"]
CODES = sorted(pnu.COUNTRY_CODE_TO_REGION_CODE)
digits = st.text(alphabet="0123456789", min_size=0, max_size=18)
punctuation = st.sampled_from(["", "", " ", "-", ".", "(", ")", "/", "\u00a0", "  "])
prefix = st.sampled_from(["", "+", "00", "011", "0", "1", "8", "810", "0011", "whatsapp:", " WhatsApp: +", "tel:", "sms: "])


@st.composite
def structured(draw: st.DrawFn) -> str:
    """A prefix, maybe a real calling code, then digits with punctuation sprinkled in."""
    code = draw(st.one_of(st.just(""), st.sampled_from(CODES).map(str)))
    body = draw(prefix) + code + draw(digits)
    out = []
    for ch in body:
        out.append(draw(punctuation) if draw(st.integers(0, 4)) == 0 else "")
        out.append(ch)
    return "".join(out)


@st.composite
def mutated_example(draw: st.DrawFn) -> str:
    """A region's example number, its tail changed, written in one of the usual formats."""
    region = draw(st.sampled_from(sorted(pnu.SUPPORTED_REGIONS)))
    kind = draw(st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                                 phonenumbers.PhoneNumberType.TOLL_FREE]))
    example = phonenumbers.example_number_for_type(region, kind)
    if example is None:
        return draw(digits)
    national = str(example.national_number)
    cut = draw(st.integers(0, min(4, len(national))))
    national = national[: len(national) - cut] + draw(st.text(alphabet="0123456789", min_size=0, max_size=cut + 1))
    form = draw(st.sampled_from(["+{cc}{n}", "00{cc}{n}", "{n}", "0{n}", "{cc}{n}", "+{cc} {n}", "({cc}) {n}"]))
    return form.format(cc=example.country_code, n=national)


phone_like = st.one_of(
    structured(),
    mutated_example(),
    st.text(alphabet="0123456789+-(). x#*/abcSMSwhatsapp:\t\n٣５", max_size=20),
    st.text(max_size=12),
)


def own_code(region: str | None) -> st.SearchStrategy[str]:
    """Digits behind the default region's own calling code (parse's "starts with the country
    code" rule) or its trunk / international prefixes, up to far too long."""
    if region is None:
        return st.just("+1")
    metadata = PhoneMetadata.metadata_for_region(region)
    heads = [str(metadata.country_code), "0", "1", "8", "180020", "011"]
    return st.tuples(st.sampled_from(heads), st.text(alphabet="0123456789", max_size=19)).map("".join)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), region=st.sampled_from(REGIONS))
def test_hypothesis_strings_get_libphonenumbers_verdict(data: st.DataObject, region: str | None) -> None:
    values = data.draw(st.lists(st.one_of(phone_like, own_code(region), st.none()), min_size=1, max_size=40))
    assert_agrees(values, region)


def test_known_tricky_inputs_agree() -> None:
    """Inputs that once told a wrong emulation from the right one."""
    assert_agrees(["44180020712345", "44 180020 712345", "2473755422676192449"], "GG")  # the main region's rules
    assert_agrees(["2473755422676192449", "247057595300702480"], "AC")  # too long with the code: strip it
    assert_agrees(["011 44 20 7946 0958", "0110 44", "011"], "US")  # an IDD, and a 0 after it
    assert_agrees(["+0044 20 7946 0958", "++44 20 7946 0958", "00+44"], None)
    assert_agrees(["0 11 15 1234 5678", "011 15 1234 5678", "15 1234 5678", "9 11 1234 5678"], "AR")


@pytest.mark.slow
@pytest.mark.parametrize("region", ["US", "GB", "AR", "BR", "AG", "SM"])
def test_every_example_number_in_every_format_agrees(region: str) -> None:
    values = []
    for other in sorted(pnu.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                     phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.UAN):
            number = phonenumbers.example_number_for_type(other, kind)
            if number is None:
                continue
            for form in (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                         phonenumbers.PhoneNumberFormat.NATIONAL):
                values.append(phonenumbers.format_number(number, form))
            values.append(str(number.country_code) + str(number.national_number))
    assert_agrees(values, region)


def test_common_shapes_are_normalised_without_the_library() -> None:
    values = ["+14155552671", "(415) 555-2672", "415.555.2673", "1-415-555-2674", "whatsapp:+14155552675",
              "0044 20 7946 0958", "+44 20 7946 0958", "011 44 20 7946 0959", " +1 415 555 2676 "]
    result = normalize_phones(values, "US")
    assert result.e164.to_pylist() == [
        "+14155552671", "+14155552672", "+14155552673", "+14155552674", "+14155552675",
        "+442079460958", "+442079460958", "+442079460959", "+14155552676",
    ]
    assert result.fallback == 0  # all of these went the set-wise way


def test_unusual_shapes_go_to_the_library() -> None:
    result = normalize_phones(["1-800-FLOWERS", "+1 415 555 2671 ext. 12", "٤١٥٥٥٥٢٦٧١"], "US")
    assert result.fallback == 3
    assert result.e164.to_pylist() == ["+18003569377", "+14155552671", "+14155552671"]


def test_reason_codes_and_messages() -> None:
    values = [None, math.nan, "", "  ", "whatsapp:", "4155552671", "+999 1234", "n/a", "+1 415 555", "+4929141777631706"]
    result = normalize_phones(values, None)
    assert list(result.codes()) == [
        "missing_phone", "missing_phone", "missing_phone", "missing_phone", "missing_phone", "no_region",
        "unparseable_phone", "no_region", "invalid_phone", "phone_too_long",
    ]
    messages = result.messages(values, list(range(len(values))))
    assert messages[0] == "the phone number is empty"
    assert "pass default_region" in messages[5]
    assert messages[6] == "'+999 1234' is not a phone number: no known country calling code follows the '+' or international prefix"
    assert "not a valid number for its region" in messages[8]
    assert "more than 15 digits" in messages[9]
    assert list(normalize_phones(["n/a", "12"], "US").codes()) == ["unparseable_phone", "invalid_phone"]


def test_numbers_of_other_types_become_text() -> None:
    result = normalize_phones([14155552671, 4155552671.0, True], "US")
    assert result.e164.to_pylist()[0] == "+14155552671"
    assert list(result.codes()[1:]) == ["invalid_phone", "unparseable_phone"]  # "4155552671.0", "True"


def test_single_number_api_keeps_its_behaviour() -> None:
    assert normalize_phone("whatsapp:+1 (415) 555-2671") == "+14155552671"
    assert normalize_phone("020 7946 0958", "gb") == "+442079460958"  # region case does not matter
    with pytest.raises(PhoneNumberError) as caught:
        normalize_phone("+4929141777631706")
    assert caught.value.code == "phone_too_long"
    with pytest.raises(PhoneNumberError, match="pass default_region") as caught:
        normalize_phone("415 555 2671")
    assert caught.value.code == "no_region"


def test_an_unknown_default_region_is_refused_up_front() -> None:
    with pytest.raises(LeadValidationError, match="'XX' is not a region libphonenumber knows"):
        normalize_phones(["+14155552671"], "XX")
    with pytest.raises(LeadValidationError, match="ISO 3166"):
        normalize_phone("+14155552671", "USA")
