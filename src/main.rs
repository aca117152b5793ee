//! The `hopthu` command line. Each subcommand only arranges the stages of
//! the library (source -> validate -> plan -> apply); no rule lives here.

use clap::{Parser, Subcommand, ValueEnum};
use hopthu::diagnostics::{self, Format};
use hopthu::model::Language;
use hopthu::schema;
use hopthu::source::FileSet;
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
                    anyhow::anyhow!("cannot read the git token file {}: {e}", f.display())
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
                anyhow::anyhow!("cannot read the repository {}: {e}", self.root.display())
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
    let text = hopthu::run::read_small(path)
        .map_err(|e| anyhow::anyhow!("cannot read the {what} file {}: {e}", path.display()))?
        .trim_end_matches(['\n', '\r'])
        .to_string();
    if text.is_empty() {
        anyhow::bail!("the {what} file {} is empty", path.display());
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
    let url = a.git.or(f.git.url).ok_or_else(|| {
        anyhow::anyhow!("no repository: give --git URL or `git.url` in the configuration file")
    })?;
    let live = a.live.or(f.live.url).ok_or_else(|| {
        anyhow::anyhow!(
            "no live directory: give --live URL or `live.url` in the configuration file"
        )
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
        Some(p) => Some(read_secret_file(&p, "bind password")?),
        None => std::env::var("HOPTHU_BIND_PASSWORD").ok(),
    };
    if bind_dn.is_some() && password.is_none() {
        anyhow::bail!(
            "a bind DN needs a password: --bind-password-file FILE, `live.bindPasswordFile`, or HOPTHU_BIND_PASSWORD"
        );
    }
    let webhook_secret = match a.webhook_secret_file.or(f.webhook_secret_file) {
        Some(p) => Some(read_secret_file(&p, "webhook secret")?),
        None => std::env::var("HOPTHU_WEBHOOK_SECRET")
            .ok()
            .filter(|s| !s.is_empty()),
    };
    let listen = a
        .listen
        .or(f.listen)
        .map(|l| {
            l.parse::<std::net::SocketAddr>().map_err(|e| {
                anyhow::anyhow!("--listen {l}: {e} (write ADDRESS:PORT, like 127.0.0.1:8080)")
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
            every: hopthu::run::parse_duration(&every)
                .map_err(|e| anyhow::anyhow!("propose every {every}: {e}"))?,
            logins: a.logins.or(file_propose.logins),
        }),
    };
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
        /// The workbook's sheet to read (the first by default).
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
    let cli = Cli::parse();
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
        Command::Schema { which, write } => cmd_schema(which, write.as_deref()),
        Command::Run(args) => run_config(*args, cli.today).and_then(|cfg| {
            let rt = runtime()?;
            match rt.block_on(hopthu::run::run(cfg)) {
                Ok(code) => Ok(ExitCode::from(code)),
                Err(e) => Err(anyhow::anyhow!(e)),
            }
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
                Some(p) => Some(read_secret_file(&p, "webhook secret")?),
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
        } => match hopthu::run::approve(&state_dir, &fingerprint) {
            Ok(()) => {
                println!(
                    "approved {fingerprint}: hopthu run releases exactly those deletions on its next cycle"
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("hopthu: {e}");
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
                    eprintln!("hopthu: {e:#}");
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
            lang,
        } => runtime().and_then(|rt| {
            rt.block_on(cmd_adopt(
                &root,
                &live,
                yes,
                &state_dir,
                language(lang),
                today,
            ))
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
            eprintln!("hopthu: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn language(lang: Option<Lang>) -> Option<Language> {
    lang.map(|l| match l {
        Lang::Vi => Language::Vi,
        Lang::En => Language::En,
    })
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
    Ok((
        validate::validate(&files, &validators, &Options { lang, today }),
        revision,
    ))
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
    };
    let stdout = std::io::stdout();
    let color = match color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    let mut out = stdout.lock();
    match format {
        Format::Json => writeln!(out, "{}", diagnostics::render_json(&outcome.diagnostics))?,
        Format::Github => {
            for d in &outcome.diagnostics {
                writeln!(out, "{}", diagnostics::render_github(d))?;
            }
        }
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
                anyhow::anyhow!(
                    "{}/hopthu.yaml has no valid domain; run `hopthu validate` or pass --domain",
                    root.display()
                )
            })?;
        (domain, hopthu::suggest::locals_in_use(&outcome.desired))
    } else {
        let domain = domain.ok_or_else(|| {
            anyhow::anyhow!(
                "no hopthu.yaml in {}: pass --root REPOSITORY or --domain DOMAIN",
                root.display()
            )
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
                anyhow::anyhow!("cannot read the bind password file {}: {e}", f.display())
            })?;
            Some(text.trim_end_matches(['\n', '\r']).to_string())
        }
        (None, Ok(p)) => Some(p),
        (None, Err(_)) => None,
    };
    if live.bind_dn.is_some() && password.is_none() {
        anyhow::bail!(
            "--bind-dn needs a password: --bind-password-file FILE or HOPTHU_BIND_PASSWORD"
        );
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
            eprintln!("hopthu: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    let _ = dir.close().await;
    match format {
        PlanFormat::Human => print!("{}", hopthu::render::human(&plan, outcome.lang, color)),
        PlanFormat::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        PlanFormat::Markdown => print!("{}", hopthu::render::markdown(&plan, outcome.lang)),
    }
    if let Some(path) = out {
        hopthu::fsutil::write_atomic(path, serde_json::to_string_pretty(&plan)?.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write the plan {}: {e}", path.display()))?;
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

struct ApplyArgs {
    repo: Repo,
    live: LiveArgs,
    plan: Option<PathBuf>,
    yes: bool,
    credentials_out: Option<PathBuf>,
    approve_deletes: Option<String>,
    state_dir: PathBuf,
    lang: Option<Language>,
    color: bool,
    today: chrono::NaiveDate,
}

async fn cmd_apply(a: ApplyArgs) -> anyhow::Result<ExitCode> {
    let (outcome, revision) = match desired_state(&a.repo, a.lang, a.today)? {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let lang = outcome.lang;
    let saved: Option<hopthu::plan::Plan> = match &a.plan {
        Some(p) => Some(
            serde_json::from_slice(
                &std::fs::read(p)
                    .map_err(|e| anyhow::anyhow!("cannot read the plan {}: {e}", p.display()))?,
            )
            .map_err(|e| anyhow::anyhow!("{} is not a hopthu plan: {e}", p.display()))?,
        ),
        None => None,
    };
    let (plan, mut dir) = match make_plan(&outcome, &a.live, a.today).await {
        Ok(x) => x,
        Err(e) => {
            eprintln!("hopthu: {e:#}");
            return Ok(ExitCode::from(1));
        }
    };
    if let Some(saved) = &saved {
        if saved.inputs.desired != plan.inputs.desired {
            eprintln!(
                "hopthu: the repository changed since this plan was made; make a new plan. Nothing was written."
            );
            return Ok(ExitCode::from(1));
        }
        if saved.inputs.live != plan.inputs.live {
            eprintln!(
                "hopthu: the live directory changed since this plan was made; make a new plan. Nothing was written."
            );
            return Ok(ExitCode::from(1));
        }
        // Same inputs, another day: grace periods and dates may differ.
        if saved.changes != plan.changes || saved.held != plan.held {
            eprintln!(
                "hopthu: this plan would not do today what it says (dates in it have passed); make a new plan. Nothing was written."
            );
            return Ok(ExitCode::from(1));
        }
    } else {
        print!("{}", hopthu::render::human(&plan, lang, a.color));
    }
    if plan.is_empty() && (plan.held.is_empty() || a.approve_deletes.is_none()) {
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
            eprintln!("hopthu: not applied: confirm with --yes when not run from a terminal");
            return Ok(ExitCode::from(1));
        }
        print!(
            "{}",
            match lang {
                Language::Vi => "Áp dụng các thay đổi này? Gõ \"yes\" để đồng ý: ",
                Language::En => "Apply these changes? Type \"yes\" to confirm: ",
            }
        );
        std::io::stdout().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        if answer.trim() != "yes" {
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
            eprintln!("hopthu: {e}; nothing was written");
            let _ = dir.close().await;
            return Ok(ExitCode::from(1));
        }
    };
    dir.set_fence(lock.fence.clone());
    let opts = hopthu::apply::Options {
        credentials_out: a.credentials_out.clone(),
        backup_dir: a.state_dir.join("backups"),
        audit: hopthu::audit::AuditLog::new(a.state_dir.join("audit.jsonl")),
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
            eprintln!("hopthu: {e}");
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

fn cmd_generate(opts: hopthu::generate::GenerateOptions) -> anyhow::Result<ExitCode> {
    let summary = hopthu::generate::generate(&opts)?;
    println!("generated {}: {summary}", opts.out.display());
    Ok(ExitCode::SUCCESS)
}

async fn cmd_adopt(
    root: &Path,
    live: &LiveArgs,
    yes: bool,
    state_dir: &Path,
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
    let audit = hopthu::audit::AuditLog::new(state_dir.join("audit.jsonl"));
    if yes {
        audit.check_writable().map_err(|e| {
            anyhow::anyhow!(
                "cannot write the audit log {}: {e}; nothing was adopted",
                audit.path.display()
            )
        })?;
    }
    let result = match hopthu::reconcile::adopt(&outcome.desired, &ps, &target, !yes).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hopthu: {e}");
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

/// The audit's inputs besides the repository: logins from a CSV export
/// (read and checked whole first) and restores from the audit log.
use hopthu::lifecycle::Logins;

type Restores = std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>;

fn lifecycle_inputs(a: &LifecycleArgs) -> anyhow::Result<(Option<(String, Logins)>, Restores)> {
    let csv = match &a.logins {
        None => None,
        Some(p) => {
            let text = std::fs::read(p).map_err(|e| {
                anyhow::anyhow!("cannot read the login export {}: {e}", p.display())
            })?;
            let text = String::from_utf8(text).map_err(|e| {
                anyhow::anyhow!(
                    "the login export {} is not UTF-8 (byte {}): export it as UTF-8 CSV",
                    p.display(),
                    e.utf8_error().valid_up_to()
                )
            })?;
            let name = p.display().to_string();
            let logins = hopthu::lifecycle::read_logins_csv(&name, &text).map_err(|errs| {
                anyhow::anyhow!(
                    "{}\n{} error(s) in the login export; nothing was checked",
                    errs.iter()
                        .map(|e| e.to_string())
                        .collect::<Vec<_>>()
                        .join("\n"),
                    errs.len()
                )
            })?;
            Some((name, logins))
        }
    };
    let log = hopthu::audit::AuditLog::new(a.state_dir.join("audit.jsonl"));
    let records = log
        .read()
        .map_err(|e| anyhow::anyhow!("cannot read the audit log {}: {e}", log.path.display()))?;
    Ok((csv, hopthu::lifecycle::restores_from_log(&records)))
}

async fn audit_report(
    outcome: &Outcome,
    live: &LiveArgs,
    lifecycle: &LifecycleArgs,
    today: chrono::NaiveDate,
) -> anyhow::Result<hopthu::lifecycle::AuditReport> {
    let settings = outcome.settings.as_ref().expect("validated");
    let (csv, restored) = lifecycle_inputs(lifecycle)?;
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
    let (files, base) = propose::base_files(a.root, a.base)?;
    let validators = schema::Validators::new();
    let outcome = validate::validate(&files, &validators, &Options { lang, today });
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
        Some(p) => hopthu::fsutil::write_atomic(p, proposed.summary.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot write the summary {}: {e}", p.display()))?,
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
