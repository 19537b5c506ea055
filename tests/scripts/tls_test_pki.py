#!/usr/bin/env python3
"""Writes a throwaway PKI for the wss:// tests into a folder (needs `cryptography`).

usage: tls_test_pki.py OUT_DIR

    ca.pem            a CA certificate (ECDSA P-256), the one the tests trust
    server.pem        a server certificate for DNS localhost and IP 127.0.0.1, signed by the CA
    server.key        its private key (PKCS#8)
    wrong-name.pem    a server certificate for DNS wrong-name.invalid only, signed by the CA
    wrong-name.key    its private key
    other-ca.pem      a second CA that signed nothing the servers present (trusting only it
                      must fail with an unknown issuer)

Certificates are valid from an hour ago for two days. Nothing here is secret or reused:
each run makes new keys.
"""

from __future__ import annotations

import datetime
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(common_name: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "wirestate tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    return (builder.not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2)))


def make_ca(common_name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = name(common_name)
    cert = (
        validity(x509.CertificateBuilder())
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def make_leaf(ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey,
              names: list[x509.GeneralName]) -> tuple[x509.Certificate,
                                                      ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        validity(x509.CertificateBuilder())
        .subject_name(name(str(names[0].value)))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)

    ca, ca_key = make_ca("wirestate test CA")
    server, server_key = make_leaf(ca, ca_key, [
        x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    wrong, wrong_key = make_leaf(ca, ca_key, [x509.DNSName("wrong-name.invalid")])
    other_ca, _ = make_ca("wirestate test CA nobody uses")

    write(out / "ca.pem", cert_pem(ca))
    write(out / "server.pem", cert_pem(server))
    write(out / "server.key", key_pem(server_key))
    write(out / "wrong-name.pem", cert_pem(wrong))
    write(out / "wrong-name.key", key_pem(wrong_key))
    write(out / "other-ca.pem", cert_pem(other_ca))
    return 0


if __name__ == "__main__":
    sys.exit(main())
