//! The `MailDirectory` custom resource: one province's mail directory,
//! reconciled by the controller from a git repository. Generated into a
//! CRD by kube's derive and schemars (`hopthu crd`); `examples/kubernetes/`
//! holds the committed copy, which a test keeps equal.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A mail directory kept as a git repository says, within the regulation's
/// rules.
// Several printer columns share a type: not a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "hopthu.gov.vn",
    version = "v1alpha1",
    kind = "MailDirectory",
    plural = "maildirectories",
    singular = "maildirectory",
    shortname = "mdir",
    namespaced,
    status = "MailDirectoryStatus",
    doc = "A province's mail directory (OpenLDAP), kept as a git repository of YAML files says, by hopthu.",
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Commit",
        type_ = "string",
        json_path = ".status.lastAppliedCommit",
        description = "the commit last applied"
    ),
    printcolumn(
        name = "Held",
        type_ = "integer",
        json_path = ".status.heldDeletions",
        description = "deletions waiting for approval"
    ),
    printcolumn(name = "Suspended", type_ = "boolean", json_path = ".spec.suspend"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct MailDirectorySpec {
    /// Where the desired state is.
    pub source: SourceSpec,
    /// The live directory to keep in line.
    pub directory: DirectorySpec,
    /// Settings of hopthu.yaml's `policy` this cluster overrides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyOverrides>,
    /// Stop reconciling (nothing is read or written) until unset.
    #[serde(default)]
    pub suspend: bool,
    /// What to do about changes made by hand in the directory: `correct`
    /// (put it back, the default) or `report`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<DriftPolicySpec>,
    /// Release held deletions: the fingerprint that `status.heldFingerprint`
    /// shows. Only exactly those deletions are released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approve_deletes: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DriftPolicySpec {
    Correct,
    Report,
}

/// The git repository of the desired state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceSpec {
    /// `https://...`, `ssh://...`, or a path mounted into the pod.
    #[schemars(length(min = 1))]
    pub url: String,
    #[serde(default = "default_branch")]
    pub branch: String,
    /// The folder inside the repository that holds hopthu.yaml.
    #[serde(default)]
    pub path: String,
    /// A Secret with `token` (https; `username` too for GitLab's `oauth2`)
    /// or `identity` and `known_hosts` (ssh).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// How often to look for new commits and drift: `30s`, `5m`, `1h`.
    #[serde(default = "default_interval")]
    #[schemars(regex(pattern = r"^([0-9]+[smh])+$|^[0-9]+$"))]
    pub interval: String,
    /// Apply only commits signed by an allowed key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
}

fn default_branch() -> String {
    "main".into()
}

fn default_interval() -> String {
    "5m".into()
}

/// SSH commit signatures: every first-parent commit since the last applied
/// one must be signed by a key of the allowed-signers file (git's format)
/// kept in this Secret under `allowed_signers`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifySpec {
    pub secret_ref: LocalObjectReference,
}

/// The live directory.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DirectorySpec {
    /// `ldap://HOST[:PORT]` or `ldaps://HOST[:PORT]`.
    #[schemars(regex(pattern = r"^ldaps?://"))]
    pub url: String,
    #[serde(default)]
    pub starttls: bool,
    /// `standard` or `iredmail`; hopthu.yaml's `directory.layout` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<crate::layout::LayoutName>,
    /// hopthu.yaml's `directory.baseDN` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "baseDN")]
    pub base_dn: Option<String>,
    /// A Secret with `bindDN` and `password`: hopthu's service account.
    pub bind_secret_ref: LocalObjectReference,
    /// A Secret with `ca.crt`: the CA of the server's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_secret_ref: Option<LocalObjectReference>,
}

/// Settings of hopthu.yaml's `policy` that this cluster decides instead.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_deletes_per_run: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub rename_grace_days: Option<u32>,
    /// Audit the directory this often (`1d`, `12h`) and push lock and
    /// revoke proposals to the source repository as `hopthu/propose/*`
    /// branches for people to review. The source credentials must be
    /// allowed to push branches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propose_every: Option<String>,
}

/// A Secret in the resource's own namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct LocalObjectReference {
    #[schemars(length(min = 1))]
    pub name: String,
}

/// What the controller saw and did, by Kubernetes conventions.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MailDirectoryStatus {
    /// `Ready`, `Reconciling`, `Stalled`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_commit: Option<String>,
    /// Mailboxes the repository declares, by status (`active`, `locked`).
    #[serde(default)]
    pub mailboxes: BTreeMap<String, u64>,
    /// Deletions waiting for approval.
    #[serde(default)]
    pub held_deletions: u64,
    /// Set `spec.approveDeletes` to this to release them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_reason: Option<String>,
    /// Changes made by hand in the directory, as last seen.
    #[serde(default)]
    pub drift: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A condition, as `metav1.Condition`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    #[serde(default)]
    pub message: String,
    pub last_transition_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The CRD as YAML, as `hopthu crd` prints it.
pub fn crd_yaml() -> String {
    use kube::CustomResourceExt;
    let crd = MailDirectory::crd();
    let json = serde_json::to_value(&crd).expect("a CRD serializes");
    let mut out =
        String::from("# The MailDirectory custom resource of hopthu, generated by `hopthu crd`.\n");
    crate::yamlout::write(&mut out, &json, 0);
    out
}
