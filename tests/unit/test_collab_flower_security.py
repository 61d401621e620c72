"""The Flower engine's credentials and security settings, without starting Flower."""

from __future__ import annotations

import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from kdcs.collab import CollabConfig
from kdcs.collab.flower.credentials import make_node_keys, make_tls_files
from kdcs.collab.flower.security import FlowerSecurity
from kdcs.collab.validation import validate_collab_config
from kdcs.config import ConfigError, load_config

NODES = "nodes=[{name: n1}, {name: n2}]"


def test_the_superlink_certificate_is_signed_by_the_ca_for_the_hosts_named(tmp_path):
    files = make_tls_files(tmp_path, ["hostA.example", "10.0.0.5"])

    ca = x509.load_pem_x509_certificate(files.ca_certfile.read_bytes())
    server = x509.load_pem_x509_certificate(files.certfile.read_bytes())
    server.verify_directly_issued_by(ca)  # raises unless ca signed it
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["hostA.example"]
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["10.0.0.5"]
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert stat.S_IMODE(files.keyfile.stat().st_mode) == 0o600


def test_a_node_key_pair_is_what_flower_reads(tmp_path):
    private, public = make_node_keys(tmp_path, "n1")

    key = serialization.load_ssh_private_key(private.read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1"
    assert (
        serialization.load_ssh_public_key(public.read_bytes()).public_numbers()
        == key.public_key().public_numbers()
    )
    assert stat.S_IMODE(private.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (["flower.node_auth=true"], "'flower.node_auth' needs TLS"),
        (["flower.host=0.0.0.0"], "'flower.host' (0.0.0.0) opens the SuperLink"),
        (["flower.tls=auto", "flower.superlink=hostA:9093"], "'flower.tls': auto makes a throw-away CA"),
        (["flower.tls=files"], "'flower.ca_certfile' must name a file"),
        (["flower.tls=files", "flower.ca_certfile=/nowhere/ca.crt"], "/nowhere/ca.crt does not exist"),
        (["flower.tls_hosts=[hostA]"], "'flower.tls_hosts' applies to flower.tls=auto only"),
    ],
)
def test_settings_that_cannot_work_are_refused_naming_the_key(tmp_path, overrides, words):
    config = load_config(
        CollabConfig(), overrides=[f"data.scenario={tmp_path}", "engine=flower", NODES, *overrides]
    )
    with pytest.raises(ConfigError) as caught:
        validate_collab_config(config)
    assert words in str(caught.value)


def test_each_process_gets_the_arguments_of_its_role(tmp_path):
    config = load_config(CollabConfig(), overrides=[NODES, "flower.tls=auto", "flower.node_auth=true"])

    security = FlowerSecurity.prepare(config.flower, ["n1", "n2"], tmp_path)

    superlink = security.superlink_args()
    assert superlink[superlink.index("--ssl-ca-certfile") + 1] == str(tmp_path / "ca.crt")
    assert "--enable-supernode-auth" in superlink and "--insecure" not in superlink
    assert security.supernode_args("n2") == [
        "--root-certificates", str(tmp_path / "ca.crt"), "--auth-supernode-private-key", str(tmp_path / "n2.key"),
    ]  # fmt: skip
    assert FlowerSecurity().superlink_args() == ["--insecure"] == FlowerSecurity().supernode_args("n1")
