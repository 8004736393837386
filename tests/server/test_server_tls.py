"""TLS: a server with a certificate from a CA made in the test; clients that trust the CA
reveal, clients that do not refuse; plain HTTP never leaves loopback, on either side."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.cli.clikit import CANARY, CRED, Template
from tests.cli.conftest import template_copy
from tests.server.serverkit import Served, free_port, start_server, via_server


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_ca(common: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common))
        .issuer_name(_name(common))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_server_cert(
    ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def write_pem(path: Path, cert: x509.Certificate) -> Path:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a certificate it signed for 127.0.0.1 and its key, and another CA."""
    root = tmp_path_factory.mktemp("pki")
    ca, ca_key = make_ca("custodian test CA")
    cert, key = make_server_cert(ca, ca_key)
    key_file = root / "server.key"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    return {
        "ca": write_pem(root / "ca.pem", ca),
        "cert": write_pem(root / "server.pem", cert),
        "key": key_file,
        "other-ca": write_pem(root / "other-ca.pem", make_ca("another CA")[0]),
    }


@pytest.fixture(scope="module")
def tls_served(
    request: pytest.FixtureRequest,
    template_vault: Template,
    tmp_path_factory: pytest.TempPathFactory,
    pki: dict[str, Path],
) -> Iterator[Served]:
    root = tmp_path_factory.mktemp("tls")
    with template_copy(request, "sqlite", template_vault, root) as copy:
        server = start_server(copy, root, tls=(pki["cert"], pki["key"]), ca_file=pki["ca"])
        try:
            yield server
        finally:
            server.stop()


def test_a_client_that_trusts_the_ca_reveals(tls_served: Served, pki: dict[str, Path]) -> None:
    assert tls_served.url.startswith("https://")
    r = tls_served.get(CRED, CUSTODIAN_CA_FILE=str(pki["ca"]))
    assert r.stdout == CANARY + "\n"


@pytest.mark.parametrize("ca", [None, "other-ca"], ids=["default-cas", "another-ca"])
def test_a_client_that_does_not_trust_the_ca_refuses(
    tls_served: Served, pki: dict[str, Path], ca: str | None
) -> None:
    extra = {"CUSTODIAN_CA_FILE": str(pki[ca])} if ca else {}
    r = tls_served.get(CRED, expect=None, **extra)
    assert r.code != 0  # and one line on stderr: Cli.run checks it
    assert r.stdout == ""
    assert CANARY not in r.stderr


def test_serve_off_loopback_needs_tls(tls_served: Served) -> None:
    r = tls_served.cli.run("serve", "--listen", f"0.0.0.0:{free_port()}", "--quiet", expect=2)
    assert "plain HTTP only on loopback" in r.stderr


@pytest.mark.parametrize("how", ["env", "option"])
def test_a_client_refuses_plain_http_off_loopback(tls_served: Served, how: str) -> None:
    url = "http://192.0.2.1:1"
    env = via_server(tls_served.cli, url, "ben")
    args = ("get", CRED)
    if how == "option":
        del env["CUSTODIAN_URL"]
        args = ("--server", url, *args)
    r = tls_served.cli.run(*args, user="ben", env=env, expect=2)
    assert r.stdout == ""
    assert "https://" in r.stderr
