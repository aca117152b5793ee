//! The `hopthu` command line. Each subcommand only arranges the stages of
//! the library (source -> validate -> plan -> apply); no rule lives here.

use clap::{Parser, Subcommand, ValueEnum};
use hopthu::diagnostics::{self, Format};
use hopthu::model::Language;
use hopthu::schema;
use hopthu::source::FileSet;
use hopthu::tr;
use hopthu::validate::{self, Options, Outcome};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hopthu",
    version,
    about = "Declarative GitOps reconciler for a province's official mail directory"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The day to check dates against (YYYY-MM-DD); today by default.
    #[arg(long, global = true, env = "HOPTHU_TODAY", hide = true)]
    today: Option<chrono::NaiveDate>,
}

#[derive(Clone, Copy, ValueEnum)]
enum OutputFormat {
    Human,
    Json,
    Github,
    /// A GitLab Code Quality report (JSON).
    Gitlab,
}

#[derive(Clone, Copy, ValueEnum)]
enum SuggestFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Lang {
    Vi,
    En,
}

#[derive(Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaName {
    Agency,
    Settings,
}

/// How to reach the live directory. Passwords never go on the command line.
#[derive(clap::Args, Clone)]
struct LiveArgs {
    /// The live directory: ldap://HOST[:PORT], ldaps://HOST[:PORT] or ldif:PATH.
    #[arg(long, env = "HOPTHU_LIVE")]
    live: String,
    /// The DN hopthu binds as (its own service account, not the rootDN).
    #[arg(long, env = "HOPTHU_BIND_DN")]
    bind_dn: Option<String>,
    /// A file holding the bind password (or set HOPTHU_BIND_PASSWORD).
    #[arg(long)]
    bind_password_file: Option<PathBuf>,
    /// Upgrade an ldap:// connection with StartTLS.
    #[arg(long)]
    starttls: bool,
    /// PEM file of the CA that signed the server's certificate.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Override `directory.baseDN` of hopthu.yaml.
    #[arg(long)]
    base_dn: Option<String>,
}

/// The desired state from a git repository instead of a folder.
#[derive(clap::Args, Clone, Default)]
struct GitArgs {
    /// Read the repository from git (a path, file://, https:// or ssh://)
    /// instead of the folder ROOT.
    #[arg(long)]
    git: Option<String>,
    /// The revision to read: a branch, a tag or a commit (default: the
    /// remote's HEAD).
    #[arg(long, requires = "git")]
    rev: Option<String>,
    /// The folder inside the repository that holds hopthu.yaml.
    #[arg(long, requires = "git", default_value = "")]
    git_path: String,
    /// A file holding an https access token (or set HOPTHU_GIT_TOKEN).
    #[arg(long, requires = "git")]
    git_token_file: Option<PathBuf>,
    /// The user name sent with the token (`oauth2` for GitLab).
    #[arg(long, requires = "git")]
    git_username: Option<String>,
    /// A private key for ssh:// (without a passphrase).
    #[arg(long, requires = "git")]
    git_ssh_key: Option<PathBuf>,
    /// known_hosts for ssh://: the server's key must be there.
    #[arg(long, requires = "git")]
    git_known_hosts: Option<PathBuf>,
    /// The local cache of fetched objects (default: ~/.cache/hopthu/git).
    #[arg(long, requires = "git")]
    git_cache: Option<PathBuf>,
}

/// Where a command reads the desired state from.
struct Repo {
    root: PathBuf,
    git: GitArgs,
}

fn git_auth(
    token_file: Option<&Path>,
    username: Option<String>,
    ssh_key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
) -> anyhow::Result<hopthu::git::GitAuth> {
    let token = match (token_file, std::env::var("HOPTHU_GIT_TOKEN")) {
        (Some(f), _) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| {
                    let f = f.display();
                    anyhow::anyhow!(tr!(
                        "không đọc được tệp token git {f}: {e}",
                        "cannot read the git token file {f}: {e}"
                    ))
                })?
                .trim()
                .to_string(),
        ),
        (None, Ok(t)) if !t.is_empty() => Some(t),
        _ => None,
    };
    Ok(hopthu::git::GitAuth {
        token: token.map(hopthu::git::Secret::new),
        username,
        ssh_key,
        known_hosts,
    })
}

fn default_git_cache() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("hopthu/git")
}

