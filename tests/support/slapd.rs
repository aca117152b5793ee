//! A throwaway OpenLDAP server for integration tests.
//!
//! Each [`Slapd`] lives in its own temporary folder: a generated `slapd.conf`,
//! an mdb database seeded with `slapadd`, a pid file and `slapd.log`. The
//! server listens on `ldap://127.0.0.1:<free port>/` (with `tls`, StartTLS
//! there and `ldaps://` on a second port), runs in the foreground
//! (`-d`) as a child of the test, and is killed when the value is dropped.
//!
//! The directory looks like a real one, so that tests meet the real faults:
//! the password policy overlay (lockout, forced change), `lastbind`,
//! `syncprov`, the default `sizelimit 500`, and ACLs under which the
//! reconciler's service account (not the rootDN) reads and writes everything
//! while an ordinary user only reads the address book.
//!
//! Use it from an integration test with
//! `#[path = "support/slapd.rs"] mod slapd;`.
//! slapd runs with `-d none` (errors only, into `slapd.log`); set
//! `HOPTHU_SLAPD_DEBUG` (e.g. `stats`) for more.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The directory suffix of the province.
pub const BASE_DN: &str = "dc=sonla,dc=gov,dc=vn";
/// The rootDN: only for seeding and assertions, never for the code under test.
pub const ADMIN_DN: &str = "cn=admin,dc=sonla,dc=gov,dc=vn";
pub const ADMIN_PASSWORD: &str = "admin-test-only-9f3c";
/// The reconciler's own account: ordinary ACLs, no size limit, a password
/// policy without lockout or expiry.
pub const SERVICE_DN: &str = "cn=hopthu,ou=system,dc=sonla,dc=gov,dc=vn";
pub const SERVICE_PASSWORD: &str = "service-test-only-4b7e";
/// Where people's entries live.
pub const PEOPLE_DN: &str = "ou=people,dc=sonla,dc=gov,dc=vn";
/// The password policy of everyone but the service account.
pub const DEFAULT_POLICY_DN: &str = "cn=default,ou=policies,dc=sonla,dc=gov,dc=vn";
pub const SERVICE_POLICY_DN: &str = "cn=service,ou=policies,dc=sonla,dc=gov,dc=vn";

const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SCHEMA_DIR: &str = "/etc/ldap/schema";
const MODULE_DIR: &str = "/usr/lib/ldap";
const PROJECT_SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/ldap/hopthu.schema");

const READY_TIMEOUT: Duration = Duration::from_secs(15);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
const PORT_ATTEMPTS: usize = 8;

/// How to build the server. `Default` gives the full production-like setup.
#[derive(Clone, Debug)]
pub struct SlapdOptions {
    /// Size limit of the service account; `None` is unlimited. A number makes
    /// its searches (paged ones included) fail with sizeLimitExceeded (4)
    /// past that many entries.
    pub service_size_limit: Option<u32>,
    /// More entries, added with `slapadd` before the server starts. No
    /// overlay runs on them: passwords stay as written, no `pwdChangedTime`.
    pub seed_ldif: String,
    /// Load the ppolicy overlay and seed the password policies.
    pub ppolicy: bool,
    /// Load the lastbind overlay (`authTimestamp`).
    pub lastbind: bool,
    /// TLS: a test CA and a server certificate for 127.0.0.1 (made with the
    /// `openssl` command), StartTLS on the `ldap://` port and a second
    /// `ldaps://` port. See [`Slapd::ca_file`] and [`Slapd::ldaps_url`].
    pub tls: bool,
}

impl Default for SlapdOptions {
    fn default() -> Self {
        SlapdOptions {
            service_size_limit: None,
            seed_ldif: String::new(),
            ppolicy: true,
            lastbind: true,
            tls: false,
        }
    }
}

/// A running (or stopped) throwaway slapd.
pub struct Slapd {
    dir: tempfile::TempDir,
    port: u16,
    /// The `ldaps://` port, 0 without TLS.
    tls_port: u16,
    child: Option<Child>,
}

impl Slapd {
    /// Start a server with the default options.
    pub fn start() -> Slapd {
        Slapd::start_with(SlapdOptions::default())
    }

