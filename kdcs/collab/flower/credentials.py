"""Throw-away TLS and node-authentication credentials for a Flower deployment (`flower.tls=auto`).

Everything is made with the `cryptography` library (no hand-rolled crypto), imported inside the
functions: it takes about 0.2 s to load, which only runs that make credentials should pay:
- a certificate authority: an EC P-384 key and a self-signed CA certificate (ca.crt), valid for
  `VALID_DAYS`; its key is not written anywhere (nothing else is ever signed with it);
- the SuperLink's certificate (superlink.crt, signed by that CA) and key (superlink.key), valid
  for the host names and IP addresses given;
- one EC P-384 key pair per SuperNode for Flower's node authentication: the private key in
  OpenSSH format (`<node>.key`, what `flower-supernode --auth-supernode-private-key` reads) and
  the public key in SSH format (`<node>.pub`, what `flwr supernode register` takes).
Private keys are written with mode 0600. These are for loopback runs and tests; a real
deployment uses its organisation's CA (README, "Deployment").
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kdcs.atomic_files import write_bytes_atomically

if TYPE_CHECKING:
    from cryptography import x509

VALID_DAYS = 30


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the CA certificate every client trusts, and the SuperLink's certificate and key."""

    ca_certfile: Path
    certfile: Path
    keyfile: Path


def _name(common_name: str) -> x509.Name:
    from cryptography import x509  # heavy (~0.2 s): loaded only by runs that make credentials
    from cryptography.x509.oid import NameOID  # (the same)

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_names(hosts: Iterable[str]) -> list[x509.GeneralName]:
    from cryptography import x509  # heavy: loaded only by runs that make credentials

    names: list[x509.GeneralName] = []
    for host in dict.fromkeys(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def _certificate(
    subject: str, public_key, issuer: str, signing_key, *, is_ca: bool, hosts: Iterable[str] = ()
) -> x509.Certificate:
    from cryptography import x509  # heavy: loaded only by runs that make credentials
    from cryptography.hazmat.primitives import hashes  # (the same)

    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # tolerate small clock skew
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
    )
    if hosts:
        builder = builder.add_extension(x509.SubjectAlternativeName(_subject_names(hosts)), critical=False)
    return builder.sign(signing_key, hashes.SHA384())


def _write_private(path: Path, data: bytes) -> None:
    write_bytes_atomically(path, data, mode=0o600)


def make_tls_files(folder: Path, hosts: Iterable[str], authority: str = "kdcs throw-away CA") -> TlsFiles:
    """A fresh CA and a SuperLink certificate valid for `hosts` (names or IP addresses), in `folder`."""
    from cryptography.hazmat.primitives import serialization  # heavy: only runs that make credentials
    from cryptography.hazmat.primitives.asymmetric import ec  # (the same)

    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP384R1())
    ca_cert = _certificate(authority, ca_key.public_key(), authority, ca_key, is_ca=True)
    server_key = ec.generate_private_key(ec.SECP384R1())
    server_cert = _certificate(
        "kdcs superlink", server_key.public_key(), authority, ca_key, is_ca=False,
        hosts=hosts,
    )  # fmt: skip
    files = TlsFiles(folder / "ca.crt", folder / "superlink.crt", folder / "superlink.key")
    write_bytes_atomically(files.ca_certfile, ca_cert.public_bytes(serialization.Encoding.PEM))
    write_bytes_atomically(files.certfile, server_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(
        files.keyfile,
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    return files


def make_node_keys(folder: Path, name: str) -> tuple[Path, Path]:
    """(private key, public key) files of SuperNode `name`: `<name>.key` (OpenSSH), `<name>.pub` (SSH)."""
    from cryptography.hazmat.primitives import serialization  # heavy: only runs that make credentials
    from cryptography.hazmat.primitives.asymmetric import ec  # (the same)

    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    private, public = folder / f"{name}.key", folder / f"{name}.pub"
    _write_private(
        private,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        ),
    )
    ssh_public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    write_bytes_atomically(public, ssh_public + f" kdcs-{name}\n".encode())
    return private, public
