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
#[command(name = "hopthu", version, about = "Declarative GitOps reconciler for a province's official mail directory")]
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

#[derive(Subcommand)]
enum Command {
    /// Check a desired-state repository: syntax, schema and naming rules.
    Validate {
        /// The repository root (holds hopthu.yaml and agencies/).
        #[arg(default_value = ".")]
        root: PathBuf,
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
    },
    /// Print the JSON Schemas of the format (both, or one), or write them.
    Schema {
        #[arg(value_enum)]
        which: Option<SchemaName>,
        /// Write the schema files into this folder instead of printing.
        #[arg(long)]
        write: Option<PathBuf>,
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
            format,
            lang,
            color,
        } => cmd_validate(&root, format, lang, color, today),
        Command::Suggest {
            name,
            agency,
            root,
            given,
            domain,
            format,
        } => cmd_suggest(&name, &agency, &root, given.as_deref(), domain, format, today),
        Command::Schema { which, write } => cmd_schema(which, write.as_deref()),
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
    let files = FileSet::read_folder(root)
        .map_err(|e| anyhow::anyhow!("cannot read the repository {}: {e}", root.display()))?;
    let validators = schema::Validators::new();
    Ok(validate::validate(&files, &validators, &Options { lang, today }))
}

fn cmd_validate(
    root: &Path,
    format: OutputFormat,
    lang: Option<Lang>,
    color: ColorChoice,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    let outcome = load(root, language(lang), today)?;
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
            "Valid: {agencies} agencies, {mailboxes} mailboxes; {} warning(s).",
            o.warnings()
        ),
        (Language::En, false) => format!(
            "Invalid: {} error(s), {} warning(s).",
            o.errors(),
            o.warnings()
        ),
    }
}

fn cmd_suggest(
    name: &str,
    agency: &str,
    root: &Path,
    given: Option<&str>,
    domain: Option<String>,
    format: SuggestFormat,
    today: chrono::NaiveDate,
) -> anyhow::Result<ExitCode> {
    let (domain, in_use) = if root.join(hopthu::source::SETTINGS_FILE).exists() {
        let outcome = load(root, None, today)?;
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
    let agency = agency.to_ascii_lowercase();
    let s = hopthu::suggest::suggest(name, given, &agency, &domain, &in_use, 5)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match format {
        SuggestFormat::Json => println!("{}", serde_json::to_string(&s)?),
        SuggestFormat::Text => {
            println!("{}", s.address);
            if s.taken {
                println!("taken; free alternatives:");
                for a in &s.alternatives {
                    println!("  {a}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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
        Some(SchemaName::Agency) => print!("{}", pick(schema::AGENCY_SCHEMA_FILE).unwrap_or_default()),
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

fn cmd_generate(opts: hopthu::generate::GenerateOptions) -> anyhow::Result<ExitCode> {
    let summary = hopthu::generate::generate(&opts)?;
    println!("generated {}: {summary}", opts.out.display());
    Ok(ExitCode::SUCCESS)
}