    /// Write the configuration, seed the database, start the server on a
    /// free port and wait until it answers. Panics with slapd's log on failure.
    pub fn start_with(options: SlapdOptions) -> Slapd {
        let dir = tempfile::Builder::new()
            .prefix("hopthu-slapd-")
            .tempdir()
            .expect("create a temporary folder for slapd");
        let root = dir.path();
        fs::create_dir(root.join("db")).expect("create the database folder");
        if options.tls {
            make_certificates(root);
        }
        fs::write(root.join("slapd.conf"), config(root, &options)).expect("write slapd.conf");
        write_secret(&root.join("admin.pw"), ADMIN_PASSWORD);
        fs::write(root.join("seed.ldif"), seed(&options)).expect("write seed.ldif");

        let out = Command::new(SLAPADD)
            .arg("-f")
            .arg(root.join("slapd.conf"))
            .arg("-l")
            .arg(root.join("seed.ldif"))
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {SLAPADD} (is slapd installed?): {e}"));
        if !out.status.success() {
            panic!(
                "slapadd of the seed failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        let mut slapd = Slapd {
            dir,
            port: 0,
            tls_port: 0,
            child: None,
        };
        for attempt in 1..=PORT_ATTEMPTS {
            slapd.port = free_port();
            if options.tls {
                slapd.tls_port = free_port();
            }
            match slapd.spawn() {
                Ok(()) => return slapd,
                Err(Exit::PortTaken) if attempt < PORT_ATTEMPTS => continue,
                Err(e) => slapd.fail(&format!("slapd did not start: {e:?}")),
            }
        }
        unreachable!()
    }

    /// `ldap://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `ldaps://127.0.0.1:PORT` (only with `tls: true`).
    pub fn ldaps_url(&self) -> String {
        assert!(self.tls_port != 0, "start the server with tls: true");
        format!("ldaps://127.0.0.1:{}", self.tls_port)
    }

    /// The PEM file of the CA that signed the server's certificate (only
    /// with `tls: true`).
    pub fn ca_file(&self) -> PathBuf {
        assert!(self.tls_port != 0, "start the server with tls: true");
        self.dir().join("ca.pem")
    }

    pub fn base_dn(&self) -> &'static str {
        BASE_DN
    }

