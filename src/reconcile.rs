//! The stages put together: desired state + live directory -> plan, and the
//! reads that feed it. The CLI, the continuous runner and the controller all
//! call these; none of them reads or plans on its own.

use crate::desired::DesiredMailbox;
use crate::layout::Layout;
use crate::live::{ConnectOptions, DirError, Directory, Selection};
use crate::model::Settings;
use crate::plan::{self, Input, Live, Plan, PlanError};
use crate::tr;
use chrono::NaiveDate;

/// Who hopthu is in an embedded file directory (no bind there).
pub const FILE_IDENTITY: &str = "cn=hopthu";

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error(transparent)]
    Directory(#[from] DirError),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// Where and how the live directory is reached, settled from the settings
/// file and the command line.
pub struct Target {
    pub connect: ConnectOptions,
    pub base_dn: String,
    pub layout: &'static Layout,
    pub domain: String,
}

impl Target {
    pub fn new(
        settings: &Settings,
        connect: ConnectOptions,
        base_dn_override: Option<String>,
    ) -> Target {
        Target {
            base_dn: base_dn_override.unwrap_or_else(|| settings.base_dn()),
            layout: Layout::get(settings.directory.layout),
            domain: settings.domain.to_ascii_lowercase(),
            connect,
        }
    }

    pub fn is_file(&self) -> bool {
        self.connect.url.starts_with("ldif:")
    }

    /// The DN hopthu's writes carry as their creator.
    pub fn identity(&self) -> String {
        match (&self.connect.bind_dn, self.is_file()) {
            (Some(dn), _) => dn.clone(),
            (None, _) => FILE_IDENTITY.to_string(),
        }
    }
}

/// Read everything a plan needs: complete, or an error and nothing else.
pub async fn read_live(dir: &mut Directory, target: &Target) -> Result<Live, DirError> {
    let base_exists = dir.exists(&target.base_dn).await?;
    if !base_exists {
        return Ok(Live {
            entries: Vec::new(),
            base_exists,
            containers: Vec::new(),
        });
    }
    let mut containers = Vec::new();
    for (tpl, _) in target.layout.container_chain {
        let dn = crate::layout::fill_template(tpl, &target.base_dn, &target.domain);
        if dir.exists(&dn).await? {
            containers.push(dn);
        }
    }
    let sel = Selection {
        base: target.base_dn.clone(),
        any_object_class: vec![
            target.layout.mailbox_class.to_string(),
            "hopthuState".to_string(),
        ],
        attrs: target.layout.read_attrs(),
    };
    let entries = dir.read(&sel).await?;
    Ok(Live {
        entries,
        base_exists,
        containers,
    })
}

pub struct PlanSettings<'a> {
    pub settings: &'a Settings,
    pub today: NaiveDate,
    /// Hold every deletion for a person's approval, however few (the git
    /// history was rewritten since the last apply).
    pub hold_all_deletes: bool,
}

/// Connect, read, plan. The directory stays open for the apply.
pub async fn plan_against(
    desired: &[DesiredMailbox],
    ps: &PlanSettings<'_>,
    target: &Target,
) -> Result<(Plan, Directory), ReconcileError> {
    plan_with_progress(desired, ps, target, &|_| {}).await
}

