"""A throwaway OpenLDAP server (Debian's slapd) for the directory sign-in tests.

Its own slapd.conf in a temporary directory (mdb backend, the company's base loaded with
``slapadd`` from LDIF), listening only on a loopback port, optionally with StartTLS on a
certificate made for the run. Nothing of the machine's own slapd (if any) is used or touched.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.realservices import free_port, require

SLAPD, SLAPADD = Path("/usr/sbin/slapd"), Path("/usr/sbin/slapadd")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


def require_slapd() -> None:
    require(SLAPD.exists() and SLAPADD.exists(), f"{SLAPD} and {SLAPADD} (apt-get install slapd)")
    require(shutil.which("ldapmodify") is not None and shutil.which("ldapsearch") is not None,
            "ldapmodify and ldapsearch (apt-get install ldap-utils)")


def ldif(entries: list[dict[str, list[str] | str]]) -> str:
    """LDIF text; values that are not plain ASCII are base64 (``attr:: …``) as LDIF requires."""
    blocks = []
    for entry in entries:
        lines = []
        for attr, values in entry.items():
            for value in [values] if isinstance(values, str) else values:
                if value.isascii() and not value.startswith((" ", ":", "<")):
                    lines.append(f"{attr}: {value}")
                else:
                    lines.append(f"{attr}:: {base64.b64encode(value.encode()).decode()}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@dataclass
class Slapd:
    uri: str
    suffix: str
    root_dn: str
    root_password: str
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    def modify(self, text: str) -> None:
        """Change the directory as its administrator would (ldapmodify, LDIF change records)."""
        subprocess.run(["ldapmodify", "-x", "-H", self.uri, "-D", self.root_dn, "-w", self.root_password],
                       input=text.encode(), check=True, capture_output=True, timeout=30)

    def answers(self) -> bool:
        probe = subprocess.run(["ldapsearch", "-x", "-H", self.uri, "-D", self.root_dn, "-w", self.root_password,
                                "-b", self.suffix, "-s", "base", "(objectClass=*)", "dn"],
                               capture_output=True, timeout=10)
        return probe.returncode == 0

    def log(self) -> str:
        path = self.directory / "slapd.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def start_slapd(directory: Path, suffix: str, entries: str, tls: tuple[Path, Path] | None = None) -> Slapd:
    """slapd on 127.0.0.1:<free port> serving ``suffix`` with ``entries`` (LDIF) already loaded."""
    require_slapd()
    data = directory / "data"
    data.mkdir(parents=True)
    root_dn, root_password = f"cn=admin,{suffix}", "directory-admin-password"
    includes = "\n".join(f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS)
    tls_lines = f"TLSCertificateFile {tls[0]}\nTLSCertificateKeyFile {tls[1]}\n" if tls else ""
    conf = directory / "slapd.conf"
    conf.write_text(f"""{includes}
pidfile {directory}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
{tls_lines}
database mdb
maxsize 16777216
suffix "{suffix}"
rootdn "{root_dn}"
rootpw {root_password}
directory {data}
index objectClass eq
index uid,cn,member eq
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
""")
    (directory / "base.ldif").write_text(entries, encoding="utf-8")
    loaded = subprocess.run([str(SLAPADD), "-f", str(conf), "-l", str(directory / "base.ldif")],
                            capture_output=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr.decode(errors="replace")
    port = free_port()
    server = Slapd(f"ldap://127.0.0.1:{port}", suffix, root_dn, root_password, directory)
    with (directory / "slapd.log").open("wb") as log:
        # -d 0: stay in the foreground (a child of the test), log nothing but errors
        server.process = subprocess.Popen([str(SLAPD), "-f", str(conf), "-h", f"{server.uri}/", "-d", "0"],
                                          stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while not server.answers():
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"slapd did not come up on {server.uri}:\n{server.log()}")
        time.sleep(0.1)
    return server
