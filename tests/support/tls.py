"""A test certificate authority made with openssl, and server certificates it signs for loopback servers.

Made the way an operator makes a private CA: ``openssl req -x509`` for the CA, a CSR per server signed with
``openssl x509 -req`` and a subjectAltName for ``127.0.0.1`` and ``localhost`` (Go's TLS, in the registry, and
Python's both check the SAN, not the CN).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    binary = shutil.which("openssl")
    if not binary:
        raise RuntimeError("openssl is not installed: .ci/setup installs it")
    subprocess.run([binary, *args], cwd=cwd, check=True, capture_output=True)


@dataclass(frozen=True)
class ServerCert:
    cert: Path
    key: Path


@dataclass(frozen=True)
class PrivateCA:
    """A CA (``cert``: the file a client trusts) that signs server certificates."""

    root: Path
    cert: Path
    key: Path

    def issue(self, name: str) -> ServerCert:
        """A server certificate for 127.0.0.1 and localhost, signed by this CA."""
        key, csr, cert = (self.root / f"{name}.{ext}" for ext in ("key", "csr", "crt"))
        ext = self.root / f"{name}.ext"
        ext.write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
            "authorityKeyIdentifier=keyid,issuer\nsubjectKeyIdentifier=hash\n"
        )
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                 "-subj", f"/CN={name}", cwd=self.root)
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey", str(self.key),
                 "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(ext), cwd=self.root)
        return ServerCert(cert, key)


def make_ca(root: Path, name: str = "ci-tags test CA") -> PrivateCA:
    root.mkdir(parents=True, exist_ok=True)
    cert, key = root / "ca.crt", root / "ca.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2",
             "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=root)
    return PrivateCA(root, cert, key)