    pub fn people_dn(&self) -> &'static str {
        PEOPLE_DN
    }

    pub fn admin_dn(&self) -> &'static str {
        ADMIN_DN
    }

    pub fn admin_password(&self) -> &'static str {
        ADMIN_PASSWORD
    }

    pub fn service_dn(&self) -> &'static str {
        SERVICE_DN
    }

    pub fn service_password(&self) -> &'static str {
        SERVICE_PASSWORD
    }

    /// The temporary folder: `slapd.conf`, `db/`, `slapd.log`, ...
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn is_running(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Graceful stop: SIGTERM, then wait for the process to exit.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        signal(&child, "TERM");
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => sleep(Duration::from_millis(5)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    self.fail("slapd did not stop within 10 s of SIGTERM (killed)");
                }
            }
        }
    }

    /// SIGKILL, as if the server died: open connections drop at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stop (if running) and start again on the same port with the same data.
    pub fn restart(&mut self) {
        self.stop();
        // The port may be briefly held by someone who grabbed it meanwhile.
        for attempt in 1..=PORT_ATTEMPTS {
            match self.spawn() {
                Ok(()) => return,
                Err(Exit::PortTaken) if attempt < PORT_ATTEMPTS => {
                    sleep(Duration::from_millis(100))
                }
                Err(e) => self.fail(&format!("slapd did not restart: {e:?}")),
            }
        }
    }

    /// `ldapadd` as the rootDN; panics with the server's message on failure.
    pub fn ldapadd(&self, ldif: &str) {
        self.admin_tool("ldapadd", &[], ldif);
    }

    /// `ldapmodify` as the rootDN; panics with the server's message on failure.
    pub fn ldapmodify(&self, ldif: &str) {
        self.admin_tool("ldapmodify", &[], ldif);
    }

    /// `ldapsearch` as the rootDN under the suffix (subtree): LDIF without
    /// line wrapping. Ask for operational attributes by name or with `+`.
    pub fn ldapsearch(&self, filter: &str, attrs: &[&str]) -> String {
        let mut args = vec!["-LLL", "-o", "ldif-wrap=no", "-b", BASE_DN, filter];
        args.extend_from_slice(attrs);
        self.admin_tool("ldapsearch", &args, "")
    }

    /// Simple bind (with the ppolicy control) through `ldapwhoami`. The error
    /// is the tool's message, e.g. `ldap_bind: Invalid credentials (49);
    /// Account locked`.
    pub fn bind_ok(&self, dn: &str, password: &str) -> Result<(), String> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let file = self
            .dir()
            .join(format!("bind-{}.pw", NEXT.fetch_add(1, Ordering::Relaxed)));
        write_secret(&file, password);
        let url = self.url();
        let out = tool("ldapwhoami")
            .args(["-x", "-e", "ppolicy", "-H", &url, "-D", dn, "-y"])
            .arg(&file)
            .stdin(Stdio::null())
            .output();
        let _ = fs::remove_file(&file);
        let out = out.expect("run ldapwhoami (is ldap-utils installed?)");
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} ({})",
                String::from_utf8_lossy(&out.stderr).trim(),
                out.status
            ))
        }
    }

    /// Everything slapd wrote to its stdout and stderr so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir().join("slapd.log")).unwrap_or_default()
    }

    fn admin_tool(&self, name: &str, args: &[&str], stdin: &str) -> String {
        let url = self.url();
        let mut child = tool(name)
            .args(["-x", "-H", &url, "-D", ADMIN_DN, "-y"])
            .arg(self.dir().join("admin.pw"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {name} (is ldap-utils installed?): {e}"));
        // Feed stdin from a thread: a large LDIF must not deadlock on a full pipe.
        let mut pipe = child.stdin.take().expect("stdin is piped");
        let input = stdin.to_owned();
        let writer = std::thread::spawn(move || pipe.write_all(input.as_bytes()));
        let out = child.wait_with_output().expect("wait for an ldap tool");
        let _ = writer.join();
        if !out.status.success() {
            panic!(
                "{name} {args:?} failed ({}):\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        String::from_utf8(out.stdout).expect("ldap tools print UTF-8")
    }

    /// Start slapd on `self.port` and wait until it is ready: the pid file
    /// names our child and a search as the rootDN succeeds.
    fn spawn(&mut self) -> Result<(), Exit> {
        let root = self.dir.path().to_owned();
        let pid_file = root.join("slapd.pid");
        let _ = fs::remove_file(&pid_file);
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(root.join("slapd.log"))
            .expect("open slapd.log");
        let log_start = log.metadata().map(|m| m.len()).unwrap_or(0);
        // `-d none`: only the messages slapd always logs (start, stop, errors
        // such as "bind(6) failed errno=98"); `-d 0` would hide those too.
        let debug = std::env::var("HOPTHU_SLAPD_DEBUG").unwrap_or_else(|_| "none".into());
        let mut listen = format!("{}/", self.url());
        if self.tls_port != 0 {
            write!(listen, " {}/", self.ldaps_url()).unwrap();
        }
        let child = Command::new(SLAPD)
            .arg("-f")
            .arg(root.join("slapd.conf"))
            .arg("-h")
            .arg(listen)
            // -d keeps slapd in the foreground, our child: we can kill and reap it.
            .args(["-d", &debug])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {SLAPD} (is slapd installed?): {e}"));
        let pid = child.id();
        self.child = Some(child);

        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            let child = self.child.as_mut().expect("just spawned");
            if let Some(status) = child.try_wait().expect("poll slapd") {
                self.child = None;
                let log = self.log();
                let this_run = log.get(log_start as usize..).unwrap_or(&log);
                return Err(if this_run.contains("Address already in use") {
                    Exit::PortTaken
                } else {
                    Exit::Died(status)
                });
            }
            let ours = fs::read_to_string(&pid_file)
                .map(|s| s.trim() == pid.to_string())
                .unwrap_or(false);
            if ours
                && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
                && self.probe()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill();
                self.fail("slapd was not ready within 15 s");
            }
            sleep(Duration::from_millis(10));
        }
    }

    /// One base search of the suffix as the rootDN.
    fn probe(&self) -> bool {
        let url = self.url();
        tool("ldapsearch")
            .args(["-x", "-o", "nettimeout=2", "-H", &url, "-D", ADMIN_DN, "-y"])
            .arg(self.dir().join("admin.pw"))
            .args(["-s", "base", "-b", BASE_DN, "-LLL", "1.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    fn fail(&self, what: &str) -> ! {
        let log = self.log();
        let tail: String = {
            let lines: Vec<&str> = log.lines().collect();
            lines[lines.len().saturating_sub(60)..].join("\n")
        };
        panic!(
            "{what}\nurl: {}\nfolder: {}\nslapd.log (last lines):\n{tail}",
            self.url(),
            self.dir().display()
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug)]
enum Exit {
    PortTaken,
    Died(ExitStatus),
}

/// An ldap-utils command that ignores ldap.conf and ~/.ldaprc.
fn tool(name: &str) -> Command {
    let mut cmd = Command::new(name);
    cmd.env("LDAPNOINIT", "1");
    cmd
}

/// Send a signal by name with the shell's `kill` builtin (no libc needed).
fn signal(child: &Child, name: &str) {
    let _ = Command::new("sh")
        .args(["-c", "kill -s \"$0\" \"$1\""])
        .arg(name)
        .arg(child.id().to_string())
        .stdin(Stdio::null())
        .output();
}

/// A test CA (`ca.pem`) and a server certificate for 127.0.0.1 signed by it
/// (`server.pem`, `server.key`): rustls refuses a self-signed certificate
/// used directly as the server's.
fn make_certificates(root: &Path) {
    fs::write(
        root.join("ca.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = hopthu test CA\n\
         [v3_ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n",
    )
    .expect("write ca.cnf");
    fs::write(
        root.join("server.ext"),
        "basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,DNS:localhost\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
    )
    .expect("write server.ext");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let steps: [Vec<&str>; 3] = [
        [
            &["req", "-x509", "-new"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem", "-days", "3"],
            &["-config", "ca.cnf", "-extensions", "v3_ca"],
        ]
        .concat(),
        [
            &["req", "-new"][..],
            &ec,
            &["-keyout", "server.key", "-out", "server.csr"],
            &["-subj", "/CN=127.0.0.1"],
        ]
        .concat(),
        vec![
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "3",
            "-out",
            "server.pem",
            "-extfile",
            "server.ext",
        ],
    ];
    for args in steps {
        let out = Command::new("openssl")
            .args(&args)
            .current_dir(root)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run openssl (is it installed?): {e}"));
        if !out.status.success() {
            panic!(
                "openssl {args:?} failed ({}):\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// A port that was free a moment ago (slapd may still lose a race for it).
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("bind 127.0.0.1:0")
        .port()
}

/// A file only its owner can read, with exactly `secret` in it (no newline:
/// `-y` takes the whole file as the password).
fn write_secret(path: &Path, secret: &str) {
    let mut file: File = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .expect("write a password file");
    file.write_all(secret.as_bytes())
        .expect("write a password file");
}

fn config(root: &Path, o: &SlapdOptions) -> String {
    let mut c = String::new();
    for schema in ["core", "cosine", "inetorgperson", "nis", "misc"] {
        writeln!(c, "include \"{SCHEMA_DIR}/{schema}.schema\"").unwrap();
    }
    writeln!(c, "include \"{PROJECT_SCHEMA}\"").unwrap();
    let path = |name: &str| -> PathBuf { root.join(name) };
    writeln!(c, "pidfile \"{}\"", path("slapd.pid").display()).unwrap();
    writeln!(c, "argsfile \"{}\"", path("slapd.args").display()).unwrap();
    writeln!(c, "modulepath {MODULE_DIR}").unwrap();
    writeln!(c, "moduleload back_mdb").unwrap();
    if o.ppolicy {
        writeln!(c, "moduleload ppolicy").unwrap();
    }
    if o.lastbind {
        writeln!(c, "moduleload lastbind").unwrap();
    }
    writeln!(c, "moduleload syncprov").unwrap();
    if o.tls {
        writeln!(c, "TLSCACertificateFile \"{}\"", path("ca.pem").display()).unwrap();
        writeln!(c, "TLSCertificateFile \"{}\"", path("server.pem").display()).unwrap();
        writeln!(
            c,
            "TLSCertificateKeyFile \"{}\"",
            path("server.key").display()
        )
        .unwrap();
    }
    // The default, written out: ordinary users get at most 500 entries.
    writeln!(c, "sizelimit 500").unwrap();
    // Frontend: the root DSE and the schema stay readable, as on any server.
    c.push_str("access to dn.base=\"\" by * read\n");
    c.push_str("access to dn.base=\"cn=Subschema\" by * read\n");

    c.push_str("\ndatabase mdb\n");
    // The mdb default map is 10 MiB: bulk loads fail with 80 part way.
    c.push_str("maxsize 1073741824\n");
    c.push_str("dbnosync\n");
    writeln!(c, "suffix \"{BASE_DN}\"").unwrap();
    writeln!(c, "rootdn \"{ADMIN_DN}\"").unwrap();
    writeln!(c, "rootpw \"{ADMIN_PASSWORD}\"").unwrap();
    writeln!(c, "directory \"{}\"", path("db").display()).unwrap();
    c.push_str("index objectClass eq\n");
    c.push_str("index mail,mailLocalAddress,hopthuKey,uid eq\n");
    c.push_str("index entryUUID,entryCSN eq\n");
    let size = o
        .service_size_limit
        .map_or_else(|| "unlimited".to_owned(), |n| n.to_string());
    writeln!(
        c,
        "limits dn.exact=\"{SERVICE_DN}\" size={size} time=unlimited"
    )
    .unwrap();

    // ACLs: first match wins, within a rule the first matching `by`.
    let svc = format!("dn.exact=\"{SERVICE_DN}\"");
    writeln!(
        c,
        "access to attrs=userPassword\n  by {svc} write\n  by self write\n  by anonymous auth\n  by * none"
    )
    .unwrap();
    // Account state that ordinary users must not read about each other.
    let mut private = vec!["hopthuSavedService", "hopthuRecord"];
    if o.ppolicy {
        private.extend([
            "pwdAccountLockedTime",
            "pwdReset",
            "pwdFailureTime",
            "pwdHistory",
            "pwdGraceUseTime",
            "pwdPolicySubentry",
        ]);
    }
    if o.lastbind {
        private.push("authTimestamp");
    }
    writeln!(
        c,
        "access to attrs={}\n  by {svc} write\n  by * none",
        private.join(",")
    )
    .unwrap();
    writeln!(
        c,
        "access to dn.subtree=\"{PEOPLE_DN}\"\n  by {svc} write\n  by users read\n  by * none"
    )
    .unwrap();
    writeln!(c, "access to *\n  by {svc} write\n  by * none").unwrap();

    // Overlays run in reverse order of configuration.
    if o.ppolicy {
        c.push_str("\noverlay ppolicy\n");
        writeln!(c, "ppolicy_default \"{DEFAULT_POLICY_DN}\"").unwrap();
        c.push_str("ppolicy_use_lockout\n");
        c.push_str("ppolicy_hash_cleartext\n");
    }
    if o.lastbind {
        c.push_str("\noverlay lastbind\nlastbind-precision 60\n");
    }
    c.push_str("\noverlay syncprov\nsyncprov-checkpoint 100 10\nsyncprov-sessionlog 1000\n");
    c
}

fn seed(o: &SlapdOptions) -> String {
    let mut s = format!(
        "dn: {BASE_DN}
objectClass: dcObject
objectClass: organization
dc: sonla
o: Tinh Son La

dn: {PEOPLE_DN}
objectClass: organizationalUnit
ou: people

dn: ou=system,{BASE_DN}
objectClass: organizationalUnit
ou: system

dn: ou=policies,{BASE_DN}
objectClass: organizationalUnit
ou: policies

"
    );
    if o.ppolicy {
        write!(
            s,
            "dn: {DEFAULT_POLICY_DN}
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdLockoutDuration: 0
pwdMaxFailure: 5
pwdMustChange: TRUE
pwdAllowUserChange: TRUE
pwdMaxAge: 7776000
pwdMinLength: 8
pwdCheckQuality: 1

dn: {SERVICE_POLICY_DN}
objectClass: device
objectClass: pwdPolicy
cn: service
description: the reconciler's account: no lockout, no expiry
pwdAttribute: userPassword
pwdLockout: FALSE
pwdMaxFailure: 0
pwdMaxAge: 0
pwdMustChange: FALSE
pwdAllowUserChange: FALSE

"
        )
        .unwrap();
    }
    write!(
        s,
        "dn: {SERVICE_DN}
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: hopthu
description: the hopthu reconciler
userPassword: {SERVICE_PASSWORD}
"
    )
    .unwrap();
    if o.ppolicy {
        writeln!(s, "pwdPolicySubentry: {SERVICE_POLICY_DN}").unwrap();
    }
    s.push('\n');
    s.push_str(&o.seed_ldif);
    s
}