impl Repo {
    /// The files, and the revision they are at (for the audit log).
    fn files(&self) -> anyhow::Result<(FileSet, Option<String>)> {
        let Some(url) = &self.git.git else {
            let files = FileSet::read_folder(&self.root).map_err(|e| {
                let root = self.root.display();
                anyhow::anyhow!(tr!(
                    "không đọc được kho {root}: {e}",
                    "cannot read the repository {root}: {e}"
                ))
            })?;
            return Ok((files, hopthu::git::folder_revision(&self.root)));
        };
        let g = &self.git;
        let source = hopthu::git::GitSource {
            url: url.clone(),
            branch: String::new(),
            path: g.git_path.clone(),
            cache: g.git_cache.clone().unwrap_or_else(default_git_cache),
            auth: git_auth(
                g.git_token_file.as_deref(),
                g.git_username.clone(),
                g.git_ssh_key.clone(),
                g.git_known_hosts.clone(),
            )?,
        };
        let rev = g.rev.as_deref().unwrap_or("HEAD");
        let read = || -> Result<(FileSet, Option<String>), hopthu::git::GitError> {
            let (repo, oid) = source.fetch_rev(rev)?;
            let files = hopthu::git::files_at(&repo, oid, &g.git_path)?;
            Ok((files, Some(oid.to_string())))
        };
        // The cache is only a copy: one that cannot be read is fetched
        // again from scratch, once.
        match read() {
            Ok(x) => Ok(x),
            Err(_) if source.forget_cache() => Ok(read()?),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum DriftChoice {
    Correct,
    Report,
}

/// `hopthu run`: each setting here wins over the configuration file.
#[derive(clap::Args)]
struct RunArgs {
    /// A YAML configuration file (see the README); every setting in it can
    /// also be given as a flag.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The git repository: a path, file://, https:// or ssh://.
    #[arg(long)]
    git: Option<String>,
    #[arg(long)]
    branch: Option<String>,
    /// The folder inside the repository that holds hopthu.yaml.
    #[arg(long)]
    path: Option<String>,
    /// How often to look for new commits and drift (30s, 5m, 1h).
    #[arg(long)]
    interval: Option<String>,
    /// A file holding an https access token (or set HOPTHU_GIT_TOKEN).
    #[arg(long)]
    git_token_file: Option<PathBuf>,
    #[arg(long)]
    git_username: Option<String>,
    #[arg(long)]
    git_ssh_key: Option<PathBuf>,
    #[arg(long)]
    git_known_hosts: Option<PathBuf>,
    #[arg(long)]
    git_cache: Option<PathBuf>,
    /// Apply only commits signed (SSH) by a key in this allowed-signers file.
    #[arg(long)]
    allowed_signers: Option<PathBuf>,
    /// The live directory: ldap://, ldaps:// or ldif:PATH.
    #[arg(long, env = "HOPTHU_LIVE")]
    live: Option<String>,
    #[arg(long, env = "HOPTHU_BIND_DN")]
    bind_dn: Option<String>,
    /// A file holding the bind password (or set HOPTHU_BIND_PASSWORD).
    #[arg(long)]
    bind_password_file: Option<PathBuf>,
    #[arg(long)]
    starttls: bool,
    #[arg(long)]
    ca_file: Option<PathBuf>,
    #[arg(long)]
    base_dn: Option<String>,
    /// State, audit log, backups, reports, approvals (default .hopthu).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Initial passwords of new mailboxes (default STATE_DIR/credentials.tsv).
    #[arg(long)]
    credentials_out: Option<PathBuf>,
    /// Remove monthly audit log files older than this many days (at least
    /// 180); all are kept by default.
    #[arg(long)]
    audit_keep_days: Option<u32>,
    /// Serve /healthz, /readyz, /metrics, /status and POST /hooks/git here.
    #[arg(long)]
    listen: Option<String>,
    /// A file holding the webhook secret (or set HOPTHU_WEBHOOK_SECRET).
    #[arg(long)]
    webhook_secret_file: Option<PathBuf>,
    /// What to do about changes made by hand in the directory.
    #[arg(long, value_enum)]
    drift_policy: Option<DriftChoice>,
    /// POST each report as JSON to this URL.
    #[arg(long)]
    notify_url: Option<String>,
    /// One cycle, then exit (0 done, 1 failed).
    #[arg(long)]
    once: bool,
    /// Audit the directory this often after a cycle and push lock and
    /// revoke proposals to the repository as branches (`1d`, `12h`).
    #[arg(long)]
    propose_every: Option<String>,
    /// A login export `address,last_login` for the scheduled audit.
    #[arg(long, requires = "propose_every")]
    logins: Option<PathBuf>,
    #[arg(long, value_enum)]
    lang: Option<Lang>,
}

fn read_secret_file(path: &Path, what: &str) -> anyhow::Result<String> {
    let shown = path.display();
    let text = hopthu::run::read_small(path)
        .map_err(|e| {
            anyhow::anyhow!(tr!(
                "không đọc được tệp {what} {shown}: {e}",
                "cannot read the {what} file {shown}: {e}"
            ))
        })?
        .trim_end_matches(['\n', '\r'])
        .to_string();
    if text.is_empty() {
        anyhow::bail!(tr!(
            "tệp {what} {shown} rỗng",
            "the {what} file {shown} is empty"
        ));
    }
    Ok(text)
}

fn run_config(
    a: RunArgs,
    today: Option<chrono::NaiveDate>,
) -> anyhow::Result<hopthu::run::RunConfig> {
    use hopthu::run::{DriftPolicy, RunFile};
    let f = match &a.config {
        Some(p) => RunFile::read(p).map_err(|e| anyhow::anyhow!(e))?,
        None => RunFile::default(),
    };
    if a.lang.is_none()
        && let Some(l) = f.language
    {
        hopthu::i18n::set(l);
    }
    let url = a.git.or(f.git.url).ok_or_else(|| {
        anyhow::anyhow!(tr!(
            "chưa có kho: hãy cho --git URL hoặc `git.url` trong tệp cấu hình",
            "no repository: give --git URL or `git.url` in the configuration file"
        ))
    })?;
    let live = a.live.or(f.live.url).ok_or_else(|| {
        anyhow::anyhow!(tr!(
            "chưa có thư mục đang chạy: hãy cho --live URL hoặc `live.url` trong tệp cấu hình",
            "no live directory: give --live URL or `live.url` in the configuration file"
        ))
    })?;
    let interval = a
        .interval
        .or(f.git.interval.map(|i| i.text()))
        .map(|s| hopthu::run::parse_duration(&s).map_err(|e| anyhow::anyhow!(e)))
        .transpose()?
        .unwrap_or(std::time::Duration::from_secs(300));
    let state_dir = a
        .state_dir
        .or(f.state_dir)
        .unwrap_or_else(|| PathBuf::from(".hopthu"));
    let bind_dn = a.bind_dn.or(f.live.bind_dn);
    let password = match a.bind_password_file.or(f.live.bind_password_file) {
        Some(p) => Some(read_secret_file(
            &p,
            &tr!("mật khẩu bind", "bind password"),
        )?),
        None => std::env::var("HOPTHU_BIND_PASSWORD").ok(),
    };
    if bind_dn.is_some() && password.is_none() {
        anyhow::bail!(tr!(
            "bind DN cần có mật khẩu: --bind-password-file FILE, `live.bindPasswordFile`, hoặc HOPTHU_BIND_PASSWORD",
            "a bind DN needs a password: --bind-password-file FILE, `live.bindPasswordFile`, or HOPTHU_BIND_PASSWORD"
        ));
    }
    let webhook_secret = match a.webhook_secret_file.or(f.webhook_secret_file) {
        Some(p) => Some(read_secret_file(
            &p,
            &tr!("khóa bí mật webhook", "webhook secret"),
        )?),
        None => std::env::var("HOPTHU_WEBHOOK_SECRET")
            .ok()
            .filter(|s| !s.is_empty()),
    };
    let listen = a
        .listen
        .or(f.listen)
        .map(|l| {
            l.parse::<std::net::SocketAddr>().map_err(|e| {
                anyhow::anyhow!(tr!(
                    "--listen {l}: {e} (hãy viết ADDRESS:PORT, như 127.0.0.1:8080)",
                    "--listen {l}: {e} (write ADDRESS:PORT, like 127.0.0.1:8080)"
                ))
            })
        })
        .transpose()?;
    let token_file = a.git_token_file.or(f.git.token_file);
    let file_propose = f.propose.clone().unwrap_or_default();
    let propose = match a
        .propose_every
        .or(file_propose.every.as_ref().map(|i| i.text()))
    {
        None => None,
        Some(every) => Some(hopthu::run::ProposeSchedule {
            every: hopthu::run::parse_duration(&every).map_err(|e| {
                anyhow::anyhow!(tr!(
                    "lịch kiểm tra và đề xuất (propose every) {every}: {e}",
                    "propose every {every}: {e}"
                ))
            })?,
            logins: a.logins.or(file_propose.logins),
        }),
    };
    let audit_keep_days = a
        .audit_keep_days
        .or(f.audit_keep_days)
        .map(hopthu::audit::check_keep_days)
        .transpose()?;
    Ok(hopthu::run::RunConfig {
        source: hopthu::git::GitSource {
            url,
            branch: a.branch.or(f.git.branch).unwrap_or_else(|| "main".into()),
            path: a.path.or(f.git.path).unwrap_or_default(),
            cache: a
                .git_cache
                .or(f.git.cache)
                .unwrap_or_else(|| state_dir.join("git")),
            auth: git_auth(
                token_file.as_deref(),
                a.git_username.or(f.git.username),
                a.git_ssh_key.or(f.git.ssh_key_file),
                a.git_known_hosts.or(f.git.known_hosts_file),
            )?,
        },
        interval,
        allowed_signers: a.allowed_signers.or(f.git.allowed_signers),
        connect: hopthu::live::ConnectOptions {
            url: live,
            starttls: a.starttls || f.live.starttls,
            ca_file: a.ca_file.or(f.live.ca_file),
            bind_dn,
            bind_password: password,
            concurrency: 64,
        },
        base_dn: a.base_dn.or(f.live.base_dn),
        credentials_out: a
            .credentials_out
            .or(f.credentials_file)
            .unwrap_or_else(|| state_dir.join("credentials.tsv")),
        state_dir,
        audit_keep_days,
        listen,
        webhook_secret: webhook_secret.map(hopthu::git::Secret::new),
        drift_policy: match a.drift_policy {
            Some(DriftChoice::Correct) => DriftPolicy::Correct,
            Some(DriftChoice::Report) => DriftPolicy::Report,
            None => f.drift_policy.unwrap_or_default(),
        },
        notify_url: a.notify_url.or(f.notify_url),
        lang: language(a.lang).or(f.language),
        lock_ttl: std::time::Duration::from_secs(60),
        webhook_quiet: std::time::Duration::from_secs(2),
        webhook_max_wait: std::time::Duration::from_secs(30),
        once: a.once,
        today,
        external_fence: None,
        overrides: Default::default(),
        approve: None,
        propose,
    })
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Table,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Markdown,
    Csv,
    Html,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Human,
    Json,
}

/// The actions the audit log records.
#[derive(Clone, Copy, ValueEnum)]
enum AuditAction {
    Create,
    Rename,
    Update,
    Lock,
    Unlock,
    Delete,
    Adopt,
    Setup,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuditResult {
    Ok,
    Failed,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Human,
    Json,
    Markdown,
}

/// Where `audit` and `propose` read last logins and restores from.
#[derive(clap::Args, Clone)]
struct LifecycleArgs {
    /// A CSV export `address,last_login` from the mail server, instead of
    /// the directory's login attribute.
    #[arg(long)]
    logins: Option<PathBuf>,
    /// Folder of the audit log (restores restart the inactivity clock).
    #[arg(long, default_value = ".hopthu")]
    state_dir: PathBuf,
}

#[derive(Clone, Copy, ValueEnum)]
enum LayoutChoice {
    Standard,
    Iredmail,
}

#[derive(Clone, Copy, ValueEnum)]
enum DiffFormat {
    Text,
    Markdown,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum FlavorChoice {
    Github,
    Gitlab,
    Gitea,
}

#[derive(Clone, Copy, ValueEnum)]
enum AuditFormat {
    Human,
    Markdown,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Check a desired-state repository: syntax, schema and naming rules.
    Validate {
        /// The repository root (holds hopthu.yaml and agencies/).
        #[arg(default_value = ".")]
        root: PathBuf,
        #[command(flatten)]
        git: GitArgs,
        #[arg(long, value_enum, default_value = "human")]
        format: OutputFormat,
        /// Language of the messages (overrides `language` in hopthu.yaml).
        #[arg(long, value_enum)]
        lang: Option<Lang>,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorChoice,
    },
    /// What a pull request asks for, without the live directory: the
    /// mailboxes new, renamed, locked, unlocked, revoked and updated between
    /// two revisions, and the head's validation results.
    Diff {
        /// The folder holding hopthu.yaml, in a git working tree.
        #[arg(default_value = ".")]
        root: PathBuf,
        /// The revision the request starts from (the target branch).
        #[arg(long)]
        base: String,
        /// The revision it asks for: a branch, a tag, a commit, WORKTREE
        /// (the files on disk) or INDEX (the files staged for commit).
        #[arg(long, default_value = "HEAD")]
        head: String,
        #[arg(long, value_enum, default_value = "text")]
        format: DiffFormat,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorChoice,
    },
    /// Write the CODEOWNERS file from `reviewers` in hopthu.yaml.
    Codeowners {
        #[arg(default_value = ".")]
        root: PathBuf,
        /// The file to write (`-` for stdout); by default the CODEOWNERS the
        /// forge already reads, or CODEOWNERS at the top of the repository.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 when the file is missing or differs.
        #[arg(long)]
        check: bool,
        /// The forge whose syntax to write (Gitea uses regular expressions).
        #[arg(long, value_enum, default_value = "github")]
        flavor: FlavorChoice,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Print the address the rules give a person, and free alternatives.
    Suggest {
        /// The full name, family name first ("Nguyễn Văn An").
        name: String,
        /// The agency's abbreviation (skhcn, tohieu...).
        #[arg(long)]
        agency: String,
        /// The repository whose addresses count as taken.
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// The given name, for names written family-last (H'Hen Niê -> H'Hen).
        #[arg(long)]
        given: Option<String>,
        /// The mail domain, when ROOT has no hopthu.yaml.
        #[arg(long)]
        domain: Option<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: SuggestFormat,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Show what it takes for the live directory to match the repository. Writes nothing.
    Plan {
        #[arg(default_value = ".")]
        root: PathBuf,
        #[command(flatten)]
        git: GitArgs,
        #[command(flatten)]
        live: LiveArgs,
        #[arg(long, value_enum, default_value = "human")]
        format: PlanFormat,
        /// Save the plan (with a fingerprint of both inputs) for `apply --plan`.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Exit 0 when there is nothing to change, 2 when there is, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorChoice,
    },
    /// Make the live directory match the repository.
    Apply {
        #[arg(default_value = ".")]
        root: PathBuf,
        #[command(flatten)]
        git: GitArgs,
        #[command(flatten)]
        live: LiveArgs,
        /// Apply exactly this saved plan; refused when either input changed since.
        #[arg(long)]
        plan: Option<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// File for the initial passwords of new mailboxes (mode 0600).
        #[arg(long)]
        credentials_out: Option<PathBuf>,
        /// Release the held deletions whose fingerprint the plan printed.
        #[arg(long)]
        approve_deletes: Option<String>,
        /// Folder for the audit log and the backups of deleted entries.
        #[arg(long, default_value = ".hopthu")]
        state_dir: PathBuf,
        /// Remove monthly audit log files older than this many days (at
        /// least 180); all are kept by default.
        #[arg(long)]
        audit_keep_days: Option<u32>,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
        #[arg(long, value_enum, default_value = "auto")]
        color: ColorChoice,
    },
    /// Take over existing mailboxes that hold addresses the repository
    /// declares, so hopthu manages them from now on.
    Adopt {
        #[arg(default_value = ".")]
        root: PathBuf,
        #[command(flatten)]
        live: LiveArgs,
        /// Adopt without asking (otherwise only list what would be adopted).
        #[arg(long)]
        yes: bool,
        /// Folder of the audit log.
        #[arg(long, default_value = ".hopthu")]
        state_dir: PathBuf,
        /// Remove monthly audit log files older than this many days (at
        /// least 180); all are kept by default.
        #[arg(long)]
        audit_keep_days: Option<u32>,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Check the regulation's lifecycle rules against the live directory:
    /// no login for too long (lock), locked for too long (revoke), never
    /// used, legacy addresses, drift. Writes nothing.
    Audit {
        #[arg(default_value = ".")]
        root: PathBuf,
        #[command(flatten)]
        git: GitArgs,
        #[command(flatten)]
        live: LiveArgs,
        #[command(flatten)]
        lifecycle: LifecycleArgs,
        #[arg(long, value_enum, default_value = "human")]
        format: AuditFormat,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Turn the audit's lock and revoke findings into a commit on a new
    /// branch of the repository (pushed when the remote exists), with a
    /// summary fit to be the pull request's description.
    Propose {
        /// The folder holding hopthu.yaml, in a git working tree (its
        /// files are not touched: the commit is made from the base commit).
        #[arg(default_value = ".")]
        root: PathBuf,
        #[command(flatten)]
        live: LiveArgs,
        #[command(flatten)]
        lifecycle: LifecycleArgs,
        /// The commit to build on (default HEAD).
        #[arg(long)]
        base: Option<String>,
        /// The branch to make (default hopthu/propose/DATE).
        #[arg(long)]
        branch: Option<String>,
        /// The remote to push the branch to, when the repository has it.
        #[arg(long, default_value = "origin")]
        remote: String,
        /// Make the branch but do not push it.
        #[arg(long)]
        no_push: bool,
        /// Write the pull-request description here (default: stdout).
        #[arg(long)]
        summary_out: Option<PathBuf>,
        /// The commit's author name and e-mail.
        #[arg(long, default_value = "hopthu")]
        author_name: String,
        #[arg(long)]
        author_email: Option<String>,
        /// A file holding an https access token for the push (or set HOPTHU_GIT_TOKEN).
        #[arg(long)]
        git_token_file: Option<PathBuf>,
        #[arg(long)]
        git_username: Option<String>,
        /// A private key for pushing over ssh:// (without a passphrase).
        #[arg(long)]
        git_ssh_key: Option<PathBuf>,
        #[arg(long)]
        git_known_hosts: Option<PathBuf>,
        /// Print the result as JSON instead of the summary.
        #[arg(long)]
        json: bool,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Draft a desired-state repository from an existing mail directory
    /// (agencies, units and people from the addresses; addresses the rules
    /// would not give kept as legacy), then, with --adopt, take the entries
    /// over so that the first plan is empty.
    Import {
        #[command(flatten)]
        live: LiveArgs,
        /// The folder to write the repository into (new or empty).
        #[arg(long)]
        out: PathBuf,
        /// The mail domain: only its addresses are imported.
        #[arg(long)]
        domain: String,
        /// The directory's layout.
        #[arg(long, value_enum, default_value = "standard")]
        layout: LayoutChoice,
        /// Adopt the entries once the repository is written, and bring
        /// hopthu's attributes and names in line (audited).
        #[arg(long)]
        adopt: bool,
        /// Folder of the audit log and backups (for --adopt).
        #[arg(long, default_value = ".hopthu")]
        state_dir: PathBuf,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Reconcile continuously from a git repository (fetch, verify,
    /// validate, plan, apply, report), serving health, metrics, status and
    /// a webhook.
    Run(Box<RunArgs>),
    /// Run as a Kubernetes controller of MailDirectory resources.
    Controller {
        /// Watch only this namespace (all namespaces when not given).
        #[arg(long)]
        namespace: Option<String>,
        /// Each MailDirectory's state, audit log, backups, reports and
        /// initial passwords, under NAMESPACE/NAME/ (a persistent volume).
        #[arg(long, default_value = "/var/lib/hopthu")]
        state_dir: PathBuf,
        /// Key and CA files taken from Secrets (a memory-backed volume).
        #[arg(long, default_value = "/tmp/hopthu-secrets")]
        secrets_dir: PathBuf,
        /// Serve /healthz, /readyz, /metrics, /status and POST /hooks/git here.
        #[arg(long, default_value = "0.0.0.0:8080")]
        listen: String,
        /// A file holding the webhook secret (or set HOPTHU_WEBHOOK_SECRET).
        #[arg(long)]
        webhook_secret_file: Option<PathBuf>,
        /// The namespace of the Lease (the pod's own).
        #[arg(long, env = "POD_NAMESPACE", default_value = "hopthu")]
        lease_namespace: String,
        #[arg(long, default_value = "hopthu-controller")]
        lease_name: String,
        /// This replica's name in the Lease (the pod's name).
        #[arg(long, env = "POD_NAME")]
        identity: Option<String>,
    },
    /// Query the audit log: every monthly file and the current one.
    Log {
        /// The audit log (default: STATE_DIR/audit.jsonl, where apply and run write it).
        #[arg(long)]
        audit_log: Option<PathBuf>,
        #[arg(long, default_value = ".hopthu")]
        state_dir: PathBuf,
        /// An address, or the former address of a rename (case does not
        /// matter; a local part alone matches it at any domain).
        #[arg(long)]
        address: Option<String>,
        /// An agency's code or abbreviation.
        #[arg(long)]
        agency: Option<String>,
        /// The repository: matches an agency's people by their key and its
        /// abbreviation (current or former) to its code.
        #[arg(long)]
        root: Option<PathBuf>,
        /// The first day (YYYY-MM-DD, UTC), included.
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// The last day (YYYY-MM-DD, UTC), included.
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        /// Only these actions (repeat the flag, or separate with commas).
        #[arg(long, value_enum, value_delimiter = ',')]
        action: Vec<AuditAction>,
        #[arg(long, value_enum)]
        result: Option<AuditResult>,
        #[arg(long, value_enum, default_value = "table")]
        format: LogFormat,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
        /// First remove the monthly files whose newest record is older than
        /// --keep-days days (at least 180).
        #[arg(long, requires = "keep_days")]
        prune: bool,
        #[arg(long, requires = "prune")]
        keep_days: Option<u32>,
    },
    /// The province's report: mailboxes by status per agency, changes in a
    /// period, open proposals; markdown, CSV or one HTML page.
    Report {
        #[arg(default_value = ".")]
        root: PathBuf,
        /// The audit log (default: STATE_DIR/audit.jsonl).
        #[arg(long)]
        audit_log: Option<PathBuf>,
        #[arg(long, default_value = ".hopthu")]
        state_dir: PathBuf,
        /// The first day of the period (default: the first of this month).
        #[arg(long)]
        since: Option<chrono::NaiveDate>,
        /// The last day of the period, included (default: today).
        #[arg(long)]
        until: Option<chrono::NaiveDate>,
        #[arg(long, value_enum, default_value = "markdown")]
        format: ReportFormat,
        /// Write the report to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Compare the live directory's password policy with hopthu.yaml.
    /// Exit 0 when it matches, 1 on a mismatch, 2 when it cannot be read.
    CheckDirectory {
        #[arg(default_value = ".")]
        root: PathBuf,
        #[command(flatten)]
        git: GitArgs,
        #[command(flatten)]
        live: LiveArgs,
        /// The policy entry that applies to mailboxes (default:
        /// cn=default,ou=policies,BASE, else the only pwdPolicy entry).
        #[arg(long)]
        policy_dn: Option<String>,
        #[arg(long, value_enum, default_value = "human")]
        format: CheckFormat,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Print the MailDirectory CustomResourceDefinition (YAML).
    Crd,
    /// Approve held deletions for `hopthu run`: it releases exactly those
    /// on its next cycle.
    Approve {
        /// The fingerprint the plan, the report or /status printed.
        fingerprint: String,
        /// The runner's state folder.
        #[arg(long, default_value = ".hopthu")]
        state_dir: PathBuf,
        /// Language of the messages.
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Print the JSON Schemas of the format (both, or one), or write them.
    Schema {
        #[arg(value_enum)]
        which: Option<SchemaName>,
        /// Write the schema files into this folder instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
    },
    /// Write the public directory (danh bạ điện tử): a searchable page,
    /// CSV and vCard of the agency and unit mailboxes and the public people.
    Publish {
        #[arg(default_value = ".")]
        root: PathBuf,
        #[command(flatten)]
        git: GitArgs,
        /// The folder to write index.html, danhba.csv and danhba.vcf into
        /// (made when missing; the files in it are replaced).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Carry out an agency's request sheet (CSV or Excel): add, change,
    /// remove, lock or restore people, edited into the agency's file in place.
    Request {
        /// The request sheet: .xlsx, or .csv (UTF-8; `,` or `;`).
        file: PathBuf,
        /// The agency's abbreviation (tohieu, skhcn...) or code.
        #[arg(long)]
        agency: String,
        /// The repository (holds hopthu.yaml and agencies/).
        #[arg(long, default_value = ".")]
        root: PathBuf,
        /// The workbook's sheet to read (the first by default); not for a
        /// CSV file.
        #[arg(long)]
        sheet: Option<String>,
        /// Show the changes and the diff; write nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: SuggestFormat,
        #[arg(long, value_enum)]
        lang: Option<Lang>,
    },
    /// Write a complete, valid repository for Sơn La with synthetic people.
    Generate {
        /// The folder to create (replaced only with --force).
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = hopthu::generate::DEFAULT_PEOPLE)]
        people: usize,
        #[arg(long, default_value_t = hopthu::generate::DEFAULT_SEED)]
        seed: u64,
        #[arg(long, default_value = hopthu::generate::DEFAULT_DOMAIN)]
        domain: String,
        /// Replace OUT when it is an existing, non-empty repository.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    // A mistake on the command line is said in the language it asks for
    // (`--lang en`), Vietnamese otherwise: clap words its errors in English.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let arg_lang = hopthu::cli_text::language_of_args(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => match hopthu::cli_text::render(&e, arg_lang) {
            Some(text) => {
                eprint!("{text}");
                return ExitCode::from(2);
            }
            None => e.exit(),
        },
    };
    // A command whose output goes to `head` ends quietly when the reader
    // stops, as other command-line tools do. The servers (run, controller)
    // keep Rust's default: a closed socket is an error to handle, not a
    // reason to die.
    if !matches!(cli.command, Command::Run(_) | Command::Controller { .. }) {
        // SAFETY: called once, before any thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if let Some(l) = language(lang_flag(&cli.command)) {
        hopthu::i18n::set(l);
    }
    let today = cli
        .today
        .unwrap_or_else(|| chrono::Local::now().date_naive());
    let result = match cli.command {
        Command::Validate {
            root,
            git,
            format,
            lang,
            color,
        } => cmd_validate(&Repo { root, git }, format, lang, color, today),
        Command::Suggest {
            name,
            agency,
            root,
            given,
            domain,
            format,
            lang,
        } => cmd_suggest(SuggestArgs {
            name: &name,
            agency: &agency,
            root: &root,
            given: given.as_deref(),
            domain,
            format,
            lang: language(lang),
            today,
        }),
        Command::Diff {
            root,
            base,
            head,
            format,
            lang,
            color,
        } => cmd_diff(
            &root,
            &base,
            &head,
            format,
            language(lang),
            use_color(color),
            today,
        ),
        Command::Codeowners {
            root,
            out,
            check,
            flavor,
            lang,
        } => cmd_codeowners(&root, out.as_deref(), check, flavor, language(lang), today),
        Command::Schema { which, write } => cmd_schema(which, write.as_deref()),
        Command::Run(args) => run_config(*args, cli.today).and_then(|cfg| {
            let rt = runtime()?;
            match rt.block_on(hopthu::run::run(cfg)) {
                Ok(code) => Ok(ExitCode::from(code)),
                Err(e) => Err(anyhow::anyhow!(e)),
            }
        }),
        Command::Log {
            audit_log: path,
            state_dir,
            address,
            agency,
            root,
            since,
            until,
            action,
            result,
            format,
            lang,
            prune,
            keep_days,
        } => audit_log(&state_dir, path, None).and_then(|log| {
            cmd_log(LogArgs {
                log,
                filter: hopthu::audit_query::Filter {
                    address,
                    agency,
                    since,
                    until,
                    actions: action.iter().map(|a| action_name(*a).to_string()).collect(),
                    result: result.map(|r| match r {
                        AuditResult::Ok => "ok".to_string(),
                        AuditResult::Failed => "failed".to_string(),
                    }),
                },
                root,
                format,
                lang: language(lang),
                prune: if prune { keep_days } else { None },
                today,
                now: clock(cli.today),
            })
        }),
        Command::Report {
            root,
            audit_log: path,
            state_dir,
            since,
            until,
            format,
            out,
            lang,
        } => audit_log(&state_dir, path, None).and_then(|log| {
            cmd_report(ReportArgs {
                root,
                log,
                since,
                until,
                format,
                out,
                lang: language(lang),
                today,
            })
        }),
        Command::CheckDirectory {
            root,
            git,
            live,
            policy_dn,
            format,
            lang,
        } => runtime().and_then(|rt| {
            rt.block_on(cmd_check_directory(
                &Repo { root, git },
                &live,
                policy_dn.as_deref(),
                format,
                language(lang),
                today,
            ))
        }),
        Command::Crd => {
            print!("{}", hopthu::crd::crd_yaml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Controller {
            namespace,
            state_dir,
            secrets_dir,
            listen,
            webhook_secret_file,
            lease_namespace,
            lease_name,
            identity,
        } => (|| {
            let listen = listen
                .parse::<std::net::SocketAddr>()
                .map_err(|e| anyhow::anyhow!("--listen {listen}: {e}"))?;
            let webhook_secret = match webhook_secret_file {
                Some(p) => Some(read_secret_file(
                    &p,
                    &tr!("khóa bí mật webhook", "webhook secret"),
                )?),
                None => std::env::var("HOPTHU_WEBHOOK_SECRET")
                    .ok()
                    .filter(|s| !s.is_empty()),
            };
            let identity = identity.unwrap_or_else(hopthu::writer_lock::holder_id);
            let cfg = hopthu::controller::ControllerConfig {
                namespace,
                state_root: state_dir,
                secrets_dir,
                listen: Some(listen),
                webhook_secret: webhook_secret.map(hopthu::git::Secret::new),
                lease_namespace,
                lease_name,
                identity,
            };
            let rt = runtime()?;
            rt.block_on(hopthu::controller::run(cfg))
                .map_err(|e| anyhow::anyhow!(e))?;
            Ok(ExitCode::SUCCESS)
        })(),
        Command::Approve {
            fingerprint,
            state_dir,
            lang: _,
        } => match hopthu::run::approve(&state_dir, &fingerprint) {
            Ok(()) => {
                println!(
                    "{}",
                    tr!(
                        "đã phê duyệt {fingerprint}: hopthu run sẽ thực hiện đúng các lệnh thu hồi đó ở chu kỳ tiếp theo",
                        "approved {fingerprint}: hopthu run releases exactly those deletions on its next cycle"
                    )
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("hopthu: {}", hopthu::i18n::system_words(&e.to_string()));
                Ok(ExitCode::from(1))
            }
        },
        Command::Plan {
            root,
            git,
            live,
            format,
            out,
            detailed_exitcode,
            lang,
            color,
        } => {
            let result = runtime().and_then(|rt| {
                rt.block_on(cmd_plan(
                    &Repo { root, git },
                    &live,
                    format,
                    out.as_deref(),
                    detailed_exitcode,
                    language(lang),
                    use_color(color),
                    today,
                ))
            });
            // With --detailed-exitcode, 2 means "changes": an error is 1.
            match result {
                Err(e) if detailed_exitcode => {
                    eprintln!("hopthu: {}", hopthu::i18n::system_words(&format!("{e:#}")));
                    Ok(ExitCode::from(1))
                }
                other => other,
            }
        }
        Command::Apply {
            root,
            git,
            live,
            plan,
            yes,
            credentials_out,
            approve_deletes,
            state_dir,
            audit_keep_days,
            lang,
            color,
        } => runtime().and_then(|rt| {
            rt.block_on(cmd_apply(ApplyArgs {
                repo: Repo { root, git },
                live,
                plan,
                yes,
                credentials_out,
                approve_deletes,
                state_dir,
                audit_keep_days,
                lang: language(lang),
                color: use_color(color),
                today,
            }))
        }),
        Command::Adopt {
            root,
            live,
            yes,
            state_dir,
            audit_keep_days,
            lang,
        } => runtime().and_then(|rt| {
            rt.block_on(cmd_adopt(
                &root,
                &live,
                yes,
                audit_log(&state_dir, None, audit_keep_days)?,
                language(lang),
                today,
            ))
        }),
        Command::Import {
            live,
            out,
            domain,
            layout,
            adopt,
            state_dir,
            lang,
        } => runtime().and_then(|rt| {
            rt.block_on(cmd_import(ImportArgs {
                live: &live,
                out: &out,
                domain: &domain,
                layout: match layout {
                    LayoutChoice::Standard => hopthu::layout::LayoutName::Standard,
                    LayoutChoice::Iredmail => hopthu::layout::LayoutName::Iredmail,
                },
                adopt,
                state_dir: &state_dir,
                lang: language(lang).unwrap_or_default(),
                today,
            }))
        }),
        Command::Audit {
            root,
            git,
            live,
            lifecycle,
            format,
            lang,
        } => runtime().and_then(|rt| {
            rt.block_on(cmd_audit(
                &Repo { root, git },
                &live,
                &lifecycle,
                format,
                language(lang),
                today,
            ))
        }),
        Command::Propose {
            root,
            live,
            lifecycle,
            base,
            branch,
            remote,
            no_push,
            summary_out,
            author_name,
            author_email,
            git_token_file,
            git_username,
            git_ssh_key,
            git_known_hosts,
            json,
            lang,
        } => git_auth(
            git_token_file.as_deref(),
            git_username,
            git_ssh_key,
            git_known_hosts,
        )
        .and_then(|auth| {
            let args = ProposeArgs {
                root: &root,
                base: base.as_deref(),
                branch: branch.as_deref(),
                remote: (!no_push).then_some(remote.as_str()),
                summary_out: summary_out.as_deref(),
                author: (author_name, author_email),
                auth,
                json,
            };
            runtime().and_then(|rt| {
                rt.block_on(cmd_propose(args, &live, &lifecycle, language(lang), today))
            })
        }),
        Command::Publish {
            root,
            git,
            out,
            lang,
        } => cmd_publish(&Repo { root, git }, &out, language(lang), today),
        Command::Request {
            file,
            agency,
            root,
            sheet,
            dry_run,
            format,
            lang,
        } => cmd_request(
            &hopthu::request::Request {
                root: &root,
                agency: &agency,
                sheet: &file,
                sheet_name: sheet.as_deref(),
                dry_run,
                lang: language(lang),
                today,
            },
            format,
        ),
        Command::Generate {
            out,
            people,
            seed,
            domain,
            force,
        } => cmd_generate(hopthu::generate::GenerateOptions {
            out,
            people,
            seed,
            domain,
            force,
        }),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hopthu: {}", hopthu::i18n::system_words(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}

/// The audit log: PATH when given, else STATE_DIR/audit.jsonl (where
/// apply, adopt and run write it), with its retention checked.
fn audit_log(
    state_dir: &Path,
    path: Option<PathBuf>,
    keep_days: Option<u32>,
) -> anyhow::Result<hopthu::audit::AuditLog> {
    let path = path.unwrap_or_else(|| state_dir.join("audit.jsonl"));
    Ok(hopthu::audit::AuditLog::new(path).with_keep_days(keep_days)?)
}

/// Now, or the start (UTC) of the day --today names.
fn clock(today: Option<chrono::NaiveDate>) -> chrono::DateTime<chrono::Utc> {
    today
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .unwrap_or_else(chrono::Utc::now)
}

fn action_name(a: AuditAction) -> &'static str {
    match a {
        AuditAction::Create => "create",
        AuditAction::Rename => "rename",
        AuditAction::Update => "update",
        AuditAction::Lock => "lock",
        AuditAction::Unlock => "unlock",
        AuditAction::Delete => "delete",
        AuditAction::Adopt => "adopt",
        AuditAction::Setup => "setup",
    }
}

struct LogArgs {
    log: hopthu::audit::AuditLog,
    filter: hopthu::audit_query::Filter,
    root: Option<PathBuf>,
    format: LogFormat,
    lang: Option<Language>,
    prune: Option<u32>,
    today: chrono::NaiveDate,
    now: chrono::DateTime<chrono::Utc>,
}

fn cmd_log(a: LogArgs) -> anyhow::Result<ExitCode> {
    if let (Some(s), Some(u)) = (a.filter.since, a.filter.until)
        && s > u
    {
        anyhow::bail!(tr!(
            "--since {s} muộn hơn --until {u}",
            "--since {s} is after --until {u}"
        ));
    }
    let mut lang = a.lang.unwrap_or_default();
    let index = match &a.root {
        Some(root) => {
            let outcome = load(root, a.lang, a.today)?;
            lang = outcome.lang;
            if !outcome.is_valid() {
                eprintln!(
                    "{}",
                    match lang {
                        Language::Vi => format!(
                            "cảnh báo: kho {} có {} lỗi (chạy `hopthu validate`); cơ quan của những hộp thư trong phần bị lỗi có thể không nhận ra được",
                            root.display(),
                            outcome.errors()
                        ),
                        Language::En => format!(
                            "warning: the repository {} has {} error(s) (run `hopthu validate`); the agency of mailboxes in the parts with errors may not be told",
                            root.display(),
                            outcome.errors()
                        ),
                    }
                );
            }
            Some(hopthu::audit_query::AgencyIndex::new(&outcome.desired))
        }
        None => None,
    };
    if let Some(days) = a.prune {
        let removed = a.log.prune(a.now, days)?;
        for p in &removed {
            eprintln!(
                "{} {}",
                match lang {
                    Language::Vi => "đã xóa",
                    Language::En => "removed",
                },
                p.display()
            );
        }
        // Pruning alone is housekeeping: what it did, not the whole log.
        let f = &a.filter;
        if f.address.is_none()
            && f.agency.is_none()
            && f.since.is_none()
            && f.until.is_none()
            && f.actions.is_empty()
            && f.result.is_none()
        {
            let n = removed.len();
            println!(
                "{}",
                match lang {
                    Language::Vi => format!("Đã xóa {n} tệp nhật ký tháng quá {days} ngày."),
                    Language::En => format!("Removed {n} monthly log file(s) past {days} days."),
                }
            );
            return Ok(ExitCode::SUCCESS);
        }
    }
    let matcher = a.filter.matcher(index.as_ref());
    if let (Some(agency), Some(root)) = (&a.filter.agency, &a.root)
        && !matcher.agency_known()
    {
        eprintln!(
            "{}",
            match lang {
                Language::Vi => format!(
                    "cảnh báo: kho {} không có cơ quan {agency}; so khớp theo mã và tên viết tắt trong bản ghi",
                    root.display()
                ),
                Language::En => format!(
                    "warning: the repository {} has no agency {agency}; matching the codes and abbreviations in the records",
                    root.display()
                ),
            }
        );
    }
    if !a.log.exists() {
        anyhow::bail!(
            "{}",
            match lang {
                Language::Vi => format!(
                    "không có nhật ký tại {}: hãy chỉ --state-dir hoặc --audit-log",
                    a.log.path.display()
                ),
                Language::En => format!(
                    "there is no audit log at {}: give --state-dir or --audit-log",
                    a.log.path.display()
                ),
            }
        );
    }
    let read = a
        .log
        .read_where(|r| matcher.matches(r))
        .map_err(|e| cannot_read_audit_log(&a.log.path, &e))?;
    warn_damaged_log(&a.log.path, &read);
    let shown = read.records;
    match a.format {
        LogFormat::Json => println!("{}", serde_json::to_string_pretty(&shown)?),
        LogFormat::Table => print!("{}", hopthu::audit_query::render_table(&shown, lang)),
    }
    Ok(ExitCode::SUCCESS)
}

/// Say on stderr how many lines of the log are not records, and where the
/// first are: a history shown without them must not pass for whole.
fn warn_damaged_log(path: &Path, read: &hopthu::audit::LogRead) {
    if read.damaged == 0 {
        return;
    }
    let damaged = read.damaged;
    let path = path.display();
    let mut at = read.damaged_at.join(", ");
    if damaged > read.damaged_at.len() {
        at.push_str(", …");
    }
    eprintln!(
        "{}",
        tr!(
            "cảnh báo: {damaged} dòng của nhật ký {path} không đọc được (hỏng, không phải bản ghi, hoặc thời điểm không có thật): {at}; các bản ghi dưới đây thiếu những dòng đó",
            "warning: {damaged} line(s) of the audit log {path} could not be read (damaged, not records, or a time that does not exist): {at}; the records below lack them"
        )
    );
}

/// Whether `out` is among the repository's agency files, where any file
/// but an Agency makes the repository invalid; said on stderr when it is.
fn inside_agencies(root: &Path, out: &Path) -> bool {
    let inside = matches!(
        (
            root.join(hopthu::source::AGENCIES_DIR).canonicalize(),
            absolute_target(out),
        ),
        (Ok(agencies), Some(target)) if target.starts_with(&agencies)
    );
    if inside {
        let out = out.display();
        eprintln!(
            "hopthu: {}",
            tr!(
                "--out {out} nằm trong thư mục agencies/ của kho; hãy chọn chỗ khác, không ghi gì.",
                "--out {out} is inside the repository's agencies/ folder; choose another place, nothing was written."
            )
        );
    }
    inside
}

struct ReportArgs {
    root: PathBuf,
    log: hopthu::audit::AuditLog,
    since: Option<chrono::NaiveDate>,
    until: Option<chrono::NaiveDate>,
    format: ReportFormat,
    out: Option<PathBuf>,
    lang: Option<Language>,
    today: chrono::NaiveDate,
}

fn cmd_report(a: ReportArgs) -> anyhow::Result<ExitCode> {
    use chrono::Datelike as _;
    let until = a.until.unwrap_or(a.today);
    let since = a
        .since
        .unwrap_or_else(|| until.with_day(1).expect("every month has a first day"));
    if since > until {
        anyhow::bail!(tr!(
            "--since {since} muộn hơn --until {until}",
            "--since {since} is after --until {until}"
        ));
    }
    let repo = Repo {
        root: a.root.clone(),
        git: GitArgs::default(),
    };
    let outcome = match desired_state(&repo, a.lang, a.today)? {
        Ok((o, _)) => o,
        Err(code) => return Ok(code),
    };
    let settings = outcome.settings.as_ref().expect("validated");
    // Only the successful records of the period count: only they are held.
    if !a.log.exists() {
        eprintln!(
            "{}",
            tr!(
                "cảnh báo: không có nhật ký tại {}: số thay đổi trong kỳ đều là 0; hãy chỉ --state-dir hoặc --audit-log nếu nhật ký ở nơi khác",
                "warning: there is no audit log at {}: every count of changes in the period is 0; give --state-dir or --audit-log if the log is elsewhere",
                a.log.path.display()
            )
        );
    }
    let read = a
        .log
        .read_where(|r| r.is_ok() && hopthu::audit_query::in_period(r, Some(since), Some(until)))
        .map_err(|e| cannot_read_audit_log(&a.log.path, &e))?;
    warn_damaged_log(&a.log.path, &read);
    let records = read.records;
    let proposals = hopthu::province_report::open_proposals(&a.root, outcome.lang);
    let report = hopthu::province_report::build(
        &settings.domain,
        &outcome.desired,
        &records,
        since,
        until,
        proposals,
        outcome.lang,
    );
    let text = match a.format {
        ReportFormat::Markdown => report.markdown(),
        ReportFormat::Csv => report.csv(),
        ReportFormat::Html => report.html(),
    };
    if let Some(path) = &a.out
        && inside_agencies(&a.root, path)
    {
        return Ok(ExitCode::from(2));
    }
    match &a.out {
        Some(path) => hopthu::fsutil::write_atomic(path, text.as_bytes()).map_err(|e| {
            let path = path.display();
            anyhow::anyhow!(tr!(
                "không ghi được báo cáo {path}: {e}",
                "cannot write the report {path}: {e}"
            ))
        })?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn cmd_check_directory(
    repo: &Repo,
    live: &LiveArgs,
    policy_dn: Option<&str>,
    format: CheckFormat,
    lang: Option<Language>,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    let (outcome, _) = load_repo(repo, lang, today)?;
    let lang = outcome.lang;
    let Some(settings) = outcome.settings.as_ref() else {
        for d in outcome.diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{}", diagnostics::render_human(d, false, lang));
        }
        eprintln!("{}", summary_line(&outcome));
        return Ok(ExitCode::from(2));
    };
    let base = live.base_dn.clone().unwrap_or_else(|| settings.base_dn());
    let layout = settings.directory.layout;
    let mut dir = match hopthu::live::Directory::connect(&connect_options(live)?).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("hopthu: {}", hopthu::i18n::system_words(&e.to_string()));
            return Ok(ExitCode::from(2));
        }
    };
    let found = hopthu::policy_check::find_policy(&mut dir, &base, policy_dn, layout).await;
    let _ = dir.close().await;
    let entry = match found {
        Ok(e) => e,
        Err(e) => {
            eprintln!("hopthu: {}", e.text(lang));
            return Ok(ExitCode::from(2));
        }
    };
    let result = hopthu::policy_check::compare(&entry, &settings.policy.password, layout, lang);
    match format {
        CheckFormat::Human => print!("{}", hopthu::policy_check::render_human(&result, lang)),
        CheckFormat::Json => {
            let mut v = serde_json::to_value(&result)?;
            v["mismatches"] = result.mismatches().into();
            v["warnings"] = result.warnings().into();
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
    }
    Ok(if result.mismatches() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn language(lang: Option<Lang>) -> Option<Language> {
    lang.map(|l| match l {
        Lang::Vi => Language::Vi,
        Lang::En => Language::En,
    })
}

/// The `--lang` a command was given, for every message it prints.
fn lang_flag(c: &Command) -> Option<Lang> {
    match c {
        Command::Validate { lang, .. }
        | Command::Suggest { lang, .. }
        | Command::Log { lang, .. }
        | Command::Report { lang, .. }
        | Command::CheckDirectory { lang, .. }
        | Command::Approve { lang, .. }
        | Command::Plan { lang, .. }
        | Command::Apply { lang, .. }
        | Command::Adopt { lang, .. }
        | Command::Import { lang, .. }
        | Command::Audit { lang, .. }
        | Command::Propose { lang, .. }
        | Command::Publish { lang, .. }
        | Command::Diff { lang, .. }
        | Command::Codeowners { lang, .. }
        | Command::Request { lang, .. } => *lang,
        Command::Run(a) => a.lang,
        _ => None,
    }
}

fn cannot_read_audit_log(path: &Path, e: &dyn std::fmt::Display) -> anyhow::Error {
    let path = path.display();
    anyhow::anyhow!(tr!(
        "không đọc được nhật ký {path}: {e}",
        "cannot read the audit log {path}: {e}"
    ))
}

fn load(root: &Path, lang: Option<Language>, today: chrono::NaiveDate) -> anyhow::Result<Outcome> {
    let repo = Repo {
        root: root.to_path_buf(),
        git: GitArgs::default(),
    };
    Ok(load_repo(&repo, lang, today)?.0)
}

/// Validate the repository wherever it is; with the revision it is at.
fn load_repo(
    repo: &Repo,
    lang: Option<Language>,
    today: chrono::NaiveDate,
) -> anyhow::Result<(Outcome, Option<String>)> {
    let (files, revision) = repo.files()?;
    let validators = schema::Validators::new();
    let outcome = validate::validate(&files, &validators, &Options { lang, today });
    // The repository's language, unless --lang said otherwise.
    hopthu::i18n::set(outcome.lang);
    Ok((outcome, revision))
}

fn cmd_validate(
    repo: &Repo,
    format: OutputFormat,
    lang: Option<Lang>,
    color: ColorChoice,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    let (outcome, _) = load_repo(repo, language(lang), today)?;
    let format = match format {
        OutputFormat::Human => Format::Human,
        OutputFormat::Json => Format::Json,
        OutputFormat::Github => Format::Github,
        OutputFormat::Gitlab => Format::Gitlab,
    };
    // Annotations and reports name files from the top of the git
    // repository, which ROOT may be a folder of.
    let prefix = || match &repo.git.git {
        Some(_) => repo.git.git_path.trim_matches('/').to_string(),
        None => hopthu::codeowners::repository_top(&repo.root)
            .map(|(_, p)| p)
            .unwrap_or_default(),
    };
    let stdout = std::io::stdout();
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut out = stdout.lock();
    match format {
        Format::Json => writeln!(
            out,
            "{}",
            diagnostics::render_json(&outcome.diagnostics, outcome.omitted)
        )?,
        Format::Github => {
            let prefix = prefix();
            for d in &outcome.diagnostics {
                let mut d = d.clone();
                if !prefix.is_empty() {
                    d.file = format!("{prefix}/{}", d.file);
                }
                writeln!(out, "{}", diagnostics::render_github(&d))?;
            }
        }
        Format::Gitlab => writeln!(
            out,
            "{}",
            diagnostics::render_gitlab(&outcome.diagnostics, &prefix())
        )?,
        Format::Human => {
            for d in &outcome.diagnostics {
                writeln!(out, "{}", diagnostics::render_human(d, color, outcome.lang))?;
            }
            writeln!(out, "{}", summary_line(&outcome))?;
        }
    }
    // A repository whose files could not be read is an I/O problem, not a
    // verdict about its content.
    if outcome.diagnostics.iter().any(|d| d.code == "E001") {
        return Ok(ExitCode::from(2));
    }
    Ok(if outcome.is_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn summary_line(o: &Outcome) -> String {
    let agencies = o
        .desired
        .iter()
        .filter(|m| m.kind == hopthu::desired::MailboxKind::Agency)
        .count();
    let mailboxes = o.desired.len();
    match (o.lang, o.is_valid()) {
        (Language::Vi, true) => format!(
            "Hợp lệ: {agencies} cơ quan, {mailboxes} hộp thư; {} cảnh báo.",
            o.warnings()
        ),
        (Language::Vi, false) => format!(
            "Không hợp lệ: {} lỗi, {} cảnh báo.",
            o.errors(),
            o.warnings()
        ),
        (Language::En, true) => format!(
            "Valid: {agencies} {}, {mailboxes} {}; {} warning(s).",
            if agencies == 1 { "agency" } else { "agencies" },
            if mailboxes == 1 {
                "mailbox"
            } else {
                "mailboxes"
            },
            o.warnings()
        ),
        (Language::En, false) => format!(
            "Invalid: {} error(s), {} warning(s).",
            o.errors(),
            o.warnings()
        ),
    }
}

struct SuggestArgs<'a> {
    name: &'a str,
    agency: &'a str,
    root: &'a Path,
    given: Option<&'a str>,
    domain: Option<String>,
    format: SuggestFormat,
    lang: Option<Language>,
    today: chrono::NaiveDate,
}

fn cmd_suggest(a: SuggestArgs<'_>) -> anyhow::Result<ExitCode> {
    let SuggestArgs {
        name,
        agency,
        root,
        given,
        domain,
        format,
        lang,
        today,
    } = a;
    let agency = agency.to_ascii_lowercase();
    let mut shown_lang = lang.unwrap_or(Language::Vi);
    let (domain, in_use) = if root.join(hopthu::source::SETTINGS_FILE).exists() {
        let outcome = load(root, lang, today)?;
        shown_lang = outcome.lang;
        // Files with errors hold addresses the check below cannot see.
        if !outcome.is_valid() {
            eprintln!(
                "{}",
                match shown_lang {
                    Language::Vi => format!(
                        "cảnh báo: kho có {} lỗi (chạy `hopthu validate`); địa chỉ trong những phần bị lỗi có thể không được tính là đã có người dùng",
                        outcome.errors()
                    ),
                    Language::En => format!(
                        "warning: the repository has {} error(s) (run `hopthu validate`); addresses in the parts with errors may not be counted as taken",
                        outcome.errors()
                    ),
                }
            );
        }
        // A typo or a former abbreviation is worth saying, but the address
        // the rules give is still the answer asked for.
        if let Err(e) = hopthu::suggest::check_agency(&outcome.desired, &agency) {
            let label = match shown_lang {
                Language::Vi => "cảnh báo",
                Language::En => "warning",
            };
            eprintln!("{label}: {}", e.text(shown_lang));
        }
        let domain = domain
            .or(outcome.settings.as_ref().map(|s| s.domain.clone()))
            .ok_or_else(|| {
                let root = root.display();
                anyhow::anyhow!(tr!(
                    "{root}/hopthu.yaml không có tên miền hợp lệ; hãy chạy `hopthu validate` hoặc cho --domain",
                    "{root}/hopthu.yaml has no valid domain; run `hopthu validate` or pass --domain"
                ))
            })?;
        (domain, hopthu::suggest::locals_in_use(&outcome.desired))
    } else {
        let domain = domain.ok_or_else(|| {
            let root = root.display();
            anyhow::anyhow!(tr!(
                "không có hopthu.yaml trong {root}: hãy cho --root REPOSITORY hoặc --domain DOMAIN",
                "no hopthu.yaml in {root}: pass --root REPOSITORY or --domain DOMAIN"
            ))
        })?;
        (domain, Default::default())
    };
    let s = hopthu::suggest::suggest(name, given, &agency, &domain, &in_use, 5)
        .map_err(|e| anyhow::anyhow!("{}", e.text(shown_lang)))?;
    match format {
        SuggestFormat::Json => println!("{}", serde_json::to_string(&s)?),
        SuggestFormat::Text => {
            println!("{}", s.address);
            if s.taken {
                println!(
                    "{}",
                    match shown_lang {
                        Language::Vi => "đã có người dùng; các địa chỉ còn trống:",
                        Language::En => "taken; free alternatives:",
                    }
                );
                for a in &s.alternatives {
                    println!("  {a}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn cmd_request(
    req: &hopthu::request::Request<'_>,
    format: SuggestFormat,
) -> anyhow::Result<ExitCode> {
    use hopthu::request::RequestError;
    match hopthu::request::run(req) {
        Ok(report) => {
            match format {
                SuggestFormat::Json => println!("{}", report.json()),
                SuggestFormat::Text => print!("{}", report.text()),
            }
            Ok(ExitCode::from(report.exit_code()))
        }
        Err(RequestError::Invalid(why)) => {
            eprintln!("{why}");
            Ok(ExitCode::from(1))
        }
        Err(RequestError::Usage(why)) => Err(anyhow::anyhow!(why)),
    }
}

fn cmd_schema(which: Option<SchemaName>, write: Option<&Path>) -> anyhow::Result<ExitCode> {
    if let Some(dir) = write {
        std::fs::create_dir_all(dir)?;
        for (name, text) in schema::files() {
            std::fs::write(dir.join(name), text)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let files = schema::files();
    let pick = |n: &str| files.iter().find(|(f, _)| *f == n).map(|(_, t)| t.clone());
    match which {
        Some(SchemaName::Agency) => {
            print!("{}", pick(schema::AGENCY_SCHEMA_FILE).unwrap_or_default())
        }
        Some(SchemaName::Settings) => {
            print!("{}", pick(schema::SETTINGS_SCHEMA_FILE).unwrap_or_default())
        }
        None => {
            let all: serde_json::Map<String, serde_json::Value> = [
                (schema::AGENCY_SCHEMA_FILE, schema::agency_schema()),
                (schema::SETTINGS_SCHEMA_FILE, schema::settings_schema()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            println!("{}", serde_json::to_string_pretty(&all)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn use_color(c: ColorChoice) -> bool {
    match c {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    }
}

/// Validate the repository; print its errors and stop when it is invalid.
fn desired_state(
    repo: &Repo,
    lang: Option<Language>,
    today: chrono::NaiveDate,
) -> anyhow::Result<Result<(Outcome, Option<String>), ExitCode>> {
    let (outcome, revision) = load_repo(repo, lang, today)?;
    if !outcome.is_valid() || outcome.settings.is_none() {
        for d in outcome.diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{}", diagnostics::render_human(d, false, outcome.lang));
        }
        eprintln!("{}", summary_line(&outcome));
        return Ok(Err(ExitCode::from(1)));
    }
    Ok(Ok((outcome, revision)))
}

fn connect_options(live: &LiveArgs) -> anyhow::Result<hopthu::live::ConnectOptions> {
    let password = match (
        &live.bind_password_file,
        std::env::var("HOPTHU_BIND_PASSWORD"),
    ) {
        (Some(f), _) => {
            let text = std::fs::read_to_string(f).map_err(|e| {
                let f = f.display();
                anyhow::anyhow!(tr!(
                    "không đọc được tệp mật khẩu bind {f}: {e}",
                    "cannot read the bind password file {f}: {e}"
                ))
            })?;
            Some(text.trim_end_matches(['\n', '\r']).to_string())
        }
        (None, Ok(p)) => Some(p),
        (None, Err(_)) => None,
    };
    if live.bind_dn.is_none() && live.bind_password_file.is_some() {
        anyhow::bail!(tr!(
            "--bind-password-file cần --bind-dn (hoặc HOPTHU_BIND_DN): thiếu nó hopthu sẽ kết nối ẩn danh",
            "--bind-password-file needs --bind-dn (or HOPTHU_BIND_DN): without it hopthu would bind anonymously"
        ));
    }
    if live.bind_dn.is_some() && password.is_none() {
        anyhow::bail!(tr!(
            "--bind-dn cần có mật khẩu: --bind-password-file FILE hoặc HOPTHU_BIND_PASSWORD",
            "--bind-dn needs a password: --bind-password-file FILE or HOPTHU_BIND_PASSWORD"
        ));
    }
    Ok(hopthu::live::ConnectOptions {
        url: live.live.clone(),
        starttls: live.starttls,
        ca_file: live.ca_file.clone(),
        bind_dn: live.bind_dn.clone(),
        bind_password: password,
        concurrency: 64,
    })
}

async fn make_plan(
    outcome: &Outcome,
    live: &LiveArgs,
    today: chrono::NaiveDate,
) -> anyhow::Result<(hopthu::plan::Plan, hopthu::live::Directory)> {
    let settings = outcome.settings.as_ref().expect("validated");
    let target =
        hopthu::reconcile::Target::new(settings, connect_options(live)?, live.base_dn.clone());
    let ps = hopthu::reconcile::PlanSettings {
        settings,
        today,
        hold_all_deletes: false,
    };
    // Long reads and plans say how they went, on stderr, when someone watches.
    let watching = std::io::stderr().is_terminal() || std::env::var_os("HOPTHU_PROGRESS").is_some();
    let progress = move |m: &str| {
        if watching {
            eprintln!("hopthu: {m}");
        }
    };
    Ok(hopthu::reconcile::plan_with_progress(&outcome.desired, &ps, &target, &progress).await?)
}

#[allow(clippy::too_many_arguments)]
async fn cmd_plan(
    repo: &Repo,
    live: &LiveArgs,
    format: PlanFormat,
    out: Option<&Path>,
    detailed: bool,
    lang: Option<Language>,
    color: bool,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    let outcome = match desired_state(repo, lang, today)? {
        Ok((o, _)) => o,
        Err(code) => return Ok(code),
    };
    let (plan, dir) = match make_plan(&outcome, live, today).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("hopthu: {}", hopthu::i18n::system_words(&format!("{e:#}")));
            return Ok(ExitCode::from(1));
        }
    };
    let _ = dir.close().await;
    match format {
        PlanFormat::Human => print!(
            "{}",
            hopthu::render::human_with(
                &plan,
                outcome.lang,
                color,
                Some(&apply_command_line(repo, live))
            )
        ),
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        PlanFormat::Markdown => print!("{}", hopthu::render::markdown(&plan, outcome.lang)),
    }
    if let Some(path) = out {
        hopthu::fsutil::write_atomic(path, serde_json::to_string_pretty(&plan)?.as_bytes())
            .map_err(|e| {
                let path = path.display();
                anyhow::anyhow!(tr!(
                    "không ghi được kế hoạch {path}: {e}",
                    "cannot write the plan {path}: {e}"
                ))
            })?;
    }
    if !plan.conflicts.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(if detailed && (!plan.is_empty() || !plan.held.is_empty()) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// `hopthu apply` with the arguments that name this repository and this
/// directory, for a hint the operator can paste (`--yes` and the
/// fingerprint are added by the hint).
fn apply_command_line(repo: &Repo, live: &LiveArgs) -> String {
    let q = |s: &str| -> String {
        if !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./:=@+,".contains(c))
        {
            s.to_string()
        } else {
            format!("'{}'", s.replace('\'', r"'\''"))
        }
    };
    let mut cmd = String::from("hopthu apply");
    match &repo.git.git {
        Some(url) => {
            cmd += &format!(" --git {}", q(&hopthu::git::redact_url(url)));
            if let Some(rev) = &repo.git.rev {
                cmd += &format!(" --rev {}", q(rev));
            }
            if !repo.git.git_path.is_empty() {
                cmd += &format!(" --git-path {}", q(&repo.git.git_path));
            }
        }
        None => cmd += &format!(" {}", q(&repo.root.display().to_string())),
    }
    cmd += &format!(" --live {}", q(&live.live));
    cmd
}

struct ApplyArgs {
    repo: Repo,
    live: LiveArgs,
    plan: Option<PathBuf>,
    yes: bool,
    credentials_out: Option<PathBuf>,
    approve_deletes: Option<String>,
    state_dir: PathBuf,
    audit_keep_days: Option<u32>,
    lang: Option<Language>,
    color: bool,
    today: chrono::NaiveDate,
}

async fn cmd_apply(a: ApplyArgs) -> anyhow::Result<ExitCode> {
    let audit = audit_log(&a.state_dir, None, a.audit_keep_days)?;
    let (outcome, revision) = match desired_state(&a.repo, a.lang, a.today)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let lang = outcome.lang;
    let saved: Option<hopthu::plan::Plan> = match &a.plan {
        Some(p) => Some(
            serde_json::from_slice(&std::fs::read(p).map_err(|e| {
                let p = p.display();
                anyhow::anyhow!(tr!(
                    "không đọc được kế hoạch {p}: {e}",
                    "cannot read the plan {p}: {e}"
                ))
            })?)
            .map_err(|e| {
                let p = p.display();
                anyhow::anyhow!(tr!(
                    "{p} không phải là kế hoạch của hopthu: {e}",
                    "{p} is not a hopthu plan: {e}"
                ))
            })?,
        ),
        None => None,
    };
    let (plan, mut dir) = match make_plan(&outcome, &a.live, a.today).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("hopthu: {}", hopthu::i18n::system_words(&format!("{e:#}")));
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(saved) = &saved {
        if saved.inputs.desired != plan.inputs.desired {
            eprintln!(
                "hopthu: {}",
                tr!(
                    "kho đã thay đổi kể từ khi lập kế hoạch này; hãy lập kế hoạch mới. Chưa ghi gì.",
                    "the repository changed since this plan was made; make a new plan. Nothing was written."
                )
            );
            return Ok(ExitCode::from(1));
        }
        if saved.inputs.live != plan.inputs.live {
            eprintln!(
                "hopthu: {}",
                tr!(
                    "thư mục đang chạy đã thay đổi kể từ khi lập kế hoạch này; hãy lập kế hoạch mới. Chưa ghi gì.",
                    "the live directory changed since this plan was made; make a new plan. Nothing was written."
                )
            );
            return Ok(ExitCode::from(1));
        }
        // Same inputs, another day: grace periods and dates may differ.
        if saved.changes != plan.changes || saved.held != plan.held {
            eprintln!(
                "hopthu: {}",
                tr!(
                    "hôm nay kế hoạch này sẽ không làm đúng như nó ghi (các mốc ngày trong đó đã qua); hãy lập kế hoạch mới. Chưa ghi gì.",
                    "this plan would not do today what it says (dates in it have passed); make a new plan. Nothing was written."
                )
            );
            return Ok(ExitCode::from(1));
        }
    }
    // An approval is checked before anything is shown or asked: the plan
    // shown is then the one carried out, the held deletions among it.
    let approved = match hopthu::apply::check_approval(a.approve_deletes.as_deref(), &plan) {
        Ok(approved) => approved,
        Err(e) => {
            eprintln!("hopthu: {e}");
            if !plan.held.is_empty() {
                print!("{}", hopthu::render::human(&plan, lang, a.color));
            }
            let _ = dir.close().await;
            return Ok(ExitCode::from(1));
        }
    };
    if saved.is_none() {
        if approved {
            println!(
                "{}{}",
                hopthu::render::human(&plan.with_held_released(), lang, a.color),
                tr!(
                    "(gồm {} lệnh thu hồi được phê duyệt bằng --approve-deletes)",
                    "(including {} deletions approved with --approve-deletes)",
                    plan.held.len()
                )
            );
        } else {
            print!(
                "{}",
                hopthu::render::human_with(
                    &plan,
                    lang,
                    a.color,
                    Some(&apply_command_line(&a.repo, &a.live))
                )
            );
        }
    }
    if plan.is_empty() && (plan.held.is_empty() || !approved) {
        if saved.is_some() {
            print!("{}", hopthu::render::human(&plan, lang, a.color));
        }
        let _ = dir.close().await;
        return Ok(if plan.conflicts.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if saved.is_none() && !a.yes {
        if !std::io::stdin().is_terminal() {
            eprintln!(
                "hopthu: {}",
                tr!(
                    "chưa áp dụng: hãy xác nhận bằng --yes khi không chạy từ terminal",
                    "not applied: confirm with --yes when not run from a terminal"
                )
            );
            return Ok(ExitCode::from(1));
        }
        print!(
            "{}",
            match lang {
                Language::Vi => "Áp dụng các thay đổi này? Gõ \"có\" (hoặc \"yes\") để đồng ý: ",
                Language::En => "Apply these changes? Type \"yes\" to confirm: ",
            }
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        // Only the whole word: a stray key or "y" does not change a directory.
        let answer =
            unicode_normalization::UnicodeNormalization::nfc(answer.trim()).collect::<String>();
        if !matches!(answer.as_str(), "yes" | "có" | "Có" | "CÓ") {
            println!(
                "{}",
                match lang {
                    Language::Vi => "Đã hủy, không thay đổi gì.",
                    Language::En => "Cancelled; nothing was written.",
                }
            );
            return Ok(ExitCode::from(1));
        }
    }
    let settings = outcome.settings.as_ref().expect("validated");
    // One writer: not while a `hopthu run` (or another apply) writes.
    let connect = connect_options(&a.live)?;
    let base_dn = a.live.base_dn.clone().unwrap_or_else(|| settings.base_dn());
    let lock = match hopthu::writer_lock::WriterLock::acquire(
        &connect,
        &base_dn,
        std::time::Duration::from_secs(60),
    )
    .await
    {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hopthu: {e}; {}", tr!("chưa ghi gì", "nothing was written"));
            let _ = dir.close().await;
            return Ok(ExitCode::from(1));
        }
    };
    dir.set_fence(lock.fence.clone());
    let opts = hopthu::apply::Options {
        credentials_out: a.credentials_out.clone(),
        backup_dir: a.state_dir.join("backups"),
        audit,
        approve_deletes: a.approve_deletes.clone(),
        revision,
        password_policy: settings.policy.password.clone(),
    };
    let report = hopthu::apply::apply(&mut dir, &plan, &opts).await;
    let _ = dir.close().await;
    lock.release().await;
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hopthu: {}", hopthu::i18n::system_words(&e.to_string()));
            return Ok(ExitCode::from(1));
        }
    };
    print!("{}", hopthu::render::report_human(&report, lang));
    Ok(
        if report.failed > 0 || !plan.conflicts.is_empty() || report.audit_error.is_some() {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

fn cmd_publish(
    repo: &Repo,
    out: &Path,
    lang: Option<Language>,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    use hopthu::desired::MailboxKind;
    use hopthu::publish::{self, PublishError};
    let outcome = match desired_state(repo, lang, today)? {
        Ok((o, _)) => o,
        Err(code) => return Ok(code),
    };
    if let Err(PublishError::NotAFolder(p)) = publish::check_out(out) {
        eprintln!(
            "hopthu: {}",
            match outcome.lang {
                Language::Vi => format!(
                    "--out {} là một tệp, không phải thư mục; không ghi gì.",
                    p.display()
                ),
                Language::En => format!(
                    "--out {} is a file, not a folder; nothing was written.",
                    p.display()
                ),
            }
        );
        return Ok(ExitCode::from(2));
    }
    // The page goes beside the repository, never among its agency files
    // (where it would make the repository invalid).
    if repo.git.git.is_none() && inside_agencies(&repo.root, out) {
        return Ok(ExitCode::from(2));
    }
    let settings = outcome.settings.as_ref().expect("validated");
    let listing = publish::Listing::new(&settings.domain, &outcome.desired, today);
    publish::publish(out, &listing).map_err(|e| anyhow::anyhow!(e))?;
    let (a, u, p) = (
        listing.count(MailboxKind::Agency),
        listing.count(MailboxKind::Unit),
        listing.count(MailboxKind::Person),
    );
    let files = [publish::HTML_FILE, publish::CSV_FILE, publish::VCARD_FILE].join(", ");
    println!(
        "{}",
        match outcome.lang {
            Language::Vi => format!(
                "Đã ghi danh bạ vào {}: {} hộp thư ({a} cơ quan, {u} đơn vị, {p} cá nhân); {files}.",
                out.display(),
                a + u + p
            ),
            Language::En => format!(
                "Wrote the directory to {}: {} mailboxes ({a} agencies, {u} units, {p} people); {files}.",
                out.display(),
                a + u + p
            ),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_diff(
    root: &Path,
    base: &str,
    head: &str,
    format: DiffFormat,
    lang: Option<Language>,
    color: bool,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    use hopthu::prdiff;
    let said = lang.unwrap_or_default();
    let fail = |e: prdiff::DiffError| {
        eprintln!("hopthu: {}", e.text(said));
        Ok(ExitCode::from(2))
    };
    let source = match prdiff::Source::open(root) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let (head_files, head_side) = match source.read(head, "head") {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let (base_files, base_side) = match source.read(base, "base") {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let validators = schema::Validators::new();
    let head_outcome = validate::validate(&head_files, &validators, &Options { lang, today });
    // Both sides speak the head's language.
    let lang = head_outcome.lang;
    let base_outcome = validate::validate(
        &base_files,
        &validators,
        &Options {
            lang: Some(lang),
            today,
        },
    );
    let diff = prdiff::compare(
        &base_outcome,
        &head_outcome,
        base_side,
        head_side,
        &source.prefix,
    );
    let out = match format {
        DiffFormat::Text => prdiff::text(&diff, lang, color),
        DiffFormat::Markdown => prdiff::markdown(&diff, lang),
        DiffFormat::Json => prdiff::json(&diff) + "\n",
    };
    print!("{out}");
    // Files that could not be read are an I/O problem, not a verdict.
    if head_outcome.diagnostics.iter().any(|d| d.code == "E001") {
        return Ok(ExitCode::from(2));
    }
    Ok(if diff.head_valid() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn cmd_codeowners(
    root: &Path,
    out: Option<&Path>,
    check: bool,
    flavor: FlavorChoice,
    lang: Option<Language>,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    use hopthu::codeowners::{self, Flavor};
    let repo = Repo {
        root: root.to_path_buf(),
        git: GitArgs::default(),
    };
    let outcome = match desired_state(&repo, lang, today)? {
        Ok((o, _)) => o,
        Err(code) => return Ok(code),
    };
    let lang = outcome.lang;
    let settings = outcome.settings.as_ref().expect("validated");
    let Some(reviewers) = &settings.reviewers else {
        eprintln!(
            "hopthu: {}",
            match lang {
                Language::Vi =>
                    "hopthu.yaml chưa có mục `reviewers`: không có gì để ghi vào CODEOWNERS",
                Language::En =>
                    "hopthu.yaml has no `reviewers`: there is nothing to write to CODEOWNERS",
            }
        );
        return Ok(ExitCode::from(1));
    };
    let flavor = match flavor {
        FlavorChoice::Github => Flavor::Github,
        FlavorChoice::Gitlab => Flavor::Gitlab,
        FlavorChoice::Gitea => Flavor::Gitea,
    };
    let (top, prefix) =
        codeowners::repository_top(root).map_err(|e| anyhow::anyhow!("{}: {e}", root.display()))?;
    // The file speaks the repository's language whatever --lang says, so
    // that --check compares like with like.
    let generated = codeowners::render(
        reviewers,
        &outcome.desired,
        &prefix,
        flavor,
        settings.language,
    );
    if out == Some(Path::new("-")) {
        if check {
            anyhow::bail!("--check needs a file, not `--out -`");
        }
        print!("{}", generated.text);
        return Ok(ExitCode::SUCCESS);
    }
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| codeowners::default_path(&top, flavor));
    if !check && inside_agencies(root, &path) {
        return Ok(ExitCode::from(2));
    }
    if check {
        let existing = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!(
                    "{}",
                    match lang {
                        Language::Vi => format!(
                            "{} chưa có; chạy `hopthu codeowners` để tạo.",
                            path.display()
                        ),
                        Language::En => format!(
                            "{} is missing; run `hopthu codeowners` to write it.",
                            path.display()
                        ),
                    }
                );
                return Ok(ExitCode::from(1));
            }
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        };
        return Ok(
            match codeowners::first_difference(&existing, &generated.text) {
                None => {
                    println!(
                        "{}",
                        match lang {
                            Language::Vi => format!("{} khớp với hopthu.yaml.", path.display()),
                            Language::En => format!("{} matches hopthu.yaml.", path.display()),
                        }
                    );
                    ExitCode::SUCCESS
                }
                Some(line) => {
                    println!(
                        "{}",
                        match lang {
                            Language::Vi => format!(
                                "{} khác với mục `reviewers` của hopthu.yaml (từ dòng {line}); chạy `hopthu codeowners` để viết lại.",
                                path.display()
                            ),
                            Language::En => format!(
                                "{} differs from `reviewers` in hopthu.yaml (from line {line}); run `hopthu codeowners` to write it again.",
                                path.display()
                            ),
                        }
                    );
                    ExitCode::from(1)
                }
            },
        );
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    hopthu::fsutil::write_atomic(&path, generated.text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    println!(
        "{}",
        match lang {
            Language::Vi => format!(
                "Đã ghi {}: {} cơ quan có người duyệt riêng, {} cơ quan do người duyệt mặc định duyệt.",
                path.display(),
                generated.owned,
                generated.default_only
            ),
            Language::En => format!(
                "Wrote {}: {} agencies with reviewers of their own, {} reviewed by the default owners.",
                path.display(),
                generated.owned,
                generated.default_only
            ),
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn cmd_generate(opts: hopthu::generate::GenerateOptions) -> anyhow::Result<ExitCode> {
    let summary = hopthu::generate::generate(&opts)?;
    let out = opts.out.display();
    println!(
        "{}",
        tr!("đã tạo {out}: {summary}", "generated {out}: {summary}")
    );
    Ok(ExitCode::SUCCESS)
}

async fn cmd_adopt(
    root: &Path,
    live: &LiveArgs,
    yes: bool,
    audit: hopthu::audit::AuditLog,
    lang: Option<Language>,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    let repo = Repo {
        root: root.to_path_buf(),
        git: GitArgs::default(),
    };
    let outcome = match desired_state(&repo, lang, today)? {
        Ok((o, _)) => o,
        Err(code) => return Ok(code),
    };
    let settings = outcome.settings.as_ref().expect("validated");
    let target =
        hopthu::reconcile::Target::new(settings, connect_options(live)?, live.base_dn.clone());
    let ps = hopthu::reconcile::PlanSettings {
        settings,
        today,
        hold_all_deletes: false,
    };
    if yes {
        audit
            .check_writable()
            .map_err(|e| cannot_write_audit_log(&audit.path, &e))?;
    }
    let result = match hopthu::reconcile::adopt(&outcome.desired, &ps, &target, !yes).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hopthu: {}", hopthu::i18n::system_words(&e.to_string()));
            return Ok(ExitCode::from(1));
        }
    };
    let vi = outcome.lang == Language::Vi;
    let revision = hopthu::git::folder_revision(root);
    if yes {
        let records: Vec<hopthu::audit::AuditRecord> = result
            .iter()
            .filter(|(a, _)| a.mismatch.is_none())
            .map(|(a, err)| {
                hopthu::audit::AuditRecord::new(
                    "adopt",
                    &a.key,
                    &a.address,
                    None,
                    err.as_deref(),
                    revision.as_deref(),
                )
            })
            .collect();
        if audit.append_all(&records).is_err() {
            return Ok(ExitCode::from(1));
        }
    }
    let mut failed = 0;
    for (a, err) in &result {
        if let Some(why) = &a.mismatch {
            failed += 1;
            println!("  ✗ {} ({}) {}: {why}", a.address, a.key, a.dn);
            continue;
        }
        match err {
            None => println!(
                "  {} {} ({}) {}",
                if yes { "✓" } else { "·" },
                a.address,
                a.key,
                a.dn
            ),
            Some(e) => {
                failed += 1;
                println!("  ✗ {} ({}): {e}", a.address, a.key);
            }
        }
    }
    match (yes, vi) {
        (false, true) => println!(
            "Có thể tiếp nhận {} hộp thư; chạy lại với --yes để tiếp nhận.",
            result.len()
        ),
        (false, false) => println!(
            "{} mailbox(es) can be adopted; run again with --yes to adopt them.",
            result.len()
        ),
        (true, true) => println!(
            "Đã tiếp nhận {} hộp thư, {failed} lỗi.",
            result.len() - failed
        ),
        (true, false) => println!(
            "Adopted {} mailbox(es), {failed} failed.",
            result.len() - failed
        ),
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn cannot_write_audit_log(path: &Path, e: &dyn std::fmt::Display) -> anyhow::Error {
    let path = path.display();
    anyhow::anyhow!(tr!(
        "không ghi được nhật ký {path}: {e}; chưa tiếp nhận gì",
        "cannot write the audit log {path}: {e}; nothing was adopted"
    ))
}

/// The audit's inputs besides the repository: logins from a CSV export
/// (read and checked whole first) and restores from the audit log.
use hopthu::lifecycle::Logins;

type Restores = std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>;

fn lifecycle_inputs(
    a: &LifecycleArgs,
    today: chrono::NaiveDate,
) -> anyhow::Result<(Option<(String, Logins)>, Restores)> {
    /// Larger exports are refused before they are read (a province's
    /// logins are a few megabytes).
    const MAX_EXPORT: u64 = 256 << 20;
    let csv = match &a.logins {
        None => None,
        Some(p) => {
            if let Ok(m) = std::fs::metadata(p)
                && m.len() > MAX_EXPORT
            {
                let (shown, size, max) = (p.display(), m.len() >> 20, MAX_EXPORT >> 20);
                anyhow::bail!(tr!(
                    "tệp đăng nhập {shown} nặng {size} MiB, quá giới hạn {max} MiB; chưa kiểm tra gì",
                    "the login export {shown} is {size} MiB, over the limit of {max} MiB; nothing was checked"
                ));
            }
            let shown = p.display();
            let text = std::fs::read(p).map_err(|e| {
                anyhow::anyhow!(tr!(
                    "không đọc được tệp đăng nhập {shown}: {e}",
                    "cannot read the login export {shown}: {e}"
                ))
            })?;
            let text = String::from_utf8(text).map_err(|e| {
                let at = e.utf8_error().valid_up_to();
                anyhow::anyhow!(tr!(
                    "tệp đăng nhập {shown} không phải UTF-8 (byte {at}): hãy xuất tệp dạng CSV UTF-8",
                    "the login export {shown} is not UTF-8 (byte {at}): export it as UTF-8 CSV"
                ))
            })?;
            let name = p.display().to_string();
            let logins =
                hopthu::lifecycle::read_logins_csv(&name, &text, today).map_err(|errs| {
                    let lines = errs
                        .iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n");
                    let n = errs.len();
                    anyhow::anyhow!(tr!(
                        "{lines}\n{n} lỗi trong tệp đăng nhập; chưa kiểm tra gì",
                        "{lines}\n{n} error(s) in the login export; nothing was checked"
                    ))
                })?;
            Some((name, logins))
        }
    };
    let log = hopthu::audit::AuditLog::new(a.state_dir.join("audit.jsonl"));
    let records = log
        .read()
        .map_err(|e| cannot_read_audit_log(&log.path, &e))?;
    Ok((csv, hopthu::lifecycle::restores_from_log(&records)))
}

async fn audit_report(
    outcome: &Outcome,
    live: &LiveArgs,
    lifecycle: &LifecycleArgs,
    today: chrono::NaiveDate,
) -> anyhow::Result<hopthu::lifecycle::AuditReport> {
    let settings = outcome.settings.as_ref().expect("validated");
    let (csv, restored) = lifecycle_inputs(lifecycle, today)?;
    let target =
        hopthu::reconcile::Target::new(settings, connect_options(live)?, live.base_dn.clone());
    Ok(hopthu::lifecycle::audit_live(
        outcome,
        &target,
        today,
        csv.as_ref().map(|(n, l)| (n.as_str(), l)),
        &restored,
    )
    .await?)
}

async fn cmd_audit(
    repo: &Repo,
    live: &LiveArgs,
    lifecycle: &LifecycleArgs,
    format: AuditFormat,
    lang: Option<Language>,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    let outcome = match desired_state(repo, lang, today)? {
        Ok((o, _)) => o,
        Err(code) => return Ok(code),
    };
    let report = audit_report(&outcome, live, lifecycle, today).await?;
    match format {
        AuditFormat::Human => print!("{}", hopthu::lifecycle::human(&report, outcome.lang)),
        AuditFormat::Markdown => print!("{}", hopthu::lifecycle::markdown(&report, outcome.lang)),
        AuditFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(ExitCode::SUCCESS)
}

struct ProposeArgs<'a> {
    root: &'a Path,
    base: Option<&'a str>,
    branch: Option<&'a str>,
    remote: Option<&'a str>,
    summary_out: Option<&'a Path>,
    author: (String, Option<String>),
    auth: hopthu::git::GitAuth,
    json: bool,
}

async fn cmd_propose(
    a: ProposeArgs<'_>,
    live: &LiveArgs,
    lifecycle: &LifecycleArgs,
    lang: Option<Language>,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    use hopthu::propose;
    // The audit checks the commit the proposal builds on, not the files
    // as they lie in the working tree.
    // Where the summary goes must be writable before a branch is made.
    if let Some(p) = a.summary_out {
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if p.is_dir() || !dir.is_dir() {
            let shown = p.display();
            anyhow::bail!(tr!(
                "--summary-out {shown}: không phải một tệp trong thư mục có sẵn; chưa đề xuất gì",
                "--summary-out {shown}: not a file in an existing folder; nothing was proposed"
            ));
        }
    }
    let (files, base) = propose::base_files(a.root, a.base)?;
    let validators = schema::Validators::new();
    let outcome = validate::validate(&files, &validators, &Options { lang, today });
    hopthu::i18n::set(outcome.lang);
    if !outcome.is_valid() || outcome.settings.is_none() {
        for d in outcome.diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{}", diagnostics::render_human(d, false, outcome.lang));
        }
        eprintln!("{}", summary_line(&outcome));
        return Ok(ExitCode::from(1));
    }
    let report = audit_report(&outcome, live, lifecycle, today).await?;
    let domain = outcome
        .settings
        .as_ref()
        .map(|s| s.domain.clone())
        .unwrap_or_default();
    let opts = propose::ProposeOptions {
        root: a.root,
        base: Some(&base),
        branch: a.branch,
        remote: a.remote,
        auth: a.auth,
        today,
        lang: outcome.lang,
        author: (
            a.author.0,
            a.author.1.unwrap_or_else(|| format!("hopthu@{domain}")),
        ),
    };
    let check = |set: &FileSet| validate::validate(set, &validators, &Options { lang, today });
    let proposed = propose::propose(&report, &opts, &check)?;
    match a.summary_out {
        Some(p) => hopthu::fsutil::write_atomic(p, proposed.summary.as_bytes()).map_err(|e| {
            let p = p.display();
            anyhow::anyhow!(tr!(
                "không ghi được bản tóm tắt {p}: {e}",
                "cannot write the summary {p}: {e}"
            ))
        })?,
        None if !a.json => print!("{}", proposed.summary),
        None => {}
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&proposed)?);
    }
    let vi = outcome.lang == Language::Vi;
    match (&proposed.branch, &proposed.pushed_to) {
        (Some(b), Some(r)) => eprintln!(
            "{}",
            if vi {
                format!(
                    "hopthu: đã tạo nhánh {b} ({} thay đổi) và đẩy lên {r}",
                    proposed.changes.len()
                )
            } else {
                format!(
                    "hopthu: made the branch {b} ({} changes) and pushed it to {r}",
                    proposed.changes.len()
                )
            }
        ),
        (Some(b), None) => eprintln!(
            "{}",
            if vi {
                format!(
                    "hopthu: đã tạo nhánh {b} ({} thay đổi), chưa đẩy lên",
                    proposed.changes.len()
                )
            } else {
                format!(
                    "hopthu: made the branch {b} ({} changes), not pushed",
                    proposed.changes.len()
                )
            }
        ),
        (None, _) => eprintln!(
            "{}",
            if vi {
                "hopthu: không có gì mới để đề xuất"
            } else {
                "hopthu: nothing new to propose"
            }
        ),
    }
    Ok(ExitCode::SUCCESS)
}

struct ImportArgs<'a> {
    live: &'a LiveArgs,
    out: &'a Path,
    domain: &'a str,
    layout: hopthu::layout::LayoutName,
    adopt: bool,
    state_dir: &'a Path,
    lang: Language,
    today: chrono::NaiveDate,
}

async fn cmd_import(a: ImportArgs<'_>) -> anyhow::Result<ExitCode> {
    use hopthu::import;
    let vi = a.lang == Language::Vi;
    let say = |vi_text: String, en_text: String| {
        eprintln!("hopthu: {}", if vi { vi_text } else { en_text });
    };
    // The folder first: nothing is read from the server for a run that
    // could not write its result.
    if let Ok(mut d) = std::fs::read_dir(a.out)
        && d.next().is_some()
    {
        anyhow::bail!(
            "{}",
            if vi {
                format!(
                    "thư mục {} đã có nội dung: hãy chọn một thư mục mới hoặc rỗng; không ghi gì",
                    a.out.display()
                )
            } else {
                format!(
                    "{} is not empty: choose a new or empty folder; nothing was written",
                    a.out.display()
                )
            }
        );
    }
    if a.out.is_file() {
        let out = a.out.display();
        anyhow::bail!(tr!(
            "{out} là một tệp: --out cần một thư mục",
            "{out} is a file: --out takes a folder"
        ));
    }
    let domain = a.domain.trim().to_ascii_lowercase();
    if !domain_ok(&domain) {
        anyhow::bail!(
            "{}",
            if vi {
                format!(
                    "--domain `{domain}` không phải là tên miền (ví dụ sonla.gov.vn); không ghi gì"
                )
            } else {
                format!(
                    "--domain `{domain}` is not a domain name (for example sonla.gov.vn); nothing was written"
                )
            }
        );
    }
    let settings = hopthu::model::Settings {
        api_version: "hopthu/v1".into(),
        domain: domain.clone(),
        language: a.lang,
        policy: Default::default(),
        directory: hopthu::model::DirectorySettings {
            layout: a.layout,
            base_dn: a.live.base_dn.clone(),
            last_login: None,
        },
        reviewers: None,
    };
    let target =
        hopthu::reconcile::Target::new(&settings, connect_options(a.live)?, a.live.base_dn.clone());
    let start = std::time::Instant::now();
    say(
        format!(
            "đang đọc {} ({})",
            hopthu::git::redact_url(&a.live.live),
            target.base_dn
        ),
        format!(
            "reading {} ({})",
            hopthu::git::redact_url(&a.live.live),
            target.base_dn
        ),
    );
    let mut dir = hopthu::live::Directory::connect(&target.connect).await?;
    let live = hopthu::reconcile::read_live(&mut dir, &target).await?;
    if !live.base_exists {
        let _ = dir.close().await;
        let base = &target.base_dn;
        anyhow::bail!(tr!(
            "base DN {base} không có trong thư mục đang chạy; chưa ghi gì",
            "the base DN {base} does not exist in the live directory; nothing was written"
        ));
    }
    // Mailboxes outside the base are not imported; they are listed.
    let outside = dir
        .read_outside(
            &target.base_dn,
            &hopthu::live::Selection {
                base: String::new(),
                any_object_class: vec![target.layout.mailbox_class.to_string()],
                attrs: vec!["mail".into()],
            },
        )
        .await;
    dir.close().await?;
    say(
        format!(
            "đã đọc {} mục trong {:.1} s; đang lập kho",
            live.entries.len(),
            start.elapsed().as_secs_f64()
        ),
        format!(
            "read {} entries in {:.1} s; drafting the repository",
            live.entries.len(),
            start.elapsed().as_secs_f64()
        ),
    );
    let mut draft = import::draft(
        &live.entries,
        &import::ImportOptions {
            domain: &domain,
            layout: a.layout,
            base_dn: a.live.base_dn.as_deref(),
            language: a.lang,
            today: a.today,
        },
    );
    let validators = schema::Validators::new();
    let today = a.today;
    let check = |set: &FileSet| {
        validate::validate(
            set,
            &validators,
            &Options {
                lang: Some(a.lang),
                today,
            },
        )
    };
    let outside_failed = match outside {
        Ok(entries) => {
            draft
                .skipped
                .extend(import::outside_base(&entries, &domain, &target.base_dn));
            None
        }
        Err(e) => Some(e),
    };
    let outcome = import::settle(&mut draft, &check);
    if !outcome.is_valid() {
        for d in outcome.diagnostics.iter().filter(|d| d.is_error()) {
            eprintln!("{}", diagnostics::render_human(d, false, outcome.lang));
        }
        anyhow::bail!(tr!(
            "kho vừa lập không hợp lệ; chưa ghi gì",
            "the drafted repository does not validate; nothing was written"
        ));
    }
    // Written whole or not at all: into a sibling folder, then renamed.
    let parent = a
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| {
        let shown = parent.display();
        anyhow::anyhow!(tr!(
            "không tạo được thư mục {shown}: {e}; không ghi gì",
            "cannot make the folder {shown}: {e}; nothing was written"
        ))
    })?;
    let tmp = parent.join(format!(".hopthu-import-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = (|| -> std::io::Result<()> {
        for (path, text) in &draft.files {
            let p = tmp.join(path);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d)?;
            }
            std::fs::write(&p, text)?;
        }
        std::fs::create_dir_all(tmp.join("schema"))?;
        for (name, text) in schema::files() {
            std::fs::write(tmp.join("schema").join(name), text)?;
        }
        if a.out.exists() {
            std::fs::remove_dir(a.out)?;
        }
        std::fs::rename(&tmp, a.out)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        let out = a.out.display();
        anyhow::bail!(tr!(
            "không ghi được kho vào {out}: {e}; chưa ghi gì",
            "cannot write the repository into {out}: {e}; nothing was written"
        ));
    }
    println!(
        "{}",
        if vi {
            format!(
                "Đã lập kho {}: {} cơ quan, {} đơn vị, {} người; {} địa chỉ cũ đánh dấu legacy; {} mục không nhập.",
                a.out.display(),
                draft.agencies,
                draft.units,
                draft.people,
                draft.legacy,
                draft.skipped.len()
            )
        } else {
            format!(
                "Wrote {}: {} agencies, {} units, {} people; {} legacy addresses; {} entries left out.",
                a.out.display(),
                draft.agencies,
                draft.units,
                draft.people,
                draft.legacy,
                draft.skipped.len()
            )
        }
    );
    let dn_of = |dn: &str| {
        if dn.is_empty() {
            "-".to_string()
        } else {
            dn.to_string()
        }
    };
    let line = |mark: &str, s: &hopthu::import::Skipped| {
        println!(
            "  {mark} {} {}: {}",
            s.address.as_deref().unwrap_or("-"),
            dn_of(&s.dn),
            s.reason
        )
    };
    for s in &draft.skipped {
        line("✗", s);
    }
    if !draft.flagged.is_empty() {
        let n = draft.flagged.len();
        println!(
            "{}",
            tr!(
                "{n} mục đã nhập nhưng cần người sửa trước khi commit:",
                "{n} entries imported with something a person must put right before the commit:"
            )
        );
        for s in &draft.flagged {
            line("!", s);
        }
    }
    if let Some(e) = &outside_failed {
        let base = &target.base_dn;
        say(
            format!(
                "không xem được các mục ngoài base DN {base} ({e}); nếu có, chúng không được liệt kê ở trên"
            ),
            format!(
                "the entries outside the base DN {base} could not be looked at ({e}); any there are not listed above"
            ),
        );
    }
    // Exit 1 when entries were left out or need a person: the repository
    // is written, and is not the whole directory yet.
    let incomplete = !draft.skipped.is_empty() || !draft.flagged.is_empty();
    if !a.adopt {
        println!(
            "{}",
            if vi {
                format!(
                    "Bước tiếp: hopthu import … --adopt, hoặc hopthu adopt {} --live … --yes",
                    a.out.display()
                )
            } else {
                format!(
                    "Next: hopthu import … --adopt, or hopthu adopt {} --live … --yes",
                    a.out.display()
                )
            }
        );
        return Ok(if incomplete {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }

    // Adopt, then bring hopthu's attributes and names in line: the first
    // plan after the import is empty.
    let settings = outcome.settings.as_ref().expect("valid");
    let target =
        hopthu::reconcile::Target::new(settings, connect_options(a.live)?, a.live.base_dn.clone());
    let ps = hopthu::reconcile::PlanSettings {
        settings,
        today,
        hold_all_deletes: false,
    };
    let audit = hopthu::audit::AuditLog::new(a.state_dir.join("audit.jsonl"));
    audit
        .check_writable()
        .map_err(|e| cannot_write_audit_log(&audit.path, &e))?;
    say(
        format!("đang tiếp nhận {} hộp thư", outcome.desired.len()),
        format!("adopting {} mailboxes", outcome.desired.len()),
    );
    let adopted = hopthu::reconcile::adopt(&outcome.desired, &ps, &target, false).await?;
    let revision = hopthu::git::folder_revision(a.out);
    let records: Vec<hopthu::audit::AuditRecord> = adopted
        .iter()
        .filter(|(x, _)| x.mismatch.is_none())
        .map(|(x, err)| {
            hopthu::audit::AuditRecord::new(
                "adopt",
                &x.key,
                &x.address,
                None,
                err.as_deref(),
                revision.as_deref(),
            )
        })
        .collect();
    audit.append_all(&records)?;
    let failed: Vec<String> = adopted
        .iter()
        .filter_map(|(x, err)| {
            x.mismatch
                .as_ref()
                .or(err.as_ref())
                .map(|why| format!("{}: {why}", x.address))
        })
        .collect();
    if !failed.is_empty() {
        for f in &failed {
            println!("  ✗ {f}");
        }
        let n = failed.len();
        eprintln!(
            "hopthu: {}",
            tr!(
                "{n} hộp thư không tiếp nhận được; kho đã được ghi, không thay đổi gì khác",
                "{n} mailbox(es) could not be adopted; the repository is written, nothing else was changed"
            )
        );
        return Ok(ExitCode::from(1));
    }
    let (plan, mut dir) = hopthu::reconcile::plan_against(&outcome.desired, &ps, &target).await?;
    if !plan.conflicts.is_empty() {
        let _ = dir.close().await;
        for c in &plan.conflicts {
            println!("  ✗ {}", serde_json::to_string(c).unwrap_or_default());
        }
        eprintln!(
            "hopthu: {}",
            if vi {
                format!(
                    "{} xung đột với các mục không thuộc hopthu sau khi tiếp nhận; xem `hopthu plan {}`",
                    plan.conflicts.len(),
                    a.out.display()
                )
            } else {
                format!(
                    "{} conflict(s) with entries that are not hopthu's after the adoption; see `hopthu plan {}`",
                    plan.conflicts.len(),
                    a.out.display()
                )
            }
        );
        return Ok(ExitCode::from(1));
    }
    if let Err(odd) = import::alignment_only(&plan) {
        let _ = dir.close().await;
        let out = a.out.display();
        anyhow::bail!(tr!(
            "sau khi tiếp nhận, kế hoạch sẽ làm nhiều hơn việc đồng bộ tên ({odd}); không ghi gì thêm: hãy xem `hopthu plan {out}`",
            "after the adoption the plan would do more than bring names in line ({odd}); nothing more was written: look at `hopthu plan {out}`"
        ));
    }
    let n = plan.changes.len();
    if n > 0 {
        say(
            format!("đang đồng bộ thuộc tính của {n} hộp thư với kho"),
            format!("bringing the attributes of {n} mailboxes in line with the repository"),
        );
        let opts = hopthu::apply::Options {
            credentials_out: None,
            backup_dir: a.state_dir.join("backups"),
            audit: audit.clone(),
            approve_deletes: None,
            revision: revision.clone(),
            password_policy: settings.policy.password.clone(),
        };
        let report = hopthu::apply::apply(&mut dir, &plan, &opts).await?;
        if report.failed > 0 {
            let _ = dir.close().await;
            for o in report.outcomes.iter().filter(|o| o.error.is_some()) {
                println!(
                    "  ✗ {} {}: {}",
                    o.action.as_str(),
                    o.address,
                    o.error.as_deref().unwrap_or_default()
                );
            }
            let (n, out) = (report.failed, a.out.display());
            anyhow::bail!(tr!(
                "{n} thay đổi thất bại; hãy chạy `hopthu apply {out}` để hoàn tất",
                "{n} change(s) failed; run `hopthu apply {out}` to finish"
            ));
        }
    }
    let _ = dir.close().await;
    let (after, dir) = hopthu::reconcile::plan_against(&outcome.desired, &ps, &target).await?;
    let _ = dir.close().await;
    let settled = after.is_empty() && after.held.is_empty() && after.conflicts.is_empty();
    println!(
        "{}",
        if vi {
            format!(
                "Đã tiếp nhận {} hộp thư, đồng bộ {n}; kế hoạch tiếp theo: {}.",
                adopted.len(),
                if after.is_empty() {
                    "không có gì phải làm".to_string()
                } else {
                    hopthu::render::summary_line(&after, a.lang)
                }
            )
        } else {
            format!(
                "Adopted {} mailboxes, brought {n} in line; the next plan: {}.",
                adopted.len(),
                if after.is_empty() {
                    "nothing to do".to_string()
                } else {
                    hopthu::render::summary_line(&after, a.lang)
                }
            )
        }
    );
    Ok(if settled && !incomplete {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Whether a domain is one the format takes (`domain` in hopthu.yaml).
fn domain_ok(d: &str) -> bool {
    let labels: Vec<&str> = d.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|l| l.len() >= 2 && l.bytes().all(|b| b.is_ascii_lowercase()))
}

/// A path made absolute through its nearest existing ancestor (the path
/// itself may not exist yet).
fn absolute_target(p: &Path) -> Option<PathBuf> {
    let mut rest = Vec::new();
    let mut cur = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(p)
    };
    loop {
        if let Ok(c) = cur.canonicalize() {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return Some(out);
        }
        rest.push(cur.file_name()?.to_os_string());
        cur = cur.parent()?.to_path_buf();
    }
}
