"""Directory servers for rotation tests: a private OpenLDAP `slapd` on free loopback ports,
and Samba as an Active Directory DC provisioned in a temporary directory on 127.0.0.2
(RECIPES.md). Both stopped by PID."""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import ldap3

from .servers import free_port, need, stop, wait_port

SUFFIX = "dc=example,dc=test"
ROOT_DN = f"cn=admin,{SUFFIX}"


def _tls(ca: Path, name: str | None = None) -> ldap3.Tls:
    return ldap3.Tls(
        validate=ssl.CERT_REQUIRED, ca_certs_file=str(ca), valid_names=[name] if name else None
    )


@dataclass
class Slapd:
    root: Path
    root_pw: str = field(default_factory=lambda: f"root-{uuid.uuid4().hex}")
    port: int = 0
    sport: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def cert(self) -> Path:
        return self.root / "cert.pem"

    def start(self) -> None:
        binary = need("/usr/sbin/slapd", "slapd for LDAP rotation")
        need("slapadd", "slapd for LDAP rotation")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
             str(self.root / "key.pem"), "-out", str(self.cert), "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
        (self.root / "db").mkdir()
        schemas = "".join(
            f"include /etc/ldap/schema/{s}.schema\n"
            for s in ("core", "cosine", "nis", "inetorgperson")
        )
        conf = self.root / "slapd.conf"
        conf.write_text(
            schemas
            + f"""modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {self.root}/slapd.pid
TLSCertificateFile {self.cert}
TLSCertificateKeyFile {self.root}/key.pem
database mdb
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {self.root_pw}
directory {self.root}/db
maxsize 104857600
access to attrs=userPassword by self write by anonymous auth by * none
access to * by self write by users read by anonymous auth
"""
        )
        conf.chmod(0o600)
        base = f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n"
        base += "o: Example\ndc: example\n\n"
        base += f"dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n"
        subprocess.run(
            ["slapadd", "-q", "-f", str(conf), "-b", SUFFIX],
            input=base.encode(), check=True, capture_output=True,
        )  # fmt: skip
        self.port, self.sport = free_port(), free_port()
        urls = f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.sport}/"
        log = (self.root / "slapd.log").open("ab")
        self.proc = subprocess.Popen(
            [binary, "-d", "0", "-f", str(conf), "-h", urls],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port("127.0.0.1", self.sport, self.proc)

    def _conn(self, dn: str, password: str) -> ldap3.Connection:
        server = ldap3.Server("127.0.0.1", port=self.sport, use_ssl=True, tls=_tls(self.cert))
        return ldap3.Connection(server, dn, password, raise_exceptions=False)

    def add_user(self, password: str) -> str:
        uid = f"u{uuid.uuid4().hex[:10]}"
        dn = f"uid={uid},ou=people,{SUFFIX}"
        conn = self._conn(ROOT_DN, self.root_pw)
        assert conn.bind()
        assert conn.add(
            dn, ["inetOrgPerson"], {"cn": uid, "sn": uid, "uid": uid, "userPassword": password}
        ), conn.result
        conn.unbind()
        return dn

    def accepts(self, dn: str, password: str) -> bool:
        conn = self._conn(dn, password)
        try:
            return bool(conn.bind())
        finally:
            with contextlib.suppress(Exception):
                conn.unbind()

    def kill(self) -> None:
        stop(self.proc)


REALM = "TEST.EXAMPLE"
DC_NAME = "DC1.test.example"
AD_BASE = "DC=test,DC=example"


@dataclass
class SambaDc:
    root: Path
    host: str = "127.0.0.2"
    admin_pw: str = field(default_factory=lambda: f"Adm1n-{uuid.uuid4().hex[:12]}.x")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def ca(self) -> Path:
        return self.root / "dc" / "private" / "tls" / "ca.pem"

    @property
    def admin(self) -> str:
        return f"Administrator@{REALM.lower()}"

    def start(self) -> None:
        binary = need("/usr/sbin/samba", "a Samba AD DC for Active Directory rotation")
        tool = need("samba-tool", "a Samba AD DC for Active Directory rotation")
        (self.root / "empty.conf").write_text("")
        run = self.root / "run"
        run.mkdir()
        options = {
            "interfaces": f"{self.host}/8",
            "bind interfaces only": "yes",
            "log file": f"{self.root}/log.%m",
            "pid directory": str(run),
            "ncalrpc dir": f"{run}/ncalrpc",
            "winbindd socket directory": f"{run}/winbindd",
            "ntp signd socket directory": f"{run}/ntp_signd",
            "old password allowed period": "0",
            "server services": "ldap, kdc",
        }
        subprocess.run(
            [tool, "domain", "provision", "-s", str(self.root / "empty.conf"),
             f"--targetdir={self.root / 'dc'}", f"--realm={REALM}", "--domain=TEST",
             "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307",
             f"--adminpass={self.admin_pw}", "--host-name=dc1"]
            + [f"--option={k}={v}" for k, v in options.items()],
            check=True, capture_output=True,
        )  # fmt: skip
        subprocess.run(
            [tool, "domain", "passwordsettings", "set", "-H",
             str(self.root / "dc" / "private" / "sam.ldb"), "--min-pwd-age=0",
             "--history-length=0"],
            check=True, capture_output=True,
        )  # fmt: skip
        log = (self.root / "samba.log").open("ab")
        self.proc = subprocess.Popen(
            [binary, "-i", "-M", "single", "-s", str(self.root / "dc" / "etc" / "smb.conf")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        wait_port(self.host, 636, self.proc, timeout=60)

    def _conn(self, user: str, password: str) -> ldap3.Connection:
        server = ldap3.Server(self.host, port=636, use_ssl=True, tls=_tls(self.ca, DC_NAME))
        return ldap3.Connection(server, user, password, raise_exceptions=False)

    def add_user(self, password: str) -> str:
        """A new enabled user; returns its user principal name."""
        name = f"u{uuid.uuid4().hex[:10]}"
        upn = f"{name}@{REALM.lower()}"
        conn = self._conn(self.admin, self.admin_pw)
        assert conn.bind(), conn.result
        dn = f"CN={name},CN=Users,{AD_BASE}"
        ok = conn.add(
            dn,
            ["top", "person", "organizationalPerson", "user"],
            {
                "sAMAccountName": name,
                "userPrincipalName": upn,
                "unicodePwd": f'"{password}"'.encode("utf-16-le"),
                "userAccountControl": 512,
            },
        )
        assert ok, conn.result
        conn.unbind()
        return upn

    def accepts(self, user: str, password: str) -> bool:
        conn = self._conn(user, password)
        try:
            return bool(conn.bind())
        finally:
            with contextlib.suppress(Exception):
                conn.unbind()

    def kill(self) -> None:
        stop(self.proc)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
