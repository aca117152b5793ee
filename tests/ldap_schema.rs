//! The project's LDAP schema ships in two forms (slapd.conf `include` and
//! cn=config LDIF). They must declare the same things with the same OIDs,
//! and the LDIF form must load into a cn=config database.

use std::path::Path;
use std::process::Command;

const ARC: &str = "2.25.82455735606623470797243994233985868824";

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema/ldap")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A definition: its kind, with whitespace collapsed.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Definition {
    kind: &'static str,
    text: String,
}

impl Definition {
    fn new(kind: &'static str, text: &str) -> Definition {
        Definition {
            kind,
            text: text.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }

    fn oid(&self) -> &str {
        self.text
            .trim_start_matches('(')
            .split_whitespace()
            .next()
            .unwrap()
    }

    fn name(&self) -> &str {
        let after = self.text.split("NAME '").nth(1).expect("a NAME");
        &after[..after.find('\'').unwrap()]
    }
}

/// slapd.conf form: `attributetype ( ... )`, continued on indented lines.
fn from_schema(text: &str) -> Vec<Definition> {
    let mut logical: Vec<String> = vec![];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            let last = logical.last_mut().expect("a continuation follows a line");
            last.push(' ');
            last.push_str(line);
        } else {
            logical.push(line.to_owned());
        }
    }
    let mut defs: Vec<Definition> = logical
        .iter()
        .map(|line| {
            let (keyword, rest) = line.split_once(char::is_whitespace).unwrap();
            match keyword.to_ascii_lowercase().as_str() {
                "attributetype" => Definition::new("attribute", rest),
                "objectclass" => Definition::new("class", rest),
                other => panic!("unexpected keyword {other:?} in hopthu.schema"),
            }
        })
        .collect();
    defs.sort();
    defs
}

/// cn=config form: unfold LDIF lines, then take the schema attributes.
fn from_ldif(text: &str) -> Vec<Definition> {
    let mut logical: Vec<String> = vec![];
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(more) = line.strip_prefix(' ') {
            logical
                .last_mut()
                .expect("a fold follows a line")
                .push_str(more);
        } else {
            logical.push(line.to_owned());
        }
    }
    let mut defs: Vec<Definition> = logical
        .iter()
        .filter_map(|line| {
            let (attr, value) = line.split_once(':')?;
            match attr {
                "olcAttributeTypes" => Some(Definition::new("attribute", value)),
                "olcObjectClasses" => Some(Definition::new("class", value)),
                _ => None,
            }
        })
        .collect();
    defs.sort();
    defs
}

#[test]
fn schema_and_ldif_declare_the_same_definitions() {
    let schema = from_schema(&read("hopthu.schema"));
    let ldif = from_ldif(&read("hopthu.ldif"));
    assert_eq!(schema, ldif);

    let mut names: Vec<(&str, &str, &str)> =
        schema.iter().map(|d| (d.kind, d.name(), d.oid())).collect();
    names.sort_by_key(|&(_, _, oid)| oid.to_owned());
    assert_eq!(
        names,
        [
            ("attribute", "hopthuKey", &*format!("{ARC}.1.1")),
            ("attribute", "hopthuQuota", &*format!("{ARC}.1.2")),
            ("attribute", "hopthuSavedService", &*format!("{ARC}.1.3")),
            ("attribute", "hopthuRecord", &*format!("{ARC}.1.4")),
            ("class", "hopthuMailbox", &*format!("{ARC}.2.1")),
            ("class", "hopthuState", &*format!("{ARC}.2.2")),
        ]
    );
}

#[test]
fn schema_declares_what_the_reconciler_relies_on() {
    let defs = from_schema(&read("hopthu.schema"));
    let def = |name: &str| {
        &defs
            .iter()
            .find(|d| d.name() == name)
            .unwrap_or_else(|| panic!("{name} is declared"))
            .text
    };
    assert!(def("hopthuKey").contains("EQUALITY caseExactMatch"));
    assert!(def("hopthuKey").contains("SINGLE-VALUE"));
    assert!(def("hopthuQuota").contains("SYNTAX 1.3.6.1.4.1.1466.115.121.1.27"));
    assert!(def("hopthuQuota").contains("SINGLE-VALUE"));
    assert!(!def("hopthuSavedService").contains("SINGLE-VALUE"));
    assert!(!def("hopthuRecord").contains("SINGLE-VALUE"));
    assert!(def("hopthuMailbox").contains("AUXILIARY"));
    assert!(
        def("hopthuMailbox")
            .contains("MAY ( hopthuKey $ hopthuQuota $ hopthuSavedService $ hopthuRecord )")
    );
    assert!(def("hopthuState").contains("STRUCTURAL MUST cn MAY ( hopthuRecord $ description )"));
}

/// The LDIF form loads into an empty cn=config next to the standard schemas
/// (the way an administrator adds it to a production server).
#[test]
fn ldif_form_loads_into_cn_config() {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join("slapd.d");
    std::fs::create_dir(&config_dir).unwrap();
    let mut ldif = String::from(
        "dn: cn=config\nobjectClass: olcGlobal\ncn: config\n\n\
         dn: cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: schema\n\n",
    );
    for name in ["core", "cosine", "inetorgperson"] {
        ldif.push_str(&std::fs::read_to_string(format!("/etc/ldap/schema/{name}.ldif")).unwrap());
        ldif.push('\n');
    }
    ldif.push_str(&read("hopthu.ldif"));
    ldif.push_str(
        "\ndn: olcDatabase={-1}frontend,cn=config\nobjectClass: olcDatabaseConfig\n\
         objectClass: olcFrontendConfig\nolcDatabase: {-1}frontend\n\n\
         dn: olcDatabase={0}config,cn=config\nobjectClass: olcDatabaseConfig\n\
         olcDatabase: {0}config\n",
    );
    let ldif_path = dir.path().join("config.ldif");
    std::fs::write(&ldif_path, ldif).unwrap();

    let out = Command::new("/usr/sbin/slapadd")
        .args(["-n", "0", "-F"])
        .arg(&config_dir)
        .arg("-l")
        .arg(&ldif_path)
        .output()
        .expect("run slapadd (is slapd installed?)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = Command::new("/usr/sbin/slapcat")
        .args(["-n", "0", "-F"])
        .arg(&config_dir)
        .args(["-o", "ldif-wrap=no", "-a", "(cn={*}hopthu)"])
        .output()
        .expect("run slapcat");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("NAME 'hopthuState'"), "{text}");
}
