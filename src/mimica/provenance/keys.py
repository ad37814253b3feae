"""Signing keys for C2PA manifests: a local development CA and a signing certificate it issues.

`mimica keys init` writes them to the user's config folder (never into a project): a certificate that the C2PA
library accepts for claim signing must be issued by a CA (not self-signed), carry the digitalSignature key usage
and an accepted extended key usage (emailProtection here). Manifests signed with it validate; they are *trusted*
only by readers that add this CA to their trust anchors (mimica does, for the CA in its own key folder).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from mimica.atomic import write_atomic
from mimica.errors import SigningError

#: file names inside a key folder
CA_CERT, CA_KEY, SIGNER_CERT, SIGNER_KEY = "ca.pem", "ca.key", "signer.pem", "signer.key"


def default_key_dir() -> Path:
    """$MIMICA_KEYS_DIR, else $XDG_CONFIG_HOME/mimica/keys (~/.config/mimica/keys)."""
    if env := os.environ.get("MIMICA_KEYS_DIR"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mimica" / "keys"


@dataclass(frozen=True)
class SignerFiles:
    """A certificate chain (PEM: signing certificate first, then its CA) and the signing key (PEM, ES256)."""

    cert: Path
    key: Path
    ca: Path | None = None

    def chain_pem(self) -> bytes:
        return self.cert.read_bytes()

    def key_pem(self) -> bytes:
        return self.key.read_bytes()


def find_signer(key_dir: str | Path | None = None) -> SignerFiles | None:
    """The configured signer, or None: $MIMICA_SIGNING_CERT + $MIMICA_SIGNING_KEY, else a key folder."""
    cert, key = os.environ.get("MIMICA_SIGNING_CERT"), os.environ.get("MIMICA_SIGNING_KEY")
    if cert and key:
        c, k = Path(cert).expanduser(), Path(key).expanduser()
        if not c.is_file() or not k.is_file():
            raise SigningError(
                f"MIMICA_SIGNING_CERT={c} or MIMICA_SIGNING_KEY={k} is not a file; fix the variables or unset them"
            )
        return SignerFiles(c, k, None)
    d = Path(key_dir) if key_dir is not None else default_key_dir()
    if (d / SIGNER_CERT).is_file() and (d / SIGNER_KEY).is_file():
        ca = d / CA_CERT
        return SignerFiles(d / SIGNER_CERT, d / SIGNER_KEY, ca if ca.is_file() else None)
    return None


def trust_anchors(key_dir: str | Path | None = None) -> str | None:
    """PEM of the CAs a reader should trust besides the C2PA defaults: $MIMICA_TRUST_ANCHORS (a PEM file) and
    the development CA in the key folder."""
    pems = []
    if env := os.environ.get("MIMICA_TRUST_ANCHORS"):
        p = Path(env).expanduser()
        if p.is_file():
            pems.append(p.read_text())
    d = Path(key_dir) if key_dir is not None else default_key_dir()
    if (d / CA_CERT).is_file():
        pems.append((d / CA_CERT).read_text())
    return "\n".join(pems) if pems else None


def init_keys(
    key_dir: str | Path | None = None, name: str = "mimica local development", force: bool = False
) -> SignerFiles:
    """Creates a development CA and a signing certificate under key_dir (private keys readable by the user only).

    Refuses to overwrite an existing signer unless force is set (manifests signed with the old key would no
    longer chain to the folder's CA).
    """
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    except ImportError as err:
        raise SigningError(f"the cryptography package is missing ({err}); pip install 'mimica[swap]'") from err
    d = Path(key_dir) if key_dir is not None else default_key_dir()
    if (d / SIGNER_KEY).exists() and not force:
        raise SigningError(f"{d}: keys exist already; use them, or pass --force to replace them")
    d.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mimica")]
    )
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{name} signer"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mimica"),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=730))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM

    def private(k: ec.EllipticCurvePrivateKey) -> bytes:
        return k.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    _write(d / CA_KEY, private(ca_key), 0o600)
    _write(d / SIGNER_KEY, private(key), 0o600)
    _write(d / CA_CERT, ca_cert.public_bytes(pem), 0o644)
    _write(d / SIGNER_CERT, cert.public_bytes(pem) + ca_cert.public_bytes(pem), 0o644)
    return SignerFiles(d / SIGNER_CERT, d / SIGNER_KEY, d / CA_CERT)


def _write(path: Path, data: bytes, mode: int) -> None:
    write_atomic(path, data, mode)
