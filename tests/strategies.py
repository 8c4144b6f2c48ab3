"""Hypothesis strategies for random Eureka models (shared by the codec property tests)."""

from __future__ import annotations

from hypothesis import strategies as st

from eureka.model import (
    AMAZON_CLASS,
    DEFAULT_DATA_CENTER_CLASS,
    ActionType,
    Application,
    Applications,
    DataCenterInfo,
    InstanceInfo,
    InstanceStatus,
    LeaseInfo,
)

# Printable text without XML-illegal control characters; XML 1.0 cannot carry those at all.
_alphabet = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="\r")
text = st.text(_alphabet, min_size=1, max_size=20)
opt_text = st.none() | text
# Metadata keys become XML element names (XStream writes one element per key), so they must be
# valid XML names: letters, digits, '.', '-' and '_' (the latter exercises the `__` name coding).
meta_key = st.from_regex(r"[A-Za-z][A-Za-z0-9._-]{0,12}", fullmatch=True)
app_name = st.from_regex(r"[A-Z][A-Z0-9-]{0,15}", fullmatch=True)
ident = st.from_regex(r"[a-z0-9][a-z0-9.:-]{0,30}", fullmatch=True)
ts = st.integers(min_value=0, max_value=4_102_444_800_000)
port = st.integers(min_value=0, max_value=65535)

lease_infos = st.builds(
    LeaseInfo,
    renewal_interval_in_secs=st.integers(1, 3600),
    duration_in_secs=st.integers(1, 3600),
    registration_timestamp=ts,
    last_renewal_timestamp=ts,
    eviction_timestamp=ts,
    service_up_timestamp=ts,
)

data_center_infos = st.one_of(
    st.builds(
        DataCenterInfo,
        name=st.sampled_from(["MyOwn", "Netflix"]),
        class_name=st.just(DEFAULT_DATA_CENTER_CLASS),
        metadata=st.none(),
    ),
    st.builds(
        DataCenterInfo,
        name=st.just("Amazon"),
        class_name=st.just(AMAZON_CLASS),
        metadata=st.dictionaries(meta_key, text, max_size=5),
    ),
)


@st.composite
def instances(draw: st.DrawFn, app: str | None = None) -> InstanceInfo:
    name = app if app is not None else draw(app_name)
    return InstanceInfo(
        app=name,
        instance_id=draw(ident),
        host_name=draw(ident),
        ip_addr=draw(st.from_regex(r"10\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", fullmatch=True)),
        sid=draw(st.sampled_from(["na", "sid-1"])),
        status=draw(st.sampled_from(list(InstanceStatus))),
        overridden_status=draw(st.sampled_from(list(InstanceStatus))),
        port=draw(port),
        port_enabled=draw(st.booleans()),
        secure_port=draw(port),
        secure_port_enabled=draw(st.booleans()),
        country_id=draw(st.integers(0, 1000)),
        data_center_info=draw(data_center_infos),
        lease_info=draw(lease_infos),
        metadata=draw(st.dictionaries(meta_key, text, max_size=4)),
        app_group_name=draw(st.none() | app_name),
        home_page_url=draw(opt_text),
        status_page_url=draw(opt_text),
        health_check_url=draw(opt_text),
        secure_health_check_url=draw(opt_text),
        vip_address=draw(opt_text),
        secure_vip_address=draw(opt_text),
        is_coordinating_discovery_server=draw(st.booleans()),
        last_updated_timestamp=draw(ts),
        last_dirty_timestamp=draw(ts),
        action_type=draw(st.none() | st.sampled_from(list(ActionType))),
        asg_name=draw(st.none() | ident),
    )


@st.composite
def applications_payloads(draw: st.DrawFn) -> Applications:
    names = draw(st.lists(app_name, unique=True, max_size=4))
    result = Applications(
        version=draw(st.integers(-1, 10_000)),
        apps_hashcode=draw(st.sampled_from(["", "UP_1_", "DOWN_1_UP_2_"])),
    )
    for name in names:
        application = Application(name)
        for instance in draw(st.lists(instances(app=name), max_size=4)):
            application.add_instance(instance)
        result.add_application(application)
    return result