/// `plan_against`, telling `progress` how long work goes (for operators
/// watching a large directory).
pub async fn plan_with_progress(
    desired: &[DesiredMailbox],
    ps: &PlanSettings<'_>,
    target: &Target,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(Plan, Directory), ReconcileError> {
    let start = std::time::Instant::now();
    let mut dir = Directory::connect(&target.connect).await?;
    let live = read_live(&mut dir, target).await?;
    let (n, url, secs) = (
        live.entries.len(),
        &target.connect.url,
        start.elapsed().as_secs_f64(),
    );
    progress(&tr!(
        "đã đọc {n} mục từ {url} trong {secs:.1} giây",
        "read {n} entries from {url} in {secs:.1} s"
    ));
    let start = std::time::Instant::now();
    let identity = target.identity();
    let input = Input {
        desired,
        domain: &target.domain,
        base_dn: &target.base_dn,
        layout: target.layout,
        max_deletes: ps.settings.policy.max_deletes_per_run as usize,
        grace_days: ps.settings.policy.rename_grace_days,
        identity: &identity,
        may_create_base: dir.holds_nothing(),
        hold_all_deletes: ps.hold_all_deletes,
        today: ps.today,
    };
    let plan = plan::plan(&input, &live)?;
    let (n, secs) = (desired.len(), start.elapsed().as_secs_f64());
    progress(&tr!(
        "đã lập kế hoạch cho {n} hộp thư trong {secs:.1} giây",
        "planned {n} mailboxes in {secs:.1} s"
    ));
    Ok((plan, dir))
}

/// Take over existing entries that hold desired addresses: each gets its
/// key, and its entryUUID goes into hopthu's records. Returns what was
/// adopted and what failed, with the server's words.
pub async fn adopt(
    desired: &[DesiredMailbox],
    ps: &PlanSettings<'_>,
    target: &Target,
    dry_run: bool,
) -> Result<Vec<(plan::Adoption, Option<String>)>, ReconcileError> {
    use crate::live::{Attrs, Mod, Write};
    let mut dir = Directory::connect(&target.connect).await?;
    let live = read_live(&mut dir, target).await?;
    if !live.base_exists {
        return Err(PlanError::NoBase(target.base_dn.clone()).into());
    }
    let identity = target.identity();
    let input = Input {
        desired,
        domain: &target.domain,
        base_dn: &target.base_dn,
        layout: target.layout,
        max_deletes: ps.settings.policy.max_deletes_per_run as usize,
        grace_days: ps.settings.policy.rename_grace_days,
        identity: &identity,
        may_create_base: false,
        hold_all_deletes: false,
        today: ps.today,
    };
    let (found, writes) = plan::adoptions(&input, &live);
    // Entries whose name is not the repository's are listed, never taken.
    let (found, refused): (Vec<plan::Adoption>, Vec<plan::Adoption>) =
        found.into_iter().partition(|a| a.mismatch.is_none());
    let refused = refused.into_iter().map(|a| (a, None));
    if dry_run || found.is_empty() {
        dir.close().await?;
        return Ok(found
            .into_iter()
            .map(|a| (a, None))
            .chain(refused)
            .collect());
    }
    // The record first: an entry whose key is set is hopthu's only once
    // its entryUUID is in the records, so a crash in between adopts nothing.
    let state_dn = format!("{},{}", plan::STATE_RDN, target.base_dn);
    let state_exists = dir.exists(&state_dn).await?;
    let records: Vec<String> = found
        .iter()
        .filter(|a| !a.recorded)
        .map(|a| format!("adopted {}", a.uuid))
        .collect();
    let first = if records.is_empty() {
        None
    } else if state_exists {
        Some(Write::Modify {
            dn: state_dn,
            mods: vec![Mod::Add("hopthuRecord".into(), records)],
        })
    } else {
        let mut a = Attrs::new();
        a.insert("objectClass".into(), vec!["hopthuState".into()]);
        a.insert("cn".into(), vec!["hopthu-state".into()]);
        a.insert("hopthuRecord".into(), records);
        Some(Write::Add {
            dn: state_dn,
            attrs: a,
        })
    };
    if let Some(first) = first
        && let Some(Err(e)) = dir.write(vec![first]).await.into_iter().next()
    {
        return Err(DirError::Other(tr!(
            "không ghi lại được việc tiếp nhận: {e}",
            "cannot record the adoption: {e}"
        ))
        .into());
    }
    let results = dir.write(writes).await;
    dir.close().await?;
    Ok(found
        .into_iter()
        .zip(results)
        .map(|(a, r)| (a, r.err().map(|e| e.to_string())))
        .chain(refused)
        .collect())
}
